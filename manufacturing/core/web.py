"""What every view does the same way: run one operation in one transaction, or show why not."""

from collections.abc import Callable

from flask import abort, flash, request
from flask_login import current_user
from werkzeug.routing import IntegerConverter

from manufacturing.core import outside_lock
from manufacturing.core.errors import DomainError
from manufacturing.extensions import db

ROW_ID_MAX = 2**31 - 1  # the largest INTEGER primary key, the same on SQLite and PostgreSQL


class RowIdConverter(IntegerConverter):
    """`<id:lot_id>`: a record's number in a URL; a negative one or one beyond INTEGER is simply not found."""

    def __init__(self, map, min=1, max=ROW_ID_MAX):
        super().__init__(map, min=min, max=max)


def query_number(name: str, default: int | None = None, maximum: int = ROW_ID_MAX) -> int | None:
    """A whole number from the query string, 1 to `maximum`; anything else is a bad request."""
    text = request.args.get(name, "")
    if not text:
        return default
    number = whole_number(text, maximum)
    if number is None:
        abort(400)
    return number


def whole_number(text: str, maximum: int = ROW_ID_MAX) -> int | None:
    """The whole number 1 to `maximum` that the text is (ASCII digits only), or None."""
    if text.isascii() and text.isdigit() and len(text) <= len(str(maximum)) and 1 <= int(text) <= maximum:
        return int(text)
    return None


class _Refused:
    """What attempt() returns when the operation was refused: false in a test."""

    def __bool__(self) -> bool:
        return False

    def __repr__(self) -> str:
        return "REFUSED"


REFUSED = _Refused()


def attempt(operation: Callable, *args, success: str | None = None, **kwargs):
    """Run an operation and commit; on a broken rule roll back, keep its follow-ups, flash why.

    On SQLite a password met by the operation is checked outside the write lock (see `outside_lock`).
    Returns the operation's result (True when it returns nothing), or REFUSED.
    """
    try:
        result = outside_lock.run(db.session, lambda: operation(*args, **kwargs))
        db.session.commit()
    except DomainError as error:
        settle_refusal(error)
        flash(error.message, "error")
        return REFUSED
    if success:
        flash(success, "success")
    return True if result is None else result


def settle_refusal(error: DomainError) -> None:
    """End the transaction of a refused operation: roll back (or keep the refusal's own record), then follow-ups."""
    if error.keep_changes:
        db.session.commit()
    else:
        db.session.rollback()
    run_follow_ups(error)


def run_follow_ups(error: DomainError) -> None:
    """Commit what a refusal must still leave behind (a counted failed password, say)."""
    for follow_up in error.after_rollback:
        follow_up()
        db.session.commit()


def form_errors(form) -> None:
    """Flash the field errors of a form that failed validation."""
    for field in form:
        for message in field.errors:
            label = field.label.text if field.label else field.name
            flash(f"{label}: {message}", "error")


def acting_user():
    """The logged-in user as the operations take it (the real object, not Flask-Login's proxy)."""
    return current_user._get_current_object()
