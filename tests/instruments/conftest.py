"""Fixtures of the import tests: a lot in culture, a registered counter and cytometer, exports made by the test."""

import pytest

from manufacturing.instruments import operations
from manufacturing.instruments.readings import InstrumentExport
from manufacturing.materials.models import EquipmentKind
from manufacturing.processing.models import StepKind
from tests.instruments.factories import COUNTER_SERIAL, CYTOMETER_SERIAL
from tests.materials.factories import register


@pytest.fixture
def exports(monkeypatch):
    """Exports by their bytes: a test says what a file holds, the reader gives it back."""
    made: dict[bytes, InstrumentExport] = {}

    def read(filename, content):
        return made[content]

    monkeypatch.setattr(operations, "read_export", read)
    return made


@pytest.fixture
def counter(bench):
    return register(bench.qa, code="CNT-BLU", name="Vi-CELL BLU", kind=EquipmentKind.CELL_COUNTER,
                    due_in_days=365, serial_number=COUNTER_SERIAL)


@pytest.fixture
def cytometer(bench):
    return register(bench.qa, code="FCM-DIVA", name="FACSCanto II", kind=EquipmentKind.FLOW_CYTOMETER,
                    due_in_days=365, serial_number=CYTOMETER_SERIAL)


@pytest.fixture
def lot(bench):
    """The bench's lot through culture day 0, verified: a culture day is next."""
    return bench.lot_through(StepKind.CULTURE_DAY0)
