"""Worlds of many lots for the list pages: lots at the bench, in culture and with open deviations, two by two at
the same moment (ties on time), each of a subject of its own.

Built once per database by the factories (through the operations), restored from their rows for each test.
"""

import dataclasses
from datetime import timedelta

from sqlalchemy import select

from manufacturing.accounts.models import User
from manufacturing.extensions import db
from manufacturing.lots.din import new_din
from manufacturing.processing.models import StepKind
from manufacturing.processing.operations import lot_steps
from manufacturing.quality.models import DeviationClass
from manufacturing.quality.operations import open_deviation
from tests.conftest import STAFF, _bench_staff, _bench_start, clean_database
from tests.factories import make_user
from tests.patients.factories import make_subject
from tests.processing.factories import set_up_bench
from tests.snapshots import built_once

ADMIN = STAFF["admin"]


def _lot(bench, number: int):
    """Lot `number`: dose units prepared (one in ten), else received and left unverified, in culture, or with an
    open deviation (one in three each)."""
    subject = make_subject(bench.pharmacist, code=f"LIST-{number:03d}")
    mine = dataclasses.replace(bench, subject=subject)
    din = new_din("G1234", 2026, 500 + number).keyboard
    if number % 10 == 9:  # a lot whose dose units wait for QA's review
        mine.lot_through(StepKind.DOSE_PREPARATION, din=din)
        return
    at = bench.at(number // 2 * 0.1)  # two lots a moment: the lists must page through ties on time
    lot = mine.receive(at=at, din=din)
    if number % 3 == 0:
        return
    receipt = lot_receipt(lot)
    mine.verify(receipt)
    if number % 3 == 1:  # into culture
        for hours, kind in ((3, StepKind.CD3_DEPLETION), (6, StepKind.CD56_SELECTION), (9, StepKind.CULTURE_DAY0)):
            mine.verify(mine.record(lot, kind, at + timedelta(hours=hours)))
        return
    mine._as(bench.technician, at + timedelta(hours=1), open_deviation, lot, bench.technician,
             DeviationClass.MINOR, f"Label smudged on lot {number}", "The bag label was hard to read.",
             "Label checked against the collection record.", receipt)


def lot_receipt(lot):
    return lot_steps(lot)[0]


def _build(size: int):
    staff = _bench_staff()
    bench = set_up_bench(*staff, _bench_start())
    make_user(ADMIN[0], roles=[ADMIN[1]], full_name=ADMIN[2])
    for number in range(size):
        _lot(bench, number)
    return bench


def lots_world(size: int):
    """The world of `size` lots (the database is emptied first if a test already made another)."""
    db.session.remove()
    clean_database()
    return built_once(f"{size} lots", (size, _bench_start()), lambda: _build(size))


def person(fixture: str) -> User:
    return db.session.scalar(select(User).filter_by(username=STAFF[fixture][0]))
