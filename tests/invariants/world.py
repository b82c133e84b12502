"""The fixed world of the lifecycle machine, made with the project's own factories.

Six users (two technicians, two QA, two pharmacists), two subjects with a body weight and the order of
infusion 1, and one lot per subject taken to dose preparation: a fresh unit for infusion 1 (A0) and a
cryopreserved unit for infusion 2 (B0). Every release result is recorded and verified, sterility is pending;
nothing is released. The clock is frozen at `NOW`, two hours after dose preparation.
"""

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from manufacturing.core import clock
from manufacturing.extensions import db
from manufacturing.lots.models import Lot
from manufacturing.processing.models import DoseKind, DoseUnit, StepKind
from manufacturing.processing.operations import lot_steps
from tests.dispensing.factories import OTHER_DIN, SCAN, UNITS, Ward
from tests.factories import make_user
from tests.patients.factories import add_weight, make_order, make_subject
from tests.processing.factories import SCHEDULE, Bench, set_up_bench
from tests.release.factories import LOT_WIDE, PASSING, record, record_results
from tests.snapshots import fresh

NOW = datetime(2026, 6, 1, 8, 0, tzinfo=UTC)  # a fixed instant, so that a falsifying example replays exactly
PREPARED = SCHEDULE[StepKind.DOSE_PREPARATION]
FROZEN_DOSE = "2.02e8 cells"  # 3.16e6 cells/kg on 64.0 kg, the frozen unit's "dose" result

# What the machine enters. Whether a value fails is the machine's own knowledge, not the product's verdict.
PASS = {**PASSING, "sterility": "no growth"}
FAIL = {"appearance": "does not conform", "identity": "does not conform", "viability": "55 %",
        "nk_purity": "60 %", "cd3": "9 %", "cd19": "3 %", "dose": "1.0e7 cells", "gram_stain": "organisms seen",
        "endotoxin": "80 EU/mL", "mycoplasma": "positive", "potency": "5 %", "sterility": "growth"}
TESTS = tuple(PASS)
FAILING_ENTRIES = frozenset(FAIL.values())
assert set(FAIL) == set(PASS) and not FAILING_ENTRIES & set(PASS.values())


@dataclass
class OtherBagBench(Bench):
    """The bench of a second subject: same materials and equipment, another collection bag (DIN)."""

    din: str = OTHER_DIN

    def receive(self, at=None, din=None, **values) -> Lot:
        return super().receive(at, din or self.din, **values)


@dataclass
class Place:
    """One lot of one subject, with what the bedside reads from its bag and its subject's wristband."""

    name: str
    ward: Ward
    scan: str

    @property
    def bench(self) -> Bench:
        return self.ward.bench

    @property
    def wristband(self) -> str:
        return self.bench.subject.subject_code


@dataclass
class World:
    users: dict[str, object]
    places: dict[str, Place]
    units: dict[str, tuple[str, int]]  # "S1-A0-fresh" -> (place name, dose unit id)

    def place_of(self, unit_name: str) -> Place:
        return self.places[self.units[unit_name][0]]

    def dose(self, unit_name: str) -> DoseUnit:
        return db.session.get(DoseUnit, self.units[unit_name][1])

    def other(self, place: Place) -> Place:
        return next(other for other in self.places.values() if other is not place)

    def reloaded(self) -> "World":
        """The same world with every record read again in the current session (after a restore)."""
        return fresh(self)


UNIT_NAMES = ("S1-A0-fresh", "S1-B0-frozen", "S2-A0-fresh", "S2-B0-frozen")
LOT_NAMES = ("S1", "S2")
USERS = {"tech.one": ("TECHNICIAN", "Tina Tecnica"), "tech.two": ("TECHNICIAN", "Vito Verifica"),
         "qa.one": ("QA", "Quinta Qualita"), "qa.two": ("QA", "Quirino Qualita"),
         "pharm.one": ("PHARMACY", "Piero Farmacia"), "pharm.two": ("PHARMACY", "Paola Farmacia")}


def _prepared_lot(bench: Bench) -> tuple[Lot, DoseUnit, DoseUnit]:
    """Take a new lot through the bench's steps and prepare the ward's two units (as set_up_ward does)."""
    lot = bench.lot_through(StepKind.HARVEST)
    bench.weigh(bench.at(PREPARED - 20))
    bench.verify(bench.prepare(lot, bench.at(PREPARED), units=UNITS))
    step = next(step for step in lot_steps(lot) if step.kind == StepKind.DOSE_PREPARATION)
    fresh, frozen = sorted(step.dose_units, key=lambda unit: unit.infusion_number)
    assert (fresh.kind, frozen.kind) == (DoseKind.FRESH, DoseKind.CRYOPRESERVED)
    # Every release result but sterility, on each unit; the lot-wide one (mycoplasma) once.
    record_results(bench, lot, fresh, bench.at(PREPARED + 0.25))
    # record_results cannot change the "dose" result (its own parameter is called dose): one by one.
    frozen_results = {key: entry(key, frozen, False) for key in PASSING if key not in LOT_WIDE}
    for number, (key, entered) in enumerate(frozen_results.items()):
        record(bench, lot, frozen, key, entered, bench.at(PREPARED + 0.75) + timedelta(minutes=number))
    return lot, fresh, frozen


def build_world() -> World:
    """Build the world with the clock frozen at NOW by the caller."""
    assert clock.now() == NOW, "freeze the clock at NOW first"
    users = {name: make_user(name, roles=[role], full_name=full) for name, (role, full) in USERS.items()}
    start = NOW - timedelta(hours=PREPARED + 2)
    first = set_up_bench(users["tech.one"], users["tech.two"], users["qa.one"], users["pharm.one"], start)
    with clock.frozen(start - timedelta(days=2)):
        subject = make_subject(users["pharm.one"], code="LAL2013-RM-002", initials="GB")
        add_weight(users["pharm.one"], subject, "64.5 kg", days_ago=0)
    second = OtherBagBench(first.technician, first.verifier, first.qa, first.pharmacist, subject, start,
                           first.materials, first.equipment)
    places, units = {}, {}
    for name, bench, scan in (("S1", first, SCAN), ("S2", second, OTHER_DIN)):
        lot, fresh, frozen = _prepared_lot(bench)
        order = make_order(users["pharm.one"], bench.subject)
        places[name] = Place(name, Ward(bench, lot, fresh, frozen, order, users["pharm.two"]), scan)
        units[f"{name}-A0-fresh"], units[f"{name}-B0-frozen"] = (name, fresh.id), (name, frozen.id)
    db.session.commit()
    assert clock.now() == NOW
    return World(users, places, units)


def sample_of(test_key: str, dose: DoseUnit) -> DoseUnit | None:
    """The lot-wide tests take no dose unit."""
    return None if test_key in LOT_WIDE else dose


def entry(test_key: str, dose: DoseUnit, failing: bool) -> str:
    if failing:
        return FAIL[test_key]
    if test_key == "dose" and dose.kind == DoseKind.CRYOPRESERVED:
        return FROZEN_DOSE
    return PASS[test_key]
