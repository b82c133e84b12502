"""Turn column values into the plain, stable form the audit trail and signatures hash."""

import enum
import hashlib
from datetime import date, datetime
from decimal import Decimal
from functools import cache

from sqlalchemy import Boolean, Enum, Integer, String, inspect, type_coerce
from sqlalchemy.types import TypeDecorator


def plain(value: object) -> object:
    """Return a JSON-ready, stable rendering of a value."""
    if value is None or isinstance(value, bool | int | str):
        return value
    if isinstance(value, float):
        return repr(value)
    if isinstance(value, enum.Enum):
        return value.name
    if isinstance(value, datetime | date):
        return value.isoformat()
    if isinstance(value, Decimal):
        return str(value)
    if isinstance(value, bytes):
        return "sha256:" + hashlib.sha256(value).hexdigest()
    return str(value)


def stored_value(column, value: object, dialect) -> object:
    """Render a value as its column stores it (a quantity as '2.5E+6 cell / milliliter')."""
    if value is None:
        return None
    if isinstance(column.type, TypeDecorator) and not isinstance(value, datetime):
        value = column.type.process_bind_param(value, dialect)
    return plain(value)


@cache
def _columns(model: type, exclude: frozenset[str]) -> tuple[tuple[str, object, bool], ...]:
    """The attribute names and columns of a mapped class (and whether a type writes them), once per class."""
    return tuple((attr.key, attr.columns[0], isinstance(attr.columns[0].type, TypeDecorator))
                 for attr in inspect(model).column_attrs if attr.key not in exclude)


def as_read(value: object) -> object:
    """A value read as its column stores it."""
    return value


def _stored_flag(value: object) -> object:
    """A flag as stored: true or false (SQLite's 1 or 0), else the stored value itself, named as no flag."""
    if value is None or type(value) is bool:
        return value
    if type(value) is int and value in (0, 1):
        return bool(value)
    return f"not a flag: {value!r}"


def column_reads(model: type, dialect, exclude: frozenset[str] = frozenset()) -> tuple[tuple[str, object, object], ...]:
    """(name, column to select, function) for each mapped column: the function turns the value read into the stored
    value `column_values` gives, for rows read without building the records. A column a type writes as text (a
    quantity) is read as that text; one that holds only plain values (text, integers) is taken as read. A choice
    (an enum, kept by its name) is read as its text and a flag as stored, so that a value no record could hold
    (a name of no choice, a flag of 2) differs from the trail instead of failing or passing for another."""
    reads = []
    for key, column, decorated in _columns(model, exclude):
        kind = column.type
        if isinstance(kind, Enum):
            reads.append((key, type_coerce(column, String()), as_read))
        elif isinstance(kind, Boolean):
            reads.append((key, type_coerce(column, Integer()) if dialect.name == "sqlite" else column, _stored_flag))
        elif decorated and isinstance(kind.impl, String):
            reads.append((key, type_coerce(column, kind.impl), plain))
        elif decorated:
            reads.append((key, column, lambda value, column=column: stored_value(column, value, dialect)))
        elif isinstance(kind, Integer | String):
            reads.append((key, column, as_read))
        else:
            reads.append((key, column, plain))
    return tuple(reads)


def column_values(obj: object, dialect, exclude: frozenset[str] = frozenset()) -> dict:
    """Return every mapped column of a record as stored values, by attribute name."""
    values = {}
    for key, column, decorated in _columns(type(obj), exclude):
        value = getattr(obj, key)
        values[key] = stored_value(column, value, dialect) if decorated else plain(value)
    return values
