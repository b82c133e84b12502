"""`flask documents ...`: the worker that stores the documents of QA's decisions, off the request path."""

import logging
import time

import click
from flask import current_app
from flask.cli import AppGroup

from manufacturing.extensions import db
from manufacturing.records import jobs

log = logging.getLogger(__name__)

documents_cli = AppGroup("documents", help="Certificates and batch records stored after QA's decisions.")


@documents_cli.command("worker")
@click.option("--once", is_flag=True, help="Run the jobs due now, then stop (for a timer instead of a service).")
def worker(once: bool) -> None:
    """Store the documents of every queued decision, then wait for more; several workers may run at once."""
    found = jobs.requeue_missing()
    if found:
        click.echo(f"Queued the documents of {found} release(s) found without them.")
    poll = current_app.config["DOCUMENT_WORKER_POLL_SECONDS"]
    try:
        while True:
            done = _round()
            if done:
                click.echo(f"Ran {done} document job(s).")
            if once:
                return
            time.sleep(poll)
    except KeyboardInterrupt:  # a job under way is rolled back with its transaction and run again later
        click.echo("Stopped.")


def _round() -> int:
    """Run the jobs due; a database gone for a while (a restart, say) is waited for, not a reason to stop."""
    try:
        return jobs.run_due()
    except Exception:
        log.exception("The documents worker could not reach the database; it tries again.")
        db.session.remove()
        return 0


@documents_cli.command("sweep")
@click.option("--retry-failed", is_flag=True, help="Also try again the jobs given up after their last try.")
def sweep(retry_failed: bool) -> None:
    """Queue the documents of every release that has neither a stored certificate nor a job (a lost one, say)."""
    click.echo(f"Queued the documents of {jobs.requeue_missing()} release(s).")
    if retry_failed:
        click.echo(f"{jobs.retry_failed()} job(s) given up will be tried again.")
