"""The infusion plan and the guards, tested directly: pure functions, no database."""

from dataclasses import replace
from datetime import date, timedelta
from pathlib import Path
from types import SimpleNamespace

import pytest

from manufacturing.core.permissions import Role
from manufacturing.patients import guards, plan
from manufacturing.patients.guards import SubjectDetails
from manufacturing.patients.models import OrderStatus, Sex
from manufacturing.specifications.loader import parse_spec
from manufacturing.specifications.model import DoseLevel
from manufacturing.units import Q_, parse_quantity

STUDY_FILE = Path(__file__).resolve().parents[2] / "specs" / "study-nct02185781.toml"
TODAY = date(2026, 3, 10)
KG_70 = parse_quantity("70 kg", "kg")


@pytest.fixture(scope="module")
def spec():
    return parse_spec(STUDY_FILE.read_bytes(), STUDY_FILE.name)


def per_kg(text: str):
    return parse_quantity(text, "cells/kg")


def order(infusion: int, planned: date, dose: str, status: OrderStatus = OrderStatus.OPEN):
    return SimpleNamespace(infusion_number=infusion, planned_date=planned, status=status, dose_per_kg=per_kg(dose))


# ---- the plan --------------------------------------------------------------------------------


def test_plan_follows_the_half_log_schedule_for_70_kg(spec):
    rows = plan.infusion_plan(spec, [], KG_70, TODAY)
    assert [row.infusion for row in rows] == [1, 2, 3, 4, 5]
    assert [row.dose_per_kg.m_as("cell/kg") for row in rows] == [1.0e6, 3.16e6, 1.0e7, 3.16e7, 1.0e8]
    assert [round(row.cells.m_as("cell"), -6) for row in rows] == [7.0e7, 2.21e8, 7.0e8, 2.212e9, 7.0e9]
    assert all(row.status is None for row in rows)


def test_plan_projects_dates_28_days_apart_from_today_without_orders(spec):
    rows = plan.infusion_plan(spec, [], KG_70, TODAY)
    assert [row.earliest for row in rows] == [TODAY + timedelta(days=28 * k) for k in range(5)]
    assert [row.projected for row in rows] == [False, True, True, True, True]


def test_plan_counts_from_the_previous_orders_planned_date(spec):
    first = order(1, TODAY + timedelta(days=3), "1e6 cells/kg")
    rows = plan.infusion_plan(spec, [first], KG_70, TODAY)
    assert rows[0].earliest is None and rows[0].status is OrderStatus.OPEN and not rows[0].projected
    assert rows[1].earliest == TODAY + timedelta(days=31) and not rows[1].projected
    assert rows[2].earliest == TODAY + timedelta(days=59) and rows[2].projected


def test_plan_counts_from_the_administration_date_when_known(spec):
    first = order(1, TODAY - timedelta(days=10), "1e6 cells/kg", OrderStatus.FULFILLED)
    rows = plan.infusion_plan(spec, [first], KG_70, TODAY, administered={1: TODAY - timedelta(days=8)})
    assert rows[1].earliest == TODAY + timedelta(days=20)


def test_plan_never_proposes_a_date_in_the_past(spec):
    first = order(1, TODAY - timedelta(days=60), "1e6 cells/kg", OrderStatus.FULFILLED)
    assert plan.infusion_plan(spec, [first], KG_70, TODAY)[1].earliest == TODAY


def test_plan_ignores_cancelled_orders(spec):
    orders = [order(1, TODAY, "1e6 cells/kg"), order(2, TODAY + timedelta(days=28), "3.16e6 cells/kg",
                                                      OrderStatus.CANCELLED)]
    rows = plan.infusion_plan(spec, orders, KG_70, TODAY)
    assert rows[1].status is None and rows[1].order is None
    assert plan.next_infusion(orders) == 2


def test_plan_resumes_escalation_one_step_above_a_lower_ordered_level(spec):
    orders = [order(1, TODAY, "1e6 cells/kg"), order(2, TODAY + timedelta(days=28), "1e6 cells/kg")]
    rows = plan.infusion_plan(spec, orders, KG_70, TODAY)
    assert rows[1].dose_per_kg == per_kg("1e6 cells/kg")
    assert rows[2].dose_per_kg == per_kg("3.16e6 cells/kg")
    assert rows[3].dose_per_kg == per_kg("1e7 cells/kg")


def test_plan_without_a_weight_has_no_cell_numbers(spec):
    assert all(row.cells is None for row in plan.infusion_plan(spec, [], None, TODAY))


def test_plan_stops_at_the_studys_maximum_number_of_infusions(spec):
    assert len(plan.infusion_plan(replace(spec, max_infusions=3), [], KG_70, TODAY)) == 3


@pytest.mark.parametrize(("infusion", "previous", "expected"), [
    (1, None, [1e6]),
    (3, None, [1e6, 3.16e6, 1e7]),
    (3, "3.16e6 cells/kg", [1e6, 3.16e6, 1e7]),
    (3, "1e6 cells/kg", [1e6, 3.16e6]),
    (5, "1e8 cells/kg", [1e6, 3.16e6, 1e7, 3.16e7, 1e8]),
    (6, "1e8 cells/kg", []),
])
def test_allowed_levels(spec, infusion, previous, expected):
    levels = plan.allowed_levels(spec, infusion, per_kg(previous) if previous else None)
    assert [level.dose_per_kg.m_as("cell/kg") for level in levels] == expected


def test_a_level_above_the_maximum_is_never_offered_even_in_a_wrong_schedule(spec):
    wrong = replace(spec, dose_schedule=(*spec.dose_schedule[:4], DoseLevel(infusion=5, dose_per_kg=per_kg(
        "3e8 cells/kg"))))
    assert per_kg("3e8 cells/kg") not in [level.dose_per_kg for level in plan.allowed_levels(wrong, 5, None)]
    assert plan.infusion_plan(wrong, [], KG_70, TODAY)[4].dose_per_kg == per_kg("3.16e7 cells/kg")


def test_next_levels_offers_each_dose_once(spec):
    repeated = replace(spec, dose_schedule=(spec.dose_schedule[0], DoseLevel(infusion=2, dose_per_kg=per_kg(
        "1e6 cells/kg"))))
    assert [level.infusion for level in plan.next_levels(repeated, [order(1, TODAY, "1e6 cells/kg")])] == [1]


def test_earliest_date(spec):
    assert plan.earliest_date(spec, None, TODAY) == TODAY
    assert plan.earliest_date(spec, TODAY, TODAY) == TODAY + timedelta(days=28)
    assert plan.previous_date([order(1, TODAY, "1e6 cells/kg")], 2, {}) == TODAY
    assert plan.previous_date([], 1, {}) is None


# ---- guards ----------------------------------------------------------------------------------


def user_with(*roles):
    return SimpleNamespace(is_authenticated=True, has_role=lambda role: role in roles)


@pytest.mark.parametrize(("roles", "subjects", "weights", "orders"), [
    ((Role.PHARMACY,), True, True, True),
    ((Role.QA,), True, True, False),
    ((Role.ADMIN,), False, False, False),  # the administrator is IT: no GMP record
    ((Role.TECHNICIAN,), False, False, False),
])
def test_who_may_do_what(roles, subjects, weights, orders):
    user = user_with(*roles)
    assert guards.may_register_subjects(user) is subjects
    assert guards.may_record_weights(user) is weights
    assert guards.may_order_infusions(user) is orders


def subject(**changes) -> SubjectDetails:
    values = {"subject_code": "LAL2013-RM-001", "initials": "MR", "date_of_birth": date(1958, 5, 20),
              "sex": Sex.MALE, "site": "Rome"} | changes
    return SubjectDetails(**values)


def test_a_scanned_id_is_trimmed_and_upper_cased():
    cleaned = subject(subject_code="  lal2013-rm-001\r\n", initials="m. r.", site=" Rome ").normalised()
    assert (cleaned.subject_code, cleaned.initials, cleaned.site) == ("LAL2013-RM-001", "MR", "Rome")


@pytest.mark.parametrize("code", ["LAL2013-RM-001", "ABC", "12345", "A-1"])
def test_subject_ids_accepted(code):
    assert guards.subject_code_problem(code) is None


@pytest.mark.parametrize("code", ["AB", "-ABC", "ABC-", "LAL 2013", "LAL_2013", "ÀBC", "A" * 41])
def test_subject_ids_refused(code):
    assert "3 to 40 characters, letters, digits and '-'" in guards.subject_code_problem(code)


@pytest.mark.parametrize(("changes", "message"), [
    ({"initials": "M"}, "Initials: 2 or 3 letters"),
    ({"initials": "MRDX"}, "Initials: 2 or 3 letters"),
    ({"initials": "M1"}, "Initials: 2 or 3 letters"),
    ({"date_of_birth": TODAY + timedelta(days=1)}, "is in the future"),
    ({"date_of_birth": date(1900, 1, 1)}, "gives an age of 126 years: check the year"),
    ({"date_of_birth": date(2008, 3, 11)}, "The subject is 17 years old: the study enrols adults only"),
    ({"site": ""}, "Give the site"),
    ({"site": "x" * 121}, "at most 120 characters"),
])
def test_subject_refusals(changes, message):
    assert message in guards.subject_problem(subject(**changes), TODAY, registering=True)


def test_an_adult_from_the_18th_birthday():
    assert guards.subject_problem(subject(date_of_birth=date(2008, 3, 10)), TODAY, registering=True) is None


def test_the_adult_rule_is_checked_at_registration_only():
    assert guards.subject_problem(subject(date_of_birth=date(2010, 1, 1)), TODAY, registering=False) is None


@pytest.mark.parametrize("text", ["64.5 kg", "30 kg", "250 kg"])
def test_plausible_weights(text):
    assert guards.weight_problem(parse_quantity(text, "kg"), TODAY, TODAY) is None


def test_a_weighing_before_birth_is_refused():
    problem = guards.weight_problem(parse_quantity("64 kg"), date(1969, 12, 31), TODAY, born=date(1970, 1, 1))
    assert problem == "The weighing date 1969-12-31 is before the subject's birth (1970-01-01)."


@pytest.mark.parametrize("text", ["645 kg", "29.9 kg", "250.1 kg"])
def test_implausible_weights_are_refused(text):
    problem = guards.weight_problem(parse_quantity(text, "kg"), TODAY, TODAY)
    assert "is outside the plausible range for an adult (30 kg to 250 kg): check the entry." in problem


def test_a_weighing_date_in_the_future_is_refused():
    problem = guards.weight_problem(Q_(64.5, "kilogram"), TODAY + timedelta(days=1), TODAY)
    assert problem == "The weighing date 2026-03-11 is in the future."


@pytest.mark.parametrize(("requested", "following", "message"), [
    (1, 2, "Infusion 1 is already ordered; the next one is infusion 2."),
    (3, 2, "Infusion 3 would skip infusion 2: order infusion 2 first."),
    (6, 6, "All 5 infusions of the study are already ordered."),
])
def test_infusion_number_refusals(requested, following, message):
    assert message in guards.infusion_number_problem(requested, following, 5)


def test_the_next_infusion_number_is_accepted():
    assert guards.infusion_number_problem(2, 2, 5) is None


def test_a_dose_above_the_maximum_is_a_hard_stop_even_if_allowed():
    dose = per_kg("3e8 cells/kg")
    problem = guards.dose_problem(dose, [dose], 5, [per_kg("1e8 cells/kg")])
    assert "above the maximum dose of 1 × 10⁸ cells/kg: this dose can never be ordered." in problem


def test_a_dose_above_the_level_allowed_is_refused():
    problem = guards.dose_problem(per_kg("1e7 cells/kg"), [per_kg("1e6 cells/kg"), per_kg("3.16e6 cells/kg")], 2,
                                  [per_kg("1e8 cells/kg")])
    assert "1 × 10⁷ cells/kg cannot be ordered for infusion 2: the levels allowed are 1 × 10⁶ cells/kg" in problem
    assert guards.dose_problem(per_kg("1e6 cells/kg"), [per_kg("1e6 cells/kg")], 2, []) is None


@pytest.mark.parametrize(("measured", "problem"), [
    (TODAY - timedelta(days=14), None),
    (TODAY - timedelta(days=15), "is 15 days old on the planned date 2026-03-10; at most 14 days are allowed"),
    (TODAY + timedelta(days=1), "is later than the planned date"),
])
def test_weight_age(measured, problem):
    found = guards.weight_age_problem(measured, TODAY, 14.0)
    assert found is None if problem is None else problem in found


def test_planned_date_refusals():
    assert guards.planned_date_problem(TODAY - timedelta(days=1), TODAY, None) == (
        "The planned date 2026-03-09 is in the past.")
    problem = guards.planned_date_problem(TODAY, TODAY, TODAY + timedelta(days=2), "28 days after infusion 1")
    assert problem == "The planned date cannot be before 2026-03-12: 28 days after infusion 1"
    assert guards.planned_date_problem(TODAY, TODAY, TODAY) is None


@pytest.mark.parametrize(("status", "units", "later", "message"), [
    (OrderStatus.CANCELLED, 0, None, "Infusion 2 is cancelled: only an open order can be cancelled."),
    (OrderStatus.FULFILLED, 0, None, "Infusion 2 is fulfilled: only an open order can be cancelled."),
    (OrderStatus.OPEN, 1, None, "Infusion 2 has 1 dose unit(s) made for it"),
    (OrderStatus.OPEN, 0, 3, "Infusion 3 is ordered after infusion 2 and was planned from it: cancel infusion 3"),
    (OrderStatus.OPEN, 0, None, None),
])
def test_cancel_refusals(status, units, later, message):
    problem = guards.cancel_problem(SimpleNamespace(infusion_number=2, status=status), units, later)
    assert problem is None if message is None else message in problem
