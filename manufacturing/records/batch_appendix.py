"""The audit appendix of the batch record: what the sections before it do not already say.

A step's section states its values, materials, equipment, dose units, signatures and its verification; the
events that recorded those are not written out again but named by number in the step's section. Every other
event is here: a record's signature and changes at one moment share a line, records created together too, and
one act done alike to several records at one moment (results verified together) is one line naming them all. A
moment is the minute the record prints, by one person for one reason: the events of one act are stamped
microseconds apart, so that an exact time would part what one act did.
"""

from collections.abc import Iterable
from dataclasses import dataclass, field

from sqlalchemy import select

from manufacturing.core import clock
from manufacturing.core.audit import AuditEvent
from manufacturing.extensions import db
from manufacturing.lots.models import Lot

MAX_CHANGE_TEXT = 160
VERIFICATION_FIELDS = frozenset({"status", "verified_at", "verified_by_id"})

Owners = dict[tuple[str, str], int]  # (entity type, entity id) of a step's own records -> the step's id


@dataclass
class Appendix:
    rows: list[list[str]] = field(default_factory=list)
    in_steps: dict[int, list[int]] = field(default_factory=dict)  # step id -> numbers of the events its section says


def lot_events(lot: Lot) -> list[AuditEvent]:
    """The lot's audit trail in number order (the stored documents' own events aside)."""
    query = select(AuditEvent).where(AuditEvent.scope == f"lot:{lot.id}",
                                     AuditEvent.entity_type != "stored_document").order_by(AuditEvent.id)
    return list(db.session.scalars(query))


def step_owners(steps: Iterable[tuple[object, list]]) -> Owners:
    """Map each step's own records (the step, its values, uses, dose units, signatures) to the step."""
    owners: Owners = {}
    for step, signatures in steps:
        parts = [step, *step.values, *step.materials, *step.equipment, *step.dose_units, *signatures]
        owners.update({(part.audit_entity(), part.audit_id()): step.id for part in parts})
    return owners


def _said_by_step(event: AuditEvent, owners: Owners) -> int | None:
    """The step whose section already says what the event says: a record of it created, or its verification."""
    step = owners.get((event.entity_type, event.entity_id))
    if step is None or event.reason:
        return None
    if event.action.endswith(".created"):
        return step
    if event.entity_type == "step" and set(event.change_map) <= VERIFICATION_FIELDS:
        return step
    return None


def numbers(ids: list[int]) -> str:
    """Event numbers as ranges: '97–99, 104'."""
    ranges: list[list[int]] = []
    for number in ids:
        if ranges and number == ranges[-1][1] + 1:
            ranges[-1][1] = number
        else:
            ranges.append([number, number])
    return ", ".join(f"{first}–{last}" if last > first else str(first) for first, last in ranges)


def _change(name: str, change: dict) -> str:
    """One field: 'old → new' for a change (a value not recorded says so), 'name=value' for a value set."""
    if "old" not in change:
        return f"{name}={change.get('new')}"
    return f"{name}: {change['old']} → {change.get('new', '(new value not recorded)')}"


def _summary(data: dict[str, dict]) -> str:
    """One line for changes: a message in its own words, created/deleted field lists counted."""
    if "message" in data:
        return str(data["message"].get("new"))
    if all(set(v) == {"new"} for v in data.values()) and len(data) > 3:
        return f"{len(data)} fields set"
    text = "; ".join(_change(name, change) for name, change in sorted(data.items()))
    return text if len(text) <= MAX_CHANGE_TEXT else text[:MAX_CHANGE_TEXT - 1] + "…"


def _created(event: AuditEvent) -> bool:
    return event.action.endswith(".created")


def _generic(event: AuditEvent) -> bool:
    """An update the trail records for every change, beside the act that made it (verified, released...)."""
    return event.action.endswith(".updated")


def _signing(event: AuditEvent) -> bool:
    return event.entity_type == "signature" and _created(event)


def _subject(event: AuditEvent) -> tuple:
    """The record an event is about: for a signature, the record it signs."""
    if _signing(event):
        data = event.change_map
        return data.get("entity_type", {}).get("new"), data.get("entity_id", {}).get("new")
    return event.entity_type, event.entity_id


def _moment(event: AuditEvent) -> tuple:
    """Who, when as the record prints it (to the minute) and why: events of one act are stamped microseconds apart."""
    return event.username, clock.format_local(event.occurred_at), event.reason


def _joins(group: list[AuditEvent], event: AuditEvent) -> bool:
    """Records created in one action share a line; so do a record's signature and changes at one moment."""
    if _moment(event) != _moment(group[0]):
        return False
    if _created(event):
        return all(_created(other) for other in group)
    if all(_created(other) for other in group) and not (len(group) == 1 and _signing(group[0])):
        return False  # records created together take no change; a lone signature takes its record's changes
    if any(_subject(other) != _subject(event) for other in group):
        return False
    acts = [other for other in group if not _created(other)]
    if not _generic(event) and not all(_generic(other) for other in acts):
        return False  # two acts, each under its own name
    changes = event.change_map
    return all(other.change_map.get(name, change) == change for other in acts for name, change in changes.items())


def _created_together(group: list[AuditEvent]) -> list[str]:
    """One line for records created in one action: their numbers and what was created."""
    counts: dict[str, int] = {}
    for event in group:
        counts[event.entity_type] = counts.get(event.entity_type, 0) + 1
    what = ", ".join(f"{count} {entity.replace('_', ' ')}" for entity, count in counts.items())
    first = group[0]
    return [numbers([event.id for event in group]), clock.format_local(first.occurred_at), first.username, "created",
            "", what, first.reason or ""]


@dataclass
class _Act:
    """One line of changes: the act, the records it changed alike, their signatures, the changes they share."""

    ids: list[int]
    occurred_at: object
    username: str
    action: str
    records: list[str]
    signatures: list[str]
    meanings: tuple[str, ...]
    changes: dict
    reason: str

    def alike(self, other: "_Act") -> bool:
        """The same act, by the same person at the same moment, with the same changes and signature meanings."""
        return (clock.format_local(self.occurred_at), self.username, self.action, self.meanings, self.changes,
                self.reason) == (clock.format_local(other.occurred_at), other.username, other.action,
                                 other.meanings, other.changes, other.reason)

    def absorb(self, other: "_Act") -> None:
        self.ids += other.ids
        self.records += other.records
        self.signatures += other.signatures

    def row(self) -> list[str]:
        signed = ""
        if self.signatures:
            word = "signature" if len(self.signatures) == 1 else "signatures"
            signed = f"{word} {_listed(self.signatures)} ({', '.join(self.meanings)}); "
        return [numbers(self.ids), clock.format_local(self.occurred_at), self.username, self.action,
                _listed(self.records), signed + _summary(self.changes), self.reason]


def _listed(ids: list[str]) -> str:
    """Record ids as ranges when each is a number written plainly ('1–51'), else as they are."""
    if all(text.isascii() and text.isdigit() and str(int(text)) == text for text in ids):
        return numbers([int(text) for text in ids])
    return ", ".join(ids)


def _changed_together(group: list[AuditEvent]) -> _Act:
    """One line for a record's signature and changes at one moment, under the name of the act."""
    acts = [event for event in group if not _created(event)]
    named = next((event for event in acts if not _generic(event)), acts[0])
    changes: dict[str, dict] = {}
    for event in acts:
        changes.update(event.change_map)
    signatures = [event for event in group if _created(event)]
    meanings = tuple(str(event.change_map.get("meaning", {}).get("new")) for event in signatures)
    return _Act([event.id for event in group], named.occurred_at, named.username, named.action,
                [named.entity_id] if named.entity_id else [], [event.entity_id for event in signatures], meanings,
                changes, named.reason or "")


def _line(group: list[AuditEvent]) -> list[str] | _Act:
    return _created_together(group) if all(_created(event) for event in group) else _changed_together(group)


def _add(rows: list, line: list[str] | _Act) -> None:
    """Add a line; an act alike to the line before it joins that line."""
    if isinstance(line, _Act) and rows and isinstance(rows[-1], _Act) and rows[-1].alike(line):
        rows[-1].absorb(line)
    else:
        rows.append(line)


def appendix(events: list[AuditEvent], owners: Owners) -> Appendix:
    """Write out the events the step sections do not say, one line per act; note the numbers of those they do."""
    found, group, lines = Appendix(), [], []
    for event in events:
        step = _said_by_step(event, owners)
        if step is not None:
            found.in_steps.setdefault(step, []).append(event.id)
            continue
        if group and _joins(group, event):
            group.append(event)
            continue
        if group:
            _add(lines, _line(group))
        group = [event]
    if group:
        _add(lines, _line(group))
    found.rows = [line.row() if isinstance(line, _Act) else line for line in lines]
    return found


def audit(lot: Lot) -> list[list[str]]:
    """The lot's whole audit trail, compact: one line per act."""
    return appendix(lot_events(lot), {}).rows
