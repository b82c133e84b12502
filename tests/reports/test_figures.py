"""The report's figures, from the factories' lots, against values computed by hand from the factories' entries."""

import math

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
from manufacturing.units import Q_
from tests.dispensing.factories import give

# The factories' entries (tests/processing/factories.py): 200 mL seeded at 1 x 10^6 cells/mL of 95 % NK after the
# CD56 selection; harvest 500 mL at 6 x 10^6 cells/mL, 96 % viable, 97 % NK; no split in between.
SEEDED_NK = 200 * 1e6 * 0.95
HARVESTED_NK = 500 * 6e6 * 0.96 * 0.97


@pytest.fixture
def given(ward):
    """The ward's fresh unit (interim release) issued, checked and given; the frozen one released on its final."""
    give(ward)
    return ward


def test_the_harvest_is_reported_against_the_reference(given):
    [lot] = figures.manufacturing(db.session)
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
    [reported] = figures.manufacturing(db.session)
    assert (reported.outcome, reported.reason, reported.fold_expansion) == (
        "cancelled", "Collection bag leaked in transport", None)


def test_the_report_draws_its_charts_with_the_lot_page_s_library(client, login, given):
    import base64
    import re

    login(given.bench.qa)
    page = client.get("/reports/").get_data(as_text=True)
    images = re.findall(r'<img class="chart" src="data:image/svg\+xml;base64,([^"]+)" alt="([^"]+)"', page)
    assert [alt.split(":")[0].split(" of")[0] for _, alt in images] == [
        "Growth curves", "Fold expansion at harvest", "Viability at harvest", "NK purity at harvest"]
    growth = base64.b64decode(images[0][0]).decode()
    assert growth.startswith("<?xml") and given.lot.lot_number in growth and "culture day" in growth
    assert "reference 15.7 ± 4.7-fold" in growth
