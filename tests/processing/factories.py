"""A bench ready for work: a registered subject, released materials, calibrated equipment.

Every record is made through the operations, with the clock set to the time of each step so that
entries are contemporaneous, as at a real bench.
"""

from dataclasses import dataclass, field
from datetime import datetime, timedelta

from manufacturing.core import clock
from manufacturing.core.audit import set_actor
from manufacturing.extensions import db
from manufacturing.lots.models import Lot
from manufacturing.materials.models import Equipment, EquipmentKind, MaterialKind, MaterialLot
from manufacturing.patients.models import Subject
from manufacturing.processing import doses, operations
from manufacturing.processing.entries import StepInput
from manufacturing.processing.kinds import definition
from manufacturing.processing.models import DoseKind, ProcessStep, StepKind
from manufacturing.units import Q_
from tests.factories import PASSWORD
from tests.materials.factories import register, released_lot
from tests.patients.factories import add_weight, make_subject

DIN = "=G12342600012300"  # as scanned; typed with its check character it is G123426000123 + K

VALUES = {
    StepKind.APHERESIS_RECEIPT: {
        "volume": "185 mL", "wbc_concentration": "80 x 10^6 cells/mL", "viability": "98 %",
        "nk_fraction": "12 %", "cd3_fraction": "60 %", "cd19_fraction": "2 %", "transport_temperature": "8 °C",
        "label_check": "yes"},
    StepKind.CD3_DEPLETION: {
        "volume_loaded": "185 mL", "volume": "100 mL", "concentration": "20 x 10^6 cells/mL",
        "viability": "95 %", "nk_fraction": "60 %", "cd3_fraction": "0.5 %"},
    StepKind.CD56_SELECTION: {
        "volume": "20 mL", "concentration": "15 x 10^6 cells/mL", "viability": "95 %", "nk_fraction": "95 %",
        "cd3_fraction": "0.2 %"},
    StepKind.CULTURE_DAY0: {
        "culture_volume": "200 mL", "seeding_density": "1 x 10^6 cells/mL", "il2_concentration": "500 IU/mL"},
    StepKind.CULTURE_DAY: {
        "concentration": "1.8 x 10^6 cells/mL", "viability": "93 %", "volume": "200 mL", "action": "feed",
        "volume_added": "200 mL"},
    StepKind.HARVEST: {
        "volume": "500 mL", "concentration": "6 x 10^6 cells/mL", "viability": "96 %", "nk_fraction": "97 %",
        "cd3_fraction": "0.5 %", "cd19_fraction": "0.1 %"},
}
# When each step happens, in hours after the bag arrives.
SCHEDULE = {
    StepKind.APHERESIS_RECEIPT: 0, StepKind.CD3_DEPLETION: 3, StepKind.CD56_SELECTION: 6,
    StepKind.CULTURE_DAY0: 9, StepKind.HARVEST: 9 + 14 * 24, StepKind.DOSE_PREPARATION: 12 + 14 * 24,
}
CULTURE_DAYS = (5, 7, 10)


@dataclass
class Bench:
    technician: object
    verifier: object
    qa: object
    pharmacist: object
    subject: Subject
    start: datetime
    materials: dict[MaterialKind, MaterialLot] = field(default_factory=dict)
    equipment: dict[EquipmentKind, Equipment] = field(default_factory=dict)

    def at(self, hours: float) -> datetime:
        return self.start + timedelta(hours=hours)

    def step_input(self, kind: StepKind, at: datetime, **values) -> StepInput:
        """Valid entries of a step, with the materials and equipment it needs, changed by `values`."""
        step_definition = definition(kind)
        entered = {**VALUES.get(kind, {}), **values}
        if kind == StepKind.APHERESIS_RECEIPT:
            entered.setdefault("collected_at", clock.to_local(at - timedelta(hours=6)).strftime("%Y-%m-%dT%H:%M"))
        return StepInput(
            values=entered, performed_at=at,
            materials={use.role: self.materials[use.kind].id for use in step_definition.materials},
            equipment={use.role: self.equipment[use.kind].id for use in step_definition.equipment},
        )

    def _as(self, user, at: datetime, operation, *args):
        with clock.frozen(at):
            set_actor(db.session, user.id, user.username)
            result = operation(*args)
            db.session.commit()
        return result

    def receive(self, at: datetime | None = None, din: str = DIN, **values) -> Lot:
        at = at or self.start
        given = self.step_input(StepKind.APHERESIS_RECEIPT, at, **values)
        return self._as(self.technician, at, operations.receive_apheresis, self.subject.subject_code, din, given,
                        self.technician, PASSWORD, self.technician.username)

    def record(self, lot: Lot, kind: StepKind, at: datetime, **values) -> ProcessStep:
        given = self.step_input(kind, at, **values)
        return self._as(self.technician, at, operations.record_step, lot, kind, given, self.technician,
                        PASSWORD, self.technician.username)

    def verify(self, step: ProcessStep, minutes_later: int = 20) -> None:
        self._as(self.verifier, step.performed_at + timedelta(minutes=minutes_later), operations.verify_step,
                 step, self.verifier, PASSWORD, self.verifier.username)

    def prepare(self, lot: Lot, at: datetime, units=((1, "1e6 cells/kg", DoseKind.FRESH, "50 mL"),)) -> ProcessStep:
        given = self.step_input(StepKind.DOSE_PREPARATION, at)
        requests = [doses.DoseRequest(n, Q_(float(level.split()[0]), "cell / kilogram"), kind, volume)
                    for n, level, kind, volume in units]
        return self._as(self.technician, at, doses.prepare_doses, lot, given, requests,
                        self.subject.latest_weight, self.technician, PASSWORD, self.technician.username)

    def weigh(self, at: datetime, entered: str = "64.0 kg") -> None:
        """The subject is weighed again before dose preparation (a weight is valid for days, not weeks)."""
        with clock.frozen(at):
            add_weight(self.pharmacist, self.subject, entered, days_ago=0)
        db.session.refresh(self.subject)

    def lot_through(self, last: StepKind, culture_days=CULTURE_DAYS, verify_last: bool = True,
                    din: str | None = None) -> Lot:
        """Take a new lot through every step up to `last`, each verified by the second technician.

        The bag is the bench's own unless `din` names another."""
        lot = self.receive(din=din) if din else self.receive()
        steps = [operations.lot_steps(lot)[0]]
        for kind in (StepKind.CD3_DEPLETION, StepKind.CD56_SELECTION, StepKind.CULTURE_DAY0):
            if _past(kind, last):
                return self._finish(lot, steps, verify_last)
            self.verify(steps[-1])
            steps.append(self.record(lot, kind, self.at(SCHEDULE[kind])))
        for day in culture_days:
            if _past(StepKind.CULTURE_DAY, last):
                break
            self.verify(steps[-1])
            steps.append(self.record(lot, StepKind.CULTURE_DAY, self.at(SCHEDULE[StepKind.CULTURE_DAY0] + 24 * day),
                                     concentration=f"{0.6 + 0.5 * day:.1f} x 10^6 cells/mL"))
        if not _past(StepKind.HARVEST, last):
            self.verify(steps[-1])
            steps.append(self.record(lot, StepKind.HARVEST, self.at(SCHEDULE[StepKind.HARVEST])))
        if not _past(StepKind.DOSE_PREPARATION, last):
            self.verify(steps[-1])
            self.weigh(self.at(SCHEDULE[StepKind.DOSE_PREPARATION] - 20))
            steps.append(self.prepare(lot, self.at(SCHEDULE[StepKind.DOSE_PREPARATION])))
        return self._finish(lot, steps, verify_last)

    def _finish(self, lot: Lot, steps: list[ProcessStep], verify_last: bool) -> Lot:
        if verify_last:
            self.verify(steps[-1])
        db.session.refresh(lot)
        return lot


ORDER = list(StepKind)


def _past(kind: StepKind, last: StepKind) -> bool:
    return ORDER.index(kind) > ORDER.index(last)


def set_up_bench(technician, verifier, qa, pharmacist, start: datetime) -> Bench:
    """Register the subject and release every material and equipment, a day before the bag arrives."""
    with clock.frozen(start - timedelta(days=2)):
        subject = make_subject(pharmacist)
        add_weight(pharmacist, subject, "64.5 kg", days_ago=0)
        bench = Bench(technician, verifier, qa, pharmacist, subject, start)
        for number, kind in enumerate(MaterialKind):
            bench.materials[kind] = released_lot(technician, qa, kind=kind, name=f"{kind.title} product",
                                                 supplier_lot=f"L{number:04d}", expires_in_days=365)
        for number, kind in enumerate(EquipmentKind):
            bench.equipment[kind] = register(qa, code=f"EQ-{number:02d}", name=f"{kind.title} {number}", kind=kind,
                                             due_in_days=365)
    db.session.refresh(subject)
    return bench


@dataclass
class PreparedLot:
    """A bench and a lot of its subject taken through dose preparation, every step verified."""

    bench: Bench
    lot: Lot


def set_up_prepared_lot(technician, verifier, qa, pharmacist, start: datetime) -> PreparedLot:
    bench = set_up_bench(technician, verifier, qa, pharmacist, start)
    return PreparedLot(bench, bench.lot_through(StepKind.DOSE_PREPARATION))
