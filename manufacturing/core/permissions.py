"""Roles and authority checks (21 CFR 11.10(g))."""

import enum
from collections.abc import Callable
from functools import wraps

from flask import abort
from flask_login import current_user


class Role(enum.Enum):
    """What a user may do; a user may hold several roles."""

    TECHNICIAN = "Cell-processing technician"
    QA = "Quality assurance"
    PHARMACY = "Pharmacy"
    ADMIN = "Administrator"
    INVESTIGATOR = "Investigator (trial reports, read only)"

    @property
    def title(self) -> str:
        return self.value


def has_role(user, *roles: Role) -> bool:
    return bool(getattr(user, "is_authenticated", False)) and any(user.has_role(role) for role in roles)


def role_required(*roles: Role) -> Callable:
    """Let the view run only for a logged-in user holding one of the roles; else 403."""

    def decorator(view: Callable) -> Callable:
        @wraps(view)
        def wrapped(*args, **kwargs):
            if not has_role(current_user, *roles):
                abort(403)
            return view(*args, **kwargs)

        wrapped.required_roles = roles
        return wrapped

    return decorator
