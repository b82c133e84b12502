"""The lots list: a page of lots with the figures of each, read in a fixed number of queries."""

from dataclasses import dataclass
from datetime import date, timedelta

from sqlalchemy import Select, case, func, select
from sqlalchemy.orm import joinedload

from manufacturing.core import clock
from manufacturing.core.paging import Page, keyset_page
from manufacturing.extensions import db
from manufacturing.lots.models import Lot, LotState
from manufacturing.patients.models import Subject
from manufacturing.processing import progress
from manufacturing.processing.guards import unverified_clause
from manufacturing.processing.models import ProcessStep, StepKind
from manufacturing.quality.models import Deviation
from manufacturing.quality.states import DEVIATION

ORDER = (Lot.opened_at.desc(), Lot.id.desc())


@dataclass(frozen=True)
class LotRow:
    lot: Lot
    culture_day: int | None
    next_action: str
    open_deviations: int


def filtered(state: str | None = None, subject: str | None = None, opened_from: date | None = None,
             opened_to: date | None = None) -> Select:
    """The lots in a state, of a subject (its ID, any case), opened within local dates (both inclusive)."""
    query = select(Lot).options(joinedload(Lot.subject))
    if state:
        query = query.where(Lot.state == LotState[state])
    if subject:
        query = query.join(Lot.subject).where(Subject.subject_code == subject.strip().upper())  # stored in capitals
    if opened_from:
        query = query.where(Lot.opened_at >= clock.local_midnight(opened_from))
    if opened_to:
        query = query.where(Lot.opened_at < clock.local_midnight(opened_to + timedelta(days=1)))
    return query


def lots_page(query: Select | None = None) -> Page:
    """The page of lots the request asks for (all, or those of a filter), newest first, each with its figures."""
    page = keyset_page(query if query is not None else filtered(), ORDER)
    page.rows = lot_rows(page.rows)
    return page


def _open_deviations(ids: list[int]) -> dict[int, int]:
    query = (select(Deviation.lot_id, func.count()).where(Deviation.lot_id.in_(ids), DEVIATION.allowing("closed"))
             .group_by(Deviation.lot_id))
    return dict(db.session.execute(query).all())


def _culture(ids: list[int]) -> dict[int, tuple]:
    """When each lot's culture started, and whether it was harvested."""
    started = func.min(case((ProcessStep.kind == StepKind.CULTURE_DAY0, ProcessStep.performed_at)))
    harvested = func.count(case((ProcessStep.kind == StepKind.HARVEST, ProcessStep.id)))
    query = select(ProcessStep.lot_id, started, harvested).where(ProcessStep.lot_id.in_(ids))
    return {lot_id: (day0_at, bool(harvests)) for lot_id, day0_at, harvests
            in db.session.execute(query.group_by(ProcessStep.lot_id))}


def _first_unverified(ids: list[int]) -> dict[int, ProcessStep]:
    query = (select(ProcessStep).where(ProcessStep.lot_id.in_(ids), unverified_clause())
             .order_by(ProcessStep.performed_at, ProcessStep.id))
    first: dict[int, ProcessStep] = {}
    for step in db.session.scalars(query):
        first.setdefault(step.lot_id, step)
    return first


def lot_rows(lots: list[Lot]) -> list[LotRow]:
    """Each lot with its culture day, what it waits for and its open deviations."""
    ids = [lot.id for lot in lots]
    if not ids:
        return []
    deviations, culture, waiting = _open_deviations(ids), _culture(ids), _first_unverified(ids)
    rows = []
    for lot in lots:
        day0_at, harvested = culture.get(lot.id, (None, False))
        first = waiting.get(lot.id)
        rows.append(LotRow(lot, progress.culture_day_since(day0_at, harvested),
                           progress.next_action(lot, [first] if first else []), deviations.get(lot.id, 0)))
    return rows
