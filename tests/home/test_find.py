"""Scan to find: a DIN, a wristband's subject ID or a lot number leads to its page; anything else says why."""

import pytest

from manufacturing.core.errors import DomainError
from manufacturing.home.find import find, scan_problem
from tests.dispensing.factories import KEYBOARD, OTHER_DIN, SCAN
from tests.statements import counting


@pytest.mark.parametrize("code", [SCAN, KEYBOARD, "g1234 26 000123 l", " =G12342600012300 ", "G1234 26 000123 00 L"])
def test_a_dins_scan_or_typing_finds_its_lot(prepared, code):
    found = find(code)
    assert (found.endpoint, found.arguments) == ("lots.detail", {"lot_id": prepared.lot.id})


def test_a_lot_number_and_a_wristband_find_their_pages(prepared):
    lot = prepared.lot
    assert find(lot.lot_number.lower()).arguments == {"lot_id": lot.id}
    for code in (lot.subject.subject_code, f" {lot.subject.subject_code.lower()} "):  # a wristband typed by hand
        found = find(code)
        assert (found.endpoint, found.arguments) == ("patients.detail", {"subject_id": lot.subject_id})


def test_a_lookup_by_code_reads_an_index_not_every_lot(prepared):
    """Codes are stored in capitals and looked up by equality, which their unique indexes serve."""
    with counting() as statements:
        find(prepared.lot.lot_number.lower())
        find(prepared.lot.subject.subject_code.lower())
    assert statements and not [statement for statement in statements if "upper(" in statement.lower()]


@pytest.mark.parametrize(("code", "said"), [
    ("", "Scan a bag's DIN or a wristband"),
    ("G1234 26 000123", "without its check character"),
    ("G1234 26 000123 A", "check character"),
    (OTHER_DIN, "No lot was received with DIN G1234 26 000124"),
    ("=<S12341A0", "product code"),
    ("LAL2013-XX-999", "No lot, bag or subject has the code"),
    (SCAN + SCAN + SCAN + SCAN + "=", "two scans run together"),
    ("'; DROP TABLE lots; --", "No lot, bag or subject"),
])
def test_what_names_nothing_is_told_in_the_labs_words(prepared, code, said):
    with pytest.raises(DomainError) as refused:
        find(code)
    assert said in str(refused.value)


def test_the_find_page_goes_to_the_lot_or_says_why(client, login, prepared, bench):
    login(bench.technician)
    response = client.get("/find", query_string={"code": SCAN})
    assert response.status_code == 302 and response.location.endswith(f"/lots/{prepared.lot.id}")
    page = client.get("/find", query_string={"code": "G1234 26 000123"})
    assert page.status_code == 200
    assert "typed without its check character" in page.get_data(as_text=True)
    assert client.get("/find", query_string={"code": "\x00" * 5000}).status_code == 200


def test_a_scan_field_is_checked_by_the_servers_rules(client, login, prepared, bench):
    login(bench.technician)
    ok = client.get("/find/check", query_string={"kind": "din", "code": SCAN}).get_json()
    assert ok == {"ok": True, "message": "DIN G1234 26 000123"}
    bad = client.get("/find/check", query_string={"kind": "din", "code": "=G1234260001230"}).get_json()
    assert bad["ok"] is False and "re-scan the bag" in bad["message"]
    known = client.get("/find/check", query_string={"kind": "subject", "code": prepared.lot.subject.subject_code})
    assert known.get_json()["ok"] is True
    unknown = client.get("/find/check", query_string={"kind": "subject", "code": "NOBODY-1"}).get_json()
    assert unknown == {"ok": False, "message": "No subject has the ID “NOBODY-1”: check the wristband."}
    assert scan_problem("division", "A0") == (None, "")


def test_finding_needs_a_login(client):
    assert client.get("/find", query_string={"code": SCAN}).status_code == 302
    assert client.get("/find/check", query_string={"kind": "din", "code": SCAN}).status_code in (302, 401)


@pytest.mark.parametrize("hidden", ["\u202e", "\x00", "\u200b"])
def test_a_hidden_character_is_named_never_echoed(client, login, prepared, bench, hidden):
    login(bench.technician)
    page = client.get("/find", query_string={"code": f"{hidden}LOT-1"}).get_data(as_text=True)
    assert hidden not in page and "scan once more" in page
    answer = client.get("/find/check", query_string={"kind": "din", "code": f"{hidden}=G1"}).get_json()
    assert answer["ok"] is False and hidden not in answer["message"]
