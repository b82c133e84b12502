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


def _rows(uses: tuple[Use, ...], chosen: dict, model, noun: str, check, make, at) -> list:
    """Load each chosen item, check it is usable at the time of the step, and make its row."""
    rows = []
    for use in uses:
        item = _chosen(use, chosen, model, noun)
        if item is not None:
            check(item, at)
            rows.append(make(use.role, item.id))
    return rows


def _materials(step_definition: StepDefinition, given: StepInput) -> list[StepMaterial]:
    return _rows(step_definition.materials, given.materials, MaterialLot, "lot", check_material_usable,
                 lambda role, item_id: StepMaterial(role=role, material_lot_id=item_id), given.performed_at)


def _equipment(step_definition: StepDefinition, given: StepInput) -> list[StepEquipment]:
    return _rows(step_definition.equipment, given.equipment, Equipment, "equipment", check_equipment_usable,
                 lambda role, item_id: StepEquipment(role=role, equipment_id=item_id), given.performed_at)


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

