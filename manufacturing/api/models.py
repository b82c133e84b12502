"""API tokens: a personal token acts as its user; a service token acts for a system within its scopes."""

import enum
from datetime import datetime

from sqlalchemy import Enum, ForeignKey, String
from sqlalchemy.orm import Mapped, mapped_column, relationship

from manufacturing.accounts.models import User
from manufacturing.core import clock
from manufacturing.core.audit import Audited
from manufacturing.core.types import UTCDateTime
from manufacturing.extensions import db


class TokenKind(enum.Enum):
    PERSONAL = "Personal"
    SERVICE = "Service"

    @property
    def title(self) -> str:
        return self.value


class Scope(enum.Enum):
    """What a service token may do; a personal token may do what its user's roles allow."""

    READ = "read"
    AUDIT_READ = "audit:read"
    QC_WRITE = "qc:write"
    STEPS_WRITE = "steps:write"


class ApiToken(Audited, db.Model):
    """One token; only a keyed digest of its secret is kept, the secret is shown once at creation."""

    __tablename__ = "api_tokens"
    __audit_entity__ = "api_token"
    __audit_exclude__ = frozenset({"last_used_at"})
    __audit_mask__ = frozenset({"secret_hash"})

    id: Mapped[int] = mapped_column(primary_key=True)
    prefix: Mapped[str] = mapped_column(String(16), unique=True)
    secret_hash: Mapped[str] = mapped_column(String(64))
    key_id: Mapped[str] = mapped_column(String(16))  # the audit key that sealed the secret
    kind: Mapped[TokenKind] = mapped_column(Enum(TokenKind, native_enum=False, length=10))
    name: Mapped[str] = mapped_column(String(80))
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id"), index=True)  # the person, or the service's owner
    scopes: Mapped[str] = mapped_column(String(200), default="")  # space-separated, service tokens only
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)
    expires_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    revoked_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    revoked_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    last_used_at: Mapped[datetime | None] = mapped_column(UTCDateTime)

    user: Mapped[User] = relationship(foreign_keys=[user_id])

    @property
    def scope_set(self) -> frozenset[Scope]:
        return frozenset(Scope(name) for name in self.scopes.split())

    @property
    def active(self) -> bool:
        return self.revoked_at is None and (self.expires_at is None or clock.now() < self.expires_at)

    def audit_scope(self) -> str | None:
        return f"user:{self.user_id}"

    def __str__(self) -> str:
        return f"{self.kind.title.lower()} token {self.prefix} ({self.name})"
