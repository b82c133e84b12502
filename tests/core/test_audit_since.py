"""A verification from the last seal reads only what changed since, and a seal that does not hold is not used."""

import base64
import json

import pytest
from flask import current_app
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import text

from manufacturing.core.audit import record_event, set_actor
from manufacturing.core.audit_scan import plain_number
from manufacturing.core.audit_seal import seal_path
from manufacturing.core.audit_since import PLAIN_NUMBER, Blocks
from manufacturing.core.audit_verify import verify_as_of_now, verify_chain
from manufacturing.core.checkpoint_keys import generate_key
from manufacturing.extensions import db
from tests.core.tampering import change, records, run, trail
from tests.core.test_tampering import SMALL_BLOCKS, filled, filled_db  # noqa: F401 (fixtures)


@pytest.fixture
def sealed(filled_db):  # noqa: F811
    """The ward's database, intact and sealed in small blocks (seals are made on PostgreSQL only)."""
    if filled_db.engine.dialect.name != "postgresql":
        pytest.skip("the digests of blocks are computed by PostgreSQL; on SQLite every verification reads all")
    return filled_db


def test_an_unchanged_trail_is_known_by_its_digests(sealed):
    report = verify_chain(db.session, blocks=SMALL_BLOCKS)
    assert report.ok
    assert report.rows_known == report.rows_checked > 0
    assert "known by their digests" in report.summary


def test_what_was_added_since_is_read_and_sealed_in_turn(sealed):
    user = records("users")[0]
    set_actor(db.session, user["id"], user["username"])
    for number in range(20):
        record_event(db.session, "note.added", "note", str(number), {"text": "after the seal"})
    db.session.commit()
    report = verify_chain(db.session, blocks=SMALL_BLOCKS)
    db.session.rollback()
    assert report.ok, str(report)
    assert 0 < report.rows_known <= report.rows_checked - 20
    again = verify_chain(db.session, blocks=SMALL_BLOCKS)
    assert again.ok and again.rows_known == again.rows_checked


def test_a_record_changed_outside_is_found_though_its_trail_is_unchanged(sealed):
    result = records("qc_results", test_key="viability")[0]
    change("qc_results", result["id"], entered="99 %")
    report = verify_chain(db.session, blocks=SMALL_BLOCKS)
    assert not report.ok
    assert {finding.where for finding in report.findings if finding.kind.startswith("RECORD")} == {
        f"qc_result {result['id']}"}
    assert report.rows_known == report.rows_checked


def _rewrite_seal(edit) -> None:
    path = seal_path(current_app.config["CHECKPOINT_DIR"])
    document = json.loads(path.read_bytes())
    document = edit(document)
    path.write_text(json.dumps(document))


def _forged_payload(document: dict) -> dict:
    payload = json.loads(base64.b64decode(document["seal"]))
    for kept in payload["trail"].values():
        kept["candidates"] = []
    document["seal"] = base64.b64encode(json.dumps(payload, sort_keys=True, separators=(",", ":")).encode()).decode()
    return document


@pytest.mark.parametrize("edit", [_forged_payload, lambda document: {**document, "signature": "AAAA"},
                                  lambda document: {"seal": "not base64!"}])
def test_a_seal_altered_is_not_used(sealed, edit):
    _rewrite_seal(edit)
    report = verify_chain(db.session, blocks=SMALL_BLOCKS)
    assert report.ok and report.rows_known == 0


def test_a_seal_signed_with_another_key_is_not_used(sealed, tmp_path, monkeypatch):
    other = tmp_path / "other.pem"
    generate_key(other)
    monkeypatch.setitem(current_app.config, "CHECKPOINT_KEY", str(other))
    assert verify_chain(db.session, blocks=SMALL_BLOCKS).rows_known == 0


def test_a_seal_made_in_other_blocks_is_not_used(sealed):
    assert verify_chain(db.session, blocks=Blocks(4, 2)).rows_known == 0


def test_a_whole_verification_reads_everything_and_seals_anew(sealed, monkeypatch):
    monkeypatch.setitem(current_app.config, "AUDIT_VERIFY_TRAIL_BLOCK_BITS", SMALL_BLOCKS.trail)
    monkeypatch.setitem(current_app.config, "AUDIT_VERIFY_RECORD_BLOCK_BITS", SMALL_BLOCKS.records)
    assert verify_as_of_now(db.session, whole=True).rows_known == 0
    seal_path(current_app.config["CHECKPOINT_DIR"]).unlink()
    assert verify_as_of_now(db.session, whole=True).rows_known == 0
    assert verify_as_of_now(db.session).rows_known > 0


def test_a_verification_with_findings_seals_nothing(sealed):
    path = seal_path(current_app.config["CHECKPOINT_DIR"])
    before = path.read_bytes()
    result = records("qc_results", test_key="viability")[0]
    change("qc_results", result["id"], entered="99 %")
    assert not verify_chain(db.session, blocks=SMALL_BLOCKS, workers=2).ok
    assert path.read_bytes() == before


def _same_as_whole() -> None:
    """The verification from the seal names exactly what a whole one names."""
    whole = verify_chain(db.session)
    db.session.rollback()
    since = verify_chain(db.session, blocks=SMALL_BLOCKS, workers=2)
    db.session.rollback()
    assert sorted(map(str, since.findings)) == sorted(map(str, whole.findings)), f"{since}\n---\n{whole}"


@pytest.fixture
def schema_put_back(sealed):
    """Statements that put the schema back after a case that changed it."""
    undo: list[str] = []
    yield undo
    db.session.rollback()
    for statement in undo:
        run(statement)


def test_two_columns_swapped_by_name_are_not_the_sealed_rows(sealed, schema_put_back):
    swap = ["ALTER TABLE users RENAME COLUMN username TO swapped", "ALTER TABLE users RENAME COLUMN full_name TO "
            "username", "ALTER TABLE users RENAME COLUMN swapped TO full_name"]
    for statement in swap:
        run(statement)
    schema_put_back.extend(swap)
    _same_as_whole()
    assert not verify_chain(db.session, blocks=SMALL_BLOCKS).rows_known


def test_a_trail_row_naming_a_record_by_a_huge_number_is_a_finding_not_a_crash(sealed):
    row = trail()[len(trail()) // 2]
    change("audit_events", row["id"], entity_id="9" * 40)
    _same_as_whole()


def test_a_table_made_wide_still_has_digests(sealed, schema_put_back):
    columns = [f"extra_{number}" for number in range(120)]
    run("ALTER TABLE users " + ", ".join(f"ADD COLUMN {name} text" for name in columns))
    schema_put_back.append("ALTER TABLE users " + ", ".join(f"DROP COLUMN {name}" for name in columns))
    assert verify_chain(db.session, blocks=SMALL_BLOCKS).ok
    db.session.rollback()
    run("UPDATE users SET extra_7 = 'planted'")
    assert verify_chain(db.session, blocks=SMALL_BLOCKS).ok  # a column the trail does not know: not compared


def test_a_seal_that_cannot_be_written_leaves_the_verification_whole(sealed):
    path = seal_path(current_app.config["CHECKPOINT_DIR"])
    path.unlink()
    path.mkdir()
    try:
        report = verify_chain(db.session, blocks=SMALL_BLOCKS)
        assert report.ok and report.rows_known == 0
    finally:
        path.rmdir()


HOSTILE_IDS = ["0", "7", "00", "07", "-1", "+1", " 1", "1 ", "1e3", "12a", "", "٣", "１", "²",
               "9" * 18, "1" + "0" * 17, "9" * 19, "1" + "0" * 18, "0" * 18]


@settings(suppress_health_check=[HealthCheck.function_scoped_fixture], max_examples=200)
@given(st.one_of(st.sampled_from(HOSTILE_IDS), st.text(alphabet="0123456789٣１²-+ e", max_size=20),
                 st.integers(min_value=0, max_value=10**20).map(str)))
def test_the_database_reads_a_plain_number_as_the_scan_does(database, entity_id):
    """The trail of records in many blocks is read by the SQL pattern; the scan marks blocks by plain_number."""
    if database.engine.dialect.name != "postgresql":
        pytest.skip("the pattern is read by PostgreSQL only (seals are made on PostgreSQL)")
    matches = database.session.scalar(text(f"SELECT CAST(:id AS text) ~ '{PLAIN_NUMBER}'"), {"id": entity_id})
    assert matches == plain_number(entity_id)
