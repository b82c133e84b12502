"""The site's import rules, from specs/instruments.toml: where each measure goes, which sample IDs name a lot."""

import tomllib
from dataclasses import dataclass
from datetime import timedelta
from functools import cache
from pathlib import Path

from flask import current_app

RULES_FILE = "instruments/import.toml"


@dataclass(frozen=True)
class ImportRules:
    step_fields: dict[str, dict[str, str]]  # step kind slug -> measure -> field key of the step
    qc_tests: dict[str, str]  # measure -> QC test key of the product specification
    sample_labels: tuple[str, ...]  # templates of the labels a sample ID may begin with ({din}, {lot_number})
    analysis_within: timedelta  # a step's analysis lies within this time after the step began


def import_rules() -> ImportRules:
    return _rules(str(Path(current_app.config["SPECS_DIR"]) / RULES_FILE))


@cache
def _rules(path: str) -> ImportRules:
    data = tomllib.loads(Path(path).read_text(encoding="utf-8"))
    return ImportRules({kind: dict(fields) for kind, fields in data["step_fields"].items()}, dict(data["qc_tests"]),
                       tuple(data["sample_labels"]["labels"]),
                       timedelta(minutes=int(data["analysis"]["within_minutes"])))
