"""The minimal falsifying stories of the lifecycle machine, replayed every run: same rules, same invariants.

Random search finds the deeper ones only in the long profile; these keep each defect the machine found (each
failed before the one lifecycle was enforced) under watch in CI: every invariant must hold after every step.
"""

import pytest

from tests.invariants.findings import KNOWN
from tests.invariants.machine import Lifecycle
from tests.invariants.test_lifecycle_stateful import CheckedLifecycle

FRESH, FROZEN = "S1-A0-fresh", "S1-B0-frozen"  # two units of subject 1's lot
RELEASE = ("release", {"unit": FRESH, "by": "qa.one", "exceptional": False})
LABEL = ("print_label", {"unit": FRESH, "by": "pharm.one", "reason": None})
ISSUE = ("issue", {"unit": FRESH, "wrong_subject": False})
STORIES = {
    "D1": [RELEASE, LABEL, ("read_sterility", {"unit": FRESH, "growth": True}), ISSUE],
    "D2": [RELEASE, ISSUE],
    "D3": [("release", {"unit": FROZEN, "by": "qa.one", "exceptional": False})],
    "D4": [("record_qc", {"unit": FRESH, "test": "cd3", "outcome": "fail", "by": "tech.one"})],
    "D5": [("correct_step", {"lot": "S1", "kind": "CULTURE_DAY", "by": "tech.one"}),
           ("verify_step", {"lot": "S1", "by": "other"}), RELEASE],
    "N1": [RELEASE, LABEL, ISSUE, ("hold", {"lot": "S1", "by": "qa.one"}),
           ("bedside_check", {"unit": FRESH, "mismatch": None, "side": "first"})],
    "N2": [RELEASE, LABEL, ("read_sterility", {"unit": FROZEN, "growth": True}), ISSUE],
    "B1": [RELEASE, LABEL, ISSUE, ("bedside_check", {"unit": FRESH, "mismatch": None, "side": "first", "then": "din"}),
           ("administer", {"unit": FRESH})],
}
INVARIANTS = ("acts_of_giving_were_fit", "frozen_units_wait_for_final_results",
              "one_signature_per_meaning_and_version", "records_build_and_agree", "audit_trail_verifies")


class Drawn:
    """Stands for hypothesis' data in a targeted rule: draws the target the story names."""

    def __init__(self, target: str):
        self.target = target

    def draw(self, strategy, label=None):
        return self.target


TARGETED = {"release", "print_label", "issue", "read_sterility", "bedside_check", "verify_step",  # see machine.act
            "administer"}


def replay(machine: CheckedLifecycle, story: list) -> None:
    """Run the story's rules as hypothesis would, each followed by every invariant."""
    for name, arguments in story:
        arguments = dict(arguments)
        if name in TARGETED:
            arguments["data"] = Drawn(arguments.pop("unit", None) or arguments.pop("lot"))
        getattr(machine, name)(**arguments)
        for invariant in INVARIANTS:
            getattr(machine, invariant)()


@pytest.mark.parametrize("defect", list(STORIES), ids=[f"{tag}-{KNOWN[tag][:40]}" for tag in STORIES])
def test_story(database, defect):
    Lifecycle.built = None  # the machine reads Lifecycle.built: a world of this database, built anew
    machine = CheckedLifecycle()
    try:
        replay(machine, STORIES[defect])
    finally:
        machine.teardown()
