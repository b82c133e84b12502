"""On the demo site: `flask demo export` writes an export of the lot in culture, which lands as its count."""

from datetime import timedelta

import pytest
from sqlalchemy import select

from manufacturing.accounts.models import User
from manufacturing.core import clock
from manufacturing.core.audit import set_actor
from manufacturing.core.audit_verify import verify_chain
from manufacturing.core.errors import DomainError
from manufacturing.instruments import files, operations
from manufacturing.lots.models import Lot
from manufacturing.materials.models import Equipment
from manufacturing.processing.entries import StepInput
from manufacturing.processing.models import StepKind
from manufacturing.units import Q_
from tests.demo_site import AWAITING_QA, IN_CULTURE, load_demo_once, lot_of


def _demo(app, database) -> dict[str, str]:
    """The demo loaded; its printed passwords, each person's first-login change taken as done."""
    passwords = load_demo_once()
    for user in database.session.scalars(select(User)):
        user.must_change_password = False
    database.session.commit()
    return passwords


def _export(app, tmp_path, instrument: str, lot: Lot) -> bytes:
    path = tmp_path / f"{instrument}.csv"
    written = app.test_cli_runner().invoke(args=["demo", "export", instrument, lot.lot_number, "-o", str(path)])
    assert written.exit_code == 0, written.output
    return path.read_bytes()


def _count(database, lot: Lot, upload, counter: Equipment | None, password: str):
    anna = database.session.scalars(select(User).where(User.username == "tech.anna")).one()
    incubator = database.session.scalars(select(Equipment).where(Equipment.code == "INC-01")).one()
    given = StepInput(values={"volume": "400 mL", "action": "feed", "volume_added": "200 mL"},
                      performed_at=clock.now() - timedelta(minutes=5),
                      equipment={"Cell counter": counter.id if counter else None, "Incubator": incubator.id})
    set_actor(database.session, anna.id, anna.username)
    step = operations.import_step(lot, StepKind.CULTURE_DAY, given, upload, None, anna, password, anna.username)
    database.session.commit()
    return step


@pytest.mark.parametrize(("instrument", "counter_code", "chosen"), [("nc-200", "CNT-01", False),
                                                                     ("vi-cell-blu", "CNT-02", True)])
def test_a_demo_export_lands_as_todays_count(app, database, tmp_path, instrument, counter_code, chosen):
    passwords = _demo(app, database)
    lot = lot_of(IN_CULTURE, database.session)
    counter = database.session.scalars(select(Equipment).where(Equipment.code == counter_code)).one()
    content = _export(app, tmp_path, instrument, lot)
    step = _count(database, lot, operations.Upload(f"{instrument}.csv", content), counter if chosen else None,
                  passwords["tech.anna"])
    assert step.value("viability").quantity in (Q_(68.2, "percent"), Q_(92.03, "percent"))
    assert step.value("viable_concentration") is not None
    [kept] = files.files_of_lot(lot.id)
    assert kept.content == content and kept.equipment_id == counter.id
    assert verify_chain(database.session).ok


def test_a_demo_export_of_another_lot_is_refused(app, database, tmp_path):
    passwords = _demo(app, database)
    lot = lot_of(IN_CULTURE, database.session)
    other = lot_of(AWAITING_QA, database.session)
    content = _export(app, tmp_path, "nc-200", other)
    with pytest.raises(DomainError, match="does not name lot"):
        _count(database, lot, operations.Upload("nc-200.csv", content), None, passwords["tech.anna"])
