"""Documents off the request path: a QA decision queues a job in its own transaction; the job stores the documents.

The queue is a table of the site's own database (`document_jobs`), so a job commits with its decision or not at all.
On PostgreSQL a worker (`flask documents worker`) claims the oldest due job with SELECT ... FOR UPDATE SKIP LOCKED
and stores the documents and the job's end in that one transaction: a worker that dies rolls it back and frees the
job for the next, so a job is done exactly once, whoever dies. With the embedded SQLite default the same job runs
in-process right after the decision commits. A job that fails is tried again later, up to a limit.
"""

import logging
from datetime import timedelta

from flask import current_app
from sqlalchemy import and_, bindparam, event, exists, literal, or_, select, union_all
from sqlalchemy.orm import Session, aliased

from manufacturing.accounts.models import User
from manufacturing.core import clock
from manufacturing.core.audit import set_actor
from manufacturing.core.transitions import lock
from manufacturing.extensions import db
from manufacturing.lots import versions
from manufacturing.lots.models import Lot
from manufacturing.processing.models import DoseUnit
from manufacturing.records.documents import issue_release_documents
from manufacturing.records.models import DocumentJob, DocumentKind, JobKind, StoredDocument
from manufacturing.records.versions import lot_version
from manufacturing.release.models import Decision, Disposition
from manufacturing.release.operations import latest_disposition

log = logging.getLogger(__name__)

QUEUED_KEY = "document_jobs_queued"
WORKER_ACTOR = "documents-worker"


def _new_job(kind: JobKind, dose: DoseUnit, disposition: Disposition, user_id: int | None) -> DocumentJob:
    db.session.flush()
    job = DocumentJob(kind=kind, lot_id=dose.lot_id, dose_unit_id=dose.id, disposition_id=disposition.id,
                      requested_by_id=user_id, data_version=lot_version(dose.lot_id), queued_at=clock.now(),
                      attempts=0)
    db.session.add(job)
    db.session.flush()
    return job


def queue(kind: JobKind, dose: DoseUnit, user=None) -> DocumentJob:
    """Queue the documents of the dose's latest decision, in the decision's transaction."""
    job = _new_job(kind, dose, latest_disposition(dose), user.id if user else None)
    db.session.info.setdefault(QUEUED_KEY, []).append(job.id)
    return job


@event.listens_for(Session, "before_commit")
def _version_at_commit(session: Session) -> None:
    """A job's data version is the lot's as the decision commits, whatever the transaction did after queuing."""
    for job_id in session.info.get(QUEUED_KEY, ()):
        job = session.get(DocumentJob, job_id)
        if job is not None:
            session.flush()
            job.data_version = lot_version(job.lot_id)


@event.listens_for(Session, "after_commit")
def _run_after_commit(session: Session) -> None:
    if session.info.pop(QUEUED_KEY, None) and in_process():
        run_in_process()


@event.listens_for(Session, "after_rollback")
def _forget_queued(session: Session) -> None:
    session.info.pop(QUEUED_KEY, None)


def in_process() -> bool:
    """Whether jobs run in the process that queued them (SQLite by default) rather than in a worker."""
    setting = current_app.config["DOCUMENT_JOBS"]
    if setting == "auto":
        return db.engine.dialect.name == "sqlite"
    return setting == "in-process"


def run_in_process() -> None:
    """Run every due job now, in a session of its own; a failure is logged and left for a later try."""
    with current_app.app_context():
        try:
            run_due()
        except Exception:  # the decision is committed: its documents wait for the next try
            log.exception("The documents of a release were not stored; they will be tried again.")
            db.session.rollback()


def _pending():
    """Due jobs not done, none of them behind an earlier unfinished job of the same lot (documents in order)."""
    earlier = aliased(DocumentJob)
    unfinished = and_(earlier.lot_id == DocumentJob.lot_id, earlier.id < DocumentJob.id,
                      earlier.done_at.is_(None), earlier.failed_at.is_(None))
    return (select(DocumentJob)
            .where(DocumentJob.done_at.is_(None), DocumentJob.failed_at.is_(None),
                   or_(DocumentJob.due_at.is_(None), DocumentJob.due_at <= clock.now()), ~exists().where(unfinished))
            .order_by(DocumentJob.id))


def claim_next() -> DocumentJob | None:
    """Lock the oldest due job that no other worker holds (SQLite: the write lock holds the whole file)."""
    return db.session.scalars(_pending().limit(1).with_for_update(skip_locked=True)).first()


def store_documents(job: DocumentJob) -> None:
    """The job itself: store the decision's certificate and the batch record; doing it twice stores nothing more.

    The lot is locked first, as its decisions lock it, and the unit and the decision are read after the lock: a
    withdrawal committed meanwhile is either wholly before the job (and read) or waits for the job to end.
    """
    lock(db.session.get(Lot, job.lot_id))
    dose = db.session.get(DoseUnit, job.dose_unit_id, populate_existing=True)
    disposition = db.session.get(Disposition, job.disposition_id, populate_existing=True)
    user = db.session.get(User, job.requested_by_id) if job.requested_by_id else None
    set_actor(db.session, user.id if user else None, user.username if user else WORKER_ACTOR)
    issue_release_documents(dose, disposition, user if job.kind == JobKind.RELEASE else None, job.data_version)
    job.done_at = clock.now()


def run_next() -> int | None:
    """Claim a job, store its documents and end it in one transaction; the id of the job run, or None."""
    job = claim_next()
    if job is None:
        db.session.rollback()
        return None
    job_id = job.id
    try:
        store_documents(job)
        db.session.commit()
    except Exception as error:
        db.session.rollback()
        _record_failure(job_id, error)
    return job_id


def _record_failure(job_id: int, error: Exception) -> None:
    """Count the failed try: the job is due again after a growing wait, or given up after the last try."""
    config = current_app.config
    job = db.session.get(DocumentJob, job_id, with_for_update=True)
    if job is None or job.done_at is not None:
        db.session.rollback()
        return
    job.attempts += 1
    job.last_error = f"{type(error).__name__}: {getattr(error, 'message', None) or error}"[:2000]
    job.due_at = clock.now() + timedelta(seconds=config["DOCUMENT_JOB_RETRY_SECONDS"] * 2 ** (job.attempts - 1))
    if job.attempts >= config["DOCUMENT_JOB_MAX_ATTEMPTS"]:
        job.failed_at = clock.now()
    db.session.commit()
    log.error("Document job %s (%s) failed, try %s: %s", job.id, job.kind.name, job.attempts, job.last_error)


def run_due() -> int:
    """Run jobs until none is due; how many were run."""
    count = 0
    while run_next() is not None:
        count += 1
    return count


def requeue_missing() -> int:
    """Queue the documents of every release that has neither a job nor a certificate stored since its decision."""
    stored = exists().where(StoredDocument.kind == DocumentKind.CERTIFICATE,
                            StoredDocument.dose_unit_id == Disposition.dose_unit_id,
                            StoredDocument.created_at >= Disposition.decided_at)
    queued = exists().where(DocumentJob.disposition_id == Disposition.id)
    releases = db.session.scalars(select(Disposition).where(Disposition.decision != Decision.REJECTED, ~stored,
                                                            ~queued).order_by(Disposition.id)).all()
    for disposition in releases:
        _new_job(JobKind.RELEASE, db.session.get(DoseUnit, disposition.dose_unit_id), disposition,
                 disposition.decided_by_id)
    db.session.commit()
    return len(releases)


def retry_failed() -> int:
    """Give every job that failed its last try a new round of tries (once what stopped it is mended)."""
    failed = db.session.scalars(select(DocumentJob).where(DocumentJob.failed_at.is_not(None),
                                                          DocumentJob.done_at.is_(None))).all()
    for job in failed:
        job.failed_at, job.due_at, job.attempts = None, None, 0
    db.session.commit()
    return len(failed)


def _preparing_query(lot_id: int):
    return select(DocumentJob.dose_unit_id).where(DocumentJob.lot_id == lot_id, DocumentJob.done_at.is_(None),
                                                 DocumentJob.failed_at.is_(None))


def preparing(lot_id: int) -> set[int]:
    """The dose units of a lot whose documents are queued and not yet stored (a job given up is not preparing)."""
    return set(db.session.scalars(_preparing_query(lot_id)))


PREPARING = "preparing"  # never an audit hash (hex)
_PAGE_STATE = union_all(*versions.LAST_EVENTS, select(DocumentJob.dose_unit_id, literal(PREPARING)).where(
    DocumentJob.lot_id == bindparam("lot_id"), DocumentJob.done_at.is_(None), DocumentJob.failed_at.is_(None)))


def page_state(lot: Lot) -> tuple[tuple[int, str], set[int]]:
    """The lot page's data version and its units whose documents are being prepared, in one statement."""
    rows = db.session.execute(_PAGE_STATE, {**versions.scopes(lot), "lot_id": lot.id}).all()
    return versions.latest(row for row in rows if row[1] != PREPARING), {row[0] for row in rows if row[1] == PREPARING}
