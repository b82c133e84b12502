"""The lot list and the lot page."""

import pytest
from sqlalchemy import select

from manufacturing.accounts.models import UserRole
from manufacturing.core.permissions import Role
from manufacturing.extensions import db
from manufacturing.lots import operations as lot_operations
from manufacturing.processing.models import DoseUnit
from tests.dispensing.factories import done, issue


@pytest.fixture
def complete_lot(prepared):
    return prepared.lot


def test_lot_page_shows_identity_values_with_units_and_growth_curve(client, login, bench, complete_lot):
    login(bench.technician)
    page = client.get(f"/lots/{complete_lot.id}").get_data(as_text=True)
    assert complete_lot.lot_number in page and "G1234 26 000123" in page and "LAL2013-RM-001" in page
    assert "185 mL" in page and "1.48 × 10¹⁰ cells" in page  # TNC = 80e6/mL x 185 mL
    assert "T-cell log depletion" in page and "Cumulative fold expansion" in page
    assert '<img class="chart growth" src="data:image/svg+xml;base64,' in page
    assert "Growth curve, viable NK cells by culture day (log scale): day 0 " in page
    assert "Verified" in page


def test_lot_list(client, login, bench, complete_lot):
    login(bench.qa)
    page = client.get("/lots/").get_data(as_text=True)
    assert complete_lot.lot_number in page and "Doses prepared" in page


def test_verify_is_offered_to_the_second_technician_only(client, login, bench):
    lot = bench.receive()  # performed by the bench's technician, not yet verified
    login(bench.technician)
    assert "Verify this step" not in client.get(f"/lots/{lot.id}").get_data(as_text=True)
    login(bench.verifier)
    assert "Verify this step" in client.get(f"/lots/{lot.id}").get_data(as_text=True)
    login(bench.qa)
    assert "Verify this step" not in client.get(f"/lots/{lot.id}").get_data(as_text=True)


def test_each_limit_is_written_once_beside_its_check(client, login, bench, complete_lot):
    login(bench.technician)
    page = client.get(f"/lots/{complete_lot.id}").get_data(as_text=True)
    assert "is within limits (alert &lt; 80 %, action &lt; 70 %)" in page
    limits = "(alert &lt; 80 %, action &lt; 70 %)"
    assert f"{limits} <small" not in page and f"{limits} (" not in page


def test_a_choice_shows_the_words_it_was_offered_in(client, login, bench, complete_lot):
    login(bench.technician)
    page = client.get(f"/lots/{complete_lot.id}").get_data(as_text=True)
    assert "Action</td><td><strong>Count only</strong>" in page or "Action</td><td><strong>Feed</strong>" in page
    assert "Action</td><td><strong>none</strong>" not in page and "(typed “none”)" not in page


def test_the_lot_list_filters_by_state_subject_and_opening_date(client, login, bench, complete_lot):
    from datetime import timedelta

    from manufacturing.core import clock

    second = bench.receive(din="=G12342600012400")  # the same subject's second bag, just received
    login(bench.qa)

    def listed(**query) -> set[str]:
        page = client.get("/lots/", query_string=query).get_data(as_text=True)
        return {lot.lot_number for lot in (complete_lot, second) if f">{lot.lot_number}<" in page}

    both = {complete_lot.lot_number, second.lot_number}
    assert listed() == both
    assert listed(state="DOSES_PREPARED") == {complete_lot.lot_number}
    assert listed(state="RECEIVED") == {second.lot_number}
    assert listed(subject=complete_lot.subject.subject_code.lower()) == both
    assert listed(subject="NOBODY-1") == set()
    opened, day = clock.local_date(complete_lot.opened_at), timedelta(days=1)
    assert complete_lot.lot_number in listed(opened_from=opened.isoformat(), opened_to=opened.isoformat())
    assert listed(opened_to=(opened - day).isoformat()) == set()
    assert listed(opened_from=(clock.today() + day).isoformat()) == set()
    assert listed(state="NO_SUCH_STATE") == set() and listed(opened_from="0001-01-01") == set()
    assert "No lot matches the filter." in client.get("/lots/?subject=NOBODY-1").get_data(as_text=True)


def test_the_lot_page_opens_on_what_the_lot_waits_for(client, login, bench):
    lot = bench.receive()
    login(bench.verifier)
    page = client.get(f"/lots/{lot.id}").get_data(as_text=True)
    assert "<strong>Next:</strong> Verify apheresis receipt" in page
    assert 'class="btn btn-primary" href="#step-' in page.split('data-testid="next-action"')[1].split("</section>")[0]
    login(bench.technician)  # the performer: told what waits, offered nothing to sign
    mine = client.get(f"/lots/{lot.id}").get_data(as_text=True).split('data-testid="next-action"')[1]
    assert "Verify apheresis receipt" in mine.split("</section>")[0] and "#step-" not in mine.split("</section>")[0]


def test_the_next_panel_offers_qa_the_review_of_each_unit_in_quarantine(client, login, prepared):
    units = list(db.session.scalars(select(DoseUnit).where(DoseUnit.lot_id == prepared.lot.id)))
    login(prepared.bench.qa)
    panel = next_panel(client.get(f"/lots/{prepared.lot.id}").get_data(as_text=True))
    assert units and all(f'href="/release/doses/{unit.id}">Review unit {unit.division_code} for release' in panel
                         for unit in units)
    for person in (prepared.bench.pharmacist, prepared.bench.technician):
        login(person)
        panel = next_panel(client.get(f"/lots/{prepared.lot.id}").get_data(as_text=True))
        assert "/release/doses/" not in panel and "/pharmacy/doses/" not in panel


def test_the_next_panel_offers_pharmacy_the_unit_it_may_act_on(client, login, ward):
    lot, unit = ward.lot, ward.fresh
    login(ward.pharmacist)
    assert f'href="/pharmacy/doses/{unit.id}">Unit {unit.division_code}: issue' in panel_of(client, lot)
    done(ward.pharmacist, issue, ward)
    login(ward.pharmacist)
    assert f"Unit {unit.division_code}: bedside check and administration" in panel_of(client, lot)
    login(ward.bench.qa)
    assert "/pharmacy/doses/" not in panel_of(client, lot)


def test_the_next_panel_sends_pharmacy_to_no_unit_it_may_not_give(client, login, released_dose):
    """Past its use-by time and without a release label: nothing for pharmacy to do but what its page says."""
    login(released_dose.bench.pharmacist)
    assert "/pharmacy/doses/" not in panel_of(client, released_dose.lot)


def panel_of(client, lot) -> str:
    return next_panel(client.get(f"/lots/{lot.id}").get_data(as_text=True))


def next_panel(page: str) -> str:
    start = page.index('data-testid="next-action"')
    return page[start:page.index("</section>", start)]


def test_the_next_panel_sends_no_qa_person_who_signed_a_step_to_release(client, login, prepared):
    verifier = prepared.bench.verifier
    db.session.add(UserRole(user_id=verifier.id, role=Role.QA))
    db.session.commit()
    login(verifier)
    assert "/release/doses/" not in next_panel(client.get(f"/lots/{prepared.lot.id}").get_data(as_text=True))


def test_the_next_panel_sends_pharmacy_to_no_unit_of_a_held_lot(client, login, ward):
    login(ward.pharmacist)
    assert f"/pharmacy/doses/{ward.fresh.id}" in panel_of(client, ward.lot)
    lot_operations.hold(ward.lot, ward.bench.qa, "environmental monitoring excursion")
    db.session.commit()
    assert f"/pharmacy/doses/{ward.fresh.id}" not in panel_of(client, ward.lot)
