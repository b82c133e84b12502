"""Every table of the application, imported in one place for migrations and relationships."""

from manufacturing.accounts.models import AuthSession, PasswordHistory, User, UserRole
from manufacturing.core.audit import AuditChainHead, AuditEvent
from manufacturing.core.signatures import Signature
from manufacturing.release.models import SpecVersion

__all__ = [
    "AuditChainHead",
    "AuditEvent",
    "AuthSession",
    "PasswordHistory",
    "Signature",
    "SpecVersion",
    "User",
    "UserRole",
]
