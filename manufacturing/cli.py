"""Command-line groups of the application (`flask --app manufacturing ...`)."""

from flask import Flask


def register_cli(app: Flask) -> None:
    from flask_migrate.cli import db as migrations_cli

    from manufacturing.accounts.cli import users_cli
    from manufacturing.api.cli import api_cli
    from manufacturing.audit.checkpoint_cli import checkpoint, keygen
    from manufacturing.audit.cli import audit_cli
    from manufacturing.core.cli import grant_runtime_command
    from manufacturing.demo import demo_cli
    from manufacturing.records.cli import lots_cli, records_cli
    from manufacturing.records.worker_cli import documents_cli
    from manufacturing.specifications.cli import specs_cli

    audit_cli.add_command(keygen)
    audit_cli.add_command(checkpoint)
    for group in (users_cli, api_cli, audit_cli, demo_cli, specs_cli, records_cli, lots_cli, documents_cli):
        app.cli.add_command(group)
    migrations_cli.add_command(grant_runtime_command)  # `flask db grant-runtime`, beside `flask db upgrade`
