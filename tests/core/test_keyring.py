"""The audit key: where it comes from, refusing to start without it, and rotation with retired keys."""

import pytest
from flask import Flask

from manufacturing import create_app
from manufacturing.core import keyring
from manufacturing.core.audit import record_event
from manufacturing.core.audit_verify import FORGED, verify_chain
from manufacturing.core.keyring import Keyring, key_id

OLD, NEW, RETIRED = "a1" * 32, "b2" * 32, "c3" * 32


def _loaded(tmp_path, **config) -> Keyring:
    app = Flask(__name__, instance_path=str(tmp_path))
    app.config.update(config)
    keyring.init_app(app)
    return app.extensions[keyring.EXTENSION]


def test_refuses_to_start_without_an_audit_key_outside_debug_and_testing(tmp_path, monkeypatch):
    monkeypatch.setattr("manufacturing.INSTANCE_DIR", tmp_path)
    with pytest.raises(RuntimeError, match="without an audit key"):
        create_app({"SECRET_KEY": "a-real-secret", "TESTING": False, "DEBUG": False, "AUDIT_KEY": None})


def test_the_key_comes_from_the_configuration_before_the_instance_file(tmp_path):
    (tmp_path / "audit_key").write_text(OLD + "\n")
    assert _loaded(tmp_path, AUDIT_KEY=NEW).current_id == key_id(bytes.fromhex(NEW))
    assert _loaded(tmp_path).current_id == key_id(bytes.fromhex(OLD))


def test_retired_keys_come_from_the_configuration_and_the_instance_folder(tmp_path):
    (tmp_path / "audit_keys").mkdir()
    (tmp_path / "audit_keys" / "2026-01.key").write_text(RETIRED)
    ring = _loaded(tmp_path, AUDIT_KEY=NEW, AUDIT_RETIRED_KEYS=f"{OLD}, ")
    assert set(ring.keys) == {key_id(bytes.fromhex(key)) for key in (OLD, NEW, RETIRED)}


@pytest.mark.parametrize("bad", ["not hex", "ab" * 16])
def test_a_key_that_is_not_long_hex_is_refused(tmp_path, bad):
    with pytest.raises(RuntimeError, match="AUDIT_KEY"):
        _loaded(tmp_path, AUDIT_KEY=bad)


def test_debug_without_a_key_uses_the_development_key(tmp_path):
    ring = _loaded(tmp_path, DEBUG=True)
    assert ring.current_id == key_id(bytes.fromhex(keyring.DEVELOPMENT_KEY))


def test_a_key_id_names_the_key_without_revealing_it():
    identifier = key_id(bytes.fromhex(OLD))
    assert len(identifier) == 12 and identifier not in OLD and identifier != key_id(bytes.fromhex(NEW))


@pytest.fixture
def rotated(app, database):
    """The trail sealed under the test key, then under a new key with the test key retired."""
    original = app.extensions[keyring.EXTENSION]
    record_event(database.session, "auth.login", "user", 1)
    database.session.commit()
    current = original.keys[original.current_id]
    app.extensions[keyring.EXTENSION] = Keyring.of(bytes.fromhex(NEW), [current])
    record_event(database.session, "auth.login", "user", 2)
    database.session.commit()
    yield original
    app.extensions[keyring.EXTENSION] = original


def test_rows_sealed_with_a_retired_key_still_verify(app, database, rotated):
    from manufacturing.core.audit import AuditEvent

    key_ids = database.session.scalars(database.select(AuditEvent.key_id).order_by(AuditEvent.id)).all()
    assert key_ids == [rotated.current_id, key_id(bytes.fromhex(NEW))]
    assert verify_chain(database.session).ok


def test_rows_sealed_with_a_key_removed_from_the_ring_read_as_forged(app, database, rotated):
    app.extensions[keyring.EXTENSION] = Keyring.of(bytes.fromhex(NEW))
    report = verify_chain(database.session)
    assert FORGED in report.kinds and rotated.current_id in str(report)
