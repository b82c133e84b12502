"""QC results: entered against the pinned spec, judged at once, verified by a second person, OOS investigated."""

from datetime import timedelta

import pytest
from sqlalchemy import func, select

from manufacturing.core import clock
from manufacturing.core.audit import AuditEvent
from manufacturing.core.errors import DomainError, NotPermitted, OutOfSequence, ReasonRequired, SignatureError
from manufacturing.core.signatures import Meaning, is_intact, signatures_of
from manufacturing.dispensing import fitness
from manufacturing.processing.checks import lot_spec
from manufacturing.processing.doses import doses_of
from manufacturing.processing.models import DoseKind, DoseState, DoseUnit, StepKind
from manufacturing.quality import qc
from manufacturing.quality.models import Deviation, DeviationClass, DeviationStatus, QcKind, QcResult, QcStatus
from manufacturing.quality.results import evaluate_result, release_lines
from manufacturing.release.models import Disposition, DispositionState, ReleaseAlert
from manufacturing.release.operations import standing_disposition
from manufacturing.specifications.evaluation import Outcome
from manufacturing.units import Q_
from tests.dispensing.factories import release_with_label
from tests.factories import PASSWORD
from tests.processing.factories import SCHEDULE

PREPARED = SCHEDULE[StepKind.DOSE_PREPARATION]


@pytest.fixture
def lot(prepared):
    return prepared.lot


@pytest.fixture
def dose(lot):
    return doses_of(lot)[0]


def enter(database, bench, lot, dose, key, entered, user=None, hours=2.0, **options):
    """Record a result a few hours after dose preparation, signed by the technician unless told."""
    user = user or bench.technician
    result = qc.record_result(lot, dose, key, entered, bench.at(PREPARED + hours), user, PASSWORD, user.username,
                              **options)
    database.session.commit()
    return result


def count(database, model) -> int:
    return database.session.scalar(select(func.count()).select_from(model))


def test_a_measured_result_keeps_its_unit_is_signed_and_awaits_verification(database, bench, lot, dose):
    result = enter(database, bench, lot, dose, "viability", " 92 % ")
    assert result.quantity == Q_(92, "percent") and result.text is None and result.entered == "92 %"
    assert (result.sample, result.kind, result.status) == ("final product", QcKind.ORIGINAL, QcStatus.RECORDED)
    assert result.recorded_by_id == bench.technician.id and result.tested_at == bench.at(PREPARED + 2)
    assert [s.meaning for s in signatures_of(result)] == [Meaning.PERFORMED]
    assert evaluate_result(result).outcome == Outcome.PASS and count(database, Deviation) == 0


def test_a_qualitative_answer_is_stored_as_offered(database, bench, lot, dose):
    assert qc.answers(lot_spec(lot).criterion("sterility")) == ("no growth", "growth")
    assert qc.answers(lot_spec(lot).criterion("identity")) == ("conforms", "does not conform")
    result = enter(database, bench, lot, dose, "sterility", "  No   Growth ")
    assert result.text == "no growth" and result.quantity is None


def test_the_dose_is_entered_as_cells_in_the_bag_or_per_kg(database, bench, lot, dose):
    in_bag = enter(database, bench, lot, dose, "dose", "6.2e7 cells")
    assert in_bag.quantity == Q_(6.2e7, "cell") and evaluate_result(in_bag).outcome == Outcome.PASS
    per_kg = enter(database, bench, lot, dose, "dose", "9.7 x 10^5 cells/kg", kind=QcKind.RECALCULATION,
                   retest_of=in_bag, comment="Recalculated per kg from the count sheet")
    assert per_kg.quantity == Q_(9.7e5, "cell / kilogram") and evaluate_result(per_kg).outcome == Outcome.PASS


@pytest.mark.parametrize(("key", "entered", "message"), [
    ("viability", "120 %", "is outside the plausible range for a percentage"),
    ("viability", "0.92", "add the unit"),
    ("viability", "92 mL", "is a volume, but a percentage"),
    ("dose", "6.2e7", "is a number: enter the viable NK cells in the bag"),
    ("dose", "50 mL", "is a volume: enter the viable NK cells in the bag"),
    ("endotoxin", "0.5 %", "is a percentage, but an endotoxin concentration"),
    ("sterility", "maybe", '"maybe" is not an answer of this test; choose "no growth" or "growth"'),
    ("gram_stain", " ", "Enter the result of Gram stain"),
    ("cd3_per_kg", "1e4 cells/kg", "is calculated"),
    ("karyotype", "normal", "has no test 'karyotype'"),
])
def test_an_entry_that_cannot_be_read_is_refused(database, bench, lot, dose, key, entered, message):
    with pytest.raises(DomainError, match=message):
        enter(database, bench, lot, dose, key, entered)
    database.session.rollback()
    assert count(database, QcResult) == 0


def test_the_sample_decides_whether_a_dose_unit_is_named(database, bench, lot, dose):
    with pytest.raises(DomainError, match="tested once for the lot, on the harvest supernatant"):
        enter(database, bench, lot, dose, "mycoplasma", "negative")
    with pytest.raises(DomainError, match="final product of each dose unit: choose the dose unit"):
        enter(database, bench, lot, None, "viability", "92 %")
    stranger = DoseUnit(lot_id=lot.id + 1000, division_code="B0")
    with pytest.raises(DomainError, match=f"Dose unit B0 belongs to another lot, not to lot {lot.lot_number}"):
        enter(database, bench, lot, stranger, "viability", "92 %")


def test_the_time_of_the_test_fits_the_sample(database, bench, lot, dose):
    with pytest.raises(DomainError, match="is in the future"):
        qc.record_result(lot, dose, "viability", "92 %", clock.now() + timedelta(hours=1), bench.technician,
                         PASSWORD, bench.technician.username)
    with pytest.raises(OutOfSequence, match="before the dose preparation of unit A0"):
        enter(database, bench, lot, dose, "viability", "92 %", hours=-1)
    with pytest.raises(OutOfSequence, match="before the harvest"):
        enter(database, bench, lot, None, "mycoplasma", "negative", hours=-4)
    assert enter(database, bench, lot, None, "mycoplasma", "negative", hours=-2).dose_unit_id is None


def test_a_lot_wide_test_needs_a_harvest(database, bench):
    lot = bench.lot_through(StepKind.CULTURE_DAY0)
    with pytest.raises(OutOfSequence, match=f"The harvest of lot {lot.lot_number} is not recorded"):
        qc.record_result(lot, None, "mycoplasma", "negative", bench.at(12), bench.technician, PASSWORD,
                         bench.technician.username)


def test_only_technicians_and_qa_record_results(database, bench, lot, dose):
    with pytest.raises(NotPermitted, match="Only technicians and QA"):
        enter(database, bench, lot, dose, "viability", "92 %", user=bench.pharmacist)
    assert enter(database, bench, lot, dose, "viability", "92 %", user=bench.qa).recorded_by_id == bench.qa.id


def test_a_wrong_password_records_nothing(database, bench, lot, dose):
    with pytest.raises(SignatureError):
        qc.record_result(lot, dose, "viability", "92 %", bench.at(PREPARED + 2), bench.technician, "wrong",
                         bench.technician.username)
    database.session.rollback()
    assert count(database, QcResult) == 0


def test_an_oos_result_opens_an_investigation_linked_to_it(database, bench, lot, dose):
    result = enter(database, bench, lot, dose, "viability", "60 %")
    deviation = database.session.scalars(select(Deviation)).one()
    assert deviation.qc_result_id == result.id and deviation.step_id is None and deviation.lot_id == lot.id
    assert (deviation.classification, deviation.status) == (DeviationClass.MAJOR, DeviationStatus.OPEN)
    assert deviation.title == "OOS: Viability"
    assert "Viability 60.0 % fails >= 70 %" in deviation.description and '"60 %"' in deviation.description
    assert "dose unit A0" in deviation.description
    assert qc.investigation_of(result) == deviation
    event = database.session.scalars(select(AuditEvent).where(
        AuditEvent.action == "qc_result.out_of_specification")).one()
    assert event.entity_id == str(result.id) and deviation.number in event.changes


def test_a_retest_never_touches_the_original_and_both_stay_visible(database, bench, lot, dose):
    original = enter(database, bench, lot, dose, "viability", "60 %")
    before = (original.entered, original.quantity, original.status, original.kind)
    retest = enter(database, bench, lot, dose, "viability", "85 %", hours=5, kind=QcKind.RETEST,
                   retest_of=original, comment="Retained sample retested: counting chamber was damaged")
    database.session.refresh(original)
    assert (original.entered, original.quantity, original.status, original.kind) == before
    assert all(is_intact(signature, original) for signature in signatures_of(original))
    assert retest.retest_of_id == original.id and retest.kind == QcKind.RETEST
    line = next(line for line in release_lines(dose) if line.criterion.key == "viability")
    assert line.results == [original, retest] and line.evaluation.outcome == Outcome.PASS
    assert line.out_of_specification == [original]
    reasons = database.session.scalars(select(AuditEvent.reason).where(AuditEvent.action == "qc_result.created",
                                                                       AuditEvent.entity_id == str(retest.id)))
    assert "counting chamber" in reasons.one()


def test_a_passing_retest_opens_no_investigation_a_failing_one_does(database, bench, lot, dose):
    original = enter(database, bench, lot, dose, "viability", "60 %")
    retest = enter(database, bench, lot, dose, "viability", "65 %", hours=5, kind=QcKind.RETEST,
                   retest_of=original, comment="Retest of the retained sample")
    assert [d.qc_result_id for d in database.session.scalars(select(Deviation).order_by(Deviation.id))] == [
        original.id, retest.id]


def test_retests_and_recalculations_follow_the_rules(database, bench, lot, dose):
    original = enter(database, bench, lot, dose, "viability", "60 %")
    other = enter(database, bench, lot, dose, "nk_purity", "95 %")
    refusals = [
        ({}, OutOfSequence, "already has a result: record a retest or a recalculation"),
        ({"retest_of": original}, DomainError, "An original result repeats no other"),
        ({"kind": QcKind.RETEST, "comment": "why"}, DomainError, "A retest names the result it repeats"),
        ({"kind": QcKind.RETEST, "retest_of": other, "comment": "why"}, DomainError, "same test on the same sample"),
        ({"kind": QcKind.RECALCULATION, "retest_of": original}, ReasonRequired, "Say why the recalculation"),
        ({"kind": QcKind.RETEST, "retest_of": original, "comment": "why", "hours": 1}, OutOfSequence,
         "before that of the result it repeats"),
    ]
    for options, error, message in refusals:
        with pytest.raises(error, match=message):
            enter(database, bench, lot, dose, "viability", "85 %", **options)
        database.session.rollback()
    assert count(database, QcResult) == 2


def test_verification_is_by_a_second_person(database, bench, lot, dose):
    result = enter(database, bench, lot, dose, "viability", "92 %")
    assert not qc.can_verify(result, bench.technician) and qc.can_verify(result, bench.verifier)
    with pytest.raises(NotPermitted, match="You recorded this result: a second person must verify it"):
        qc.verify_result(result, bench.technician, PASSWORD, bench.technician.username)
    with pytest.raises(NotPermitted, match="Only technicians and QA verify"):
        qc.verify_result(result, bench.pharmacist, PASSWORD, bench.pharmacist.username)
    with pytest.raises(SignatureError):
        qc.verify_result(result, bench.verifier, "wrong", bench.verifier.username)
    database.session.rollback()
    qc.verify_result(result, bench.verifier, PASSWORD, bench.verifier.username)
    database.session.commit()
    assert (result.status, result.verified_by_id) == (QcStatus.VERIFIED, bench.verifier.id)
    assert [s.meaning for s in signatures_of(result)] == [Meaning.PERFORMED, Meaning.VERIFIED]
    assert all(is_intact(signature, result) for signature in signatures_of(result))
    with pytest.raises(OutOfSequence, match="already verified"):
        qc.verify_result(result, bench.qa, PASSWORD, bench.qa.username)


def test_qa_verifies_a_technicians_result(database, bench, lot, dose):
    result = enter(database, bench, lot, dose, "sterility", "no growth")
    qc.verify_result(result, bench.qa, PASSWORD, bench.qa.username)
    database.session.commit()
    assert result.verified_by_id == bench.qa.id


def test_a_lot_wide_mycoplasma_result_counts_for_every_dose_unit(database, bench):
    lot = bench.lot_through(StepKind.HARVEST)
    bench.weigh(bench.at(PREPARED - 20))
    bench.prepare(lot, bench.at(PREPARED), units=((1, "1e6 cells/kg", DoseKind.FRESH, "50 mL"),
                                                  (2, "1e6 cells/kg", DoseKind.FRESH, "50 mL")))
    units = doses_of(lot)
    assert [unit.division_code for unit in units] == ["A0", "B0"]
    result = enter(database, bench, lot, None, "mycoplasma", "positive")
    for unit in units:
        line = next(line for line in release_lines(unit) if line.criterion.key == "mycoplasma")
        assert line.results == [result] and line.evaluation.outcome == Outcome.FAIL
    assert database.session.scalars(select(Deviation)).one().description.count("of the lot") == 1


def test_positive_sterility_after_release_holds_the_unit_withdraws_its_certificate_and_alerts(
        database, bench, lot, dose):
    release_with_label(bench, lot, dose, bench.at(PREPARED + 0.5))
    assert dose.state == DoseState.RELEASED_INTERIM and fitness.is_fit(dose, bench.at(PREPARED + 2))
    result = enter(database, bench, lot, dose, "sterility", "growth", hours=3)
    alert = database.session.scalars(select(ReleaseAlert)).one()
    assert (alert.dose_unit_id, alert.qc_result_id, alert.is_open) == (dose.id, result.id, True)
    assert "on hold" in alert.message and "treating physician" in alert.message
    assert dose.state == DoseState.ON_HOLD and standing_disposition(dose) is None
    disposition = database.session.scalars(select(Disposition)).one()
    assert disposition.state == DispositionState.WITHDRAWN and "Sterility" in disposition.ended_reason
    assert any("on hold" in reason for reason in fitness.unfit_reasons(dose))
    assert "Post-release alert raised for dose unit(s) A0" in qc.investigation_of(result).immediate_action


def test_a_positive_culture_after_release_stands_without_the_site_certificate(app, database, bench, lot, dose,
                                                                             tmp_path, monkeypatch):
    """The hold and the withdrawal never wait for a document: the certificate read then says WITHDRAWN."""
    from manufacturing.records import coa
    from manufacturing.records.models import StoredDocument

    release_with_label(bench, lot, dose, bench.at(PREPARED + 0.5))
    stored = database.session.scalar(select(func.count()).select_from(StoredDocument))
    monkeypatch.setitem(app.config, "SIGNING_CERT", str(tmp_path / "gone.pem"))
    monkeypatch.setattr(app, "testing", False)
    enter(database, bench, lot, dose, "sterility", "growth", hours=3)
    assert dose.state == DoseState.ON_HOLD and standing_disposition(dose) is None
    assert database.session.scalars(select(Disposition)).one().state == DispositionState.WITHDRAWN
    assert database.session.scalar(select(func.count()).select_from(StoredDocument)) == stored
    copy = coa.coa_copy(dose)
    assert copy.sha256 is None  # not stored
    assert b"WITHDRAWN" in copy.content or "WITHDRAWN" in _pdf_text(copy.content)


def _pdf_text(content: bytes) -> str:
    import io

    from pypdf import PdfReader

    return "".join(page.extract_text() for page in PdfReader(io.BytesIO(content)).pages)


def test_an_oos_result_on_a_quarantined_dose_raises_no_alert(database, bench, lot, dose):
    enter(database, bench, lot, dose, "sterility", "growth")
    assert count(database, ReleaseAlert) == 0 and count(database, Deviation) == 1


def test_the_sheet_shows_the_plan_and_every_result(database, bench, lot, dose):
    original = enter(database, bench, lot, dose, "viability", "60 %")
    retest = enter(database, bench, lot, dose, "viability", "85 %", hours=5, kind=QcKind.RETEST,
                   retest_of=original, comment="Retest")
    sheet = qc.qc_sheet(lot)
    assert list(sheet.lot_wide) == ["harvest supernatant"] and [d.dose for d in sheet.doses] == [dose]
    line = next(line for line in sheet.doses[0].samples["final product"] if line.criterion.key == "viability")
    assert [view.result for view in line.results] == [original, retest] and line.colour == "green"
    assert [view.result for view in line.out_of_specification] == [original]
    assert line.earlier[0].colour == "red" and line.earlier[0].investigation is not None
    assert [view.result for view in sheet.awaiting] == [original, retest]
    cd3_per_kg = next(line for line in sheet.doses[0].samples["final product"] if line.computed)
    assert cd3_per_kg.colour == "grey"
