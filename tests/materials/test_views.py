"""Material lots and equipment through the pages: who may see and post what, and what QA sees."""

from datetime import timedelta

import pytest
from sqlalchemy import select

from manufacturing.core import clock
from manufacturing.core.audit import AuditEvent, set_reason
from manufacturing.core.signatures import signatures_of
from manufacturing.materials.models import Equipment, MaterialKind, MaterialLot, MaterialStatus
from tests.factories import PASSWORD
from tests.materials.factories import in_days, receive_lot, register, released_lot

RECEIPT = {"kind": "CD3_REAGENT", "name": "CliniMACS CD3 Reagent", "manufacturer": "Miltenyi Biotec",
           "supplier_lot": "123456"}
EQUIPMENT = {"code": "CMP-01", "name": "CliniMACS Prodigy", "kind": "CELL_SEPARATOR", "location": "Cleanroom B1"}


def page(client, url: str, **params) -> str:
    response = client.get(url, query_string=params)
    assert response.status_code == 200
    return response.get_data(as_text=True)


def post(client, url: str, data: dict) -> str:
    return client.post(url, data=data, follow_redirects=True).get_data(as_text=True)


def signing(prefix: str, username: str = "qa.one", password: str = PASSWORD, **fields) -> dict:
    data = {"sign_username": username, "sign_password": password} | fields
    return {f"{prefix}-{name}": value for name, value in data.items()}


@pytest.fixture
def lot(database, technician):
    return receive_lot(technician)


@pytest.fixture
def prodigy(database, qa_user):
    return register(qa_user)


# Who may see and post what

@pytest.mark.parametrize("fixture", ["technician", "qa_user", "pharmacist", "admin"])
def test_everyone_sees_materials_lots_and_equipment(request, client, login, lot, prodigy, fixture):
    login(request.getfixturevalue(fixture))
    assert "CliniMACS CD3 Reagent" in page(client, "/materials/") and "CMP-01" in page(client, "/materials/")
    assert "Quarantine" in page(client, f"/materials/lots/{lot.id}")
    assert "Cleanroom B1" in page(client, f"/materials/equipment/{prodigy.id}")


@pytest.mark.parametrize(("fixture", "receive", "register_"), [
    ("technician", 200, 403), ("qa_user", 200, 200), ("pharmacist", 403, 403), ("admin", 403, 403),
])
def test_who_opens_the_receipt_and_registration_forms(request, client, login, fixture, receive, register_):
    login(request.getfixturevalue(fixture))
    assert client.get("/materials/lots/new").status_code == receive
    assert client.get("/materials/equipment/new").status_code == register_


@pytest.mark.parametrize("fixture", ["technician", "pharmacist", "admin"])
def test_only_qa_posts_lot_decisions(request, client, login, lot, fixture):
    login(request.getfixturevalue(fixture))
    for action in ("release", "reject", "quarantine"):
        assert client.post(f"/materials/lots/{lot.id}/{action}", data={}).status_code == 403
    assert lot.status is MaterialStatus.QUARANTINE


@pytest.mark.parametrize("fixture", ["technician", "pharmacist", "admin"])
def test_only_qa_posts_equipment_changes(request, client, login, prodigy, fixture):
    login(request.getfixturevalue(fixture))
    assert client.post("/materials/equipment/new", data=EQUIPMENT).status_code == 403
    for action in ("calibration", "retire"):
        assert client.post(f"/materials/equipment/{prodigy.id}/{action}", data={}).status_code == 403


def test_the_administrator_cannot_extend_a_calibration(client, login, prodigy, admin, database):
    login(admin)
    due = prodigy.calibration_due
    data = {"calibration-calibration_due": in_days(365).isoformat(), "calibration-reason": "Certificate C-8812"}
    assert client.post(f"/materials/equipment/{prodigy.id}/calibration", data=data).status_code == 403
    database.session.refresh(prodigy)
    assert prodigy.calibration_due == due


def test_the_administrator_cannot_release_a_material_lot(client, login, lot, admin, database):
    login(admin)
    data = signing("release", username=admin.username, comment="CoA reviewed")
    assert client.post(f"/materials/lots/{lot.id}/release", data=data).status_code == 403
    database.session.refresh(lot)
    assert lot.status is MaterialStatus.QUARANTINE and signatures_of(lot) == []


def test_unknown_records_are_not_found(client, login, qa_user):
    login(qa_user)
    assert client.get("/materials/lots/999").status_code == 404
    assert client.post("/materials/lots/999/release", data={}).status_code == 404
    assert client.get("/materials/equipment/999").status_code == 404


# Receipt

def test_a_technician_receives_a_lot_into_quarantine(client, login, technician, database):
    login(technician)
    response = client.post("/materials/lots/new", data=RECEIPT | {"expiry_date": in_days(90).isoformat()})
    received = database.session.scalars(select(MaterialLot)).one()
    assert response.headers["Location"] == f"/materials/lots/{received.id}"
    text = page(client, response.headers["Location"])
    assert "Lot received into quarantine" in text and "is in quarantine: QA has not released it." in text
    assert received.status is MaterialStatus.QUARANTINE and received.received_by_id == technician.id


def test_receipt_of_an_expired_lot_is_refused_with_the_reason(client, login, technician, database):
    login(technician)
    yesterday = in_days(-1).isoformat()
    text = post(client, "/materials/lots/new", RECEIPT | {"expiry_date": yesterday})
    assert f"lot 123456 expired on {yesterday}: an expired lot is not received." in text
    assert database.session.scalars(select(MaterialLot)).all() == []


def test_receipt_form_names_a_missing_field(client, login, technician):
    login(technician)
    text = post(client, "/materials/lots/new", RECEIPT | {"supplier_lot": ""})
    assert "This field is required." in text and "Receive into quarantine" in text


# QA decisions with signatures

@pytest.mark.parametrize(("fixture", "shown"), [("technician", False), ("admin", False), ("qa_user", True)])
def test_only_qa_sees_the_signature_forms(request, client, login, lot, fixture, shown):
    login(request.getfixturevalue(fixture))
    text = page(client, f"/materials/lots/{lot.id}")
    assert ("Electronic signature · Released" in text) is shown
    assert ("Electronic signature · Rejected" in text) is shown


def test_qa_releases_a_lot_with_user_id_and_password(client, login, lot, qa_user):
    login(qa_user)
    text = post(client, f"/materials/lots/{lot.id}/release", signing("release", comment="CoA reviewed"))
    assert "Lot released" in text and "Quinta Qualita (qa.one) · Released · " in text and "Usable now." in text
    assert lot.status is MaterialStatus.RELEASED


def test_a_wrong_password_at_release_is_refused_and_counted(client, login, lot, qa_user):
    login(qa_user)
    text = post(client, f"/materials/lots/{lot.id}/release", signing("release", password="wrong-password"))
    assert "Password not accepted: the signature was not applied." in text and "Not signed yet." in text
    assert lot.status is MaterialStatus.QUARANTINE and qa_user.failed_logins == 1


def test_the_receiver_is_told_another_qa_person_must_release(client, login, qa_user):
    material_lot = receive_lot(qa_user)
    login(qa_user)
    assert "another QA person must release it" in page(client, f"/materials/lots/{material_lot.id}")


def test_rejection_without_a_reason_changes_nothing(client, login, lot, qa_user):
    login(qa_user)
    text = post(client, f"/materials/lots/{lot.id}/reject", signing("reject", reason=""))
    assert "Reason for rejection: This field is required." in text
    assert lot.status is MaterialStatus.QUARANTINE


def test_qa_rejects_a_lot_for_good(client, login, lot, qa_user):
    login(qa_user)
    text = post(client, f"/materials/lots/{lot.id}/reject", signing("reject", reason="Vial cracked"))
    assert "Lot rejected" in text and "Reason: Vial cracked" in text and "· Rejected · " in text
    assert "was rejected by QA: it cannot be used." in text and "Electronic signature" not in text


def test_qa_puts_a_released_lot_back_in_quarantine(client, login, technician, qa_user):
    material_lot = released_lot(technician, qa_user)
    login(qa_user)
    text = post(client, f"/materials/lots/{material_lot.id}/quarantine", {"quarantine-reason": "Supplier recall"})
    assert "Lot put back in quarantine" in text and "Reason: Supplier recall" in text
    assert material_lot.status is MaterialStatus.QUARANTINE


def test_a_signature_shows_broken_after_the_signed_details_change(client, login, technician, qa_user, database):
    material_lot = released_lot(technician, qa_user)
    set_reason(database.session, "Expiry corrected from the certificate")
    material_lot.expiry_date = material_lot.expiry_date + timedelta(days=1)
    login(qa_user)
    assert "Broken: record changed after signing" in page(client, f"/materials/lots/{material_lot.id}")


# The list

def test_the_list_filters_lots_and_warns_of_expiry(client, login, technician, qa_user):
    released_lot(technician, qa_user, supplier_lot="SOON", expires_in_days=10)
    released_lot(technician, qa_user, kind=MaterialKind.SALINE, name="Sodium Chloride 0.9%", supplier_lot="NACL")
    login(technician)
    text = page(client, "/materials/")
    assert "Expires within 30 days" in text and "Sodium Chloride 0.9%" in text
    text = page(client, "/materials/", kind="SALINE")
    assert "Sodium Chloride 0.9%" in text and "SOON" not in text
    assert "No lots match." in page(client, "/materials/", status="REJECTED")
    assert "Expired" not in text
    with clock.frozen(clock.now() - timedelta(days=20)):
        released_lot(technician, qa_user, supplier_lot="OLD", expires_in_days=10)
    assert "Expired" in page(client, "/materials/", kind="CD3_REAGENT")


def test_the_list_warns_of_calibration(client, login, qa_user):
    register(qa_user, code="CMP-01", due_in_days=-1)
    register(qa_user, code="CEN-01", name="Centrifuge", due_in_days=12)
    login(qa_user)
    text = page(client, "/materials/")
    assert "Calibration overdue" in text and "Calibration due within 30 days" in text


# Equipment

def test_qa_registers_equipment_and_a_duplicate_code_is_refused(client, login, qa_user, database):
    login(qa_user)
    data = EQUIPMENT | {"calibration_due": in_days(100).isoformat()}
    response = client.post("/materials/equipment/new", data=data)
    prodigy = database.session.scalars(select(Equipment)).one()
    assert response.headers["Location"] == f"/materials/equipment/{prodigy.id}"
    text = post(client, "/materials/equipment/new", data | {"code": "cmp-01"})
    assert "The equipment code CMP-01 is already used by CliniMACS Prodigy" in text


def test_calibration_needs_a_reason_and_is_in_the_trail(client, login, prodigy, qa_user, database):
    login(qa_user)
    url, new_due = f"/materials/equipment/{prodigy.id}/calibration", in_days(365).isoformat()
    text = post(client, url, {"calibration-calibration_due": new_due, "calibration-reason": ""})
    assert "This field is required." in text and prodigy.calibration_due == in_days(180)
    text = post(client, url, {"calibration-calibration_due": new_due, "calibration-reason": "Certificate C-8812"})
    assert "Calibration recorded" in text and new_due in text
    change = database.session.scalars(select(AuditEvent).where(AuditEvent.action == "equipment.updated")).one()
    assert change.reason == "Certificate C-8812" and change.username == "qa.one"


def test_qa_retires_equipment(client, login, prodigy, qa_user):
    login(qa_user)
    text = post(client, f"/materials/equipment/{prodigy.id}/retire", {"retire-reason": "Replaced"})
    assert "Equipment retired" in text and "is retired: it cannot be used." in text and "Save calibration" not in text
    assert "Retired" in page(client, "/materials/")
