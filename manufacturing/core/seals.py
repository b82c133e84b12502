"""What each keyed seal covers: audit rows, the chain, its head, signatures and stored documents.

Every seal is an HMAC-SHA256 under a key of the keyring (core/keyring.py), named by its key id. Rows
written before the trail was keyed carry the key id `unkeyed` and their plain SHA-256; they verify only
where a keyed seal after them still vouches for them.
"""

import hashlib
import json

from manufacturing.core import clock
from manufacturing.core.keyring import UNKEYED, keyring

AUDIT_COLUMNS = ("occurred_at", "user_id", "username", "action", "entity_type", "entity_id", "scope",
                 "changes", "reason")


def _row_fields(row: dict) -> list:
    return [clock.as_utc(row["occurred_at"]).isoformat()] + [row[column] for column in AUDIT_COLUMNS[1:]]


def row_content(row: dict) -> list:
    """What an audit row's MAC covers: its content."""
    return ["audit row", *_row_fields(row)]


def row_link(prev_hash: str, mac: str) -> list:
    """What a row's link covers: the link of the row before it and the row's own MAC."""
    return ["audit link", prev_hash, mac]


def row_mac(row: dict) -> str:
    """Seal one audit row's content with the current key."""
    return keyring().mac(row_content(row))


def link_hash(prev_hash: str, mac: str) -> str:
    """Seal a row's place in the chain with the current key."""
    return keyring().mac(row_link(prev_hash, mac))


def head_mac(length: int, last_hash: str, key_id: str | None = None) -> str | None:
    """Seal the chain head, so that a head set back by hand is seen."""
    return keyring().mac(["audit head", int(length), last_hash], key_id)


def hidden_value(entity: str, field: str, value: object) -> str:
    """A keyed fingerprint of a value the trail hides (a password hash), named by its key id."""
    ring = keyring()
    return f"hmac:{ring.current_id}:{ring.mac(['hidden value', entity, field, value])}"


def hidden_value_matches(entity: str, field: str, value: object, sealed: str) -> bool:
    """Tell whether a value is the one the trail fingerprinted."""
    _, key_id, mac = [*sealed.split(":"), "", ""][:3]
    return keyring().matches(["hidden value", entity, field, value], key_id, mac)


def setup_code_mac(code: str) -> str:
    """A setup code as kept: keyed, so that nobody with the database alone can plant a code of their own."""
    return keyring().mac(["setup code", code])


def session_token_mac(token: str) -> str:
    """A login session's token as kept: keyed, so that nobody with the database alone can forge a session."""
    return keyring().mac(["session", token])


def unkeyed_digest(row: dict, prev_hash: str) -> str:
    """The plain SHA-256 a row carried before the trail was keyed."""
    payload = json.dumps([*_row_fields(row), prev_hash], separators=(",", ":"), ensure_ascii=False)
    return hashlib.sha256(payload.encode("utf-8")).hexdigest()


def binding_fields(signature) -> list:
    """A signature's own fields, bound to the hash of the content it signs."""
    return [signature.entity_type, signature.entity_id, signature.content_hash, signature.signer_id,
            signature.username, signature.printed_name, signature.meaning.name,
            clock.as_utc(signature.signed_at).isoformat()]


def sealed_binding(entity_type: str, entity_id: str, content_hash: str, signer_id: int, username: str,
                   printed_name: str, meaning: str, signed_at: str, version: int | None, scope: str | None) -> list:
    """What a signature's binding MAC covers: its fields as stored, the meaning by name, the time as UTC ISO text."""
    return ["signature", entity_type, entity_id, content_hash, signer_id, username, printed_name, meaning, signed_at,
            version, scope]


def _sealed_binding(signature) -> list:
    return sealed_binding(*binding_fields(signature), signature.record_version, signature.scope)


def binding_mac(signature) -> str:
    """Seal a signature to its record, version and content with the current key."""
    return keyring().mac(_sealed_binding(signature))


def binding_intact(signature) -> bool:
    """Tell whether a signature's binding is the one its key gives (or, before keying, its plain hash)."""
    if signature.key_id == UNKEYED:
        text = json.dumps(binding_fields(signature), separators=(",", ":"), ensure_ascii=False)
        return hashlib.sha256(text.encode("utf-8")).hexdigest() == signature.binding_hash
    return keyring().matches(_sealed_binding(signature), signature.key_id, signature.binding_hash)


def _sealed_document(document) -> list:
    return ["document", document.kind.name, document.lot_id, document.dose_unit_id, document.revision,
            document.sha256, document.source_hash, document.size, document.filename,
            clock.as_utc(document.created_at).isoformat(), document.created_by_id]


def document_mac(document) -> str:
    """Seal what a stored document is (kind, lot, dose, revision, SHA-256, source data) with the current key."""
    return keyring().mac(_sealed_document(document))


def bytes_intact(document) -> bool:
    """Tell whether a document's bytes still have its recorded SHA-256."""
    return hashlib.sha256(document.content).hexdigest() == document.sha256


def document_sealed(document) -> bool:
    """Tell whether a document's record (SHA-256 included) still has its seal; before keying there is none."""
    return document.key_id == UNKEYED or keyring().matches(_sealed_document(document), document.key_id,
                                                           document.mac)


def _sealed_report(report) -> list:
    return ["trial report", report.revision, report.sha256, report.source_hash, report.size, report.filename,
            clock.as_utc(report.created_at).isoformat(), report.created_by_id]


def report_mac(report) -> str:
    """Seal what a stored trial report is (revision, SHA-256, source data, who and when) with the current key."""
    return keyring().mac(_sealed_report(report))


def report_sealed(report) -> bool:
    return report.key_id == UNKEYED or keyring().matches(_sealed_report(report), report.key_id, report.mac)


def _sealed_file(record) -> list:
    return ["instrument file", record.lot_id, record.step_id, record.filename, record.reader, record.sha256,
            record.sample_row, record.size, record.sample_id, record.serial_number, record.equipment_id,
            clock.as_utc(record.imported_at).isoformat(), record.imported_by_id] + (
                [record.dose_unit_id] if record.dose_unit_id is not None else [])  # sealed since it was kept


def file_mac(record) -> str:
    """Seal what an imported instrument file is (lot, step or dose unit, name, SHA-256, sample) with the current key."""
    return keyring().mac(_sealed_file(record))


def file_sealed(record) -> bool:
    """Tell whether an imported file's record (SHA-256 included) still has its seal: files are imported only
    into a keyed trail, so a file "unkeyed" was downgraded by hand."""
    return record.key_id != UNKEYED and keyring().matches(_sealed_file(record), record.key_id, record.mac)


def api_token_mac(secret: str, key_id: str | None = None) -> str | None:
    """An API token's secret as kept: keyed, so that nobody with the database alone can plant a token.

    The token keeps the id of its key: it stays valid while that key is current or retired on the ring.
    """
    return keyring().mac(["api token", secret], key_id)


def api_token_matches(secret: str, key_id: str, sealed: str) -> bool:
    """Tell, in constant time, whether the secret is the one the token's key sealed."""
    return keyring().matches(["api token", secret], key_id, sealed)
