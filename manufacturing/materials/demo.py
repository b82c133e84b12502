"""Demo materials and equipment for the whole process, made through the operations like real work."""

from datetime import timedelta

from manufacturing.core import clock
from manufacturing.materials import operations
from manufacturing.materials.models import EquipmentKind, MaterialKind

# kind, name, manufacturer, supplier lot, days to expiry
RELEASED_MATERIALS = [
    (MaterialKind.CD3_REAGENT, "CliniMACS CD3 Reagent", "Miltenyi Biotec", "6220803021", 210),
    (MaterialKind.CD56_REAGENT, "CliniMACS CD56 Reagent", "Miltenyi Biotec", "6221104117", 240),
    (MaterialKind.TUBING_SET, "CliniMACS Prodigy Tubing Set TS 310", "Miltenyi Biotec", "6230112088", 400),
    (MaterialKind.BUFFER, "CliniMACS PBS/EDTA Buffer", "Miltenyi Biotec", "6230209512", 20),
    (MaterialKind.CULTURE_MEDIUM, "NK MACS GMP Medium", "Miltenyi Biotec", "6230315044", 150),
    (MaterialKind.SERUM, "Human AB Serum, heat-inactivated", "PAN-Biotech", "P241107", 300),
    (MaterialKind.CYTOKINE, "MACS GMP Recombinant Human IL-2", "Miltenyi Biotec", "6230418230", 330),
    (MaterialKind.ALBUMIN, "Albutein 20% Human Albumin", "Grifols", "IBAC4Q7101", 500),
    (MaterialKind.SALINE, "Sodium Chloride 0.9% 250 mL", "B. Braun", "23184012", 600),
    (MaterialKind.CRYOPROTECTANT, "CryoStor CS10", "BioLife Solutions", "A2311-07", 270),
    (MaterialKind.BAG, "CryoMACS Freezing Bag 250", "Miltenyi Biotec", "6230627301", 700),
]
QUARANTINED = (MaterialKind.CD3_REAGENT, "CliniMACS CD3 Reagent", "Miltenyi Biotec", "6230902356", 365)
# received and released in the past, expired since
EXPIRED = (MaterialKind.CYTOKINE, "MACS GMP Recombinant Human IL-2", "Miltenyi Biotec", "6221012007", -3)
EXPIRED_RECEIVED_DAYS_AGO = 60

# code, name, kind, location, days to calibration due (and the serial number its exports carry)
EQUIPMENT = [
    ("CMP-01", "CliniMACS Prodigy", EquipmentKind.CELL_SEPARATOR, "Cleanroom B1", 150),
    ("INC-01", "Heracell 240i CO2 incubator", EquipmentKind.INCUBATOR, "Cleanroom B1", 200),
    ("BSC-01", "Class II biosafety cabinet", EquipmentKind.BIOSAFETY_CABINET, "Cleanroom B1", 90),
    ("CEN-01", "Rotanta 460 R centrifuge", EquipmentKind.CENTRIFUGE, "Cleanroom B2", 25),
    ("CNT-01", "NucleoCounter NC-200", EquipmentKind.CELL_COUNTER, "QC laboratory", 120, "9000201099909999"),
    ("CNT-02", "Vi-CELL BLU", EquipmentKind.CELL_COUNTER, "QC laboratory", 150),  # its exports carry no serial
    ("FCM-01", "MACSQuant Analyzer 10", EquipmentKind.FLOW_CYTOMETER, "QC laboratory", 180),
    ("CRF-01", "CryoMed controlled-rate freezer", EquipmentKind.FREEZER, "Cryostorage room", 240),
    ("INC-02", "Heracell 240i CO2 incubator", EquipmentKind.INCUBATOR, "Cleanroom B2", -5),
]


def _receive(technician, material: tuple, ahead: int):
    kind, name, manufacturer, supplier_lot, days = material
    expiry = clock.today() + timedelta(days=days + ahead)
    return operations.receive_material(technician, kind, name, manufacturer, supplier_lot, expiry)


def _receive_expired_lot(technician, qa_user, qa_password: str, ahead: int) -> None:
    """Receive and release a lot that has expired by 'today' (receipt refuses expired lots).

    When the demo is loaded with the clock set back (`ahead` days), the lot is still in date at receipt;
    otherwise it is received as it was, some weeks ago.
    """
    kind, name, manufacturer, supplier_lot, days = EXPIRED
    expiry = clock.today() + timedelta(days=days + ahead)
    received = clock.now() if days + ahead >= 0 else clock.now() - timedelta(days=EXPIRED_RECEIVED_DAYS_AGO)
    with clock.frozen(received):
        material_lot = operations.receive_material(technician, kind, name, manufacturer, supplier_lot, expiry)
        operations.release_material(qa_user, material_lot, qa_password)


def load_demo(technician, qa_user, qa_password: str, ahead: int = 0) -> None:
    """Receive and release the materials, register the equipment; the caller sets the actor and commits.

    Expiry and calibration dates are counted from `ahead` days after today, so that a demo loaded
    with the clock set back keeps its dates as they would be read today.
    """
    _receive_expired_lot(technician, qa_user, qa_password, ahead)
    for material in RELEASED_MATERIALS:
        operations.release_material(qa_user, _receive(technician, material, ahead), qa_password,
                                    comment="Certificate of analysis reviewed; incoming inspection passed.")
    _receive(technician, QUARANTINED, ahead)
    for code, name, kind, location, days, *serial in EQUIPMENT:
        due = clock.today() + timedelta(days=days + ahead)
        operations.register_equipment(qa_user, code, name, kind, location, due, *serial)
