"""Calculated values of each step, computed at once from the entered values (never stored).

One pass over the lot's steps in order carries what later steps need: the apheresis counts for
log depletion, the selected NK for recovery, the cells seeded and the splits for cumulative fold.
"""

from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from threading import Lock

from manufacturing import calculations as calc
from manufacturing.core.errors import DomainError
from manufacturing.processing.entries import collected_at, hours_between
from manufacturing.processing.models import ProcessStep, StepKind
from manufacturing.units import Quantity

LABELS = {
    "tnc": "Total nucleated cells (TNC)",
    "total_viable_cells": "Total viable cells",
    "viable_nk": "Viable NK cells",
    "cd3_cells": "Viable CD3+ cells",
    "time_since_collection": "Time since collection",
    "log_depletion": "T-cell log depletion",
    "nk_recovery": "NK recovery",
    "viable_cells_seeded": "Viable cells seeded",
    "viable_nk_seeded": "Viable NK cells seeded",
    "nk_purity_used": "NK fraction used",
    "cumulative_fold": "Cumulative fold expansion",
    "population_doublings": "Population doublings",
    "doubling_time": "Doubling time",
    "viable_nk_concentration": "Viable NK concentration",
}


@dataclass
class Derived:
    """The calculated values of one step, and what could not be calculated, with why."""

    values: dict[str, Quantity] = field(default_factory=dict)
    problems: list[str] = field(default_factory=list)

    def put(self, key: str, compute: Callable[[], Quantity | None]) -> None:
        try:
            value = compute()
        except (DomainError, TypeError, KeyError, ZeroDivisionError) as error:
            self.problems.append(f"{LABELS.get(key, key)}: {error}")
            return
        if value is not None:
            self.values[key] = value


@dataclass
class _Carry:
    """What one step hands to the next ones."""

    apheresis: dict[str, Quantity] = field(default_factory=dict)
    depleted_nk: Quantity | None = None
    selected: dict[str, Quantity] = field(default_factory=dict)
    seeded_nk: Quantity | None = None
    day0: object = None
    purity: Quantity | None = None
    passages: list[tuple[Quantity, Quantity]] = field(default_factory=list)
    segment_start: Quantity | None = None


def _q(step: ProcessStep, key: str) -> Quantity | None:
    value = step.value(key)
    return value.quantity if value is not None else None


def _fraction_of(cells: Quantity, fraction: Quantity) -> Quantity:
    return calc.viable_nk_cells(cells, fraction) if fraction is not None else None


def _apheresis(step: ProcessStep, carry: _Carry, out: Derived) -> None:
    wbc, volume, viability = _q(step, "wbc_concentration"), _q(step, "volume"), _q(step, "viability")
    out.put("tnc", lambda: calc.tnc(wbc, volume))
    out.put("total_viable_cells", lambda: calc.total_viable_cells(wbc, volume, viability))
    tvc = out.values.get("total_viable_cells")
    out.put("viable_nk", lambda: _fraction_of(tvc, _q(step, "nk_fraction")))
    out.put("cd3_cells", lambda: _fraction_of(tvc, _q(step, "cd3_fraction")))
    collected = collected_at(step)
    out.put("time_since_collection", lambda: hours_between(collected, step.performed_at) if collected else None)
    carry.apheresis = {"volume": volume, **out.values}


def _counts(step: ProcessStep, out: Derived, volume_key: str = "volume") -> None:
    """Total viable cells, viable NK and viable CD3+ of a product from its count and phenotype."""
    out.put("total_viable_cells", lambda: calc.total_viable_cells(
        _q(step, "concentration"), _q(step, volume_key), _q(step, "viability")))
    tvc = out.values.get("total_viable_cells")
    out.put("viable_nk", lambda: _fraction_of(tvc, _q(step, "nk_fraction")))
    out.put("cd3_cells", lambda: _fraction_of(tvc, _q(step, "cd3_fraction")))


def _cd3_depletion(step: ProcessStep, carry: _Carry, out: Derived) -> None:
    _counts(step, out)
    before = carry.apheresis

    def loaded(key: str) -> Quantity:
        """The part of the apheresis product that went into the separation."""
        return before[key] * (_q(step, "volume_loaded") / before["volume"]).to("")

    out.put("log_depletion", lambda: calc.log_depletion(loaded("cd3_cells"), out.values["cd3_cells"]))
    out.put("nk_recovery", lambda: calc.recovery(loaded("viable_nk"), out.values["viable_nk"]))
    carry.depleted_nk = out.values.get("viable_nk")


def _cd56_selection(step: ProcessStep, carry: _Carry, out: Derived) -> None:
    _counts(step, out)
    out.put("nk_recovery", lambda: calc.recovery(carry.depleted_nk, out.values["viable_nk"]))
    carry.selected = dict(out.values)
    carry.purity = _q(step, "nk_fraction")


def _culture_day0(step: ProcessStep, carry: _Carry, out: Derived) -> None:
    density, volume = _q(step, "seeding_density"), _q(step, "culture_volume")
    out.put("viable_cells_seeded", lambda: (density * volume).to("cell"))
    out.put("viable_nk_seeded", lambda: _fraction_of(out.values["viable_cells_seeded"], carry.purity))
    carry.seeded_nk = carry.segment_start = out.values.get("viable_nk_seeded")
    carry.day0, carry.passages = step.performed_at, []


def _growth(step: ProcessStep, carry: _Carry, out: Derived) -> None:
    """Count of a culture day or the harvest: viable NK, cumulative fold through splits, doublings."""
    carry.purity = _q(step, "nk_fraction") or carry.purity
    out.put("total_viable_cells", lambda: calc.total_viable_cells(
        _q(step, "concentration"), _q(step, "volume"), _q(step, "viability")))
    out.put("nk_purity_used", lambda: carry.purity)
    out.put("viable_nk", lambda: _fraction_of(out.values["total_viable_cells"], carry.purity))
    nk = out.values.get("viable_nk")
    if nk is None or carry.segment_start is None:
        return
    passages = [*carry.passages, (carry.segment_start, nk)]
    out.put("cumulative_fold", lambda: calc.cumulative_fold_expansion(passages))
    fold = out.values.get("cumulative_fold")
    out.put("population_doublings", lambda: calc.population_doublings(carry.seeded_nk, carry.seeded_nk * fold))
    elapsed = hours_between(carry.day0, step.performed_at) if carry.day0 else None
    out.put("doubling_time", lambda: calc.doubling_time(carry.seeded_nk, carry.seeded_nk * fold, elapsed))
    removed, volume = _q(step, "volume_removed"), _q(step, "volume")
    if removed is not None and removed.magnitude > 0:
        carry.passages = passages
        carry.segment_start = nk * ((volume - removed) / volume).to("")


def _harvest(step: ProcessStep, carry: _Carry, out: Derived) -> None:
    _growth(step, carry, out)
    out.put("cd3_cells", lambda: _fraction_of(out.values["total_viable_cells"], _q(step, "cd3_fraction")))
    out.put("viable_nk_concentration", lambda: (
        _q(step, "concentration") * _q(step, "viability").to("") * _q(step, "nk_fraction").to("")
    ).to("cell / milliliter"))


DERIVERS = {
    StepKind.APHERESIS_RECEIPT: _apheresis,
    StepKind.CD3_DEPLETION: _cd3_depletion,
    StepKind.CD56_SELECTION: _cd56_selection,
    StepKind.CULTURE_DAY0: _culture_day0,
    StepKind.CULTURE_DAY: _growth,
    StepKind.HARVEST: _harvest,
    StepKind.DOSE_PREPARATION: lambda step, carry, out: None,
}


def _calculate(steps: list[ProcessStep]) -> dict[int, Derived]:
    carry, results = _Carry(), {}
    for step in steps:
        results[step.id] = Derived()
        DERIVERS[step.kind](step, carry, results[step.id])
    return results


def _entries(step: ProcessStep) -> tuple:
    """What the calculations of a step read: its kind, time and entered values (magnitude and unit as stored)."""
    values = tuple((value.key, value.text, None if value.quantity is None else value.quantity.magnitude,
                    None if value.quantity is None else value.quantity.units) for value in step.values)
    return step.id, step.kind, step.performed_at, values


_CALCULATED: dict[tuple, dict[int, Derived]] = {}  # the last lots' calculations, by the entries they read
_CALCULATED_LOTS = 256
_calculated_lock = Lock()


def derive(steps: Iterable[ProcessStep]) -> dict[int, Derived]:
    """Return the calculated values of every step of one lot, by step id.

    The calculations are a function of the entries alone: a page that shows the same entries again reuses them
    (each caller gets its own copy), and any changed entry, time or step calculates them anew.
    """
    ordered = sorted(steps, key=lambda s: (s.performed_at, s.id))
    key = tuple(_entries(step) for step in ordered)
    with _calculated_lock:
        results = _CALCULATED.get(key)
    if results is None:
        results = _calculate(ordered)
        with _calculated_lock:
            if len(_CALCULATED) >= _CALCULATED_LOTS:
                del _CALCULATED[next(iter(_CALCULATED))]
            _CALCULATED[key] = results
    return {step_id: Derived(dict(found.values), list(found.problems)) for step_id, found in results.items()}
