"""A signable record of the tests' own (on a separate metadata, outside the migrations)."""

import pytest
from sqlalchemy import MetaData, String
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

from manufacturing.core.signatures import Signable
from manufacturing.extensions import db


class TestBase(DeclarativeBase):
    metadata = MetaData()


class Specimen(Signable, TestBase):
    """A sample tube: label and volume are signed content, status is workflow."""

    __tablename__ = "test_specimens"
    __audit_entity__ = "specimen"
    __signature_exclude__ = frozenset({"status"})

    id: Mapped[int] = mapped_column(primary_key=True)
    label: Mapped[str] = mapped_column(String(40))
    volume_ml: Mapped[str] = mapped_column(String(20))
    status: Mapped[str] = mapped_column(String(20), default="open")


@pytest.fixture
def specimen_table(database):
    TestBase.metadata.create_all(db.engine)
    yield Specimen
    db.session.remove()
    TestBase.metadata.drop_all(db.engine)
