"""Sections of the executed batch record, each as plain rows of text."""

from dataclasses import dataclass

from sqlalchemy import select

from manufacturing.core import clock
from manufacturing.dispensing.models import Administration, BedsideCheck, Issue
from manufacturing.extensions import db
from manufacturing.instruments.files import files_of_lot, taken
from manufacturing.processing.models import StepKind
from manufacturing.quality.lot_record import LotRecord
from manufacturing.quality.models import QcKind
from manufacturing.quality.results import release_lines, result_line, results_of_lot
from manufacturing.release.models import Disposition, LabelPrint
from manufacturing.specifications.loader import Outcome, ProductSpec
from manufacturing.units import format_quantity

GROWTH_KINDS = (StepKind.CULTURE_DAY0, StepKind.CULTURE_DAY, StepKind.HARVEST)


def _value(view, key: str) -> str:
    value = view.step.value(key)
    if value is None:
        return ""
    return format_quantity(value.quantity) if value.quantity is not None else (value.text or "")


def _calculated(view, label: str) -> str:
    return next((shown for name, shown in view.derived if name == label), "")


def culture_log(record: LotRecord) -> list[list[str]]:
    """Day 0, each culture day and the harvest on one line each."""
    rows = []
    for view in record.steps:
        if view.step.kind not in GROWTH_KINDS:
            continue
        day = "0" if view.step.kind == StepKind.CULTURE_DAY0 else str(view.step.day_number or "harvest")
        nk = _calculated(view, "Viable NK cells seeded") or _calculated(view, "Viable NK cells")
        action = _value(view, "action")
        if _value(view, "volume_added"):
            action += f" +{_value(view, 'volume_added')}"
        if _value(view, "volume_removed"):
            action += f" −{_value(view, 'volume_removed')}"
        rows.append([day, clock.format_local(view.step.performed_at)[:16],
                     _value(view, "concentration") or _value(view, "seeding_density"), _value(view, "viability"),
                     _value(view, "volume") or _value(view, "culture_volume"), nk,
                     _calculated(view, "Cumulative fold expansion"), action.strip()])
    return rows


def sampling_plan(spec: ProductSpec) -> list[tuple[str, list[str]]]:
    return [(sample, [f"{c.name} ({c.method}): {c.text()}" for c in tests])
            for sample, tests in spec.sampling_plan().items()]


def materials(record: LotRecord) -> list[list[str]]:
    """Every material lot and piece of equipment used, once, with the steps that used it."""
    used: dict[str, list[str]] = {}
    for view in record.steps:
        for role, item in view.materials + view.equipment:
            used.setdefault(f"{role}: {item}", []).append(view.title)
    return [[item, ", ".join(dict.fromkeys(steps))] for item, steps in used.items()]


def doses(record: LotRecord) -> list[list[str]]:
    return [[unit.division_code, str(unit.infusion_number), unit.kind.title, format_quantity(unit.target_dose_per_kg),
             f"{format_quantity(unit.body_weight)} ({unit.weight_record.measured_on})", format_quantity(unit.cells),
             format_quantity(unit.volume_drawn), format_quantity(unit.final_volume),
             format_quantity(unit.concentration), clock.format_local(unit.expiry_at), unit.state.title]
            for unit in record.doses]


def _investigations(record: LotRecord) -> dict[int, str]:
    """The OOS investigation of each failing result: deviation number and status, by result id."""
    return {d.qc_result_id: f"{d.number} ({d.status.title})" for d in record.deviations if d.qc_result_id}


def _result_text(result, verdict, written: str, investigations: dict[int, str]) -> str:
    marks = [result.kind.title.lower()] if result.kind != QcKind.ORIGINAL else []
    if verdict.outcome is Outcome.FAIL:
        marks.append("OOS")
        if result.id in investigations:
            marks.append(f"investigation {investigations[result.id]}")
    return written + (f" [{', '.join(marks)}]" if marks else "")


def _qc_line(line, investigations: dict[int, str]) -> dict:
    """One release test as the certificate prints it; every result when one failed or was repeated."""
    printed, failed = result_line(line), [result.id for result in line.out_of_specification]
    history = " → ".join(_result_text(r, v, written, investigations) for r, v, written in line.written_history)
    return {"test": printed.test, "criterion": printed.criterion, "result": printed.result,
            "outcome": printed.outcome, "status": line.latest.status.title if line.latest is not None else "",
            "history": history if failed or len(line.history) > 1 else "", "oos": bool(failed),
            "investigations": [investigations[i] for i in failed if i in investigations]}


def qc(record: LotRecord) -> list[dict]:
    """Each dose unit's release tests: criterion, every result (OOS marked), outcome."""
    investigations, results = _investigations(record), results_of_lot(record.lot.id)
    return [{"unit": unit.division_code,
             "lines": [_qc_line(line, investigations) for line in release_lines(unit, record.spec, results)]}
            for unit in record.doses]


def deviations(record: LotRecord, signed) -> list[dict]:
    return [{"number": d.number, "classification": d.classification.title, "title": d.title,
             "status": d.status.title, "description": d.description, "immediate_action": d.immediate_action,
             "impact": d.impact_assessment or "not yet assessed",
             "affects": {None: "not assessed", True: "yes", False: "no"}[d.affects_product],
             "signatures": signed(d)} for d in record.deviations]


@dataclass
class DoseRecords:
    """What happened to the lot's dose units after preparation, each kind read once."""

    dispositions: list[Disposition]
    issues: list[Issue]
    bedside_checks: list[BedsideCheck]
    administrations: list[Administration]
    label_prints: list[LabelPrint]

    @property
    def signed(self) -> list:
        return [*self.dispositions, *self.bedside_checks, *self.administrations]


def _for_doses(record: LotRecord, model) -> list:
    ids = [unit.id for unit in record.doses]
    return list(db.session.scalars(select(model).where(model.dose_unit_id.in_(ids)).order_by(model.id))) if ids else []


def dose_records(record: LotRecord) -> DoseRecords:
    """Read the decisions, issues, bedside checks, administrations and label prints of the lot's units."""
    return DoseRecords(*(_for_doses(record, model) for model in (Disposition, Issue, BedsideCheck, Administration,
                                                                  LabelPrint)))


def dispositions(rows: DoseRecords, signed) -> list[dict]:
    return [{"unit": d.dose.division_code, "decision": d.decision.title, "exceptional": d.exceptional,
             "justification": d.justification or "", "physician": d.physician_name or "",
             "signatures": signed(d)} for d in rows.dispositions]


def administrations(rows: DoseRecords, signed) -> list[dict]:
    checks = {c.dose_unit_id: c for c in rows.bedside_checks}
    return [{"unit": a.dose.division_code, "started": clock.format_local(a.started_at),
             "ended": clock.format_local(a.ended_at), "volume": format_quantity(a.volume_infused),
             "by": a.administered_by, "appearance": a.appearance, "reactions": a.adverse_reactions,
             "deviations": a.deviations or "none",
             "bedside": signed(checks[a.dose_unit_id]) if a.dose_unit_id in checks else [],
             "signatures": signed(a)} for a in rows.administrations]


def custody(record: LotRecord, rows: DoseRecords) -> list[list[str]]:
    """Hand-offs in time order: receipt, each step, release, issue, bedside check, administration."""
    events = [(record.lot.opened_at, "Apheresis bag received; lot opened", "")]
    for view in record.steps:
        events += [(line.signature.signed_at, f"{view.title}: {line.signature.meaning.title.lower()}",
                    line.signature.printed_name) for line in view.signatures]
    events += [(d.decided_at, f"Unit {d.dose.division_code}: {d.decision.title.lower()}", "")
               for d in rows.dispositions]
    events += [(i.issued_at, f"Unit {i.dose.division_code} issued to {i.collector_name}", "") for i in rows.issues]
    events += [(c.checked_at, f"Unit {c.dose.division_code}: bedside check by two people", "")
               for c in rows.bedside_checks]
    events += [(a.started_at, f"Unit {a.dose.division_code} administered", a.administered_by)
               for a in rows.administrations]
    return [[clock.format_local(at), what, who] for at, what, who in sorted(events, key=lambda e: e[0])]


def labels(record: LotRecord, rows: DoseRecords) -> list[str]:
    units = {unit.id: unit.division_code for unit in record.doses}
    return [f"Unit {units[p.dose_unit_id]}: {'reprint' if p.is_reprint else 'print'} {p.number}, "
            f"{clock.format_local(p.printed_at)}" + (f" ({p.reason})" if p.reason else "")
            for p in rows.label_prints]


def instrument_files(lot_id: int) -> list[str]:
    """Each imported file, the raw record of the values taken from it: what, from where, when, its SHA-256."""
    lines = []
    for kept in files_of_lot(lot_id):
        values = ", ".join(taken(kept)) or "none (the raw data of a QC sample)"
        analysed = clock.format_local(kept.analysed_at) if kept.analysed_at else "time not given"
        serial = f" s/n {kept.serial_number}" if kept.serial_number else ""
        lines.append(f"{kept.filename} — {kept.instrument}{serial}, sample {kept.sample_id}, analysed {analysed}, "
                     f"imported {clock.format_local(kept.imported_at)}; values taken: {values}; "
                     f"SHA-256 {kept.sha256}")
    return lines
