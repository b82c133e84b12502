"""What the lifecycle machine found, and how a violation is reported: every violation fails at once.

The defects below were found by this machine before the one lifecycle was enforced; each is named in the
report of a violation of its kind, and test_lifecycle_stories replays its minimal story on every run.
"""

import functools
import importlib.util

from tests.invariants import oracle

KNOWN = {  # defects this machine found (issue 9), fixed since: a violation of one of their kinds names it
    "D1": "a released unit stays issuable/checkable/administrable after a failing result (e.g. positive sterility)",
    "D2": "a unit is issued with no label printed after its release",
    "D3": "a cryopreserved unit is released on an interim certificate with sterility pending",
    "D4": "the batch record build crashes after an out-of-specification QC result",
    "D5": "a corrected and re-verified step blocks release for good",
    # found by this test (reported with it):
    "N1": "an issued unit is bedside-checked and administered while its lot is on hold",
    "N2": "a failing result on one unit after release does not stop the other units of the lot (DOMAIN 4)",
    # the bedside STOP (issue 12), driven by the machine since:
    "B1": "a unit is given after a bedside check that read another bag followed the matched one (the STOP)",
}
REASON_DEFECT = {oracle.FAILING_SINCE: "D1", oracle.OPEN_ALERT: "D1", oracle.NO_LABEL: "D2",
                 oracle.FROZEN_INTERIM: "D3", oracle.ON_HOLD: "N1", oracle.SIBLING_FAILING: "N2",
                 oracle.STOPPED: "B1"}


class Violation(AssertionError):
    """An invariant broke; one subclass per kind, so that hypothesis shrinks each kind on its own."""


@functools.cache
def violation(tag: str) -> type[Violation]:
    return type("Violation_" + "".join(c if c.isalnum() else "_" for c in tag)[:80], (Violation,), {})


def product_gate():
    """The product's own fit-to-give gate, once main adds it."""
    if importlib.util.find_spec("manufacturing.dispensing.fitness") is None:
        return None
    return importlib.import_module("manufacturing.dispensing.fitness").unfit_reasons
