"""The seal's file: many verifications finishing together leave one whole, valid seal; a reader meanwhile sees
a whole seal or none, never part of one."""

import os
import threading
from concurrent.futures import ThreadPoolExecutor

import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from manufacturing.core.audit_seal import Seal, read_seal, seal_path, write_seal
from manufacturing.core.checkpoint_keys import generate_key

KEYS = ("key-a",)
RULES = "rules"
WRITERS = 8
ROUNDS = 5  # each writer replaces the seal this many times


def _seal(number: int) -> Seal:
    """A seal large enough that a torn write would show (thousands of blocks)."""
    trail = {block: {"count": number, "digest": f"{number:064x}"} for block in range(2_000)}
    return Seal(f"2026-12-03T10:00:{number:02d}", number, KEYS, RULES, trail,
                {"lots": {0: (number, f"{number:064x}")}})


def test_writers_at_once_leave_one_whole_seal_and_readers_never_see_half(tmp_path):
    key = tmp_path / "checkpoint_key.pem"
    generate_key(key)
    directory = str(tmp_path / "checkpoints")
    seals = [_seal(number) for number in range(WRITERS)]
    start, done, seen = threading.Barrier(WRITERS + 1), threading.Event(), []

    def write(seal: Seal) -> bool:
        start.wait()
        results = [write_seal(directory, str(key), seal) for _ in range(ROUNDS)]  # every round, even after a False
        return all(results)

    def read() -> None:
        start.wait()
        while not done.is_set():
            seen.append(read_seal(directory, str(key), frozenset(KEYS), RULES))

    with ThreadPoolExecutor(WRITERS + 1) as pool:
        reader = pool.submit(read)
        written = list(pool.map(write, seals))
        done.set()
        reader.result()
    assert all(written)
    assert read_seal(directory, str(key), frozenset(KEYS), RULES) in seals
    first = next((index for index, seal in enumerate(seen) if seal is not None), len(seen))
    assert all(seal in seals for seal in seen[first:])  # none before the first seal is named, then always a whole one
    assert [path.name for path in seal_path(directory).parent.iterdir()] == [seal_path(directory).name]


@pytest.mark.parametrize("plant", [lambda path: path.write_bytes(b"[" * 200_000), os.mkfifo, os.mkdir],
                         ids=["nested past any parser", "a pipe", "a directory"])
def test_what_is_not_a_seal_in_its_place_is_no_seal(tmp_path, plant):
    key = tmp_path / "checkpoint_key.pem"
    generate_key(key)
    directory = tmp_path / "checkpoints"
    directory.mkdir()
    plant(seal_path(str(directory)))
    assert read_seal(str(directory), str(key), frozenset(KEYS), RULES) is None


def test_a_private_key_that_wants_a_password_leaves_no_seal_and_no_crash(tmp_path):
    key = tmp_path / "checkpoint_key.pem"
    key.write_bytes(Ed25519PrivateKey.generate().private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
        serialization.BestAvailableEncryption(b"a password")))
    directory = str(tmp_path / "checkpoints")
    assert write_seal(directory, str(key), _seal(1)) is False
    assert not seal_path(directory).exists()
