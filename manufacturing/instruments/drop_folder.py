"""The folder the instruments export into, when the site configures one: its files, newest first, read by name."""

from datetime import UTC, datetime
from pathlib import Path

from flask import current_app

from manufacturing.core import clock
from manufacturing.core.errors import DomainError
from manufacturing.instruments.operations import Upload

SHOWN = 50  # the newest files offered


def _folder() -> Path | None:
    configured = current_app.config.get("INSTRUMENT_DROP_FOLDER")
    return Path(configured) if configured else None


def _files(folder: Path) -> list[Path]:
    try:
        found = [path for path in folder.iterdir()
                 if not path.is_symlink() and path.is_file() and not path.name.startswith(".")]
    except OSError:
        return []
    return sorted(found, key=lambda path: path.stat().st_mtime, reverse=True)[:SHOWN]


def listing() -> list[tuple[str, str]]:
    """(name, label) of the newest files of the folder; none when no folder is configured or it cannot be read."""
    folder = _folder()
    if folder is None:
        return []
    return [(path.name, f"{path.name} · {clock.format_local(datetime.fromtimestamp(path.stat().st_mtime, UTC))}")
            for path in _files(folder)]


def read(name: str) -> Upload:
    """A file of the folder, by a name the listing offered (never a path)."""
    folder = _folder()
    offered = {path.name: path for path in _files(folder)} if folder is not None else {}
    path = offered.get(name)
    if path is None:
        raise DomainError("That file is no longer in the instruments' folder: choose another or upload it.")
    most = current_app.config["INSTRUMENT_EXPORT_MAX_BYTES"]
    with path.open("rb") as handle:
        content = handle.read(most + 1)
    return Upload(path.name, content)
