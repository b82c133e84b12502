"""The dose rules of the specifications: never above a maximum per kg, within a tolerance of the target.

The maxima are the product specification's and every study specification's that applies: the stricter
holds. Ordering, preparing, releasing and issuing a dose ask these rules and word the refusal themselves.
"""

from collections.abc import Iterable

import pint

from manufacturing.specifications.compare import HOLDS
from manufacturing.specifications.model import ProductSpec, StudySpec
from manufacturing.units import lab_unit

_PER_KG, _PERCENT = lab_unit("cells/kg"), lab_unit("%")


def dose_maxima(product: ProductSpec, studies: Iterable[StudySpec]) -> list[pint.Quantity]:
    """Return every maximum dose per kg that applies: the product's, then each study's."""
    return [product.max_dose_per_kg] + [study.max_dose_per_kg for study in studies]


def exceeded_maximum(dose_per_kg: pint.Quantity, maxima: Iterable[pint.Quantity]) -> pint.Quantity | None:
    """Return the strictest maximum the dose per kg is above, or None when it is within every one."""
    exceeded = [top for top in maxima if not HOLDS["<="](dose_per_kg.m_as(_PER_KG), top.m_as(_PER_KG))]
    return min(exceeded, key=lambda top: top.m_as(_PER_KG)) if exceeded else None


def within_tolerance(deviation: pint.Quantity, tolerance: tuple[pint.Quantity, pint.Quantity]) -> bool:
    """Tell whether a dose's deviation from its target (e.g. -20 %) lies within the tolerance (e.g. 80-120 %)."""
    percent = 100 + deviation.m_as(_PERCENT)
    low, high = (limit.m_as(_PERCENT) for limit in tolerance)
    return HOLDS[">="](percent, low) and HOLDS["<="](percent, high)
