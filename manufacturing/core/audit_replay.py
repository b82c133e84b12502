"""Replay the trail per record and compare: an audited record must hold what its trail last recorded.

A value changed in the database behind the application's back (a signed step value, a printed name, a
role) leaves no row in the trail, so the record and the replay of its trail disagree. Columns the trail
does not record (`__audit_exclude__`) are not compared; those it hides (`__audit_mask__`, a password hash)
are compared with the keyed fingerprint the trail keeps of them, where it keeps one.
"""

from sqlalchemy import select
from sqlalchemy.orm import Session

from manufacturing.core.audit import Audited
from manufacturing.core.seals import hidden_value_matches
from manufacturing.core.serialize import column_values
from manufacturing.extensions import db

DELETED = None


def _audited_classes() -> list[type]:
    mappers = db.Model.registry.mappers
    return sorted((mapper.class_ for mapper in mappers if issubclass(mapper.class_, Audited)),
                  key=lambda cls: cls.__name__)


def _differences(record: Audited, recorded: dict, dialect) -> list[str]:
    current = column_values(record, dialect, exclude=record.__audit_exclude__)
    return [_difference(record, field, value, recorded.get(field)) for field, value in sorted(current.items())
            if not _agrees(record, field, value, recorded.get(field))]


def _agrees(record: Audited, field: str, value: object, recorded: object) -> bool:
    if field not in record.__audit_mask__:
        return value == recorded
    if recorded is None:
        return value is None  # never set, or cleared: a value planted since is not the trail's
    if not (isinstance(recorded, str) and recorded.startswith("hmac:")):
        return True  # hidden before fingerprints were kept: nothing to compare with
    return value is not None and hidden_value_matches(record.audit_entity(), field, value, recorded)


def _difference(record: Audited, field: str, value: object, recorded: object) -> str:
    if field in record.__audit_mask__:
        return f"{field} (hidden) is not the value the trail last recorded"
    return f"{field} is {value!r} in the database, the trail last recorded {recorded!r}"


def edited_records(session: Session, trail: dict[tuple[str, str], dict | None]) -> list[tuple[str, str]]:
    """(where, what) for every audited record that differs from its replayed trail (core/audit_scan.py)."""
    dialect, found = session.get_bind().dialect, []
    for cls in _audited_classes():
        entity = cls.audit_entity()
        seen = set()
        for record in session.scalars(select(cls).execution_options(yield_per=1000)):
            where = f"{entity} {record.audit_id()}"
            seen.add(record.audit_id())
            recorded = trail.get((entity, record.audit_id()), "absent")
            if recorded == "absent":
                found.append((where, "the record has no trail: it was inserted outside the application"))
            elif recorded is DELETED:
                found.append((where, "the trail deleted this record, yet it is in the database"))
            else:
                found += [(where, detail) for detail in _differences(record, recorded, dialect)]
        found += [(f"{entity} {entity_id}", "the record is missing: it was deleted outside the application")
                  for (name, entity_id), values in trail.items()
                  if name == entity and values is not DELETED and entity_id not in seen]
    return found
