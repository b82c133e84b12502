"""Beside a step's form: which culture day it is, the pinned limits each value is judged by, the last values."""

from manufacturing.core import clock
from manufacturing.processing.entry_help import entry_help
from manufacturing.processing.models import StepKind
from tests.processing.factories import SCHEDULE


def test_a_culture_count_is_told_its_day_limits_and_the_last_count(client, login, bench):
    lot = bench.lot_through(StepKind.CULTURE_DAY, culture_days=(5,))
    with clock.frozen(bench.at(SCHEDULE[StepKind.CULTURE_DAY0] + 24 * 7 + 1)):
        guide = entry_help(lot, StepKind.CULTURE_DAY)
        login(bench.technician)
        page = client.get(f"/lots/{lot.id}/steps/culture-day/new").get_data(as_text=True)
    assert guide.title == "Culture day 7" and "<h1>Culture day 7</h1>" in page
    assert guide.limits["viability"] == "alert < 80 %, action < 70 %"
    assert guide.previous["concentration"] == "3.10 × 10⁶ cells/mL (culture day 5)"
    assert "limits: alert &lt; 80 %, action &lt; 70 %" in page and "last: 3.10 × 10⁶ cells/mL (culture day 5)" in page


def test_the_first_count_follows_the_seeding_and_a_field_without_help_has_no_hint(bench):
    lot = bench.lot_through(StepKind.CULTURE_DAY0)
    guide = entry_help(lot, StepKind.CULTURE_DAY)
    assert guide.title.startswith("Culture day ")
    assert all(text.endswith("(culture day 0)") for text in guide.previous.values())
    assert guide.hint("no_such_field", None) is None
    assert guide.hint("viability", "Unit: %").startswith("Unit: % · limits: ")


def test_a_value_is_judged_as_typed_by_the_rules_of_saving(client, login, bench):
    from manufacturing.processing.entry_help import judge

    lot = bench.lot_through(StepKind.CULTURE_DAY, culture_days=(5,))
    assert judge(lot, StepKind.CULTURE_DAY, "viability", "93 %").tone == "green"
    assert judge(lot, StepKind.CULTURE_DAY, "viability", "75 %").tone == "amber"
    red = judge(lot, StepKind.CULTURE_DAY, "viability", "65 %")
    assert red.tone == "red" and "below the action limit 70 %" in red.message
    assert judge(lot, StepKind.CULTURE_DAY, "viability", "80").tone == "green"  # the form prints "Unit: %"
    assert judge(lot, StepKind.CULTURE_DAY, "viability", "0.96").tone == "red"  # 0.96 %, not 96 %: seen at once
    # A count without its power of ten (1.8 for 1.8 x 10^6 cells/mL) is no count: never 1.8 cells/mL.
    assert "outside the plausible range" in judge(lot, StepKind.CULTURE_DAY, "concentration", "1.8").message
    assert judge(lot, StepKind.CULTURE_DAY, "concentration", "1.8e6").tone == "green"
    assert judge(lot, StepKind.CULTURE_DAY, "volume", "200 mL").message == "Read: 200 mL"  # no limit on it
    assert judge(lot, StepKind.CULTURE_DAY, "no_such_field", "1").tone == ""
    login(bench.technician)
    answer = client.get(f"/lots/{lot.id}/steps/culture-day/judge", query_string={"field": "viability",
                                                                                 "value": "65 %"}).get_json()
    assert answer == {"tone": "red", "message": red.message}
    login(bench.qa)
    assert client.get(f"/lots/{lot.id}/steps/culture-day/judge?field=viability&value=1").status_code == 403


def test_a_hidden_character_in_a_value_is_named_not_echoed(bench):
    from manufacturing.processing.entry_help import judge

    lot = bench.lot_through(StepKind.CULTURE_DAY, culture_days=(5,))
    judged = judge(lot, StepKind.CULTURE_DAY, "viability", "9\u202e3 %")
    assert judged.tone == "" and "\u202e" not in judged.message and "U+202E" in judged.message
