"""Factories: records made through the operations, as real work makes them."""

from manufacturing.accounts import operations
from manufacturing.core.audit import set_actor
from manufacturing.core.permissions import Role
from manufacturing.extensions import db

PASSWORD = "Correct-horse-42"


def make_user(username: str, roles=("TECHNICIAN",), full_name: str | None = None,
              password: str = PASSWORD, must_change: bool = False):
    """Create an account whose person set up their password with the setup code (or must still change it)."""
    set_actor(db.session, None, "test-setup")
    user, code = operations.create_user(username, full_name or username.title(), [Role[r] for r in roles])
    operations.set_up_password(user.username, code, password)
    user.must_change_password = must_change
    db.session.commit()
    return user
