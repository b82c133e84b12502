"""The rules of dispensing as pure predicates: each names the problem in the pharmacy's words, or None."""

from datetime import UTC, date, datetime, timedelta
from types import SimpleNamespace

import pytest

from manufacturing.core.permissions import Role
from manufacturing.dispensing import guards
from manufacturing.lots.din import parse
from manufacturing.patients.models import OrderStatus
from manufacturing.units import Q_

PER_KG = "cell / kilogram"
NOW = datetime(2026, 11, 25, 9, 0, tzinfo=UTC)
TOLERANCE = (Q_(80, "percent"), Q_(120, "percent"))
MAXIMA = [Q_(1e8, PER_KG), Q_(1e8, PER_KG)]
EXPECTED = guards.Expected("LAL2013-RM-001", parse("=G12342600012300"), "A0", "S1234")


def user(user_id: int, *roles: Role):
    return SimpleNamespace(id=user_id, is_authenticated=True, has_role=lambda role: role in roles)


def order(**changes):
    values = {"id": 7, "status": OrderStatus.OPEN, "subject_id": 1, "infusion_number": 1,
              "order_reference": "ORD-1", "subject": SimpleNamespace(subject_code="LAL2013-RM-002")}
    return SimpleNamespace(**(values | changes))


@pytest.mark.parametrize(("changes", "words"), [
    ({"status": OrderStatus.FULFILLED}, "fulfilled"),
    ({"status": OrderStatus.CANCELLED}, "cancelled"),
    ({"subject_id": 2}, "another subject (LAL2013-RM-002)"),
    ({"infusion_number": 2}, "made for infusion 1"),
    ({"id": 8}, "prepared against another order"),
])
def test_only_the_subjects_open_order_for_the_infusion_is_served(changes, words):
    assert guards.order_problem(order(), 1, 1, 7) is None
    assert guards.order_problem(order(), 1, 1, None) is None
    assert words in guards.order_problem(order(**changes), 1, 1, 7)


def test_infusion_k_needs_k_minus_1_given_the_interval_before():
    given = {1: date(2026, 1, 10)}
    assert guards.interval_problem(1, {}, date(2026, 1, 1), 28) is None
    assert "Infusion 1 has not been administered" in guards.interval_problem(2, {}, date(2026, 3, 1), 28)
    assert "Infusion 2 has not been administered" in guards.interval_problem(3, given, date(2026, 3, 1), 28)
    assert "from 2026-02-07 (at least 28 days apart)" in guards.interval_problem(2, given, date(2026, 2, 6), 28)
    assert guards.interval_problem(2, given, date(2026, 2, 7), 28) is None


def test_the_order_is_never_above_the_level_nor_the_maximum():
    level = Q_(3.16e6, PER_KG)
    assert guards.dose_level_problem(Q_(1e6, PER_KG), 2, level, MAXIMA) is None
    assert guards.dose_level_problem(level, 2, level, MAXIMA) is None
    assert "above the study's level for infusion 2" in guards.dose_level_problem(Q_(1e7, PER_KG), 2, level, MAXIMA)
    assert "hard stop" in guards.dose_level_problem(Q_(1.01e8, PER_KG), 5, Q_(1e9, PER_KG), MAXIMA)


@pytest.mark.parametrize(("deviation", "inside"), [(-20, True), (20, True), (0, True), (-20.1, False),
                                                   (20.1, False)])
def test_the_delivered_dose_lies_within_the_tolerance(deviation, inside):
    problem = guards.delivered_problem(Q_(1e6, PER_KG), Q_(deviation, "percent"), TOLERANCE, MAXIMA)
    assert (problem is None) == inside
    if not inside:
        assert "outside 80-120 %" in problem


def test_a_delivered_dose_above_the_maximum_is_a_hard_stop_whatever_the_tolerance():
    problem = guards.delivered_problem(Q_(1.1e8, PER_KG), Q_(10, "percent"), TOLERANCE, MAXIMA)
    assert "above the maximum dose of 1 × 10⁸ cells/kg: hard stop" in problem


def test_two_different_pharmacy_users_check_at_the_bedside():
    first, second = user(1, Role.PHARMACY), user(2, Role.PHARMACY, Role.QA)
    assert guards.checkers_problem(first, second) is None
    assert "same person" in guards.checkers_problem(first, user(1, Role.PHARMACY))
    assert "pharmacy users" in guards.checkers_problem(first, user(3, Role.QA))
    assert "not known" in guards.checkers_problem(first, None)


def reading(**changes):
    values = {"wristband": "LAL2013-RM-001", "din": parse("G123426000123L"), "division": "A0"}
    return guards.BagReading(**(values | changes))


def test_a_right_reading_matches_whatever_the_flags():
    assert guards.identity_problems(reading(), EXPECTED) == []
    assert guards.identity_problems(reading(din=parse("=G12342600012300"), product_code="S1234"), EXPECTED) == []


def test_every_swapped_entry_is_named():
    problems = guards.identity_problems(reading(wristband="LAL2013-RM-002", din=parse("=G12342600012400"),
                                                division="B0", product_code="S9999"), EXPECTED)
    assert problems == [
        "Wristband LAL2013-RM-002 is not the subject of this order (LAL2013-RM-001)",
        "Bag DIN G1234 26 000124 is not the DIN of this dose unit (G1234 26 000123)",
        "Bag product code S9999 is not this product (S1234)",
        "Bag division B0 is not the division of this dose unit (A0)",
    ]


def test_the_stop_message_says_who_read_what():
    assert guards.stop_message([], [], [], ("Piero", "Paola")) is None
    message = guards.stop_message(["Expired"], ["Bag swapped"], ["Bag swapped", "Wristband wrong"],
                                  ("Piero", "Paola"))
    assert message == "Expired; Bag swapped; Wristband wrong, as read by Paola: STOP, do not infuse."


def test_the_infusion_follows_the_check_and_precedes_the_use_by():
    checked, use_by = NOW + timedelta(seconds=40), NOW + timedelta(hours=4)
    later = NOW + timedelta(hours=1)
    assert guards.administration_problem(NOW, NOW + timedelta(minutes=30), checked, use_by, later) is None
    assert "before the bedside check" in guards.administration_problem(NOW - timedelta(minutes=1), NOW, checked,
                                                                        use_by, later)
    assert "future" in guards.administration_problem(NOW, later + timedelta(minutes=1), checked, use_by, later)
    assert "use-by" in guards.administration_problem(use_by, use_by + timedelta(minutes=5), checked, use_by,
                                                      use_by + timedelta(hours=1))
    assert "after its start" in guards.administration_problem(NOW, NOW, checked, use_by, later)


def test_the_volume_infused_is_what_the_bag_held_at_most():
    assert guards.volume_problem(Q_(50, "mL"), Q_(50, "mL")) is None
    assert "more than the bag holds" in guards.volume_problem(Q_(50.5, "mL"), Q_(50, "mL"))
    assert "more than 0 mL" in guards.volume_problem(Q_(0, "mL"), Q_(50, "mL"))
