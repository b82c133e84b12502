"""What each step records: its fields with units, materials, equipment and the lot states it moves between.

This is the master batch record of the process as data; the operations and forms read it.
"""

from dataclasses import dataclass

from manufacturing.lots.models import Lot
from manufacturing.lots.states import LOT
from manufacturing.materials.models import EquipmentKind, MaterialKind
from manufacturing.processing.models import StepKind


@dataclass(frozen=True)
class Field:
    """One value entered at the bench; `unit` is the unit the value must convert to."""

    key: str
    label: str
    unit: str | None = None
    kind: str = "quantity"  # quantity | choice | check | datetime
    required: bool = True
    hint: str = ""
    choices: tuple[tuple[str, str], ...] = ()


@dataclass(frozen=True)
class Use:
    """A material or piece of equipment a step uses, in a named role."""

    role: str
    kind: MaterialKind | EquipmentKind
    required: bool = True


@dataclass(frozen=True)
class StepDefinition:
    kind: StepKind
    spec_step: str
    lot_action: str | None  # the lot's transition this step makes (lots/states.py); None opens the lot
    fields: tuple[Field, ...]
    materials: tuple[Use, ...] = ()
    equipment: tuple[Use, ...] = ()
    repeatable: bool = False
    instruction: str = ""

    def field(self, key: str) -> Field:
        return next(field for field in self.fields if field.key == key)


def _cells(key: str, label: str, hint: str = "e.g. 2.5 x 10^6 cells/mL") -> Field:
    return Field(key, label, "cells/mL", hint=hint)


def _percent(key: str, label: str, required: bool = True) -> Field:
    return Field(key, label, "%", required=required, hint="e.g. 96 %")


def _volume(key: str, label: str, required: bool = True) -> Field:
    return Field(key, label, "mL", required=required, hint="e.g. 185 mL")


# What a cell counter reports beside the total: kept with the count, never more than the total.
VIABLE_CONCENTRATION = Field("viable_concentration", "Viable cell concentration, if counted", "cells/mL",
                             required=False, hint="e.g. 2.4 x 10^6 cells/mL")
PHENOTYPE = (
    _percent("viability", "Viability"),
    _percent("nk_fraction", "CD56+CD3- (NK) of viable CD45+"),
    _percent("cd3_fraction", "CD3+ of viable CD45+"),
)
SEPARATION = (
    Use("CD3 reagent", MaterialKind.CD3_REAGENT),
    Use("Tubing set", MaterialKind.TUBING_SET),
    Use("Buffer", MaterialKind.BUFFER),
)
CULTURE_ACTIONS = (("none", "Count only"), ("feed", "Feed"), ("split", "Split"), ("sample", "Sample only"))

DEFINITIONS: dict[StepKind, StepDefinition] = {
    StepKind.APHERESIS_RECEIPT: StepDefinition(
        StepKind.APHERESIS_RECEIPT, "apheresis", None,
        fields=(
            Field("collected_at", "Collection date and time (bag label)", kind="datetime"),
            _volume("volume", "Volume received"),
            _cells("wbc_concentration", "WBC concentration", "e.g. 45 x 10^6 cells/mL"),
            *PHENOTYPE,
            _percent("cd19_fraction", "CD19+ (B cells / blasts)"),
            Field("transport_temperature", "Transport temperature", "°C", hint="e.g. 8 °C"),
            Field("label_check", "Bag label matches the subject ID and the DIN", kind="check"),
        ),
        instruction="Scan the subject ID and the DIN from the collection bag; check the label against the "
                    "subject before opening the lot.",
    ),
    StepKind.CD3_DEPLETION: StepDefinition(
        StepKind.CD3_DEPLETION, "cd3_depletion", "cd3_depleted",
        fields=(_volume("volume_loaded", "Apheresis volume loaded"),
                _volume("volume", "Volume of the depleted product"),
                _cells("concentration", "Cell concentration"), *PHENOTYPE),
        materials=SEPARATION,
        equipment=(Use("Cell separator", EquipmentKind.CELL_SEPARATOR),),
    ),
    StepKind.CD56_SELECTION: StepDefinition(
        StepKind.CD56_SELECTION, "cd56_selection", "cd56_selected",
        fields=(_volume("volume", "Volume of the selected product"), _cells("concentration", "Cell concentration"),
                *PHENOTYPE),
        materials=(Use("CD56 reagent", MaterialKind.CD56_REAGENT), *SEPARATION[1:]),
        equipment=(Use("Cell separator", EquipmentKind.CELL_SEPARATOR),),
    ),
    StepKind.CULTURE_DAY0: StepDefinition(
        StepKind.CULTURE_DAY0, "culture_day0", "seeded",
        fields=(_volume("culture_volume", "Culture volume"),
                _cells("seeding_density", "Seeding density (viable cells)", "e.g. 1 x 10^6 cells/mL"),
                Field("il2_concentration", "IL-2 concentration", "IU/mL", hint="e.g. 500 IU/mL")),
        materials=(Use("Culture medium", MaterialKind.CULTURE_MEDIUM), Use("Serum / plasma", MaterialKind.SERUM),
                   Use("IL-2", MaterialKind.CYTOKINE)),
        equipment=(Use("Biosafety cabinet", EquipmentKind.BIOSAFETY_CABINET),
                   Use("Incubator", EquipmentKind.INCUBATOR)),
    ),
    StepKind.CULTURE_DAY: StepDefinition(
        StepKind.CULTURE_DAY, "culture_day", "culture_counted", repeatable=True,
        fields=(_cells("concentration", "Cell concentration"), _percent("viability", "Viability"),
                VIABLE_CONCENTRATION, _volume("volume", "Culture volume at count"),
                _percent("nk_fraction", "CD56+CD3- (NK), if measured", required=False),
                Field("action", "Action", kind="choice", choices=CULTURE_ACTIONS),
                _volume("volume_added", "Medium added", required=False),
                _volume("volume_removed", "Volume removed (split or sample)", required=False)),
        materials=(Use("Culture medium", MaterialKind.CULTURE_MEDIUM, required=False),
                   Use("IL-2", MaterialKind.CYTOKINE, required=False)),
        equipment=(Use("Cell counter", EquipmentKind.CELL_COUNTER), Use("Incubator", EquipmentKind.INCUBATOR)),
    ),
    StepKind.HARVEST: StepDefinition(
        StepKind.HARVEST, "harvest", "harvested",
        fields=(_volume("volume", "Volume of the harvested product"), _cells("concentration", "Cell concentration"),
                *PHENOTYPE, _percent("cd19_fraction", "CD19+ (B cells / blasts)")),
        equipment=(Use("Centrifuge", EquipmentKind.CENTRIFUGE), Use("Cell counter", EquipmentKind.CELL_COUNTER),
                   Use("Flow cytometer", EquipmentKind.FLOW_CYTOMETER)),
    ),
    StepKind.DOSE_PREPARATION: StepDefinition(
        StepKind.DOSE_PREPARATION, "dose_preparation", "doses_prepared",
        fields=(),
        materials=(Use("Saline", MaterialKind.SALINE), Use("Human serum albumin", MaterialKind.ALBUMIN),
                   Use("Bag", MaterialKind.BAG),
                   Use("Cryoprotectant", MaterialKind.CRYOPROTECTANT, required=False)),
        equipment=(Use("Biosafety cabinet", EquipmentKind.BIOSAFETY_CABINET),
                   Use("Controlled-rate freezer", EquipmentKind.FREEZER, required=False)),
        instruction="Formulate each dose unit in saline with human serum albumin; cryopreserved units also "
                    "need the cryoprotectant and the controlled-rate freezer.",
    ),
}

ORDER = tuple(DEFINITIONS)


def definition(kind: StepKind) -> StepDefinition:
    return DEFINITIONS[kind]


# In-process limits read a value or a calculated value of another name than the limit's key.
LIMIT_SOURCES = {
    ("cd56_selection", "nk_purity"): "nk_fraction",
    ("culture_day", "cell_density"): "concentration",
    ("harvest", "nk_purity"): "nk_fraction",
    ("harvest", "fold_expansion"): "cumulative_fold",
}


def limit_source(spec_step: str, limit_key: str) -> str:
    return LIMIT_SOURCES.get((spec_step, limit_key), limit_key)


def next_kinds(lot: Lot) -> list[StepKind]:
    """The steps that may be recorded on a lot as it stands (the receipt opens a lot, so never comes next)."""
    return [kind for kind, step in DEFINITIONS.items() if step.lot_action and LOT.allows(lot, step.lot_action)]
