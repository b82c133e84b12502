"""Benchmark: `audit verify` of a long trail (BENCH_AUDIT_ROWS, a million by default), streamed in both cores.

The trail of a ward made by real operations is appended again and again, every copy sealed and chained
(tests/benchmarks/audit_trail.py), then verified as the command does it: whole (`--whole`, every row read), and
from the seal the last intact verification left, after a day of work (one more copy of the ward's story).
"""

import os

import pytest

from manufacturing.core.audit_verify import verify_as_of_now
from manufacturing.extensions import db
from tests.benchmarks.audit_trail import lengthen_trail
from tests.conftest import clean_database
from tests.dispensing.factories import set_up_ward
from tests.factories import make_user

ROWS = int(os.environ.get("BENCH_AUDIT_ROWS", 1_000_000))


@pytest.fixture(scope="module")
def long_trail(app):
    """A ward's trail lengthened to ROWS rows, built once per database."""
    with app.app_context():
        clean_database()
        set_up_ward(make_user("tech.one", roles=["TECHNICIAN"], full_name="Tina Tecnica"),
                    make_user("tech.two", roles=["TECHNICIAN"], full_name="Vito Verifica"),
                    make_user("qa.one", roles=["QA"], full_name="Quinta Qualita"),
                    make_user("pharm.one", roles=["PHARMACY"], full_name="Piero Farmacia"))
        db.session.commit()
        story = db.session.scalar(db.text("SELECT count(*) FROM audit_events"))
        length = lengthen_trail(ROWS)
        db.session.remove()
    yield length, story
    with app.app_context():
        clean_database()


def test_bench_audit_verify_of_a_long_trail(benchmark, app, long_trail):
    with app.app_context():
        report = benchmark.pedantic(verify_as_of_now, args=(db.session,), kwargs={"whole": True}, rounds=3,
                                    iterations=1)
    print(f"\naudit verify --whole of {report.rows_checked} rows: median {benchmark.stats.stats.median:.2f} s; "
          f"{report.summary}")
    assert report.ok and report.rows_checked >= long_trail[0] and not report.rows_known


def test_bench_audit_verify_since_the_seal(benchmark, app, long_trail):
    """A day's new rows on a sealed trail: only the blocks changed since are read."""
    def a_day_of_work():
        length = db.session.scalar(db.text("SELECT count(*) FROM audit_events"))
        db.session.rollback()
        lengthen_trail(length + long_trail[1], long_trail[1])

    with app.app_context():
        assert verify_as_of_now(db.session).ok  # the seal
        report = benchmark.pedantic(verify_as_of_now, args=(db.session,), setup=a_day_of_work, rounds=3,
                                    iterations=1)
    print(f"\naudit verify of {report.rows_checked} rows from the seal: median "
          f"{benchmark.stats.stats.median:.2f} s; {report.summary}")
    assert report.ok and 0 < report.rows_known < report.rows_checked
