"""`audit verify` in ranges: read whole, in short ranges or by processes of their own, the report is the same."""

import hashlib
import hmac
import math
from datetime import UTC, datetime
from itertools import pairwise

import pytest
from hypothesis import given
from hypothesis import strategies as st
from sqlalchemy import text

from manufacturing.core import audit_scan
from manufacturing.core.audit import record_event
from manufacturing.core.audit_scan import (
    COPY_RANGE,
    RangeTask,
    _content_text,
    _copied_row,
    _link_text,
    hmac_pads,
    merged,
    padded_mac,
    plan,
    range_query,
    scan_rows,
    utc_text,
)
from manufacturing.core.audit_verify import ALTERED, verify_as_of_now, verify_chain
from manufacturing.core.copy_out import copied_lines
from manufacturing.core.keyring import canonical
from tests.core.tampering import change, run, trail
from tests.factories import make_user


@pytest.fixture(params=["compiled", "python"])
def checker(request, monkeypatch):
    """Each row checked by the compiled check where it can, or every row by the Python check."""
    if request.param == "python":
        monkeypatch.setattr(audit_scan, "Sealer", None)
    elif audit_scan.Sealer is None:
        pytest.skip("built without the compiled check")


@pytest.fixture
def written(database):
    """A trail of some length, committed, so that processes of their own can read it."""
    for number in range(12):
        make_user(f"tech.{number}", full_name=f"Tecnico {number}")
        record_event(database.session, "lot.released", "lot", number, {"state": {"old": "a", "new": "b"}})
    database.session.commit()
    return database


@pytest.mark.parametrize("chunk_rows", [1, 2, 7, 1000])
def test_ranges_in_this_process_report_what_one_pass_reports(written, chunk_rows):
    assert verify_chain(written.session, chunk_rows=chunk_rows) == verify_chain(written.session)


def test_ranges_in_processes_of_their_own_report_what_one_pass_reports(written):
    whole = verify_chain(written.session)
    assert whole.ok
    assert verify_chain(written.session, chunk_rows=5, workers=2) == whole


def test_an_altered_row_is_found_by_the_process_that_reads_it(written, checker):
    rows = trail()
    row = rows[len(rows) // 2]
    change("audit_events", row["id"], reason="nothing happened")
    whole = verify_chain(written.session)
    assert ALTERED in whole.kinds
    assert verify_chain(written.session, chunk_rows=3, workers=2) == whole


def test_the_command_verifies_in_parallel_as_configured(written, app):
    app.config.update(AUDIT_VERIFY_CHUNK_ROWS=4, AUDIT_VERIFY_WORKERS=2, AUDIT_VERIFY_APART_ROWS=0)
    assert verify_as_of_now(written.session) == verify_chain(written.session)


def test_ranges_cover_every_row_once(written):
    rows = trail()
    tasks = plan(written.session.connection(), 5, frozenset())
    assert tasks[0].start_index == 0
    assert all(left.high_id < right.low_id for left, right in pairwise(tasks))
    assert sum(1 for row in rows if any(task.low_id <= row["id"] <= task.high_id for task in tasks)) == len(rows)


@pytest.mark.parametrize(("stored", "sealed"), [
    ("2026-12-02 02:15:36.123456", "2026-12-02T02:15:36.123456+00:00"),
    ("2026-12-02 02:15:36.000000", "2026-12-02T02:15:36+00:00"),
    ("2026-12-02 02:15:36", "2026-12-02T02:15:36+00:00"),
    (datetime(2026, 12, 2, 2, 15, 36, 5), "2026-12-02T02:15:36.000005+00:00"),
    (datetime(2026, 12, 2, 2, 15, 36, tzinfo=UTC), "2026-12-02T02:15:36+00:00"),
    ("not a time", "not a time"),
])
def test_stored_times_read_as_the_seal_covers_them(stored, sealed):
    assert utc_text(stored) == sealed


def _scan(rows: list[tuple], start: int = 0):
    events = [(number, "2026-01-01 00:00:00.000000", None, "system", action, entity, entity_id, None, changes, None,
               "k", "", "", "") for number, (action, entity, entity_id, changes) in enumerate(rows, start)]
    return scan_rows(events, {}, RangeTask(start, start + len(rows), start))


def test_records_replayed_in_ranges_end_as_replayed_whole():
    rows = [("user.created", "user", "1", '{"name":{"new":"a"},"role":{"new":"x"}}'),
            ("user.updated", "user", "1", '{"name":{"old":"a","new":"b"}}'),
            ("user.created", "user", "2", '{"name":{"new":"c"}}'),
            ("user.deleted", "user", "2", '{"name":{"old":"c"}}'),
            ("user.updated", "user", "1", '{"role":{"old":"x","new":"y"}}'),
            ("user.updated", "user", "3", '{"name":{"new":"d"}}'),
            ("user.updated", "user", "2", '{"role":{"new":"z"}}'),
            ("lot.released", "lot", "1", '{"state":{"new":"released"}}')]
    whole = merged([_scan(rows)])
    assert whole == {("user", "1"): {"name": "b", "role": "y"}, ("user", "2"): {"role": "z"},
                     ("user", "3"): {"name": "d"}}
    for cut in range(1, len(rows)):
        assert merged([_scan(rows[:cut]), _scan(rows[cut:], cut)]) == whole


HOSTILE = ["tab\there", "line\nbreak\r\n", "back\\slash \\N \\t", "\\N", "", 'quote " and \\"', "é ∑ 🧪",
           "\x01\x1f\x7f", "\u2028\u2029", "NaN"]


@pytest.fixture
def hostile(database):
    """Events whose every text field holds what COPY, JSON and the seal's text must each escape."""
    for number, value in enumerate(HOSTILE):
        record_event(database.session, "lot.noted", "lot", value, {"note": {"new": value}, "n": {"new": number}},
                     scope=value or None, reason=value)
        record_event(database.session, "lot.noted", "lot", number, {"text": value}, reason=None)
    database.session.commit()
    return database


def test_hostile_text_verifies_intact_read_whole_or_in_processes(hostile, checker):
    whole = verify_chain(hostile.session)
    assert whole.ok, str(whole)
    assert verify_chain(hostile.session, chunk_rows=3, workers=2) == whole


def test_a_change_to_hostile_text_is_found(hostile, checker):
    row = next(row for row in trail() if row["reason"] == "back\\slash \\N \\t")
    change("audit_events", row["id"], reason="back\\slash \\N \\t ")
    assert ALTERED in verify_chain(hostile.session, chunk_rows=3, workers=2).kinds


def test_rows_read_by_copy_are_the_rows_a_cursor_reads(hostile):
    connection = hostile.session.connection()
    if connection.dialect.name != "postgresql":
        pytest.skip("COPY is PostgreSQL's")
    low, high = connection.execute(text("SELECT min(id), max(id) FROM audit_events")).one()
    dbapi_connection = connection.connection.dbapi_connection
    cursor = dbapi_connection.cursor()
    cursor.execute("SET LOCAL DateStyle TO ISO")
    lines = [line for batch in copied_lines(dbapi_connection, COPY_RANGE % (low, high), 7) for line in batch]
    rows = [_copied_row(bytes(line).decode().removesuffix("\n")) for line in lines]
    copied = [(row[0], utc_text(row[1]), *row[2:]) for row in rows]
    cursor.execute(range_query("postgresql"), (low, high))
    fetched = [(row[0], utc_text(row[1]), *row[2:]) for row in cursor.fetchall()]
    assert copied == fetched


@pytest.mark.parametrize("key", [b"k" * 32, b"\x00" * 64, bytes(range(100))])
def test_prepared_pads_give_the_standard_hmac(key):
    for data in (b"", b"x", b"audit" * 100):
        assert padded_mac(hmac_pads(key), data) == hmac.new(key, data, hashlib.sha256).hexdigest()


fields = st.one_of(st.none(), st.text(st.characters(blacklist_categories=("Cs",))))


@given(username=st.text(st.characters(blacklist_categories=("Cs",))), entity_id=fields, scope=fields,
       changes=st.text(st.characters(blacklist_categories=("Cs",))), reason=fields,
       user_id=st.one_of(st.none(), st.integers(0, 2**31)))
def test_the_direct_text_is_the_canonical_text(username, entity_id, scope, changes, reason, user_id):
    row = (1, "", user_id, username, "lot.noted", "lot", entity_id, scope, changes, reason)
    occurred = "2026-12-02T02:15:36+00:00"
    assert _content_text(row, occurred) == canonical(["audit row", occurred, *row[2:10]]).encode()


def test_a_link_of_hex_text_is_the_canonical_text():
    assert _link_text("0" * 64, "ab12" * 16) == canonical(["audit link", "0" * 64, "ab12" * 16]).encode()


@pytest.mark.parametrize("changes", ['{"count":{"new":100000000000000000000000000000}}',
                                     '{"count":{"new":100000000000000000000000000000},"n":{"new":1e400}}',
                                     '{"count":{"new":100000000000000000000000000000},"s":{"new":"\\ud800"}}'])
def test_long_integers_are_read_as_json_reads_them_whatever_else_the_change_holds(changes):
    """orjson reads an integer beyond 64 bits as a float: the replay must not depend on which reader ran."""
    replayed = merged([_scan([("user.updated", "user", "1", changes)])])
    assert replayed[("user", "1")]["count"] == 10**29 and type(replayed[("user", "1")]["count"]) is int


def test_changes_orjson_refuses_are_read_as_json_reads_them():
    replayed = merged([_scan([("user.updated", "user", "1", '{"weight":{"new":NaN},"name":{"new":"a"}}')])])
    assert math.isnan(replayed[("user", "1")]["weight"]) and replayed[("user", "1")]["name"] == "a"


def _postgresql_only(database) -> None:
    if database.session.connection().dialect.name != "postgresql":
        pytest.skip("what COPY reads is PostgreSQL's")


@pytest.mark.parametrize("workers", [1, 2])
def test_a_row_moved_to_the_same_date_bc_is_found(written, checker, workers):
    """The seal covers the moment: the same digits before year 1 are another moment."""
    _postgresql_only(written)
    row = trail()[3]
    run("UPDATE audit_events SET occurred_at = occurred_at - make_interval(years => :years) WHERE id = :id",
        years=2 * row["occurred_at"].year - 1, id=row["id"])
    assert ALTERED in verify_chain(written.session, chunk_rows=5, workers=workers).kinds


@pytest.mark.parametrize("changes", ["{", "[1]", '"text"', "null", "[" * 3000 + "]" * 3000])
def test_changes_that_are_no_object_are_reported_and_the_connection_stays_usable(written, checker, changes):
    change("audit_events", trail()[1]["id"], changes=changes)
    assert ALTERED in verify_chain(written.session).kinds
    written.session.rollback()
    assert written.session.execute(text("SELECT 1")).scalar_one() == 1


def test_a_connection_in_another_client_encoding_reads_alike(written, checker):
    _postgresql_only(written)
    record_event(written.session, "lot.noted", "lot", 1, {"note": {"new": "caffè"}}, reason="perché")
    written.session.commit()
    written.session.connection().exec_driver_sql("SET client_encoding TO 'LATIN1'")
    report = verify_chain(written.session)
    assert report.ok, str(report)
