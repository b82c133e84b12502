"""Tampering with SQL, as an insider with database access but without the audit key: `audit verify` names it.

The database is filled once per run by real operations (a lot taken to two released, labelled units and an
order) and put back before every case. Each case changes it behind the application's back, naively or
recomputing what it can without the key (a plain SHA-256, or an HMAC under a guessed key), and checks the kind
of finding. Only deleting the tail and putting back an earlier genuine head, where the deleted rows touched no
record, is beyond the database's own seals: the signed checkpoints outside it are needed.
"""

import hashlib
import json
from datetime import timedelta

import pytest
from flask import current_app

from manufacturing.accounts.models import User
from manufacturing.core import clock
from manufacturing.core.audit import GENESIS, AuditEvent, record_event, sealed_head, set_actor
from manufacturing.core.audit_seal import seal_path
from manufacturing.core.audit_since import Blocks
from manufacturing.core.audit_verify import (
    ALTERED,
    DOCUMENT,
    EDITED,
    FORGED,
    RELINKED,
    SIGNATURE,
    TRUNCATED,
    verify_chain,
)
from manufacturing.core.checkpoint_taking import take_checkpoint
from manufacturing.core.checkpoints import WARNING_KINDS
from manufacturing.extensions import db
from tests.conftest import clean_database, past_the_triggers
from tests.core.tampering import (
    change,
    head,
    records,
    relink,
    reseal,
    restore_head,
    run,
    set_head,
    sha256,
    trail,
    wrong_key,
)
from tests.dispensing.factories import set_up_ward
from tests.factories import make_user
from tests.snapshots import restore, snapshot


@pytest.fixture(scope="module")
def filled(app, tmp_path_factory):
    """The rows of a ward made by real operations, built once per database, with checkpoints of its own."""
    with app.app_context():
        app.config["CHECKPOINT_DIR"] = str(tmp_path_factory.mktemp("filled-checkpoints"))
        clean_database()
        users = [make_user("tech.one", roles=["TECHNICIAN"], full_name="Tina Tecnica"),
                 make_user("tech.two", roles=["TECHNICIAN"], full_name="Vito Verifica"),
                 make_user("qa.one", roles=["QA"], full_name="Quinta Qualita"),
                 make_user("pharm.one", roles=["PHARMACY"], full_name="Piero Farmacia")]
        set_up_ward(*users)
        db.session.commit()
        saved = snapshot()
        db.session.remove()
        clean_database()
    return saved


SMALL_BLOCKS = Blocks(trail=3, records=2)  # blocks of 8 trail rows and of 4 records: the ward spans many


@pytest.fixture
def filled_db(database, filled):
    """The ward's database, intact, and sealed as such (on PostgreSQL) by a verification in small blocks."""
    restore(filled)
    assert verify_chain(db.session).ok
    assert verify_chain(db.session, blocks=Blocks(3, 2, from_seal=False)).ok
    db.session.rollback()
    if database.engine.dialect.name == "postgresql":
        assert seal_path(current_app.config["CHECKPOINT_DIR"]).exists()
    return database


def findings(*kinds: str):
    """Verify and check that every expected kind of finding is there, read whole, in short ranges, or in
    processes of their own (on PostgreSQL the records and signatures too, on the verifying snapshot), and on
    PostgreSQL from the seal made before the tampering (only the blocks changed since read)."""
    report = verify_chain(db.session)
    assert verify_chain(db.session, chunk_rows=7) == report
    assert verify_chain(db.session, chunk_rows=7, workers=2) == report
    for workers in (1, 2):
        since = verify_chain(db.session, workers=workers, blocks=SMALL_BLOCKS)
        assert (since.rows_checked, sorted(map(str, since.findings))) == (
            report.rows_checked, sorted(map(str, report.findings))), f"{since}\n---\n{report}"
    db.session.rollback()
    assert not report.ok
    assert set(kinds) <= report.kinds, str(report)
    return report


def middle() -> dict:
    chain = trail()
    return chain[len(chain) // 2]


def edit_row(column: str, new_value, row_id: int) -> None:
    change("audit_events", row_id, **{column: new_value})


# The trail, changed naively.

def test_edited_reason(filled_db):
    row = middle()
    edit_row("reason", "nothing happened", row["id"])
    report = findings(ALTERED)
    assert [finding.where for finding in report.findings if finding.kind not in WARNING_KINDS] == [
        f"audit row {row['id']}"]


@pytest.mark.parametrize("column", ["mac", "hash"])
def test_a_seal_of_other_characters_is_a_finding_not_a_crash(filled_db, column):
    row = middle()
    edit_row(column, "é" * 64, row["id"])
    findings(ALTERED if column == "mac" else RELINKED)


def test_a_binding_of_other_characters_is_a_finding_not_a_crash(filled_db):
    signature = _signature()
    change("signatures", signature["id"], binding_hash="é" * 64)
    assert f"signature {signature['id']}" in str(findings(SIGNATURE))


def test_backdated_row(filled_db):
    row = middle()
    edit_row("occurred_at", clock.as_utc(row["occurred_at"]).replace(year=2020), row["id"])
    findings(ALTERED)


def test_changed_username(filled_db):
    edit_row("username", "someone.else", middle()["id"])
    findings(ALTERED)


def test_changed_values_in_a_row(filled_db):
    row = next(row for row in trail() if row["action"] == "qc_result.created")
    edit_row("changes", row["changes"].replace("conforms", "does not conform"), row["id"])
    findings(ALTERED)


def test_deleted_middle_row(filled_db):
    run("DELETE FROM audit_events WHERE id = :id", id=middle()["id"])
    findings(RELINKED, TRUNCATED)


def test_deleted_last_row(filled_db):
    run("DELETE FROM audit_events WHERE id = :id", id=trail()[-1]["id"])
    findings(TRUNCATED)


def test_swapped_rows(filled_db):
    first, second = trail()[10:12]
    run("UPDATE audit_events SET id = -1 WHERE id = :id", id=first["id"])
    run("UPDATE audit_events SET id = :a WHERE id = :b", a=first["id"], b=second["id"])
    run("UPDATE audit_events SET id = :b WHERE id = -1", b=second["id"])
    findings(RELINKED)


def _forged_row(key_id: str, forge=sha256) -> dict:
    last = trail()[-1]
    row = {**last, "id": last["id"] + 1, "action": "lot.released", "changes": "{}", "reason": "backfilled",
           "occurred_at": clock.as_utc(last["occurred_at"]), "key_id": key_id, "prev_hash": last["hash"]}
    row["mac"] = forge(["audit row", row["occurred_at"].isoformat(), *[row[key] for key in (
        "user_id", "username", "action", "entity_type", "entity_id", "scope", "changes", "reason")]])
    row["hash"] = forge([row["prev_hash"], row["mac"]])
    with past_the_triggers() as connection:
        connection.execute(AuditEvent.__table__.insert().values(**row))
    return row


def test_forged_row_appended(filled_db):
    row = _forged_row(trail()[-1]["key_id"])
    report = findings(FORGED, TRUNCATED)
    assert any(finding.kind == FORGED and finding.where == f"audit row {row['id']}" for finding in report.findings)


# The trail, changed by an attacker who recomputes what they can without the key.

def test_edited_row_resealed_and_relinked(filled_db):
    row = middle()
    edit_row("reason", "nothing happened", row["id"])
    reseal(row["id"])
    relink(row["id"])
    report = findings(ALTERED, RELINKED, TRUNCATED)
    assert report.findings[0].where == f"audit row {row['id']}"


def test_backdated_row_resealed_with_a_guessed_key(filled_db):
    row = middle()
    edit_row("occurred_at", clock.as_utc(row["occurred_at"]).replace(year=2020), row["id"])
    reseal(row["id"], wrong_key)
    relink(row["id"], wrong_key)
    findings(ALTERED, RELINKED, TRUNCATED)


def test_changed_username_resealed(filled_db):
    row = middle()
    edit_row("username", "someone.else", row["id"])
    reseal(row["id"])
    relink(row["id"])
    findings(ALTERED)


def test_deleted_middle_row_and_relinked(filled_db):
    row = middle()
    run("DELETE FROM audit_events WHERE id = :id", id=row["id"])
    relink(row["id"] - 1)
    report = findings(RELINKED, TRUNCATED)
    assert ALTERED not in report.kinds and FORGED not in report.kinds


def test_truncated_tail_and_head_reset(filled_db):
    chain = trail()
    keep = chain[:-20]
    run("DELETE FROM audit_events WHERE id > :id", id=keep[-1]["id"])
    set_head(len(keep), keep[-1]["hash"])
    findings(TRUNCATED)


def test_every_row_deleted_and_head_reset(filled_db):
    run("DELETE FROM audit_events")
    set_head(0, GENESIS)
    findings(TRUNCATED, EDITED)


def test_every_row_deleted_and_an_earlier_genuine_head_restored(filled_db):
    """The records outlive their trail: each has values no trail recorded."""
    run("DELETE FROM audit_events")
    restore_head(sealed_head(0, GENESIS))  # the head as the attacker copied it on the first day
    report = findings(EDITED)
    assert report.rows_checked == 0


def test_tail_that_changed_records_deleted_and_an_earlier_genuine_head_restored(filled_db):
    last, genuine = trail()[-1], head()
    user = db.session.scalar(db.select(User).where(User.username == "tech.one"))
    set_actor(db.session, user.id, user.username)
    user.full_name = "Tina Tecnica-Rossi"
    db.session.commit()
    assert verify_chain(db.session).ok
    db.session.rollback()
    run("DELETE FROM audit_events WHERE id > :id", id=last["id"])
    restore_head(genuine)
    report = findings(EDITED)
    assert "full_name" in str(report)


def test_tail_of_events_deleted_and_an_earlier_genuine_head_restored(filled_db):
    """Only the signed checkpoint outside the database can tell: the rows and head left are all genuine."""
    genuine = head()
    for _ in range(3):
        record_event(db.session, "auth.login_failed", "user", None, {"username": {"new": "nobody"}})
    db.session.commit()
    take_checkpoint(db.engine, "daily")
    run("DELETE FROM audit_events WHERE id > :id", id=trail()[-4]["id"])
    restore_head(genuine)
    findings("TRUNCATED TAIL", "HEAD RESET")


def test_forged_row_appended_with_head_moved(filled_db):
    row = _forged_row(trail()[-1]["key_id"])
    set_head(len(trail()), row["hash"])
    findings(FORGED, TRUNCATED)


def test_forged_row_claiming_to_predate_the_key(filled_db):
    last = trail()[-1]
    row = _forged_row("unkeyed")
    fields = [clock.as_utc(row["occurred_at"]).isoformat(), row["user_id"], row["username"], row["action"],
              row["entity_type"], row["entity_id"], row["scope"], row["changes"], row["reason"], last["hash"]]
    run("UPDATE audit_events SET hash = :hash WHERE id = :id", hash=sha256(fields), id=row["id"])
    report = findings(FORGED)
    assert "predate" in str(report)


def test_forged_row_under_a_key_never_held(filled_db):
    _forged_row("c0ffeec0ffee", wrong_key)
    report = findings(FORGED)
    assert "c0ffeec0ffee', which is not in the keyring" in str(report)


def test_every_finding_is_reported_not_only_the_first(filled_db):
    chain = trail()
    for row in (chain[5], chain[50], chain[100]):
        edit_row("reason", "covered up", row["id"])
    report = findings(ALTERED)
    altered = [finding.where for finding in report.findings if finding.kind == ALTERED]
    assert altered == [f"audit row {chain[index]['id']}" for index in (5, 50, 100)]


# Signatures.

def _signature(entity_type: str = "step") -> dict:
    return records("signatures", entity_type=entity_type)[0]


def _rebind(signature_id: int, **changes) -> None:
    """Change a signature and recompute its binding without the key."""
    change("signatures", signature_id, **changes)
    signature = records("signatures", id=signature_id)[0]
    change("signatures", signature_id, binding_hash=sha256(["signature", *list(signature.values())]))


def test_signature_printed_name_changed_and_rebound(filled_db):
    signature = _signature()
    _rebind(signature["id"], printed_name="Somebody Else")
    report = findings(SIGNATURE, EDITED)
    assert f"signature {signature['id']}" in str(report)


def test_signature_meaning_changed_and_rebound(filled_db):
    _rebind(_signature()["id"], meaning="APPROVED")
    findings(SIGNATURE, EDITED)


def test_signature_time_changed_and_rebound(filled_db):
    signature = _signature()
    _rebind(signature["id"], signed_at=clock.as_utc(signature["signed_at"]).replace(year=2020))
    findings(SIGNATURE, EDITED)


def test_signer_changed_and_rebound(filled_db):
    other = records("users", username="qa.one")[0]
    _rebind(_signature()["id"], signer_id=other["id"], username=other["username"])
    findings(SIGNATURE, EDITED)


def test_signatures_moved_between_records(filled_db):
    first, second = records("signatures", entity_type="step", meaning="PERFORMED")[:2]
    change("signatures", first["id"], entity_id="moving")
    _rebind(second["id"], entity_id=first["entity_id"], scope=first["scope"])
    _rebind(first["id"], entity_id=second["entity_id"], scope=second["scope"])
    report = findings(SIGNATURE, EDITED)
    assert {f"signature {first['id']} on step {second['entity_id']}",
            f"signature {second['id']} on step {first['entity_id']}"} <= {finding.where for finding in report.findings}


def test_signature_claiming_to_predate_the_key(filled_db):
    """An unkeyed binding verifies on its own, but the trail recorded the signature's key id and binding."""
    signature = _signature()
    fields = [signature["entity_type"], signature["entity_id"], signature["content_hash"], signature["signer_id"],
              signature["username"], "Somebody Else", signature["meaning"].name,
              clock.as_utc(signature["signed_at"]).isoformat()]
    change("signatures", signature["id"], printed_name="Somebody Else", key_id="unkeyed",
           binding_hash=sha256(fields))
    findings(EDITED)


# Stored documents.

def _document() -> dict:
    return records("stored_documents")[0]


def test_document_bytes_replaced(filled_db):
    run("UPDATE stored_documents SET content = :content WHERE id = :id", content=b"%PDF-1.4 forged",
        id=_document()["id"])
    findings(DOCUMENT)


def test_document_bytes_replaced_and_sha256_recomputed(filled_db):
    import hashlib

    content = b"%PDF-1.4 forged"
    document = _document()
    run("UPDATE stored_documents SET content = :content, sha256 = :sha, size = :size WHERE id = :id",
        content=content, sha=hashlib.sha256(content).hexdigest(), size=len(content), id=document["id"])
    report = findings(DOCUMENT, EDITED)
    assert f"stored document {document['id']}" in str(report)


def test_document_mac_recomputed_with_a_guessed_key(filled_db):
    document = _document()
    run("UPDATE stored_documents SET mac = :mac WHERE id = :id", mac=wrong_key([document["sha256"]]),
        id=document["id"])
    findings(DOCUMENT, EDITED)


# Records edited outside the application.

def test_signed_step_value_edited(filled_db):
    step_value = records("step_values")[0]
    run("UPDATE step_values SET entered = :entered WHERE id = :id", entered="99", id=step_value["id"])
    report = findings(EDITED)
    assert f"step_value {step_value['id']}" in str(report) and "entered" in str(report)


def test_qc_result_value_edited(filled_db):
    result = records("qc_results", test_key="viability")[0]
    run("UPDATE qc_results SET entered = '99 %', text = NULL WHERE id = :id", id=result["id"])
    report = findings(EDITED)
    assert f"qc_result {result['id']}" in str(report)


def test_dose_state_edited(filled_db):
    run("UPDATE dose_units SET state = 'ADMINISTERED' WHERE id = (SELECT MIN(id) FROM dose_units)")
    findings(EDITED)


def test_user_role_granted_outside(filled_db):
    user = records("users", username="tech.one")[0]
    run("INSERT INTO user_roles (user_id, role) VALUES (:id, 'QA')", id=user["id"])
    report = findings(EDITED)
    assert "inserted outside the application" in str(report)


def test_user_role_changed(filled_db):
    run("UPDATE user_roles SET role = 'ADMIN' WHERE user_id = (SELECT id FROM users WHERE username = 'tech.one')")
    findings(EDITED)


def test_printed_name_of_a_user_edited(filled_db):
    run("UPDATE users SET full_name = 'Somebody Else' WHERE username = 'qa.one'")
    report = findings(EDITED)
    assert "full_name" in str(report)


def test_password_hash_replaced_to_sign_as_someone_else(filled_db):
    """The trail hides password hashes but keeps a keyed fingerprint: a hash swapped in the database is seen."""
    known = records("users", username="tech.one")[0]["password_hash"]
    run("UPDATE users SET password_hash = :known WHERE username = 'qa.one'", known=known)
    report = findings(EDITED)
    assert "password_hash (hidden) is not the value the trail last recorded" in str(report)
    assert known not in str(report)


def test_disposition_edited(filled_db):
    run("UPDATE dispositions SET justification = 'approved by phone' WHERE id = (SELECT MIN(id) FROM dispositions)")
    findings(EDITED)


def test_a_quantity_written_again_in_another_spelling_of_the_same_value(filled_db):
    """A record is compared as stored: the text of a quantity changed to an equal value is still an edit."""
    step_value = records("step_values", key="viability")[0]
    run("UPDATE step_values SET quantity = ' ' || quantity WHERE id = :id", id=step_value["id"])
    report = findings(EDITED)
    assert f"step_value {step_value['id']}" in str(report) and "quantity" in str(report)


@pytest.mark.parametrize("stored", ["BOGUS", "released"])
def test_a_choice_set_to_a_name_no_choice_has(filled_db, stored):
    """A lot's state set to no state, or to a state's words instead of its name: reported, not a crash."""
    lot = records("lots")[0]
    run("UPDATE lots SET state = :stored WHERE id = :id", stored=stored, id=lot["id"])
    report = findings(EDITED)
    assert f"lot {lot['id']}" in str(report) and "state" in str(report)


def test_a_flag_set_to_a_value_no_flag_has(filled_db):
    """SQLite keeps any value in a flag's column: 2 reads back as true, yet the trail recorded 1."""
    if db.engine.dialect.name != "sqlite":
        pytest.skip("PostgreSQL's booleans hold true or false only")
    run("UPDATE users SET active = 2 WHERE username = 'qa.one'")
    report = findings(EDITED)
    assert "active is 'not a flag: 2' in the database" in str(report)


def test_a_time_of_a_record_moved(filled_db):
    step = records("process_steps")[0]
    change("process_steps", step["id"], performed_at=step["performed_at"] - timedelta(hours=1))
    report = findings(EDITED)
    assert f"step {step['id']}" in str(report) and "performed_at" in str(report)


def test_a_hidden_value_set_to_the_fingerprint_the_trail_keeps_of_it(filled_db):
    """The trail keeps a keyed fingerprint of a password hash; the fingerprint itself is not the hash."""
    user = records("users", username="qa.one")[0]
    created = records("audit_events", action="user.created", entity_id=str(user["id"]))[0]
    sealed = json.loads(created["changes"])["password_hash"]["sealed"]
    run("UPDATE users SET password_hash = :sealed WHERE id = :id", sealed=sealed, id=user["id"])
    report = findings(EDITED)
    assert "password_hash (hidden) is not the value the trail last recorded" in str(report)


def test_record_deleted_outside(filled_db):
    run("DELETE FROM step_values WHERE id = (SELECT MAX(id) FROM step_values)")
    report = findings(EDITED)
    assert "deleted outside the application" in str(report)


def test_record_edited_and_its_trail_edited_to_match(filled_db):
    """Editing the trail too to agree with the record needs a MAC the attacker cannot make."""
    user = records("users", username="qa.one")[0]
    run("UPDATE users SET full_name = 'Somebody Else' WHERE id = :id", id=user["id"])
    created = records("audit_events", action="user.created", entity_id=str(user["id"]))[0]
    changes = json.loads(created["changes"]) | {"full_name": {"new": "Somebody Else"}}
    edit_row("changes", json.dumps(changes, sort_keys=True, separators=(",", ":")), created["id"])
    report = findings(ALTERED)
    assert EDITED not in report.kinds


# Rows the keys of their table would refuse, stored by an owner who dropped the key (PostgreSQL).

@pytest.fixture
def keyless(filled_db, filled):
    """Take the primary key off a table, as its owner can, and put it back after the case (the rows first)."""
    if filled_db.engine.dialect.name != "postgresql":
        pytest.skip("SQLite's row ids are the key itself: a table cannot lose it")
    dropped = []

    def drop(table: str) -> None:
        run(f"ALTER TABLE {table} DROP CONSTRAINT pk_{table}, ALTER COLUMN id DROP NOT NULL")
        dropped.append(table)

    yield drop
    restore(filled)
    for table in dropped:  # the chain head is kept, not emptied, by a restore: its copies go here
        run(f"DELETE FROM {table} copy USING {table} kept WHERE copy.id = kept.id AND copy.ctid > kept.ctid")
        run(f"ALTER TABLE {table} ALTER COLUMN id SET NOT NULL, ADD CONSTRAINT pk_{table} PRIMARY KEY (id)")


def test_a_trail_row_without_an_id(keyless):
    keyless("audit_events")
    row = _forged_row(trail()[-1]["key_id"])
    run("UPDATE audit_events SET id = NULL WHERE id = :id", id=row["id"])
    report = findings(FORGED)
    assert ("audit rows without an id", FORGED) in [(finding.where, finding.kind) for finding in report.findings]


def test_a_record_stored_twice(keyless):
    keyless("step_values")
    value = records("step_values")[-1]
    with past_the_triggers() as connection:
        connection.execute(db.metadata.tables["step_values"].insert().values(**value | {"key": "a second reading"}))
    report = findings(EDITED)
    assert f"step_value {value['id']}" in [finding.where for finding in report.findings], str(report)
    assert "stored twice" in str(report)


def test_a_second_chain_head(keyless):
    keyless("audit_chain_head")
    run("INSERT INTO audit_chain_head SELECT * FROM audit_chain_head")
    report = findings(TRUNCATED)
    assert "the chain head is stored 2 times" in str(report)


# The command.

def test_cli_exits_zero_when_intact_and_one_naming_every_finding(app, filled_db):
    runner = app.test_cli_runner()
    intact = runner.invoke(args=["audit", "verify"])
    assert intact.exit_code == 0 and "intact" in intact.output
    row = middle()
    edit_row("reason", "nothing happened", row["id"])
    run("UPDATE users SET full_name = 'Somebody Else' WHERE username = 'qa.one'")
    result = runner.invoke(args=["audit", "verify"])
    assert result.exit_code == 1
    assert f"{ALTERED}: audit row {row['id']}:" in result.output and f"{EDITED}: user " in result.output


# Accounts, sessions and specifications, changed by someone with the database but not the key.

def test_a_setup_code_planted_opens_no_account_and_is_named(filled_db):
    from manufacturing.accounts.operations import set_up_password
    from manufacturing.core.errors import DomainError

    qa = records("users", username="qa.one")[0]
    planted = hashlib.sha256(b"AAAAABBBBBCCCCCDDDDDEEEEE").hexdigest()
    change("users", qa["id"], setup_code_hash=planted)
    with pytest.raises(DomainError, match="not accepted"):
        set_up_password("qa.one", "AAAAA-BBBBB-CCCCC-DDDDD-EEEEE", "Quiet harbour lanterns 2031")
    db.session.rollback()
    report = findings(EDITED)
    assert "setup_code_hash (hidden)" in str(report)


def test_a_session_moved_to_another_user_stops_working(filled_db, app):
    from tests.factories import PASSWORD

    client = app.test_client()
    assert client.post("/login", data={"username": "tech.one", "password": PASSWORD}).status_code == 302
    assert client.get("/").status_code == 200
    session_row = records("auth_sessions")[-1]
    qa = records("users", username="qa.one")[0]
    change("auth_sessions", session_row["id"], user_id=qa["id"])
    response = client.get("/")
    assert response.status_code == 302 and response.headers["Location"].startswith("/login")


def test_a_pinned_specification_edited_in_the_database(filled_db):
    from manufacturing.specifications.registry import ALTERED_SPECIFICATION, SpecError, pinned

    version = records("spec_versions")[0]
    change("spec_versions", version["id"], content=version["content"] + "\n# limits loosened\n")
    report = findings(ALTERED_SPECIFICATION)
    assert f"specification {version['spec_id']} version {version['version']}" in str(report)
    with pytest.raises(SpecError, match="not the content this record was made under"):
        pinned(version["spec_id"], version["version"], version["content_hash"])
