"""The site's calendar date: today and the date of a moment, in the site's zone."""

from datetime import UTC, date, datetime

from flask import Flask

from manufacturing.core import clock


def test_today_is_the_local_date_of_now_in_the_site_zone():
    with clock.frozen(datetime(2026, 3, 1, 23, 30, tzinfo=UTC)):
        assert clock.today() == date(2026, 3, 2)  # 00:30 in Rome


def test_the_local_date_follows_the_configured_zone():
    app = Flask(__name__)
    app.config["SITE_TIMEZONE"] = "America/New_York"
    with app.app_context():
        assert clock.local_date(datetime(2026, 3, 2, 3, 0, tzinfo=UTC)) == date(2026, 3, 1)


def test_a_moment_is_written_in_the_zone_configured_when_it_is_shown():
    moment = datetime(2026, 3, 2, 3, 0, tzinfo=UTC)
    assert clock.format_local(moment) == "2026-03-02 04:00 CET (UTC+01:00)"
    app = Flask(__name__)
    app.config["SITE_TIMEZONE"] = "America/New_York"
    with app.app_context():
        assert clock.format_local(moment) == "2026-03-01 22:00 EST (UTC-05:00)"
    assert clock.format_local(moment, seconds=True) == "2026-03-02 04:00:00 CET (UTC+01:00)"
