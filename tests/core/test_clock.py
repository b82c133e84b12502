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
