"""Read the pharmacy's queues and the dispensing records of one dose unit."""

from dataclasses import dataclass
from datetime import date, datetime

from sqlalchemy import Select, func, select, union_all
from sqlalchemy.orm import aliased, contains_eager, joinedload

from manufacturing.core import clock
from manufacturing.core.audit import AuditEvent
from manufacturing.dispensing.fitness import unfit_reasons
from manufacturing.dispensing.models import Administration, BedsideCheck, Issue
from manufacturing.extensions import db
from manufacturing.lots.models import Lot
from manufacturing.patients.models import InfusionOrder, OrderStatus
from manufacturing.processing.models import DoseState, DoseUnit
from manufacturing.processing.states import RELEASED

MISMATCH = "bedside.mismatch"
# A unit in one of these states will never be given: its order waits for another unit.
GONE = (DoseState.REJECTED, DoseState.DISCARDED, DoseState.RETURNED)


@dataclass(frozen=True)
class Waiting:
    """One row of a queue: the unit, its order (if any), its issue (once issued) and whether it is out of date."""

    dose: DoseUnit
    order: InfusionOrder | None
    issue: Issue | None
    unfit: list[str]
    checked: bool = False

    @property
    def fit(self) -> bool:
        return not self.unfit


@dataclass(frozen=True)
class Mismatch:
    """A refused bedside check, as the audit trail keeps it."""

    occurred_at: datetime
    username: str
    message: str
    event_id: int  # its place in the trail: what came after it is told by the trail's order, never by clock ties




def issue_of(dose: DoseUnit) -> Issue | None:
    return db.session.scalar(select(Issue).where(Issue.dose_unit_id == dose.id))


def checks_of(dose: DoseUnit) -> list[BedsideCheck]:
    query = select(BedsideCheck).where(BedsideCheck.dose_unit_id == dose.id)
    return list(db.session.scalars(query.order_by(BedsideCheck.checked_at, BedsideCheck.id)))


def latest_check(dose: DoseUnit) -> BedsideCheck | None:
    checks = checks_of(dose)
    return checks[-1] if checks else None


def administration_of(dose: DoseUnit) -> Administration | None:
    return db.session.scalar(select(Administration).where(Administration.dose_unit_id == dose.id))


def order_for(dose: DoseUnit) -> InfusionOrder | None:
    """Return the order the unit was made against, else the subject's open order for its infusion."""
    if dose.infusion_order_id is not None:
        return dose.order
    return db.session.scalar(select(InfusionOrder).where(
        InfusionOrder.subject_id == dose.lot.subject_id, InfusionOrder.infusion_number == dose.infusion_number,
        InfusionOrder.status == OrderStatus.OPEN))


WITH_LOT = joinedload(DoseUnit.lot).joinedload(Lot.subject)


ISSUE_ORDER = (DoseUnit.expiry_at, DoseUnit.id)
ADMINISTRATION_ORDER = (Issue.use_by, Issue.id)
ORDERS_ORDER = (InfusionOrder.planned_date, InfusionOrder.id)


def awaiting_issue_query() -> Select:
    """Released units (and held ones) not issued, soonest expiry first."""
    issued = select(Issue.id).where(Issue.dose_unit_id == DoseUnit.id)
    return (select(DoseUnit).where(DoseUnit.state.in_(RELEASED | {DoseState.ON_HOLD}), ~issued.exists())
            .options(WITH_LOT).order_by(*ISSUE_ORDER))


def to_issue(doses, now: datetime) -> list[Waiting]:
    """Units awaiting issue with their order, each with its gate."""
    return [Waiting(dose, order_for(dose), None, unfit_reasons(dose, now)) for dose in doses]


def awaiting_issue(now: datetime, limit: int | None = None) -> list[Waiting]:
    """The units awaiting issue (the first `limit` of them), each with its gate."""
    return to_issue(db.session.scalars(awaiting_issue_query().limit(limit)), now)


def awaiting_administration_query() -> Select:
    """Issued units (and held ones at the ward) with their issue, soonest use-by first."""
    return (select(Issue).join(DoseUnit, Issue.dose_unit_id == DoseUnit.id)
            .where(DoseUnit.state.in_([DoseState.ISSUED, DoseState.ON_HOLD]))
            .options(contains_eager(Issue.dose).joinedload(DoseUnit.lot).joinedload(Lot.subject),
                     joinedload(Issue.order))
            .order_by(*ADMINISTRATION_ORDER))


def to_give(issues, now: datetime) -> list[Waiting]:
    """Issued units waiting for the bedside check, each with its gate and whether it was checked."""
    return [Waiting(issue.dose, issue.order, issue, unfit_reasons(issue.dose, now),
                    latest_check(issue.dose) is not None) for issue in issues]


def awaiting_administration(now: datetime, limit: int | None = None) -> list[Waiting]:
    """The units waiting for the bedside check (the first `limit` of them), each with its gate."""
    return to_give(db.session.scalars(awaiting_administration_query().limit(limit)), now)


def orders_without_dose_query() -> Select:
    """Open orders for which no unit is made, or every unit made was rejected, discarded or returned."""
    live_unit = (select(DoseUnit.id).join(Lot, DoseUnit.lot_id == Lot.id)
                 .where(Lot.subject_id == InfusionOrder.subject_id,
                        DoseUnit.infusion_number == InfusionOrder.infusion_number, DoseUnit.state.not_in(GONE)))
    return (select(InfusionOrder).where(InfusionOrder.status == OrderStatus.OPEN, ~live_unit.exists())
            .options(joinedload(InfusionOrder.subject)).order_by(*ORDERS_ORDER))


def orders_without_dose() -> list[InfusionOrder]:
    return list(db.session.scalars(orders_without_dose_query()))


def mismatches(dose: DoseUnit) -> list[Mismatch]:
    """Return the refused bedside checks of a unit, oldest first."""
    query = select(AuditEvent).where(*_refused_checks_of(dose)).order_by(AuditEvent.id)
    return [Mismatch(event.occurred_at, event.username, event.change_map["message"]["new"], event.id)
            for event in db.session.scalars(query)]


def _refused_checks_of(dose: DoseUnit) -> tuple:
    return AuditEvent.action == MISMATCH, AuditEvent.entity_type == "dose_unit", AuditEvent.entity_id == str(dose.id)


def last_mismatch_event(dose: DoseUnit) -> int | None:
    """The trail's number of the unit's last refused bedside check, if any."""
    return db.session.scalar(select(func.max(AuditEvent.id)).where(*_refused_checks_of(dose)))


def check_event(check: BedsideCheck | None) -> int | None:
    """The trail's number of a bedside check's recording."""
    if check is None:
        return None
    query = select(func.min(AuditEvent.id)).where(AuditEvent.entity_type == BedsideCheck.audit_entity(),
                                                  AuditEvent.entity_id == str(check.id))
    return db.session.scalar(query)


def administered_dates(subject) -> dict[int, date]:
    """Return the site date each infusion of a subject started, by infusion number, from the administrations."""
    query = (select(DoseUnit.infusion_number, Administration.started_at)
             .join(DoseUnit, Administration.dose_unit_id == DoseUnit.id).join(Lot, DoseUnit.lot_id == Lot.id)
             .where(Lot.subject_id == subject.id).order_by(Administration.started_at))
    return {infusion: clock.local_date(started_at) for infusion, started_at in db.session.execute(query)}


def latest_start(subject) -> datetime | None:
    """When the subject's latest recorded infusion started."""
    query = (select(func.max(Administration.started_at)).join(DoseUnit, Administration.dose_unit_id == DoseUnit.id)
             .join(Lot, DoseUnit.lot_id == Lot.id).where(Lot.subject_id == subject.id))
    return db.session.scalar(query)


# The pharmacy's history: every unit issued (then given, returned or held) or discarded, newest unit first. Read
# as two streams in unit order, merged (the issues by their unit, the discarded units by state and id), so that a
# page costs the same however many units were never issued: walking every unit to find the few issued did not.
_ISSUED = select(DoseUnit).join(Issue, Issue.dose_unit_id == DoseUnit.id)
_DISCARDED_UNISSUED = select(DoseUnit).where(DoseUnit.state == DoseState.DISCARDED,
                                             ~select(Issue.id).where(Issue.dose_unit_id == DoseUnit.id).exists())
HISTORY = aliased(DoseUnit, union_all(_ISSUED, _DISCARDED_UNISSUED).subquery("history"), name="history")
HISTORY_ORDER = (HISTORY.id.desc(),)


@dataclass(frozen=True)
class Handed:
    """One row of the history: the unit, its issue and its administration (either may be missing)."""

    dose: DoseUnit
    issue: Issue | None
    administration: Administration | None


def history_query() -> Select:
    """Units issued (whatever became of them since: given, returned, held at the ward) or discarded."""
    return select(HISTORY).options(joinedload(HISTORY.lot).joinedload(Lot.subject)).order_by(*HISTORY_ORDER)


def handed(doses: list[DoseUnit]) -> list[Handed]:
    """The page's units with their issues and administrations, in two queries whatever the page's size."""
    ids = [dose.id for dose in doses]
    issues = {row.dose_unit_id: row for row in db.session.scalars(select(Issue).where(Issue.dose_unit_id.in_(ids)))}
    given = {row.dose_unit_id: row
             for row in db.session.scalars(select(Administration).where(Administration.dose_unit_id.in_(ids)))}
    return [Handed(dose, issues.get(dose.id), given.get(dose.id)) for dose in doses]
