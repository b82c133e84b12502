"""Fit to give: one gate at issue, at the bedside and at administration, each reason in the pharmacy's words."""

from datetime import timedelta

from sqlalchemy import select

from manufacturing.core import clock
from manufacturing.dispensing import fitness
from manufacturing.dispensing.models import Administration, BedsideCheck, Issue
from manufacturing.extensions import db
from manufacturing.lots import operations as lots
from manufacturing.processing.models import DoseState
from manufacturing.records import storage
from manufacturing.records.coa import coa_copy
from manufacturing.records.label import print_label, void_label
from manufacturing.records.models import DocumentKind
from manufacturing.release import operations as release
from manufacturing.release.models import LabelPrint, ReleaseAlert
from tests.dispensing.factories import (
    PREPARED,
    administer,
    check,
    done,
    issue,
    prepare_units,
    refused,
    release_with_label,
)
from tests.factories import PASSWORD
from tests.records import pdf_text
from tests.release.factories import LOT_WIDE, record, record_results


def count(model) -> int:
    return len(db.session.scalars(select(model)).all())


def positive_sterility(ward, unit=None):
    unit = unit or ward.fresh
    record(ward.bench, ward.lot, unit, "sterility", "growth", clock.now() - timedelta(minutes=5), verify=False)
    db.session.refresh(unit)


def test_a_released_labelled_unit_is_fit(ward):
    assert fitness.unfit_reasons(ward.fresh) == [] and fitness.is_fit(ward.frozen)


def test_positive_sterility_after_interim_release_stops_issue_bedside_and_administration(ward):
    """Observed: the unit could still be issued, bedside-checked and administered."""
    positive_sterility(ward)
    assert ward.fresh.state == DoseState.ON_HOLD
    error = refused(ward.pharmacist, issue, ward)
    assert "Not fit to give" in error.message and "on hold" in error.message
    assert count(Issue) == 0


def test_positive_sterility_after_issue_stops_the_bedside_check_and_the_infusion(ward):
    done(ward.pharmacist, issue, ward)
    positive_sterility(ward)
    assert ward.fresh.state == DoseState.ON_HOLD
    error = refused(ward.pharmacist, check, ward)
    assert "STOP" in error.message or "on hold" in error.message
    assert count(BedsideCheck) == 0
    error = refused(ward.pharmacist, administer, ward)
    assert count(Administration) == 0 and "on hold" in error.message


def test_a_failing_result_reaches_every_unit_of_the_lot_not_yet_given(ward):
    positive_sterility(ward)
    db.session.refresh(ward.frozen)
    assert ward.frozen.state == DoseState.ON_HOLD
    assert release.standing_disposition(ward.frozen) is None


def test_an_administered_unit_keeps_its_state_and_its_physician_alert(ward):
    done(ward.pharmacist, issue, ward)
    done(ward.pharmacist, check, ward)
    done(ward.pharmacist, administer, ward)
    positive_sterility(ward)
    assert ward.fresh.state == DoseState.ADMINISTERED
    alert = db.session.scalars(select(ReleaseAlert).where(ReleaseAlert.dose_unit_id == ward.fresh.id)).one()
    assert alert.is_open and "already administered" in alert.message


def test_no_label_printed_after_release_is_not_fit(database, technician, verifier, qa_user, pharmacist):
    """Observed: a unit went to the patient with no label printed, or with only the quarantine label."""
    bench, lot, fresh, _frozen = prepare_units(technician, verifier, qa_user, pharmacist)
    done(qa_user, print_label, fresh, qa_user)  # a quarantine label, before release
    release_with_label(bench, lot, fresh, bench.at(PREPARED + 0.25), label=False)
    reasons = fitness.unfit_reasons(fresh)
    assert any("No release label printed since the release" in reason for reason in reasons)
    done(qa_user, print_label, fresh, qa_user, reason="Release label")
    assert fitness.unfit_reasons(fresh) == []


def test_a_voided_label_does_not_count(ward):
    label = db.session.scalars(select(LabelPrint).where(LabelPrint.dose_unit_id == ward.fresh.id)).one()
    done(ward.pharmacist, void_label, label, ward.pharmacist, "Torn while applying")
    assert any("No release label" in reason for reason in fitness.unfit_reasons(ward.fresh))
    assert "No release label" in refused(ward.pharmacist, issue, ward).message


def test_a_lot_on_hold_stops_its_units(ward):
    done(ward.bench.qa, lots.hold, ward.lot, ward.bench.qa, "Investigating a freezer alarm")
    assert any("on hold" in reason for reason in fitness.unfit_reasons(ward.fresh))
    assert "on hold" in refused(ward.pharmacist, issue, ward).message


def test_expiry_is_part_of_the_gate(ward):
    assert fitness.unfit_reasons(ward.fresh, ward.fresh.expiry_at - timedelta(seconds=1)) == []
    assert "past its expiry time" in fitness.unfit_reasons(ward.fresh, ward.fresh.expiry_at)[0]


def test_a_cryopreserved_unit_waits_for_sterility(database, technician, verifier, qa_user, pharmacist):
    """Observed: a frozen unit was released on an interim certificate with sterility pending."""
    bench, lot, _fresh, frozen = prepare_units(technician, verifier, qa_user, pharmacist)
    record_results(bench, lot, frozen, bench.at(PREPARED + 0.5), dose="3.16e6 cells/kg", **dict.fromkeys(LOT_WIDE))
    error = refused(bench.qa, release.release_dose, frozen, bench.qa, PASSWORD, bench.qa.username)
    assert "may not be pending at the release of a cryopreserved unit" in error.message
    assert frozen.state == DoseState.QUARANTINE


def test_the_certificate_served_after_a_failing_result_says_withdrawn_and_a_new_one_is_stored(ward):
    """Observed: the certificate served afterwards still read "INTERIM - Sterility pending"."""
    before = storage.latest(DocumentKind.CERTIFICATE, ward.lot, ward.fresh)
    positive_sterility(ward)
    after = storage.latest(DocumentKind.CERTIFICATE, ward.lot, ward.fresh)
    assert after.revision == before.revision + 1 and "withdrawn" in after.reason
    text = pdf_text(coa_copy(ward.fresh).content)
    assert "WITHDRAWN" in text and "INTERIM CERTIFICATE" not in text
