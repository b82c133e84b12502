"""The material lots and equipment a step used: each checked usable at the time of the step."""

from manufacturing.core.errors import DomainError
from manufacturing.extensions import db
from manufacturing.materials.models import Equipment, MaterialLot
from manufacturing.materials.operations import check_equipment_usable, check_material_usable
from manufacturing.processing.entries import StepInput
from manufacturing.processing.kinds import StepDefinition, Use
from manufacturing.processing.models import ProcessStep, StepEquipment, StepMaterial


def _chosen(use: Use, chosen: dict[str, int | None], model, noun: str):
    identifier = chosen.get(use.role)
    if not identifier:
        if use.required:
            raise DomainError(f"{use.role}: choose the {noun} used.")
        return None
    item = db.session.get(model, int(identifier))
    if item is None or item.kind != use.kind:
        raise DomainError(f"{use.role}: the {noun} chosen is not a {use.kind.title.lower()}.")
    return item


def _materials(step_definition: StepDefinition, given: StepInput) -> list[StepMaterial]:
    rows = []
    for use in step_definition.materials:
        lot = _chosen(use, given.materials, MaterialLot, "lot")
        if lot is not None:
            check_material_usable(lot, given.performed_at)
            rows.append(StepMaterial(role=use.role, material_lot_id=lot.id))
    return rows


def _equipment(step_definition: StepDefinition, given: StepInput) -> list[StepEquipment]:
    rows = []
    for use in step_definition.equipment:
        item = _chosen(use, given.equipment, Equipment, "equipment")
        if item is not None:
            check_equipment_usable(item, given.performed_at)
            rows.append(StepEquipment(role=use.role, equipment_id=item.id))
    return rows


def _same(old: list, new: list, key: str) -> bool:
    return sorted((row.role, getattr(row, key)) for row in old) == sorted((row.role, getattr(row, key)) for row in new)


def set_uses(step: ProcessStep, step_definition: StepDefinition, given: StepInput) -> bool:
    """Check and attach the materials and equipment; return whether they changed."""
    materials, equipment = _materials(step_definition, given), _equipment(step_definition, given)
    changed = False
    if not _same(step.materials, materials, "material_lot_id"):
        step.materials = materials
        changed = True
    if not _same(step.equipment, equipment, "equipment_id"):
        step.equipment = equipment
        changed = True
    return changed

