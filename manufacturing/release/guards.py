"""What must hold before QA releases a dose unit; each rule says what is missing, in QA's words."""

from manufacturing.core.permissions import Role
from manufacturing.processing.models import DoseState, DoseUnit
from manufacturing.release.models import Decision
from manufacturing.release.review import Review

RELEASABLE = frozenset({DoseState.QUARANTINE, DoseState.RELEASED_INTERIM})
FINAL_RELEASABLE = frozenset({DoseState.RELEASED_INTERIM, DoseState.ISSUED, DoseState.ADMINISTERED})


def state_after(dose: DoseUnit, decision: Decision) -> DoseState:
    """The state a decision leaves a unit in; a final certificate leaves an issued or given unit as it is."""
    if decision == Decision.RELEASED_INTERIM:
        return DoseState.RELEASED_INTERIM
    if decision == Decision.REJECTED:
        return DoseState.REJECTED
    return DoseState.RELEASED if dose.state in RELEASABLE else dose.state


def is_qa(user) -> bool:
    return user.has_role(Role.QA)


def segregation_problem(found: Review, user) -> str | None:
    if user.id in found.involved_user_ids:
        return "You performed or verified a step of this lot: another QA person must release it."
    return None


def record_problems(found: Review) -> list[str]:
    """Why the executed record is not ready: incomplete, unverified, broken signatures, open deviations."""
    problems = list(found.process_problems)
    problems += [f"The signature of {label} is broken: the record changed after signing and must be signed again."
                 for label, _ in found.broken_signatures]
    problems += [f"Deviation {d.number} is open and not assessed as not affecting the product."
                 for d in found.blocking_deviations]
    problems += [f"QC result {r.test_key} ({r.entered}) is not verified by a second person."
                 for r in found.unverified_results]
    problems += [f"{line.criterion.name}: no result yet, and it may not be pending at release."
                 for line in found.pending_not_allowed]
    return problems


def failing_problems(found: Review) -> list[str]:
    """Results that fail the specification: only an exceptional release may go past them."""
    problems = [f"{line.evaluation.reason}." for line in found.failing]
    problems += [f"Deviation {d.number} affects the product." for d in found.affecting_deviations]
    return problems
