"""Specification model: records of product and study specifications, version in force, change control."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import date
from functools import cached_property
from typing import Any

import pint

from manufacturing.core.errors import DomainError
from manufacturing.units import format_limit

STEPS = ("apheresis", "cd3_depletion", "cd56_selection", "culture_day0", "culture_day", "harvest",
         "dose_preparation")


class SpecError(DomainError):
    """A specification file is invalid or was changed without a new version."""


def _bounds_text(bounds: list[tuple[str, pint.Quantity | None]], plain: bool) -> list[str]:
    """Write the bounds that are set, e.g. [">= 70 %"]."""
    return [f"{sign} {format_limit(limit, plain)}" for sign, limit in bounds if limit is not None]


@dataclass(frozen=True, kw_only=True)
class Criterion:
    """One release test: the sample, the method and what the result must show."""

    key: str
    name: str
    method: str
    sample: str
    # The kinds of dose unit ("fresh", "cryopreserved") that may be released on an interim certificate
    # while this test is pending: a fresh product cannot wait for a culture, a frozen one can.
    pending_at_interim_for: tuple[str, ...] = ()

    @property
    def pending_allowed_at_release(self) -> bool:
        """Whether any kind of unit may be released with this test pending."""
        return bool(self.pending_at_interim_for)

    def may_be_pending(self, dose_kind: str) -> bool:
        return dose_kind.lower() in self.pending_at_interim_for

    def text(self, plain: bool = False) -> str:
        """Write the acceptance criterion for the certificate of analysis."""
        raise NotImplementedError


@dataclass(frozen=True, kw_only=True)
class QualitativeCriterion(Criterion):
    """A test read as words: passes when the result is one of the accepted answers."""

    statement: str
    accept: tuple[str, ...]

    def text(self, plain: bool = False) -> str:
        """Write the acceptance criterion for the certificate of analysis."""
        return self.statement


@dataclass(frozen=True, kw_only=True)
class LimitCriterion(Criterion):
    """A measured test with fixed limits (>= minimum, <= maximum, > greater_than, < less_than)."""

    unit: pint.Unit
    minimum: pint.Quantity | None = None
    maximum: pint.Quantity | None = None
    greater_than: pint.Quantity | None = None
    less_than: pint.Quantity | None = None

    def bounds(self) -> list[tuple[str, pint.Quantity | None]]:
        """Return each bound with its comparison sign; unset bounds are None."""
        return [(">=", self.minimum), ("<=", self.maximum), (">", self.greater_than), ("<", self.less_than)]

    def text(self, plain: bool = False) -> str:
        """Write the acceptance criterion for the certificate of analysis."""
        return " and ".join(_bounds_text(self.bounds(), plain))


@dataclass(frozen=True, kw_only=True)
class DoseCriterion(Criterion):
    """The dose: within a tolerance of the target per kg and never above a maximum per kg."""

    unit: pint.Unit
    tolerance: tuple[pint.Quantity, pint.Quantity]
    max_per_kg: pint.Quantity

    def tolerance_text(self, plain: bool = False) -> str:
        """Write the tolerance as the lab does, e.g. "80-120 %"."""
        low, high = (format_limit(limit, plain) for limit in self.tolerance)
        return f"{low.removesuffix(' %')}-{high}"

    def text(self, plain: bool = False) -> str:
        """Write the acceptance criterion for the certificate of analysis."""
        return (
            f"{self.tolerance_text(plain)} of target per kg, "
            f"never above {format_limit(self.max_per_kg, plain)}"
        )


@dataclass(frozen=True, kw_only=True)
class EndotoxinCriterion(Criterion):
    """Endotoxin: at most K per kg body weight per hour, as a limit in EU/mL for this dose."""

    unit: pint.Unit
    max_per_kg_per_hour: pint.Quantity
    infusion_time: pint.Quantity  # the time a bag is taken to be infused over, for the limit per mL

    def text(self, plain: bool = False) -> str:
        """Write the acceptance criterion for the certificate of analysis."""
        return f"<= {format_limit(self.max_per_kg_per_hour, plain)} (limit per mL from weight and volume)"


@dataclass(frozen=True, kw_only=True)
class Cd3PerKgCriterion(Criterion):
    """CD3+ cells per kg given with the dose, from %CD3+ and %NK results; reported, optional maximum."""

    unit: pint.Unit
    cd3_test: str
    nk_test: str
    maximum: pint.Quantity | None = None

    def text(self, plain: bool = False) -> str:
        """Write the acceptance criterion for the certificate of analysis."""
        return "reported" if self.maximum is None else f"<= {format_limit(self.maximum, plain)}"


@dataclass(frozen=True, kw_only=True)
class InProcessLimit:
    """Alert (amber) and action (red) limits of one in-process value of one step."""

    step: str
    key: str
    name: str
    unit: pint.Unit
    alert_below: pint.Quantity | None = None
    alert_above: pint.Quantity | None = None
    action_below: pint.Quantity | None = None
    action_above: pint.Quantity | None = None

    @cached_property
    def _written(self) -> dict[bool, str]:
        return {}

    def text(self, plain: bool = False) -> str:
        """Write the limits, e.g. "alert < 80 %, action < 70 %" (once per limit: pages show it on every step)."""
        if plain not in self._written:
            self._written[plain] = self._write(plain)
        return self._written[plain]

    def _write(self, plain: bool) -> str:
        alert = _bounds_text([("<", self.alert_below), (">", self.alert_above)], plain)
        action = _bounds_text([("<", self.action_below), (">", self.action_above)], plain)
        parts = [f"alert {' or '.join(alert)}"] if alert else []
        return ", ".join(parts + ([f"action {' or '.join(action)}"] if action else []))


@dataclass(frozen=True, kw_only=True)
class ShelfLife:
    """How long a dose may be kept, and between which temperatures."""

    duration: pint.Quantity
    min_temperature: pint.Quantity
    max_temperature: pint.Quantity

    def text(self, plain: bool = False) -> str:
        """Write the shelf life, e.g. "24 h at 15-25 °C"."""
        low = format_limit(self.min_temperature, plain).removesuffix(" °C").removesuffix(" degC")
        dash = " to " if low.startswith("-") else "-"
        return f"{format_limit(self.duration, plain)} at {low}{dash}{format_limit(self.max_temperature, plain)}"


@dataclass(frozen=True, kw_only=True)
class DoseLevel:
    """The dose of one infusion of the study's escalation schedule."""

    infusion: int
    dose_per_kg: pint.Quantity


@dataclass(frozen=True, kw_only=True)
class SpecHeader:
    """What every specification file carries: identity, version and the hash of its content."""

    id: str
    version: str
    effective: date
    title: str
    kind: str
    content_hash: str
    source: str


@dataclass(frozen=True, kw_only=True)
class ProductSpec(SpecHeader):
    """A product specification: identity, labelling, shelf life, in-process limits, release tests."""

    product_name: str
    isbt128_product_code: str
    division_codes: tuple[str, ...]
    label_statements: tuple[str, ...]
    max_collection_to_processing: pint.Quantity
    fresh_shelf_life: ShelfLife
    thawed_shelf_life: ShelfLife
    cryopreserved_shelf_life: ShelfLife
    in_process: tuple[InProcessLimit, ...]
    release: tuple[Criterion, ...]

    def criterion(self, key: str) -> Criterion:
        """Return the release criterion of a test key."""
        for criterion in self.release:
            if criterion.key == key:
                return criterion
        raise KeyError(key)

    def limits(self, step: str) -> tuple[InProcessLimit, ...]:
        """Return the in-process limits of one step."""
        return tuple(limit for limit in self.in_process if limit.step == step)

    def limit(self, step: str, key: str) -> InProcessLimit:
        """Return one in-process limit."""
        for limit in self.limits(step):
            if limit.key == key:
                return limit
        raise KeyError((step, key))

    @property
    def dose_criterion(self) -> DoseCriterion:
        """Return the dose criterion (a product specification has exactly one)."""
        return next(c for c in self.release if isinstance(c, DoseCriterion))

    @property
    def dose_tolerance(self) -> tuple[pint.Quantity, pint.Quantity]:
        """Return the dose tolerance, as % of target (e.g. 80 %, 120 %)."""
        return self.dose_criterion.tolerance

    @property
    def max_dose_per_kg(self) -> pint.Quantity:
        """Return the highest dose per kg the product may ever deliver."""
        return self.dose_criterion.max_per_kg

    def sampling_plan(self) -> dict[str, tuple[Criterion, ...]]:
        """Return the release tests grouped by the sample they are run on, in file order."""
        plan: dict[str, list[Criterion]] = {}
        for criterion in self.release:
            plan.setdefault(criterion.sample, []).append(criterion)
        return {sample: tuple(tests) for sample, tests in plan.items()}


@dataclass(frozen=True, kw_only=True)
class StudySpec(SpecHeader):
    """A study specification: the trial's dose escalation schedule and its limits."""

    trial_id: str
    product: str
    max_infusions: int
    min_interval: pint.Quantity
    max_dose_per_kg: pint.Quantity
    dose_schedule: tuple[DoseLevel, ...]

    def dose_for_infusion(self, infusion: int) -> pint.Quantity:
        """Return the dose per kg of an infusion number (1 for the first)."""
        for level in self.dose_schedule:
            if level.infusion == infusion:
                return level.dose_per_kg
        raise SpecError(f"{self.trial_id} has no infusion {infusion} (at most {len(self.dose_schedule)})")


Spec = ProductSpec | StudySpec


def in_force(specs: Iterable[Spec] | Mapping[Any, Spec], spec_id: str, on: date) -> Spec:
    """Return the version of a specification in force on a date: the latest effective on or before it."""
    candidates = [s for s in (specs.values() if isinstance(specs, Mapping) else specs)
                  if s.id == spec_id and s.effective <= on]
    if not candidates:
        raise SpecError(f"no specification {spec_id} is in force on {on.isoformat()}")
    return max(candidates, key=lambda s: (s.effective, tuple(int(p) for p in s.version.split("."))))


def check_change_control(spec: Spec, known: Mapping[tuple[str, str], str]) -> None:
    """Refuse a specification whose content changed since its id and version were first seen."""
    seen = known.get((spec.id, spec.version))
    if seen is not None and seen != spec.content_hash:
        raise SpecError(
            f"{spec.source}: {spec.id} version {spec.version}: content changed without a new version "
            f"(known {seen[:12]}, now {spec.content_hash[:12]}); give the change a new version"
        )
