"""QA release: the gate, interim and final certificates, exceptional release, post-release alerts."""

from datetime import date, timedelta

import pytest
from sqlalchemy import select

from manufacturing.accounts import operations as accounts
from manufacturing.core import clock
from manufacturing.core.errors import NotPermitted, OutOfSequence, ReasonRequired
from manufacturing.core.permissions import Role
from manufacturing.core.signatures import Meaning, is_intact, signatures_of
from manufacturing.lots import operations as lot_operations
from manufacturing.processing.doses import doses_of
from manufacturing.processing.models import DoseState, StepKind
from manufacturing.quality import operations as quality
from manufacturing.quality.models import DeviationClass
from manufacturing.release import alerts, operations
from manufacturing.release.models import Decision, ReleaseAlert
from tests.factories import PASSWORD
from tests.processing.factories import SCHEDULE
from tests.release.factories import record, record_results


@pytest.fixture
def lot(prepared):
    return prepared.lot


@pytest.fixture
def dose(lot):
    return doses_of(lot)[0]


@pytest.fixture
def qc_time(bench):
    return bench.at(SCHEDULE[StepKind.DOSE_PREPARATION] + 2)


def release(database, bench, dose, at, **kwargs):
    with clock.frozen(at):
        disposition = operations.release_dose(dose, bench.qa, PASSWORD, bench.qa.username, **kwargs)
        database.session.commit()
    return disposition


def refused(database, bench, dose, at, error=OutOfSequence, **kwargs) -> str:
    with clock.frozen(at), pytest.raises(error) as caught:
        operations.release_dose(dose, bench.qa, PASSWORD, bench.qa.username, **kwargs)
    database.session.rollback()
    assert dose.state == DoseState.QUARANTINE
    return caught.value.message


def test_missing_results_block_the_release(database, bench, dose, qc_time):
    record_results(bench, dose.lot, dose, qc_time, potency=None)
    message = refused(database, bench, dose, qc_time + timedelta(hours=1))
    assert "Potency: no result yet" in message


def test_release_with_sterility_pending_is_interim_then_final(database, bench, dose, qc_time):
    record_results(bench, dose.lot, dose, qc_time)
    disposition = release(database, bench, dose, qc_time + timedelta(hours=1))
    assert disposition.decision == Decision.RELEASED_INTERIM and dose.state == DoseState.RELEASED_INTERIM
    [signature] = signatures_of(disposition)
    assert signature.meaning == Meaning.RELEASED and is_intact(signature, disposition)
    assert '"pending": ["Sterility"]' in disposition.certificate
    record(bench, dose.lot, dose, "sterility", "no growth", qc_time + timedelta(days=7))
    with clock.frozen(qc_time + timedelta(days=7, hours=1)):
        final = operations.release_final(dose, bench.qa, PASSWORD, bench.qa.username)
        database.session.commit()
    assert final.decision == Decision.RELEASED_FINAL and dose.state == DoseState.RELEASED
    assert '"kind": "final"' in final.certificate


def test_whoever_performed_or_verified_a_step_may_not_release(database, bench, admin, dose, qc_time):
    record_results(bench, dose.lot, dose, qc_time)
    accounts.set_roles(admin, bench.verifier, [Role.TECHNICIAN, Role.QA], "Dual trained")
    database.session.commit()
    with clock.frozen(qc_time + timedelta(hours=1)), pytest.raises(NotPermitted, match="another QA person"):
        operations.release_dose(dose, bench.verifier, PASSWORD, bench.verifier.username)


def test_unverified_result_blocks(database, bench, dose, qc_time):
    record_results(bench, dose.lot, dose, qc_time, potency=None)
    record(bench, dose.lot, dose, "potency", "45 %", qc_time + timedelta(minutes=30), verify=False)
    assert "is not verified by a second person" in refused(database, bench, dose, qc_time + timedelta(hours=1))


def test_open_deviation_blocks_until_assessed_as_no_impact(database, bench, dose, qc_time):
    record_results(bench, dose.lot, dose, qc_time)
    deviation = quality.open_deviation(dose.lot, bench.technician, DeviationClass.MINOR, "Label reprinted",
                                       "Label smudged, reprinted", "Reconciled")
    database.session.commit()
    assert f"Deviation {deviation.number} is open" in refused(database, bench, dose, qc_time + timedelta(hours=1))
    quality.assess(deviation, bench.qa, "Cosmetic; identity verified", affects_product=False)
    database.session.commit()
    assert release(database, bench, dose, qc_time + timedelta(hours=1)).decision == Decision.RELEASED_INTERIM


def test_failing_result_needs_an_exceptional_release(database, bench, dose, qc_time):
    record_results(bench, dose.lot, dose, qc_time, viability="65 %")
    oos = [d for d in quality_deviations(database, dose) if d.qc_result_id]
    assert len(oos) == 1
    quality.assess(oos[0], bench.qa, "Viability 65 %; dose recalculated on viable cells", affects_product=True)
    quality.close(oos[0], bench.qa, PASSWORD, bench.qa.username)
    database.session.commit()
    message = refused(database, bench, dose, qc_time + timedelta(hours=1))
    assert "Viability 65.0 % fails" in message and "exceptional release" in message
    disposition = release(database, bench, dose, qc_time + timedelta(hours=1),
                          justification="No alternative product; benefit outweighs the risk",
                          physician_name="Dr. Anna Conti", physician_acknowledged_on=date.today())
    assert disposition.exceptional and disposition.physician_name == "Dr. Anna Conti"


def test_an_exceptional_release_needs_a_written_justification(database, bench, dose, qc_time):
    record_results(bench, dose.lot, dose, qc_time, viability="65 %")
    oos = next(d for d in quality_deviations(database, dose) if d.qc_result_id)
    quality.assess(oos, bench.qa, "Viability 65 %", affects_product=True)
    quality.close(oos, bench.qa, PASSWORD, bench.qa.username)
    database.session.commit()
    message = refused(database, bench, dose, qc_time + timedelta(hours=1), error=ReasonRequired, justification="  ",
                      physician_name="Dr. Anna Conti", physician_acknowledged_on=date.today())
    assert "An exceptional release needs a written justification" in message


def quality_deviations(database, dose):
    from manufacturing.quality.models import Deviation

    return database.session.scalars(select(Deviation).where(Deviation.lot_id == dose.lot_id)).all()


def test_a_lot_on_hold_is_not_released(database, bench, dose, qc_time):
    record_results(bench, dose.lot, dose, qc_time)
    lot_operations.hold(dose.lot, bench.qa, "Temperature excursion in the store")
    database.session.commit()
    assert "is on hold" in refused(database, bench, dose, qc_time + timedelta(hours=1))


def test_reject_needs_a_reason(database, bench, dose):
    with pytest.raises(Exception, match="reason"):
        operations.reject_dose(dose, bench.qa, PASSWORD, bench.qa.username, "")
    database.session.rollback()
    operations.reject_dose(dose, bench.qa, PASSWORD, bench.qa.username, "Bag damaged in transport")
    database.session.commit()
    assert dose.state == DoseState.REJECTED


def test_positive_sterility_after_release_raises_an_alert_until_the_physician_is_informed(
        database, bench, dose, qc_time, pharmacist):
    record_results(bench, dose.lot, dose, qc_time)
    release(database, bench, dose, qc_time + timedelta(hours=1))
    record(bench, dose.lot, dose, "sterility", "growth", qc_time + timedelta(days=3), verify=False)
    [alert] = alerts.open_alerts()
    assert "Sterility" in alert.message and alert.dose_unit_id == dose.id
    alerts.record_physician_informed(alert, pharmacist, "Dr. Anna Conti", "Phoned at 10:05; patient monitored")
    database.session.commit()
    assert alerts.open_alerts() == [] and database.session.get(ReleaseAlert, alert.id).informed_by_id == pharmacist.id
