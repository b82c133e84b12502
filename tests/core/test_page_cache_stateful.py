"""Random lifecycles of two lots: after every act, each kept page is the page rendered afresh from the data.

The lifecycle machine's real operations (tests/invariants/machine.py) change the lots, their subjects and units
in random orders, and let the clock run; after each, every lot page (as a technician and as QA) and every
unit's QA review (as each QA person: one may have had a part in the lot) is asked from the cache, warm from
the acts before, and rendered with the cache off. A change that left a page's key as it was would show here
as a kept page that differs. `PAGE_CACHE_EXAMPLES` and `PAGE_CACHE_STEPS` lengthen the run.
"""

import os

from flask import current_app
from flask_login import login_user
from hypothesis import HealthCheck, settings
from hypothesis.stateful import invariant, run_state_machine_as_test

from manufacturing.extensions import db
from tests.invariants import oracle
from tests.invariants.machine import Lifecycle

EXAMPLES = int(os.environ.get("PAGE_CACHE_EXAMPLES", 6))
STEPS = int(os.environ.get("PAGE_CACHE_STEPS", 15))
LOT_READERS = ("tech.one", "qa.one")
REVIEWERS = ("qa.one", "qa.two")


class KeptPages(Lifecycle):
    """The machine, and after every rule the kept pages against fresh ones."""

    @invariant()
    def kept_pages_are_the_pages_of_now(self):
        views = current_app.view_functions
        for place in self.world.places.values():
            for reader in LOT_READERS:
                self.same_page(reader, f"/lots/{place.ward.lot.id}", views["lots.detail"], lot_id=place.ward.lot.id)
        for _, unit_id in self.world.units.values():
            for reader in REVIEWERS:
                self.same_page(reader, f"/release/doses/{unit_id}", views["release.dose"], dose_id=unit_id)
        self.digest = oracle.data_digest()  # what a refusal in the next rule must leave as it is

    def teardown(self):
        """Unfreeze the clock in order (a machine left to the garbage collector would unfreeze it at random)."""
        try:
            db.session.rollback()
        finally:
            db.session.remove()
            self.frozen.close()

    def same_page(self, reader: str, path: str, view, **arguments) -> None:
        config = current_app.config
        with current_app.test_request_context(path):
            login_user(self.users[reader])
            kept = view(**arguments)
            size, config["PAGE_CACHE_BYTES"] = config["PAGE_CACHE_BYTES"], 0
            try:
                fresh = view(**arguments)
            finally:
                config["PAGE_CACHE_BYTES"] = size
        if kept != fresh:
            self.violate("a kept page is not the page of now", f"{path} as {reader}")


def test_kept_pages_follow_every_change(database):
    """Every act of the lifecycle: no page is served from a version of the data it no longer shows."""
    Lifecycle.built = None
    run_state_machine_as_test(KeptPages, settings=settings(
        max_examples=EXAMPLES, stateful_step_count=STEPS, deadline=None, print_blob=True,
        suppress_health_check=list(HealthCheck)))
