"""Files kept outside the database: a name never shows part of a file, whatever stops the writing, and a reader
is never held by what is not a plain file."""

import errno
import os
import threading

import pytest

from manufacturing.core import durable_files

LARGE = b"x" * (8 << 20)  # large enough that a reader would catch a file being written under its own name


class Crash(BaseException):
    """What stops a writer without an OSError: a signal, an interpreter going down."""


@pytest.mark.parametrize("write", [lambda path, content: durable_files.write_new(path, content, 0o444),
                                   durable_files.replace], ids=["write_new", "replace"])
@pytest.mark.parametrize("stop", [OSError("disk full"), Crash()], ids=["disk full", "crash"])
def test_a_write_stopped_half_way_leaves_no_file_under_its_name_and_no_temporary_one(tmp_path, monkeypatch, write,
                                                                                     stop):
    path = tmp_path / "checkpoint.json"

    def fail(descriptor):
        raise stop

    monkeypatch.setattr(os, "fsync", fail)
    with pytest.raises(type(stop)):
        write(path, LARGE)
    assert list(tmp_path.iterdir()) == []


def test_a_new_file_is_never_seen_in_part(tmp_path):
    path, seen, done = tmp_path / "checkpoint.json", set(), threading.Event()

    def read() -> None:
        while not done.is_set():
            try:
                seen.add(len(path.read_bytes()))
            except FileNotFoundError:
                seen.add(None)

    reader = threading.Thread(target=read)
    reader.start()
    try:
        durable_files.write_new(path, LARGE, 0o444)
        seen.add(len(path.read_bytes()))
    finally:
        done.set()
        reader.join()
    assert seen <= {None, len(LARGE)}
    assert oct(path.stat().st_mode & 0o777) == oct(0o444)
    assert [entry.name for entry in tmp_path.iterdir()] == [path.name]


def test_a_new_file_refuses_an_existing_one_and_leaves_it_as_it_was(tmp_path):
    path = tmp_path / "key.pem"
    path.write_bytes(b"the key")
    with pytest.raises(FileExistsError):
        durable_files.write_new(path, b"another key", 0o400)
    assert path.read_bytes() == b"the key"
    assert [entry.name for entry in tmp_path.iterdir()] == [path.name]


def test_a_pipe_in_a_files_place_is_refused_at_once(tmp_path):
    pipe, outcome = tmp_path / "verified.seal", []
    os.mkfifo(pipe)

    def read() -> None:
        try:
            durable_files.read_regular(pipe)
        except OSError as error:
            outcome.append(error)

    reader = threading.Thread(target=read, daemon=True)
    reader.start()
    reader.join(timeout=5)
    assert not reader.is_alive(), "the reader waits on a pipe no one writes to"
    assert outcome and "not a plain file" in str(outcome[0])


def test_a_giant_in_a_files_place_is_refused_without_reading_it_whole(tmp_path):
    giant = tmp_path / "000000000050-20261204T000000000000Z.json"
    with giant.open("wb") as handle:
        handle.truncate(1 << 40)  # a terabyte, sparse
    with pytest.raises(OSError, match="larger than"):
        durable_files.read_regular(giant)


def test_a_directory_in_a_files_place_is_refused_by_its_name_and_keeps_no_descriptor(tmp_path):
    before = len(os.listdir("/proc/self/fd"))
    for _ in range(20):
        with pytest.raises(OSError, match=f"not a plain file: '{tmp_path}'"):
            durable_files.read_regular(tmp_path)
    assert len(os.listdir("/proc/self/fd")) == before


def test_a_refused_new_file_names_its_own_name_not_the_temporary_one(tmp_path):
    path = tmp_path / "key.pem"
    path.write_bytes(b"the key")
    with pytest.raises(FileExistsError) as refused:
        durable_files.write_new(path, b"another key", 0o400)
    assert refused.value.filename == str(path)


def test_a_filesystem_without_hard_links_is_named_and_leaves_nothing(tmp_path, monkeypatch):
    def no_links(source, target):
        raise PermissionError(errno.EPERM, "Operation not permitted", source, None, target)

    monkeypatch.setattr(os, "link", no_links)
    with pytest.raises(OSError, match="filesystem without hard links"):
        durable_files.write_new(tmp_path / "checkpoint.json", b"{}", 0o444)
    assert list(tmp_path.iterdir()) == []
