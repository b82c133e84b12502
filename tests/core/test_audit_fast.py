"""The compiled check of COPY text reports what the Python check reports, row for row: it passes no row the Python
check would not, and replays every record alike."""

import hashlib
import hmac
import json
import os
from datetime import datetime

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from manufacturing.core import audit_scan
from manufacturing.core.audit_scan import (
    RangeTask,
    Sealer,
    _copied_row,
    _recorded,
    _scan_lines,
    _Scanner,
    compact,
    merged,
    scan_rows,
)
from manufacturing.core.keyring import UNKEYED, canonical

KEYS = {"k1": b"k" * 32, "k2": bytes(range(100))}
COPY_ESCAPES = {"\\": "\\\\", "\b": "\\b", "\f": "\\f", "\n": "\\n", "\r": "\\r", "\t": "\\t", "\v": "\\v"}
compiled = pytest.mark.skipif(Sealer is None, reason="built without the compiled check (no C compiler or "
                              "OpenSSL headers): every row is checked in Python")


def test_the_compiled_check_is_built_where_required():
    if os.environ.get("REQUIRE_COMPILED_CHECK") and Sealer is None:
        pytest.fail("REQUIRE_COMPILED_CHECK is set and manufacturing.core._audit_fast was not built")


def _mac(key: bytes, fields: list) -> str:
    return hmac.new(key, canonical(fields).encode(), hashlib.sha256).hexdigest()


def _stored_time(moment: datetime, era: str) -> str:
    """A time as PostgreSQL writes it in ISO style: no trailing zeros in the fraction, the era after BC dates."""
    text = moment.strftime("%Y-%m-%d %H:%M:%S") + (f".{moment.microsecond:06d}".rstrip("0") if moment.microsecond
                                                    else "")
    return {"AD": text, "BC": text + " BC", "T": text.replace(" ", "T")}[era]


def _copy_field(value) -> str:
    return "\\N" if value is None else "".join(COPY_ESCAPES.get(char, char) for char in str(value))


texts = st.text(st.characters(blacklist_categories=("Cs",)), max_size=12)
json_values = st.recursive(st.none() | st.booleans() | st.integers() | st.floats(allow_nan=True) | texts,
                           lambda inner: st.lists(inner, max_size=3) | st.dictionaries(texts, inner, max_size=3),
                           max_leaves=6)
few_fields = st.dictionaries(st.sampled_from(["state", "volume", "é"]), json_values, max_size=2)
recorded_changes = st.dictionaries(st.sampled_from(["state", "volume"]), st.dictionaries(
    st.sampled_from(["new", "old", "sealed", "news"]), json_values, max_size=3), max_size=2)
changes = st.one_of(
    recorded_changes.map(json.dumps),
    recorded_changes.map(lambda value: json.dumps(value, separators=(",", ":"), ensure_ascii=False)),
    st.sampled_from(['{"s":{"new":1,"new":2}}', '{"s":{"ne\\u0077":1}}', '{"s":{"sealed":null,"new":3}}',
                     '{"s":{"old":1}}', '{"s":5}', '{"s":{"new":{"new":7}}}', '{"s":{"new":1,"sealed":"x","new":2}}',
                     '{"s":{ "new" : [1, 2] }}', '{"s":{"new":1,}}']),
    st.dictionaries(texts, json_values, max_size=4).map(json.dumps),
    few_fields.map(json.dumps),
    few_fields.map(lambda value: json.dumps(value, separators=(",", ":"), ensure_ascii=False)),
    st.sampled_from(['{"a":1,"a":2}', '{"a":NaN}', "{", "[1]", "null", '{"a\\u0041":1}', ' { "x" : [ ] } ',
                     '{"n":1e400}', '{"s":"\\ud800"}', '{"x":01}', '{"x":tru}', '{"x":1,}',
                     json.dumps({f"field {number}": number for number in range(70)}),
                     json.dumps({"a": {"new": 10**30}, "b": {"new": 10**400}}),
                     '{"a":-9223372036854775809,"b":"\\ud800"}',
                     json.dumps({"a": {"new": 2**64}})]),
    texts)
rows = st.fixed_dictionaries({
    "moment": st.datetimes(min_value=datetime(1, 1, 1), max_value=datetime(9999, 12, 31)),
    "era": st.sampled_from(["AD"] * 8 + ["BC", "T"]),
    "user_id": st.none() | st.integers(-5, 2**40),
    "username": texts,
    "entity_type": st.sampled_from(["lot"] * 4 + ["user", "", "lot.x"]),
    "acted_on": st.sampled_from([None] * 4 + ["lot", "lab", "user"]),
    "verb": st.sampled_from(["created", "updated", "updated", "deleted", "noted", ""]),
    "entity_id": st.one_of(*[st.sampled_from([None, "1", "1", "1", "2", "é"])] * 4, texts),
    "scope": st.none() | texts,
    "changes": changes,
    "reason": st.none() | texts,
    "key_id": st.sampled_from(["k1"] * 6 + ["k2", UNKEYED, "gone"]),
    "tamper": st.sampled_from([None] * 12 + ["content", "mac", "link", "moved", "null username"]),
})


def _lines(drawn: list[dict]) -> list[str]:
    """Rows sealed as the application seals them (some then tampered with), as COPY writes them."""
    lines, previous = [], "0" * 64
    for number, row in enumerate(drawn, 1):
        occurred = row["moment"].isoformat() + "+00:00"
        action = f"{row['acted_on'] or row['entity_type']}.{row['verb']}"
        content = [row["user_id"], row["username"], action, row["entity_type"],
                   row["entity_id"], row["scope"], row["changes"], row["reason"]]
        key = KEYS.get(row["key_id"], b"unknown key")
        if row["key_id"] == UNKEYED:
            mac = None
            link = hashlib.sha256(canonical([occurred, *content, previous]).encode()).hexdigest()
        else:
            mac = _mac(key, ["audit row", occurred, *content])
            link = _mac(key, ["audit link", previous, mac])
        prev_hash = previous
        match row["tamper"]:
            case "content":
                content[6] += " "
            case "mac":
                mac = (mac or "0") + "0"
            case "link":
                link = "f" * 64
            case "moved":  # sealed where it stood before: its link holds, it does not follow the row before
                prev_hash = "e" * 64
                link = _mac(key, ["audit link", prev_hash, mac])
            case "null username":
                content[1] = None
        fields = [number, _stored_time(row["moment"], row["era"]), *content, row["key_id"], mac, prev_hash, link]
        lines.append("\t".join(_copy_field(value) for value in fields))
        previous = link
    return lines


def _told(scan) -> tuple:
    """What a scan tells, each record's changes read as the values they leave."""
    replayed = {key: (fresh, None if values is None else _recorded(values))
                for key, (fresh, values) in scan.replayed.items()}
    return (scan.count, scan.last, scan.first_keyed, scan.last_genuine, scan.candidates, scan.unkeyed_runs,
            scan.rows_at, repr(replayed))


def _compiled_scan(lines: list[str], task: RangeTask, chunk: int = 4096):
    scanner, sealer = _Scanner(KEYS, task), Sealer(KEYS)
    copied = [(line + "\n").encode() for line in lines]
    for first in range(0, len(copied), chunk):
        _scan_lines(scanner, sealer, copied[first:first + chunk])
    compact(scanner.result.replayed)
    return scanner.done()


@compiled
@settings(max_examples=500, deadline=None)
@given(drawn=st.lists(rows, min_size=2, max_size=12), start=st.integers(0, 3), wanted=st.sets(st.integers(1, 16)),
       chunk=st.integers(1, 5))
def test_the_compiled_check_reports_what_the_python_check_reports(drawn, start, wanted, chunk):
    lines = _lines(drawn)
    task = RangeTask(1, len(lines), start, frozenset(wanted))
    by_python = scan_rows([_copied_row(line) for line in lines], KEYS, task)
    assert _told(_compiled_scan(lines, task, chunk)) == _told(by_python)


REPLAYED = [("user", "created", "1", {"name": {"new": "a"}, "role": {"new": "x"}}),
            ("user", "updated", "1", {"name": {"old": "a", "new": "b"}}),
            ("user", "created", "2", {"name": {"new": "c"}}),
            ("user", "deleted", "2", {"name": {"old": "c"}}),
            ("user", "updated", "1", {"role": {"old": "x", "new": "y"}}),
            ("user", "updated", "3", {"name": {"new": "d"}}),
            ("user", "updated", "2", {"role": {"new": "z"}}),
            ("user", "created", "3", {"role": {"new": "w"}}),
            ("lot", "released", "1", {"state": {"new": "released"}})]


@compiled
def test_records_replayed_in_ranges_by_the_compiled_check_end_as_replayed_in_python():
    drawn = [{"moment": datetime(2026, 12, 2, 2, 15, number), "era": "AD", "user_id": None, "username": "system",
              "entity_type": entity, "acted_on": None, "verb": verb, "entity_id": entity_id,
              "scope": None, "changes": json.dumps(changes), "reason": None, "key_id": "k1", "tamper": None}
             for number, (entity, verb, entity_id, changes) in enumerate(REPLAYED)]
    lines = _lines(drawn)
    whole = scan_rows([_copied_row(line) for line in lines], KEYS, RangeTask(1, len(lines), 0))
    assert _told(_compiled_scan(lines, RangeTask(1, len(lines), 0))) == _told(whole)
    for cut in range(1, len(lines)):
        ranges = [_compiled_scan(lines[:cut], RangeTask(1, cut, 0)),
                  _compiled_scan(lines[cut:], RangeTask(cut + 1, len(lines), cut))]
        assert merged(ranges) == merged([whole])


@compiled
def test_a_run_of_sound_rows_passes_as_plain_and_stops_before_an_altered_one():
    drawn = [{"moment": datetime(2026, 12, 2, 2, 15, second, 120000 * (second % 2)), "era": "AD", "user_id": 7,
              "username": 'tecnico "uno"\t', "entity_type": "lot", "verb": "updated", "acted_on": None,
              "entity_id": "1", "scope": None, "changes": json.dumps({"state": {"old": "a", "new": "b\\"}}),
              "reason": "perché", "key_id": "k1", "tamper": "content" if second == 4 else None} for second in range(6)]
    lines = [(line + "\n").encode() for line in _lines(drawn)]
    first_link = lines[0].decode().rstrip("\n").split("\t")[13]
    replayed = {}
    position, count, last_id, _ = Sealer(KEYS).plain_rows(lines, 1, first_link, 1 << 62, replayed)
    assert (position, count, last_id) == (4, 3, 4)
    assert replayed == {("lot", "1"): (False, {"state": b'"b\\\\"'})}


@compiled
def test_postgresql_reads_the_trail_through_the_compiled_check(database, monkeypatch):
    if database.session.connection().dialect.name != "postgresql":
        pytest.skip("COPY is PostgreSQL's")
    from manufacturing.core.audit import record_event
    from manufacturing.core.audit_verify import verify_chain

    record_event(database.session, "lot.noted", "lot", 1, {"note": {"new": "caffè"}}, reason="perché")
    database.session.commit()
    calls = []
    scan_copied = audit_scan._scan_copied
    monkeypatch.setattr(audit_scan, "_scan_copied", lambda *args: calls.append(args) or scan_copied(*args))
    report = verify_chain(database.session)
    assert report.ok, str(report)
    assert calls


@compiled
@pytest.mark.parametrize("change", ['{"s":{"new":{"sealed":1}}}', '{"s":{"new":{"a":1}}}', '{"s":{"new":{"new":7}}}',
                                    '{"s":{"new":[{"new":1}]}}', '{"s":{"sealed":null,"new":3}}'])
def test_a_value_that_is_itself_an_object_of_changes_is_read_once_wherever_the_ranges_cut(change):
    drawn = [{"moment": datetime(2026, 12, 2, 2, 15, number), "era": "AD", "user_id": None, "username": "system",
              "entity_type": "lot", "acted_on": None, "verb": verb, "entity_id": "1", "scope": None,
              "changes": changes, "reason": None, "key_id": "k1", "tamper": None}
             for number, (verb, changes) in enumerate([("created", '{"z":{"new":0}}'), ("updated", change),
                                                       ("updated", '{"q":{"new":"w"}}')])]
    lines = _lines(drawn)
    whole = merged([scan_rows([_copied_row(line) for line in lines], KEYS, RangeTask(1, len(lines), 0))])
    assert whole[("lot", "1")]["s"] == audit_scan.recorded_value(json.loads(change)["s"])
    for cuts in ([1], [2], [1, 2]):
        bounds = list(zip([0, *cuts], [*cuts, len(lines)], strict=True))
        compiled_ranges = [_compiled_scan(lines[low:high], RangeTask(low + 1, high, low)) for low, high in bounds]
        python_ranges = [scan_rows([_copied_row(line) for line in lines[low:high]], KEYS,
                                   RangeTask(low + 1, high, low)) for low, high in bounds]
        assert merged(compiled_ranges) == whole
        assert merged(python_ranges) == whole
