"""A signable record of the tests' own (on a separate metadata, outside the migrations)."""

import pytest
from sqlalchemy import MetaData, String
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

from manufacturing.core.database_roles import ROW_PRIVILEGES
from manufacturing.core.signatures import Signable
from manufacturing.extensions import db
from tests.conftest import owner_engine


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
    """The table, made by the owner and, on PostgreSQL, given to the runtime role as any table of rows."""
    with owner_engine().begin() as connection:
        TestBase.metadata.create_all(connection)
        if connection.dialect.name == "postgresql":
            runtime_role = db.engine.url.username
            connection.exec_driver_sql(f'GRANT {", ".join(ROW_PRIVILEGES)} ON test_specimens TO "{runtime_role}"')
    yield Specimen
    db.session.remove()
    TestBase.metadata.drop_all(owner_engine())
