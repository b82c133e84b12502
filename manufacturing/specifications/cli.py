"""`flask specs check`: validate every specification file and keep change control."""

import sys

import click
from flask.cli import AppGroup

from manufacturing.core.cli import cli_actor
from manufacturing.extensions import db
from manufacturing.specifications import registry
from manufacturing.specifications.loader import SpecError

specs_cli = AppGroup("specs", help="Specifications as versioned data.")


@specs_cli.command("check")
def check() -> None:
    """Validate specs/*.toml; refuse changed content without a new version; record new versions."""
    cli_actor()
    try:
        new = registry.record_new_versions()
        files = registry.read_files()
        db.session.commit()
    except SpecError as error:
        db.session.rollback()
        click.echo(f"FAILED: {error}", err=True)
        sys.exit(1)
    new_keys = {(spec.id, spec.version) for spec in new}
    for item in files:
        spec = item.spec
        state = "newly recorded" if (spec.id, spec.version) in new_keys else "unchanged"
        click.echo(f"{spec.source}\t{spec.id} {spec.version}\teffective {spec.effective}\t"
                   f"sha256 {spec.content_hash[:16]}\t{state}")
    click.echo(f"{len(files)} specification files valid.")
