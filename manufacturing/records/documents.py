"""Issue the documents of a lot and its dose units: build the data, render once per version, store."""

from manufacturing.core import clock
from manufacturing.lots.models import Lot
from manufacturing.records import storage
from manufacturing.records.batch_record import BatchRecord, build_batch_record
from manufacturing.records.models import DocumentKind, StoredDocument
from manufacturing.records.render import render_pdf
from manufacturing.records.versions import lot_changed_since, lot_version


def _render(data: BatchRecord, revision, user) -> bytes:
    return render_pdf("records/batch_record.html", br=data, revision=revision,
                      issued=clock.format_local(clock.now()), printed_by=user.full_name if user else "")


def _filename(lot: Lot) -> str:
    return f"batch-record-{lot.lot_number}.pdf"


def render_batch_record(lot: Lot, revision: int = 0, user=None) -> bytes:
    return _render(build_batch_record(lot), revision or "draft", user)


STORED_ON_REQUEST = "Executed batch record as it stands, stored on request"


def batch_record(lot: Lot, user=None, signature: str = STORED_ON_REQUEST, reason: str = "") -> StoredDocument:
    """Store the batch record as it stands, signed: the stored revision, or a new one if the record changed."""
    version = lot_version(lot.id)  # read first: data changed while building read as changed, never as current
    data = build_batch_record(lot)
    return storage.issue(DocumentKind.BATCH_RECORD, lot, None, storage.source_hash(data.as_dict()),
                         lambda revision: _render(data, revision, user), _filename(lot), user, reason=reason,
                         signature=signature, data_version=version)


def batch_record_copy(lot: Lot, user=None) -> storage.Download:
    """Read the batch record as it stands, storing nothing: the stored revision if unchanged, else a copy.

    Whether the stored revision is unchanged is known from the lot's data version: the record is built only to
    render a copy, or to compare a revision stored before versions were kept.
    """
    stored = storage.unchanged(DocumentKind.BATCH_RECORD, lot, None, lambda version: lot_changed_since(lot.id, version))
    if stored is not None:
        return storage.Download(stored.content, stored.filename, stored.sha256)
    data = build_batch_record(lot)
    return storage.read(DocumentKind.BATCH_RECORD, lot, None, storage.source_hash(data.as_dict()),
                        lambda revision: _render(data, revision, user), _filename(lot))


def moved_since(lot: Lot, released_version: int | None) -> str:
    """Say so when the lot's record changed between a decision and the storing of its batch record."""
    now = lot_version(lot.id)
    if released_version is None or now == released_version:
        return ""
    return (f"stored for the release after the record changed (data version {released_version} at the release, "
            f"{now} when stored)")


def issue_release_documents(dose, disposition=None, user=None,
                            released_version: int | None = None) -> list[StoredDocument]:
    """Store the certificate of a decision and the lot's batch record, both signed for the release.

    The certificate states the data QA signed (kept with the disposition); the batch record is the lot's as it
    stands, and says so when it moved since the decision (`released_version`).
    """
    from manufacturing.records.coa import coa_pdf, release_signature_reason

    certificate = coa_pdf(dose, user, disposition)
    reason = moved_since(dose.lot, released_version)
    return [certificate, batch_record(dose.lot, user, release_signature_reason(dose, disposition), reason)]
