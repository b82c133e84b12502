"""Factories of subjects, weights and orders, made through the operations as real work makes them."""

from datetime import date, timedelta

from manufacturing.core import clock
from manufacturing.core.audit import set_actor
from manufacturing.extensions import db
from manufacturing.lots.models import Lot, LotState
from manufacturing.patients import operations, plan
from manufacturing.patients.guards import SubjectDetails
from manufacturing.patients.models import BodyWeight, InfusionOrder, Sex, Subject
from manufacturing.processing.models import DoseKind, DoseState, DoseUnit, ProcessStep, StepKind, StepStatus
from manufacturing.specifications import registry
from manufacturing.units import parse_quantity

SUBJECT_CODE = "LAL2013-RM-001"
BORN = date(1958, 5, 20)


def acting(user) -> None:
    set_actor(db.session, user.id, user.username)


def details(code: str = SUBJECT_CODE, **changes) -> SubjectDetails:
    values = {"subject_code": code, "initials": "MR", "date_of_birth": BORN, "sex": Sex.MALE,
              "site": "Rome, Policlinico Umberto I"} | changes
    return SubjectDetails(**values)


def make_subject(user, code: str = SUBJECT_CODE, **changes) -> Subject:
    acting(user)
    subject = operations.register_subject(user, details(code, **changes))
    db.session.commit()
    return subject


def add_weight(user, subject: Subject, entered: str = "64.5 kg", days_ago: int = 1) -> BodyWeight:
    acting(user)
    weight = operations.record_body_weight(user, subject, entered, clock.today() - timedelta(days=days_ago))
    db.session.commit()
    return weight


def order_entry(subject: Subject, **changes) -> operations.OrderEntry:
    """Return an order of the next infusion at its schedule level, latest weight, earliest date."""
    spec = registry.study_spec()
    infusion = plan.next_infusion(subject.orders)
    previous = plan.previous_date(subject.orders, infusion, {})
    values = {"infusion_number": infusion, "dose_level": infusion, "body_weight_id": subject.latest_weight.id,
              "planned_date": plan.earliest_date(spec, previous, clock.today() + timedelta(days=1)),
              "prescriber": "Dr. Anna Conti", "order_reference": f"ORD-{subject.subject_code}-{infusion}"}
    return operations.OrderEntry(**(values | changes))


def make_order(user, subject: Subject, **changes) -> InfusionOrder:
    acting(user)
    order = operations.record_order(user, subject, order_entry(subject, **changes))
    db.session.commit()
    return order


def make_lot(user, subject: Subject, number: str = "NK26-0001", din: str = "A999926000001") -> Lot:
    """Open a lot directly (the lots feature's operations are not this feature's to call)."""
    acting(user)
    spec, study = registry.pin(registry.PRODUCT_SPEC_ID), registry.pin(registry.STUDY_SPEC_ID)
    lot = Lot(lot_number=number, subject_id=subject.id, din=din, din_flags="00", state=LotState.RECEIVED,
              spec_id=spec.id, spec_version=spec.version, spec_hash=spec.content_hash, study_spec_id=study.id,
              study_spec_version=study.version, study_spec_hash=study.content_hash, opened_at=clock.now(),
              opened_by_id=user.id)
    db.session.add(lot)
    db.session.commit()
    return lot


def make_dose_unit(user, lot: Lot, order: InfusionOrder, division: str = "A0") -> DoseUnit:
    """Make a dose unit for an order directly, linked to it as issue will link it."""
    acting(user)
    step = ProcessStep(lot_id=lot.id, kind=StepKind.DOSE_PREPARATION, performed_at=clock.now(),
                       recorded_at=clock.now(), performed_by_id=user.id, status=StepStatus.PERFORMED)
    db.session.add(step)
    db.session.flush()
    unit = DoseUnit(lot_id=lot.id, step_id=step.id, division_code=division, infusion_number=order.infusion_number,
                    infusion_order_id=order.id, kind=DoseKind.FRESH, target_dose_per_kg=order.dose_per_kg,
                    body_weight_id=order.body_weight_id, cells=parse_quantity("6.45e7 cells", "cells"),
                    volume_drawn=parse_quantity("12.9 mL", "mL"), final_volume=parse_quantity("50 mL", "mL"),
                    expiry_at=clock.now() + timedelta(hours=24), state=DoseState.QUARANTINE)
    db.session.add(unit)
    db.session.commit()
    return unit
