"""The verbs of accounts: create, log in, change or reset a password, lock, deactivate."""

import re
import secrets

from flask import current_app
from sqlalchemy import select

from manufacturing.accounts import equal_time, throttle
from manufacturing.accounts.models import PasswordHistory, User, UserRole
from manufacturing.accounts.passwords import hash_password, policy_problems, verify_password
from manufacturing.accounts.sessions import end_sessions, start_session
from manufacturing.core import clock
from manufacturing.core.audit import Actor, record_event, set_actor
from manufacturing.core.checks import require_reason
from manufacturing.core.errors import DomainError, NotPermitted
from manufacturing.core.permissions import Role
from manufacturing.core.transitions import lock
from manufacturing.extensions import db

USERNAME_PATTERN = re.compile(r"^[a-z][a-z0-9._-]{2,39}$")
LOGIN_REFUSED = "User ID or password not accepted."


def _actor(user: User) -> Actor:
    return Actor(user.id, user.username)


def find_user(username: str) -> User | None:
    return db.session.scalar(select(User).where(User.username == username.strip().lower()))


def _check_new_password(user: User, password: str) -> None:
    problems = policy_problems(password, user.username, user.full_name)
    if problems:
        raise DomainError("The new password is not accepted: " + "; ".join(problems) + ".")
    recent = db.session.scalars(
        select(PasswordHistory.password_hash).where(PasswordHistory.user_id == user.id)
        .order_by(PasswordHistory.id.desc()).limit(current_app.config["PASSWORD_HISTORY"])
    )
    if any(verify_password(old, password) for old in [user.password_hash, *recent]):
        raise DomainError("The new password is not accepted: it was used recently; choose another.")


def _set_password(user: User, password: str, must_change: bool) -> None:
    if user.id is not None:
        db.session.add(PasswordHistory(user_id=user.id, password_hash=user.password_hash,
                                       created_at=clock.now()))
    user.password_hash = hash_password(password)
    user.password_changed_at = clock.now()
    user.must_change_password = must_change




def create_user(username: str, full_name: str, roles: list[Role], password: str) -> User:
    """Create an account whose password must be changed at first login."""
    username = username.strip().lower()
    if not USERNAME_PATTERN.match(username):
        raise DomainError("User ID: 3 to 40 characters, lower-case letters, digits, '.', '_' or '-', "
                          "starting with a letter.")
    if not full_name.strip():
        raise DomainError("Give the person's full name: it is printed with every signature.")
    if not roles:
        raise DomainError("Give the account at least one role.")
    if find_user(username) is not None:
        raise DomainError(f"The user ID {username} is already taken (IDs are never reused).")
    user = User(username=username, full_name=full_name.strip(), active=True, failed_logins=0,
                created_at=clock.now(), password_hash="")
    problems = policy_problems(password, username, full_name)
    if problems:
        raise DomainError("The initial password is not accepted: " + "; ".join(problems) + ".")
    _set_password(user, password, must_change=True)
    user.roles = [UserRole(role=role) for role in sorted(set(roles), key=lambda r: r.name)]
    db.session.add(user)
    db.session.flush()
    return user


def log_in(username: str, password: str, remote_addr: str | None = None) -> tuple[User, str]:
    """Check the user ID and password; return the user and a new session token.

    Every refusal reads the same and costs one hash's time; only the trail names its cause.
    """
    username = (username or "").strip().lower()
    throttles = throttle.claim(username, remote_addr)
    if throttle.waiting(throttles):
        throttle.count_refused(throttles)  # the wait for equal time comes after the commit frees the rows
        raise DomainError(LOGIN_REFUSED, keep_changes=True, after_rollback=(equal_time.wait_one_hash,))
    user = find_user(username)
    cause = _refusal_cause(user, password or "")
    if cause is not None:
        _record_refusal(user, username, cause)
        actor = _actor(user) if user else Actor(None, username[:80] or "(blank)")
        throttle.count_failure(throttles, actor, f"user:{user.id}" if user else None)
        raise DomainError(LOGIN_REFUSED, keep_changes=True)
    user.failed_logins = 0
    throttle.forget_account(username)
    set_actor(db.session, user.id, user.username)
    token = start_session(user, remote_addr)
    record_event(db.session, "auth.login", "user", user.id, scope=f"user:{user.id}")
    return user, token


def _refusal_cause(user: User | None, password: str) -> str | None:
    """Name why a login is refused, or None; every cause costs one hash."""
    if user is None:
        equal_time.spend_one_hash(password)
        return "unknown user"
    lock(user)  # one attempt at a time per account: the count of wrong passwords is the count of checks
    if user.locked or not user.active:
        equal_time.spend_one_hash(password)
        return "locked" if user.locked else "deactivated"
    if not equal_time.verify(user.password_hash, password):
        return "wrong password"
    return None


def _record_refusal(user: User | None, username: str, cause: str) -> None:
    if user is None:
        _record_unknown(username)
    elif cause == "wrong password":
        register_failed_password(user, "login")
    else:
        _record_refused(user.id, cause)


def _record_unknown(username: str | None) -> None:
    record_event(db.session, "auth.login_failed", "user", None,
                 {"username": {"new": (username or "")[:80]}, "cause": {"new": "unknown user"}},
                 actor=Actor(None, (username or "")[:80] or "(blank)"))


def _record_refused(user_id: int, cause: str) -> None:
    user = db.session.get(User, user_id)
    record_event(db.session, "auth.login_refused", "user", user.id, {"cause": {"new": cause}},
                 scope=f"user:{user.id}", actor=_actor(user))


def register_failed_password(user: User | int, context: str) -> None:
    """Count a wrong password toward lockout; lock the account at the threshold (11.300)."""
    user = db.session.get(User, user) if isinstance(user, int) else user
    lock(user)
    user.failed_logins += 1
    record_event(db.session, f"auth.{context}_failed", "user", user.id,
                 {"failed_attempts": {"new": user.failed_logins}, "cause": {"new": "wrong password"}},
                 scope=f"user:{user.id}",
                 actor=_actor(user))
    if user.failed_logins >= current_app.config["LOCKOUT_THRESHOLD"] and not user.locked:
        user.locked_at = clock.now()
        end_sessions(user, "locked")
        record_event(db.session, "auth.locked", "user", user.id,
                     {"failed_attempts": {"new": user.failed_logins}}, scope=f"user:{user.id}",
                     actor=_actor(user))


def log_out(user: User) -> None:
    end_sessions(user, "logout", only_token=user.session_token)
    record_event(db.session, "auth.logout", "user", user.id, scope=f"user:{user.id}", actor=_actor(user))


def change_password(user: User, current_password: str, new_password: str) -> None:
    """Change one's own password; other sessions of the user end."""
    if not verify_password(user.password_hash, current_password or ""):
        user_id = user.id
        raise DomainError("The current password is not correct.",
                          after_rollback=(lambda: register_failed_password(user_id, "password_change"),))
    _check_new_password(user, new_password)
    _set_password(user, new_password, must_change=False)
    end_sessions(user, "password changed", except_token=user.session_token)
    record_event(db.session, "auth.password_changed", "user", user.id, scope=f"user:{user.id}")


def generate_temporary_password() -> str:
    return "-".join(secrets.token_hex(3) for _ in range(3))


def _guard_admin_on(admin: User, user: User, what: str) -> None:
    if not admin.has_role(Role.ADMIN):
        raise NotPermitted("Only an administrator manages accounts.")
    if admin.id == user.id:
        raise NotPermitted(f"An administrator cannot {what} their own account; ask another administrator.")


def reset_password(admin: User, user: User, reason: str) -> str:
    """Give a user a temporary password to be changed at next login; return it."""
    _guard_admin_on(admin, user, "reset the password of")
    require_reason(db.session, reason, "resetting the password")
    temporary = generate_temporary_password()
    _set_password(user, temporary, must_change=True)
    end_sessions(user, "password reset")
    record_event(db.session, "auth.password_reset", "user", user.id, scope=f"user:{user.id}")
    return temporary


def set_roles(admin: User, user: User, roles: list[Role], reason: str) -> None:
    _guard_admin_on(admin, user, "change the roles of")
    if not roles:
        raise DomainError("Give the account at least one role; deactivate it to remove all access.")
    require_reason(db.session, reason, "changing roles")
    wanted = set(roles)
    user.roles = [grant for grant in user.roles if grant.role in wanted] + [
        UserRole(role=role) for role in sorted(wanted - user.role_set, key=lambda r: r.name)
    ]


def rename(admin: User, user: User, full_name: str, reason: str) -> None:
    _guard_admin_on(admin, user, "rename")
    if not full_name.strip():
        raise DomainError("Give the person's full name.")
    require_reason(db.session, reason, "changing the printed name")
    user.full_name = full_name.strip()


def deactivate(admin: User, user: User, reason: str) -> None:
    """Deactivate an account: it can no longer log in or sign; its sessions end at once."""
    _guard_admin_on(admin, user, "deactivate")
    require_reason(db.session, reason, "deactivating the account")
    if not user.active:
        raise DomainError(f"{user.username} is already deactivated.")
    user.active = False
    end_sessions(user, "deactivated")


def reactivate(admin: User, user: User, reason: str) -> None:
    _guard_admin_on(admin, user, "reactivate")
    require_reason(db.session, reason, "reactivating the account")
    if user.active:
        raise DomainError(f"{user.username} is already active.")
    user.active = True


def unlock(admin: User, user: User, reason: str) -> None:
    _guard_admin_on(admin, user, "unlock")
    _unlock(user, reason)


def unlock_at_console(user: User, reason: str) -> None:
    """Unlock an account from the server's shell (when no administrator can log in), with a reason."""
    _unlock(user, reason)


def _unlock(user: User, reason: str) -> None:
    """Clear the lock, the count of wrong passwords and the account's login throttle; record why."""
    require_reason(db.session, reason, "unlocking the account")
    throttle.forget_account(user.username)  # the throttle row before the user's, in the order a login locks them
    lock(user)
    if not user.locked:
        raise DomainError(f"{user.username} is not locked.")
    user.locked_at = None
    user.failed_logins = 0
    record_event(db.session, "auth.unlocked", "user", user.id, scope=f"user:{user.id}")
