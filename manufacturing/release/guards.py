"""What must hold before QA releases a dose unit; each rule says what is missing, in QA's words."""

from sqlalchemy import func, select

from manufacturing.core.permissions import Role
from manufacturing.extensions import db
from manufacturing.processing.models import DoseState, DoseUnit
from manufacturing.processing.states import DOSE
from manufacturing.release.models import Decision, Disposition, DispositionState, ReleaseAlert
from manufacturing.release.review import Review

# An interim certificate is completed by a final one while the unit is released, issued or given.
FINAL_RELEASABLE = frozenset({DoseState.RELEASED_INTERIM, DoseState.ISSUED, DoseState.ADMINISTERED})


def held_at(dose: DoseUnit):
    """When a unit that was at the ward was put on hold, or None (it was held in the pharmacy, or never)."""
    query = select(func.max(ReleaseAlert.raised_at)).where(ReleaseAlert.dose_unit_id == dose.id,
                                                           ReleaseAlert.dose_state_at_alert == DoseState.ISSUED.name)
    return db.session.scalar(query)


def release_state_problem(dose: DoseUnit) -> str | None:
    """Say why the unit cannot be released from where it stands, or None (quarantine, or on hold at pharmacy)."""
    if (problem := DOSE.refusal(dose, "released")):
        return problem
    if dose.state == DoseState.ON_HOLD and held_at(dose) is not None:
        return (f"Dose unit {dose.division_code} was at the ward when it was put on hold: it is never released "
                "again. Reject and discard it.")
    return None


def can_release(dose: DoseUnit, user) -> bool:
    return is_qa(user) and release_state_problem(dose) is None


def _interim_standing(dose: DoseUnit) -> bool:
    query = select(Disposition.id).where(Disposition.dose_unit_id == dose.id,
                                         Disposition.state == DispositionState.STANDING,
                                         Disposition.decision == Decision.RELEASED_INTERIM)
    return db.session.scalar(query.limit(1)) is not None


def final_problem(dose: DoseUnit) -> str | None:
    """Say why no final certificate can follow, or None: an interim release must stand."""
    if dose.state not in FINAL_RELEASABLE or not _interim_standing(dose):
        return (f"Dose unit {dose.division_code} is {dose.state.title.lower()}: there is no standing interim "
                "release to complete.")
    return None


def can_release_final(dose: DoseUnit, user) -> bool:
    return is_qa(user) and final_problem(dose) is None


def can_reject(dose: DoseUnit, user) -> bool:
    return is_qa(user) and DOSE.allows(dose, "rejected")


def is_qa(user) -> bool:
    return user.has_role(Role.QA)


def segregation_problem(involved: set[int], user) -> str | None:
    if user.id in involved:
        return "You performed or verified a step of this lot: another QA person must release it."
    return None


def can_decide(found: Review, user) -> bool:
    """QA who had no part in the lot's steps: the only people a release or rejection form is shown to."""
    return is_qa(user) and segregation_problem(found.involved_user_ids, user) is None


def may_review_for_release(dose: DoseUnit, user, involved: set[int]) -> bool:
    """A unit waiting for a release this QA person may sign (no part in the lot's steps)."""
    return can_release(dose, user) and segregation_problem(involved, user) is None


def record_problems(found: Review) -> list[str]:
    """Why the executed record is not ready: incomplete, unverified, broken signatures, open deviations."""
    problems = list(found.process_problems)
    problems += [f"The signature of {label} is broken: the record changed after signing and must be signed again."
                 for label, _ in found.broken_signatures]
    problems += [f"Deviation {d.number} is open and not assessed as not affecting the product."
                 for d in found.blocking_deviations]
    problems += [f"QC result {r.test_key} ({r.entered}) is not verified by a second person."
                 for r in found.unverified_results]
    problems += [f"{line.criterion.name}: no result yet, and it may not be pending at the release of a "
                 f"{found.dose.kind.title.lower()} unit." for line in found.pending_not_allowed]
    return problems


def failing_problems(found: Review) -> list[str]:
    """Results that fail the specification: only an exceptional release may go past them."""
    problems = [f"{line.evaluation.reason}." for line in found.failing]
    problems += [f"Deviation {d.number} affects the product." for d in found.affecting_deviations]
    return problems
