"""Lot pages and QA reviews are rendered once per version of their data and per reader, then served from memory."""

import re
import sys
import threading
import time

import pytest
from flask import current_app
from sqlalchemy import select, text

from manufacturing.accounts.models import User
from manufacturing.core import page_cache
from manufacturing.core.audit import set_actor
from manufacturing.extensions import db
from manufacturing.lots import operations as lots
from manufacturing.lots import versions
from manufacturing.lots.models import Lot
from manufacturing.lots.versions import page_version
from manufacturing.processing.doses import doses_of
from manufacturing.processing.models import ProcessStep
from manufacturing.records import jobs
from tests.conftest import past_the_triggers
from tests.factories import PASSWORD
from tests.patients.factories import add_weight
from tests.statements import counting

TOKEN = re.compile(r'name="csrf_token" type="hidden" value="([^"]+)"|name="csrf_token" value="([^"]+)"')


def _queries(statements: list[str]) -> list[str]:
    return [statement for statement in statements if not statement.startswith("BEGIN")]


def _page(client, path: str) -> str:
    response = client.get(path)
    assert response.status_code == 200
    return response.get_data(as_text=True)


def test_a_page_seen_again_is_served_without_reading_the_record(client, login, prepared, bench, database):
    login(bench.qa)
    path = f"/lots/{prepared.lot.id}"
    first = _page(client, path)
    with counting(requests_only=True) as statements:
        again = _page(client, path)
    assert again == first
    assert len(_queries(statements)) == 3, statements  # the session, the lot, the page's version
    assert not any("process_steps" in statement for statement in statements)


def test_a_change_made_through_the_application_shows_at_once(client, login, prepared, bench, database):
    login(bench.qa)
    path = f"/lots/{prepared.lot.id}"
    assert "On hold" not in _page(client, path)
    set_actor(database.session, bench.qa.id, bench.qa.username)
    lots.hold(prepared.lot, bench.qa, "Bag seal to be checked")
    database.session.commit()
    assert "On hold: Bag seal to be checked" in _page(client, path)


def test_each_reader_gets_the_page_of_their_own_roles(client, login, prepared, bench):
    path = f"/lots/{prepared.lot.id}"
    login(bench.qa)
    assert "Cancel the lot" in _page(client, path)
    login(bench.technician)
    assert "Cancel the lot" not in _page(client, path)
    login(bench.qa)
    assert "Cancel the lot" in _page(client, path)


def test_a_qa_review_is_kept_per_reader(client, login, prepared, bench, database):
    unit = doses_of(prepared.lot)[0]
    path = f"/release/doses/{unit.id}"
    login(bench.qa)
    _page(client, path)
    with counting(requests_only=True) as again:
        _page(client, path)
    login(bench.pharmacist)
    assert client.get(path).status_code == 403  # the role check comes before the page, cached or not
    assert len(_queries(again)) == 3, again


def _logged_in_with_csrf(app, user):
    client = app.test_client()
    token = TOKEN.search(_page(client, "/login"))
    response = client.post("/login", data={"username": user.username, "password": PASSWORD,
                                           "csrf_token": token.group(1) or token.group(2)})
    assert response.status_code == 302
    return client


def test_the_form_token_in_a_kept_page_is_the_readers_own(app, prepared, bench, monkeypatch):
    monkeypatch.setitem(app.config, "WTF_CSRF_ENABLED", True)
    path = f"/lots/{prepared.lot.id}"
    first, second = _logged_in_with_csrf(app, bench.qa), _logged_in_with_csrf(app, bench.qa)
    _page(first, path)  # kept for this reader
    page = _page(second, path)
    tokens = {match.group(1) or match.group(2) for match in TOKEN.finditer(page)}
    assert len(tokens) == 1 and "csrf-" not in page
    response = second.post(f"/lots/{prepared.lot.id}/hold", data={"reason": "Seal to be checked",
                                                                  "csrf_token": tokens.pop()})
    assert response.status_code == 302
    assert "On hold: Seal to be checked" in _page(second, path)


def test_no_cache_when_turned_off(app, client, login, prepared, bench, monkeypatch):
    monkeypatch.setitem(app.config, "PAGE_CACHE_BYTES", 0)
    login(bench.qa)
    path = f"/lots/{prepared.lot.id}"
    _page(client, path)
    with counting(requests_only=True) as statements:
        _page(client, path)
    assert any("process_steps" in statement for statement in statements)


def test_a_change_behind_the_applications_back_shows_once_the_page_is_old(app, client, login, prepared, bench,
                                                                          database, monkeypatch):
    monkeypatch.setitem(app.config, "PAGE_CACHE_SECONDS", 1)
    login(bench.qa)
    path = f"/lots/{prepared.lot.id}"
    assert "Broken: record changed after signing" not in _page(client, path)
    step_id = database.session.scalar(select(ProcessStep.id).where(ProcessStep.lot_id == prepared.lot.id).limit(1))
    database.session.commit()  # SQLite: the test's own transaction lets the insider's edit through
    with past_the_triggers() as connection:  # an insider's edit: no audit event, so no new version
        connection.execute(text("UPDATE process_steps SET observations = 'edited' WHERE id = :id"), {"id": step_id})
    time.sleep(1.1)
    assert "Broken: record changed after signing" in _page(client, path)


def test_the_cache_is_bounded_in_bytes(app, monkeypatch):
    monkeypatch.setitem(app.config, "PAGE_CACHE_BYTES", 1000)
    with app.test_request_context("/"):
        for number in range(20):
            page_cache.cached_part(("test", number), lambda: "x" * 300)
        cache = page_cache._cache()
        assert cache.currsize <= 1000 and len(cache) == 2  # sized as Python holds them (349 bytes each)
        assert page_cache.cached_part(("test", "big"), lambda: "y" * 5000) == "y" * 5000  # too big: served, not kept


@pytest.mark.parametrize("typed", ["csrf-", "{{ csrf_token() }}"])
def test_text_typed_by_a_person_never_becomes_a_token(app, typed):
    with app.test_request_context("/"):
        assert page_cache.cached_part(("typed", typed), lambda: typed) == typed


def test_a_change_of_the_subject_is_a_new_version_of_the_lots_pages(prepared, bench):
    before = page_version(prepared.lot)
    add_weight(bench.qa, prepared.lot.subject, "65.0 kg")
    after = page_version(prepared.lot)
    assert after[0] > before[0] and after[1] != before[1] and len(after[1]) == 64


# PostgreSQL reads each statement's newest commits: a hold committed while a page is built (between the lot's
# loading and its version's reading) must not leave the page of the lot as it was kept under the new version.
REASON = "Bag seal to be checked"


def _fresh(client, path: str) -> str:
    size, current_app.config["PAGE_CACHE_BYTES"] = current_app.config["PAGE_CACHE_BYTES"], 0
    try:
        return _page(client, path)
    finally:
        current_app.config["PAGE_CACHE_BYTES"] = size


def _hold_elsewhere(app, lot_id: int, user_id: int, errors: list) -> None:
    """Another request (another worker thread, its own session) puts the lot on hold and commits."""
    try:
        with app.app_context():
            user, lot = db.session.get(User, user_id), db.session.get(Lot, lot_id)
            set_actor(db.session, user.id, user.username)
            lots.hold(lot, user, REASON)
            db.session.commit()
            db.session.remove()
    except Exception as error:  # reported by the test
        errors.append(error)


def _commit_in_between(app, monkeypatch, module, name, lot_id, user_id):
    """Let a hold commit just before the view reads the page's version (after it loaded the lot)."""
    original, errors, fired = getattr(module, name), [], []

    def racing(*arguments, **keywords):
        if not fired:
            fired.append(True)
            thread = threading.Thread(target=_hold_elsewhere, args=(app, lot_id, user_id, errors))
            thread.start()
            thread.join(60)
        return original(*arguments, **keywords)

    monkeypatch.setattr(module, name, racing)
    return errors


def test_a_lot_page_built_while_another_request_commits_is_never_kept_older_than_its_version(
        app, client, login, prepared, bench, database, monkeypatch):
    login(bench.qa)
    lot_id, path = prepared.lot.id, f"/lots/{prepared.lot.id}"
    assert "On hold" not in _page(client, path)
    database.session.commit()
    errors = _commit_in_between(app, monkeypatch, jobs, "page_state", lot_id, bench.qa.id)
    _page(client, path)  # the racing request: lot read before the hold, version read after it
    monkeypatch.undo()
    assert not errors, errors
    fresh = _fresh(client, path)
    assert f"On hold: {REASON}" in fresh
    kept = _page(client, path)  # no new change: the same version, so the entry kept by the racing request
    assert f"On hold: {REASON}" in kept  # not the page of the lot as loaded before the hold


def test_a_qa_review_built_while_another_request_commits_is_never_kept_older_than_its_version(
        app, client, login, prepared, bench, database, monkeypatch):
    login(bench.qa)
    unit = doses_of(prepared.lot)[0]
    lot_id, path = prepared.lot.id, f"/release/doses/{unit.id}"
    before = _page(client, path)
    database.session.commit()
    errors = _commit_in_between(app, monkeypatch, versions, "page_version", lot_id, bench.qa.id)
    _page(client, path)
    monkeypatch.undo()
    assert not errors, errors
    fresh, kept = _fresh(client, path), _page(client, path)
    assert fresh != before  # the hold shows on a fresh review (the lot's state in the identity bar)
    assert TOKEN.sub("csrf", kept) == TOKEN.sub("csrf", fresh)  # the form's token carries the second it was made


def test_the_bound_counts_the_bytes_a_page_takes(client, login, prepared, bench):
    login(bench.qa)
    page_cache.clear()
    _page(client, f"/lots/{prepared.lot.id}")  # curly quotes and ellipses: two bytes a character
    cache = page_cache._cache()
    (kept,) = cache.values()
    assert cache.currsize == sys.getsizeof(kept) > 2 * len(kept)
