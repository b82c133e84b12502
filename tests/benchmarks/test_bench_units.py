"""Benchmarks: parse one entered value, one calculation, the release evaluation of one dose."""

from pathlib import Path

from manufacturing.calculations import dose_volume
from manufacturing.specifications.evaluation import DoseContext, evaluate_release
from manufacturing.specifications.loader import load_spec
from manufacturing.units import Q_, format_quantity, parse_quantity

SPEC = load_spec(Path(__file__).resolve().parents[2] / "specs" / "nk-cells-autologous.toml")
CONTEXT = DoseContext(
    target_dose_per_kg=Q_(3.16e6, "cells/kg"),
    body_weight=Q_(64.5, "kg"),
    infused_volume=Q_(50, "mL"),
    infusion_time=Q_(30, "min"),
)
RESULTS = {
    "appearance": "conforms",
    "identity": "conforms",
    "viability": Q_(94, "%"),
    "nk_purity": Q_(91, "%"),
    "cd3": Q_(1.2, "%"),
    "cd19": Q_(0.05, "%"),
    "dose": Q_(3.2e6, "cells/kg"),
    "gram_stain": "no organisms seen",
    "sterility": None,
    "endotoxin": Q_(0.25, "EU/mL"),
    "mycoplasma": "negative",
    "potency": Q_(42, "%"),
}


def median(benchmark) -> float:
    """Return the median time in seconds (0 when benchmarks run disabled, i.e. once, unmeasured)."""
    return benchmark.stats.stats.median if benchmark.stats else 0.0


def test_parse_one_entered_value(benchmark):
    quantity = benchmark(parse_quantity, "2.5 x 10^6 cells/mL", "cells/mL")
    assert quantity.magnitude == 2.5e6
    assert median(benchmark) <= 200e-6


def test_format_one_value(benchmark):
    assert benchmark(format_quantity, Q_(2.35e8, "cells")) == "2.35 × 10⁸ cells"
    assert median(benchmark) <= 200e-6


def test_one_calculation_dose_volume(benchmark):
    volume = benchmark(dose_volume, Q_(3.16e6, "cells/kg"), Q_(64.5, "kg"), Q_(5e6, "cells/mL"))
    assert round(volume.m_as("mL"), 2) == 40.76
    assert median(benchmark) <= 200e-6


def test_release_evaluation_of_one_dose(benchmark):
    evaluations = benchmark(evaluate_release, SPEC, RESULTS, CONTEXT)
    assert len(evaluations) == len(SPEC.release)
    assert median(benchmark) <= 5e-3
