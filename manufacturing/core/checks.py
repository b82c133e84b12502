"""Checks every operation makes on what people type: a reason for a change, a required text."""

from sqlalchemy.orm import Session

from manufacturing.core.audit import set_reason
from manufacturing.core.errors import DomainError, ReasonRequired


def require_reason(session: Session, reason: str | None, what: str, *, refusal: str | None = None) -> str:
    """Refuse a change without a reason; give the reason to the audit trail of this transaction.

    The refusal says "Give a reason for <what>." unless the caller words it (`refusal`).
    """
    cleaned = (reason or "").strip()
    if not cleaned:
        raise ReasonRequired(refusal or f"Give a reason for {what}.")
    set_reason(session, cleaned)
    return cleaned


def required_text(value: str | None, label: str, max_length: int | None = None) -> str:
    """Return the trimmed text, refusing a blank or over-long one with the field's name."""
    cleaned = (value or "").strip()
    if not cleaned:
        raise DomainError(f"{label} is required.")
    if max_length is not None and len(cleaned) > max_length:
        raise DomainError(f"{label} may have at most {max_length} characters.")
    return cleaned
