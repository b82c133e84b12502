"""The infusion plan of a subject, from the study specification: pure, so that it is tested directly.

Each infusion k has its dose level, the cells it needs for the latest body weight and its earliest
date: the previous infusion's date (administered when known, else its order's planned date, else the
previous row's own projection) plus the study's minimum interval. Escalation goes up the schedule by
at most one step per infusion and never above the schedule's level of k nor the maximum per kg.
"""

import math
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import date, timedelta
from typing import Protocol

from manufacturing.calculations import cells_required
from manufacturing.patients.models import OrderStatus
from manufacturing.specifications.model import DoseLevel, StudySpec
from manufacturing.units import Quantity


class Ordered(Protocol):
    """What the plan reads of an infusion order."""

    infusion_number: int
    planned_date: date
    status: OrderStatus
    dose_per_kg: Quantity


@dataclass(frozen=True)
class PlannedInfusion:
    """One row of the plan."""

    infusion: int
    dose_per_kg: Quantity | None
    cells: Quantity | None
    earliest: date | None
    projected: bool
    order: Ordered | None

    @property
    def status(self) -> OrderStatus | None:
        return self.order.status if self.order is not None else None


def active_orders(orders: Iterable[Ordered]) -> dict[int, Ordered]:
    """Return the orders that are not cancelled, by infusion number."""
    return {order.infusion_number: order for order in orders if order.status is not OrderStatus.CANCELLED}


def next_infusion(orders: Iterable[Ordered]) -> int:
    """Return the number of the next infusion to order: orders not cancelled, plus one."""
    return len(active_orders(orders)) + 1


def interval_days(spec: StudySpec) -> int:
    """Return the study's minimum interval in whole days (a part of a day counts as a whole one)."""
    return math.ceil(spec.min_interval.m_as("day"))


def allowed_levels(spec: StudySpec, infusion: int, previous_dose: Quantity | None) -> list[DoseLevel]:
    """Return the schedule levels that may be ordered for an infusion, lowest first.

    At most the schedule's level of this infusion, at most one step above the previous infusion's
    dose (escalation stops at toxicity and resumes by one step only), never above the maximum per kg.
    """
    if infusion > spec.max_infusions or infusion > len(spec.dose_schedule):
        return []
    ceiling = spec.dose_for_infusion(infusion)
    if previous_dose is not None:
        above = [level.dose_per_kg for level in spec.dose_schedule if level.dose_per_kg > previous_dose]
        ceiling = min(ceiling, above[0] if above else previous_dose)
    return [level for level in spec.dose_schedule
            if level.dose_per_kg <= ceiling and level.dose_per_kg <= spec.max_dose_per_kg]


def distinct_levels(levels: Sequence[DoseLevel]) -> list[DoseLevel]:
    """Keep the first level of each dose (a schedule may repeat a dose)."""
    seen: list[Quantity] = []
    kept = []
    for level in levels:
        if not any(level.dose_per_kg == dose for dose in seen):
            seen.append(level.dose_per_kg)
            kept.append(level)
    return kept


def next_levels(spec: StudySpec, orders: Iterable[Ordered]) -> list[DoseLevel]:
    """Return the distinct dose levels that may be ordered for the next infusion."""
    ordered = active_orders(orders)
    previous = ordered.get(len(ordered))
    return distinct_levels(allowed_levels(spec, len(ordered) + 1, previous.dose_per_kg if previous else None))


def earliest_date(spec: StudySpec, previous: date | None, today: date) -> date:
    """Return the earliest date of an infusion: today, or later by the interval after the previous one."""
    if previous is None:
        return today
    return max(today, previous + timedelta(days=interval_days(spec)))


def previous_date(orders: Iterable[Ordered], infusion: int, administered: Mapping[int, date]) -> date | None:
    """Return the date of the infusion before this one: administered if known, else its planned date."""
    if infusion <= 1:
        return None
    if infusion - 1 in administered:
        return administered[infusion - 1]
    order = active_orders(orders).get(infusion - 1)
    return order.planned_date if order is not None else None


def infusion_plan(spec: StudySpec, orders: Iterable[Ordered], latest_weight: Quantity | None, today: date,
                  administered: Mapping[int, date] | None = None) -> list[PlannedInfusion]:
    """Return the plan of every infusion of the study for one subject."""
    administered = administered or {}
    ordered = active_orders(orders)
    rows: list[PlannedInfusion] = []
    last_date, last_dose, last_fixed = None, None, True
    for infusion in range(1, min(spec.max_infusions, len(spec.dose_schedule)) + 1):
        order = ordered.get(infusion)
        earliest = None if last_date is None else last_date + timedelta(days=interval_days(spec))
        if order is None:
            levels = allowed_levels(spec, infusion, last_dose)
            dose = levels[-1].dose_per_kg if levels else None
            earliest = max(today, earliest or today)
        else:
            dose = order.dose_per_kg
        cells = cells_required(dose, latest_weight) if dose is not None and latest_weight is not None else None
        rows.append(PlannedInfusion(infusion, dose, cells, earliest, not last_fixed, order))
        last_fixed = infusion in administered or order is not None
        last_date = administered.get(infusion) or (order.planned_date if order is not None else earliest)
        last_dose = dose
    return rows
