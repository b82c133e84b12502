"""Users, their roles, their login sessions and password history."""

from datetime import datetime, timedelta

from flask import current_app
from sqlalchemy import Enum, ForeignKey, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from manufacturing.core import clock
from manufacturing.core.audit import Audited
from manufacturing.core.permissions import Role
from manufacturing.core.types import UTCDateTime
from manufacturing.extensions import db


class User(Audited, db.Model):
    """A person with a unique ID; deactivated, never deleted (11.300)."""

    __tablename__ = "users"
    __audit_entity__ = "user"
    __audit_exclude__ = frozenset({"failed_logins"})
    __audit_mask__ = frozenset({"password_hash", "setup_code_hash"})

    id: Mapped[int] = mapped_column(primary_key=True)
    username: Mapped[str] = mapped_column(String(40), unique=True)
    full_name: Mapped[str] = mapped_column(String(120))
    active: Mapped[bool] = mapped_column(default=True)
    password_hash: Mapped[str] = mapped_column(String(255))  # empty: revoked, a setup code is pending
    must_change_password: Mapped[bool] = mapped_column(default=True)
    password_changed_at: Mapped[datetime] = mapped_column(UTCDateTime)
    setup_code_hash: Mapped[str | None] = mapped_column(String(64))
    setup_code_expires_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    failed_logins: Mapped[int] = mapped_column(default=0)
    locked_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)

    roles: Mapped[list["UserRole"]] = relationship(
        back_populates="user", cascade="all, delete-orphan", lazy="selectin", order_by="UserRole.role"
    )

    # Set for the request by the session loader; Flask-Login stores it in the cookie.
    session_token = None

    def has_role(self, role: Role) -> bool:
        """An administrator account does no GMP work, even with a GMP role granted before that rule."""
        if role is not Role.ADMIN and self.has_admin_role:
            return False
        return any(grant.role == role for grant in self.roles)

    @property
    def has_admin_role(self) -> bool:
        return any(grant.role == Role.ADMIN for grant in self.roles)

    @property
    def role_set(self) -> set[Role]:
        return {grant.role for grant in self.roles}

    @property
    def locked(self) -> bool:
        return self.locked_at is not None

    @property
    def can_sign(self) -> bool:
        return self.active and not self.locked

    @property
    def awaiting_setup(self) -> bool:
        """The password was revoked: the person sets a new one with a setup code from an administrator."""
        return not self.password_hash

    @property
    def setup_code_expired(self) -> bool:
        return self.setup_code_expires_at is not None and clock.now() > self.setup_code_expires_at

    @property
    def password_change_due(self) -> bool:
        max_age = timedelta(days=current_app.config["PASSWORD_MAX_AGE_DAYS"])
        return self.must_change_password or clock.now() - self.password_changed_at > max_age

    def verify_password(self, password: str) -> bool:
        from manufacturing.accounts.equal_time import verify

        return verify(self.password_hash, password)

    def note_failed_password(self) -> None:
        """Count a wrong password given at signing toward lockout."""
        from manufacturing.accounts.operations import register_failed_password

        register_failed_password(self, "signature")

    # Flask-Login protocol
    @property
    def is_authenticated(self) -> bool:
        return True

    @property
    def is_active(self) -> bool:
        return self.active

    @property
    def is_anonymous(self) -> bool:
        return False

    def get_id(self) -> str | None:
        return self.session_token

    def __repr__(self) -> str:
        return f"<User {self.username}>"


class UserRole(Audited, db.Model):
    """One role granted to one user."""

    __tablename__ = "user_roles"
    __audit_entity__ = "user_role"
    __table_args__ = (UniqueConstraint("user_id", "role"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id"), index=True)
    role: Mapped[Role] = mapped_column(Enum(Role, native_enum=False, length=20))

    user: Mapped[User] = relationship(back_populates="roles")

    def audit_scope(self) -> str | None:
        return f"user:{self.user_id}"


class AuthSession(db.Model):
    """A login session held in the database, so that it can be revoked on any worker."""

    __tablename__ = "auth_sessions"

    id: Mapped[int] = mapped_column(primary_key=True)
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id"), index=True)
    started_at: Mapped[datetime] = mapped_column(UTCDateTime)
    last_seen_at: Mapped[datetime] = mapped_column(UTCDateTime)
    ended_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    end_reason: Mapped[str | None] = mapped_column(String(40))
    remote_addr: Mapped[str | None] = mapped_column(String(64))

    user: Mapped[User] = relationship()


class PasswordHistory(db.Model):
    """Earlier password hashes, so that a recent password is not used again."""

    __tablename__ = "password_history"

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id"), index=True)
    password_hash: Mapped[str] = mapped_column(String(255))  # empty: revoked, a setup code is pending
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)


class LoginThrottle(db.Model):
    """Recent failed logins of one account name or one client address, and how long it must wait."""

    __tablename__ = "login_throttles"
    __table_args__ = (UniqueConstraint("kind", "key"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    kind: Mapped[str] = mapped_column(String(10))
    key: Mapped[str] = mapped_column(String(80))
    failures: Mapped[int] = mapped_column(default=0)
    window_started_at: Mapped[datetime] = mapped_column(UTCDateTime)
    last_failed_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    blocked_until: Mapped[datetime | None] = mapped_column(UTCDateTime)
    refused: Mapped[int] = mapped_column(default=0)
