"""Process calculations over quantities: cell numbers, recovery, expansion, dose, endotoxin limit.

Each function checks the kind of each argument and answers in the unit the lab reports.
Choices: log depletion refuses a zero residual (report "> x log" from the detection limit
upstream); population doublings may be negative (a loss of cells), but a doubling time needs
growth; the endotoxin limit uses the volume infused in the worst hour, so an infusion shorter
than one hour counts its whole volume (USP <85>: K / M, M the dose per kg in one hour).
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import pint

from manufacturing.core.errors import DomainError
from manufacturing.units import Q_, dimension_name, format_quantity, lab_unit, magnitude_in, same_dimension, unit_label

CELLS = lab_unit("cells")
PER_ML = lab_unit("cells/mL")
PER_KG = lab_unit("cells/kg")
ML = lab_unit("mL")
KG = lab_unit("kg")
HOURS = lab_unit("h")
PERCENT = lab_unit("%")
LOG = lab_unit("log")
NUMBER = lab_unit("dimensionless")
EU_PER_ML = lab_unit("EU/mL")
EU_PER_KG_HOUR = lab_unit("EU/kg/h")
ENDOTOXIN_THRESHOLD = Q_(5.0, EU_PER_KG_HOUR)  # USP <85>, parenteral, non-intrathecal


class CalculationError(DomainError):
    """A calculation got an input of the wrong kind or a value it cannot use."""


def _shown(value: object) -> str:
    """Show an argument in an error message."""
    return format_quantity(value) if isinstance(value, pint.Quantity) else repr(value)


def _in_unit(value: object, unit: pint.Unit) -> float | None:
    """Return a quantity's magnitude in the unit (read as is when already in it), None for another kind."""
    if not isinstance(value, pint.Quantity) or not (value.units == unit or same_dimension(value, unit)):
        return None
    return magnitude_in(value, unit)


def _magnitude(value: object, unit: pint.Unit, name: str) -> float:
    """Return the value in the given unit, refusing a wrong kind or a negative amount."""
    magnitude = _in_unit(value, unit)
    if magnitude is None:
        got = _shown(value) + (f" ({dimension_name(value)})" if isinstance(value, pint.Quantity) else "")
        raise CalculationError(f"{name} must be {dimension_name(unit)} ({unit_label(unit)}), got {got}")
    if not math.isfinite(magnitude) or magnitude < 0:
        raise CalculationError(f"{name} cannot be negative or infinite: {_shown(value)}")
    return magnitude


def _positive(value: object, unit: pint.Unit, name: str, why: str) -> float:
    """Return the value in the given unit, refusing zero with the reason given."""
    magnitude = _magnitude(value, unit, name)
    if magnitude == 0:
        raise CalculationError(f"{name} is zero: {why}")
    return magnitude


def _fraction(value: object, name: str) -> float:
    """Return a fraction between 0 and 1 given as a percentage (96 %) or a plain number (0.96)."""
    if isinstance(value, int | float) and not isinstance(value, bool):
        value = Q_(float(value), NUMBER)
    if not isinstance(value, pint.Quantity) or not (
        same_dimension(value, PERCENT) or same_dimension(value, NUMBER)
    ):
        raise CalculationError(f"{name} must be a percentage (%) or a fraction, got {_shown(value)}")
    fraction = float(value.m_as(NUMBER))
    if not 0 <= fraction <= 1:
        raise CalculationError(f"{name} must lie between 0 and 100 %, got {_shown(value)}")
    return fraction


def tnc(wbc_concentration: pint.Quantity, volume: pint.Quantity) -> pint.Quantity:
    """Return total nucleated cells: WBC concentration x volume (no viability correction)."""
    wbc = _magnitude(wbc_concentration, PER_ML, "WBC concentration")
    return Q_(wbc * _magnitude(volume, ML, "volume"), CELLS)


def total_viable_cells(
    concentration: pint.Quantity, volume: pint.Quantity, viability: pint.Quantity
) -> pint.Quantity:
    """Return total viable cells: concentration x volume x viability."""
    cells = _magnitude(concentration, PER_ML, "concentration") * _magnitude(volume, ML, "volume")
    return Q_(cells * _fraction(viability, "viability"), CELLS)


def viable_nk_cells(total_viable: pint.Quantity, nk_fraction: pint.Quantity) -> pint.Quantity:
    """Return viable NK cells: total viable cells x fraction CD56+CD3-."""
    cells = _magnitude(total_viable, CELLS, "total viable cells")
    return Q_(cells * _fraction(nk_fraction, "NK fraction"), CELLS)


def recovery(before: pint.Quantity, after: pint.Quantity) -> pint.Quantity:
    """Return the recovery of a step in %: target cells after / target cells before x 100."""
    start = _positive(before, CELLS, "cells before the step", "recovery cannot be calculated")
    return Q_(_magnitude(after, CELLS, "cells after the step") / start * 100, PERCENT)


def log_depletion(before: pint.Quantity, after: pint.Quantity) -> pint.Quantity:
    """Return the log10 depletion: log10(cells before / cells after)."""
    start = _positive(before, CELLS, "cells before depletion", "log depletion cannot be calculated")
    residual = _positive(
        after, CELLS, "residual cells after depletion",
        'a log of zero cannot be calculated; report "> x log" from the detection limit',
    )
    return Q_(math.log10(start / residual), LOG)


def fold_expansion(seeded: pint.Quantity, harvested: pint.Quantity) -> pint.Quantity:
    """Return the fold expansion: cells harvested / cells seeded."""
    start = _positive(seeded, CELLS, "cells seeded", "fold expansion cannot be calculated")
    return Q_(_magnitude(harvested, CELLS, "cells harvested") / start, NUMBER)


def cumulative_fold_expansion(
    passages: Sequence[tuple[pint.Quantity, pint.Quantity]],
) -> pint.Quantity:
    """Return the cumulative fold expansion: the product of each passage's (seeded, harvested) fold."""
    if not passages:
        raise CalculationError("cumulative fold expansion needs at least one passage (seeded, harvested)")
    fold = 1.0
    for seeded, harvested in passages:
        fold *= fold_expansion(seeded, harvested).m_as(NUMBER)
    return Q_(fold, NUMBER)


def population_doublings(initial: pint.Quantity, final: pint.Quantity) -> pint.Quantity:
    """Return population doublings log2(final / initial); negative when cells were lost."""
    start = _positive(initial, CELLS, "initial cells", "population doublings cannot be calculated")
    end = _positive(final, CELLS, "final cells", "population doublings cannot be calculated")
    return Q_(math.log2(end / start), NUMBER)


def doubling_time(initial: pint.Quantity, final: pint.Quantity, elapsed: pint.Quantity) -> pint.Quantity:
    """Return the doubling time in hours: elapsed time / population doublings."""
    hours = _positive(elapsed, HOURS, "elapsed time", "doubling time cannot be calculated")
    doublings = population_doublings(initial, final).m_as(NUMBER)
    if doublings <= 0:
        raise CalculationError(
            f"the cells did not grow ({_shown(initial)} to {_shown(final)}): doubling time is undefined"
        )
    return Q_(hours / doublings, HOURS)


def cells_required(dose_per_kg: pint.Quantity, body_weight: pint.Quantity) -> pint.Quantity:
    """Return the cells required for a dose: dose per kg x body weight."""
    weight = _positive(body_weight, KG, "body weight", "a dose cannot be calculated")
    return Q_(_magnitude(dose_per_kg, PER_KG, "dose per kg") * weight, CELLS)


def dose_per_kg(cells: pint.Quantity, body_weight: pint.Quantity) -> pint.Quantity:
    """Return the dose per kg a bag gives: cells / body weight."""
    weight = _positive(body_weight, KG, "body weight", "a dose per kg cannot be calculated")
    return Q_(_magnitude(cells, CELLS, "cells") / weight, PER_KG)


def dose_volume(
    dose_per_kg: pint.Quantity, body_weight: pint.Quantity, concentration: pint.Quantity
) -> pint.Quantity:
    """Return the volume to draw in mL: cells required / viable NK concentration."""
    cells = cells_required(dose_per_kg, body_weight).m_as(CELLS)
    per_ml = _positive(concentration, PER_ML, "viable NK concentration", "no dose volume can be drawn")
    return Q_(cells / per_ml, ML)


def cd3_cells_per_kg(
    nk_dose_per_kg: pint.Quantity, cd3_fraction: pint.Quantity, nk_fraction: pint.Quantity
) -> pint.Quantity:
    """Return CD3+ cells per kg given with the dose: NK dose per kg x (%CD3+ / %CD56+CD3-)."""
    dose = _magnitude(nk_dose_per_kg, PER_KG, "NK dose per kg")
    nk = _fraction(nk_fraction, "NK fraction")
    if nk == 0:
        raise CalculationError("NK fraction is zero: CD3+ cells per kg cannot be calculated")
    return Q_(dose * _fraction(cd3_fraction, "CD3+ fraction") / nk, PER_KG)


def endotoxin_limit(
    body_weight: pint.Quantity,
    infused_volume: pint.Quantity,
    infusion_time: pint.Quantity,
    threshold: pint.Quantity = ENDOTOXIN_THRESHOLD,
) -> pint.Quantity:
    """Return the endotoxin limit in EU/mL: K x body weight / volume infused in the worst hour."""
    k = _positive(threshold, EU_PER_KG_HOUR, "endotoxin threshold K", "no endotoxin limit can be set")
    weight = _positive(body_weight, KG, "body weight", "no endotoxin limit can be set")
    volume = _positive(infused_volume, ML, "infused volume", "no endotoxin limit can be set")
    hours = _positive(infusion_time, HOURS, "infusion time", "no endotoxin limit can be set")
    millilitres_per_hour = volume / max(hours, 1.0)
    return Q_(k * weight / millilitres_per_hour, EU_PER_ML)


def dose_deviation(delivered: pint.Quantity, target: pint.Quantity) -> pint.Quantity:
    """Return the dose deviation in %: (delivered - target) / target x 100."""
    unit = PER_KG if isinstance(target, pint.Quantity) and same_dimension(target, PER_KG) else CELLS
    aim = _positive(target, unit, "target dose", "no deviation can be calculated")
    return Q_((_magnitude(delivered, unit, "delivered dose") - aim) / aim * 100, PERCENT)
