"""Specification files: load and validate specs/*.toml (model and evaluation re-exported here)."""

from __future__ import annotations

import hashlib
import re
import tomllib
from datetime import date, datetime
from pathlib import Path
from typing import Any

import pint

from manufacturing.core.plausible import FILE_NAME as PLAUSIBLE_FILE_NAME
from manufacturing.specifications.evaluation import (  # noqa: F401 - re-exported: one place to import from
    DoseContext,
    Evaluation,
    EvaluationError,
    Outcome,
    blocking,
    evaluate,
    evaluate_limit,
    evaluate_release,
)
from manufacturing.specifications.model import (  # noqa: F401 - re-exported
    STEPS,
    Cd3PerKgCriterion,
    Criterion,
    DoseCriterion,
    DoseLevel,
    EndotoxinCriterion,
    InProcessLimit,
    LimitCriterion,
    ProductSpec,
    QualitativeCriterion,
    ShelfLife,
    Spec,
    SpecError,
    StudySpec,
    check_change_control,
    in_force,
)
from manufacturing.units import QuantityError, dimension_name, lab_unit, parse_quantity, same_dimension


def _subject(name: str) -> str:
    """Name a test inside a sentence: "Viability" -> "viability", "NK purity" stays."""
    return name[:1].lower() + name[1:] if name[1:2].islower() else name


class _Table:
    """A TOML table being read: knows its key path and refuses keys nobody asked for."""

    def __init__(self, data: object, path: str, source: str):
        if not isinstance(data, dict):
            raise SpecError(f"{source}: {path}: must be a table")
        self.data, self.path, self.source, self.seen = data, path, source, set()

    def error(self, key: str, message: str) -> SpecError:
        """Return an error naming the file and the key path."""
        return SpecError(f"{self.source}: {self.path + '.' if self.path else ''}{key}: {message}")

    def take(self, key: str, kind: type, required: bool = True) -> Any:
        """Return a value of the given TOML type, or None when it is optional and absent."""
        self.seen.add(key)
        if key not in self.data:
            if required:
                raise self.error(key, "missing")
            return None
        value = self.data[key]
        if not _is(value, kind):
            raise self.error(key, f"{value!r} is not {_KIND_NAMES.get(kind, 'valid')}")
        return value

    def text(self, key: str, required: bool = True, pattern: str | None = None) -> str | None:
        """Return a non-empty text, optionally matching a pattern."""
        value = self.take(key, str, required)
        if value is not None and (not value.strip() or (pattern and not re.fullmatch(pattern, value))):
            raise self.error(key, f"{value!r} is not valid" + (f" (expected {pattern})" if pattern else ""))
        return value

    def texts(self, key: str, pattern: str = r".*\S.*") -> tuple[str, ...]:
        """Return a non-empty list of distinct texts."""
        values = self.take(key, list)
        if not values or len(set(values)) != len(values):
            raise self.error(key, "must be a non-empty list without repeats")
        if not all(isinstance(v, str) and re.fullmatch(pattern, v) for v in values):
            raise self.error(key, f"every entry must be a text matching {pattern}")
        return tuple(values)

    def unit(self, key: str = "unit") -> pint.Unit:
        """Return a lab unit."""
        try:
            return lab_unit(self.text(key))
        except QuantityError as exc:
            raise self.error(key, exc.message) from None

    def quantity(self, key: str, unit: pint.Unit, subject: str,
                 required: bool = False) -> pint.Quantity | None:
        """Return a quantity written as text ("70 %") that must be of the same kind as unit."""
        text = self.text(key, required)
        if text is None:
            return None
        try:
            value = parse_quantity(text)
        except QuantityError as exc:
            raise self.error(key, exc.message) from None
        if not same_dimension(value, unit):
            kind, wanted = dimension_name(value), dimension_name(unit)
            raise self.error(key, f"{text!r} is {kind}, but {subject} is {wanted}")
        return value

    def table(self, key: str) -> _Table:
        """Return a sub-table."""
        return _Table(self.take(key, dict), f"{self.path + '.' if self.path else ''}{key}", self.source)

    def tables(self) -> list[tuple[str, _Table]]:
        """Return every entry of this table as a sub-table, in file order."""
        return [(key, self.table(key)) for key in self.data]

    def done(self) -> None:
        """Refuse any key that was not read."""
        for key in self.data:
            if key not in self.seen:
                raise self.error(key, "unknown key")


_KIND_NAMES = {str: "a text", bool: "true or false", int: "a whole number", list: "a list",
               dict: "a table", date: "a date (e.g. 2025-01-15)"}


def _is(value: object, kind: type) -> bool:
    """Tell whether a TOML value has the type asked for (true is no number, a date-time no date)."""
    if kind is int:
        return isinstance(value, int) and not isinstance(value, bool)
    if kind is date:
        return isinstance(value, date) and not isinstance(value, datetime)
    return isinstance(value, kind)
_HOURS, _CELSIUS, _DAYS = lab_unit("h"), lab_unit("°C"), lab_unit("d")
_PERCENT, _PER_KG = lab_unit("%"), lab_unit("cells/kg")


def _common(key: str, table: _Table) -> dict[str, Any]:
    """Read what every release criterion has: name, method, sample, pending allowed."""
    common = {field: table.text(field) for field in ("name", "method", "sample")}
    return {"key": key, **common, "pending_at_interim_for": _pending_kinds(table)}


DOSE_KINDS = ("fresh", "cryopreserved")


def _pending_kinds(table: _Table) -> tuple[str, ...]:
    """Read which kinds of unit may be released with the test pending.

    `pending_allowed_at_release = true`, the older form, always meant the fresh product's interim certificate.
    """
    kinds = table.texts("pending_at_interim_release") if "pending_at_interim_release" in table.data else ()
    if table.take("pending_allowed_at_release", bool, required=False):
        kinds = (*kinds, "fresh")
    unknown = [kind for kind in kinds if kind not in DOSE_KINDS]
    if unknown:
        raise table.error("pending_at_interim_release", f"{unknown[0]!r} is not a kind of dose unit "
                          f"({' or '.join(DOSE_KINDS)})")
    return tuple(dict.fromkeys(kinds))


def _read_qualitative(table: _Table, common: dict) -> Criterion:
    return QualitativeCriterion(**common, statement=table.text("criterion"), accept=table.texts("accept"))


def _read_limits(table: _Table, common: dict) -> Criterion:
    unit, subject = table.unit(), _subject(common["name"])
    bounds = {field: table.quantity(key, unit, subject) for key, field in (
        ("min", "minimum"), ("max", "maximum"), ("greater_than", "greater_than"), ("less_than", "less_than"))}
    if all(bound is None for bound in bounds.values()):
        raise table.error("min", "a limit test needs at least one of min, max, greater_than, less_than")
    low, high = bounds["minimum"], bounds["maximum"]
    if low is not None and high is not None and low > high:
        raise table.error("min", "is above max")
    return LimitCriterion(**common, unit=unit, **bounds)


def _read_dose(table: _Table, common: dict) -> Criterion:
    unit = table.unit()
    if not same_dimension(unit, _PER_KG):
        raise table.error("unit", f"the dose is {dimension_name(_PER_KG)}, not {dimension_name(unit)}")
    low, high = _tolerance(table)
    if not low.m_as(_PERCENT) <= 100 <= high.m_as(_PERCENT):
        raise table.error("tolerance", "must run from at most 100 % to at least 100 % of target")
    top = table.quantity("max_per_kg", _PER_KG, "the maximum dose", required=True)
    return DoseCriterion(**common, unit=unit, tolerance=(low, high), max_per_kg=top)


def _tolerance(table: _Table) -> list[pint.Quantity]:
    """Read the dose tolerance, two percentages such as ["80 %", "120 %"]."""
    values = table.take("tolerance", list)
    if len(values) != 2 or not all(isinstance(v, str) for v in values):
        raise table.error("tolerance", 'must be two texts, e.g. ["80 %", "120 %"]')
    readers = [_Table({"tolerance": text}, table.path, table.source) for text in values]
    return [reader.quantity("tolerance", _PERCENT, "the dose tolerance", True) for reader in readers]


def _read_endotoxin(table: _Table, common: dict) -> Criterion:
    unit = table.unit()
    k = table.quantity("max_per_kg_per_hour", lab_unit("EU/kg/h"), "the endotoxin threshold", required=True)
    infusion_time = table.quantity("infusion_time", _HOURS, "the infusion time", required=True)
    if not same_dimension(unit, "EU/mL"):
        raise table.error("unit", f"endotoxin results are {dimension_name('EU/mL')}")
    return EndotoxinCriterion(**common, unit=unit, max_per_kg_per_hour=k, infusion_time=infusion_time)


def _read_cd3_per_kg(table: _Table, common: dict) -> Criterion:
    unit = table.unit()
    if not same_dimension(unit, _PER_KG):
        raise table.error("unit", f"CD3+ cells per kg is {dimension_name(_PER_KG)}")
    return Cd3PerKgCriterion(
        **common, unit=unit, cd3_test=table.text("cd3_test"), nk_test=table.text("nk_test"),
        maximum=table.quantity("max", unit, _subject(common["name"])),
    )


_CHECKS = {"qualitative": _read_qualitative, "limits": _read_limits, "dose": _read_dose,
           "endotoxin": _read_endotoxin, "cd3_per_kg": _read_cd3_per_kg}


def _read_release(release: _Table) -> tuple[Criterion, ...]:
    """Read the release tests and check that computed tests name existing percentage tests."""
    criteria = []
    for key, table in release.tables():
        check = table.text("check")
        if check not in _CHECKS:
            raise table.error("check", f"{check!r} is not one of {', '.join(_CHECKS)}")
        criteria.append(_CHECKS[check](table, _common(key, table)))
        table.done()
    by_key = {c.key: c for c in criteria}
    for criterion in criteria:
        for field in ("cd3_test", "nk_test") if isinstance(criterion, Cd3PerKgCriterion) else ():
            named = by_key.get(getattr(criterion, field))
            if not isinstance(named, LimitCriterion) or not same_dimension(named.unit, _PERCENT):
                raise release.error(f"{criterion.key}.{field}", "must name a release test given in %")
    if sum(isinstance(c, DoseCriterion) for c in criteria) != 1:
        raise release.error("dose", 'a product specification needs exactly one test with check = "dose"')
    return tuple(criteria)


def _read_limit(step: str, key: str, table: _Table) -> InProcessLimit:
    """Read one in-process limit and check that the alert limits lie inside the action limits."""
    unit, name = table.unit(), table.text("name")
    values = {field: table.quantity(field, unit, _subject(name))
              for field in ("alert_below", "alert_above", "action_below", "action_above")}
    if all(value is None for value in values.values()):
        raise table.error("alert_below", "needs at least one alert or action limit")
    for alert, action, outside in (("alert_below", "action_below", lambda a, b: a < b),
                                   ("alert_above", "action_above", lambda a, b: a > b)):
        if None not in (values[alert], values[action]) and outside(values[alert], values[action]):
            raise table.error(alert, f"lies outside the action limit {action}")
    table.done()
    return InProcessLimit(step=step, key=key, name=name, unit=unit, **values)


def _read_in_process(in_process: _Table) -> tuple[InProcessLimit, ...]:
    limits = []
    for step, table in in_process.tables():
        if step not in STEPS:
            raise in_process.error(step, f"unknown step (steps: {', '.join(STEPS)})")
        limits.extend(_read_limit(step, key, sub) for key, sub in table.tables())
    return tuple(limits)


def _read_shelf_life(table: _Table) -> ShelfLife:
    shelf = ShelfLife(
        duration=table.quantity("duration", _HOURS, "the shelf life", required=True),
        min_temperature=table.quantity("min_temperature", _CELSIUS, "the storage temperature", required=True),
        max_temperature=table.quantity("max_temperature", _CELSIUS, "the storage temperature", required=True),
    )
    table.done()
    return shelf


def _read_product(root: _Table, header: dict) -> ProductSpec:
    """Read the body of a product specification."""
    product, shelf = root.table("product"), root.table("shelf_life")
    spec = ProductSpec(
        **header,
        product_name=product.text("name"),
        isbt128_product_code=product.text("isbt128_product_code", pattern=r"[A-Z]\d{4}"),
        division_codes=product.texts("division_codes", pattern=r"[A-Z][0-9A-Za-z]"),
        label_statements=product.texts("label_statements"),
        max_collection_to_processing=product.quantity(
            "max_collection_to_processing", _HOURS, "the time from collection to processing", required=True),
        fresh_shelf_life=_read_shelf_life(shelf.table("fresh")),
        thawed_shelf_life=_read_shelf_life(shelf.table("thawed")),
        cryopreserved_shelf_life=_read_shelf_life(shelf.table("cryopreserved")),
        in_process=_read_in_process(root.table("in_process")),
        release=_read_release(root.table("release")),
    )
    product.done()
    shelf.done()
    return spec


def _read_schedule(root: _Table, top: pint.Quantity, most: int) -> tuple[DoseLevel, ...]:
    """Read the dose schedule: infusions 1..n, escalating, none above the maximum dose."""
    levels = []
    for index, entry in enumerate(root.take("dose_schedule", list)):
        table = _Table(entry, f"dose_schedule[{index}]", root.source)
        level = DoseLevel(infusion=table.take("infusion", int),
                          dose_per_kg=table.quantity("dose_per_kg", _PER_KG, "a dose", required=True))
        table.done()
        if level.infusion != index + 1:
            raise table.error("infusion", f"infusions must be numbered 1, 2, 3... (expected {index + 1})")
        if level.dose_per_kg > top or (levels and level.dose_per_kg < levels[-1].dose_per_kg):
            raise table.error("dose_per_kg", "must not exceed max_dose_per_kg nor fall below the last dose")
        levels.append(level)
    if not 1 <= len(levels) <= most:
        raise root.error("dose_schedule", f"needs 1 to max_infusions ({most}) entries")
    return tuple(levels)


def _read_study(root: _Table, header: dict) -> StudySpec:
    """Read the body of a study specification."""
    top = root.quantity("max_dose_per_kg", _PER_KG, "the maximum dose", required=True)
    most = root.take("max_infusions", int)
    if most < 1:
        raise root.error("max_infusions", "must be at least 1")
    return StudySpec(
        **header, trial_id=root.text("trial_id", pattern=r"NCT\d{8}"), product=root.text("product"),
        max_infusions=most, min_interval=root.quantity("min_interval", _DAYS, "the interval", required=True),
        max_dose_per_kg=top, dose_schedule=_read_schedule(root, top, most),
    )


_READERS = {"product": _read_product, "study": _read_study}


def _read_header(root: _Table, content: bytes) -> dict[str, Any]:
    """Read what every specification carries and the hash of the file's bytes."""
    kind = root.text("kind")
    if kind not in _READERS:
        raise root.error("kind", f"{kind!r} is not one of {', '.join(_READERS)}")
    return {
        "id": root.text("id", pattern=r"[a-z0-9][a-z0-9-]*"),
        "version": root.text("version", pattern=r"\d+\.\d+"),
        "effective": root.take("effective", date), "title": root.text("title"), "kind": kind,
        "content_hash": hashlib.sha256(content).hexdigest(), "source": root.source,
    }


def parse_spec(content: bytes, source: str) -> Spec:
    """Validate one specification from its bytes; `source` names it in messages."""
    try:
        data = tomllib.loads(content.decode("utf-8"))
    except (UnicodeDecodeError, tomllib.TOMLDecodeError) as exc:
        raise SpecError(f"{source}: not a valid TOML file: {exc}") from None
    root = _Table(data, "", source)
    header = _read_header(root, content)
    spec = _READERS[header["kind"]](root, header)
    root.done()
    return spec


def load_spec(path: str | Path) -> Spec:
    """Load and validate one specification file."""
    path = Path(path)
    return parse_spec(path.read_bytes(), path.name)


def load_specs(directory: str | Path) -> dict[tuple[str, str], Spec]:
    """Load every specs/*.toml file, keyed by (id, version); an id and version may appear once.

    plausible.toml, the ranges of typing errors, is no specification: core/plausible.py reads it.
    """
    specs: dict[tuple[str, str], Spec] = {}
    for path in sorted(Path(directory).glob("*.toml")):
        if path.name == PLAUSIBLE_FILE_NAME:
            continue
        spec = load_spec(path)
        seen = specs.get((spec.id, spec.version))
        if seen is not None:
            raise SpecError(f"{path.name}: {spec.id} version {spec.version} is also in {seen.source}")
        specs[(spec.id, spec.version)] = spec
    return specs
