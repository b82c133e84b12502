"""A subject taken off study: signed once, and from then on no order, lot, issue or infusion for them."""

from datetime import timedelta

import pytest
from sqlalchemy import func, select

from manufacturing.core import clock
from manufacturing.core.errors import DomainError, NotPermitted, SignatureError
from manufacturing.core.signatures import Meaning, signatures_of
from manufacturing.extensions import db
from manufacturing.lots.din import parse
from manufacturing.lots.operations import open_lot
from manufacturing.patients import operations
from manufacturing.patients.models import OrderStatus, StopReason, StudyStop
from tests.dispensing.factories import administer, check, done, issue, refused
from tests.factories import PASSWORD, make_user
from tests.patients.factories import acting, add_weight, make_order, make_subject


def stops() -> int:
    return db.session.scalar(select(func.count()).select_from(StudyStop))


def take_off(user, subject, reason=StopReason.TOXICITY, days_ago: int = 0, detail="Grade 3 cytokine release "
             "syndrome after infusion 3; the investigator stopped escalation.", password=PASSWORD):
    acting(user)
    return operations.take_off_study(user, subject, reason, clock.today() - timedelta(days=days_ago), detail,
                                     password, user.username)


@pytest.fixture
def pharmacist(database):
    return make_user("pharm.one", roles=["PHARMACY"], full_name="Piero Farmacia")


@pytest.fixture
def subject(pharmacist):
    subject = make_subject(pharmacist)
    add_weight(pharmacist, subject)
    return subject


def test_the_stop_is_signed_and_cancels_the_open_orders_no_unit_was_made_for(pharmacist, subject):
    order = make_order(pharmacist, subject)
    stop = take_off(pharmacist, subject)
    db.session.commit()
    assert [s.meaning for s in signatures_of(stop)] == [Meaning.OFF_STUDY]
    assert order.status == OrderStatus.CANCELLED and order.cancel_reason == "Subject off study: toxicity"
    error = refused(pharmacist, make_order, pharmacist, subject)
    assert "off study since" in str(error) and "no further infusion can be ordered" in str(error)


@pytest.mark.parametrize("change, message", [
    ({"days_ago": -1}, "in the future"),
    ({"days_ago": 3}, "before the subject's enrolment"),
    ({"detail": "  "}, "What happened (in words) is required"),
    ({"reason": "TOXICITY"}, "Choose why the subject is off study"),
])
def test_a_stop_with_bad_input_is_refused_and_stores_nothing(pharmacist, subject, change, message):
    error = refused(pharmacist, take_off, pharmacist, subject, **change)
    assert message in str(error)
    assert stops() == 0


def test_the_stop_is_not_dated_before_the_last_infusion_given(ward):
    from tests.dispensing.factories import give

    give(ward)  # the infusion starts ten minutes from now
    with clock.frozen(clock.now() + timedelta(hours=1)):
        error = refused(ward.pharmacist, take_off, ward.pharmacist, ward.bench.subject, days_ago=1)
    assert "before the subject's last infusion" in str(error)
    assert stops() == 0


def test_no_dose_unit_is_prepared_for_a_subject_off_study(bench):
    from manufacturing.processing.models import StepKind

    lot = bench.lot_through(StepKind.HARVEST)
    done(bench.pharmacist, take_off, bench.pharmacist, bench.subject)
    with pytest.raises(DomainError, match="no dose unit is prepared for them"):
        bench.prepare(lot, bench.at(20 + 14 * 24))


def test_a_wrong_password_stores_no_stop(pharmacist, subject):
    with pytest.raises(SignatureError):
        take_off(pharmacist, subject, password="Not-the-password-1")
    db.session.rollback()
    assert stops() == 0


def test_a_technician_cannot_take_a_subject_off_study(pharmacist, subject):
    technician = make_user("tech.one", roles=["TECHNICIAN"])
    with pytest.raises(NotPermitted):
        take_off(technician, subject)


def test_a_subject_goes_off_study_once(pharmacist, subject):
    done(pharmacist, take_off, pharmacist, subject)
    error = refused(pharmacist, take_off, pharmacist, subject, reason=StopReason.WITHDRAWAL)
    assert "a subject goes off study once" in str(error)
    assert stops() == 1


def test_no_lot_is_opened_for_a_subject_off_study(pharmacist, subject):
    done(pharmacist, take_off, pharmacist, subject, reason=StopReason.MANUFACTURING_FAILURE)
    with pytest.raises(DomainError, match="no lot is opened for them"):
        open_lot(subject, parse("=G12342600099900"), pharmacist)


def test_a_released_unit_is_not_issued_to_a_subject_off_study(ward):
    done(ward.pharmacist, take_off, ward.pharmacist, ward.bench.subject)
    error = refused(ward.pharmacist, issue, ward)
    assert "Not fit to give, it cannot be issued: Subject LAL2013-RM-001 is off study since" in str(error)
    assert ward.fresh.state.name == "RELEASED_INTERIM"


def test_an_issued_unit_is_not_checked_at_the_bedside_after_the_stop(ward):
    done(ward.pharmacist, issue, ward)
    done(ward.pharmacist, take_off, ward.pharmacist, ward.bench.subject)
    error = refused(ward.pharmacist, check, ward)
    assert "STOP" in str(error) and "is off study since" in str(error)


def test_the_pharmacy_pages_name_the_stop_among_the_reasons_not_to_give(client, login, ward):
    done(ward.pharmacist, take_off, ward.pharmacist, ward.bench.subject)
    login(ward.pharmacist)
    page = client.get(f"/pharmacy/doses/{ward.fresh.id}").get_data(as_text=True)
    assert "is off study since" in page


def test_an_infusion_started_before_the_stop_is_recorded_and_none_after(ward):
    started = clock.now().replace(second=0, microsecond=0)
    done(ward.pharmacist, issue, ward)
    done(ward.pharmacist, check, ward)
    with clock.frozen(started + timedelta(minutes=20)):
        done(ward.pharmacist, take_off, ward.pharmacist, ward.bench.subject)
    error = refused(ward.pharmacist, administer, ward, started_at=started + timedelta(minutes=25), minutes=5)
    assert "the infusion may not start" in str(error) and "is off study since" in str(error)
    given = done(ward.pharmacist, administer, ward, started_at=started + timedelta(minutes=5), minutes=10)
    assert given.id is not None


def test_no_stop_while_an_infusion_is_recorded_as_starting_ahead(ward):
    """An administration may be recorded a few minutes before its start: the stop waits until it started."""
    started = clock.now().replace(microsecond=0) + timedelta(minutes=3)
    done(ward.pharmacist, issue, ward)
    done(ward.pharmacist, check, ward)
    with clock.frozen(started - timedelta(minutes=3)):
        done(ward.pharmacist, administer, ward, started_at=started, minutes=1, recorded_at=clock.now())
    error = refused(ward.pharmacist, take_off, ward.pharmacist, ward.bench.subject)
    assert "record the stop once it has started" in str(error)
    with clock.frozen(started + timedelta(minutes=1)):
        done(ward.pharmacist, take_off, ward.pharmacist, ward.bench.subject)
    assert stops() == 1
