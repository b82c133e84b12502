"""Files outside the database that must survive a crash whole (keys, checkpoints, the verification seal):
written, flushed to disk, and only then given their name."""

import os
import stat
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager, suppress
from pathlib import Path


def write_new(path: str | Path, content: bytes, mode: int) -> None:
    """Create a file that must not exist yet: written whole under a temporary name, then linked to its own name
    (a link refuses an existing file or a planted link), so that its name never shows part of it."""
    path = Path(path)
    with _written(path, content, mode) as partial:
        os.link(partial, path)
    sync_directory(path.parent)


def replace(path: str | Path, content: bytes) -> None:
    """Put a whole new file in the place of `path` (a reader sees the old file or the new one, never part of one)."""
    path = Path(path)
    with _written(path, content, None) as partial:
        os.replace(partial, path)
    sync_directory(path.parent)


def read_regular(path: str | Path) -> bytes:
    """Read a file that must be a plain file: a pipe, device or directory in its place is an OSError, not a wait."""
    descriptor = os.open(path, os.O_RDONLY | os.O_NONBLOCK)
    with os.fdopen(descriptor, "rb") as handle:
        if not stat.S_ISREG(os.fstat(handle.fileno()).st_mode):
            raise OSError(f"{path} is not a plain file")
        return handle.read()


@contextmanager
def _written(path: Path, content: bytes, mode: int | None) -> Iterator[str]:
    """A temporary file of a name of its own beside `path`, holding `content` on disk; gone on leaving, whatever
    happened (only a crash can leave one: its name starts with a dot and no reader lists it)."""
    descriptor, partial = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.")
    try:
        with os.fdopen(descriptor, "wb") as handle:
            handle.write(content)
            handle.flush()
            os.fsync(handle.fileno())
        if mode is not None:
            os.chmod(partial, mode)
        yield partial
    finally:
        with suppress(FileNotFoundError):  # renamed into place
            os.unlink(partial)


def sync_directory(directory: str | Path) -> None:
    """Flush a directory's entries, so that a file just named is found after a crash."""
    descriptor = os.open(directory, os.O_RDONLY)
    try:
        os.fsync(descriptor)
    finally:
        os.close(descriptor)
