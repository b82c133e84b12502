"""Files outside the database that must survive a crash whole (keys, checkpoints, the verification seal):
written, flushed to disk, and only then given their name."""

import os
import tempfile
from pathlib import Path


def write_new(path: str | Path, content: bytes, mode: int) -> None:
    """Create a file that must not exist yet (O_EXCL: an existing file or a planted link is refused)."""
    path = Path(path)
    descriptor = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, mode)
    with os.fdopen(descriptor, "wb") as handle:
        _write(handle, content)
    sync_directory(path.parent)


def replace(path: str | Path, content: bytes) -> None:
    """Put a whole new file in the place of `path` (a reader sees the old file or the new one, never part of one),
    through a temporary file of a name of its own beside it."""
    path = Path(path)
    descriptor, partial = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.")
    try:
        with os.fdopen(descriptor, "wb") as handle:
            _write(handle, content)
        os.replace(partial, path)
    except OSError:
        os.unlink(partial)
        raise
    sync_directory(path.parent)


def _write(handle, content: bytes) -> None:
    handle.write(content)
    handle.flush()
    os.fsync(handle.fileno())


def sync_directory(directory: str | Path) -> None:
    """Flush a directory's entries, so that a file just named is found after a crash."""
    descriptor = os.open(directory, os.O_RDONLY)
    try:
        os.fsync(descriptor)
    finally:
        os.close(descriptor)
