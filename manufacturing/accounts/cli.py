"""`flask users ...`: create the first administrator (who types a password) and accounts (setup codes)."""

import sys

import click
from flask.cli import AppGroup
from sqlalchemy import select

from manufacturing.accounts import operations
from manufacturing.accounts.models import User, UserRole
from manufacturing.core import clock
from manufacturing.core.cli import cli_actor
from manufacturing.core.errors import DomainError
from manufacturing.core.permissions import Role
from manufacturing.core.web import settle_refusal
from manufacturing.extensions import db

users_cli = AppGroup("users", help="Manage user accounts.")
ROLE_NAMES = [role.name.lower() for role in Role]


def _read_password() -> str:
    if not sys.stdin.isatty():
        return sys.stdin.readline().rstrip("\r\n")
    return click.prompt("Your password", hide_input=True, confirmation_prompt=True)


def _first_administrator(roles: list[Role]) -> bool:
    """The very first administrator is at the keyboard: they choose their own password here."""
    return roles == [Role.ADMIN] and db.session.scalar(select(UserRole.id).where(UserRole.role == Role.ADMIN)) is None


@users_cli.command("create")
@click.argument("username")
@click.option("--name", "full_name", required=True, help="Full name, printed with every signature.")
@click.option("--role", "roles", multiple=True, required=True, type=click.Choice(ROLE_NAMES))
def create(username: str, full_name: str, roles: tuple[str, ...]) -> None:
    """Create an account and print its one-time setup code; the first administrator types a password instead."""
    wanted = sorted({Role[name.upper()] for name in roles}, key=lambda role: role.name)
    first = _first_administrator(wanted)
    password = _read_password() if first else None
    cli_actor()
    try:
        user, code = operations.create_user(username, full_name, wanted)
        if first:
            operations.set_up_password(user.username, code, password)
        db.session.commit()
    except DomainError as error:
        settle_refusal(error)
        raise click.ClickException(error.message) from None
    if first:
        click.echo(f"Created {user.username} ({user.full_name}), the first administrator; log in with your password.")
        return
    click.echo(f"Created {user.username} ({user.full_name}). One-time setup code, shown only now: {code}\n"
               f"Give it to the person in person or by telephone; it expires at "
               f"{clock.format_local(user.setup_code_expires_at)}. They open /account/setup to choose a password.")


@users_cli.command("list")
def list_users() -> None:
    """Print one line per account."""
    for user in db.session.scalars(select(User).order_by(User.username)):
        state = "active" if user.active else "deactivated"
        if user.locked:
            state += ", locked"
        if user.awaiting_setup:
            state += ", awaiting password set-up"
        roles = ",".join(sorted(role.name.lower() for role in user.role_set))
        click.echo(f"{user.username}\t{user.full_name}\t{roles}\t{state}")


@users_cli.command("unlock")
@click.argument("username")
@click.option("--reason", required=True, help="Why the account is unlocked (recorded in the audit trail).")
def unlock(username: str, reason: str) -> None:
    """Unlock an account locked after wrong passwords and clear its login throttle."""
    cli_actor()
    user = operations.find_user(username)
    if user is None:
        raise click.ClickException(f"There is no account {username.strip().lower()}.")
    try:
        operations.unlock_at_console(user, reason)
        db.session.commit()
    except DomainError as error:
        settle_refusal(error)
        raise click.ClickException(error.message) from None
    click.echo(f"Unlocked {user.username}; the reason is recorded in the audit trail.")
