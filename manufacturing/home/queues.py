"""Each role's work, read from the records: what is due, what waits for a second person, what is open.

Every queue shows its first rows and how many there are, in a fixed number of queries whatever the number of lots.
"""

from dataclasses import dataclass, field
from datetime import timedelta

from flask import current_app
from sqlalchemy import Select, func, select
from sqlalchemy.orm import joinedload

from manufacturing.accounts.models import AuthSession, User
from manufacturing.core import clock
from manufacturing.core.permissions import Role
from manufacturing.dispensing import queries as dispensing
from manufacturing.extensions import db
from manufacturing.lots.models import Lot, LotState
from manufacturing.materials import guards as materials
from manufacturing.materials.models import Equipment, MaterialLot, MaterialStatus
from manufacturing.processing.models import ProcessStep, StepKind, StepStatus
from manufacturing.processing.progress import step_title
from manufacturing.processing.rules import days_since_day0
from manufacturing.quality.models import Deviation, DeviationStatus, QcResult, QcStatus
from manufacturing.release import alerts, queries


@dataclass
class Queue:
    title: str
    items: list = field(default_factory=list)
    kind: str = ""
    empty: str = "Nothing waiting."
    count: int = 0

    @property
    def more(self) -> int:
        return self.count - len(self.items)

    @property
    def counted_to_the_end(self) -> bool:
        """False when there are more rows than a home page counts (`_count` stops one past the most)."""
        return self.count <= current_app.config["HOME_QUEUE_MOST_COUNTED"]

    @property
    def count_text(self) -> str:
        """The queue's badge: its count, or "99+" past the most a home page counts."""
        return str(self.count) if self.counted_to_the_end else f"{self.count - 1}+"

    @property
    def more_text(self) -> str:
        """How many rows are not shown: exactly, or "at least N" past the most counted."""
        return str(self.more) if self.counted_to_the_end else f"at least {self.more}"


def shown() -> int:
    return current_app.config["HOME_QUEUE_ROWS"]


def _count(query: Select) -> int:
    """How many rows, counted up to one past HOME_QUEUE_MOST_COUNTED: a home page's cost stays the same however
    long a queue grows."""
    most = current_app.config["HOME_QUEUE_MOST_COUNTED"]
    return db.session.scalar(select(func.count()).select_from(query.order_by(None).limit(most + 1).subquery()))


def _queue(title: str, query: Select, kind: str, empty: str = "Nothing waiting.", row=lambda item: item) -> Queue:
    """A queue of the first rows of `query`, with how many rows it has."""
    items = [row(item) for item in db.session.scalars(query.limit(shown())).unique()]
    return Queue(title, items, kind, empty, _count(query))



def culture_days_due_query() -> Select:
    """Lots in culture without a count today, with the moment of their culture day 0, by lot number.

    Read lot by lot in number order (an index on state and number, one on a lot's steps by kind and time), so
    that the first rows cost the same however many lots are in culture.
    """
    today = clock.today()
    start, end = clock.local_midnight(today), clock.local_midnight(today + timedelta(days=1))
    day0_at = (select(func.min(ProcessStep.performed_at))
               .where(ProcessStep.lot_id == Lot.id, ProcessStep.kind == StepKind.CULTURE_DAY0)
               .correlate(Lot).scalar_subquery())
    counted_today = (select(ProcessStep.id)
                     .where(ProcessStep.lot_id == Lot.id, ProcessStep.kind == StepKind.CULTURE_DAY,
                            ProcessStep.performed_at >= start, ProcessStep.performed_at < end)
                     .correlate(Lot).exists())
    return (select(Lot, day0_at.label("day0_at"))
            .where(Lot.state == LotState.IN_CULTURE, day0_at.is_not(None), ~counted_today)
            .options(joinedload(Lot.subject)).order_by(Lot.lot_number))


def culture_days_due() -> Queue:
    """Lots in culture without today's count, with the culture day it would be."""
    query, now = culture_days_due_query(), clock.now()
    rows = db.session.execute(query.limit(shown())).unique().all()
    items = [(lot, days_since_day0(day0_at, now)) for lot, day0_at in rows]
    return Queue("Culture days due today", items, "culture", "No culture count due.", _count(query))


def technician_queues() -> list[Queue]:
    waiting = (select(ProcessStep).where(ProcessStep.status == StepStatus.PERFORMED)
               .options(joinedload(ProcessStep.lot)).order_by(ProcessStep.performed_at, ProcessStep.id))
    results = (select(QcResult).where(QcResult.status == QcStatus.RECORDED).options(joinedload(QcResult.lot))
               .order_by(QcResult.recorded_at, QcResult.id))
    return [
        culture_days_due(),
        _queue("Steps awaiting verification", waiting, "steps", row=lambda step: (step, step_title(step))),
        _queue("QC results awaiting verification", results, "results"),
    ]


def qa_queues() -> list[Queue]:
    deviations = (select(Deviation).where(Deviation.status == DeviationStatus.OPEN)
                  .options(joinedload(Deviation.lot)).order_by(Deviation.opened_at, Deviation.id))
    held = select(Lot).where(Lot.state == LotState.ON_HOLD).order_by(Lot.id)
    quarantined = (select(MaterialLot).where(MaterialLot.status == MaterialStatus.QUARANTINE)
                   .order_by(MaterialLot.id))
    return [
        _queue("Post-release alerts", alerts.open_alerts_query(), "alerts", "No open alert."),
        _queue("Dose units awaiting review", queries.awaiting_release_query(), "review"),
        _queue("Interim releases awaiting the final certificate", queries.awaiting_final_query(), "review"),
        _queue("Open deviations", deviations, "deviations", "No open deviation."),
        _queue("Lots on hold", held, "lots", "No lot on hold."),
        _queue("Material lots in quarantine", quarantined, "materials"),
    ]


def pharmacy_queues() -> list[Queue]:
    now = clock.now()
    return [
        _queue("Post-release alerts", alerts.open_alerts_query(), "alerts", "No open alert."),
        Queue("Released dose units awaiting issue", dispensing.awaiting_issue(now, shown()), "waiting",
              count=_count(dispensing.awaiting_issue_query())),
        Queue("Issued dose units awaiting the bedside check", dispensing.awaiting_administration(now, shown()),
              "waiting", count=_count(dispensing.awaiting_administration_query())),
        _queue("Orders without a dose unit", dispensing.orders_without_dose_query(), "orders",
               "Every open order has a dose unit."),
    ]


def admin_queues() -> list[Queue]:
    """IT administration: accounts that need a hand, people who stopped logging in, calibrations coming due."""
    now, users = clock.now(), select(User).where(User.active.is_(True)).order_by(User.username)
    since = now - timedelta(days=current_app.config["INACTIVE_ACCOUNT_DAYS"])
    logged_in = select(AuthSession.id).where(AuthSession.user_id == User.id, AuthSession.started_at >= since)
    due_by = clock.local_date(now) + timedelta(days=materials.WARNING_DAYS)
    calibrations = (select(Equipment).where(Equipment.active.is_(True), Equipment.calibration_due <= due_by)
                    .order_by(Equipment.calibration_due, Equipment.code))
    return [
        _queue("Locked accounts", users.where(User.locked_at.is_not(None)), "users", "No account is locked."),
        _queue("Accounts waiting for their password to be set or changed",
               users.where(User.must_change_password.is_(True) | User.setup_code_hash.is_not(None)), "users"),
        _queue(f"No login for {current_app.config['INACTIVE_ACCOUNT_DAYS']} days", users.where(~logged_in.exists()),
               "users", "Everyone logged in lately."),
        _queue(f"Equipment calibration due within {materials.WARNING_DAYS} days", calibrations, "equipment",
               "No calibration due."),
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
    if user.has_role(Role.ADMIN):
        sections.append((Role.ADMIN.title, admin_queues()))
    return sections
