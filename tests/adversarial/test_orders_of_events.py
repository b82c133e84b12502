"""Adversarial orders of events around release, hold, issue, bedside check and administration.

The tests whose docstring says "found in review" failed before their fix; the others are attacks that held.
"""

from datetime import timedelta

import pytest
from sqlalchemy import select

from manufacturing.core import clock
from manufacturing.core.errors import DomainError
from manufacturing.dispensing import fitness
from manufacturing.extensions import db
from manufacturing.lots import operations as lots
from manufacturing.processing.models import DoseState
from manufacturing.quality.models import QcKind
from manufacturing.records.label import print_label, void_label
from manufacturing.release import alerts
from manufacturing.release import operations as release
from manufacturing.release.models import DispositionState, LabelPrint
from tests.adversarial.helpers import correct_culture_day, fail_sterility, minutes
from tests.dispensing.factories import administer, check, done, issue, refused
from tests.factories import PASSWORD


def _qa(ward):
    return ward.bench.qa


# ---- found in review, fixed since --------------------------------------------------------

def test_a_step_corrected_after_release_stops_the_unit(ward):
    """Fixed: a technician corrects a culture day after QA released the lot; the unit is still issued.

    The release was decided on the record as it then was; after the correction the step is unverified
    (revision 2) and its earlier signatures are superseded, yet the release stands and the gate passes.
    """
    try:
        correct_culture_day(ward)
    except DomainError:
        db.session.rollback()
        return  # refusing the correction of a released lot is a fix too
    reasons = fitness.unfit_reasons(ward.fresh)
    assert reasons, "a unit whose batch record changed after release (step unverified again) is fit to give"
    refused(ward.pharmacist, issue, ward)


def test_an_infusion_started_before_a_failing_result_can_still_be_recorded(ward):
    """Fixed: the infusion started at 10:00, a positive culture was entered at 10:20, the record at 10:45.

    The gate is asked about the hold as it stands when the record is written, not at the start of the
    infusion: the administration is refused ("the infusion may not start"), the unit stays ON_HOLD as if
    it were still at the ward, and the alert tells the physician "Do not give it" for a unit already given.
    """
    now = clock.now().replace(second=0, microsecond=0)
    start = now - minutes(45)
    with clock.frozen(start - minutes(20)):
        done(ward.pharmacist, issue, ward)
    with clock.frozen(start - minutes(5)):
        done(ward.pharmacist, check, ward)
    fail_sterility(ward, at=start + minutes(20))
    db.session.refresh(ward.fresh)
    assert ward.fresh.state == DoseState.ON_HOLD
    try:
        done(ward.pharmacist, administer, ward, started_at=start, minutes=20, recorded_at=now)
    except DomainError as error:
        db.session.rollback()
        pytest.fail(f"the infusion that started before the failing result cannot be recorded: {error.message}")


# ---- attacks that held -----------------------------------------------------------------------

def test_lot_hold_between_issue_and_bedside_check_stops_the_check_and_lifting_it_resumes(ward):
    done(ward.pharmacist, issue, ward)
    done(_qa(ward), lots.hold, ward.lot, _qa(ward), "Bag of another lot found in the same shipper")
    error = refused(ward.pharmacist, check, ward)
    assert "on hold" in error.message and "Bag of another lot" in error.message
    done(_qa(ward), lots.lift_hold, ward.lot, _qa(ward), "Shipper checked, no mix-up")
    done(ward.pharmacist, check, ward)


def _retest(ward, failing, entered, at):
    from manufacturing.core.audit import set_actor
    from manufacturing.quality import qc
    bench = ward.bench
    with clock.frozen(at):
        set_actor(db.session, bench.technician.id, bench.technician.username)
        result = qc.record_result(ward.lot, ward.fresh, "sterility", entered, at, bench.technician, PASSWORD,
                                  bench.technician.username, kind=QcKind.RETEST, retest_of=failing,
                                  comment="Contaminated bottle suspected")
        db.session.commit()
    with clock.frozen(at + minutes(5)):
        set_actor(db.session, bench.verifier.id, bench.verifier.username)
        qc.verify_result(result, bench.verifier, PASSWORD, bench.verifier.username)
        db.session.commit()
    return result


@pytest.mark.parametrize("retest", ["no growth", None])
def test_failing_result_then_retest_then_release_again(ward, retest):
    """A passing retest and a normal release, or an exceptional release past the failure: both need the alert
    closed and a new release label before the unit is fit again."""
    from manufacturing.quality import operations as quality
    from manufacturing.quality.qc import investigation_of
    now = clock.now().replace(second=0, microsecond=0) + minutes(1)
    failing = fail_sterility(ward, at=now, verify=True)
    db.session.refresh(ward.fresh)
    assert ward.fresh.state == DoseState.ON_HOLD
    with clock.frozen(now + minutes(20)):
        refused(ward.pharmacist, issue, ward)
    extra = {}
    if retest:
        _retest(ward, failing, retest, now + minutes(30))
    else:
        extra = {"justification": "No alternative therapy", "physician_name": "Dr Rossi",
                     "physician_acknowledged_on": clock.to_local(now).date()}
    deviation = investigation_of(failing)
    with clock.frozen(now + minutes(40)):
        done(_qa(ward), quality.assess, deviation, _qa(ward), "Bottle contaminated in the lab" if retest else
             "Product affected; physician accepts the risk", not retest)
        if not retest:
            done(_qa(ward), quality.close, deviation, _qa(ward), PASSWORD, _qa(ward).username)
            refused(_qa(ward), release.release_dose, ward.fresh, _qa(ward), PASSWORD, _qa(ward).username)
    with clock.frozen(now + minutes(50)):
        done(_qa(ward), release.release_dose, ward.fresh, _qa(ward), PASSWORD, _qa(ward).username, **extra)
        reasons = " ".join(fitness.unfit_reasons(ward.fresh))
        assert "alert" in reasons and "label" in reasons
        [alert] = [a for a in alerts.open_alerts() if a.dose_unit_id == ward.fresh.id]
        done(_qa(ward), alerts.record_physician_informed, alert, _qa(ward), "Dr Rossi", "Told by phone")
        done(_qa(ward), print_label, ward.fresh, _qa(ward), "Released again after the hold")
        assert fitness.unfit_reasons(ward.fresh) == []
        done(ward.pharmacist, issue, ward)


def test_release_final_after_a_failing_result_is_refused(ward):
    fail_sterility(ward, verify=True)
    db.session.refresh(ward.fresh)
    error = refused(_qa(ward), release.release_final, ward.fresh, _qa(ward), PASSWORD, _qa(ward).username)
    assert "no standing interim" in error.message


def test_a_held_unit_is_rejected_then_discarded(ward):
    fail_sterility(ward)
    db.session.refresh(ward.fresh)
    done(_qa(ward), release.reject_dose, ward.fresh, _qa(ward), PASSWORD, _qa(ward).username, "Positive culture")
    done(ward.pharmacist, __import__("manufacturing.dispensing.operations", fromlist=["x"]).discard_dose,
         ward.fresh, ward.pharmacist, "Rejected after positive culture")
    assert ward.fresh.state == DoseState.DISCARDED


def test_a_unit_at_the_ward_when_held_is_never_released_again_but_comes_back_and_is_discarded(ward):
    done(ward.pharmacist, issue, ward)
    fail_sterility(ward)
    db.session.refresh(ward.fresh)
    assert ward.fresh.state == DoseState.ON_HOLD
    error = refused(_qa(ward), release.release_dose, ward.fresh, _qa(ward), PASSWORD, _qa(ward).username,
                    justification="Physician insists", physician_name="Dr Rossi",
                    physician_acknowledged_on=clock.today() if hasattr(clock, "today") else None)
    assert "at the ward" in error.message
    from manufacturing.dispensing import operations as dispensing
    done(ward.pharmacist, dispensing.return_dose, ward.fresh, ward.pharmacist, "Back from the ward: on hold")
    done(ward.pharmacist, dispensing.discard_dose, ward.fresh, ward.pharmacist, "Positive culture")
    assert ward.fresh.state == DoseState.DISCARDED


def test_no_label_is_printed_for_a_held_unit(ward):
    fail_sterility(ward)
    db.session.refresh(ward.fresh)
    refused(_qa(ward), print_label, ward.fresh, _qa(ward), "Held, want a new label")


def test_voiding_the_only_label_after_issue_stops_the_bedside_check(ward):
    done(ward.pharmacist, issue, ward)
    label = db.session.scalars(select(LabelPrint).where(LabelPrint.dose_unit_id == ward.fresh.id)).one()
    done(ward.bench.technician, void_label, label, ward.bench.technician, "Smudged")
    error = refused(ward.pharmacist, check, ward)
    assert "No release label" in error.message


def test_a_second_interim_release_is_refused(ward):
    error = refused(_qa(ward), release.release_dose, ward.fresh, _qa(ward), PASSWORD, _qa(ward).username)
    assert "released" in error.message.lower()


def test_release_after_the_lot_is_cancelled_is_refused_and_unit_not_given(ward):
    done(_qa(ward), lots.cancel, ward.lot, _qa(ward), "Donor withdrew consent")
    error = refused(ward.pharmacist, issue, ward)
    assert "cancelled" in error.message.lower()


def test_expiry_exactly_at_the_boundary_is_refused(ward):
    with clock.frozen(ward.fresh.expiry_at):
        error = refused(ward.pharmacist, issue, ward)
    assert "past its expiry" in error.message
    with clock.frozen(ward.fresh.expiry_at - timedelta(seconds=1)):
        assert not fitness.unfit_reasons(ward.fresh)


def test_issued_unit_past_use_by_at_administration_start_is_refused(ward):
    done(ward.pharmacist, issue, ward)
    done(ward.pharmacist, check, ward)
    issued = __import__("manufacturing.dispensing.queries", fromlist=["x"]).issue_of(ward.fresh)
    late = issued.use_by.replace(second=0, microsecond=0) + minutes(1)
    with pytest.raises(DomainError):
        administer(ward, started_at=late, recorded_at=late + minutes(40))
    db.session.rollback()


def test_failing_result_withdraws_and_the_certificate_says_so(ward):
    fail_sterility(ward)
    db.session.refresh(ward.fresh)
    dispositions = release.latest_disposition(ward.fresh)
    assert dispositions.state == DispositionState.WITHDRAWN
    assert alerts.open_alerts()


def test_a_deviation_assessed_as_affecting_the_product_after_release_stops_the_unit(ward):
    """Fixed: after release QA records a critical deviation on the lot and assesses that it affects the product.

    Before release such a deviation blocks release (failing_problems); after release nothing reaches the unit:
    the release stands, no alert, no hold, and pharmacy issues it.
    """
    from manufacturing.quality import operations as quality
    from manufacturing.quality.models import DeviationClass
    qa = _qa(ward)
    deviation = done(qa, quality.open_deviation, ward.lot, qa, DeviationClass.CRITICAL, "Incubator CO2 alarm",
                     "CO2 at 0 % for 30 h during culture, found on audit of the alarm log", "Lot reviewed")
    done(qa, quality.assess, deviation, qa, "Product quality affected", True)
    assert fitness.unfit_reasons(ward.fresh), "a unit of a lot with a deviation affecting the product is fit to give"


def test_a_label_of_a_withdrawn_release_never_counts_for_the_next_one(ward):
    """Fixed (low): the gate ties a label to the release in force by print time, not by its disposition.

    With the clock of the host that re-releases a minute behind the host that printed (several hosts, design
    "Scale-out"), the label printed under the withdrawn release counts as the new release's label.
    """
    from manufacturing.quality import operations as quality
    from manufacturing.quality.qc import investigation_of
    old_label = db.session.scalars(select(LabelPrint).where(LabelPrint.dose_unit_id == ward.fresh.id)).one()
    now = clock.now() + minutes(1)
    failing = fail_sterility(ward, at=now, verify=True)
    _retest(ward, failing, "no growth", now + minutes(30))
    with clock.frozen(now + minutes(40)):
        done(_qa(ward), quality.assess, investigation_of(failing), _qa(ward), "Lab contamination", False)
        for alert in alerts.open_alerts():
            done(_qa(ward), alerts.record_physician_informed, alert, _qa(ward), "Dr Rossi", "Told by phone")
    with clock.frozen(old_label.printed_at):  # the re-releasing host's clock lags
        done(_qa(ward), release.release_dose, ward.fresh, _qa(ward), PASSWORD, _qa(ward).username)
    standing = release.standing_disposition(ward.fresh)
    assert old_label.disposition_id != standing.id
    with clock.frozen(now + minutes(45)):
        assert fitness.needs_release_label(ward.fresh), "the withdrawn release's label is taken as valid"
