"""Demo treatment of a subject: before each infusion a weight and the physician's order; on the day, the unit
issued, checked by two pharmacists at the bedside and its administration recorded."""

from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime, timedelta

from manufacturing.core import clock
from manufacturing.core.audit import set_actor
from manufacturing.dispensing import operations
from manufacturing.extensions import db
from manufacturing.lots.models import Lot
from manufacturing.patients import operations as patients
from manufacturing.patients import plan
from manufacturing.patients.models import Subject
from manufacturing.processing.doses import doses_of
from manufacturing.units import format_quantity

NURSE = "Nurse Lucia Bianchi"


@dataclass
class Pharmacy:
    """The two pharmacists who issue and check at the bedside, with the passwords they sign with."""

    first: object
    second: object
    passwords: dict[str, str]

    def act(self, user) -> tuple[object, str]:
        set_actor(db.session, user.id, user.username)
        return user, self.passwords[user.username]


@dataclass(frozen=True)
class Infusion:
    at: datetime  # when the unit is issued; the infusion starts ten minutes later
    weight: str = "64.5 kg"
    reactions: str = "none"


def _order(pharmacy: Pharmacy, subject: Subject, number: int, infusion: Infusion) -> None:
    """The day before: the subject weighed, the physician's order for this infusion recorded."""
    user, _ = pharmacy.act(pharmacy.first)
    weight = patients.record_body_weight(user, subject, infusion.weight, clock.today())
    patients.record_order(user, subject, patients.OrderEntry(
        infusion_number=number, dose_level=number, body_weight_id=weight.id,
        planned_date=clock.local_date(infusion.at), prescriber="Dr. Anna Conti",
        order_reference=f"ORD-{subject.subject_code}-{number}"))


def _checker(pharmacy: Pharmacy, user, subject: Subject, din: str, division: str) -> operations.Checker:
    _, password = pharmacy.act(user)
    return operations.Checker(user, password, user.username, subject.subject_code, din, division)


def _give(pharmacy: Pharmacy, subject: Subject, lot: Lot, din: str, number: int,
          infusion: Infusion) -> Iterator[datetime]:
    dose = next(unit for unit in doses_of(lot) if unit.infusion_number == number)
    order = plan.active_orders(subject.orders)[number]
    user, password = pharmacy.act(pharmacy.first)
    operations.issue_dose(dose, order, user, password, user.username, NURSE, identity_confirmed=True)
    yield infusion.at + timedelta(minutes=5)
    operations.bedside_check(dose, _checker(pharmacy, pharmacy.first, subject, din, dose.division_code),
                             _checker(pharmacy, pharmacy.second, subject, din, dose.division_code), True)
    started = infusion.at + timedelta(minutes=10)
    yield started + timedelta(minutes=40)
    user, password = pharmacy.act(pharmacy.first)
    operations.record_administration(dose, user, password, user.username, started, started + timedelta(minutes=30),
                                     format_quantity(dose.final_volume, plain=True), NURSE,
                                     "Cloudy, no clumps, bag intact", infusion.reactions)


def treatment(pharmacy: Pharmacy, subject: Subject, lots: list[Lot], din: str,
              infusions: list[Infusion]) -> Iterator[datetime]:
    """Infusions 1, 2, ... of the units of the last lot of `lots` (collection bag `din`), each at its time."""
    for number, infusion in enumerate(infusions, start=1):
        yield infusion.at - timedelta(days=1)
        db.session.refresh(subject)
        _order(pharmacy, subject, number, infusion)
        yield infusion.at
        yield from _give(pharmacy, subject, lots[-1], din, number, infusion)
