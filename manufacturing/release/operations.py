"""QA's disposition of a dose unit: release (interim or final, exceptional if need be) or reject."""

import json
from datetime import date

from sqlalchemy import select

from manufacturing.core import clock
from manufacturing.core.audit import record_event, set_reason
from manufacturing.core.errors import DomainError, NotPermitted, OutOfSequence, ReasonRequired
from manufacturing.core.signatures import Meaning, sign
from manufacturing.extensions import db
from manufacturing.lots.models import LotState
from manufacturing.processing.models import DoseState, DoseUnit
from manufacturing.release import guards
from manufacturing.release.certificate import certificate_data
from manufacturing.release.models import Decision, Disposition
from manufacturing.release.review import Review, review


def _refuse(problems: list[str], opening: str) -> None:
    if problems:
        raise OutOfSequence(opening + " " + " ".join(problems))


def _check_releaser(found: Review, user) -> None:
    if not guards.is_qa(user):
        raise NotPermitted("Only QA releases or rejects dose units.")
    problem = guards.segregation_problem(found, user)
    if problem:
        raise NotPermitted(problem)
    if found.lot.state in (LotState.ON_HOLD, LotState.CANCELLED):
        raise OutOfSequence(f"Lot {found.lot.lot_number} is {found.lot.state.title.lower()}.")


def _exception(found: Review, justification: str | None, physician: str | None, acknowledged: date | None):
    failing = guards.failing_problems(found)
    if not failing:
        return False
    if not (justification or "").strip() or not (physician or "").strip() or acknowledged is None:
        raise OutOfSequence("Not releasable: " + " ".join(failing) + " An exceptional release needs a written "
                            "justification and the treating physician's acknowledgement (name and date).")
    return True


def _decide(dose: DoseUnit, found: Review, decision: Decision, user, password: str, username: str,
            **details) -> Disposition:
    certificate = certificate_data(found, decision)
    disposition = Disposition(dose_unit_id=dose.id, decision=decision, decided_at=clock.now(), decided_by_id=user.id,
                              certificate=json.dumps(certificate.as_dict(), sort_keys=True), **details)
    db.session.add(disposition)
    db.session.flush()
    meaning = Meaning.REJECTED if decision == Decision.REJECTED else Meaning.RELEASED
    sign(disposition, meaning, user, password, username=username)
    record_event(db.session, f"dose.{decision.name.lower()}", "dose_unit", dose.id, scope=f"lot:{dose.lot_id}",
                 changes={"state": {"old": dose.state.name, "new": guards.state_after(dose, decision).name}})
    return disposition


def release_dose(dose: DoseUnit, user, password: str, username: str, *, justification: str | None = None,
                 physician_name: str | None = None, physician_acknowledged_on: date | None = None) -> Disposition:
    """Release a quarantined unit: final when every result is in, interim while allowed tests are pending."""
    if dose.state != DoseState.QUARANTINE:
        raise OutOfSequence(f"Dose unit {dose.division_code} is {dose.state.title.lower()}, not in quarantine.")
    found = review(dose)
    _check_releaser(found, user)
    _refuse(guards.record_problems(found), "Not releasable:")
    exceptional = _exception(found, justification, physician_name, physician_acknowledged_on)
    decision = Decision.RELEASED_INTERIM if found.pending else Decision.RELEASED_FINAL
    if exceptional:
        set_reason(db.session, justification)
    disposition = _decide(dose, found, decision, user, password, username, exceptional=exceptional,
                          justification=(justification or "").strip() or None,
                          physician_name=(physician_name or "").strip() or None,
                          physician_acknowledged_on=physician_acknowledged_on if exceptional else None)
    dose.state = DoseState.RELEASED_INTERIM if decision == Decision.RELEASED_INTERIM else DoseState.RELEASED
    return disposition


def release_final(dose: DoseUnit, user, password: str, username: str) -> Disposition:
    """Issue the final certificate once the tests pending at the interim release are in and pass."""
    if dose.state not in guards.FINAL_RELEASABLE:
        raise OutOfSequence(f"Dose unit {dose.division_code} is {dose.state.title.lower()}: there is no interim "
                            "release to complete.")
    found = review(dose)
    _check_releaser(found, user)
    if found.pending:
        raise OutOfSequence("Results are still pending: " + ", ".join(line.criterion.name for line in found.pending))
    _refuse(guards.record_problems(found), "The final certificate cannot be issued:")
    _refuse(guards.failing_problems(found), "The final certificate cannot be issued:")
    disposition = _decide(dose, found, Decision.RELEASED_FINAL, user, password, username)
    if dose.state == DoseState.RELEASED_INTERIM:
        dose.state = DoseState.RELEASED
    return disposition


def reject_dose(dose: DoseUnit, user, password: str, username: str, reason: str) -> Disposition:
    """Reject a unit that is not yet issued; the reason is kept with the signed decision."""
    if dose.state not in guards.RELEASABLE:
        raise OutOfSequence(f"Dose unit {dose.division_code} is {dose.state.title.lower()}: it cannot be rejected.")
    if not (reason or "").strip():
        raise ReasonRequired("Give the reason for rejecting the dose unit.")
    if not guards.is_qa(user):
        raise NotPermitted("Only QA releases or rejects dose units.")
    set_reason(db.session, reason)
    disposition = _decide(dose, review(dose), Decision.REJECTED, user, password, username,
                          justification=reason.strip())
    dose.state = DoseState.REJECTED
    return disposition


def latest_disposition(dose: DoseUnit) -> Disposition | None:
    query = select(Disposition).where(Disposition.dose_unit_id == dose.id).order_by(Disposition.id.desc())
    return db.session.scalars(query).first()


def require_certificate(dose: DoseUnit) -> Disposition:
    disposition = latest_disposition(dose)
    if disposition is None or disposition.decision == Decision.REJECTED:
        raise DomainError(f"Dose unit {dose.division_code} has no certificate: it is not released.")
    return disposition
