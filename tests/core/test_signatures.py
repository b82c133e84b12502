"""Electronic signatures: password at signing, linked to content, broken by a later change."""

import pytest
from sqlalchemy import select, text
from sqlalchemy.exc import DBAPIError

from manufacturing.core.audit import AuditEvent, set_reason
from manufacturing.core.errors import ReasonRequired, SignatureError
from manufacturing.core.signatures import (
    Meaning,
    SignatureBook,
    is_intact,
    manifestation,
    sign,
    signature_lines,
    signatures_of,
)
from manufacturing.core.web import settle_refusal
from tests.conftest import owner_engine
from tests.core.specimen import Specimen, specimen_table  # noqa: F401
from tests.factories import PASSWORD
from tests.statements import counting


@pytest.fixture
def specimen(database, specimen_table):  # noqa: F811
    record = Specimen(label="S-1", volume_ml="12.5")
    database.session.add(record)
    database.session.commit()
    return record


def test_signature_records_who_what_when_and_content_hash(database, specimen, technician):
    signature = sign(specimen, Meaning.PERFORMED, technician, PASSWORD, username=technician.username)
    database.session.commit()
    assert signature.printed_name == technician.full_name
    assert signature.meaning is Meaning.PERFORMED
    assert signature.signed_at.tzinfo is not None
    assert len(signature.content_hash) == 64
    assert is_intact(signature, specimen)
    assert signatures_of(specimen) == [signature]
    text_ = manifestation(signature)
    assert text_.startswith(f"{technician.full_name} ({technician.username}) · Performed · ")
    assert "(UTC+" in text_
    assert database.session.scalars(select(AuditEvent).where(AuditEvent.action == "signature.created")).one()


def test_wrong_password_is_refused_and_counts_toward_lockout(app, database, specimen, technician):
    with pytest.raises(SignatureError, match="Password not accepted") as refused:
        sign(specimen, Meaning.PERFORMED, technician, "wrong-password")
    settle_refusal(refused.value)
    assert technician.failed_logins == 1
    assert signatures_of(specimen) == []
    for _ in range(app.config["LOCKOUT_THRESHOLD"] - 1):
        with pytest.raises(SignatureError) as refused:
            sign(specimen, Meaning.PERFORMED, technician, "wrong-password")
        settle_refusal(refused.value)
    assert technician.locked
    with pytest.raises(SignatureError, match="locked"):
        sign(specimen, Meaning.PERFORMED, technician, PASSWORD)


def test_only_the_owner_can_sign(database, specimen, technician, verifier):
    with pytest.raises(SignatureError, match="only sign as yourself"):
        sign(specimen, Meaning.VERIFIED, technician, PASSWORD, username=verifier.username)


def test_change_of_signed_content_needs_a_reason_and_breaks_the_signature(database, specimen, technician):
    signature = sign(specimen, Meaning.PERFORMED, technician, PASSWORD)
    database.session.commit()
    specimen.volume_ml = "13.0"
    with pytest.raises(ReasonRequired, match="already been signed"):
        database.session.flush()
    database.session.rollback()
    assert specimen.volume_ml == "12.5" and is_intact(signature, specimen)

    set_reason(database.session, "Volume misread from the scale")
    specimen.volume_ml = "13.0"
    database.session.commit()
    assert not is_intact(signature, specimen)
    change = database.session.scalars(select(AuditEvent).where(AuditEvent.action == "specimen.updated")).one()
    assert change.reason == "Volume misread from the scale"
    assert '"old":"12.5"' in change.changes


def test_workflow_field_changes_without_reason_and_keeps_signature(database, specimen, technician):
    signature = sign(specimen, Meaning.PERFORMED, technician, PASSWORD)
    database.session.commit()
    specimen.status = "verified"
    database.session.commit()
    assert is_intact(signature, specimen)


def test_tampered_signature_shows_as_broken(database, specimen, technician, verifier):
    signature = sign(specimen, Meaning.PERFORMED, technician, PASSWORD)
    database.session.commit()
    signature.printed_name = verifier.full_name  # an attempt to transfer the signature
    assert not is_intact(signature, specimen)


def test_a_signature_is_not_rewritten_even_by_the_owner(database, specimen, technician):
    sign(specimen, Meaning.PERFORMED, technician, PASSWORD)
    database.session.commit()
    with pytest.raises(DBAPIError, match="append-only"), owner_engine().begin() as connection:
        connection.execute(text("UPDATE signatures SET printed_name = 'someone else'"))


def test_a_meaning_is_applied_once_per_version_and_the_second_is_refused_not_stored(database, specimen, technician,
                                                                                    verifier):
    sign(specimen, Meaning.VERIFIED, technician, PASSWORD, username=technician.username)
    database.session.commit()
    with pytest.raises(SignatureError, match="already been signed as 'Verified'"):
        sign(specimen, Meaning.VERIFIED, verifier, PASSWORD, username=verifier.username)
    database.session.rollback()
    assert [s.signer_id for s in signatures_of(specimen)] == [technician.id]


def test_a_book_reads_the_signatures_of_many_records_in_one_query_and_shows_a_changed_one_broken(
        database, specimen_table, technician, verifier):  # noqa: F811
    records = [Specimen(label=f"S-{number}", volume_ml="12.5") for number in range(4)]
    database.session.add_all(records)
    database.session.commit()
    for record in records:
        sign(record, Meaning.PERFORMED, technician, PASSWORD)
        sign(record, Meaning.VERIFIED, verifier, PASSWORD)
    database.session.commit()
    set_reason(database.session, "Volume misread from the scale")
    records[2].volume_ml = "13.0"
    database.session.commit()
    assert [record.label for record in records]  # read again after the commit, as a page has them
    with counting() as statements:
        book = SignatureBook(records)
    assert len(statements) == 1
    for record in records:
        assert book.signatures(record) == signatures_of(record)
        assert [(line.signature, line.intact, line.superseded) for line in book.lines(record)] == [
            (line.signature, line.intact, line.superseded) for line in signature_lines(record)]
    assert [line.intact for line in book.lines(records[2])] == [False, False]
    assert all(line.intact for line in book.lines(records[1]))
