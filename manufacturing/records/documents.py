"""Issue the documents of a lot and its dose units: build the data, render once per version, store."""

from manufacturing.core import clock
from manufacturing.lots.models import Lot
from manufacturing.records import storage
from manufacturing.records.batch_record import BatchRecord, build_batch_record
from manufacturing.records.models import DocumentKind, StoredDocument
from manufacturing.records.render import render_pdf


def _render(data: BatchRecord, revision, user) -> bytes:
    return render_pdf("records/batch_record.html", br=data, revision=revision,
                      issued=clock.format_local(clock.now()), printed_by=user.full_name if user else "")


def _filename(lot: Lot) -> str:
    return f"batch-record-{lot.lot_number}.pdf"


def render_batch_record(lot: Lot, revision: int = 0, user=None) -> bytes:
    return _render(build_batch_record(lot), revision or "draft", user)


STORED_ON_REQUEST = "Executed batch record as it stands, stored on request"


def batch_record(lot: Lot, user=None, signature: str = STORED_ON_REQUEST) -> StoredDocument:
    """Store the batch record as it stands, signed: the stored revision, or a new one if the record changed."""
    data = build_batch_record(lot)
    return storage.issue(DocumentKind.BATCH_RECORD, lot, None, storage.source_hash(data.as_dict()),
                         lambda revision: _render(data, revision, user), _filename(lot), user, signature=signature)


def batch_record_copy(lot: Lot, user=None) -> storage.Download:
    """Read the batch record as it stands, storing nothing: the stored revision if unchanged, else a copy."""
    data = build_batch_record(lot)
    return storage.read(DocumentKind.BATCH_RECORD, lot, None, storage.source_hash(data.as_dict()),
                        lambda revision: _render(data, revision, user), _filename(lot))


def issue_release_documents(dose, user=None) -> list[StoredDocument]:
    """Store the certificate and the lot's batch record as they stand at a release, both signed for the release."""
    from manufacturing.records.coa import coa_pdf, release_signature_reason

    return [coa_pdf(dose, user), batch_record(dose.lot, user, release_signature_reason(dose))]
