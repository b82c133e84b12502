"""What `audit verify` finds: a kind in plain words, where, and the detail a reviewer needs."""

from dataclasses import dataclass


@dataclass(frozen=True)
class Finding:
    """One thing verification found."""

    kind: str
    where: str
    detail: str

    def __str__(self) -> str:
        return f"{self.kind}: {self.where}: {self.detail}"
