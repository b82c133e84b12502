"""The report's figures, from the factories' lots, against values computed by hand from the factories' entries."""

import math
from datetime import timedelta

import pytest
from sqlalchemy import select

from manufacturing.core import clock
from manufacturing.core.audit import set_actor
from manufacturing.dispensing.models import Administration
from manufacturing.extensions import db
from manufacturing.lots import operations as lots
from manufacturing.patients.models import Subject
from manufacturing.processing.models import StepKind
from manufacturing.quality import operations as quality
from manufacturing.quality.models import DeviationClass
from manufacturing.reports import figures
from manufacturing.reports.timeline import timelines
from manufacturing.units import Q_
from tests.dispensing.factories import give

# The factories' entries (tests/processing/factories.py): 200 mL seeded at 1 x 10^6 cells/mL of 95 % NK after the
# CD56 selection; harvest 500 mL at 6 x 10^6 cells/mL, 96 % viable, 97 % NK; no split in between.
SEEDED_NK = 200 * 1e6 * 0.95
HARVESTED_NK = 500 * 6e6 * 0.96 * 0.97
# Apheresis 185 mL at 80 x 10^6 WBC/mL, 98 % viable, 60 % CD3+, 12 % NK, all loaded on the CD3 depletion, which
# gives 100 mL at 20 x 10^6 cells/mL, 95 % viable, 0.5 % CD3+, 60 % NK; the CD56 selection 20 mL at 15 x 10^6, 95 %
# viable, 95 % NK. The release results: 0.5 % CD3+ and 97 % NK.
APHERESIS_VIABLE = 185 * 80e6 * 0.98
DEPLETED_VIABLE = 100 * 20e6 * 0.95
SELECTED_NK = 20 * 15e6 * 0.95 * 0.95


@pytest.fixture
def given(ward):
    """The ward's fresh unit (interim release) issued, checked and given; the frozen one released on its final."""
    give(ward)
    return ward


def test_the_harvest_is_reported_against_the_reference(given):
    [lot] = figures.manufacturing(db.session, figures.steps_by_lot(db.session))
    assert (lot.lot_number, lot.outcome, lot.harvest_day) == (given.lot.lot_number, "released", 14)
    assert lot.fold_expansion.m_as("") == pytest.approx(HARVESTED_NK / SEEDED_NK, rel=1e-9)  # 14.70
    assert lot.population_doublings.m_as("") == pytest.approx(math.log2(HARVESTED_NK / SEEDED_NK), rel=1e-9)
    assert (lot.viability, lot.nk_purity) == (Q_(96, "percent"), Q_(97, "percent"))
    reference = figures.reference()
    assert (reference.fold_mean, reference.fold_sd, reference.culture_day) == (15.7, 4.7, 14)
    assert (reference.viability, reference.nk_purity) == (Q_(96, "percent"), Q_(97, "percent"))


def test_enrolment_counts_the_infusions_given_of_those_planned(given):
    report = figures.enrolment(db.session)
    subject = db.session.scalar(select(Subject))
    given_at = db.session.scalar(select(Administration.started_at))
    [patient] = report.patients
    assert (report.enrolled, report.completed, report.enrolment_days) == (1, 0, 0)
    assert (patient.subject_code, patient.given, patient.planned, patient.status) == (
        subject.subject_code, 1, 5, "in progress")
    assert patient.given_on == (clock.to_local(given_at).date(),)
    assert patient.enrolled_on == clock.to_local(subject.created_at).date() == report.first_enrolled


def test_intervals_shorter_than_the_study_allows_are_named():
    patient = figures.Patient("S-1", clock.today(), 5, 5, (), (28, 27, 35, 28), 28)
    assert patient.completed and patient.short_intervals == (27,)


def test_the_dose_delivered_is_the_unit_s_cells_over_the_patient_s_weight(given):
    [dose] = figures.doses(db.session)
    # 1 x 10^6 cells/kg ordered for 64.0 kg: 6.4 x 10^7 cells prepared in A0, so 1 x 10^6 cells/kg delivered.
    assert (dose.division_code, dose.infusion, dose.administered) == ("A0", 1, True)
    assert dose.target == Q_(1e6, "cell / kilogram")
    assert dose.delivered.m_as("cell / kilogram") == pytest.approx(given.fresh.cells.m_as("cell") / 64.0)
    assert dose.deviation.m_as("percent") == pytest.approx(0.0)


def test_release_tests_and_deviations_are_counted(given):
    set_actor(db.session, given.bench.technician.id, given.bench.technician.username)
    quality.open_deviation(given.lot, given.bench.technician, DeviationClass.MINOR, "Late sampling", "40 min late",
                           "Noted")
    db.session.commit()
    tests, deviations = figures.quality(db.session)
    by_name = {test.name: test for test in tests}
    # Two units: the fresh one released on an interim certificate (sterility still incubating), the frozen one
    # on its final certificate (sterility negative).
    assert dict(by_name["Sterility"].outcomes) == {"pending": 1, "pass": 1}
    assert all(dict(test.outcomes) == {"pass": 2} for name, test in by_name.items() if name != "Sterility")
    assert all(test.out_of_specification == 0 for test in tests)
    assert dict(deviations) == {("Minor", "QC or other"): 1}


def test_a_cancelled_lot_is_reported_with_its_reason(bench):
    lot = bench.lot_through(StepKind.CD3_DEPLETION)
    set_actor(db.session, bench.qa.id, bench.qa.username)
    lots.cancel(lot, bench.qa, "Collection bag leaked in transport")
    db.session.commit()
    [reported] = figures.manufacturing(db.session, figures.steps_by_lot(db.session))
    assert (reported.outcome, reported.reason, reported.fold_expansion) == (
        "cancelled", "Collection bag leaked in transport", None)
    [timeline] = timelines(db.session, figures.steps_by_lot(db.session))
    assert timeline.events[-1].what == "Lot cancelled: Collection bag leaked in transport"


def test_the_report_draws_its_charts_with_the_lot_page_s_library(client, login, given):
    import base64
    import re

    login(given.bench.qa)
    page = client.get("/reports/").get_data(as_text=True)
    images = re.findall(r'<img class="chart" src="data:image/svg\+xml;base64,([^"]+)" alt="([^"]+)"', page)
    assert [alt.split(":")[0].split(" of")[0] for _, alt in images] == [
        "Growth curves", "Fold expansion at harvest", "Viability at harvest", "NK purity at harvest",
        "T-cell log depletion"]
    growth = base64.b64decode(images[0][0]).decode()
    assert growth.startswith("<?xml") and given.lot.lot_number in growth and "culture day" in growth
    assert "reference 15.7 ± 4.7-fold" in growth


def test_each_separation_s_log_depletion_and_recovery_are_reported(given):
    [lot] = figures.manufacturing(db.session, figures.steps_by_lot(db.session))
    expected_log = math.log10(APHERESIS_VIABLE * 0.60 / (DEPLETED_VIABLE * 0.005))  # 2.96 log
    assert lot.log_depletion.m_as("") == pytest.approx(expected_log, rel=1e-9)
    assert lot.depletion_recovery.m_as("percent") == pytest.approx(
        DEPLETED_VIABLE * 0.60 / (APHERESIS_VIABLE * 0.12) * 100, rel=1e-9)  # 65.5 %
    assert lot.selection_recovery.m_as("percent") == pytest.approx(SELECTED_NK / (DEPLETED_VIABLE * 0.60) * 100,
                                                                   rel=1e-9)  # 23.8 %
    reference = figures.reference()
    assert (reference.log_depletion, reference.depletion_recovery) == ((2.7, 0.4), (79.0, 15.0))


def test_the_cd3_cells_given_per_kg_follow_the_dose_delivered(given):
    [dose] = figures.doses(db.session)
    assert dose.cd3_per_kg.m_as("cell / kilogram") == pytest.approx(dose.delivered.m_as("cell / kilogram")
                                                                    * 0.5 / 97, rel=1e-9)  # 5,155 per kg


def test_the_timeline_runs_from_enrolment_to_the_infusion_with_collection_to_processing_timed(given):
    [timeline] = timelines(db.session, figures.steps_by_lot(db.session))
    whats = [event.what for event in timeline.events]
    assert whats[:4] == ["Enrolled", "Collection (apheresis)", "Apheresis receipt", "CD3 depletion"]
    assert whats[-1] == "Infusion 1 (unit A0)"
    assert "Culture days 5 to 10 counted (3 counts)" in whats and "Unit A0: released on an interim certificate" in whats
    assert [event.at for event in timeline.events] == sorted(event.at for event in timeline.events)
    [processing] = timeline.processing
    # Collected 6 h before receipt, depleted 3 h after it: 9 h, within the specification's 24 h.
    assert (processing.hours.m_as("hour"), processing.limit.m_as("hour"), processing.within) == (9.0, 24.0, True)


def test_a_subject_off_study_is_counted_with_the_reason(given):
    from manufacturing.patients.models import StopReason
    from manufacturing.patients.operations import take_off_study
    from tests.factories import PASSWORD

    pharmacist = given.pharmacist
    set_actor(db.session, pharmacist.id, pharmacist.username)
    with clock.frozen(clock.now() + timedelta(hours=1)):  # after the infusion's start
        take_off_study(pharmacist, given.bench.subject, StopReason.TOXICITY, clock.today(), "Grade 3 CRS",
                       PASSWORD, pharmacist.username)
        db.session.commit()
    report = figures.enrolment(db.session)
    assert (report.stopped(), report.stopped("toxicity"), report.stopped("withdrawal of consent")) == (1, 1, 0)
    assert report.patients[0].status == "off study: toxicity"
    [timeline] = timelines(db.session, figures.steps_by_lot(db.session))
    assert "Off study: toxicity" in [event.what for event in timeline.events]


def test_a_returned_unit_is_reported_as_not_given_and_without_cd3_cells_given(ward):
    from manufacturing.dispensing.operations import return_dose
    from tests.dispensing.factories import done, issue

    done(ward.pharmacist, issue, ward)
    done(ward.pharmacist, return_dose, ward.fresh, ward.pharmacist, "Patient febrile, infusion postponed")
    [dose] = figures.doses(db.session)
    assert (dose.administered, dose.state, dose.cd3_per_kg) == (False, "returned", None)


def test_the_stored_report_s_url_takes_no_absurd_revision(client, login, ward):
    login(ward.bench.qa)
    assert client.get("/reports/report-99999999999999999999.pdf").status_code == 404


def test_the_units_given_are_summed_up_by_dose_level(given):
    from manufacturing.reports.report import build

    [level] = build(db.session, with_charts=False).dose_levels()
    assert (level.infusion, level.target, level.given) == (1, Q_(1e6, "cell / kilogram"), 1)
    assert level.mean_deviation.m_as("percent") == pytest.approx(0.0)
