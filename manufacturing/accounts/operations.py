"""The verbs of accounts: create, set up, log in, change or reset a password, lock, deactivate."""

import re
import secrets
from datetime import timedelta

from flask import current_app
from sqlalchemy import select

from manufacturing.accounts import equal_time, throttle
from manufacturing.accounts.models import PasswordHistory, User, UserRole
from manufacturing.accounts.passwords import hash_password, policy_problems, too_soon_problem, verify_password
from manufacturing.accounts.sessions import end_sessions, start_session
from manufacturing.core import clock, seals
from manufacturing.core.audit import Actor, record_event, set_actor
from manufacturing.core.checks import require_reason
from manufacturing.core.errors import DomainError, NotPermitted
from manufacturing.core.keyring import equal_text
from manufacturing.core.permissions import Role
from manufacturing.core.transitions import lock
from manufacturing.extensions import db

USERNAME_PATTERN = re.compile(r"^[a-z][a-z0-9._-]{2,39}$")
LOGIN_REFUSED = "User ID or password not accepted."
SETUP_REFUSED = "User ID or setup code not accepted."
SETUP_CODE_ALPHABET = "ABCDEFGHJKLMNPQRSTUVWXYZ23456789"
GMP_ROLES = frozenset({Role.TECHNICIAN, Role.QA, Role.PHARMACY})


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
    if any(verify_password(old, password) for old in [user.password_hash, *recent] if old):
        raise DomainError("The new password is not accepted: it was used recently; choose another.")


def _retire_password(user: User) -> None:
    """Keep the current password in the history, so that it is not chosen again soon."""
    if user.id is not None and user.password_hash:
        db.session.add(PasswordHistory(user_id=user.id, password_hash=user.password_hash,
                                       created_at=clock.now()))


def _set_password(user: User, password: str, must_change: bool) -> None:
    _retire_password(user)
    user.password_hash = hash_password(password)
    user.password_changed_at = clock.now()
    user.must_change_password = must_change
    user.setup_code_hash = user.setup_code_expires_at = None


def _issue_setup_code(user: User) -> str:
    """Revoke the password and give the account a one-time setup code; return the code (shown once)."""
    code = generate_setup_code()
    _retire_password(user)
    user.password_hash = ""
    user.must_change_password = True
    user.setup_code_hash = setup_code_digest(code)
    user.setup_code_expires_at = clock.now() + timedelta(hours=current_app.config["SETUP_CODE_HOURS"])
    return code


def _roles_problem(roles: set[Role]) -> str | None:
    """The administrator is IT: an account holding ADMIN holds no GMP role (segregation of duties)."""
    gmp = sorted(roles & GMP_ROLES, key=lambda role: role.name)
    if Role.ADMIN in roles and gmp:
        return ("The Administrator role is for IT work only and cannot be combined with "
                + ", ".join(role.title for role in gmp)
                + ": a person who does both needs two accounts.")
    return None


def create_user(username: str, full_name: str, roles: list[Role]) -> tuple[User, str]:
    """Create an account with no password and a one-time setup code; return both (the code is shown once)."""
    username = username.strip().lower()
    if not USERNAME_PATTERN.match(username):
        raise DomainError("User ID: 3 to 40 characters, lower-case letters, digits, '.', '_' or '-', "
                          "starting with a letter.")
    if not full_name.strip():
        raise DomainError("Give the person's full name: it is printed with every signature.")
    if not roles:
        raise DomainError("Give the account at least one role.")
    if problem := _roles_problem(set(roles)):
        raise DomainError(problem)
    if find_user(username) is not None:
        raise DomainError(f"The user ID {username} is already taken (IDs are never reused).")
    _refuse_printed_name_of_another(full_name)
    user = User(username=username, full_name=full_name.strip(), active=True, failed_logins=0,
                created_at=clock.now(), password_changed_at=clock.now(), password_hash="")
    code = _issue_setup_code(user)
    user.roles = [UserRole(role=role) for role in sorted(set(roles), key=lambda r: r.name)]
    db.session.add(user)
    db.session.flush()
    record_event(db.session, "auth.setup_code_issued", "user", user.id,
                 {"expires_at": {"new": user.setup_code_expires_at.isoformat()}}, scope=f"user:{user.id}")
    return user, code


def set_up_password(username: str, code: str, new_password: str) -> User:
    """Let the person choose their password with the setup code an administrator gave them (single use)."""
    user = find_user(username or "")
    if user is None:
        raise DomainError(SETUP_REFUSED, after_rollback=(lambda: _record_unknown_setup(username),))
    lock(user)
    if user.locked or not user.active:  # the same answer as an unknown user: the page tells no one who exists
        raise DomainError(SETUP_REFUSED)
    if not user.setup_code_hash or not equal_text(setup_code_digest(code or ""), user.setup_code_hash):
        register_failed_password(user, "setup_code")
        raise DomainError(SETUP_REFUSED, keep_changes=True)
    if user.setup_code_expired:
        raise DomainError(f"This setup code expired at {clock.format_local(user.setup_code_expires_at)}: "
                          "ask an administrator for a new one.")
    _check_new_password(user, new_password)
    set_actor(db.session, user.id, user.username)
    _set_password(user, new_password, must_change=False)
    user.failed_logins = 0
    record_event(db.session, "auth.password_set_up", "user", user.id, scope=f"user:{user.id}",
                 actor=_actor(user))
    return user


def _record_unknown_setup(username: str | None) -> None:
    record_event(db.session, "auth.setup_code_failed", "user", None,
                 {"username": {"new": (username or "")[:80]}, "cause": {"new": "unknown user"}},
                 actor=Actor(None, (username or "")[:80] or "(blank)"))


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
    if not user.verify_password(current_password or ""):
        user_id = user.id
        raise DomainError("The current password is not correct.",
                          after_rollback=(lambda: register_failed_password(user_id, "password_change"),))
    if not user.password_change_due and (problem := too_soon_problem(user.password_changed_at)):
        raise DomainError(problem)
    _check_new_password(user, new_password)
    _set_password(user, new_password, must_change=False)
    end_sessions(user, "password changed", except_token=user.session_token)
    record_event(db.session, "auth.password_changed", "user", user.id, scope=f"user:{user.id}")


def generate_setup_code() -> str:
    """Return a random setup code: 25 characters without look-alikes (0/O, 1/I), 125 bits."""
    characters = "".join(secrets.choice(SETUP_CODE_ALPHABET) for _ in range(25))
    return "-".join(characters[start:start + 5] for start in range(0, 25, 5))


def setup_code_digest(code: str) -> str:
    """Seal a setup code as typed (case, spaces and dashes do not matter) with the audit key."""
    return seals.setup_code_mac(re.sub(r"[\s-]", "", code).upper())


def _guard_admin_on(admin: User, user: User, what: str) -> None:
    if not admin.has_role(Role.ADMIN):
        raise NotPermitted("Only an administrator manages accounts.")
    if admin.id == user.id:
        raise NotPermitted(f"An administrator cannot {what} their own account; ask another administrator.")


def reset_password(admin: User, user: User, reason: str) -> str:
    """Revoke the user's password and sessions and issue a setup code; return it (no one learns a password)."""
    _guard_admin_on(admin, user, "reset the password of")
    require_reason(db.session, reason, "resetting the password")
    code = _issue_setup_code(user)
    end_sessions(user, "password reset")
    record_event(db.session, "auth.password_reset", "user", user.id,
                 {"expires_at": {"new": user.setup_code_expires_at.isoformat()}}, scope=f"user:{user.id}")
    return code


def set_roles(admin: User, user: User, roles: list[Role], reason: str) -> None:
    _guard_admin_on(admin, user, "change the roles of")
    if not roles:
        raise DomainError("Give the account at least one role; deactivate it to remove all access.")
    if problem := _roles_problem(set(roles)):
        raise DomainError(problem)
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
    _refuse_printed_name_of_another(full_name, user)
    user.full_name = full_name.strip()


def _refuse_printed_name_of_another(full_name: str, user: User | None = None) -> None:
    """A printed name names one person (11.50): no second account, the administrator's own included, bears it."""
    wanted = " ".join(full_name.split()).casefold()
    for other in db.session.scalars(select(User).where(User.id != (user.id if user else None))):
        if " ".join(other.full_name.split()).casefold() == wanted:
            raise DomainError(f"{other.full_name} is already the printed name of the account {other.username}: "
                              "signatures must name one person. One person has one account.")


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
