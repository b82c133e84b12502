"""The Ed25519 key that signs audit checkpoints, kept in files outside the database; verifying needs the public half."""

import errno
import hashlib
import os
from pathlib import Path

from cryptography.exceptions import UnsupportedAlgorithm
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey

from manufacturing.core import durable_files

PUBLIC_SUFFIX = ".pub.pem"


def public_key_path(private_path: str | Path) -> Path:
    """Return where the public half of a signing key is kept: beside it, `name.pub.pem`."""
    return Path(private_path).with_suffix(PUBLIC_SUFFIX)


def generate_key(private_path: str | Path) -> str:
    """Create a new signing key and its public half; refuse, before writing anything, when either half exists
    (a public half left alone must not end up beside a private key it does not match). Return its key id."""
    private_path, public_path = Path(private_path), public_key_path(private_path)
    for path in (private_path, public_path):
        if os.path.lexists(path):
            raise FileExistsError(errno.EEXIST, "a checkpoint key is never replaced", str(path))
    private_path.parent.mkdir(parents=True, exist_ok=True)
    key = Ed25519PrivateKey.generate()
    durable_files.write_new(private_path, key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()), 0o400)
    try:
        _write_public(key, public_path)
    except BaseException:
        private_path.unlink()  # this run's own key, which nothing signed yet: no half is left alone
        raise
    return key_id(key.public_key())


def restore_public_half(private_path: str | Path) -> str:
    """Write the public half of the signing key when it is missing (a key whose writing stopped between its two
    halves): derived from the private key, it matches it. Return the key id."""
    key = load_private_key(private_path)
    _write_public(key, public_key_path(private_path))
    return key_id(key.public_key())


def _write_public(key: Ed25519PrivateKey, path: Path) -> None:
    durable_files.write_new(path, key.public_key().public_bytes(
        serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo), 0o444)


def load_private_key(private_path: str | Path) -> Ed25519PrivateKey:
    """Read the signing key; a missing, unreadable or foreign key is an OSError or a ValueError."""
    key = _loaded(serialization.load_pem_private_key, durable_files.read_regular(private_path), password=None)
    if not isinstance(key, Ed25519PrivateKey):
        raise ValueError(f"{private_path} is not an Ed25519 key")
    return key


def load_public_key(private_path: str | Path) -> Ed25519PublicKey | None:
    """Read the public half kept beside the signing key; None when there is none, ValueError or OSError when what
    is there is not one."""
    path = public_key_path(private_path)
    if not os.path.lexists(path):
        return None
    key = _loaded(serialization.load_pem_public_key, durable_files.read_regular(path))
    if not isinstance(key, Ed25519PublicKey):
        raise ValueError(f"{path} is not an Ed25519 public key")
    return key


def _loaded(load, content: bytes, **options):
    """A key parsed, any way its parsing fails (an unknown algorithm, a key that wants a password) a ValueError."""
    try:
        return load(content, **options)
    except (UnsupportedAlgorithm, TypeError) as error:
        raise ValueError(f"not a usable key: {error}") from error


def key_id(public_key: Ed25519PublicKey) -> str:
    """Name a key by the first 16 hex digits of the SHA-256 of its raw public bytes."""
    raw = public_key.public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)
    return hashlib.sha256(raw).hexdigest()[:16]
