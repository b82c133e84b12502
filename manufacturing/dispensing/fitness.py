"""Fit to give: the one gate a dose unit passes at issue, at the bedside and at the start of administration.

Each rule names what is wrong in the pharmacy's words; an empty list means the unit may be given now.
The pages show the same list before anyone acts.
"""

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import func, select

from manufacturing.core import clock
from manufacturing.dispensing.models import Issue
from manufacturing.extensions import db
from manufacturing.lots.guards import closed_problem
from manufacturing.patients.guards import on_study_problem
from manufacturing.patients.operations import stop_of
from manufacturing.processing.models import DoseState, DoseUnit
from manufacturing.processing.states import GONE_OUT
from manufacturing.quality.models import QcResult
from manufacturing.quality.results import evaluate_result
from manufacturing.release.models import AlertState, Disposition, DispositionState, LabelPrint, LabelVoid, ReleaseAlert
from manufacturing.release.operations import standing_disposition
from manufacturing.specifications.evaluation import Outcome


def release_problem(dose: DoseUnit, standing: Disposition | None) -> str | None:
    """The unit was released and its release still stands."""
    name = f"Dose unit {dose.division_code}"
    if dose.state == DoseState.ON_HOLD:
        return f"{name} is on hold after a failing result: its certificate is withdrawn. Do not give it; QA decides."
    if dose.state == DoseState.QUARANTINE:
        return f"{name} is in quarantine: QA has not released it."
    if dose.state not in GONE_OUT:
        return f"{name} is {dose.state.title.lower()}: it is never given."
    if standing is None or not standing.is_release:
        withdrawn = _withdrawn(dose)
        why = f": {withdrawn.ended_reason}" if withdrawn is not None else ""
        return f"The release of {name.lower()} does not stand{why}."
    return None


def _withdrawn(dose: DoseUnit) -> Disposition | None:
    query = select(Disposition).where(Disposition.dose_unit_id == dose.id,
                                      Disposition.state == DispositionState.WITHDRAWN)
    return db.session.scalars(query.order_by(Disposition.id.desc())).first()


@dataclass(frozen=True)
class ReleaseRun:
    """The unbroken run of releases in force: an interim release completed by a final one counts whole."""

    since: datetime
    disposition_ids: tuple[int, ...]


def release_run(dose: DoseUnit, standing: Disposition) -> ReleaseRun:
    """Walk back from the release in force to the last withdrawal or rejection."""
    query = select(Disposition).where(Disposition.dose_unit_id == dose.id, Disposition.id <= standing.id)
    since, ids = standing.decided_at, []
    for disposition in db.session.scalars(query.order_by(Disposition.id.desc())):
        if disposition.id != standing.id and (disposition.state == DispositionState.WITHDRAWN
                                              or not disposition.is_release):
            break
        since, ids = disposition.decided_at, [*ids, disposition.id]
    return ReleaseRun(since, tuple(ids))


def failing_since_problem(dose: DoseUnit, since: datetime) -> str | None:
    """No result of the lot recorded since the release fails the specification (one harvest: one fate)."""
    query = select(QcResult).where(QcResult.lot_id == dose.lot_id, QcResult.recorded_at >= since)
    for result in db.session.scalars(query.order_by(QcResult.recorded_at)):
        if evaluate_result(result).outcome == Outcome.FAIL:
            return (f"A failing result was recorded after release ({result.test_key}: {result.entered}, "
                    f"{clock.format_local(result.recorded_at)}).")
    return None


def alert_problem(dose: DoseUnit) -> str | None:
    """No post-release alert on the unit is open."""
    query = select(ReleaseAlert).where(ReleaseAlert.dose_unit_id == dose.id, ReleaseAlert.state == AlertState.OPEN)
    alert = db.session.scalars(query.limit(1)).first()
    return f"An alert on this unit is open: {alert.message}" if alert is not None else None


def valid_labels(dose: DoseUnit, run: ReleaseRun) -> list[LabelPrint]:
    """Labels printed for this unit under a release of the run in force, and not voided since."""
    voided = select(LabelVoid.label_print_id)
    query = select(LabelPrint).where(LabelPrint.dose_unit_id == dose.id,
                                     LabelPrint.disposition_id.in_(run.disposition_ids), LabelPrint.id.not_in(voided))
    return list(db.session.scalars(query.order_by(LabelPrint.number)))


def labels_printed(dose: DoseUnit) -> int:
    """How many labels were printed for the unit, quarantine ones included (a reprint needs a reason)."""
    return db.session.scalar(select(func.count(LabelPrint.id)).where(LabelPrint.dose_unit_id == dose.id))


def label_problem(dose: DoseUnit, run: ReleaseRun) -> str | None:
    if valid_labels(dose, run):
        return None
    return (f"No release label printed since the release of dose unit {dose.division_code}: a quarantine label "
            "never goes to the ward. Print the label before issue.")


def expiry_problem(dose: DoseUnit, at: datetime) -> str | None:
    """Within expiry, or within the use-by time once a cryopreserved unit was thawed at issue."""
    issue = db.session.scalar(select(Issue).where(Issue.dose_unit_id == dose.id))
    limit, label = (issue.use_by, "use-by time") if issue is not None else (dose.expiry_at, "expiry time")
    if at >= limit:
        return f"The dose unit is past its {label} ({clock.format_local(limit)})."
    return None


def needs_release_label(dose: DoseUnit) -> bool:
    """The unit's release stands but no release label printed since is in use: print one before issue."""
    standing = standing_disposition(dose)
    if release_problem(dose, standing) is not None:
        return False
    return not valid_labels(dose, release_run(dose, standing))


def subject_problem(dose: DoseUnit, at: datetime) -> str | None:
    """The unit's subject is on study at this moment (read afresh: a stop recorded meanwhile counts)."""
    return on_study_problem(stop_of(dose.lot.subject_id), at)


def unfit_reasons(dose: DoseUnit, at: datetime | None = None) -> list[str]:
    """List every reason the unit may not be given at this moment; empty when it is fit to give."""
    at = at or clock.now()
    reasons = [problem] if (problem := subject_problem(dose, at)) else []
    if (problem := closed_problem(dose.lot, "its units are not given")):
        reasons.append(problem)
    standing = standing_disposition(dose)
    if (problem := release_problem(dose, standing)):
        reasons.append(problem)
    else:
        run = release_run(dose, standing)
        reasons += [p for p in (failing_since_problem(dose, run.since), label_problem(dose, run)) if p]
    reasons += [p for p in (alert_problem(dose), expiry_problem(dose, at)) if p]
    return reasons


def is_fit(dose: DoseUnit, at: datetime | None = None) -> bool:
    return not unfit_reasons(dose, at)
