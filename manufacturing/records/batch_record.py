"""The executed batch record of a lot as plain data: what the printed record states, and nothing else.

Every value is already written as the lab reads it; corrections carry their original value, reason,
who and when (Annex 11 section 8.2); signatures carry their manifestation and whether they are intact.
"""

import json
from dataclasses import asdict, dataclass, field
from datetime import datetime

from manufacturing.core import clock
from manufacturing.core.audit import AuditEvent
from manufacturing.core.signatures import SignatureBook, manifestation
from manufacturing.lots.models import Lot
from manufacturing.processing.growth import growth_chart
from manufacturing.quality.lot_record import LotRecord, StepView, build
from manufacturing.records import batch_appendix as appendix
from manufacturing.records import batch_sections as sections
from manufacturing.records.batch_appendix import Appendix

STEP_ACTIONS = ("step.updated", "step_value.updated", "step_value.created", "step_value.deleted")


@dataclass
class Signed:
    text: str
    intact: bool


@dataclass
class Line:
    label: str
    value: str
    correction: str = ""


@dataclass
class StepSection:
    title: str
    status: str
    performed: str
    entered: str
    late: bool
    values: list[Line] = field(default_factory=list)
    calculated: list[Line] = field(default_factory=list)
    checks: list[tuple[str, str]] = field(default_factory=list)
    uses: list[str] = field(default_factory=list)
    observations: str = ""
    problems: list[str] = field(default_factory=list)
    signatures: list[Signed] = field(default_factory=list)
    deviations: list[str] = field(default_factory=list)
    audit: str = ""  # numbers of the audit events this section says (not repeated in the appendix)


@dataclass
class BatchRecord:
    lot_number: str
    din: str
    din_grouped: str
    din_flags: str
    din_check: str
    subject_id: str
    subject_initials: str
    product: str
    specification: str
    study_specification: str
    state: str
    opened: str
    steps: list[StepSection]
    culture_log: list[list[str]]
    growth: list[tuple[int, float]]
    sampling_plan: list[tuple[str, list[str]]]
    materials: list[list[str]]
    doses: list[list[str]]
    qc: list[dict]
    instrument_files: list[str]
    deviations: list[dict]
    dispositions: list[dict]
    custody: list[list[str]]
    administrations: list[dict]
    labels: list[str]
    audit: list[list[str]]

    def as_dict(self) -> dict:
        return asdict(self)

    @property
    def chart(self):
        return growth_chart(self.growth)


def _was(entity_type: str, old) -> str:
    if old is None:
        return "added after signing"
    if entity_type == "step":
        return f"was {clock.format_local(datetime.fromisoformat(old))}"
    return f"was {old}"


def _corrections(events: list[AuditEvent]) -> dict[tuple[str, str], list[str]]:
    """For each corrected value (entity, id), the notes 'was X; reason (who, when)'."""
    notes: dict[tuple[str, str], list[str]] = {}
    for event in events:
        if event.reason is None or event.action not in STEP_ACTIONS:
            continue
        changed = json.loads(event.changes).get("performed_at" if event.entity_type == "step" else "entered")
        if changed is None:
            continue
        notes.setdefault((event.entity_type, event.entity_id), []).append(
            f"corrected: {_was(event.entity_type, changed.get('old'))}; {event.reason} "
            f"({event.username}, {clock.format_local(event.occurred_at)})")
    return notes


def _step(view: StepView, notes: dict, in_appendix: Appendix) -> StepSection:
    step = view.step
    values = [Line(line.label, line.shown, "; ".join(notes.get(("step_value", str(step.value(line.key).id)), [])))
              for line in view.values]
    moved = notes.get(("step", str(step.id)), [])
    if moved:
        values.insert(0, Line("Date and time of the step", clock.format_local(step.performed_at), "; ".join(moved)))
    return StepSection(
        title=view.title, status=step.status.title, performed=clock.format_local(step.performed_at),
        entered=clock.format_local(step.recorded_at), late=view.late, values=values,
        calculated=[Line(label, shown) for label, shown in view.derived],
        checks=[(check.colour, (f"{check.subject}: " if check.subject else "") + check.evaluation.reason)
                for check in view.checks],
        uses=[f"{role}: {item}" for role, item in view.materials + view.equipment],
        observations=step.observations or "", problems=list(view.problems),
        signatures=[Signed(manifestation(line.signature), line.intact) for line in view.signatures],
        deviations=[f"{d.number} ({d.status.title}): {d.title}" for d in view.deviations],
        audit=appendix.numbers(in_appendix.in_steps.get(step.id, [])),
    )


def _signed_in(book: SignatureBook):
    """Write out a record's signatures from signatures read at once."""
    return lambda record: [Signed(manifestation(s), book.is_intact(s, record)) for s in book.signatures(record)]


def build_batch_record(lot: Lot) -> BatchRecord:
    """Gather the executed record of a lot into plain data, in a fixed number of queries."""
    record: LotRecord = build(lot)
    events, rows = appendix.lot_events(lot), sections.dose_records(record)
    notes, signed_here = _corrections(events), _signed_in(SignatureBook([*record.deviations, *rows.signed]))
    owners = appendix.step_owners((view.step, record.book.signatures(view.step)) for view in record.steps)
    trail = appendix.appendix(events, owners)
    eye = lot.din_record.eye_readable
    return BatchRecord(
        lot_number=lot.lot_number, din=lot.din_record.keyboard, din_grouped=eye.din, din_flags=eye.flags,
        din_check=eye.check, subject_id=lot.subject.subject_code, subject_initials=lot.subject.initials,
        product=record.spec.product_name, specification=f"{lot.spec_id} version {lot.spec_version}",
        study_specification=f"{lot.study_spec_id} version {lot.study_spec_version}", state=lot.state.title,
        opened=clock.format_local(lot.opened_at), steps=[_step(view, notes, trail) for view in record.steps],
        culture_log=sections.culture_log(record), growth=record.growth,
        sampling_plan=sections.sampling_plan(record.spec), materials=sections.materials(record),
        doses=sections.doses(record), qc=sections.qc(record), instrument_files=sections.instrument_files(lot.id),
        deviations=sections.deviations(record, signed_here),
        dispositions=sections.dispositions(rows, signed_here), custody=sections.custody(record, rows),
        administrations=sections.administrations(rows, signed_here), labels=sections.labels(record, rows),
        audit=trail.rows,
    )
