"""What the lifecycle machine found: the known defects, and how a violation is reported.

A violation of a known defect is collected (FOUND) and the test is marked xfail with it, so that the suite runs
while the product is being fixed; every other violation fails at once. LIFECYCLE_STRICT makes known ones fail too.
"""

import functools
import importlib.util
import os

from tests.invariants import oracle

# LIFECYCLE_STRICT=1 (every known defect) or e.g. D1,D5: those fail at once and hypothesis shrinks them.
STRICT = {tag.strip() for tag in os.environ.get("LIFECYCLE_STRICT", "").split(",") if tag.strip()}

KNOWN = {  # defects known before this test was written (issue 9); the product is being fixed on main
    "D1": "a released unit stays issuable/checkable/administrable after a failing result (e.g. positive sterility)",
    "D2": "a unit is issued with no label printed after its release",
    "D3": "a cryopreserved unit is released on an interim certificate with sterility pending",
    "D4": "the batch record build crashes after an out-of-specification QC result",
    "D5": "a corrected and re-verified step blocks release for good",
    # found by this test (reported with it):
    "N1": "an issued unit is bedside-checked and administered while its lot is on hold",
    "N2": "a failing result on one unit after release does not stop the other units of the lot (DOMAIN 4)",
}
REASON_DEFECT = {oracle.FAILING_SINCE: "D1", oracle.OPEN_ALERT: "D1", oracle.NO_LABEL: "D2",
                 oracle.FROZEN_INTERIM: "D3", oracle.ON_HOLD: "N1", oracle.SIBLING_FAILING: "N2"}
FOUND: dict[str, list[str]] = {}  # known defect tag -> the shortest trace that showed it


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
