"""The lot list and the lot page."""

import pytest


@pytest.fixture
def complete_lot(prepared):
    return prepared.lot


def test_lot_page_shows_identity_values_with_units_and_growth_curve(client, login, bench, complete_lot):
    login(bench.technician)
    page = client.get(f"/lots/{complete_lot.id}").get_data(as_text=True)
    assert complete_lot.lot_number in page and "G1234 26 000123" in page and "LAL2013-RM-001" in page
    assert "185 mL" in page and "1.48 × 10¹⁰ cells" in page  # TNC = 80e6/mL x 185 mL
    assert "T-cell log depletion" in page and "Cumulative fold expansion" in page
    assert "<svg class=\"growth\"" in page
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
