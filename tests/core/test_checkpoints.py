"""Signed checkpoints outside the database: taken when due, never overwritten, and compared with the chain."""

import base64
import errno
import json
import logging
import os
import stat
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from sqlalchemy import select

from manufacturing.core import checkpoint_files, checkpoint_timestamps, clock, durable_files
from manufacturing.core.audit import AuditEvent, record_event
from manufacturing.core.audit_verify import verify_chain
from manufacturing.core.checkpoint_taking import request_checkpoint, take_checkpoint
from manufacturing.core.checkpoints import verify_checkpoints
from manufacturing.processing.models import DoseState
from tests.core.factories import (
    append_rows,
    checkpoint_dir,
    dummy_authority,
    kinds,
    listed,
    rewrite_file,
    truncate_to,
    wipe_trail,
)

MONDAY = datetime(2026, 11, 2, 9, 0, tzinfo=UTC)


@pytest.fixture
def every_five(app, monkeypatch):
    monkeypatch.setitem(app.config, "CHECKPOINT_EVERY_ROWS", 5)
    monkeypatch.setitem(app.config, "CHECKPOINT_MARGIN_ROWS", 2)


def test_the_first_append_is_checkpointed_then_every_n_rows(database, every_five):
    append_rows(1)
    append_rows(4)
    assert [(cp.trigger, cp.chain_length) for cp in listed()] == [("daily", 1)]
    append_rows(1)
    append_rows(7, per_commit=7)  # one transaction crossing N: one checkpoint once it is committed
    assert [(cp.trigger, cp.chain_length) for cp in listed()] == [("daily", 1), ("rows", 6), ("rows", 13)]
    assert verify_checkpoints(database.session) == []


def test_the_checkpoint_names_the_committed_last_row(database, app):
    append_rows(3, per_commit=3)
    checkpoint = listed()[-1]
    last = database.session.scalars(select(AuditEvent).order_by(AuditEvent.id.desc())).first()
    assert (checkpoint.chain_length, checkpoint.last_event_id, checkpoint.last_hash) == (3, last.id, last.hash)
    on_file = checkpoint_files.read(checkpoint_dir(app) / checkpoint.file_name)
    assert on_file.statement.last_hash == last.hash
    assert base64.b64encode(on_file.signature).decode() == checkpoint.signature


def test_the_first_append_after_a_day_is_checkpointed(database):
    with clock.frozen(MONDAY):
        append_rows(1)
        clock.advance(timedelta(hours=23))
        append_rows(1)
        assert len(listed()) == 1
        clock.advance(timedelta(hours=2))
        append_rows(1)
    assert [(cp.trigger, cp.chain_length) for cp in listed()] == [("daily", 1), ("daily", 3)]


def test_the_daily_command_checkpoints_even_an_idle_trail(database, app):
    with clock.frozen(MONDAY):
        append_rows(1)
    with clock.frozen(MONDAY + timedelta(days=1)):
        result = app.test_cli_runner().invoke(args=["audit", "checkpoint"])
    assert result.exit_code == 0, result.output
    assert [(cp.trigger, cp.chain_length) for cp in listed()] == [("daily", 1), ("daily", 1)]
    assert len(os.listdir(checkpoint_dir(app))) == 2


def test_every_release_is_checkpointed_after_its_commit(ward, database):
    releases = [cp for cp in listed() if cp.trigger == "release"]
    assert len(releases) == 2
    dispositions = database.session.scalars(select(AuditEvent.id).where(
        AuditEvent.action == "disposition.created").order_by(AuditEvent.id)).all()
    assert len(dispositions) == 2
    for checkpoint, disposition in zip(releases, dispositions, strict=True):
        assert checkpoint.last_event_id >= disposition  # the release's own rows are inside its checkpoint
    assert verify_checkpoints(database.session) == []


@pytest.fixture
def unwritable_directory(app, database, tmp_path, monkeypatch):
    """CHECKPOINT_DIR names a file: no checkpoint can be written."""
    blocked = tmp_path / "not-a-directory"
    blocked.write_text("a file where the directory should be")
    monkeypatch.setitem(app.config, "CHECKPOINT_DIR", str(blocked))


def test_a_checkpoint_that_cannot_be_written_never_undoes_the_release(unwritable_directory, database, technician,
                                                                      verifier, qa_user, pharmacist, caplog):
    from tests.dispensing.factories import set_up_ward

    with caplog.at_level(logging.ERROR, logger="manufacturing.core.checkpoint_taking"):
        ward = set_up_ward(technician, verifier, qa_user, pharmacist)
    database.session.expire_all()
    assert ward.fresh.state == DoseState.RELEASED_INTERIM and ward.frozen.state == DoseState.RELEASED
    assert listed() == []
    assert "no audit checkpoint was taken" in caplog.text
    assert kinds(verify_checkpoints(database.session)) == {"STALE CHECKPOINT"}


def test_a_rolled_back_transaction_is_not_checkpointed(database):
    append_rows(1)
    record_event(database.session, "test.release", "test", 1)
    request_checkpoint(database.session, "release")
    database.session.rollback()
    append_rows(1)
    assert [cp.trigger for cp in listed()] == ["daily"]


def test_a_checkpoint_file_is_read_only_and_never_overwritten(database, app):
    append_rows(1)
    path = checkpoint_dir(app) / listed()[0].file_name
    content = path.read_bytes()
    assert not path.stat().st_mode & (stat.S_IWUSR | stat.S_IWGRP | stat.S_IWOTH)
    again = checkpoint_files.read(path)
    with pytest.raises(FileExistsError):
        checkpoint_files.write_new(checkpoint_dir(app), again)
    assert path.read_bytes() == content


def test_an_altered_checkpoint_file_is_found(database, app):
    append_rows(3, per_commit=3)
    path = checkpoint_dir(app) / listed()[0].file_name
    rewrite_file(path, lambda document: document["checkpoint"].update(chain_length=2))
    findings = verify_checkpoints(database.session)
    assert ("BAD SIGNATURE", path.name) in [(finding.kind, finding.where) for finding in findings]
    result = app.test_cli_runner().invoke(args=["audit", "verify"])
    assert result.exit_code == 1 and "BAD SIGNATURE" in result.output


def test_a_listed_checkpoint_whose_file_is_gone_is_found(database, app):
    append_rows(1)
    name = listed()[0].file_name
    (checkpoint_dir(app) / name).unlink()
    findings = verify_checkpoints(database.session)
    assert ("MISSING CHECKPOINT FILE", name) in [(finding.kind, finding.where) for finding in findings]


def test_a_deleted_tail_with_the_head_set_back_is_found(database, app, every_five):
    append_rows(1)
    append_rows(5)
    assert [cp.chain_length for cp in listed()] == [1, 6]
    keep = database.session.scalars(select(AuditEvent.id).order_by(AuditEvent.id)).all()[2]
    truncate_to(keep)
    assert not verify_chain(database.session).ok  # audit verify takes the checkpoints in
    findings = verify_checkpoints(database.session)
    assert {"TRUNCATED TAIL", "HEAD RESET"} <= kinds(findings)
    assert "3 rows; the checkpoint signed 6" in " ".join(finding.detail for finding in findings)
    result = app.test_cli_runner().invoke(args=["audit", "verify"])
    assert result.exit_code == 1 and "TRUNCATED TAIL" in result.output


def test_a_deleted_tail_written_anew_is_found(database, every_five):
    append_rows(1)
    append_rows(5)
    first = database.session.scalars(select(AuditEvent.id).order_by(AuditEvent.id)).first()
    truncate_to(first)
    append_rows(7, per_commit=7)  # the chain grows back past the checkpoint with other rows
    assert not verify_chain(database.session).ok
    assert "CHECKPOINT MISMATCH" in kinds(verify_checkpoints(database.session))


def test_a_wiped_trail_is_found(database, app):
    append_rows(4, per_commit=4)
    wipe_trail()
    assert not verify_chain(database.session).ok
    assert {"EVERYTHING DELETED", "HEAD RESET"} <= kinds(verify_checkpoints(database.session))


def test_checkpoints_that_stopped_are_a_warning(database, app, every_five):
    with clock.frozen(MONDAY):
        append_rows(1)
        app.config["CHECKPOINT_EVERY_ROWS"] = 1000  # checkpoints stop being taken
        append_rows(7)
        app.config["CHECKPOINT_EVERY_ROWS"] = 5
        assert kinds(verify_checkpoints(database.session)) == {"STALE CHECKPOINT"}
    with clock.frozen(MONDAY + timedelta(hours=27)):
        findings = verify_checkpoints(database.session)
        result = app.test_cli_runner().invoke(args=["audit", "verify"])
    assert [finding.detail.split(":")[0] for finding in findings] == [
        "7 rows were appended since the latest checkpoint", "the latest checkpoint is 27 hours old"]
    assert result.exit_code == 0, result.output  # a warning, not a broken trail


def test_a_clean_trail_verifies_on_the_command_line(database, app):
    append_rows(2)
    result = app.test_cli_runner().invoke(args=["audit", "verify"])
    assert result.exit_code == 0, result.output
    assert "CHECKPOINT" not in result.output


def test_the_key_is_never_replaced(app, database):
    key = Path(app.config["CHECKPOINT_KEY"])
    before = key.read_bytes()
    result = app.test_cli_runner().invoke(args=["audit", "keygen"])
    assert result.exit_code == 1 and "never replaced" in result.output
    assert key.read_bytes() == before


def test_a_public_key_left_alone_is_never_paired_with_a_new_private_key(app, database, tmp_path, monkeypatch):
    key = tmp_path / "checkpoint_key.pem"
    public = key.with_suffix(".pub.pem")
    public.write_bytes(b"a stale public key")
    monkeypatch.setitem(app.config, "CHECKPOINT_KEY", str(key))
    result = app.test_cli_runner().invoke(args=["audit", "keygen"])
    assert result.exit_code == 1 and f"{public} already exists" in result.output
    assert not key.exists() and public.read_bytes() == b"a stale public key"


UNKNOWN_ALGORITHM = (b"-----BEGIN PUBLIC KEY-----\n"
                     b"MCowBQYDKgMEAyEAERERERERERERERERERERERERERERERERERERERERERE=\n-----END PUBLIC KEY-----\n")


@pytest.mark.parametrize("content", [b"", b"-----BEGIN PUBLIC KEY-----\ngarbled\n", UNKNOWN_ALGORITHM],
                         ids=["empty", "garbled", "an algorithm no one knows"])
def test_an_unreadable_public_key_is_a_finding_not_a_crash(app, database, content, monkeypatch, tmp_path):
    append_rows(1)
    key = tmp_path / "checkpoint_key.pem"
    key.with_suffix(".pub.pem").write_bytes(content)
    monkeypatch.setitem(app.config, "CHECKPOINT_KEY", str(key))
    assert kinds(verify_checkpoints(database.session)) == {"UNREADABLE PUBLIC KEY"}
    result = app.test_cli_runner().invoke(args=["audit", "verify"])
    assert result.exit_code == 1 and "UNREADABLE PUBLIC KEY" in result.output
    assert type(result.exception) is SystemExit, result.exception  # a finding, not a traceback


@pytest.mark.parametrize("content", [b"[" * 200_000, json.dumps({"checkpoint": {
    "format": "audit-checkpoint/1", "chain_length": float("inf"), "last_event_id": 1, "last_hash": "x",
    "taken_at": "2026-01-01T00:00:00+00:00", "key_id": "k", "trigger": "t"}, "signature": ""}).encode()],
    ids=["nested past any parser", "an endless length"])
def test_a_checkpoint_file_past_any_reading_is_unreadable_not_a_crash(database, app, content):
    append_rows(1)
    path = checkpoint_dir(app) / listed()[0].file_name
    path.chmod(0o644)
    path.write_bytes(content)
    findings = verify_checkpoints(database.session)
    assert ("UNREADABLE CHECKPOINT", path.name) in [(finding.kind, finding.where) for finding in findings]


def test_a_key_whose_public_half_was_never_written_gets_it_back(app, database, tmp_path, monkeypatch):
    key = tmp_path / "checkpoint_key.pem"
    monkeypatch.setitem(app.config, "CHECKPOINT_KEY", str(key))
    assert app.test_cli_runner().invoke(args=["audit", "keygen"]).exit_code == 0
    public = key.with_suffix(".pub.pem")
    written = public.read_bytes()
    public.unlink()  # as if the writing had stopped between the two halves
    result = app.test_cli_runner().invoke(args=["audit", "keygen"])
    assert result.exit_code == 0 and "written again" in result.output
    assert public.read_bytes() == written


def test_a_public_half_that_cannot_be_written_leaves_no_private_half(app, database, tmp_path, monkeypatch):
    key = tmp_path / "checkpoint_key.pem"
    monkeypatch.setitem(app.config, "CHECKPOINT_KEY", str(key))
    write_new = durable_files.write_new

    def public_refused(path, content, mode):
        if str(path).endswith(".pub.pem"):
            raise OSError(errno.ENOSPC, "No space left on device", str(path))
        write_new(path, content, mode)

    monkeypatch.setattr(durable_files, "write_new", public_refused)
    result = app.test_cli_runner().invoke(args=["audit", "keygen"])
    assert result.exit_code == 1 and "No checkpoint key was written" in result.output
    assert list(tmp_path.iterdir()) == []


@pytest.fixture
def authority(app, monkeypatch):
    """TSA_URL set, and the HTTP client replaced by an in-process authority: no network."""
    stamper = dummy_authority()
    monkeypatch.setitem(app.config, "TSA_URL", "http://tsa.test/")
    monkeypatch.setattr(checkpoint_timestamps, "authority", lambda url, timeout: stamper)
    return stamper


def test_a_time_stamp_attests_the_checkpoint(database, app, authority):
    append_rows(1)
    checkpoint = checkpoint_files.read(checkpoint_dir(app) / listed()[0].file_name)
    algorithm, digest, stamped_at = checkpoint_timestamps.stamped_digest(checkpoint.timestamp_token)
    assert (algorithm, digest) == ("sha256", checkpoint.statement.digest())
    assert abs(stamped_at - datetime.now(UTC)) < timedelta(minutes=5)
    assert listed()[0].timestamped
    assert verify_checkpoints(database.session) == []


def test_a_time_stamp_of_other_content_is_found(database, app, authority):
    append_rows(1)
    append_rows(1, per_commit=1)
    take_checkpoint(database.engine, "daily")
    first, second = (checkpoint_dir(app) / cp.file_name for cp in listed())
    token = json.loads(second.read_text())["timestamp_token"]
    rewrite_file(first, lambda document: document.update(timestamp_token=token))
    assert [(finding.kind, finding.where) for finding in verify_checkpoints(database.session)] == [
        ("BAD TIMESTAMP", first.name)]


def test_an_authority_that_fails_leaves_the_checkpoint_unstamped(database, app, monkeypatch):
    def refuse(url, timeout):
        raise OSError("the authority cannot be reached")

    monkeypatch.setitem(app.config, "TSA_URL", "http://tsa.test/")
    monkeypatch.setattr(checkpoint_timestamps, "authority", refuse)
    append_rows(1)
    assert [cp.timestamped for cp in listed()] == [False]
    assert kinds(verify_checkpoints(database.session)) == {"NOT TIMESTAMPED"}


def test_a_forged_time_stamp_is_found(database, app, authority):
    append_rows(1)
    path = checkpoint_dir(app) / listed()[0].file_name
    token = bytearray(checkpoint_files.read(path).timestamp_token)
    token[-1] ^= 0x01  # the authority's signature no longer matches
    rewrite_file(path, lambda document: document.update(timestamp_token=base64.b64encode(bytes(token)).decode()))
    findings = verify_checkpoints(database.session)
    assert [(finding.kind, finding.where) for finding in findings] == [("BAD TIMESTAMP", path.name)]
    assert "not intact" in findings[0].detail


def test_without_a_key_the_daily_command_and_verify_fail_loudly(database, app, tmp_path, monkeypatch):
    append_rows(1)
    monkeypatch.setitem(app.config, "CHECKPOINT_KEY", str(tmp_path / "no-such-key.pem"))
    taken = app.test_cli_runner().invoke(args=["audit", "checkpoint"])
    assert taken.exit_code == 1 and "No checkpoint was taken" in taken.output
    verified = app.test_cli_runner().invoke(args=["audit", "verify"])
    assert verified.exit_code == 1 and "NO PUBLIC KEY" in verified.output
