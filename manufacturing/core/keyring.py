"""The audit key: HMAC-SHA256 keys kept outside the database, the current one and the retired ones.

The current key comes from `AUDIT_KEY` (hex) or the file `instance/audit_key`; retired keys, kept so
that what they sealed still verifies, from `AUDIT_RETIRED_KEYS` (hex, comma-separated) or the files
`instance/audit_keys/*.key`. A key is named by its id, a fingerprint that reveals nothing of the key.
"""

import hashlib
import hmac
import json
from dataclasses import dataclass
from json.encoder import c_make_encoder, encode_basestring
from pathlib import Path

from flask import Flask, current_app

UNKEYED = "unkeyed"
DEVELOPMENT_KEY = hashlib.sha256(b"development audit key: never for records of a patient").hexdigest()
EXTENSION = "audit_keyring"
CANONICAL = json.JSONEncoder(separators=(",", ":"), ensure_ascii=False, default=str)
_C_CANONICAL = c_make_encoder and c_make_encoder(None, str, encode_basestring, None, ":", ",", False, False, True)


def equal_text(made: str, given: object) -> bool:
    """Compare, in constant time, a MAC or digest made here with one stored or sent (None is no text; text of any
    characters compares unequal, never fails: hmac.compare_digest refuses non-ASCII str)."""
    written = given if isinstance(given, str) else "" if given is None else str(given)
    return hmac.compare_digest(made.encode(), written.encode("utf-8", "surrogatepass"))


def canonical(fields: list) -> str:
    """The canonical JSON text of fields, as every seal covers it (one encoder, built once)."""
    if _C_CANONICAL is None:
        return CANONICAL.encode(fields)
    return "".join(_C_CANONICAL(fields, 0))


def key_id(key: bytes) -> str:
    """Name a key by a fingerprint of it."""
    return hashlib.sha256(b"audit key id:" + key).hexdigest()[:12]


def _key(text: str, source: str) -> bytes:
    try:
        key = bytes.fromhex(text.strip())
    except ValueError:
        raise RuntimeError(f"The audit key in {source} is not hexadecimal.") from None
    if len(key) < 32:
        raise RuntimeError(f"The audit key in {source} is shorter than 32 bytes (64 hex digits).")
    return key


@dataclass(frozen=True)
class Keyring:
    """The current key and the retired ones, by id."""

    current_id: str
    keys: dict[str, bytes]

    def __post_init__(self) -> None:
        started = {identifier: hmac.new(key, digestmod=hashlib.sha256) for identifier, key in self.keys.items()}
        object.__setattr__(self, "_started", started)

    @classmethod
    def of(cls, current: bytes, retired: list[bytes] = ()) -> "Keyring":
        keys = {key_id(key): key for key in retired}
        keys[key_id(current)] = current
        return cls(key_id(current), keys)

    def mac(self, fields: list, with_key: str | None = None) -> str | None:
        """HMAC-SHA256 of the canonical fields under a key of the ring (the current one by default)."""
        started = self._started.get(with_key or self.current_id)
        if started is None:
            return None
        mac = started.copy()
        mac.update(canonical(fields).encode("utf-8"))
        return mac.hexdigest()

    def matches(self, fields: list, with_key: str, mac: str) -> bool:
        """Tell whether a stored MAC is the one the named key gives these fields."""
        expected = self.mac(fields, with_key)
        return expected is not None and equal_text(expected, mac)


def _current_key(app: Flask) -> bytes | None:
    if app.config.get("AUDIT_KEY"):
        return _key(app.config["AUDIT_KEY"], "AUDIT_KEY")
    key_file = Path(app.instance_path) / "audit_key"
    if key_file.exists():
        return _key(key_file.read_text(), "instance/audit_key")
    return None


def _retired_keys(app: Flask) -> list[bytes]:
    texts = [(text, "AUDIT_RETIRED_KEYS") for text in (app.config.get("AUDIT_RETIRED_KEYS") or "").split(",")
             if text.strip()]
    folder = Path(app.instance_path) / "audit_keys"
    if folder.is_dir():
        texts += [(path.read_text(), f"instance/audit_keys/{path.name}") for path in sorted(folder.glob("*.key"))]
    return [_key(text, source) for text, source in texts]


def init_app(app: Flask) -> None:
    """Load the keyring; outside debug or testing the application refuses to start without a key."""
    current = _current_key(app)
    if current is None:
        if not (app.debug or app.testing):
            raise RuntimeError("Refusing to start without an audit key: set AUDIT_KEY in the environment "
                               "or write a random key to instance/audit_key (see README, Production).")
        current = bytes.fromhex(DEVELOPMENT_KEY)
    app.extensions[EXTENSION] = Keyring.of(current, _retired_keys(app))


def keyring() -> Keyring:
    """The keyring of the running application."""
    return current_app.extensions[EXTENSION]

