"""The lifecycle test's own oracle: read from the rows, never from the product's gates.

`unfit_reasons` is fit to give (DOMAIN.md section 6), `release_blockers` is when QA may release (section 4),
the rest are whole-database invariants. Whether a QC result fails is read from what the machine entered
(`world.FAILING_ENTRIES`), not from the product's evaluation.
"""

import hashlib
from datetime import datetime

from sqlalchemy import LargeBinary, func, select

from manufacturing.core.audit import AuditChainHead, AuditEvent
from manufacturing.core.checkpoints import AuditCheckpoint
from manufacturing.core.signatures import Meaning, Signature
from manufacturing.dispensing.models import Issue
from manufacturing.extensions import db
from manufacturing.lots.models import LotState
from manufacturing.patients.models import StudyStop
from manufacturing.processing.checks import lot_spec
from manufacturing.processing.models import DoseKind, DoseState, DoseUnit, ProcessStep, StepStatus
from manufacturing.quality.models import Deviation, DeviationStatus, QcResult, QcStatus
from manufacturing.quality.results import is_computed
from manufacturing.release.models import Decision, Disposition, LabelPrint, ReleaseAlert
from tests.invariants.world import FAILING_ENTRIES, TESTS, sample_of

# Reasons a unit is unfit to give, as the oracle names them.
NOT_RELEASED = "not released (or its latest disposition is a rejection)"
FROZEN_INTERIM = "cryopreserved unit standing on an interim release (frozen units are released on final results only)"
FAILING_SINCE = "a failing QC result of the unit (or lot-wide) was recorded after its release"
SIBLING_FAILING = "a failing QC result of another unit of the lot after its release, and QA has not lifted a hold since"
OPEN_ALERT = "an open post-release alert"
NO_LABEL = "no label printed after release"
EXPIRED = "past its expiry time"
USE_BY = "past its use-by time (thawed at issue)"
ON_HOLD = "its lot is on hold or cancelled"
OFF_STUDY = "its subject was taken off study before this act"
STOPPED = "a bedside check found another bag or wristband after the last matched check"


def dispositions_of(dose: DoseUnit) -> list[Disposition]:
    query = select(Disposition).where(Disposition.dose_unit_id == dose.id).order_by(Disposition.id)
    return list(db.session.scalars(query))


def is_failing(result: QcResult) -> bool:
    return result.entered in FAILING_ENTRIES


def lot_results(lot_id: int) -> list[QcResult]:
    query = select(QcResult).where(QcResult.lot_id == lot_id).order_by(QcResult.tested_at, QcResult.id)
    return list(db.session.scalars(query))


def _hold_lifted_after(lot_id: int, moment: datetime) -> bool:
    query = select(AuditEvent.id).where(AuditEvent.action == "lot.hold_lifted", AuditEvent.entity_id == str(lot_id),
                                        AuditEvent.occurred_at > moment)
    return db.session.scalar(query.limit(1)) is not None


def _release_reasons(dose: DoseUnit) -> list[str]:
    """Released, still standing, nothing failing since, a release label: read from the unit's rows."""
    history = dispositions_of(dose)
    if not history or history[-1].decision == Decision.REJECTED:
        return [NOT_RELEASED]
    latest, reasons = history[-1], []
    if dose.kind == DoseKind.CRYOPRESERVED and latest.decision == Decision.RELEASED_INTERIM:
        reasons.append(FROZEN_INTERIM)
    since = latest.decided_at
    for result in lot_results(dose.lot_id):
        if not is_failing(result) or result.recorded_at <= since:
            continue
        if result.dose_unit_id in (None, dose.id):
            reasons.append(FAILING_SINCE)
        elif not _hold_lifted_after(dose.lot_id, result.recorded_at):
            reasons.append(SIBLING_FAILING)
    # The label counts if printed after the first release since the last rejection (not in quarantine).
    first_release = history[max((n + 1 for n, d in enumerate(history) if d.decision == Decision.REJECTED), default=0)]
    labelled = select(LabelPrint.id).where(LabelPrint.dose_unit_id == dose.id,
                                           LabelPrint.printed_at > first_release.decided_at)
    if db.session.scalar(labelled.limit(1)) is None:
        reasons.append(NO_LABEL)
    return reasons


def unfit_reasons(dose: DoseUnit, at: datetime, act: str) -> list[str]:
    """Why a unit is not fit to give at `at`, for an act ("issue", "bedside check", "administration")."""
    reasons = _release_reasons(dose)
    alerts = select(ReleaseAlert.id).where(ReleaseAlert.dose_unit_id == dose.id, ReleaseAlert.informed_at.is_(None))
    if db.session.scalar(alerts.limit(1)) is not None:
        reasons.append(OPEN_ALERT)
    if at >= dose.expiry_at:
        reasons.append(EXPIRED)
    if act != "issue":
        issue = db.session.scalar(select(Issue).where(Issue.dose_unit_id == dose.id))
        if issue is not None and at >= issue.use_by:
            reasons.append(USE_BY)
    if dose.lot.state in (LotState.ON_HOLD, LotState.CANCELLED):
        reasons.append(ON_HOLD)
    stop = db.session.scalar(select(StudyStop).where(StudyStop.subject_id == dose.lot.subject_id))
    if stop is not None and at >= stop.recorded_at:  # an infusion started before the stop may still be recorded
        reasons.append(OFF_STUDY)
    return list(dict.fromkeys(reasons))


def latest_results(dose: DoseUnit) -> dict[str, QcResult | None]:
    """The latest result of each release test on the unit's sample (its own, or the lot's)."""
    latest: dict[str, QcResult | None] = dict.fromkeys(TESTS)
    for result in lot_results(dose.lot_id):
        sample = sample_of(result.test_key, dose)
        if result.test_key in latest and result.dose_unit_id == (sample.id if sample else None):
            latest[result.test_key] = result
    return latest


FINAL_FROM = frozenset({DoseState.RELEASED_INTERIM, DoseState.ISSUED, DoseState.ADMINISTERED})


def release_blockers(dose: DoseUnit, final: bool, exceptional: bool) -> list[str]:
    """What stands between the unit and a release (interim/final, or exceptional past failing results)."""
    lot, blockers = dose.lot, []
    allowed = FINAL_FROM if final else {DoseState.QUARANTINE}
    if dose.state not in allowed:
        blockers.append(f"unit is {dose.state.name}")
    if final and (not dispositions_of(dose) or dispositions_of(dose)[-1].decision != Decision.RELEASED_INTERIM):
        blockers.append("no interim release to complete")
    if lot.state != LotState.DOSES_PREPARED:
        blockers.append(f"lot is {lot.state.name}")
    steps = db.session.scalars(select(ProcessStep).where(ProcessStep.lot_id == lot.id))
    blockers += [f"{step.kind.name} not verified" for step in steps if step.status != StepStatus.VERIFIED]
    for deviation in db.session.scalars(select(Deviation).where(Deviation.lot_id == lot.id)):
        if deviation.status != DeviationStatus.CLOSED and deviation.affects_product is not False:
            blockers.append(f"deviation {deviation.number} open")
        elif deviation.affects_product and not exceptional:
            blockers.append(f"deviation {deviation.number} affects the product")
    for test, result in latest_results(dose).items():
        if result is None:
            if final or test != "sterility" or dose.kind != DoseKind.FRESH:
                blockers.append(f"{test} has no result")
            continue
        if any(r.status != QcStatus.VERIFIED for r in lot_results(lot.id)
               if r.test_key == test and r.dose_unit_id == result.dose_unit_id):
            blockers.append(f"{test} has an unverified result")
        if is_failing(result) and (final or not exceptional):
            blockers.append(f"{test} fails ({result.entered})")
    return blockers


def duplicate_signatures() -> list[str]:
    """At most one signature per meaning per record version; a bedside check has two, by two people."""
    columns = (Signature.entity_type, Signature.entity_id, Signature.meaning, Signature.content_hash)
    query = select(*columns, func.count(), func.count(func.distinct(Signature.signer_id))).group_by(*columns)
    problems = []
    for entity, entity_id, meaning, _, count, signers in db.session.execute(query.having(func.count() > 1)):
        if entity == "bedside_check" and count == 2 and signers == 2:
            continue
        problems.append(f"{entity} {entity_id}: {count} {meaning.name} signatures ({signers} signers) on one version")
    return problems


def _shown(entry: str) -> str:
    return entry.split(" [", 1)[0].strip()


def _history(line: dict) -> list[str]:
    """Every result of a test as the batch record shows it, oldest first (none while pending)."""
    if line["history"]:
        return [_shown(entry) for entry in line["history"].split(" → ")]
    return [] if line["result"] == "pending" else [line["result"]]


def certificate_disagreements(dose: DoseUnit, disposition: Disposition, certificate,
                              qc_section: list[dict]) -> list[str]:
    """Each result the certificate prints is the one the batch record shows as latest at the release."""
    lines = next((unit["lines"] for unit in qc_section if unit["unit"] == dose.division_code), None)
    if lines is None:
        return [f"the batch record has no QC section for unit {dose.division_code}"]
    recorded = {line["test"]: _history(line) for line in lines}
    spec = lot_spec(dose.lot)
    computed = {criterion.name for criterion in spec.release if is_computed(criterion)}
    keys = {criterion.name: criterion.key for criterion in spec.release}
    problems = []
    for line in certificate.lines:
        if line.test in computed:
            continue
        if line.test not in recorded:
            problems.append(f"{line.test}: on the certificate, not in the batch record")
            continue
        sample = sample_of(keys[line.test], dose)
        count = sum(1 for r in lot_results(dose.lot_id) if r.test_key == keys[line.test]
                    and r.dose_unit_id == (sample.id if sample else None) and r.recorded_at <= disposition.decided_at)
        expected = recorded[line.test][count - 1] if 0 < count <= len(recorded[line.test]) else "pending"
        if line.result != expected:
            problems.append(f"{line.test}: certificate of disposition {disposition.id} says {line.result!r}, "
                            f"the batch record's result at that release is {expected!r} "
                            f"(history {recorded[line.test]})")
    return problems


def data_digest() -> str:
    """A digest of every table but the audit trail and its checkpoints (a refused act leaves at most audit events
    behind, and they may make a checkpoint due).

    Raw SQL, so that values are compared as stored; binary contents are compared by their SHA-256 column.
    """
    digest, connection = hashlib.sha256(), db.session.connection()
    for table in db.metadata.sorted_tables:
        if table.name in (AuditEvent.__tablename__, AuditChainHead.__tablename__, AuditCheckpoint.__tablename__):
            continue
        columns = ", ".join(f'"{c.name}"' for c in table.columns if not isinstance(c.type, LargeBinary))
        keys = ", ".join(f'"{c.name}"' for c in table.primary_key.columns)
        rows = connection.exec_driver_sql(f'SELECT {columns} FROM "{table.name}" ORDER BY {keys}').all()
        digest.update(repr((table.name, rows)).encode())
    return digest.hexdigest()


def lot_has_failing(lot_id: int) -> bool:
    return any(is_failing(r) for r in lot_results(lot_id))


def lot_has_correction(lot_id: int) -> bool:
    """A step signed as performed more than once: corrected after signing."""
    steps = [str(step_id) for step_id in db.session.scalars(select(ProcessStep.id).where(ProcessStep.lot_id == lot_id))]
    query = select(Signature.entity_id).where(Signature.entity_type == "step", Signature.meaning == Meaning.PERFORMED,
                                              Signature.entity_id.in_(steps))
    query = query.group_by(Signature.entity_id).having(func.count() > 1)
    return db.session.scalar(query.limit(1)) is not None

