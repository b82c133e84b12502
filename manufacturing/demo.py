"""`flask demo load`: demo accounts and data, made through the operations like real work."""

import secrets

import click
from flask.cli import AppGroup

from manufacturing.accounts import operations
from manufacturing.accounts.cli import cli_actor
from manufacturing.core.permissions import Role
from manufacturing.extensions import db

demo_cli = AppGroup("demo", help="Demo data for trying the application.")

DEMO_USERS = [
    ("tech.anna", "Anna Bianchi", [Role.TECHNICIAN]),
    ("tech.marco", "Marco Esposito", [Role.TECHNICIAN]),
    ("qa.giulia", "Giulia Romano", [Role.QA]),
    ("pharm.luca", "Luca Ferrari", [Role.PHARMACY]),
    ("pharm.sara", "Sara Colombo", [Role.PHARMACY]),
    ("admin", "Paolo Ricci", [Role.ADMIN]),
]


def demo_password() -> str:
    return f"Demo-{secrets.token_hex(4)}-{secrets.token_hex(4)}"


def create_demo_users() -> dict[str, str]:
    """Create one account per demo person; return their passwords."""
    passwords = {}
    for username, full_name, roles in DEMO_USERS:
        passwords[username] = demo_password()
        operations.create_user(username, full_name, roles, passwords[username])
    return passwords


@demo_cli.command("load")
def load() -> None:
    """Load the demo data once; print the demo passwords (to be changed at first login)."""
    if operations.find_user(DEMO_USERS[0][0]) is not None:
        click.echo("Demo data is already loaded; nothing changed.")
        return
    cli_actor()
    passwords = create_demo_users()
    db.session.commit()
    click.echo("Demo accounts (shown once; each password must be changed at first login):")
    for username, full_name, roles in DEMO_USERS:
        role_titles = ", ".join(role.title for role in roles)
        click.echo(f"  {username:<12} {passwords[username]:<24} {full_name} ({role_titles})")
