"""Each role's work, read from the records: what is due, what waits for a second person, what is open."""

from dataclasses import dataclass, field

from sqlalchemy import select

from manufacturing.core import clock
from manufacturing.core.permissions import Role
from manufacturing.dispensing import queries as dispensing
from manufacturing.extensions import db
from manufacturing.lots.models import Lot, LotState
from manufacturing.materials.models import MaterialLot, MaterialStatus
from manufacturing.processing.models import ProcessStep, StepKind, StepStatus
from manufacturing.processing.progress import step_title
from manufacturing.processing.rules import culture_day
from manufacturing.quality.models import Deviation, DeviationStatus, QcResult, QcStatus
from manufacturing.release import alerts, queries


@dataclass
class Queue:
    title: str
    items: list = field(default_factory=list)
    kind: str = ""
    empty: str = "Nothing waiting."


def culture_days_due() -> list[tuple[Lot, int]]:
    """Lots in culture without today's count, with the culture day it would be."""
    today = clock.today()
    due = []
    for lot in db.session.scalars(select(Lot).where(Lot.state == LotState.IN_CULTURE).order_by(Lot.lot_number)):
        steps = db.session.scalars(select(ProcessStep).where(ProcessStep.lot_id == lot.id)).all()
        day0 = next((s for s in steps if s.kind == StepKind.CULTURE_DAY0), None)
        counted = {clock.local_date(s.performed_at) for s in steps if s.kind == StepKind.CULTURE_DAY}
        if day0 is not None and today not in counted:
            due.append((lot, culture_day(day0, clock.now())))
    return due


def technician_queues() -> list[Queue]:
    waiting = db.session.scalars(select(ProcessStep).where(ProcessStep.status == StepStatus.PERFORMED)
                                 .order_by(ProcessStep.performed_at)).all()
    results = db.session.scalars(select(QcResult).where(QcResult.status == QcStatus.RECORDED)
                                 .order_by(QcResult.recorded_at)).all()
    return [
        Queue("Culture days due today", culture_days_due(), "culture", "No culture count due."),
        Queue("Steps awaiting verification", [(step, step_title(step)) for step in waiting], "steps"),
        Queue("QC results awaiting verification", results, "results"),
    ]


def qa_queues() -> list[Queue]:
    deviations = db.session.scalars(select(Deviation).where(Deviation.status == DeviationStatus.OPEN)
                                    .order_by(Deviation.opened_at)).all()
    held = db.session.scalars(select(Lot).where(Lot.state == LotState.ON_HOLD)).all()
    quarantined = db.session.scalars(select(MaterialLot).where(MaterialLot.status == MaterialStatus.QUARANTINE)).all()
    return [
        Queue("Post-release alerts", alerts.open_alerts(), "alerts", "No open alert."),
        Queue("Dose units awaiting review", queries.awaiting_release(), "review"),
        Queue("Interim releases awaiting the final certificate", queries.awaiting_final(), "review"),
        Queue("Open deviations", deviations, "deviations", "No open deviation."),
        Queue("Lots on hold", held, "lots", "No lot on hold."),
        Queue("Material lots in quarantine", quarantined, "materials"),
    ]


def pharmacy_queues() -> list[Queue]:
    now = clock.now()
    return [
        Queue("Post-release alerts", alerts.open_alerts(), "alerts", "No open alert."),
        Queue("Released dose units awaiting issue", dispensing.awaiting_issue(now), "waiting"),
        Queue("Issued dose units awaiting the bedside check", dispensing.awaiting_administration(now), "waiting"),
        Queue("Orders without a dose unit", dispensing.orders_without_dose(), "orders",
              "Every open order has a dose unit."),
    ]


def queues_for(user) -> list[tuple[str, list[Queue]]]:
    """The work of each of the user's roles."""
    sections = []
    if user.has_role(Role.TECHNICIAN):
        sections.append((Role.TECHNICIAN.title, technician_queues()))
    if user.has_role(Role.QA):
        sections.append((Role.QA.title, qa_queues()))
    if user.has_role(Role.PHARMACY):
        sections.append((Role.PHARMACY.title, pharmacy_queues()))
    return sections
