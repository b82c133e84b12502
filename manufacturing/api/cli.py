"""`flask api token ...`: service tokens for systems, made by an administrator; revoking any token."""

import click
from flask.cli import AppGroup
from sqlalchemy import select

from manufacturing.accounts.models import User
from manufacturing.api import tokens
from manufacturing.api.models import Scope
from manufacturing.core.cli import cli_actor
from manufacturing.core.errors import DomainError
from manufacturing.core.web import settle_refusal
from manufacturing.extensions import db

api_cli = AppGroup("api", help="The JSON API.")
token_cli = AppGroup("token", help="API tokens.")
api_cli.add_command(token_cli)


def _commit_or_explain(work):
    cli_actor()
    try:
        result = work()
        db.session.commit()
    except DomainError as error:
        settle_refusal(error)
        raise click.ClickException(error.message) from None
    return result


@token_cli.command("create-service")
@click.argument("name")
@click.option("--owner", required=True, help="The administrator who answers for the service.")
@click.option("--scope", "scopes", multiple=True, required=True, type=click.Choice([s.value for s in Scope]))
def create_service(name: str, owner: str, scopes: tuple[str, ...]) -> None:
    """Create a service token and print it once; only its digest is kept."""
    admin = db.session.scalar(select(User).where(User.username == owner.strip().lower()))
    if admin is None:
        raise click.ClickException(f"No account {owner}.")
    issued = _commit_or_explain(lambda: tokens.create_service(admin, name, scopes))
    click.echo(f"Service token {issued.token.prefix} for {name} (owner {admin.username}, scopes "
               f"{issued.token.scopes}). Shown only now, keep it in the service's secret store:\n{issued.text}")


@token_cli.command("revoke")
@click.argument("prefix")
def revoke(prefix: str) -> None:
    """Revoke a token for good, by its prefix."""
    token = tokens.by_prefix(prefix)
    if token is None:
        raise click.ClickException(f"No token {prefix}.")
    _commit_or_explain(lambda: tokens.revoke(token, None))
    click.echo(f"Revoked {token}.")
