"""Helpers for the checkpoint tests: audit rows, the files written, raw tampering as a database insider would."""

import json
import os
from datetime import UTC, datetime, timedelta
from pathlib import Path

from asn1crypto import keys, x509
from cryptography import x509 as pyca_x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID
from pyhanko.sign.timestamps import DummyTimeStamper
from sqlalchemy import select

from manufacturing.core.audit import AuditEvent, record_event
from manufacturing.core.checkpoints import AuditCheckpoint
from manufacturing.extensions import db
from tests.conftest import past_the_triggers


def append_rows(count: int, per_commit: int = 1) -> None:
    """Append `count` audit rows, committing every `per_commit` rows."""
    for number in range(count):
        record_event(db.session, "test.event", "test", number, {"n": {"new": number}})
        if (number + 1) % per_commit == 0:
            db.session.commit()
    db.session.commit()


def listed() -> list[AuditCheckpoint]:
    """The checkpoints the database lists, oldest first."""
    return db.session.scalars(select(AuditCheckpoint).order_by(AuditCheckpoint.id)).all()


def checkpoint_dir(app) -> Path:
    return Path(app.config["CHECKPOINT_DIR"])


def rewrite_file(path: Path, change) -> None:
    """Alter a read-only checkpoint file in place, as someone with access to the directory could."""
    document = json.loads(path.read_text())
    change(document)
    os.chmod(path, 0o644)
    path.write_text(json.dumps(document))


def kinds(findings) -> set[str]:
    return {finding.kind for finding in findings}


def insider(statements: list[str], params: dict | None = None) -> None:
    """Run raw SQL as a database insider, as the owner, past the append-only triggers."""
    with past_the_triggers() as connection:
        for statement in statements:
            connection.exec_driver_sql(statement, params or {})


def truncate_to(row_id: int) -> None:
    """Delete every audit row after `row_id` and set the head back to that row's genuine hash and length."""
    last_hash = db.session.get(AuditEvent, row_id).hash
    length = db.session.scalar(select(db.func.count()).select_from(AuditEvent).where(AuditEvent.id <= row_id))
    db.session.rollback()
    insider([f"DELETE FROM audit_events WHERE id > {int(row_id)}",
             f"UPDATE audit_chain_head SET last_hash = '{last_hash}', length = {int(length)} WHERE id = 1"])


def wipe_trail() -> None:
    """Delete every audit row and set the head back to the genesis."""
    db.session.rollback()
    insider(["DELETE FROM audit_events",
             f"UPDATE audit_chain_head SET last_hash = '{'0' * 64}', length = 0 WHERE id = 1"])


def dummy_authority() -> DummyTimeStamper:
    """An in-process time-stamping authority with a certificate made here (RSA, key usage time stamping)."""
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    name = pyca_x509.Name([pyca_x509.NameAttribute(NameOID.COMMON_NAME, "Test Time-Stamping Authority")])
    now = datetime.now(UTC)
    certificate = (pyca_x509.CertificateBuilder().subject_name(name).issuer_name(name)
                   .public_key(key.public_key()).serial_number(pyca_x509.random_serial_number())
                   .not_valid_before(now - timedelta(days=1)).not_valid_after(now + timedelta(days=30))
                   .add_extension(pyca_x509.ExtendedKeyUsage([ExtendedKeyUsageOID.TIME_STAMPING]), critical=True)
                   .sign(key, hashes.SHA256()))
    key_der = key.private_bytes(serialization.Encoding.DER, serialization.PrivateFormat.PKCS8,
                                serialization.NoEncryption())
    return DummyTimeStamper(tsa_cert=x509.Certificate.load(certificate.public_bytes(serialization.Encoding.DER)),
                            tsa_key=keys.PrivateKeyInfo.load(key_der))
