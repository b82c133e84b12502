"""QA's disposition of a dose unit: release (interim or final, exceptional if need be) or reject."""

import json
from datetime import date

from sqlalchemy import select

from manufacturing.core import clock
from manufacturing.core.checks import require_reason
from manufacturing.core.errors import DomainError, NotPermitted, OutOfSequence
from manufacturing.core.signatures import Meaning, sign
from manufacturing.core.site_certificate import signing_problem
from manufacturing.core.transitions import lock
from manufacturing.extensions import db
from manufacturing.lots.guards import closed_problem
from manufacturing.processing.models import DoseUnit
from manufacturing.processing.states import DOSE
from manufacturing.release import guards
from manufacturing.release.certificate import certificate_data
from manufacturing.release.models import Decision, Disposition, DispositionState
from manufacturing.release.review import Review, review
from manufacturing.release.signals import announce_release
from manufacturing.release.states import DISPOSITION


def _refuse(problems: list[str], opening: str) -> None:
    if problems:
        raise OutOfSequence(opening + " " + " ".join(problems))


def _check_releaser(found: Review, user) -> None:
    if not guards.is_qa(user):
        raise NotPermitted("Only QA releases or rejects dose units.")
    problem = guards.segregation_problem(found.involved_user_ids, user)
    if problem:
        raise NotPermitted(problem)
    if (problem := closed_problem(found.lot, "its units are not released")):
        raise OutOfSequence(problem)
    if (problem := signing_problem()):  # the certificate and batch record are stored signed with the release
        raise DomainError(problem)


def _exception(found: Review, justification: str | None, physician: str | None, acknowledged: date | None):
    failing = guards.failing_problems(found)
    if not failing:
        return False
    needs = ("Not releasable: " + " ".join(failing) + " An exceptional release needs a written justification and "
             "the treating physician's acknowledgement (name and date).")
    if not (physician or "").strip() or acknowledged is None:
        raise OutOfSequence(needs)
    require_reason(db.session, justification, "the exceptional release", refusal=needs)
    return True


def _locked_dose(dose: DoseUnit) -> None:
    """Lock the lot, then the unit: every act on a unit takes its locks in this order."""
    lock(dose.lot)
    lock(dose)


def standing_disposition(dose: DoseUnit) -> Disposition | None:
    """The decision in force on the unit: its latest that is neither superseded nor withdrawn."""
    query = (select(Disposition).where(Disposition.dose_unit_id == dose.id,
                                       Disposition.state == DispositionState.STANDING)
             .order_by(Disposition.id.desc()))
    return db.session.scalars(query).first()


def _end_standing(dose: DoseUnit, action: str, reason: str) -> None:
    standing = standing_disposition(dose)
    if standing is not None:
        lock(standing)
        DISPOSITION.move(standing, action, details={"reason": {"new": reason}})
        standing.ended_at, standing.ended_reason = clock.now(), reason


def withdraw_release(dose: DoseUnit, reason: str) -> None:
    """Withdraw the release in force on a unit: its certificate no longer stands."""
    _end_standing(dose, "withdrawn", reason)


def _decide(dose: DoseUnit, found: Review, decision: Decision, user, password: str, username: str,
            **details) -> Disposition:
    certificate = certificate_data(found, decision)
    disposition = Disposition(dose_unit_id=dose.id, decision=decision, decided_at=clock.now(), decided_by_id=user.id,
                              certificate=json.dumps(certificate.as_dict(), sort_keys=True),
                              state=DispositionState.STANDING, **details)
    db.session.add(disposition)
    db.session.flush()
    meaning = Meaning.REJECTED if decision == Decision.REJECTED else Meaning.RELEASED
    sign(disposition, meaning, user, password, username=username)
    return disposition


def release_dose(dose: DoseUnit, user, password: str, username: str, *, justification: str | None = None,
                 physician_name: str | None = None, physician_acknowledged_on: date | None = None) -> Disposition:
    """Release a quarantined (or held) unit: final when every result is in, interim while allowed tests are pending."""
    _locked_dose(dose)
    if (problem := guards.release_state_problem(dose)):
        raise OutOfSequence(problem)
    found = review(dose)
    _check_releaser(found, user)
    _refuse(guards.record_problems(found), "Not releasable:")
    exceptional = _exception(found, justification, physician_name, physician_acknowledged_on)
    decision = Decision.RELEASED_INTERIM if found.pending else Decision.RELEASED_FINAL
    _end_standing(dose, "superseded", "A new release decision replaces it.")
    disposition = _decide(dose, found, decision, user, password, username, exceptional=exceptional,
                          justification=(justification or "").strip() or None,
                          physician_name=(physician_name or "").strip() or None,
                          physician_acknowledged_on=physician_acknowledged_on if exceptional else None)
    DOSE.move(dose, "released_interim" if decision == Decision.RELEASED_INTERIM else "released")
    announce_release(dose, user)
    return disposition


def release_final(dose: DoseUnit, user, password: str, username: str) -> Disposition:
    """Issue the final certificate once the tests pending at the interim release are in and pass."""
    _locked_dose(dose)
    if (problem := guards.final_problem(dose)):
        raise OutOfSequence(problem)
    found = review(dose)
    _check_releaser(found, user)
    if found.pending:
        raise OutOfSequence("Results are still pending: " + ", ".join(line.criterion.name for line in found.pending))
    _refuse(guards.record_problems(found), "The final certificate cannot be issued:")
    _refuse(guards.failing_problems(found), "The final certificate cannot be issued:")
    _end_standing(dose, "superseded", "The final certificate replaces the interim one.")
    disposition = _decide(dose, found, Decision.RELEASED_FINAL, user, password, username)
    if DOSE.allows(dose, "final_certificate"):
        DOSE.move(dose, "final_certificate")
    announce_release(dose, user)
    return disposition


def reject_dose(dose: DoseUnit, user, password: str, username: str, reason: str) -> Disposition:
    """Reject a unit that is not yet issued; the reason is kept with the signed decision."""
    _locked_dose(dose)
    if (problem := DOSE.refusal(dose, "rejected")):
        raise OutOfSequence(problem)
    if not guards.is_qa(user):
        raise NotPermitted("Only QA releases or rejects dose units.")
    reason = require_reason(db.session, reason, "rejecting the dose unit")
    _end_standing(dose, "withdrawn", f"Rejected: {reason}")
    disposition = _decide(dose, review(dose), Decision.REJECTED, user, password, username, justification=reason)
    DOSE.move(dose, "rejected")
    return disposition


def latest_disposition(dose: DoseUnit) -> Disposition | None:
    query = select(Disposition).where(Disposition.dose_unit_id == dose.id).order_by(Disposition.id.desc())
    return db.session.scalars(query).first()


def has_certificate(dose: DoseUnit) -> bool:
    """The unit's latest decision is a release: its certificate is served (a withdrawn one saying so)."""
    disposition = latest_disposition(dose)
    return disposition is not None and disposition.is_release


def certified(doses: list[DoseUnit]) -> set[int]:
    """The ids of the units that have a certificate (as `has_certificate`), read in one query."""
    ids = [dose.id for dose in doses]
    latest: dict[int, Disposition] = {}
    if ids:
        for disposition in db.session.scalars(select(Disposition).where(Disposition.dose_unit_id.in_(ids))
                                              .order_by(Disposition.id)):
            latest[disposition.dose_unit_id] = disposition
    return {dose_id for dose_id, disposition in latest.items() if disposition.is_release}


def require_certificate(dose: DoseUnit) -> Disposition:
    """The certificate of the unit's latest release (a withdrawn one is served saying so); none after rejection."""
    if not has_certificate(dose):
        raise DomainError(f"Dose unit {dose.division_code} has no certificate: it is not released.")
    return latest_disposition(dose)
