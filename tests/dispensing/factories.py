"""A ward ready for dispensing: a lot with a fresh unit for infusion 1 and a frozen one for infusion 2, an order.

The bench's dose preparation is set two hours before now, so the fresh unit (24 h shelf life) is still good.
Both units are released as in life: every QC result recorded and verified, QA's signed release, the release
label printed, so that they pass the gate (fit to give).
"""

from dataclasses import dataclass
from datetime import datetime, timedelta

from manufacturing.core import clock
from manufacturing.core.audit import set_actor
from manufacturing.core.errors import DomainError
from manufacturing.core.web import settle_refusal
from manufacturing.dispensing import operations
from manufacturing.extensions import db
from manufacturing.lots.models import Lot
from manufacturing.patients.models import InfusionOrder
from manufacturing.processing.models import DoseKind, DoseUnit, StepKind
from manufacturing.processing.operations import lot_steps
from manufacturing.records.label import print_label
from manufacturing.release import operations as release_operations
from tests.factories import PASSWORD, make_user
from tests.patients.factories import make_order
from tests.processing.factories import SCHEDULE, Bench, set_up_bench
from tests.release.factories import LOT_WIDE, record_results

SCAN = "=G12342600012300"  # the bench's DIN as scanned
KEYBOARD = "G1234 26 000123 L"  # and as typed with its check character
OTHER_DIN = "=G12342600012400"  # another collection's bag
PREPARED = SCHEDULE[StepKind.DOSE_PREPARATION]
UNITS = ((1, "1e6 cells/kg", DoseKind.FRESH, "50 mL"), (2, "3.16e6 cells/kg", DoseKind.CRYOPRESERVED, "20 mL"))


@dataclass
class Ward:
    bench: Bench
    lot: Lot
    fresh: DoseUnit
    frozen: DoseUnit
    order: InfusionOrder
    second: object  # a second pharmacy user, for the bedside check

    @property
    def pharmacist(self):
        return self.bench.pharmacist


def set_up_ward(technician, verifier, qa, pharmacist, hours_since_preparation: float = 2) -> Ward:
    """Take a lot to dose preparation (two units), release both units and record the order of infusion 1.

    The fresh unit is released on an interim certificate (sterility pending), the frozen one on a final one.
    """
    bench, lot, fresh, frozen = prepare_units(technician, verifier, qa, pharmacist, hours_since_preparation)
    release_with_label(bench, lot, fresh, bench.at(PREPARED + 0.25), lot_wide=True)
    release_with_label(bench, lot, frozen, bench.at(PREPARED + 0.75), lot_wide=False)
    order = make_order(pharmacist, bench.subject)
    second = make_user("pharm.two", roles=["PHARMACY"], full_name="Paola Farmacia")
    return Ward(bench, lot, fresh, frozen, order, second)


def prepare_units(technician, verifier, qa, pharmacist, hours_since_preparation: float = 2):
    """Take a lot to dose preparation: a fresh unit for infusion 1 and a frozen one for infusion 2, in quarantine."""
    start = clock.now().replace(second=0, microsecond=0) - timedelta(hours=PREPARED + hours_since_preparation)
    bench = set_up_bench(technician, verifier, qa, pharmacist, start)
    lot = bench.lot_through(StepKind.HARVEST)
    bench.weigh(bench.at(PREPARED - 20))
    bench.verify(bench.prepare(lot, bench.at(PREPARED), units=UNITS))
    fresh, frozen = sorted(_units(lot), key=lambda unit: unit.infusion_number)
    return bench, lot, fresh, frozen


def release_with_label(bench: Bench, lot: Lot, unit: DoseUnit, at: datetime, lot_wide: bool = True,
                       label: bool = True, **changes) -> None:
    """Record and verify every release result of a unit, have QA release it, and print its release label."""
    dose = "1e6 cells/kg" if unit.infusion_number == 1 else "3.16e6 cells/kg"
    sterility = None if unit.kind == DoseKind.FRESH else "no growth"  # fresh: interim, sterility pending
    values = {"dose": dose, "sterility": sterility, **changes}
    if not lot_wide:
        values |= dict.fromkeys(LOT_WIDE)
    record_results(bench, lot, unit, at, **values)
    done(bench.qa, release_operations.release_dose, unit, bench.qa, PASSWORD, bench.qa.username)
    if label:
        done(bench.qa, print_label, unit, bench.qa)


def _units(lot: Lot) -> list[DoseUnit]:
    step = next(step for step in lot_steps(lot) if step.kind == StepKind.DOSE_PREPARATION)
    return list(step.dose_units)


def done(user, operation, *args, **kwargs):
    """Run an operation as a user and commit, as a page does."""
    set_actor(db.session, user.id, user.username)
    result = operation(*args, **kwargs)
    db.session.commit()
    return result


def refused(user, operation, *args, **kwargs) -> DomainError:
    """Run an operation that must be refused: roll back, keep its follow-ups, return the error."""
    set_actor(db.session, user.id, user.username)
    try:
        operation(*args, **kwargs)
    except DomainError as error:
        settle_refusal(error)
        return error
    raise AssertionError(f"{operation.__name__} was not refused")


def issue(ward: Ward, dose: DoseUnit | None = None, order: InfusionOrder | None = None, **changes):
    """Issue a unit (the fresh one by default) against the ward's order."""
    values = {"password": PASSWORD, "username": ward.pharmacist.username, "collector_name": "Nurse Lucia Bianchi",
              "identity_confirmed": True} | changes
    return operations.issue_dose(dose or ward.fresh, order or ward.order, ward.pharmacist, **values)


def checker(user, wristband: str = "LAL2013-RM-001", bag_din: str = SCAN, bag_division: str = "A0",
            password: str = PASSWORD) -> operations.Checker:
    return operations.Checker(user, password, user.username if user else "nobody", wristband, bag_din, bag_division)


def check(ward: Ward, dose: DoseUnit | None = None, first: dict | None = None, second: dict | None = None,
          appearance_ok: bool = True):
    """Check a unit at the bedside: the ward's pharmacist, then the second user; right entries unless told."""
    dose = dose or ward.fresh
    right = {"bag_division": dose.division_code}
    return operations.bedside_check(dose, checker(ward.pharmacist, **(right | (first or {}))),
                                    checker(ward.second, **(right | (second or {}))), appearance_ok)


def administer(ward: Ward, dose: DoseUnit | None = None, started_at: datetime | None = None, minutes: int = 30,
               recorded_at: datetime | None = None, **changes):
    """Record a unit's infusion: from now (or when given) over 30 minutes, recorded 5 minutes after its end."""
    started_at = started_at or clock.now().replace(second=0, microsecond=0)
    values = {"password": PASSWORD, "username": ward.pharmacist.username, "started_at": started_at,
              "ended_at": started_at + timedelta(minutes=minutes), "volume_infused_text": "50 mL",
              "administered_by": "Nurse Lucia Bianchi", "appearance": "Cloudy, no clumps, bag intact",
              "adverse_reactions": "none", "deviations": ""} | changes
    with clock.frozen(recorded_at or started_at + timedelta(minutes=minutes + 5)):
        return operations.record_administration(dose or ward.fresh, ward.pharmacist, **values)


def give(ward: Ward, dose: DoseUnit | None = None, at: datetime | None = None) -> None:
    """Issue, check and administer a unit at a time (now by default); the infusion starts 10 minutes later."""
    at = at or clock.now()
    dose = dose or ward.fresh
    with clock.frozen(at):
        done(ward.pharmacist, issue, ward, dose)
        done(ward.pharmacist, check, ward, dose)
    done(ward.pharmacist, administer, ward, dose, started_at=at + timedelta(minutes=10))
