"""The culture day of a moment: site-local calendar days since day 0, counted one way everywhere."""

from datetime import UTC, datetime
from types import SimpleNamespace

from manufacturing.processing.rules import culture_day


def test_culture_days_are_counted_in_local_calendar_days():
    day0 = SimpleNamespace(performed_at=datetime(2026, 3, 1, 22, 30, tzinfo=UTC))  # 23:30 in Rome
    assert culture_day(day0, datetime(2026, 3, 1, 23, 30, tzinfo=UTC)) == 1  # 00:30 in Rome, the next day
    assert culture_day(day0, datetime(2026, 3, 8, 8, 0, tzinfo=UTC)) == 7
