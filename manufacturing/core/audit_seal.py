"""The verification seal: what a verification that found the trail intact saw, signed, so that the next one
need not read again what has not changed since.

A verification that finds nothing but warnings writes, beside the checkpoints (outside the database), a file
signed with the checkpoint key: the digest and the scan's summary of each block of the trail, and the digest
of each block of every record table, as of its snapshot. The next verification asks PostgreSQL for the same
digests: a block whose digest is unchanged holds the very rows found intact (SHA-256: nobody makes other rows
with the same digest), so its summary stands for its scan; every other block is read and checked row by row,
and every record of a block that changed, or that the trail has touched since, is compared with its whole
trail. Nobody without the checkpoint key can write a seal; without a seal, or with one that does not hold,
everything is read. The seal records the keys and the comparison rules it was made under: another keyring,
or other rules, and it is not used.
"""

import base64
import hashlib
import json
from dataclasses import dataclass
from pathlib import Path

from cryptography.exceptions import InvalidSignature

from manufacturing.core import checkpoint_keys, durable_files

FORMAT = "audit-verified/1"
FILE_NAME = "verified.seal"


@dataclass(frozen=True)
class Seal:
    """What an intact verification saw: blocks of the trail and of each record table, by number."""

    verified_at: str
    chain_length: int
    keys: tuple[str, ...]
    rules: str
    trail: dict[int, dict]
    tables: dict[str, dict[int, tuple[int, str]]]

    def payload(self) -> bytes:
        fields = {"format": FORMAT, "verified_at": self.verified_at, "chain_length": self.chain_length,
                  "keys": list(self.keys), "rules": self.rules,
                  "trail": {str(block): summary for block, summary in self.trail.items()},
                  "tables": {name: {str(block): list(entry) for block, entry in blocks.items()}
                             for name, blocks in self.tables.items()}}
        return json.dumps(fields, sort_keys=True, separators=(",", ":")).encode()


def seal_path(checkpoint_dir: str) -> Path:
    return Path(checkpoint_dir) / FILE_NAME


def write_seal(checkpoint_dir: str, private_key_path: str, seal: Seal) -> bool:
    """Sign and write the seal in place of the last one (a whole file or none); False without the key."""
    try:
        key = checkpoint_keys.load_private_key(private_key_path)
    except (OSError, ValueError):
        return False
    payload = seal.payload()
    document = json.dumps({"seal": base64.b64encode(payload).decode(),
                           "signature": base64.b64encode(key.sign(payload)).decode()}).encode()
    path = seal_path(checkpoint_dir)
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        durable_files.replace(path, document)
    except OSError:  # a seal not written is only a slower next verification
        return False
    return True


def read_seal(checkpoint_dir: str, private_key_path: str, keys: frozenset[str], rules: str) -> Seal | None:
    """The seal, when its signature holds under the public key and it was made under these keys and rules."""
    try:
        public_key = checkpoint_keys.load_public_key(private_key_path)
        document = json.loads(durable_files.read_regular(seal_path(checkpoint_dir)))
        payload = base64.b64decode(document["seal"], validate=True)
        if public_key is None:
            return None
        public_key.verify(base64.b64decode(document["signature"], validate=True), payload)
        seal = _parsed(json.loads(payload))
    except (OSError, ValueError, KeyError, TypeError, AttributeError, OverflowError, RecursionError,
            InvalidSignature):
        return None
    return seal if seal is not None and set(seal.keys) <= keys and seal.rules == rules else None


def _parsed(fields: dict) -> Seal | None:
    if fields["format"] != FORMAT:
        return None
    return Seal(str(fields["verified_at"]), int(fields["chain_length"]), tuple(fields["keys"]), str(fields["rules"]),
                {int(block): summary for block, summary in fields["trail"].items()},
                {name: {int(block): (int(entry[0]), str(entry[1])) for block, entry in blocks.items()}
                 for name, blocks in fields["tables"].items()})


def rules_digest(*parts: object) -> str:
    """A digest of the rules a verification compared by (each audited class's compared and hidden columns)."""
    return hashlib.sha256(json.dumps(parts, sort_keys=True, default=str).encode()).hexdigest()
