"""A stored batch record is current only while neither its lot nor its subject changed; two stores come in turn."""

import threading

from flask import current_app
from sqlalchemy import select

from manufacturing.accounts.models import User
from manufacturing.core.audit import set_actor
from manufacturing.extensions import db
from manufacturing.lots.models import Lot
from manufacturing.patients.operations import SubjectDetails, correct_subject
from manufacturing.processing.models import StepKind
from manufacturing.records.batch_record import build_batch_record
from manufacturing.records.documents import batch_record, batch_record_copy
from manufacturing.records.models import DocumentKind, StoredDocument


def test_a_subject_corrected_after_the_record_was_stored_gives_a_copy_not_the_stored_revision(bench, qa_user,
                                                                                                  pharmacist):
    lot = bench.lot_through(StepKind.DOSE_PREPARATION)
    set_actor(db.session, qa_user.id, qa_user.username)
    stored = batch_record(lot, qa_user)
    db.session.commit()
    assert batch_record_copy(lot, qa_user).sha256 == stored.sha256  # nothing changed: the stored revision
    subject = lot.subject
    details = SubjectDetails(subject.subject_code, "ZZ", subject.date_of_birth, subject.sex, subject.site)
    correct_subject(pharmacist, subject, details, "Initials mistyped at registration")
    db.session.commit()
    assert build_batch_record(lot).subject_initials == "ZZ"
    assert batch_record_copy(lot, qa_user).sha256 is None  # a copy rendered now, marked not stored


def test_two_stores_of_one_batch_record_at_once_store_one_revision(bench, qa_user):
    lot = bench.lot_through(StepKind.DOSE_PREPARATION)
    lot_id, qa_id = lot.id, qa_user.id
    db.session.commit()
    app = current_app._get_current_object()
    first_flushed, revisions = threading.Event(), {}

    def store(name: str, hold: bool) -> None:
        with app.app_context():
            user = db.session.get(User, qa_id)
            set_actor(db.session, user.id, user.username)
            revisions[name] = batch_record(db.session.get(Lot, lot_id), user).revision
            if hold:  # the first keeps its transaction open while the second starts
                first_flushed.set()
                threading.Event().wait(1.0)
            db.session.commit()
            db.session.remove()

    first = threading.Thread(target=store, args=("first", True))
    first.start()
    assert first_flushed.wait(20)
    second = threading.Thread(target=store, args=("second", False))
    second.start()
    first.join()
    second.join()
    db.session.expire_all()
    rows = db.session.execute(select(StoredDocument.revision).where(
        StoredDocument.lot_id == lot_id, StoredDocument.kind == DocumentKind.BATCH_RECORD)).scalars().all()
    assert rows == [1] and revisions == {"first": 1, "second": 1}
