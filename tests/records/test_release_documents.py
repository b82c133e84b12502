"""A release queues its documents in its own transaction; a job stores the certificate and the batch record after it.

With the worker (PostgreSQL's way) the release answers without rendering anything; in-process (SQLite's way) the
job runs right after the commit. Either way a job stores exactly one certificate and one batch record, whoever dies.
"""

import json
import os
import subprocess
import sys
import threading
import time
from datetime import timedelta
from pathlib import Path
from statistics import median

import pytest
from sqlalchemy import select, text

from manufacturing.core import clock
from manufacturing.extensions import db
from manufacturing.processing.doses import doses_of
from manufacturing.processing.models import StepKind
from manufacturing.records import jobs
from manufacturing.records.label import print_label
from manufacturing.records.models import DocumentJob, DocumentKind, StoredDocument
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


@pytest.fixture
def worker_mode(app, monkeypatch):
    """Jobs wait for a worker, as on PostgreSQL in production."""
    monkeypatch.setitem(app.config, "DOCUMENT_JOBS", "worker")


@pytest.fixture
def renders(monkeypatch):
    """Count the PDFs rendered, by template."""
    from manufacturing.records import coa, documents

    counted: list[str] = []
    for module in (coa, documents):
        original = module.render_pdf

        def counting(template, original=original, **context):
            counted.append(template)
            return original(template, **context)

        monkeypatch.setattr(module, "render_pdf", counting)
    return counted


def _committed(dose_id: int, lot_id: int) -> tuple[str, list[tuple[str, int | None]], int]:
    """The unit's state, the lot's stored documents and its dispositions, read on a connection of its own."""
    db.session.commit()  # the test's own session lets go of SQLite's lock first
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


def _job(dose) -> DocumentJob:
    db.session.expire_all()
    return db.session.scalars(select(DocumentJob).where(DocumentJob.dose_unit_id == dose.id)).one()


BOTH = [("BATCH_RECORD", None), ("CERTIFICATE", "dose")]


def _both(dose_id: int) -> list[tuple[str, int | None]]:
    return [(kind, dose_id if unit == "dose" else unit) for kind, unit in BOTH]


def test_in_process_the_documents_are_stored_right_after_the_release_commits(client, login, bench, dose,
                                                                              released_at):
    dose_id, lot_id = dose.id, dose.lot_id
    assert _release(client, login, bench, dose, released_at).status_code == 302
    state, documents, decisions = _committed(dose_id, lot_id)  # no request for the documents was made
    assert state == "RELEASED_INTERIM" and decisions == 1
    assert documents == _both(dose_id)
    assert _job(dose).done_at is not None


def test_the_release_answers_without_rendering_and_the_worker_stores_both(client, login, bench, dose, released_at,
                                                                          worker_mode, renders):
    dose_id, lot_id = dose.id, dose.lot_id
    assert _release(client, login, bench, dose, released_at).status_code == 302
    assert renders == []
    assert _committed(dose_id, lot_id) == ("RELEASED_INTERIM", [], 1)
    page = client.get(f"/lots/{lot_id}").get_data(as_text=True)
    assert "Certificate being prepared" in page and f"/records/doses/{dose_id}/certificate.pdf" not in page

    assert jobs.run_due() == 1
    assert sorted(renders) == ["records/batch_record.html", "records/coa.html"]
    assert _committed(dose_id, lot_id)[1] == _both(dose_id)
    page = client.get(f"/lots/{lot_id}").get_data(as_text=True)
    assert "being prepared" not in page and f"/records/doses/{dose_id}/certificate.pdf" in page
    assert jobs.run_due() == 0


def test_a_failed_try_keeps_the_release_and_a_later_try_stores_one_of_each(client, login, bench, dose, released_at,
                                                                           monkeypatch):
    def renderer_down(*args, **kwargs):
        raise RuntimeError("the PDF renderer stopped")

    dose_id, lot_id = dose.id, dose.lot_id
    with monkeypatch.context() as patch:
        patch.setattr("manufacturing.records.documents.render_pdf", renderer_down)
        assert _release(client, login, bench, dose, released_at).status_code == 302
    assert _committed(dose_id, lot_id) == ("RELEASED_INTERIM", [], 1)  # the certificate rolled back with its job
    job = _job(dose)
    assert job.attempts == 1 and "renderer stopped" in job.last_error and job.done_at is None
    with clock.frozen(released_at):
        assert jobs.run_due() == 0  # not due again yet
    with clock.frozen(job.due_at + timedelta(seconds=1)):
        assert jobs.run_due() == 1
    assert _committed(dose_id, lot_id)[1] == _both(dose_id)


def _start_killable_worker(app, started: Path) -> subprocess.Popen:
    """A worker process whose batch record never ends rendering (tests/records/killable_worker.py)."""
    names = ("SQLALCHEMY_DATABASE_URI", "SIGNING_CERT", "SIGNING_KEY", "CHECKPOINT_KEY", "CHECKPOINT_DIR",
             "DOCUMENT_JOBS")
    env = {**os.environ, "KILLABLE_WORKER_SETTINGS": json.dumps({name: app.config[name] for name in names}),
           "KILLABLE_WORKER_STARTED": str(started)}
    return subprocess.Popen([sys.executable, "-m", "tests.records.killable_worker"],
                            cwd=Path(__file__).resolve().parents[2], env=env)


def _wait_for(started: Path, process: subprocess.Popen, seconds: float = 120) -> None:
    deadline = time.monotonic() + seconds
    while not started.exists():
        assert process.poll() is None, "the worker ended before it began the batch record"
        assert time.monotonic() < deadline, "the worker did not reach the batch record in time"
        time.sleep(0.1)


def _run_when_free(seconds: float = 10) -> int:
    """Run what is due once the database has seen the dead worker go (its locks go with its connection)."""
    deadline = time.monotonic() + seconds
    while (ran := jobs.run_due()) == 0 and time.monotonic() < deadline:
        time.sleep(0.2)
    return ran


def test_a_worker_process_killed_mid_job_leaves_it_whole_to_the_next(app, client, login, bench, dose, released_at,
                                                                     worker_mode, tmp_path):
    dose_id, lot_id = dose.id, dose.lot_id
    _release(client, login, bench, dose, released_at)
    db.session.commit()
    started = tmp_path / "started"
    process = _start_killable_worker(app, started)
    try:
        _wait_for(started, process)
    finally:
        process.kill()
        process.wait()
    assert _committed(dose_id, lot_id)[1] == []  # the certificate it stored went with its transaction
    assert _run_when_free() == 1
    assert _committed(dose_id, lot_id)[1] == _both(dose_id)
    assert _job(dose).attempts == 0 and _job(dose).done_at is not None


class WorkerKilled(BaseException):
    """The process running the job ends in the middle of it (not an error the job could catch)."""


def test_a_worker_killed_mid_way_leaves_the_job_to_the_next_which_stores_one_of_each(client, login, bench, dose,
                                                                                     released_at, worker_mode,
                                                                                     monkeypatch):
    from manufacturing.records import documents

    dose_id, lot_id = dose.id, dose.lot_id
    _release(client, login, bench, dose, released_at)
    with monkeypatch.context() as patch:
        def killed(*args, **kwargs):
            raise WorkerKilled()

        patch.setattr(documents, "render_pdf", killed)  # after the certificate is stored, in the same transaction
        with pytest.raises(WorkerKilled):
            jobs.run_next()
    db.session.remove()  # the dead worker's connection goes, and its transaction with it
    assert _committed(dose_id, lot_id)[1] == []
    assert _job(dose).attempts == 0
    assert jobs.run_due() == 1
    assert _committed(dose_id, lot_id)[1] == _both(dose_id)


def test_two_workers_on_the_same_job_store_exactly_one_of_each(app, client, login, bench, dose, released_at,
                                                               worker_mode, monkeypatch):
    from manufacturing.records import coa

    dose_id, lot_id = dose.id, dose.lot_id
    _release(client, login, bench, dose, released_at)
    original = coa.render_pdf

    def slow(template, **context):  # the first worker still holds the job when the second looks for one
        time.sleep(0.5)
        return original(template, **context)

    monkeypatch.setattr(coa, "render_pdf", slow)
    start, ran, errors = threading.Barrier(2), [], []

    def worker():
        with app.app_context():
            try:
                start.wait()
                ran.append(jobs.run_next())
            except Exception as error:  # reported below
                errors.append(error)

    threads = [threading.Thread(target=worker) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert errors == []
    assert sorted(ran, key=lambda job: job is None) == [_job(dose).id, None]
    assert _committed(dose_id, lot_id)[1] == _both(dose_id)
    assert _job(dose).attempts == 0


def test_a_stored_record_is_served_by_lot_and_dose_without_building_its_data(client, login, bench, dose,
                                                                             released_at, monkeypatch):
    from manufacturing.records import coa, documents

    _release(client, login, bench, dose, released_at)
    stored = {document.kind: document.sha256 for document in db.session.scalars(select(StoredDocument))}

    def not_built(*args, **kwargs):
        raise AssertionError("the data of a stored document were built again")

    monkeypatch.setattr(documents, "build_batch_record", not_built)
    monkeypatch.setattr(coa, "coa_data", not_built)
    took = []
    for _ in range(5):
        begun = time.perf_counter()
        response = client.get(f"/records/lots/{dose.lot_id}/batch-record.pdf")
        took.append(time.perf_counter() - begun)
        assert response.headers["X-Content-SHA256"] == stored[DocumentKind.BATCH_RECORD]
    print(f"stored batch record served by lot: median {median(took) * 1000:.1f} ms")
    response = client.get(f"/records/doses/{dose.id}/certificate.pdf")
    assert response.headers["X-Content-SHA256"] == stored[DocumentKind.CERTIFICATE]


def test_after_a_change_the_batch_record_read_is_a_copy_not_stored(client, login, bench, dose, released_at):
    _release(client, login, bench, dose, released_at)
    with clock.frozen(released_at + timedelta(minutes=5)):
        print_label(dose, bench.qa)  # the label print enters the record and its audit trail
        db.session.commit()
    response = client.get(f"/records/lots/{dose.lot_id}/batch-record.pdf")
    assert response.status_code == 200 and "X-Content-SHA256" not in response.headers


def test_a_record_changed_before_its_job_ran_is_stored_saying_so(client, login, bench, dose, released_at,
                                                                 worker_mode):
    _release(client, login, bench, dose, released_at)
    released_version = _job(dose).data_version
    with clock.frozen(released_at + timedelta(minutes=5)):
        print_label(dose, bench.qa)
        db.session.commit()
        jobs.run_due()
    record = db.session.scalars(select(StoredDocument).where(StoredDocument.kind == DocumentKind.BATCH_RECORD)).one()
    assert f"data version {released_version} at the release" in record.reason
    assert record.data_version > released_version


def test_a_release_left_without_documents_or_job_is_found_and_queued_again(client, login, bench, dose, released_at,
                                                                           worker_mode):
    dose_id, lot_id = dose.id, dose.lot_id
    _release(client, login, bench, dose, released_at)
    db.session.execute(DocumentJob.__table__.delete())  # a job lost (restored from a backup taken before it, say)
    db.session.commit()
    assert jobs.requeue_missing() == 1
    assert jobs.run_due() == 1
    assert _committed(dose_id, lot_id)[1] == _both(dose_id)
    assert jobs.requeue_missing() == 0
