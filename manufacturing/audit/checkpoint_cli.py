"""`flask audit keygen` and `flask audit checkpoint`: the signing key and the daily checkpoint of the trail."""

import os
import sys

import click
from flask import current_app

from manufacturing.core.checkpoint_keys import generate_key, public_key_path, restore_public_half
from manufacturing.core.checkpoint_taking import take_checkpoint
from manufacturing.extensions import db


@click.command("keygen")
def keygen() -> None:
    """Create the Ed25519 key that signs checkpoints (CHECKPOINT_KEY) and its public half; never replace one.
    When only the public half is missing, write it again from the private key."""
    path = current_app.config["CHECKPOINT_KEY"]
    public = public_key_path(path)
    try:
        if os.path.lexists(path) and not os.path.lexists(public):
            key_id = restore_public_half(path)
            click.echo(f"The public half of checkpoint key {key_id} was missing: written again to {public}.")
            return
        key_id = generate_key(path)
    except FileExistsError as error:
        click.echo(f"{error.filename} already exists: a checkpoint key is never replaced, nothing was written.",
                   err=True)
        sys.exit(1)
    except (OSError, ValueError) as error:
        click.echo(f"No checkpoint key was written: {error}", err=True)
        sys.exit(1)
    click.echo(f"Checkpoint key {key_id} written to {path}, public key to {public}.")


@click.command("checkpoint")
def checkpoint() -> None:
    """Sign a checkpoint of the committed audit chain now (run daily from cron or a systemd timer)."""
    try:
        name = take_checkpoint(db.engine, "daily")
    except Exception as error:
        click.echo(f"No checkpoint was taken: {error}", err=True)
        sys.exit(1)
    click.echo(f"Checkpoint {name} written to {current_app.config['CHECKPOINT_DIR']}.")
