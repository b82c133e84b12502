"""Demo lots told as they happen at the bench: each step recorded and verified at its own time.

A complete lot (fourteen culture days, five dose units) and a lot in culture, made through the operations
(the lot held on a deviation is told by quality). Each story is a generator that yields the time of its next event;
the demo runs the stories together in time order, with the clock set to each event's time.
"""

import heapq
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import datetime, timedelta

from manufacturing.core import clock
from manufacturing.core.audit import set_actor, set_reason
from manufacturing.extensions import db
from manufacturing.lots import operations as lot_operations
from manufacturing.lots.models import Lot
from manufacturing.materials.operations import usable_equipment, usable_materials
from manufacturing.patients.models import Subject
from manufacturing.processing import doses, operations
from manufacturing.processing.entries import StepInput
from manufacturing.processing.kinds import definition
from manufacturing.processing.models import DoseKind, ProcessStep, StepKind
from manufacturing.units import Q_

SEPARATION = {"volume_loaded": "185 mL", "volume": "100 mL", "concentration": "20 x 10^6 cells/mL",
              "viability": "95 %", "nk_fraction": "60 %", "cd3_fraction": "0.5 %"}
SELECTION = {"volume": "40 mL", "concentration": "15 x 10^6 cells/mL", "viability": "95 %", "nk_fraction": "95 %",
             "cd3_fraction": "0.2 %"}
DAY0 = {"culture_volume": "500 mL", "seeding_density": "1 x 10^6 cells/mL", "il2_concentration": "500 IU/mL"}
HARVEST = {"volume": "2000 mL", "concentration": "5.5 x 10^6 cells/mL", "viability": "96 %", "nk_fraction": "97 %",
           "cd3_fraction": "0.4 %", "cd19_fraction": "0.05 %"}
SEEDED_NK, PURITY, FOLD_AT_14 = 5e8 * 0.95, 0.95, 21.6
HARVEST_CONCENTRATION = 5.5e6  # cells/mL, at FOLD_AT_14
FEEDS = {3: 500, 7: 500, 10: 500}  # culture day -> mL of medium added after the count
FIVE_UNITS = ((1, 1e6, DoseKind.FRESH, "50 mL"), (2, 3.16e6, DoseKind.CRYOPRESERVED, "20 mL"),
              (3, 1e7, DoseKind.CRYOPRESERVED, "20 mL"), (4, 3.16e7, DoseKind.CRYOPRESERVED, "50 mL"),
              (5, 1e8, DoseKind.CRYOPRESERVED, "100 mL"))
VERIFY_AFTER = timedelta(minutes=25)
Story = Iterator[datetime]


def play(stories: list[Story], after_event: Callable[[int, bool], None] | None = None) -> None:
    """Play stories together in time order, each event with the clock at its own time.

    `after_event(index, ended)` is told after each event which story moved and whether it ended.
    """
    queue = []
    for index, story in enumerate(stories):
        first = next(story, None)
        if first is not None:
            heapq.heappush(queue, (first, index, story))
    while queue:
        at, index, story = heapq.heappop(queue)
        with clock.frozen(at):
            following = next(story, None)
            db.session.flush()
            set_reason(db.session, None)  # a reason belongs to one event, as a request's to its transaction
        if following is not None:
            heapq.heappush(queue, (following, index, story))
        if after_event is not None:
            after_event(index, following is None)


@dataclass
class Crew:
    """The people at the bench, with the passwords they sign with."""

    technician: object
    verifier: object
    qa: object
    passwords: dict[str, str]

    def password(self, user) -> str:
        return self.passwords[user.username]

    def act(self, user) -> object:
        set_actor(db.session, user.id, user.username)
        return user


def inputs(kind: StepKind, at: datetime, values: dict[str, str]) -> StepInput:
    """Entries of a step with the first usable material lot and equipment of each kind."""
    step_definition = definition(kind)
    return StepInput(
        values=values, performed_at=at,
        materials={use.role: usable_materials(use.kind, at)[0].id for use in step_definition.materials},
        equipment={use.role: usable_equipment(use.kind, at)[0].id for use in step_definition.equipment},
    )


def _verify(crew: Crew, step: ProcessStep) -> None:
    user = crew.act(crew.verifier)
    operations.verify_step(step, user, crew.password(user), user.username)


def _step(crew: Crew, lot: Lot, kind: StepKind, at: datetime, values: dict) -> Story:
    """Record a step at its time and have it verified a little later."""
    yield at
    user = crew.act(crew.technician)
    step = operations.record_step(lot, kind, inputs(kind, at, values), user, crew.password(user), user.username)
    yield at + VERIFY_AFTER
    _verify(crew, step)


def received(crew: Crew, subject: Subject, din: str, at: datetime, lots: list[Lot]) -> Story:
    """The bag arrives: the lot is opened and its receipt verified."""
    yield at
    values = {"collected_at": clock.to_local(at - timedelta(hours=5)).strftime("%Y-%m-%dT%H:%M"),
              "volume": "185 mL", "wbc_concentration": "80 x 10^6 cells/mL", "viability": "98 %",
              "nk_fraction": "12 %", "cd3_fraction": "60 %", "cd19_fraction": "2 %",
              "transport_temperature": "8 °C", "label_check": "yes"}
    user = crew.act(crew.technician)
    lots.append(operations.receive_apheresis(subject.subject_code, din, inputs(StepKind.APHERESIS_RECEIPT, at, values),
                                             user, crew.password(user), user.username))
    yield at + VERIFY_AFTER
    _verify(crew, operations.lot_steps(lots[-1])[0])


def _culture_day(day: int, volume: int, fold_at_14: float = FOLD_AT_14) -> dict[str, str]:
    """A day's count following exponential growth to the fold given at day 14."""
    viability = 95 - (day % 3)
    viable_nk = SEEDED_NK * fold_at_14 ** (day / 14)
    concentration = viable_nk / (volume * viability / 100 * PURITY)
    values = {"concentration": f"{concentration / 1e6:.2f} x 10^6 cells/mL", "viability": f"{viability} %",
              "volume": f"{volume} mL", "action": "feed" if day in FEEDS else "none"}
    if day in FEEDS:
        values["volume_added"] = f"{FEEDS[day]} mL"
    return values


def _local_days_after(moment: datetime, days: int, later: timedelta) -> datetime:
    """The same local clock time `days` site calendar days on, `later` after it (before it, when later would cross
    midnight): across a clock change, a culture day 24 hours after day 0 can still fall on day 0's date."""
    wall = clock.to_local(moment).replace(tzinfo=None) + timedelta(days=days)
    shifted = wall + later if (wall + later).date() == wall.date() else wall - later
    return clock.local_from_naive(shifted)


def _through_culture(crew: Crew, lot: Lot, day0: datetime, last_day: int, fold_at_14: float = FOLD_AT_14) -> Story:
    """CD3 depletion, CD56 selection, day 0 and the daily counts up to `last_day`, each verified."""
    yield from _step(crew, lot, StepKind.CD3_DEPLETION, day0 - timedelta(hours=6), SEPARATION)
    yield from _step(crew, lot, StepKind.CD56_SELECTION, day0 - timedelta(hours=3), SELECTION)
    yield from _step(crew, lot, StepKind.CULTURE_DAY0, day0, DAY0)
    volume = 500
    for day in range(1, last_day + 1):
        yield from _step(crew, lot, StepKind.CULTURE_DAY, _local_days_after(day0, day, timedelta(minutes=30)),
                         _culture_day(day, volume, fold_at_14))
        volume += FEEDS.get(day, 0)


def complete_lot(crew: Crew, subject: Subject, din: str, day0: datetime, lots: list[Lot],
                 fold_at_14: float = FOLD_AT_14) -> Story:
    """A lot through fourteen culture days, harvest and five dose units (at least 20-fold: enough for all five)."""
    yield from received(crew, subject, din, day0 - timedelta(hours=9), lots)
    lot = lots[-1]
    yield from _through_culture(crew, lot, day0, 14, fold_at_14)
    harvest_at = day0 + timedelta(days=14, hours=4)
    concentration = HARVEST_CONCENTRATION * fold_at_14 / FOLD_AT_14
    harvested = {**HARVEST, "concentration": f"{concentration / 1e6:.2f} x 10^6 cells/mL"}
    yield from _step(crew, lot, StepKind.HARVEST, harvest_at, harvested)
    prepared_at = harvest_at + timedelta(hours=2)
    yield prepared_at
    requests = [doses.DoseRequest(number, Q_(level, "cell / kilogram"), kind, volume)
                for number, level, kind, volume in FIVE_UNITS]
    user = crew.act(crew.technician)
    db.session.refresh(subject)
    step = doses.prepare_doses(lot, inputs(StepKind.DOSE_PREPARATION, prepared_at, {}), requests,
                               subject.latest_weight, user, crew.password(user), user.username)
    yield prepared_at + VERIFY_AFTER
    _verify(crew, step)


def lot_in_culture(crew: Crew, subject: Subject, din: str, day0: datetime, days_done: int,
                   lots: list[Lot]) -> Story:
    """A lot counted daily, still in culture."""
    yield from received(crew, subject, din, day0 - timedelta(hours=9), lots)
    yield from _through_culture(crew, lots[-1], day0, days_done)


def failed_expansion(crew: Crew, subject: Subject, din: str, day0: datetime, lots: list[Lot]) -> Story:
    """A lot whose NK cells barely grow: counted to day 10 (1.4-fold), then cancelled by QA for a second collection."""
    yield from received(crew, subject, din, day0 - timedelta(hours=9), lots)
    lot = lots[-1]
    yield from _through_culture(crew, lot, day0, 10, fold_at_14=1.6)
    at = _local_days_after(day0, 10, timedelta(hours=3))
    yield at
    lot_operations.cancel(lot, crew.act(crew.qa), "Failed expansion: 1.4-fold by culture day 10 against 15.7 +/- "
                                                  "4.7 by day 14. The investigator asks for a second collection.")
