"""A release stores its certificate and batch record in its own transaction: at its commit both are in the database."""

from datetime import timedelta

import pytest
from sqlalchemy import text

from manufacturing.core import clock
from manufacturing.processing.doses import doses_of
from manufacturing.processing.models import StepKind
from tests.conftest import owner_engine
from tests.factories import PASSWORD
from tests.processing.factories import SCHEDULE
from tests.release.factories import record_results


@pytest.fixture
def dose(bench):
    lot = bench.lot_through(StepKind.DOSE_PREPARATION)
    return doses_of(lot)[0]


@pytest.fixture
def released_at(bench, dose):
    """Every release result recorded and verified; the time QA releases, an hour later."""
    qc_time = bench.at(SCHEDULE[StepKind.DOSE_PREPARATION] + 2)
    record_results(bench, dose.lot, dose, qc_time)
    return qc_time + timedelta(hours=1)


def _committed(dose_id: int, lot_id: int) -> tuple[str, list[tuple[str, int | None]], int]:
    """The unit's state, the lot's stored documents and its dispositions, read on a connection of its own."""
    with owner_engine().connect() as connection:
        state = connection.execute(text("SELECT state FROM dose_units WHERE id = :id"), {"id": dose_id}).scalar()
        documents = connection.execute(text("SELECT kind, dose_unit_id FROM stored_documents WHERE lot_id = :lot "
                                            "ORDER BY kind"), {"lot": lot_id}).all()
        decisions = connection.execute(text("SELECT count(*) FROM dispositions WHERE dose_unit_id = :id"),
                                       {"id": dose_id}).scalar()
    return state, [tuple(document) for document in documents], decisions


def _release(client, login, bench, dose, released_at):
    login(bench.qa)
    with clock.frozen(released_at):
        return client.post(f"/release/doses/{dose.id}/release",
                           data={"sign_username": bench.qa.username, "sign_password": PASSWORD})


def test_the_release_commit_holds_the_certificate_and_the_batch_record(client, login, bench, dose, released_at):
    dose_id, lot_id = dose.id, dose.lot_id
    assert _release(client, login, bench, dose, released_at).status_code == 302
    state, documents, decisions = _committed(dose_id, lot_id)  # no request for the documents was made
    assert state == "RELEASED_INTERIM" and decisions == 1
    assert documents == [("BATCH_RECORD", None), ("CERTIFICATE", dose_id)]


def test_a_certificate_that_cannot_be_stored_leaves_the_unit_unreleased(client, login, bench, dose, released_at,
                                                                        monkeypatch):
    def renderer_down(*args, **kwargs):
        raise RuntimeError("the PDF renderer stopped")

    monkeypatch.setattr("manufacturing.records.coa.render_pdf", renderer_down)
    dose_id, lot_id = dose.id, dose.lot_id
    with pytest.raises(RuntimeError, match="renderer stopped"):
        _release(client, login, bench, dose, released_at)
    assert _committed(dose_id, lot_id) == ("QUARANTINE", [], 0)  # all or nothing: no release without its certificate
