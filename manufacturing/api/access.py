"""Who is calling: a bearer token only (never a login cookie), its scopes, and writes run as the pages run them."""

from collections.abc import Callable
from functools import wraps

from flask import g, request

from manufacturing.api import tokens
from manufacturing.api.models import ApiToken, Scope, TokenKind
from manufacturing.api.problems import Problem, from_domain
from manufacturing.core import outside_lock
from manufacturing.core.audit import set_actor
from manufacturing.core.errors import DomainError
from manufacturing.core.permissions import Role
from manufacturing.core.web import settle_refusal
from manufacturing.extensions import db


def _bearer() -> str | None:
    scheme, _, credentials = request.headers.get("Authorization", "").partition(" ")
    return credentials if scheme.lower() == "bearer" else None


def requires(scope: Scope, *roles: Role) -> Callable:
    """Let the view run for a current token holding the scope; a personal token's user also needs one of the roles."""

    def decorator(view: Callable) -> Callable:
        @wraps(view)
        def wrapped(*args, **kwargs):
            token = authenticated()
            if scope not in token.scope_set:
                raise Problem(403, f"This token does not have the scope {scope.value}.")
            if roles and token.kind == TokenKind.PERSONAL and not any(token.user.has_role(r) for r in roles):
                raise Problem(403, "You are not allowed to do this.")
            if request.method == "POST":
                _require_json()
            return view(*args, **kwargs)

        wrapped.required_scope = scope
        return wrapped

    return decorator


def _require_json() -> None:
    if not request.is_json:
        raise Problem(415, "Send the body as application/json.")
    if not isinstance(request.get_json(silent=True), dict):
        raise Problem(400, "The body is not a JSON object.")


def authenticated() -> ApiToken:
    """The request's token, checked once per request; the audit trail names it for whatever is written."""
    if "api_token" not in g:
        try:
            token = tokens.authenticate(_bearer())
        except DomainError as error:
            raise Problem(401, error.message) from None
        actor = tokens.actor(token)
        set_actor(db.session, actor.user_id, actor.username)
        g.api_token = token
    return g.api_token


def run(operation: Callable, *args, **kwargs):
    """Run one operation and commit, as the pages' `attempt` does; a broken rule is answered as a problem.

    On SQLite a password met by the operation is checked outside the write lock (see `outside_lock`).
    """
    token = authenticated()
    try:
        result = outside_lock.run(db.session, lambda: operation(*args, **kwargs))
        tokens.note_use(token)
        db.session.commit()
    except DomainError as error:
        settle_refusal(error)
        raise from_domain(error) from None
    return result
