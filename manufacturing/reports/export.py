"""The trial's data as CSV, one file per table, and the whole trial as a zip with a manifest and SHA-256 sums.

For a sponsor's data manager: subjects by their study ID only (no initials, no date of birth: age at enrolment),
no donation number (the DIN leads back to the donor), no staff names; times in UTC (ISO 8601), quantities as
plain numbers with their unit in a column of their own or named by the manifest. A text that a spreadsheet
would run as a formula (beginning with = + - @, a tab or a carriage return) is written after an apostrophe.
"""

import csv
import hashlib
import io
import json
import zipfile
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import Session, selectinload

from manufacturing.core import clock
from manufacturing.dispensing.models import Administration, Issue
from manufacturing.lots.models import Lot
from manufacturing.patients.guards import age_on
from manufacturing.patients.models import Subject
from manufacturing.processing.derived import LABELS, derive
from manufacturing.processing.kinds import definition
from manufacturing.processing.models import DoseUnit, ProcessStep
from manufacturing.quality.models import Deviation, QcResult
from manufacturing.release.models import Disposition
from manufacturing.units import Quantity, lab_unit, unit_label


@dataclass(frozen=True)
class Column:
    name: str
    description: str
    unit: str | None = None  # the unit of every value of the column, where it has one


@dataclass(frozen=True)
class Table:
    name: str
    description: str
    columns: tuple[Column, ...]
    rows: Callable[[Session], Iterable[tuple]]

    @property
    def filename(self) -> str:
        return f"{self.name}.csv"


def _time(moment: datetime | None) -> str:
    return clock.as_utc(moment).isoformat() if moment is not None else ""


def _number(quantity: Quantity | None, unit: str | None = None) -> str:
    """A quantity's magnitude, in `unit` where given, written exactly (repr of the float)."""
    if quantity is None:
        return ""
    return repr(float(quantity.m_as(lab_unit(unit)) if unit else quantity.magnitude))


def _unit(quantity: Quantity | None) -> str:
    return unit_label(quantity.units, plain=True) if quantity is not None else ""


def _subjects(session: Session):
    for subject in session.scalars(select(Subject).options(selectinload(Subject.stop))
                                   .order_by(Subject.subject_code)):
        enrolled, stop = clock.to_local(subject.created_at).date(), subject.stop
        yield subject.subject_code, subject.sex.name, age_on(subject.date_of_birth, enrolled), subject.site, \
            enrolled.isoformat(), stop.stopped_on.isoformat() if stop else "", stop.reason.name if stop else ""


def _lots(session: Session):
    query = select(Lot).options(selectinload(Lot.subject)).order_by(Lot.opened_at, Lot.id)
    for lot in session.scalars(query):
        yield (lot.lot_number, lot.subject.subject_code, lot.state.name, _time(lot.opened_at),
               f"{lot.spec_id} {lot.spec_version}", lot.hold_reason or "", lot.cancel_reason or "")


def _lot_numbers(session: Session) -> dict[int, str]:
    return dict(session.execute(select(Lot.id, Lot.lot_number)).all())


def _steps_of_lots(session: Session):
    """Each lot's number and its steps in the order performed, values loaded."""
    by_lot: dict[int, list[ProcessStep]] = {}
    query = select(ProcessStep).options(selectinload(ProcessStep.values)).order_by(ProcessStep.performed_at,
                                                                                    ProcessStep.id)
    for step in session.scalars(query):
        by_lot.setdefault(step.lot_id, []).append(step)
    numbers = _lot_numbers(session)
    for lot_id, steps in sorted(by_lot.items(), key=lambda item: numbers[item[0]]):
        yield numbers[lot_id], steps


def _step_values(session: Session):
    for lot_number, steps in _steps_of_lots(session):
        for step in steps:
            units = {field.key: field.unit for field in definition(step.kind).fields}
            for value in sorted(step.values, key=lambda value: value.id):
                unit = units.get(value.key) if value.quantity is not None else None
                yield (lot_number, step.kind.name, step.day_number if step.day_number is not None else "",
                       _time(step.performed_at), step.status.name, step.revision, value.key, value.entered,
                       _number(value.quantity, unit), unit or "", value.text or "")


def _step_calculations(session: Session):
    for lot_number, steps in _steps_of_lots(session):
        derived = derive(steps)
        for step in steps:
            for key, quantity in derived[step.id].values.items():
                yield (lot_number, step.kind.name, step.day_number if step.day_number is not None else "", key,
                       LABELS.get(key, key), _number(quantity), _unit(quantity))


def _dose_units(session: Session):
    numbers = _lot_numbers(session)
    for dose in session.scalars(select(DoseUnit).order_by(DoseUnit.lot_id, DoseUnit.division_code)):
        yield (numbers[dose.lot_id], dose.division_code, dose.infusion_number, dose.kind.name,
               _number(dose.target_dose_per_kg, "cells/kg"), _number(dose.cells, "cells"),
               _number(dose.final_volume, "mL"), _time(dose.expiry_at), dose.state.name)


def _qc_results(session: Session):
    lots = _lot_numbers(session)
    doses = dict(session.execute(select(DoseUnit.id, DoseUnit.division_code)).all())
    for result in session.scalars(select(QcResult).order_by(QcResult.lot_id, QcResult.id)):
        yield (result.id, lots[result.lot_id], doses.get(result.dose_unit_id, ""), result.test_key, result.sample,
               result.entered, _number(result.quantity), _unit(result.quantity), result.text or "",
               _time(result.tested_at), result.kind.name, result.status.name, result.retest_of_id or "")


def _of_dose(session: Session, model):
    """Each record about a dose unit, oldest first, with its unit's lot number, division code and infusion number."""
    numbers = _lot_numbers(session)
    units = {dose_id: (numbers[lot_id], code, infusion) for dose_id, lot_id, code, infusion in session.execute(
        select(DoseUnit.id, DoseUnit.lot_id, DoseUnit.division_code, DoseUnit.infusion_number))}
    for item in session.scalars(select(model).order_by(model.id)):
        yield units[item.dose_unit_id], item


def _dispositions(session: Session):
    for (lot_number, code, _), item in _of_dose(session, Disposition):
        yield (lot_number, code, item.decision.name,
               "yes" if item.exceptional else "no", item.justification or "", _time(item.decided_at),
               item.state.name, _time(item.ended_at), item.ended_reason or "")


def _issues(session: Session):
    for (lot_number, code, infusion), item in _of_dose(session, Issue):
        yield (lot_number, code, infusion, _time(item.issued_at), _number(item.dose_per_kg, "cells/kg"),
               _number(item.dose_deviation, "%"),
               _time(item.thawed_at), _time(item.use_by))


def _administrations(session: Session):
    for (lot_number, code, infusion), item in _of_dose(session, Administration):
        yield (lot_number, code, infusion, _time(item.started_at), _time(item.ended_at),
               _number(item.volume_infused, "mL"),
               item.adverse_reactions, item.deviations or "")


def _deviations(session: Session):
    lots = _lot_numbers(session)
    steps = dict(session.execute(select(ProcessStep.id, ProcessStep.kind)).all())
    for item in session.scalars(select(Deviation).order_by(Deviation.id)):
        yield (item.number, lots[item.lot_id], steps[item.step_id].name if item.step_id else "",
               item.classification.name, item.title, item.status.name, _time(item.opened_at), _time(item.closed_at),
               "" if item.affects_product is None else ("yes" if item.affects_product else "no"))


def _c(name: str, description: str, unit: str | None = None) -> Column:
    return Column(name, description, unit)


LOT, UNIT, WHEN = _c("lot_number", "the lot"), _c("dose_unit", "division code of the dose unit"), "UTC, ISO 8601"
TABLES = (
    Table("subjects", "Patients enrolled, by study subject ID", (
        _c("subject_id", "study subject ID (pseudonym)"), _c("sex", "MALE or FEMALE"),
        _c("age_at_enrolment", "whole years", "year"), _c("site", "clinical site"),
        _c("enrolled_on", "date of enrolment, site's local date"),
        _c("off_study_on", "date off study, empty while on study"),
        _c("off_study_reason", "TOXICITY, MANUFACTURING_FAILURE, WITHDRAWAL or OTHER")), _subjects),
    Table("lots", "Manufacturing lots, one per collection", (
        LOT, _c("subject_id", "study subject ID"), _c("state", "lot state now"), _c("opened_at", WHEN),
        _c("specification", "release specification pinned"),
        _c("hold_reason", "why the lot is held"), _c("cancel_reason", "why the lot was cancelled")), _lots),
    Table("step_values", "Every value entered at each step, as typed and as read", (
        LOT, _c("step", "kind of step"), _c("culture_day", "day of culture"), _c("performed_at", WHEN),
        _c("status", "step status"), _c("revision", "correction count + 1"), _c("field", "field key"),
        _c("entered", "the value as typed"), _c("value", "the value as read, in `unit`"),
        _c("unit", "unit of `value`"), _c("text", "a value that is no quantity")), _step_values),
    Table("step_calculations", "Values calculated from the entries of each step", (
        LOT, _c("step", "kind of step"), _c("culture_day", "day of culture"), _c("calculation", "key"),
        _c("label", "what it is"), _c("value", "in `unit`"), _c("unit", "unit of `value`")), _step_calculations),
    Table("dose_units", "Dose units prepared", (
        LOT, UNIT, _c("infusion_number", "1 to 5"), _c("kind", "fresh or cryopreserved"),
        _c("target_dose", "viable NK cells per kg", "cells/kg"), _c("cells", "viable NK cells in the bag", "cells"),
        _c("final_volume", "volume of the bag", "mL"), _c("expiry_at", WHEN), _c("state", "unit state now")),
        _dose_units),
    Table("qc_results", "QC results, retests and recalculations included", (
        _c("result_id", "id of the result"), LOT, UNIT, _c("test", "test key"), _c("sample", "sample"),
        _c("entered", "as typed"), _c("value", "in `unit`"), _c("unit", "unit of `value`"),
        _c("text", "a result that is no quantity"), _c("tested_at", WHEN), _c("kind", "original, retest, ..."),
        _c("status", "result status"), _c("retest_of", "result_id it retests")), _qc_results),
    Table("dispositions", "QA's release decisions", (
        LOT, UNIT, _c("decision", "release decision"), _c("exceptional", "exceptional release"),
        _c("justification", "QA's justification"), _c("decided_at", WHEN), _c("state", "stands or ended"),
        _c("ended_at", WHEN), _c("ended_reason", "why it ended")), _dispositions),
    Table("issues", "Dose units issued to the ward", (
        LOT, UNIT, _c("infusion_number", "1 to 5"), _c("issued_at", WHEN),
        _c("dose", "viable NK cells per kg at issue", "cells/kg"), _c("dose_deviation", "from target", "%"),
        _c("thawed_at", WHEN), _c("use_by", WHEN)), _issues),
    Table("administrations", "Infusions given", (
        LOT, UNIT, _c("infusion_number", "1 to 5"), _c("started_at", WHEN), _c("ended_at", WHEN),
        _c("volume_infused", "volume given", "mL"), _c("adverse_reactions", "as recorded"),
        _c("deviations", "as recorded")), _administrations),
    Table("deviations", "Deviations", (
        _c("number", "deviation number"), LOT, _c("step", "kind of step"), _c("classification", "class"),
        _c("title", "title"), _c("status", "open or closed"), _c("opened_at", WHEN), _c("closed_at", WHEN),
        _c("affects_product", "QA's impact assessment")), _deviations),
)
BY_NAME = {table.name: table for table in TABLES}


@dataclass(frozen=True)
class Written:
    """One table written: its CSV bytes, row count and SHA-256."""

    table: Table
    content: bytes
    rows: int

    @property
    def sha256(self) -> str:
        return hashlib.sha256(self.content).hexdigest()


FORMULA_START = ("=", "+", "-", "@", "\t", "\r")
FORMULA_NOTE = ("A text cell beginning with = + - @, a tab or a carriage return is written after an apostrophe ('), "
                "so that a spreadsheet shows it instead of running it; numbers are written as they are.")


def _cell(value: object) -> object:
    """A value as written: a text a spreadsheet would run as a formula after an apostrophe (numbers as they are)."""
    if isinstance(value, str) and value.startswith(FORMULA_START):
        try:
            float(value)
        except ValueError:
            return "'" + value
    return value


def write_table(session: Session, table: Table) -> Written:
    """The table as CSV (UTF-8, a header row, every value quoted as the csv module needs)."""
    text, count = io.StringIO(newline=""), 0
    writer = csv.writer(text, lineterminator="\r\n")
    writer.writerow([column.name for column in table.columns])
    for row in table.rows(session):
        writer.writerow([_cell(value) for value in row])
        count += 1
    return Written(table, text.getvalue().encode("utf-8"), count)


def manifest(written: list[Written], generated_at: datetime) -> dict:
    return {"generated_at": _time(generated_at), "text_cells": FORMULA_NOTE, "files": [
        {"file": item.table.filename, "description": item.table.description, "rows": item.rows,
         "sha256": item.sha256, "columns": [{"name": column.name, "description": column.description,
                                             "unit": column.unit} for column in item.table.columns]}
        for item in written]}


def trial_zip(session: Session) -> tuple[bytes, dict]:
    """Every table, its manifest (columns, units, row counts, SHA-256) and a SHA256SUMS file, in one zip (who took
    it is in the audit trail, not in the file)."""
    written = [write_table(session, table) for table in TABLES]
    described = manifest(written, clock.now())
    listing = json.dumps(described, indent=2, ensure_ascii=False).encode("utf-8")
    sums = "".join(f"{item.sha256}  {item.table.filename}\n" for item in written)
    sums += f"{hashlib.sha256(listing).hexdigest()}  manifest.json\n"
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", compression=zipfile.ZIP_DEFLATED) as archive:
        for item in written:
            archive.writestr(item.table.filename, item.content)
        archive.writestr("manifest.json", listing)
        archive.writestr("SHA256SUMS", sums.encode("ascii"))
    return buffer.getvalue(), described
