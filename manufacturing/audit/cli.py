"""`flask audit verify`: check the sealed audit trail and everything it vouches for."""

import sys

import click
from flask.cli import AppGroup

from manufacturing.core.audit_verify import verify_chain
from manufacturing.extensions import db

audit_cli = AppGroup("audit", help="Check the audit trail.")


@audit_cli.command("verify")
def verify() -> None:
    """Check rows, links, head, signatures, documents and records; exit 1 naming every finding."""
    if db.engine.dialect.name == "postgresql":  # one snapshot: rows and head read as of one moment
        db.session.connection(execution_options={"isolation_level": "REPEATABLE READ"})
    report = verify_chain(db.session)
    db.session.rollback()
    click.echo(str(report))
    if not report.ok:
        sys.exit(1)
