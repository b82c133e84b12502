"""Files outside the database that must survive a crash whole (keys, checkpoints, the verification seal):
written, flushed to disk, and only then given their name."""

import errno
import os
import stat
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager, suppress
from pathlib import Path

MOST_BYTES = 64 << 20  # no key, checkpoint or seal comes near it; a larger file in its place is not one


def write_new(path: str | Path, content: bytes, mode: int) -> None:
    """Create a file that must not exist yet: written whole under a temporary name, then linked to its own name
    (a link refuses an existing file or a planted link), so that its name never shows part of it."""
    path = Path(path)
    with _written(path, content, mode) as partial:
        try:
            os.link(partial, path)
        except FileExistsError:
            raise FileExistsError(errno.EEXIST, "it already exists", str(path)) from None
        except OSError as error:
            if error.errno not in (errno.EPERM, errno.ENOTSUP, errno.EOPNOTSUPP):
                raise
            raise OSError(error.errno, f"{path.parent} is on a filesystem without hard links, which a file "
                          "created once needs: keep keys and checkpoints on a local filesystem") from None
    sync_directory(path.parent)


def replace(path: str | Path, content: bytes) -> None:
    """Put a whole new file in the place of `path` (a reader sees the old file or the new one, never part of one)."""
    path = Path(path)
    with _written(path, content, None) as partial:
        os.replace(partial, path)
    sync_directory(path.parent)


def read_regular(path: str | Path) -> bytes:
    """Read a file that must be a plain file of a sensible size: a pipe, device, directory or giant in its place
    is an OSError, not a wait or a machine out of memory."""
    descriptor = os.open(path, os.O_RDONLY | os.O_NONBLOCK)
    try:
        if not stat.S_ISREG(os.fstat(descriptor).st_mode):
            raise OSError(errno.EINVAL, "not a plain file", str(path))
        content = _read_at_most(descriptor, MOST_BYTES + 1)
    finally:
        os.close(descriptor)
    if len(content) > MOST_BYTES:
        raise OSError(errno.EFBIG, f"larger than {MOST_BYTES >> 20} MiB", str(path))
    return content


def _read_at_most(descriptor: int, limit: int) -> bytes:
    chunks, left = [], limit
    while left and (chunk := os.read(descriptor, min(left, 1 << 20))):
        chunks.append(chunk)
        left -= len(chunk)
    return b"".join(chunks)


@contextmanager
def _written(path: Path, content: bytes, mode: int | None) -> Iterator[str]:
    """A temporary file of a name of its own beside `path`, holding `content` on disk, removed on leaving (a
    process killed outright can leave one behind: its name starts with a dot and no reader lists it)."""
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
