"""Material lots and equipment rules, tested directly on the operations and guards."""

from datetime import UTC, date, datetime, timedelta

import pytest
from sqlalchemy import select

from manufacturing.core import clock
from manufacturing.core.audit import AuditEvent, set_reason
from manufacturing.core.errors import DomainError, NotPermitted, ReasonRequired, SignatureError
from manufacturing.core.signatures import Meaning, is_intact, signatures_of
from manufacturing.core.web import settle_refusal
from manufacturing.materials import operations
from manufacturing.materials.demo import load_demo
from manufacturing.materials.models import EquipmentKind, MaterialKind, MaterialLot, MaterialStatus
from manufacturing.materials.operations import (
    check_equipment_usable,
    check_material_usable,
    usable_equipment,
    usable_materials,
)
from tests.factories import PASSWORD, make_user
from tests.materials.factories import acting, in_days, receive_lot, register, released_lot

LABEL = "CliniMACS CD3 Reagent lot 123456"
LOT = f"CD3 reagent {LABEL}"
PRODIGY = "Cell separator CliniMACS Prodigy (CMP-01)"


def events(database, action: str) -> list[AuditEvent]:
    return list(database.session.scalars(select(AuditEvent).where(AuditEvent.action == action)))


def refused(database, operation, *args, **kwargs) -> DomainError:
    """Run an operation expected to be refused; roll back and keep its follow-ups, as a page does."""
    with pytest.raises(DomainError) as refusal:
        operation(*args, **kwargs)
    settle_refusal(refusal.value)
    return refusal.value


def receive(user, **changes):
    details = {"kind": MaterialKind.CD3_REAGENT, "name": "CliniMACS CD3 Reagent", "manufacturer": "Miltenyi Biotec",
               "supplier_lot": "123456", "expiry_date": in_days(90)} | changes
    return operations.receive_material(user, **details)


@pytest.fixture
def second_qa(database):
    return make_user("qa.two", roles=["QA"], full_name="Secondo Qualita")


# Receipt

def test_a_received_lot_waits_in_quarantine(database, technician):
    material_lot = receive_lot(technician)
    assert material_lot.status is MaterialStatus.QUARANTINE
    assert material_lot.received_by_id == technician.id and material_lot.received_at.tzinfo is not None
    created = events(database, "material_lot.created")[0]
    assert created.username == technician.username and '"supplier_lot":{"new":"123456"}' in created.changes


@pytest.mark.parametrize(("changes", "message"), [
    ({"kind": None}, "Choose the kind of material."),
    ({"name": "  "}, "The material name is required."),
    ({"manufacturer": ""}, "The manufacturer is required."),
    ({"supplier_lot": None}, "The supplier lot number is required."),
    ({"expiry_date": None}, "Give the expiry date printed on the label."),
    ({"supplier_lot": "9" * 61}, "The supplier lot number may have at most 60 characters."),
])
def test_receipt_refuses_incomplete_details(database, technician, changes, message):
    assert refused(database, receive, technician, **changes).message == message


def test_an_expired_lot_is_refused_at_receipt_but_one_expiring_today_is_taken(database, technician):
    yesterday = in_days(-1)
    error = refused(database, receive, technician, expiry_date=yesterday)
    assert error.message == f"{LOT} expired on {yesterday.isoformat()}: an expired lot is not received."
    assert receive(technician, expiry_date=in_days(0)).status is MaterialStatus.QUARANTINE


def test_a_supplier_lot_is_received_once(database, technician, qa_user):
    receive_lot(technician)
    error = refused(database, receive, qa_user, name=" clinimacs cd3 reagent ", supplier_lot="123456")
    assert error.message == f"{LABEL} has already been received: a supplier lot is received once."
    assert receive(technician, supplier_lot="123457").supplier_lot == "123457"


@pytest.mark.parametrize("fixture", ["pharmacist", "admin"])
def test_only_technicians_and_qa_receive(request, database, fixture):
    error = refused(database, receive, request.getfixturevalue(fixture))
    assert isinstance(error, NotPermitted) and error.message == "Only a technician or QA receives material lots."


# QA release, rejection, quarantine

def test_qa_release_is_an_electronic_signature_on_the_lot(database, technician, qa_user):
    material_lot = receive_lot(technician)
    acting(qa_user)
    signature = operations.release_material(qa_user, material_lot, PASSWORD, username="qa.one",
                                            comment="CoA reviewed")
    database.session.commit()
    assert material_lot.status is MaterialStatus.RELEASED
    assert (signature.meaning, signature.printed_name, signature.comment) == (Meaning.RELEASED, "Quinta Qualita",
                                                                             "CoA reviewed")
    assert signatures_of(material_lot) == [signature] and is_intact(signature, material_lot)
    assert events(database, "material_lot.released")[0].username == "qa.one"
    check_material_usable(material_lot, clock.now())


def test_a_wrong_password_is_refused_counted_and_leaves_the_lot_in_quarantine(database, technician, qa_user):
    material_lot = receive_lot(technician)
    error = refused(database, operations.release_material, qa_user, material_lot, "not-my-password")
    assert isinstance(error, SignatureError)
    assert error.message == "Password not accepted: the signature was not applied."
    assert qa_user.failed_logins == 1 and events(database, "auth.signature_failed")
    assert material_lot.status is MaterialStatus.QUARANTINE and signatures_of(material_lot) == []


def test_qa_signs_only_as_themselves(database, technician, qa_user, second_qa):
    material_lot = receive_lot(technician)
    error = refused(database, operations.release_material, qa_user, material_lot, PASSWORD, username="qa.two")
    assert "only sign as yourself" in error.message
    assert material_lot.status is MaterialStatus.QUARANTINE


@pytest.mark.parametrize("fixture", ["technician", "admin", "pharmacist"])
def test_only_qa_decides_on_a_lot(request, database, technician, fixture):
    material_lot = receive_lot(technician)
    user = request.getfixturevalue(fixture)
    assert refused(database, operations.release_material, user, material_lot, PASSWORD).message == \
        "Only QA releases material lots."
    assert refused(database, operations.reject_material, user, material_lot, "Leaking", PASSWORD).message == \
        "Only QA rejects material lots."


def test_the_qa_person_who_received_a_lot_does_not_release_it(database, qa_user, second_qa):
    material_lot = receive_lot(qa_user)
    error = refused(database, operations.release_material, qa_user, material_lot, PASSWORD)
    assert error.message == f"You received {LOT}: another QA person must release it."
    operations.release_material(second_qa, material_lot, PASSWORD)
    assert material_lot.status is MaterialStatus.RELEASED


def test_release_refuses_a_released_or_expired_lot(database, technician, qa_user):
    material_lot = released_lot(technician, qa_user)
    assert refused(database, operations.release_material, qa_user, material_lot, PASSWORD).message == \
        f"{LOT} is already released."
    short_dated = receive_lot(technician, supplier_lot="777", expires_in_days=2)
    with clock.frozen(clock.now() + timedelta(days=4)):
        error = refused(database, operations.release_material, qa_user, short_dated, PASSWORD)
    assert error.message == f"CD3 reagent CliniMACS CD3 Reagent lot 777 expired on {short_dated.expiry_date}: " \
        "an expired lot is not released."


def test_rejection_needs_a_reason_before_the_password_is_checked(database, technician, qa_user):
    material_lot = receive_lot(technician)
    error = refused(database, operations.reject_material, qa_user, material_lot, " ", "wrong-password")
    assert isinstance(error, ReasonRequired) and error.message == "Give a reason for rejecting the lot."
    assert qa_user.failed_logins == 0 and material_lot.status is MaterialStatus.QUARANTINE


def test_a_rejected_lot_is_signed_and_never_usable_again(database, technician, qa_user):
    material_lot = released_lot(technician, qa_user)
    signature = operations.reject_material(qa_user, material_lot, "Vial cracked on receipt", PASSWORD)
    database.session.commit()
    assert signature.meaning is Meaning.REJECTED
    assert material_lot.status_reason == "Vial cracked on receipt"
    assert [s.meaning for s in signatures_of(material_lot)] == [Meaning.RELEASED, Meaning.REJECTED]
    assert events(database, "material_lot.rejected")[0].reason == "Vial cracked on receipt"
    with pytest.raises(DomainError, match=f"^{LOT} was rejected by QA: it cannot be used.$"):
        check_material_usable(material_lot, clock.now())
    for operation, args, message in [
        (operations.release_material, (PASSWORD,), "was rejected by QA: a rejected lot is never released."),
        (operations.quarantine_material, ("Recall",), "was rejected by QA: it stays rejected."),
        (operations.reject_material, ("Again", PASSWORD), "is already rejected."),
    ]:
        assert refused(database, operation, qa_user, material_lot, *args).message == f"{LOT} {message}"


def test_qa_puts_a_released_lot_back_in_quarantine_with_a_reason(database, technician, qa_user):
    material_lot = released_lot(technician, qa_user)
    assert refused(database, operations.quarantine_material, qa_user, material_lot, "").message == \
        "Give a reason for putting the lot back in quarantine."
    operations.quarantine_material(qa_user, material_lot, "Supplier recall notice R-2026-14")
    database.session.commit()
    assert material_lot.status is MaterialStatus.QUARANTINE
    assert events(database, "material_lot.quarantined")[0].reason == "Supplier recall notice R-2026-14"
    assert is_intact(signatures_of(material_lot)[0], material_lot), "a status change does not break the release"
    with pytest.raises(DomainError, match=f"^{LOT} is in quarantine: QA has not released it.$"):
        check_material_usable(material_lot, clock.now())
    assert refused(database, operations.quarantine_material, qa_user, material_lot, "Again").message == \
        f"{LOT} is already in quarantine."


def test_a_change_of_signed_lot_details_breaks_the_release_signature(database, technician, qa_user):
    material_lot = released_lot(technician, qa_user)
    material_lot.expiry_date = in_days(400)
    error = refused(database, database.session.flush)
    assert isinstance(error, ReasonRequired)
    material_lot.expiry_date = in_days(400)
    set_reason(database.session, "Expiry extended by the supplier, letter 2026-07")
    database.session.commit()
    assert not is_intact(signatures_of(material_lot)[0], material_lot)


# Use in the process

def test_expiry_is_judged_by_the_local_date_of_the_site(database, technician, qa_user):
    with clock.frozen(datetime(2026, 10, 1, 8, 0, tzinfo=UTC)):
        material_lot = released_lot(technician, qa_user, expires_in_days=30)
    assert material_lot.expiry_date == date(2026, 10, 31)
    check_material_usable(material_lot, datetime(2026, 10, 31, 22, 59, tzinfo=UTC))  # 23:59 in Rome
    with pytest.raises(DomainError) as late:
        check_material_usable(material_lot, datetime(2026, 10, 31, 23, 0, tzinfo=UTC))  # 00:00 in Rome
    assert late.value.message == f"{LOT} expired on 2026-10-31: it cannot be used."


def test_equipment_is_usable_through_its_calibration_due_date(database, qa_user):
    with clock.frozen(datetime(2026, 10, 1, 8, 0, tzinfo=UTC)):
        prodigy = register(qa_user, due_in_days=31)
    check_equipment_usable(prodigy, datetime(2026, 11, 1, 22, 59, tzinfo=UTC))
    with pytest.raises(DomainError) as overdue:
        check_equipment_usable(prodigy, datetime(2026, 11, 1, 23, 0, tzinfo=UTC))
    assert overdue.value.message == f"{PRODIGY} was due for calibration on 2026-11-01: it cannot be used."


def test_usable_materials_are_released_in_date_and_first_expiry_first(database, technician, qa_user):
    later = released_lot(technician, qa_user, supplier_lot="A-2", expires_in_days=200)
    sooner = released_lot(technician, qa_user, supplier_lot="A-1", expires_in_days=20)
    receive_lot(technician, supplier_lot="Q-1")
    rejected = receive_lot(technician, supplier_lot="R-1")
    operations.reject_material(qa_user, rejected, "Damaged", PASSWORD)
    released_lot(technician, qa_user, kind=MaterialKind.CD56_REAGENT, name="CliniMACS CD56 Reagent")
    assert usable_materials(MaterialKind.CD3_REAGENT, clock.now()) == [sooner, later]
    assert usable_materials(MaterialKind.CD3_REAGENT, clock.now() + timedelta(days=60)) == [later]


def test_usable_equipment_is_active_and_in_calibration(database, qa_user):
    in_date = register(qa_user, code="INC-01", name="Incubator", kind=EquipmentKind.INCUBATOR)
    register(qa_user, code="INC-02", name="Incubator", kind=EquipmentKind.INCUBATOR, due_in_days=-1)
    retired = register(qa_user, code="INC-03", name="Incubator", kind=EquipmentKind.INCUBATOR)
    operations.retire_equipment(qa_user, retired, "Replaced by INC-01")
    register(qa_user)
    assert usable_equipment(EquipmentKind.INCUBATOR, clock.now()) == [in_date]
    with pytest.raises(DomainError, match=r"^Incubator Incubator \(INC-03\) is retired: it cannot be used.$"):
        check_equipment_usable(retired, clock.now())


# Equipment

def test_qa_registers_equipment_under_a_unique_code(database, qa_user):
    manager = qa_user
    prodigy = operations.register_equipment(manager, " cmp-01 ", "CliniMACS Prodigy", EquipmentKind.CELL_SEPARATOR,
                                            "Cleanroom B1", in_days(100))
    assert prodigy.code == "CMP-01" and prodigy.active
    error = refused(database, operations.register_equipment, manager, "CMP-01", "Other", EquipmentKind.CENTRIFUGE,
                    "Lab", in_days(100))
    assert error.message == "The equipment code CMP-01 is already used by CliniMACS Prodigy: codes are unique."


@pytest.mark.parametrize(("changes", "message"), [
    ({"code": ""}, "The equipment code is required."), ({"name": " "}, "The equipment name is required."),
    ({"kind": None}, "Choose the kind of equipment."), ({"location": ""}, "The location is required."),
    ({"calibration_due": None}, "Give the calibration due date."),
])
def test_registration_refuses_incomplete_details(database, qa_user, changes, message):
    details = {"code": "CEN-01", "name": "Centrifuge", "kind": EquipmentKind.CENTRIFUGE, "location": "B2",
               "calibration_due": in_days(10)} | changes
    assert refused(database, operations.register_equipment, qa_user, **details).message == message


@pytest.mark.parametrize("fixture", ["technician", "pharmacist", "admin"])
def test_only_qa_manages_equipment(request, database, qa_user, fixture):
    prodigy = register(qa_user)
    due = prodigy.calibration_due
    user = request.getfixturevalue(fixture)
    assert refused(database, operations.register_equipment, user, "X-1", "X", EquipmentKind.BALANCE, "Lab",
                   in_days(9)).message == "Only QA registers equipment."
    assert refused(database, operations.record_calibration, user, prodigy, in_days(300), "Calibrated").message == \
        "Only QA records a calibration."
    assert refused(database, operations.retire_equipment, user, prodigy, "Old").message == \
        "Only QA retires equipment."
    database.session.refresh(prodigy)
    assert prodigy.calibration_due == due and prodigy.active


def test_a_calibration_is_a_gmp_change_in_the_trail_with_its_reason(database, qa_user):
    prodigy = register(qa_user, due_in_days=-2)
    old_due, new_due = prodigy.calibration_due, in_days(365)
    assert refused(database, operations.record_calibration, qa_user, prodigy, new_due, "").message == \
        "Give a reason for changing the calibration due date."
    operations.record_calibration(qa_user, prodigy, new_due, "Calibrated by Miltenyi service, certificate C-8812")
    database.session.commit()
    check_equipment_usable(prodigy, clock.now())
    change = events(database, "equipment.updated")[0]
    assert change.reason == "Calibrated by Miltenyi service, certificate C-8812" and change.username == "qa.one"
    assert change.change_items == [("calibration_due", old_due.isoformat(), new_due.isoformat())]
    assert events(database, "equipment.calibrated")[0].reason == change.reason


def test_calibration_refuses_a_date_already_passed_or_unchanged(database, qa_user):
    prodigy = register(qa_user, due_in_days=100)
    yesterday = in_days(-1)
    assert refused(database, operations.record_calibration, qa_user, prodigy, yesterday, "Calibrated").message == \
        f"The new calibration due date {yesterday} has already passed: check the calibration certificate."
    assert refused(database, operations.record_calibration, qa_user, prodigy, in_days(100), "Calibrated").message \
        == f"{PRODIGY} is already due for calibration on {in_days(100)}."
    assert refused(database, operations.record_calibration, qa_user, prodigy, None, "Calibrated").message == \
        "Give the next calibration due date from the calibration certificate."


def test_retired_equipment_stays_retired(database, qa_user):
    prodigy = register(qa_user)
    assert refused(database, operations.retire_equipment, qa_user, prodigy, "").message == \
        "Give a reason for retiring the equipment."
    operations.retire_equipment(qa_user, prodigy, "Decommissioned after board failure")
    database.session.commit()
    assert events(database, "equipment.updated")[0].reason == "Decommissioned after board failure"
    assert refused(database, operations.retire_equipment, qa_user, prodigy, "Again").message == \
        f"{PRODIGY} is already retired."
    assert refused(database, operations.record_calibration, qa_user, prodigy, in_days(300), "Cal").message == \
        f"{PRODIGY} is retired: its calibration is no longer recorded."


# Demo data

def test_the_demo_provides_released_materials_and_calibrated_equipment_for_every_step(database, technician, qa_user):
    acting(technician)
    load_demo(technician, qa_user, PASSWORD)
    database.session.commit()
    now = clock.now()
    assert all(usable_materials(kind, now) for kind in MaterialKind)
    assert all(usable_equipment(kind, now) for kind in EquipmentKind if kind is not EquipmentKind.BALANCE)
    lots = database.session.scalars(select(MaterialLot)).all()
    assert sum(lot.status is MaterialStatus.QUARANTINE for lot in lots) == 1
    expired = [lot for lot in lots if lot.status is MaterialStatus.RELEASED and lot.expiry_date < in_days(0)]
    assert len(expired) == 1 and "expired on" in refused(database, check_material_usable, expired[0], now).message
    overdue = operations.find_equipment("INC-02")
    assert "was due for calibration" in refused(database, check_equipment_usable, overdue, now).message
