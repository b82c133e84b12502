"""Helpers shared by the command-line groups, and `flask db grant-runtime`."""

import getpass
import os

import click
from flask import current_app
from flask.cli import with_appcontext

from manufacturing.core.append_only import is_append_only
from manufacturing.core.audit import set_actor
from manufacturing.core.database import owner_engine
from manufacturing.core.database_roles import grant_runtime, runtime_problems
from manufacturing.extensions import db


def cli_actor() -> None:
    """Record the shell user as the actor of what the command writes."""
    set_actor(db.session, None, f"cli:{getpass.getuser()}"[:80])


def _password(variable: str | None) -> str | None:
    if variable is None:
        return None
    if not os.environ.get(variable):
        raise click.ClickException(f"The environment variable {variable} holds no password.")
    return os.environ[variable]


@click.command("grant-runtime")
@click.option("--runtime-role", required=True, help="The role the application connects as (DATABASE_URL).")
@click.option("--password-from-env", "password_variable", metavar="VAR", help="Set the role's password from VAR.")
@with_appcontext
def grant_runtime_command(runtime_role: str, password_variable: str | None) -> None:
    """Create the runtime role if missing and grant it exactly what the application needs; run as the owner."""
    password = _password(password_variable)
    engine = owner_engine(current_app)
    if engine.dialect.name != "postgresql":
        raise click.ClickException("Database roles are PostgreSQL's; on SQLite the application owns its file.")
    try:
        with engine.begin() as connection:
            grant_runtime(connection, runtime_role, db.metadata, password)
            if problems := runtime_problems(connection, runtime_role):
                raise click.ClickException("Nothing granted: " + "; ".join(problems) + ".")
    except ValueError as error:
        raise click.ClickException(str(error)) from None
    finally:
        if engine is not db.engine:
            engine.dispose()
    append_only = [table.name for table in db.metadata.sorted_tables if is_append_only(table.name)]
    click.echo(f"{runtime_role}: rows of {len(db.metadata.tables)} tables, of which {len(append_only)} "
               f"append-only (read and add only): {', '.join(append_only)}.")
