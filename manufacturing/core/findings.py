"""What `audit verify` finds: a kind in plain words, where, and the detail a reviewer needs."""

from collections.abc import Callable
from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.orm import Session, undefer

from manufacturing.core.seals import bytes_intact


@dataclass(frozen=True)
class Finding:
    """One thing verification found."""

    kind: str
    where: str
    detail: str

    def __str__(self) -> str:
        return f"{self.kind}: {self.where}: {self.detail}"


def replaced_content(session: Session, model: type, kind: str, named: Callable[[object], str],
                     sealed: Callable[[object], bool], moment: str) -> list[Finding]:
    """Every stored row of `model` (bytes in `content`, their SHA-256 in `sha256`) whose record fails its seal,
    or whose bytes no longer have the SHA-256 recorded at `moment` (issue, import): one finding each."""
    findings = []
    query = select(model).options(undefer(model.content)).order_by(model.id)
    for stored in session.scalars(query.execution_options(yield_per=20)):
        if not sealed(stored):
            findings.append(Finding(kind, named(stored), "its SHA-256 or its record does not match its MAC"))
        elif not bytes_intact(stored):
            findings.append(Finding(kind, named(stored), f"its bytes do not have the SHA-256 recorded at {moment}"))
    return findings
