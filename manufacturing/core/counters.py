"""Numbering from the database (lot and deviation numbers), safe with several workers."""

from sqlalchemy import String, select, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Mapped, Session, mapped_column

from manufacturing.extensions import db


class Counter(db.Model):
    """The last number given out in one series, e.g. 'lot-2026'."""

    __tablename__ = "counters"

    name: Mapped[str] = mapped_column(String(40), primary_key=True)
    value: Mapped[int] = mapped_column(default=0)


def next_number(session: Session, series: str) -> int:
    """Return the next number of a series, holding the series row until the transaction ends."""
    connection = session.connection()
    dialect_insert = postgresql.insert if connection.dialect.name == "postgresql" else sqlite.insert
    connection.execute(dialect_insert(Counter.__table__).values(name=series, value=0).on_conflict_do_nothing())
    query = select(Counter.__table__.c.value).where(Counter.__table__.c.name == series)
    if connection.dialect.name == "postgresql":
        query = query.with_for_update()
    value = connection.execute(query).scalar_one() + 1
    connection.execute(update(Counter.__table__).where(Counter.__table__.c.name == series).values(value=value))
    return value
