"""Dose preparation: dose units for the study's infusions, computed from the harvest and a dated weight."""

from dataclasses import dataclass
from datetime import timedelta

from sqlalchemy import select

from manufacturing import calculations as calc
from manufacturing.core import clock
from manufacturing.core.errors import DomainError
from manufacturing.core.plausible import read_typed
from manufacturing.core.signatures import Meaning, sign
from manufacturing.core.transitions import lock
from manufacturing.extensions import db
from manufacturing.lots.models import Lot
from manufacturing.patients.models import BodyWeight, InfusionOrder, OrderStatus
from manufacturing.patients.operations import refuse_off_study
from manufacturing.processing.checks import lot_spec, lot_study
from manufacturing.processing.derived import derive
from manufacturing.processing.entries import StepInput
from manufacturing.processing.kinds import definition
from manufacturing.processing.models import DoseKind, DoseState, DoseUnit, ProcessStep, StepKind, StepStatus
from manufacturing.processing.operations import advance_lot, check_can_record, check_time, lot_steps
from manufacturing.processing.uses import set_uses
from manufacturing.specifications.dose_limits import dose_maxima, exceeded_maximum
from manufacturing.specifications.model import ProductSpec, StudySpec
from manufacturing.units import Quantity, format_limit, format_quantity


@dataclass(frozen=True)
class DoseRequest:
    """One bag asked for: which infusion, at which dose level, fresh or frozen, in what final volume."""

    infusion_number: int
    dose_per_kg: Quantity
    kind: DoseKind
    final_volume: str


def _harvest_numbers(history: list[ProcessStep]) -> tuple[Quantity, Quantity]:
    harvest = next(step for step in history if step.kind == StepKind.HARVEST)
    derived = derive(history)[harvest.id].values
    if "viable_nk_concentration" not in derived:
        raise DomainError("The harvest has no viable NK concentration: correct the harvest record first.")
    return derived["viable_nk_concentration"], harvest.value("volume").quantity


def _check_request(request: DoseRequest, spec: ProductSpec, study: StudySpec) -> None:
    if not 1 <= request.infusion_number <= study.max_infusions:
        raise DomainError(f"Infusion {request.infusion_number} is not in the study (1 to {study.max_infusions}).")
    if (maximum := exceeded_maximum(request.dose_per_kg, dose_maxima(spec, [study]))) is not None:
        raise DomainError(f"{format_limit(request.dose_per_kg)} is above the maximum dose of {format_limit(maximum)}: "
                          "hard stop, no dose unit is made at this dose.")
    level = study.dose_for_infusion(request.infusion_number)
    if request.dose_per_kg > level:
        raise DomainError(f"Infusion {request.infusion_number} may not exceed {format_quantity(level)}: "
                          f"{format_quantity(request.dose_per_kg)} was asked.")


def _check_weight(lot: Lot, weight: BodyWeight | None) -> BodyWeight:
    if weight is None or weight.subject_id != lot.subject_id:
        raise DomainError("Choose a body weight of this lot's subject.")
    return weight


def _unit(lot: Lot, request: DoseRequest, weight: BodyWeight, concentration: Quantity, division: str,
          performed_at, spec) -> DoseUnit:
    final_volume = read_typed(request.final_volume, "mL", "dose_preparation.final_volume",
                              f"Unit {division}: final volume")
    cells = calc.cells_required(request.dose_per_kg, weight.weight)
    # The cells are drawn from the harvest, washed and resuspended in the final volume.
    drawn = calc.dose_volume(request.dose_per_kg, weight.weight, concentration)
    shelf = spec.fresh_shelf_life if request.kind == DoseKind.FRESH else spec.cryopreserved_shelf_life
    order = db.session.scalar(select(InfusionOrder).where(
        InfusionOrder.subject_id == lot.subject_id, InfusionOrder.infusion_number == request.infusion_number,
        InfusionOrder.status == OrderStatus.OPEN))
    return DoseUnit(lot_id=lot.id, division_code=division, infusion_number=request.infusion_number,
                    infusion_order_id=order.id if order else None, kind=request.kind,
                    target_dose_per_kg=request.dose_per_kg, body_weight_id=weight.id, cells=cells,
                    volume_drawn=drawn, final_volume=final_volume, state=DoseState.QUARANTINE,
                    expiry_at=performed_at + timedelta(seconds=shelf.duration.to("second").magnitude))


def _check_totals(units: list[DoseUnit], harvest_volume: Quantity) -> None:
    drawn = sum((unit.volume_drawn for unit in units), start=0 * harvest_volume)
    if drawn > harvest_volume:
        raise DomainError(f"The dose units need {format_quantity(drawn)} of harvest; only "
                          f"{format_quantity(harvest_volume)} was harvested.")
    numbers = [unit.infusion_number for unit in units]
    if len(set(numbers)) != len(numbers):
        raise DomainError("Each infusion gets one dose unit: an infusion number is repeated.")


def prepare_doses(lot: Lot, given: StepInput, requests: list[DoseRequest], weight: BodyWeight | None,
                  user, password: str, username: str) -> ProcessStep:
    """Record the dose preparation with its dose units (quarantined until QA releases them)."""
    lock(lot)
    lock(lot.subject)  # a stop of the subject (which cancels its open orders) comes wholly before or after
    refuse_off_study(lot.subject_id, "no dose unit is prepared for them")
    step_definition, history = definition(StepKind.DOSE_PREPARATION), lot_steps(lot)
    check_can_record(lot, step_definition, user, history)
    check_time(given.performed_at, StepKind.DOSE_PREPARATION, history)
    spec, study = lot_spec(lot), lot_study(lot)
    if not 1 <= len(requests) <= len(spec.division_codes):
        raise DomainError(f"Prepare between 1 and {len(spec.division_codes)} dose units.")
    if any(r.kind == DoseKind.CRYOPRESERVED for r in requests) and not (
            given.materials.get("Cryoprotectant") and given.equipment.get("Controlled-rate freezer")):
        raise DomainError("Cryopreserved units need the cryoprotectant lot and the controlled-rate freezer used.")
    weight = _check_weight(lot, weight)
    concentration, harvest_volume = _harvest_numbers(history)
    for request in requests:
        _check_request(request, spec, study)
    units = [_unit(lot, request, weight, concentration, division, given.performed_at, spec)
             for request, division in zip(requests, spec.division_codes, strict=False)]
    _check_totals(units, harvest_volume)
    step = ProcessStep(lot_id=lot.id, kind=StepKind.DOSE_PREPARATION, performed_at=given.performed_at,
                       recorded_at=clock.now(), performed_by_id=user.id, status=StepStatus.PERFORMED,
                       observations=given.observations.strip() or None)
    set_uses(step, step_definition, given)
    step.dose_units = units
    db.session.add(step)
    advance_lot(lot, step_definition)
    db.session.flush()
    sign(step, Meaning.PERFORMED, user, password, username=username)
    return step


def doses_of(lot: Lot) -> list[DoseUnit]:
    return list(db.session.scalars(select(DoseUnit).where(DoseUnit.lot_id == lot.id).order_by(DoseUnit.division_code)))
