"""Helpers shared by the command-line groups."""

import getpass

from manufacturing.core.audit import set_actor
from manufacturing.extensions import db


def cli_actor() -> None:
    """Record the shell user as the actor of what the command writes."""
    set_actor(db.session, None, f"cli:{getpass.getuser()}"[:80])
