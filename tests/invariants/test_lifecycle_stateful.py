"""Issue 9 item 5: random orders of the real operations, and the product's safety invariants after each.

Bounded (CI) profile: `pytest tests/invariants` (30 examples of up to 25 steps, per database).
Long profile: `LIFECYCLE_EXAMPLES=1000 LIFECYCLE_STEPS=40 pytest tests/invariants`.
Any violation fails at once, with hypothesis' minimal example; a violation of the kind of a defect this machine
found before (findings.KNOWN) names it.
"""

import os

from flask import current_app
from hypothesis import HealthCheck, settings
from hypothesis.stateful import invariant, run_state_machine_as_test
from sqlalchemy import func, select

from manufacturing.core.audit import AuditEvent
from manufacturing.core.audit_since import Blocks
from manufacturing.core.audit_verify import verify_chain
from manufacturing.dispensing.models import Administration
from manufacturing.extensions import db
from manufacturing.patients.models import StudyStop
from manufacturing.processing.doses import doses_of
from manufacturing.processing.models import DoseKind
from manufacturing.records import coa
from manufacturing.records.batch_record import build_batch_record
from manufacturing.records.documents import render_batch_record
from manufacturing.records.render import render_pdf
from manufacturing.release import operations as release
from manufacturing.release.models import Decision, Disposition
from manufacturing.reports.report import build as build_trial_report
from tests.invariants import oracle
from tests.invariants.findings import REASON_DEFECT
from tests.invariants.machine import ACTS, Lifecycle

EXAMPLES = int(os.environ.get("LIFECYCLE_EXAMPLES", 30))
STEPS = int(os.environ.get("LIFECYCLE_STEPS", 25))
# Both documents render as PDF at the end of every example (LIFECYCLE_RENDER_EVERY=n thins that out).
RENDER_EVERY = int(os.environ.get("LIFECYCLE_RENDER_EVERY", 1))
SEAL_BLOCKS = Blocks(trail=6, records=3)  # 64 trail rows and 8 records a block: a story spans several


class CheckedLifecycle(Lifecycle):
    """The machine with its invariants, checked from the database after every rule."""

    rows_known = 0  # trail rows the verifications from a seal knew by their digests (the seal was used)

    # ---- invariants, after every rule -----------------------------------------------------------

    @invariant()
    def acts_of_giving_were_fit(self):
        for act_name, model in ACTS:
            for row_id in db.session.scalars(select(model.id)):
                key = (act_name, row_id)
                reasons = self.verdicts.get(key, ["not made by the machine"])
                if reasons and key not in self.reported:
                    self.reported.add(key)
                    defects = {REASON_DEFECT.get(reason) for reason in reasons}
                    known = None if None in defects else "+".join(sorted(defects))
                    self.violate(f"unfit at {act_name}: {'; '.join(reasons)}", f"{act_name} #{row_id}", known)

    @invariant()
    def frozen_units_wait_for_final_results(self):
        query = select(Disposition).join(Disposition.dose).where(
            Disposition.decision == Decision.RELEASED_INTERIM, Disposition.dose.has(kind=DoseKind.CRYOPRESERVED))
        for disposition in db.session.scalars(query):
            if ("interim", disposition.id) not in self.reported:
                self.reported.add(("interim", disposition.id))
                self.violate("cryopreserved unit released on an interim certificate",
                             f"disposition #{disposition.id}", "D3")

    @invariant()
    def one_signature_per_meaning_and_version(self):
        problems = oracle.duplicate_signatures()
        if problems:
            self.violate("duplicate signatures", "; ".join(problems))

    @invariant()
    def records_build_and_agree(self):
        site = current_app.config["SITE_NAME"]
        for place in self.world.places.values():
            lot = place.ward.lot
            last = db.session.scalar(select(func.max(AuditEvent.id)).where(AuditEvent.scope == f"lot:{lot.id}"))
            if self.records_seen.get(lot.id, -1) == last:
                continue  # the records of the lot are unchanged since the last check
            self.records_seen[lot.id] = last
            try:
                record = build_batch_record(lot)
            except Exception as error:  # any crash is the finding
                defect = "D4" if oracle.lot_has_failing(lot.id) else None
                self.violate(f"batch record build crashes ({type(error).__name__})", repr(error), defect)
                continue
            for dose in doses_of(lot):
                disposition = release.latest_disposition(dose)
                if disposition is None or disposition.decision == Decision.REJECTED:
                    continue
                try:
                    certificate = coa.coa_data(disposition, site).certificate
                except Exception as error:
                    self.violate(f"certificate build crashes ({type(error).__name__})", repr(error))
                    continue
                problems = oracle.certificate_disagreements(dose, disposition, certificate, record.qc)
                if problems:
                    self.violate("certificate and batch record disagree", "; ".join(problems))

    @invariant()
    def trial_report_agrees(self):
        """The trial report builds after any story and counts what the records hold: each unit given, as given
        to its patient; each subject taken off study, as stopped."""
        last = db.session.scalar(select(func.max(AuditEvent.id)))
        if getattr(self, "report_seen", None) == last:
            return  # nothing recorded since the last check
        self.report_seen = last
        try:
            report = build_trial_report(db.session, with_charts=False)
        except Exception as error:  # any crash is the finding
            self.violate(f"trial report build crashes ({type(error).__name__})", repr(error))
            return
        given = db.session.scalar(select(func.count()).select_from(Administration))
        counted = (sum(dose.administered for dose in report.doses),
                   sum(patient.given for patient in report.enrolment.patients))
        if counted != (given, given):
            self.violate("trial report miscounts the units given", f"{counted} in the report, {given} recorded")
        stops = db.session.scalar(select(func.count()).select_from(StudyStop))
        stopped = sum(bool(patient.stopped) for patient in report.enrolment.patients)
        if stopped != stops:
            self.violate("trial report miscounts subjects off study", f"{stopped} in the report, {stops} recorded")

    @invariant()
    def audit_trail_verifies(self):
        report = verify_chain(db.session)
        if not report.ok:
            self.violate("audit verify fails", str(report))
        if db.session.get_bind().dialect.name == "postgresql":
            self.verify_from_seal(report)
        self.digest = oracle.data_digest()  # the last invariant: the data as committed after this rule

    def verify_from_seal(self, whole) -> None:
        """From the seal the last rule's verification left (or an earlier example's, on other data): the same
        findings as reading everything."""
        since = verify_chain(db.session, blocks=SEAL_BLOCKS)
        CheckedLifecycle.rows_known += since.rows_known
        if (since.rows_checked, sorted(map(str, since.findings))) != (whole.rows_checked,
                                                                      sorted(map(str, whole.findings))):
            self.violate("audit verify from the seal differs from a whole one", f"{since}\n---\n{whole}")

    def teardown(self):
        """Render the documents; the next example starts from a restored database, the fixture cleans after."""
        try:
            db.session.rollback()
            if Lifecycle.examples % RENDER_EVERY == 1 % RENDER_EVERY:
                self.render_documents()
        finally:
            db.session.remove()
            self.frozen.close()

    def render_documents(self):
        """One lot's batch record and one certificate as PDF, as QA prints them."""
        lot = self.lot("S1")
        try:
            assert render_batch_record(lot).startswith(b"%PDF")
        except Exception as error:
            self.violate(f"batch record PDF fails ({type(error).__name__})", repr(error),
                         "D4" if oracle.lot_has_failing(lot.id) else None)
        for dose in doses_of(lot):
            disposition = release.latest_disposition(dose)
            if disposition is not None and disposition.decision != Decision.REJECTED:
                data = coa.coa_data(disposition, current_app.config["SITE_NAME"])
                assert render_pdf(coa.TEMPLATE, coa=data, revision=0, issued="test").startswith(b"%PDF")
                break


SETTINGS = settings(max_examples=EXAMPLES, stateful_step_count=STEPS, deadline=None, print_blob=True,
                    suppress_health_check=list(HealthCheck))


def test_lifecycle_invariants(database):
    """Random lifecycles of two lots: every invariant holds after every act."""
    Lifecycle.built = None
    CheckedLifecycle.rows_known = 0
    run_state_machine_as_test(CheckedLifecycle, settings=SETTINGS)
    if database.engine.dialect.name == "postgresql":
        assert CheckedLifecycle.rows_known > 0  # the verifications from the seal did start from it
