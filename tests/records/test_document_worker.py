"""The documents worker: withdrawals queued like releases, the command line, jobs given up and tried again."""

import pytest
from sqlalchemy import select

from manufacturing.extensions import db
from manufacturing.records import jobs, storage
from manufacturing.records.models import DocumentJob, DocumentKind, JobKind
from tests.dispensing.test_fitness import positive_sterility


@pytest.fixture
def worker_mode(app, monkeypatch):
    monkeypatch.setitem(app.config, "DOCUMENT_JOBS", "worker")


def _jobs(kind: JobKind, dose) -> list[DocumentJob]:
    db.session.expire_all()
    return list(db.session.scalars(select(DocumentJob).where(DocumentJob.kind == kind,
                                                             DocumentJob.dose_unit_id == dose.id)))


def test_a_withdrawal_queues_its_certificate_and_the_worker_stores_it_saying_withdrawn(ward, worker_mode):
    before = storage.latest(DocumentKind.CERTIFICATE, ward.lot, ward.fresh)
    positive_sterility(ward)
    db.session.commit()
    [job] = _jobs(JobKind.WITHDRAWAL, ward.fresh)
    assert job.done_at is None and storage.latest(DocumentKind.CERTIFICATE, ward.lot, ward.fresh).id == before.id
    assert ward.fresh.id in jobs.preparing(ward.lot.id)
    assert jobs.run_due() >= 1
    after = storage.latest(DocumentKind.CERTIFICATE, ward.lot, ward.fresh)
    assert after.revision == before.revision + 1 and "withdrawn" in after.reason
    assert jobs.preparing(ward.lot.id) == set()


def test_the_worker_command_runs_what_is_due_and_stops_with_once(app, ward, worker_mode):
    positive_sterility(ward)
    db.session.commit()
    result = app.test_cli_runner().invoke(args=["documents", "worker", "--once"])
    assert result.exit_code == 0, result.output
    assert "document job(s)." in result.output
    assert all(job.done_at is not None for job in _jobs(JobKind.WITHDRAWAL, ward.fresh))


def test_a_job_given_up_is_not_preparing_and_is_tried_again_on_request(app, ward, worker_mode, monkeypatch):
    def signing_down(*args, **kwargs):
        raise RuntimeError("the signing key cannot be read")

    monkeypatch.setitem(app.config, "DOCUMENT_JOB_MAX_ATTEMPTS", 1)
    positive_sterility(ward)
    db.session.commit()
    with monkeypatch.context() as patch:
        patch.setattr("manufacturing.records.storage.signed", signing_down)
        given_up = jobs.run_due()
    [job] = _jobs(JobKind.WITHDRAWAL, ward.fresh)
    assert job.failed_at is not None and "signing key" in job.last_error
    assert jobs.preparing(ward.lot.id) == set() and jobs.run_due() == 0
    result = app.test_cli_runner().invoke(args=["documents", "sweep", "--retry-failed"])
    assert f"{given_up} job(s) given up will be tried again." in result.output, result.output
    assert jobs.run_due() == given_up
    assert _jobs(JobKind.WITHDRAWAL, ward.fresh)[0].done_at is not None
