"""Evaluation: release tests of one dose and in-process alert/action limits, with their reasons."""

import dataclasses
import re
from pathlib import Path

import pytest

from manufacturing.calculations import CalculationError
from manufacturing.specifications.evaluation import (
    DoseContext,
    Evaluation,
    EvaluationError,
    Outcome,
    blocking,
    evaluate,
    evaluate_limit,
    evaluate_release,
)
from manufacturing.specifications.loader import load_spec
from manufacturing.units import Q_, parse_quantity, unit_label

SPEC = load_spec(Path(__file__).resolve().parents[2] / "specs" / "nk-cells-autologous.toml")
CONTEXT = DoseContext(
    target_dose_per_kg=Q_(1e6, "cells/kg"),
    body_weight=Q_(70, "kg"),
    infused_volume=Q_(100, "mL"),
    infusion_time=Q_(1, "h"),
)
GOOD = {
    "appearance": "conforms",
    "identity": "conforms",
    "viability": Q_(92, "%"),
    "nk_purity": Q_(95, "%"),
    "cd3": Q_(2, "%"),
    "cd19": Q_(0.1, "%"),
    "dose": Q_(1.02e6, "cells/kg"),
    "gram_stain": "no organisms seen",
    "sterility": None,
    "endotoxin": Q_(0.5, "EU/mL"),
    "mycoplasma": "negative",
    "potency": Q_(35, "%"),
}


def reasons(results, context=CONTEXT):
    return {c.key: e for c, e in evaluate_release(SPEC, results, context)}


def test_outcomes_have_human_titles():
    assert [o.title for o in Outcome] == ["pass", "fail", "pending", "alert"]
    with pytest.raises(dataclasses.FrozenInstanceError):
        Evaluation(Outcome.PASS, "x").outcome = Outcome.FAIL


def test_a_good_dose_passes_with_sterility_pending_allowed():
    evaluations = evaluate_release(SPEC, GOOD, CONTEXT)
    assert [c.key for c, _ in evaluations] == [c.key for c in SPEC.release]
    outcomes = {c.key: e.outcome for c, e in evaluations}
    assert outcomes.pop("sterility") is Outcome.PENDING
    assert set(outcomes.values()) == {Outcome.PASS}
    assert blocking(evaluations) == []
    by_key = {c.key: e for c, e in evaluations}
    assert by_key["sterility"].reason == "Sterility pending (allowed pending at release)"
    assert by_key["cd3_per_kg"].reason == "CD3+ cells per kg 2.11 × 10⁴ cells/kg (reported, no limit)"
    assert by_key["cd3_per_kg"].value.m_as("cells/kg") == pytest.approx(1e6 * 2 / 95)
    assert by_key["endotoxin"].limit.m_as("EU/mL") == pytest.approx(3.5)


def test_reasons_quote_criterion_and_result():
    results = dict(GOOD, viability=Q_(64, "%"), nk_purity=Q_(92, "%"), dose=Q_(1.3e6, "cells/kg"))
    found = reasons(results)
    assert found["viability"].reason == "Viability 64.0 % fails >= 70 %"
    assert found["nk_purity"].reason == "NK purity 92.0 % passes >= 80 %"
    assert found["dose"].reason == (
        "Dose 1.30 × 10⁶ cells/kg is 130 % of target 1.00 × 10⁶ cells/kg, outside 80-120 %"
    )
    assert found["endotoxin"].reason == (
        "Endotoxin 0.50 EU/mL passes <= 3.50 EU/mL (5 EU/kg/h for 70.0 kg, 100 mL over 1.00 h)"
    )
    assert (
        found["appearance"].reason == 'Appearance "conforms" passes: No clumps, leaks or damage; label intact'
    )
    assert [c.key for c, _ in blocking(evaluate_release(SPEC, results, CONTEXT))] == ["viability", "dose"]


@pytest.mark.parametrize(
    ("delivered", "outcome", "reason"),
    [
        ("8.0e5 cells/kg", Outcome.PASS, "is 80.0 % of target 1.00 × 10⁶ cells/kg, within 80-120 %"),
        ("1.2e6 cells/kg", Outcome.PASS, "is 120 % of target"),
        ("7.999e5 cells/kg", Outcome.FAIL, "is 79.99 % of target 1.00 × 10⁶ cells/kg, outside 80-120 %"),
        ("1.2004e6 cells/kg", Outcome.FAIL, "is 120.04 % of target"),
        ("7.0e7 cells", Outcome.PASS, "Dose 1.00 × 10⁶ cells/kg is 100 % of target"),
    ],
)
def test_dose_within_tolerance(delivered, outcome, reason):
    evaluation = evaluate(SPEC.criterion("dose"), parse_quantity(delivered), CONTEXT)
    assert evaluation.outcome is outcome
    assert reason in evaluation.reason


def test_dose_never_above_the_maximum_per_kg():
    context = dataclasses.replace(CONTEXT, target_dose_per_kg=Q_(1e8, "cells/kg"))
    assert evaluate(SPEC.criterion("dose"), Q_(1e8, "cells/kg"), context).outcome is Outcome.PASS
    evaluation = evaluate(SPEC.criterion("dose"), Q_(1.1e8, "cells/kg"), context)
    assert evaluation.outcome is Outcome.FAIL
    assert evaluation.reason == "Dose 1.10 × 10⁸ cells/kg is above the maximum 1 × 10⁸ cells/kg"


def test_dose_dependent_tests_wait_for_the_dose_context():
    found = reasons(GOOD, context=None)
    assert found["dose"].outcome is Outcome.PENDING
    assert found["dose"].reason == "Dose pending (waiting for the target dose; needed before release)"
    assert found["endotoxin"].reason == (
        "Endotoxin pending (waiting for body weight, infused volume and infusion time; needed before release)"
    )
    assert found["cd3_per_kg"].outcome is Outcome.PENDING
    no_weight = DoseContext(target_dose_per_kg=Q_(1e6, "cells/kg"))
    assert (
        "waiting for the body weight" in evaluate(SPEC.criterion("dose"), Q_(7e7, "cells"), no_weight).reason
    )
    assert {c.key for c, _ in blocking(evaluate_release(SPEC, GOOD))} == {"dose", "endotoxin", "cd3_per_kg"}


@pytest.mark.parametrize(
    ("result", "outcome"),
    [("3.5 EU/mL", Outcome.PASS), ("3.49 EU/mL", Outcome.PASS), ("3.51 EU/mL", Outcome.FAIL)],
)
def test_endotoxin_limit_from_body_weight_and_volume(result, outcome):
    assert evaluate(SPEC.criterion("endotoxin"), parse_quantity(result), CONTEXT).outcome is outcome


def test_cd3_per_kg_uses_context_fractions_first_then_the_results():
    context = dataclasses.replace(
        CONTEXT, target_dose_per_kg=Q_(1e7, "cells/kg"), cd3_fraction=Q_(2, "%"), nk_fraction=Q_(95, "%")
    )
    evaluation = evaluate(SPEC.criterion("cd3_per_kg"), None, context)
    assert evaluation.value.m_as("cells/kg") == pytest.approx(2.105e5, rel=1e-3)
    found = reasons(dict(GOOD, cd3=None))
    assert found["cd3_per_kg"].reason == (
        "CD3+ cells per kg pending (waiting for cd3, nk_purity and the target dose; needed before release)"
    )


def test_pending_results_block_unless_allowed():
    found = evaluate_release(SPEC, dict(GOOD, viability=None, sterility=None), CONTEXT)
    blocked = {c.key: e.reason for c, e in blocking(found)}
    assert blocked == {"viability": "Viability pending (needed before release)"}


@pytest.mark.parametrize(
    ("key", "result", "outcome", "reason"),
    [
        ("sterility", "No  Growth", Outcome.PASS, 'Sterility "No Growth" passes: No growth'),
        (
            "sterility",
            "growth: S. epidermidis",
            Outcome.FAIL,
            'Sterility "growth: S. epidermidis" fails: "no growth" required',
        ),
        ("sterility", "   ", Outcome.PENDING, "Sterility pending (allowed pending at release)"),
        ("mycoplasma", "positive", Outcome.FAIL, 'Mycoplasma "positive" fails: "negative" required'),
        ("potency", Q_(20, "%"), Outcome.FAIL, "Potency 20.0 % fails > 20 %"),
        ("potency", Q_(20.01, "%"), Outcome.PASS, "Potency 20.01 % passes > 20 %"),
        ("viability", Q_(69.96, "%"), Outcome.FAIL, "Viability 69.96 % fails >= 70 %"),
        ("viability", Q_(70, "%"), Outcome.PASS, "Viability 70.0 % passes >= 70 %"),
        ("viability", Q_(0.75, "dimensionless").to("%"), Outcome.PASS, "Viability 75.0 % passes >= 70 %"),
        ("cd3", Q_(5.2, "%"), Outcome.FAIL, "Residual T cells (CD3+) 5.20 % fails <= 5 %"),
        ("cd19", Q_(1, "%"), Outcome.PASS, "Residual B cells / blasts (CD19+) 1.00 % passes <= 1 %"),
    ],
)
def test_single_results(key, result, outcome, reason):
    evaluation = evaluate(SPEC.criterion(key), result, CONTEXT)
    assert (evaluation.outcome, evaluation.reason) == (outcome, reason)


@pytest.mark.parametrize(
    ("key", "result", "message"),
    [
        ("viability", Q_(70, "mL"), "Viability: 70.0 mL is a volume, but a percentage is expected"),
        ("viability", "70 %", "Viability: a measured value with its unit is needed, not '70 %'"),
        ("sterility", Q_(0, "%"), "Sterility: a written result is needed (e.g. 'no growth')"),
        ("endotoxin", Q_(0.5, "EU/kg"), "Endotoxin: 0.50 EU/kg is an endotoxin dose per kg body weight"),
    ],
)
def test_results_of_the_wrong_kind_are_refused(key, result, message):
    with pytest.raises(EvaluationError, match=message.replace("(", r"\(").replace(")", r"\)")):
        evaluate(SPEC.criterion(key), result, CONTEXT)


def test_unknown_result_keys_and_bad_fractions_are_refused():
    with pytest.raises(
        EvaluationError, match=re.escape("results for tests that nk-cells-autologous version 1.1 lacks: cd4")
    ):
        evaluate_release(SPEC, dict(GOOD, cd4=Q_(1, "%")), CONTEXT)
    with pytest.raises(CalculationError, match="NK fraction is zero"):
        evaluate_release(SPEC, dict(GOOD, nk_purity=Q_(0, "%")), CONTEXT)


@pytest.mark.parametrize(
    ("step", "key", "value", "outcome", "reason"),
    [
        (
            "apheresis",
            "time_since_collection",
            "15 h",
            Outcome.PASS,
            "Time since collection 15.0 h is within limits (alert > 20 h, action > 24 h)",
        ),
        ("apheresis", "time_since_collection", "20 h", Outcome.PASS, None),
        (
            "apheresis",
            "time_since_collection",
            "22 h",
            Outcome.ALERT,
            "Time since collection 22.0 h is above the alert limit 20 h",
        ),
        ("apheresis", "time_since_collection", "24 h", Outcome.ALERT, None),
        (
            "apheresis",
            "time_since_collection",
            "1500 min",
            Outcome.FAIL,
            "Time since collection 25.0 h is above the action limit 24 h",
        ),
        ("culture_day", "viability", "79 %", Outcome.ALERT, "Viability 79.0 % is below the alert limit 80 %"),
        ("culture_day", "viability", "65 %", Outcome.FAIL, "Viability 65.0 % is below the action limit 70 %"),
        ("cd3_depletion", "log_depletion", "2.7 log", Outcome.PASS, None),
        (
            "cd3_depletion",
            "log_depletion",
            "2.3",
            Outcome.ALERT,
            "T-cell log depletion 2.30 log is below the alert limit 2.5 log",
        ),
        ("cd3_depletion", "log_depletion", "1.9 log", Outcome.FAIL, None),
        (
            "cd3_depletion",
            "log_depletion",
            "2.46 log",
            Outcome.ALERT,
            "T-cell log depletion 2.46 log is below the alert limit 2.5 log",
        ),
        (
            "apheresis",
            "transport_temperature",
            "-1 °C",
            Outcome.FAIL,
            "Transport temperature -1.00 °C is below the action limit 2 °C",
        ),
        (
            "culture_day0",
            "seeding_density",
            "2.5 x 10^6 cells/mL",
            Outcome.ALERT,
            "Seeding density 2.50 × 10⁶ cells/mL is above the alert limit 2 × 10⁶ cells/mL",
        ),
        ("harvest", "fold_expansion", "15.7", Outcome.PASS, None),
    ],
)
def test_in_process_limits_are_green_amber_or_red(step, key, value, outcome, reason):
    limit = SPEC.limit(step, key)
    evaluation = evaluate_limit(limit, parse_quantity(value, unit_label(limit.unit)))
    assert evaluation.outcome is outcome
    if reason:
        assert evaluation.reason == reason


def test_in_process_value_missing_or_of_the_wrong_kind():
    limit = SPEC.limit("culture_day", "viability")
    assert evaluate_limit(limit, None) == Evaluation(Outcome.PENDING, "Viability: no value yet")
    with pytest.raises(
        EvaluationError, match=re.escape("Viability: 80.0 mL is a volume, but a percentage is expected")
    ):
        evaluate_limit(limit, Q_(80, "mL"))


@pytest.mark.parametrize(("outcome", "tone"), [(Outcome.PASS, "green"), (Outcome.ALERT, "amber"),
                                               (Outcome.FAIL, "red"), (Outcome.PENDING, "grey")])
def test_each_verdict_has_one_colour(outcome, tone):
    assert outcome.tone == tone


@pytest.mark.parametrize(("dose_per_kg", "shown"), [(1.2004e6, "1.2004 × 10⁶ cells/kg"),
                                                    (0.79951e6, "7.995 × 10⁵ cells/kg"),
                                                    (1.0004e8, "1.0004 × 10⁸ cells/kg")])
def test_a_dose_is_shown_with_the_digits_its_verdict_needs(dose_per_kg, shown):
    context = DoseContext(target_dose_per_kg=Q_(1e8 if dose_per_kg > 1e7 else 1e6, "cells/kg"),
                          body_weight=Q_(70, "kg"))
    evaluation = evaluate(SPEC.criterion("dose"), Q_(dose_per_kg * 70, "cells"), context)
    assert evaluation.outcome == Outcome.FAIL and evaluation.shown == shown and shown in evaluation.reason
