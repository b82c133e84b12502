"""The site's names of flow cytometry populations (specs/instruments/flow-populations.toml)."""

from __future__ import annotations

import re
import tomllib
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

from flask import current_app, has_app_context

from manufacturing.core.errors import DomainError

DEFAULT_FILE = Path(__file__).resolve().parents[2] / "specs" / "instruments" / "flow-populations.toml"
FILE_NAME = DEFAULT_FILE.name
FLOW_KEYS = ("nk_fraction", "cd3_fraction", "cd19_fraction")
PARENT = "parent"


class PopulationsError(DomainError):
    """The file of population names is invalid."""


@dataclass(frozen=True)
class Population:
    key: str
    title: str
    names: frozenset[str]  # gate names as compared (gate_name_key)
    of: frozenset[str] | None  # names of the enclosing gate the percentage is of; None: of the parent

    def is_named(self, gate_name: str) -> bool:
        """Tell whether a gate carries one of this population's names."""
        return gate_name_key(gate_name) in self.names

    def is_reference(self, gate_name: str) -> bool:
        """Tell whether an enclosing gate is the one this population's percentage is of."""
        return self.of is not None and gate_name_key(gate_name) in self.of


def gate_name_key(name: str) -> str:
    """Compare gate names without case and spaces: "cd56+ cd3-" is "CD56+CD3-"."""
    return re.sub(r"\s+", "", name).casefold()


def _names(table: dict, field: str, where: str) -> frozenset[str]:
    names = table.get(field)
    if not isinstance(names, list) or not names or not all(isinstance(n, str) and n.strip() for n in names):
        raise PopulationsError(f"{FILE_NAME}: {where}.{field}: a list of gate names is required")
    return frozenset(gate_name_key(name) for name in names)


def _population(key: str, table: dict) -> Population:
    unknown = set(table) - {"title", "populations", "of"}
    if unknown:
        raise PopulationsError(f"{FILE_NAME}: {key}.{sorted(unknown)[0]}: unknown key")
    of = None if table.get("of", PARENT) == PARENT else _names(table, "of", key)
    return Population(key, str(table.get("title") or key), _names(table, "populations", key), of)


def parse_populations(content: bytes) -> dict[str, Population]:
    """Read and validate the population names; each reported population must be named, no name twice."""
    try:
        data = tomllib.loads(content.decode("utf-8"))
    except (UnicodeDecodeError, tomllib.TOMLDecodeError) as error:
        raise PopulationsError(f"{FILE_NAME}: not a valid TOML file: {error}") from None
    for key in data:
        if key not in FLOW_KEYS or not isinstance(data[key], dict):
            raise PopulationsError(f"{FILE_NAME}: {key}: unknown population (known: {', '.join(FLOW_KEYS)})")
    populations = {key: _population(key, data[key]) for key in FLOW_KEYS if key in data}
    if missing := [key for key in FLOW_KEYS if key not in populations]:
        raise PopulationsError(f"{FILE_NAME}: {missing[0]}: the population is not named")
    seen: dict[str, str] = {}
    for population in populations.values():
        for name in population.names:
            if name in seen:
                raise PopulationsError(f"{FILE_NAME}: {name!r} names both {seen[name]} and {population.key}")
            seen[name] = population.key
    return populations


@lru_cache(maxsize=8)
def _load(path: str) -> dict[str, Population]:
    return parse_populations(Path(path).read_bytes())


def flow_populations() -> dict[str, Population]:
    """The population names in use (the application's FLOW_POPULATIONS_FILE, else the file of the package)."""
    configured = current_app.config.get("FLOW_POPULATIONS_FILE") if has_app_context() else None
    return _load(str(configured or DEFAULT_FILE))
