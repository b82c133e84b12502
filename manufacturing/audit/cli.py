"""`flask audit verify`: check the hash chain of the audit trail."""

import sys

import click
from flask.cli import AppGroup

from manufacturing.core.audit_verify import verify_chain
from manufacturing.extensions import db

audit_cli = AppGroup("audit", help="Check the audit trail.")


@audit_cli.command("verify")
def verify() -> None:
    """Recompute the chain; exit 1 and name the first bad row when it is broken."""
    report = verify_chain(db.session)
    db.session.rollback()
    click.echo(str(report))
    if not report.ok:
        sys.exit(1)
