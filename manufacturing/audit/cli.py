"""`flask audit verify`: check the hash chain of the audit trail."""

import sys

import click
from flask.cli import AppGroup

from manufacturing.core.audit_verify import verify_chain
from manufacturing.core.checkpoints import WARNING_KINDS, verify_checkpoints
from manufacturing.extensions import db

audit_cli = AppGroup("audit", help="Check the audit trail.")


@audit_cli.command("verify")
def verify() -> None:
    """Recompute the chain; exit 1 and name the first bad row when it is broken."""
    report = verify_chain(db.session)
    findings = verify_checkpoints(db.session)
    db.session.rollback()
    click.echo(str(report))
    for finding in findings:
        click.echo(f"{finding.kind} at {finding.where}: {finding.detail}")
    if not report.ok or any(finding.kind not in WARNING_KINDS for finding in findings):
        sys.exit(1)
