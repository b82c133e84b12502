"""The specifications in force: files in specs/, checked against the versions already seen."""

import hashlib
from dataclasses import dataclass
from datetime import date
from functools import lru_cache
from pathlib import Path

from flask import current_app
from sqlalchemy import select

from manufacturing.core import clock
from manufacturing.core.findings import Finding
from manufacturing.extensions import db
from manufacturing.specifications.loader import (
    ProductSpec,
    Spec,
    SpecError,
    StudySpec,
    check_change_control,
    in_force,
    load_specs,
    parse_spec,
)
from manufacturing.specifications.models import SpecVersion

ALTERED_SPECIFICATION = "ALTERED specification"

PRODUCT_SPEC_ID = "nk-cells-autologous"
STUDY_SPEC_ID = "study-nct02185781"
PINNED_KEY = "pinned specifications"  # session.info: the versions read and checked in this session


@dataclass(frozen=True)
class SpecFile:
    spec: Spec
    content: bytes
    recorded: bool


@lru_cache(maxsize=64)
def _parsed(content: bytes, source: str) -> Spec:
    """Parse once per distinct content: a spec is a pure function of its bytes."""
    return parse_spec(content, source)


def specs_dir() -> Path:
    return Path(current_app.config["SPECS_DIR"])


def _known() -> dict[tuple[str, str], str]:
    rows = db.session.execute(select(SpecVersion.spec_id, SpecVersion.version, SpecVersion.content_hash))
    return {(spec_id, version): content_hash for spec_id, version, content_hash in rows}


def read_files() -> list[SpecFile]:
    """Load and validate every file, and refuse one whose content changed without a new version."""
    known = _known()
    files = []
    for spec in load_specs(specs_dir()).values():
        check_change_control(spec, known)
        content = (specs_dir() / spec.source).read_bytes()
        if hashlib.sha256(content).hexdigest() != spec.content_hash:
            raise SpecError(f"{spec.source}: the file changed while it was being read; try again.")
        files.append(SpecFile(spec, content, (spec.id, spec.version) in known))
    return files


def record_new_versions() -> list[Spec]:
    """Record every version not seen before (audited); return them."""
    recorded = []
    for item in read_files():
        if item.recorded:
            continue
        spec = item.spec
        db.session.add(SpecVersion(
            spec_id=spec.id, version=spec.version, kind=spec.kind, title=spec.title, effective=spec.effective,
            source=spec.source, content_hash=spec.content_hash, content=item.content.decode("utf-8"),
            first_seen_at=clock.now(),
        ))
        recorded.append(spec)
    db.session.flush()
    return recorded


def spec_in_force(spec_id: str, on: date | None = None) -> Spec:
    """Return the version of a specification in force on a date; nothing is written."""
    return in_force([item.spec for item in read_files()], spec_id, on or clock.today())


def pin(spec_id: str) -> Spec:
    """Record the versions not seen before, then return the one in force today, for a record to pin.

    Only operations that write call this: the pinned version must be stored so it can be re-read.
    """
    record_new_versions()
    return spec_in_force(spec_id)


def versions_in_force(specs: list[Spec]) -> list[Spec]:
    """Return, for each specification id, the version in force today."""
    return [in_force(specs, spec_id, clock.today()) for spec_id in sorted({spec.id for spec in specs})]


def pinned(spec_id: str, version: str, content_hash: str) -> Spec:
    """Return the exact version a lot pinned, from the stored content, checking its hash.

    Read and checked once per session (a request): a page that judges many results asks for it many times.
    """
    checked = db.session.info.setdefault(PINNED_KEY, {})
    if (spec_id, version, content_hash) not in checked:
        row = db.session.scalar(select(SpecVersion).where(SpecVersion.spec_id == spec_id,
                                                          SpecVersion.version == version))
        if row is None or row.content_hash != content_hash or not content_intact(row):
            raise SpecError(f"{spec_id} version {version} is not the content this record was made under.")
        checked[(spec_id, version, content_hash)] = _parsed(row.content.encode("utf-8"), row.source)
    return checked[(spec_id, version, content_hash)]


def content_intact(row: SpecVersion) -> bool:
    """Tell whether a stored version's text still has the hash it was stored with (lots pin that hash)."""
    return hashlib.sha256(row.content.encode("utf-8")).hexdigest() == row.content_hash


def altered_versions(session) -> list[Finding]:
    """For `audit verify`: stored specification versions whose text no longer has their hash."""
    return [Finding(ALTERED_SPECIFICATION, f"specification {row.spec_id} version {row.version}",
                    "its stored text does not have the hash lots pinned: it was edited in the database")
            for row in session.scalars(select(SpecVersion)) if not content_intact(row)]


def product_spec(on: date | None = None) -> ProductSpec:
    return spec_in_force(PRODUCT_SPEC_ID, on)


def study_spec(on: date | None = None) -> StudySpec:
    return spec_in_force(STUDY_SPEC_ID, on)


def history() -> list[SpecVersion]:
    return db.session.scalars(select(SpecVersion).order_by(SpecVersion.spec_id, SpecVersion.first_seen_at)).all()
