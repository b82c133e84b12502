"""API tokens: created, revoked and checked; the secret is shown once and kept only as a keyed digest.

A token reads `nk_<prefix>_<secret>`: the prefix finds the row, the secret (32 random bytes) is compared in
constant time with the digest kept. A personal token belongs to a user and acts as them, with their roles,
within its scopes; a service token is made by an administrator for a system (a LIMS, say), acts within its
scopes only, and names the administrator who owns it. Every write made with a token is audited under an actor
that names the token and its owner, e.g. `tech.one (token 1a2b3c4d)` or
`svc:lims (token 1a2b3c4d, owner admin.one)`, with the owner's user id.
"""

import re
import secrets
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import select

from manufacturing.accounts.models import User
from manufacturing.accounts.operations import register_failed_password
from manufacturing.api.models import ApiToken, Scope, TokenKind
from manufacturing.core import clock, seals
from manufacturing.core.audit import Actor
from manufacturing.core.errors import DomainError, NotPermitted
from manufacturing.core.keyring import keyring
from manufacturing.core.permissions import Role
from manufacturing.extensions import db

TOKEN_FORMAT = re.compile(r"nk_(?P<prefix>[0-9a-f]{8})_(?P<secret>[A-Za-z0-9_-]{43})")
SERVICE_NAME = re.compile(r"[a-z0-9][a-z0-9._-]{0,23}")
ACTOR_LENGTH = 80  # the audit trail's username column


class TokenRefused(DomainError):
    """The token is unknown, revoked or expired: the request is not authenticated."""


@dataclass(frozen=True)
class Issued:
    """A token just made, and its text: shown to its holder once, never kept."""

    token: ApiToken
    text: str


def _scopes(scopes) -> str:
    try:
        chosen = {Scope(scope) for scope in scopes}
    except ValueError:
        offered = ", ".join(scope.value for scope in Scope)
        raise DomainError(f"Unknown scope: choose among {offered}.") from None
    if not chosen:
        raise DomainError("Give the token at least one scope.")
    return " ".join(sorted(scope.value for scope in chosen))


def _new_prefix() -> str:
    while True:
        prefix = secrets.token_hex(4)
        if db.session.scalar(select(ApiToken.id).where(ApiToken.prefix == prefix)) is None:
            return prefix


def _confirm(user: User, password: str | None) -> None:
    """A token is a credential: the person making it confirms with their password; a wrong one counts to lockout."""
    if password is not None and not user.verify_password(password):
        user_id = user.id
        raise DomainError("Password not accepted: no token was made.",
                          after_rollback=(lambda: register_failed_password(user_id, "api_token"),))


def _issue(kind: TokenKind, name: str, user: User, scopes, expires_at: datetime | None) -> Issued:
    if expires_at is not None and clock.as_utc(expires_at) <= clock.now():
        raise DomainError("The expiry of a token lies in the future.")
    prefix, secret = _new_prefix(), secrets.token_urlsafe(32)
    token = ApiToken(prefix=prefix, secret_hash=seals.api_token_mac(secret), key_id=keyring().current_id, kind=kind,
                     name=name, user_id=user.id, scopes=_scopes(scopes), created_at=clock.now(),
                     expires_at=clock.as_utc(expires_at) if expires_at else None)
    db.session.add(token)
    db.session.flush()
    return Issued(token, f"nk_{prefix}_{secret}")


def create_personal(user: User, name: str, scopes=(Scope.READ.value, Scope.QC_WRITE.value),
                    expires_at: datetime | None = None, password: str | None = None) -> Issued:
    """Make a personal token for the user themselves; it acts as them and signs only with their password.

    `password`: asked on the page, as a credential is made (None only where no page is: the tests' set-up)."""
    if not user.active:
        raise NotPermitted(f"The account {user.username} is deactivated: it gets no token.")
    _confirm(user, password)
    name = " ".join((name or "").split())
    if not name or len(name) > 80:
        raise DomainError("Name the token (up to 80 characters), e.g. the computer it is used on.")
    return _issue(TokenKind.PERSONAL, name, user, scopes, expires_at)


def create_service(admin: User, name: str, scopes, expires_at: datetime | None = None,
                   password: str | None = None) -> Issued:
    """Make a service token for a system; only an administrator does, and owns it.

    `password`: the administrator's, asked on the page (None from the server's console, `flask api token`)."""
    if not (admin.active and admin.has_role(Role.ADMIN)):
        raise NotPermitted("Only an administrator creates service tokens.")
    _confirm(admin, password)
    if not SERVICE_NAME.fullmatch(name or ""):
        raise DomainError("Name the service in lower case letters, digits, dots, dashes or underscores "
                          "(up to 24 characters), e.g. lims.")
    return _issue(TokenKind.SERVICE, name, admin, scopes, expires_at)


def revoke(token: ApiToken, user: User | None) -> None:
    """Revoke a token for good: its holder (a personal token) or an administrator does; None is the shell."""
    if token.revoked_at is not None:
        raise DomainError(f"Token {token.prefix} is already revoked.")
    if user is not None and user.id != token.user_id and not user.has_role(Role.ADMIN):
        raise NotPermitted("Only the token's holder or an administrator revokes a token.")
    token.revoked_at, token.revoked_by_id = clock.now(), user.id if user else None


def by_prefix(prefix: str) -> ApiToken | None:
    return db.session.scalar(select(ApiToken).where(ApiToken.prefix == prefix.strip().lower()))


def authenticate(text: str | None) -> ApiToken:
    """Return the active token the text is; an unknown, revoked or expired one is refused the same way."""
    match = TOKEN_FORMAT.fullmatch((text or "").strip())
    token = by_prefix(match["prefix"]) if match else None
    secret = match["secret"] if match else ""
    if token is None:  # the same work as for a known token, so that the time taken tells nothing
        seals.api_token_matches(secret, keyring().current_id, "")
    if token is None or not seals.api_token_matches(secret, token.key_id, token.secret_hash):
        raise TokenRefused("The token is not valid: give a current API token as 'Authorization: Bearer <token>'.")
    if not token.active or not token.user.can_sign:
        raise TokenRefused("The token is revoked or expired, or its holder's account is deactivated or locked: "
                           "ask for a new one, or have the account unlocked.")
    return token


def actor(token: ApiToken) -> Actor:
    """Name the token and its owner in the audit trail, under the owner's user id."""
    owner = token.user
    if token.kind == TokenKind.PERSONAL:
        return Actor(owner.id, f"{owner.username} (token {token.prefix})")
    named = f"svc:{token.name} (token {token.prefix}, owner {owner.username})"
    if len(named) > ACTOR_LENGTH:
        named = f"svc:{token.name} (token {token.prefix}, owner #{owner.id})"
    return Actor(owner.id, named)


def allows(token: ApiToken, scope: Scope) -> bool:
    return scope in token.scope_set


def note_use(token: ApiToken) -> None:
    """Remember when the token last wrote (reads write nothing)."""
    token.last_used_at = clock.now()
