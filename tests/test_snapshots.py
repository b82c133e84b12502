"""A world built once by the factories is restored row for row, audit chain included, as its tests' own world."""

from datetime import timedelta

import pytest

from manufacturing.core import clock
from manufacturing.extensions import db
from tests.conftest import _bench_staff, clean_database
from tests.factories import make_user
from tests.processing.factories import set_up_bench
from tests.snapshots import built_once, snapshot


def _audit_verify(app) -> str:
    db.session.commit()
    result = app.test_cli_runner().invoke(args=["audit", "verify"])
    assert result.exit_code == 0, result.output
    return result.output


def test_a_world_is_built_once_then_restored_row_for_row_with_its_audit_trail_intact(app, database):
    start = clock.now().replace(second=0, microsecond=0) - timedelta(days=20)
    built = built_once("bench of this test", start, lambda: set_up_bench(*_bench_staff(), start))
    rows, subject_id, materials = snapshot(), built.subject.id, {kind: lot.id for kind, lot in built.materials.items()}
    database.session.remove()
    clean_database()
    restored = built_once("bench of this test", start, lambda: pytest.fail("the world was built twice"))
    assert snapshot() == rows
    assert (restored.subject.id, restored.technician.username) == (subject_id, "tech.one")
    assert {kind: lot.id for kind, lot in restored.materials.items()} == materials
    assert "chain unbroken" in _audit_verify(app)


def test_a_world_for_another_start_is_built_again(app, database):
    first, later = (clock.now() - timedelta(days=days) for days in (21, 20))
    built_once("bench of this test", first, lambda: set_up_bench(*_bench_staff(), first))
    database.session.remove()
    clean_database()
    again = built_once("bench of this test", later, lambda: set_up_bench(*_bench_staff(), later))
    assert again.start == later


def test_a_world_is_the_first_thing_a_test_makes(database):
    make_user("someone.else")
    with pytest.raises(AssertionError, match="first thing a test makes"):
        built_once("bench of this test", None, lambda: pytest.fail("built over another record"))


def test_the_users_of_a_test_that_starts_from_a_ward_are_the_wards(app, technician, qa_user, admin, ward):
    assert ward.bench.technician is technician and ward.bench.qa is qa_user
    assert admin.username == "admin.one" and admin.id not in {technician.id, qa_user.id, ward.second.id}
    assert "chain unbroken" in _audit_verify(app)
