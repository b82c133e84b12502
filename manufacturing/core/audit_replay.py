"""Replay the trail per record and compare: an audited record must hold what its trail last recorded.

A value changed in the database behind the application's back (a signed step value, a printed name, a
role) leaves no row in the trail, so the record and the replay of its trail disagree. Columns the trail
does not record (`__audit_exclude__`) are not compared; those it hides (`__audit_mask__`, a password hash)
are compared with the keyed fingerprint the trail keeps of them, where it keeps one.
"""

from collections.abc import Iterator

from sqlalchemy import select
from sqlalchemy.orm import Session

from manufacturing.core.audit import Audited
from manufacturing.core.seals import hidden_value_matches
from manufacturing.core.serialize import as_read, column_reads
from manufacturing.extensions import db

DELETED = None


def audited_classes() -> list[type]:
    mappers = db.Model.registry.mappers
    return sorted((mapper.class_ for mapper in mappers if issubclass(mapper.class_, Audited)),
                  key=lambda cls: cls.__name__)


def _differences(cls: type, record_id: str, current: dict, recorded: dict) -> list[str]:
    return [_difference(cls, field, value, recorded.get(field)) for field, value in sorted(current.items())
            if not _agrees(cls, record_id, field, value, recorded.get(field))]


def _agrees(cls: type, record_id: str, field: str, value: object, recorded: object) -> bool:
    if field not in cls.__audit_mask__:
        return value == recorded
    if recorded is None:
        return value is None  # never set, or cleared: a value planted since is not the trail's
    if not (isinstance(recorded, str) and recorded.startswith("hmac:")):
        return True  # hidden before fingerprints were kept: nothing to compare with
    return value is not None and hidden_value_matches(cls.audit_entity(), field, value, recorded)


def _difference(cls: type, field: str, value: object, recorded: object) -> str:
    if field in cls.__audit_mask__:
        return f"{field} (hidden) is not the value the trail last recorded"
    return f"{field} is {value!r} in the database, the trail last recorded {recorded!r}"


def _current_rows(session: Session, cls: type, dialect, where=None) -> Iterator[tuple[str, dict]]:
    """Each record of a class (those `where` holds for, when given) as its id and its stored values, read as rows
    (no record is built): a value read as stored is taken as it is, the others turned into their stored form."""
    reads = column_reads(cls, dialect, cls.__audit_exclude__)
    names = [key for key, _, _ in reads]
    turned = [(index, key, convert) for index, (key, _, convert) in enumerate(reads) if convert is not as_read]
    identity = names.index("id")
    query = select(*[column for _, column, _ in reads]).execution_options(yield_per=5000)
    if where is not None:
        query = query.where(where)
    for rows in session.connection().execute(query).partitions():
        for row in rows:
            current = dict(zip(names, row, strict=True))
            for index, key, convert in turned:
                current[key] = convert(row[index])
            yield str(row[identity]), current


def trail_ids(trail: dict[tuple[str, str], dict | None]) -> dict[str, list[str]]:
    """The ids of the records the trail holds, by entity, deleted ones left out."""
    ids: dict[str, list[str]] = {}
    for (entity, entity_id), values in trail.items():
        if values is not DELETED:
            ids.setdefault(entity, []).append(entity_id)
    return ids


def edited_records(session: Session, trail: dict[tuple[str, str], dict | None]) -> list[tuple[str, str]]:
    """(where, what) for every audited record that differs from its replayed trail (core/audit_scan.py)."""
    kept = trail_ids(trail)
    return [found for cls in audited_classes() for found in edited_of(session, cls, trail, kept)]


def edited_of(session: Session, cls: type, trail: dict[tuple[str, str], dict | None],
              kept: dict[str, list[str]], where=None) -> list[tuple[str, str]]:
    """(where, what) for every record of one audited class (those `where` holds for, when given: the trail and
    the ids kept are then theirs alone) that differs from its replayed trail."""
    entity, masked, found, seen = cls.audit_entity(), bool(cls.__audit_mask__), [], set()
    for record_id, current in _current_rows(session, cls, session.get_bind().dialect, where):
        if record_id in seen:
            found.append((f"{entity} {record_id}", "the record is stored twice: a copy was inserted outside the "
                          "application"))
            continue
        seen.add(record_id)
        recorded = trail.get((entity, record_id), "absent")
        if not masked and recorded is not DELETED and recorded != "absent" and (
                recorded == current or _plainly_agree(current, recorded)):
            continue
        where = f"{entity} {record_id}"
        if recorded == "absent":
            found.append((where, "the record has no trail: it was inserted outside the application"))
        elif recorded is DELETED:
            found.append((where, "the trail deleted this record, yet it is in the database"))
        else:
            found += [(where, detail) for detail in _differences(cls, record_id, current, recorded)]
    return found + [(f"{entity} {entity_id}", "the record is missing: it was deleted outside the application")
                    for entity_id in kept.get(entity, ()) if entity_id not in seen]


def _plainly_agree(current: dict, recorded: dict) -> bool:
    """Every stored value is the one recorded (a value never set is recorded as nothing)."""
    get = recorded.get
    return not [key for key, value in current.items() if value != get(key)]
