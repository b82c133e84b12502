"""Bursts of simultaneous requests on one lot at release, and the figures they leave in the database."""

import re
import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import timedelta

from sqlalchemy import func, select

from manufacturing.accounts.models import User
from manufacturing.core import clock
from manufacturing.core.audit import AuditEvent, set_actor
from manufacturing.core.signatures import Meaning, Signature
from manufacturing.extensions import db
from manufacturing.processing.doses import doses_of
from manufacturing.processing.models import ProcessStep, StepKind
from manufacturing.processing.operations import lot_steps
from manufacturing.quality import qc
from manufacturing.quality.models import QcResult
from manufacturing.records.models import StoredDocument
from manufacturing.release.models import Disposition
from tests.factories import PASSWORD, make_user
from tests.processing.factories import SCHEDULE, set_up_bench
from tests.release.factories import record, record_results

UNVERIFIED_TEST = "potency"
FLASH = re.compile(r'class="flash flash-(\w+)"[^>]*>(.*?)</div>', re.S)
BURST_TIMEOUT_SECONDS = 90


@dataclass
class LotAtRelease:
    """The lot, its unverified dose-preparation step, its unverified potency result and its dose unit."""

    bench: object = field(repr=False)
    lot_id: int
    step_id: int
    result_id: int
    dose_id: int


def lot_at_release() -> "LotAtRelease":
    """Take a lot to dose preparation ending now; record its QC results, all verified but potency."""
    # The timeline ends now, not under a frozen clock: signatures given at the real time of a burst, here or in
    # a gunicorn worker, are then contemporaneous, and the fresh dose is not expired.
    technician = make_user("tech.one", roles=["TECHNICIAN"], full_name="Tina Tecnica")
    verifier = make_user("tech.two", roles=["TECHNICIAN"], full_name="Vito Verifica")
    qa = make_user("qa.one", roles=["QA"], full_name="Quinta Qualita")
    pharmacist = make_user("pharm.one", roles=["PHARMACY"], full_name="Piero Farmacia")
    hours = SCHEDULE[StepKind.DOSE_PREPARATION] + 3
    start = clock.now().replace(second=0, microsecond=0) - timedelta(hours=hours)
    bench = set_up_bench(technician, verifier, qa, pharmacist, start)
    lot = bench.lot_through(StepKind.DOSE_PREPARATION, verify_last=False)
    dose = doses_of(lot)[0]
    tested = bench.at(SCHEDULE[StepKind.DOSE_PREPARATION] + 1)
    record_results(bench, lot, dose, tested, **{UNVERIFIED_TEST: None})
    result = record(bench, lot, dose, UNVERIFIED_TEST, "45 %", tested + timedelta(minutes=30), verify=False)
    return LotAtRelease(bench, lot.id, lot_steps(lot)[-1].id, result.id, dose.id)


def verify_step_beforehand(lot: LotAtRelease) -> None:
    """The second technician verifies the dose preparation, before the burst that needs it done."""
    lot.bench.verify(db.session.get(ProcessStep, lot.step_id))


def verify_result_beforehand(lot: LotAtRelease) -> None:
    """The second technician verifies the potency result, before the burst that needs it done."""
    result = db.session.get(QcResult, lot.result_id)
    verifier = lot.bench.verifier
    with clock.frozen(clock.now() - timedelta(minutes=30)):
        set_actor(db.session, verifier.id, verifier.username)
        qc.verify_result(result, verifier, PASSWORD, verifier.username)
        db.session.commit()


def make_people(prefix: str, role: str, count: int) -> list[str]:
    """Create `count` accounts of one role, none of them involved in the lot; return their user IDs."""
    return [make_user(f"{prefix}{n}", roles=[role], full_name=f"{role.title()} Person {n}").username
            for n in range(1, count + 1)]


def all_at_once(attempts: list[Callable[[], object]]) -> list[object]:
    """Run each attempt in its own thread, all released together by a barrier; return results or errors."""
    barrier = threading.Barrier(len(attempts))
    outcomes: list[object] = [None] * len(attempts)

    def run(number: int, attempt: Callable[[], object]) -> None:
        try:
            barrier.wait(timeout=BURST_TIMEOUT_SECONDS)
            outcomes[number] = attempt()
        except Exception as error:
            outcomes[number] = error

    threads = [threading.Thread(target=run, args=pair, daemon=True) for pair in enumerate(attempts)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=BURST_TIMEOUT_SECONDS)
    assert not any(thread.is_alive() for thread in threads), "a request of the burst did not finish in time"
    return outcomes


def flashes(page: str) -> list[tuple[str, str]]:
    """The flashed messages of a page, as (category, text)."""
    return [(category, text.strip()) for category, text in FLASH.findall(page)]


@dataclass
class Tally:
    """How the answers of a burst went: accepted, refused with a message, server errors."""

    accepted: int = 0
    refused: int = 0
    server_errors: int = 0
    unexplained: int = 0

    @classmethod
    def of(cls, answers: list[object], success: str | None) -> "Tally":
        """Sort answers, each (status, page) or an exception raised by the server side."""
        tally = cls()
        for answer in answers:
            if isinstance(answer, BaseException) or answer[0] >= 500:
                tally.server_errors += 1
            elif success and any(category == "success" and success in text for category, text in flashes(answer[1])):
                tally.accepted += 1
            elif any(category == "error" for category, _ in flashes(answer[1])):
                tally.refused += 1
            else:
                tally.unexplained += 1
        return tally

    def only_one_accepted(self, attempts: int) -> bool:
        return (self.accepted, self.refused, self.server_errors, self.unexplained) == (1, attempts - 1, 0, 0)


def signature_count(entity_type: str, entity_id: int | None, meaning: Meaning) -> int:
    """Count signatures of one meaning on one record (or on every record of a kind when entity_id is None)."""
    query = select(func.count()).select_from(Signature).where(Signature.entity_type == entity_type,
                                                              Signature.meaning == meaning)
    if entity_id is not None:
        query = query.where(Signature.entity_id == str(entity_id))
    return db.session.scalar(query)


def release_figures(lot: LotAtRelease) -> dict[str, int]:
    """Dispositions of the dose, RELEASED signatures, stored certificates of the dose and batch records of the lot."""
    def count(model, *where) -> int:
        return db.session.scalar(select(func.count()).select_from(model).where(*where))

    return {"dispositions": count(Disposition, Disposition.dose_unit_id == lot.dose_id),
            "released_signatures": signature_count("disposition", None, Meaning.RELEASED),
            "certificates_stored": count(StoredDocument, StoredDocument.dose_unit_id == lot.dose_id),
            "batch_records_stored": count(StoredDocument, StoredDocument.lot_id == lot.lot_id,
                                          StoredDocument.dose_unit_id.is_(None))}


def login_figures(username: str) -> dict[str, object]:
    """The failure counter of an account, whether it is locked, and its counted-failure audit events."""
    user = db.session.scalar(select(User).where(User.username == username))
    db.session.refresh(user)
    events = db.session.scalar(select(func.count()).select_from(AuditEvent).where(
        AuditEvent.action == "auth.login_failed", AuditEvent.entity_id == str(user.id)))
    return {"failed_logins": user.failed_logins, "locked": user.locked, "failure_events": events}
