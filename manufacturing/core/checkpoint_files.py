"""Checkpoint files: one signed JSON document per checkpoint, created once (O_EXCL) and never rewritten."""

import base64
import hashlib
import json
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey

from manufacturing.core import durable_files

FORMAT = "audit-checkpoint/1"
SUFFIX = ".json"


@dataclass(frozen=True)
class Statement:
    """What a checkpoint attests: the chain had `chain_length` rows, the last one `last_event_id` with `last_hash`."""

    chain_length: int
    last_event_id: int | None
    last_hash: str
    taken_at: datetime
    key_id: str
    trigger: str

    def payload(self) -> bytes:
        """The exact bytes that are signed and time-stamped (canonical JSON)."""
        fields = {"format": FORMAT, "chain_length": self.chain_length, "last_event_id": self.last_event_id,
                  "last_hash": self.last_hash, "taken_at": self.taken_at.isoformat(), "key_id": self.key_id,
                  "trigger": self.trigger}
        return json.dumps(fields, sort_keys=True, separators=(",", ":")).encode("utf-8")

    def digest(self) -> bytes:
        return hashlib.sha256(self.payload()).digest()

    def file_name(self) -> str:
        return f"{self.chain_length:012d}-{self.taken_at:%Y%m%dT%H%M%S%fZ}{SUFFIX}"


@dataclass(frozen=True)
class SignedCheckpoint:
    statement: Statement
    signature: bytes
    timestamp_token: bytes | None = None


def sign(statement: Statement, key: Ed25519PrivateKey, timestamp_token: bytes | None) -> SignedCheckpoint:
    return SignedCheckpoint(statement, key.sign(statement.payload()), timestamp_token)


def signature_holds(checkpoint: SignedCheckpoint, public_key: Ed25519PublicKey) -> bool:
    """Tell whether the signature was made over this statement by this key."""
    try:
        public_key.verify(checkpoint.signature, checkpoint.statement.payload())
    except InvalidSignature:
        return False
    return True


def write_new(directory: str | Path, checkpoint: SignedCheckpoint) -> str:
    """Create the checkpoint's file, read-only; an existing file is never replaced. Return the file name."""
    directory = Path(directory)
    directory.mkdir(parents=True, exist_ok=True)
    name = checkpoint.statement.file_name()
    durable_files.write_new(directory / name, _document(checkpoint), 0o444)
    return name


def _document(checkpoint: SignedCheckpoint) -> bytes:
    token = checkpoint.timestamp_token
    document = {"checkpoint": json.loads(checkpoint.statement.payload()),
                "signature": base64.b64encode(checkpoint.signature).decode("ascii"),
                "timestamp_token": base64.b64encode(token).decode("ascii") if token else None}
    return json.dumps(document, sort_keys=True, indent=2).encode("utf-8") + b"\n"


def file_names(directory: str | Path) -> list[str]:
    """Every checkpoint file in the directory, oldest chain length first."""
    directory = Path(directory)
    if not directory.is_dir():
        return []
    return sorted(path.name for path in directory.iterdir() if path.name.endswith(SUFFIX))


def read(path: str | Path) -> SignedCheckpoint:
    """Parse a checkpoint file; raise ValueError when it is not one."""
    try:
        document = json.loads(durable_files.read_regular(path))
        fields = document["checkpoint"]
        if fields["format"] != FORMAT:
            raise ValueError(f"unknown format {fields['format']!r}")
        statement = Statement(int(fields["chain_length"]), fields["last_event_id"], str(fields["last_hash"]),
                              datetime.fromisoformat(fields["taken_at"]), str(fields["key_id"]),
                              str(fields["trigger"]))
        token = document.get("timestamp_token")
        return SignedCheckpoint(statement, base64.b64decode(document["signature"], validate=True),
                                base64.b64decode(token, validate=True) if token else None)
    except (KeyError, TypeError, ValueError, OverflowError, RecursionError) as error:
        raise ValueError(f"not a checkpoint file: {type(error).__name__} {error}") from error
