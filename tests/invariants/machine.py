"""The lifecycle machine: the real operations of the product, in random orders, on a fixed world of two lots.

Each rule picks its target with hypothesis and runs one operation as a request does: commit on success; on a
refusal (the DomainError family) roll back, keep the refusal's follow-ups, and check the data are unchanged.
The invariants checked after every rule are in test_lifecycle_stateful.py.
"""

from contextlib import ExitStack
from datetime import timedelta

from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, initialize, precondition, rule
from sqlalchemy import select

from manufacturing.core import clock
from manufacturing.core.audit import set_actor
from manufacturing.core.errors import DomainError
from manufacturing.core.signatures import Meaning, signatures_of
from manufacturing.core.web import settle_refusal
from manufacturing.dispensing import operations as dispensing
from manufacturing.dispensing.models import Administration, BedsideCheck, Issue
from manufacturing.extensions import db
from manufacturing.lots import operations as lots
from manufacturing.lots.models import Lot, LotState
from manufacturing.patients.models import InfusionOrder, StopReason
from manufacturing.patients.operations import take_off_study
from manufacturing.processing import operations as processing
from manufacturing.processing.models import DoseKind, DoseState, DoseUnit, ProcessStep, StepKind, StepStatus
from manufacturing.quality import operations as quality
from manufacturing.quality import qc
from manufacturing.quality.models import Deviation, DeviationClass, DeviationStatus, QcKind, QcStatus
from manufacturing.release import alerts
from manufacturing.release import operations as release
from manufacturing.release.models import ReleaseAlert
from tests.conftest import clean_database
from tests.dispensing.factories import administer, check, issue
from tests.factories import PASSWORD
from tests.invariants import oracle
from tests.invariants.findings import product_gate, violation
from tests.invariants.world import LOT_NAMES, NOW, TESTS, UNIT_NAMES, build_world, entry, sample_of
from tests.patients.factories import make_order
from tests.snapshots import restore, snapshot

ACTS = (("issue", Issue), ("bedside check", BedsideCheck), ("administration", Administration))

# Subject 1's lot, and its fresh unit, come up more often: long stories on one unit find more than scattered acts
# on four; subject 2's lot is the other bag and wristband at the bedside and the other subject's order at issue.
UNIT = st.sampled_from((UNIT_NAMES[0], *UNIT_NAMES))
LOT = st.sampled_from((LOT_NAMES[0], *LOT_NAMES))
TECH, QA = st.sampled_from(("tech.one", "tech.two")), st.sampled_from(("qa.one", "qa.two"))
OUTCOME = st.sampled_from(("pass", "pass", "fail"))
ISSUABLE = frozenset({DoseState.RELEASED_INTERIM, DoseState.RELEASED})
RELEASED = ISSUABLE | {DoseState.ISSUED, DoseState.ADMINISTERED}
LABELLED = ISSUABLE | {DoseState.QUARANTINE, DoseState.ISSUED}
MISMATCHES = ("wristband", "din", "division")
MISMATCH = st.sampled_from((None, None, *MISMATCHES))


def act(units: frozenset | str | None = None, lots: str | None = None, **strategies):
    """A rule: noted in the trace, one minute after the previous act (so that every act has its own time).

    With `units` (dose states, or a list the machine keeps, e.g. units with an open alert) or `lots` (e.g. lots
    with a step awaiting verification), the rule runs only while there is such a target, and draws it among
    them: an issue is tried on a released unit, a bedside check on an issued one, not on units that would only
    be refused, so that random stories reach further into the lifecycle.
    """
    def decorate(function):
        def run(self, data=None, **arguments):
            name, candidates = self.candidates(units, lots)
            if name:
                arguments[name] = data.draw(st.sampled_from(candidates), label=name)
            self.trace.append(f"{function.__name__}({', '.join(f'{k}={v!r}' for k, v in arguments.items())})")
            clock.advance(timedelta(minutes=1))
            function(self, **arguments)
            self.read_states()
        run.__name__ = run.__qualname__ = function.__name__
        targeted = units is not None or lots is not None
        run = rule(**strategies, **({"data": st.data()} if targeted else {}))(run)
        if targeted:
            run = precondition(lambda self: bool(self.candidates(units, lots)[1]))(run)
        return run
    return decorate


class Lifecycle(RuleBasedStateMachine):
    examples = 0
    built: tuple | None = None  # (world, rows): built once per test run with the factories, restored after

    def __init__(self):
        super().__init__()
        self.frozen = ExitStack()
        self.frozen.enter_context(clock.frozen(NOW))
        try:
            if Lifecycle.built is None:
                db.session.remove()
                clean_database()
                Lifecycle.built = (build_world(), snapshot())
            restore(Lifecycle.built[1])
            self.world = Lifecycle.built[0].reloaded()
        except BaseException:
            self.frozen.close()
            raise
        self.users, self.trace = self.world.users, []
        self.verdicts: dict[tuple[str, int], list[str]] = {}
        self.reported: set = set()
        self.records_seen: dict[int, int | None] = {}  # lot id -> last audit event of the lot checked
        self.corrections = 0
        self.bedside: dict[str, str] = {}  # unit -> "match" or "mismatch": the last bedside reading that counted
        self.digest = oracle.data_digest()
        self.read_states()
        Lifecycle.examples += 1

    def read_states(self) -> None:
        """What the targeted rules choose from: each unit's state, and what waits for someone, by lot or unit."""
        by_id = dict(db.session.execute(select(DoseUnit.id, DoseUnit.state)).all())
        self.states = {name: by_id[unit_id] for name, (_, unit_id) in self.world.units.items()}
        lots = {place.ward.lot.id: name for name, place in self.world.places.items()}
        units = {unit_id: name for name, (_, unit_id) in self.world.units.items()}
        queries = {
            "steps": select(ProcessStep.lot_id).where(ProcessStep.status != StepStatus.VERIFIED),
            "results": select(qc.QcResult.lot_id).where(qc.QcResult.status == QcStatus.RECORDED),
            "deviations": select(Deviation.lot_id).where(Deviation.status == DeviationStatus.OPEN),
            "holds": select(Lot.id).where(Lot.state == LotState.ON_HOLD),
        }
        self.waiting = {key: {lots[lot_id] for lot_id in db.session.scalars(query)} for key, query in queries.items()}
        alerts = select(ReleaseAlert.dose_unit_id).where(ReleaseAlert.informed_at.is_(None))
        self.waiting["alerts"] = {units[unit_id] for unit_id in db.session.scalars(alerts)}

    def candidates(self, units, lots) -> tuple[str | None, list[str]]:
        if isinstance(units, str):
            return "unit", sorted(self.waiting[units])
        if units is not None:
            return "unit", [name for name in UNIT_NAMES if self.states[name] in units]
        if lots is not None:
            return "lot", sorted(self.waiting[lots])
        return None, []

    @initialize(start=st.sampled_from(("as built", "as built", "at the ward")))
    def start_from(self, start):
        """Some stories begin with subject 1's fresh unit released, labelled and issued through the operations, so
        that random acts at the bedside (checks, mismatches, administration) are reached within a story's length."""
        if start == "as built":
            return
        self.trace.append(f"start_from({start!r})")
        unit = UNIT_NAMES[0]
        for step in (lambda: self._release(unit, "qa.one", final=False),
                     lambda: self._print_label(unit, "pharm.one", None),
                     lambda: self._issue(unit, wrong_subject=False)):
            clock.advance(timedelta(minutes=1))  # each act at a time of its own, as the rules do
            step()
        self.read_states()

    # ---- helpers --------------------------------------------------------------------------------

    def violate(self, tag: str, message: str, defect: str | None = None) -> None:
        trace = " -> ".join(self.trace) or "(world as built)"
        raise violation(tag)(f"{tag}: {message}\n  known defect: {defect or 'no'}\n  steps: {trace}")

    def attempt(self, user, operation, *args, **kwargs) -> tuple[bool, str]:
        """Run an operation as a user and commit (as a request does); a refusal leaves the data unchanged."""
        set_actor(db.session, user.id, user.username)
        try:
            operation(*args, **kwargs)
            db.session.commit()
            self.digest = oracle.data_digest()  # a rule may act again after this (a second reading at the bedside)
            return True, ""
        except DomainError as error:
            settle_refusal(error)
            if oracle.data_digest() != self.digest:
                self.violate("refusal changed the data", f"{operation.__name__} refused ({error.message}) "
                             "but the data differ from before")
            return False, error.message

    def gated(self, act_name: str, unit: str, run, stopped: bool = False) -> bool:
        """Do an act of giving; remember what the oracle said of the unit just before it (and whether the
        machine's own bedside readings stop it)."""
        dose, now = self.world.dose(unit), clock.now()
        unfit = oracle.unfit_reasons(dose, now, act_name)
        gate = product_gate()
        if unfit and gate is not None and not gate(dose, now):
            self.violate("product gate silent", f"{unit} at {act_name}: the oracle finds {unfit}, "
                         "manufacturing.dispensing.fitness.unfit_reasons none")
        reasons = unfit + ([oracle.STOPPED] if stopped else [])  # the STOP is the bedside's, not the unit's
        ok, _ = run()
        if ok:
            model = dict(ACTS)[act_name]
            row = db.session.scalars(select(model).where(model.dose_unit_id == dose.id).order_by(model.id.desc()))
            self.verdicts[(act_name, row.first().id)] = reasons
        return ok

    def place_dose(self, unit: str):
        return self.world.place_of(unit), self.world.dose(unit)

    def lot(self, name: str):
        return self.world.places[name].ward.lot

    # ---- process steps, QC and deviations -------------------------------------------------------

    @act(lot=LOT, kind=st.sampled_from(("CULTURE_DAY", "HARVEST")), by=TECH)
    def correct_step(self, lot, kind, by):
        place, user = self.world.places[lot], self.users[by]
        step = [s for s in processing.lot_steps(place.ward.lot) if s.kind == StepKind[kind]][-1]
        values = {value.key: value.entered for value in step.values}
        values["viability"] = next(v for v in ("92 %", "94 %") if v != values.get("viability"))
        self.corrections += 1
        given = place.bench.step_input(step.kind, step.performed_at, **values)
        given.observations = f"Correction {self.corrections}"  # every correction is a new version
        self.attempt(user, processing.correct_step, step, given, "Transcription error", user, PASSWORD, by)

    @act(lots="steps", by=st.sampled_from(("other", "other", "performer")))
    def verify_step(self, lot, by):
        """The second technician verifies (or, to be refused, whoever performed the step or its correction)."""
        step = next(s for s in processing.lot_steps(self.lot(lot)) if s.status != StepStatus.VERIFIED)
        performer = [s.signer_id for s in signatures_of(step) if s.meaning == Meaning.PERFORMED][-1]
        name = next(n for n in ("tech.one", "tech.two") if (self.users[n].id == performer) == (by == "performer"))
        self.attempt(self.users[name], processing.verify_step, step, self.users[name], PASSWORD, name)

    @act(unit=UNIT, test=st.sampled_from(TESTS), outcome=OUTCOME, by=st.sampled_from(("tech.one", "qa.one")))
    def record_qc(self, unit, test, outcome, by):
        self._record_qc(unit, test, outcome == "fail", by)

    @act(RELEASED | {DoseState.QUARANTINE}, growth=st.booleans())
    def read_sterility(self, unit, growth):
        """The culture is read days after the sample: often after an interim release of a fresh unit."""
        self._record_qc(unit, "sterility", growth, "tech.one")

    def _record_qc(self, unit, test, failing, by):
        dose, user = self.world.dose(unit), self.users[by]
        sample = sample_of(test, dose)
        earlier = qc.results_of_test(dose.lot, sample, test)
        repeat = {"kind": QcKind.RETEST, "retest_of": earlier[-1], "comment": "Retest"} if earlier else {}
        self.attempt(user, qc.record_result, dose.lot, sample, test, entry(test, dose, failing),
                     clock.now(), user, PASSWORD, by, **repeat)

    @act(lots="results", by=st.sampled_from(("tech.two", "qa.two", "tech.one")))
    def verify_qc(self, lot, by):
        query = select(qc.QcResult).where(qc.QcResult.lot_id == self.lot(lot).id,
                                          qc.QcResult.status == QcStatus.RECORDED)
        result = db.session.scalars(query.order_by(qc.QcResult.id)).first()
        if result is not None:
            self.attempt(self.users[by], qc.verify_result, result, self.users[by], PASSWORD, by)

    @act(lot=LOT, by=st.sampled_from(("tech.one", "qa.one")), classification=st.sampled_from(DeviationClass))
    def open_deviation(self, lot, by, classification):
        self.attempt(self.users[by], quality.open_deviation, self.lot(lot), self.users[by], classification,
                     "Bench deviation", "Incubator door found ajar", "Door closed, temperature checked")

    def _deviation(self, lot):
        query = select(Deviation).where(Deviation.lot_id == self.lot(lot).id, Deviation.status == DeviationStatus.OPEN)
        return db.session.scalars(query.order_by(Deviation.id)).first()

    @act(lots="deviations", affects=st.sampled_from((False, False, True)))
    def assess_deviation(self, lot, affects):
        deviation = self._deviation(lot)
        if deviation is not None:
            reason = "Reassessed" if deviation.impact_assessment else None
            self.attempt(self.users["qa.one"], quality.assess, deviation, self.users["qa.one"], "Assessed", affects,
                         reason)

    @act(lots="deviations")
    def close_deviation(self, lot):
        deviation = self._deviation(lot)
        if deviation is not None:
            self.attempt(self.users["qa.one"], quality.close, deviation, self.users["qa.one"], PASSWORD, "qa.one")

    # ---- release, alerts, labels, hold ----------------------------------------------------------

    def _release(self, unit, by, final: bool, exceptional: bool = False):
        dose, user = self.world.dose(unit), self.users[by]
        blockers = oracle.release_blockers(dose, final, exceptional)
        if final:
            ok, message = self.attempt(user, release.release_final, dose, user, PASSWORD, by)
        else:
            extra = {"justification": "No alternative product; benefit outweighs the risk",
                     "physician_name": "Dr. Anna Conti", "physician_acknowledged_on": clock.today()}
            ok, message = self.attempt(user, release.release_dose, dose, user, PASSWORD, by,
                                       **(extra if exceptional else {}))
        frozen_pending = dose.kind == DoseKind.CRYOPRESERVED and blockers == ["sterility has no result"]
        if ok and blockers:
            self.violate("release granted despite blockers", f"{unit}: {blockers}", "D3" if frozen_pending else None)
        if not ok and not blockers:
            defect = "D5" if oracle.lot_has_correction(dose.lot_id) else None
            self.violate("release refused although releasable", f"{unit}: {message}", defect)

    @act(frozenset({DoseState.QUARANTINE}), by=QA, exceptional=st.booleans())
    def release(self, unit, by, exceptional):
        self._release(unit, by, final=False, exceptional=exceptional)

    @act(oracle.FINAL_FROM, by=QA)
    def release_final(self, unit, by):
        self._release(unit, by, final=True)

    @act(unit=UNIT)
    def reject(self, unit):
        dose = self.world.dose(unit)
        self.attempt(self.users["qa.two"], release.reject_dose, dose, self.users["qa.two"], PASSWORD, "qa.two",
                     "Bag damaged")

    @act("alerts")
    def inform_physician(self, unit):
        query = select(ReleaseAlert).where(ReleaseAlert.dose_unit_id == self.world.dose(unit).id,
                                           ReleaseAlert.informed_at.is_(None))
        alert = db.session.scalars(query).first()
        if alert is not None:
            self.attempt(self.users["qa.one"], alerts.record_physician_informed, alert, self.users["qa.one"],
                         "Dr. Anna Conti", "Informed by phone")

    @act(LABELLED, by=st.sampled_from(("tech.one", "pharm.one")), reason=st.sampled_from((None, "Label smudged")))
    def print_label(self, unit, by, reason):
        self._print_label(unit, by, reason)

    def _print_label(self, unit, by, reason):
        from manufacturing.records import label

        self.attempt(self.users[by], label.print_label, self.world.dose(unit), self.users[by], reason)

    @act(lot=LOT, by=st.sampled_from(("tech.one", "qa.one")))
    def hold(self, lot, by):
        self.attempt(self.users[by], lots.hold, self.lot(lot), self.users[by], "Hold for investigation")

    @act(lots="holds")
    def lift_hold(self, lot):
        self.attempt(self.users["qa.two"], lots.lift_hold, self.lot(lot), self.users["qa.two"], "Investigated")

    # ---- pharmacy and ward ----------------------------------------------------------------------

    @act(lot=LOT)
    def order_next_infusion(self, lot):
        pharmacist, subject = self.users["pharm.one"], self.world.places[lot].bench.subject
        self.attempt(pharmacist, make_order, pharmacist, subject)

    @act(lot=LOT)
    def take_off_study(self, lot):
        pharmacist, subject = self.users["pharm.one"], self.world.places[lot].bench.subject
        self.attempt(pharmacist, take_off_study, pharmacist, subject, StopReason.TOXICITY, clock.today(),
                     "Grade 3 cytokine release syndrome", PASSWORD, pharmacist.username)

    @act(ISSUABLE, wrong_subject=st.sampled_from((False, False, True)))
    def issue(self, unit, wrong_subject):
        self._issue(unit, wrong_subject)

    def _issue(self, unit, wrong_subject):
        place, dose = self.place_dose(unit)
        subject = (self.world.other(place) if wrong_subject else place).bench.subject
        query = select(InfusionOrder).where(InfusionOrder.subject_id == subject.id)
        orders = list(db.session.scalars(query.order_by(InfusionOrder.id)))
        order = next((o for o in orders if o.infusion_number == dose.infusion_number), orders[-1])
        pharmacist = self.users["pharm.one"]
        given = self.gated("issue", unit, lambda: self.attempt(pharmacist, issue, place.ward, dose, order))
        if given and wrong_subject:
            self.violate("issued on another subject's order", unit)

    @act(frozenset({DoseState.ISSUED}), mismatch=MISMATCH, side=st.sampled_from(("first", "second")),
         then=st.sampled_from((None, None, *MISMATCHES)))
    def bedside_check(self, unit, mismatch, side, then=None):
        """Both people read wristband and bag; with `then`, a second reading follows (another bag brought, say)."""
        self._read_at_bedside(unit, mismatch, side)
        if then is not None:
            clock.advance(timedelta(minutes=1))
            self._read_at_bedside(unit, then, side)

    def _read_at_bedside(self, unit, mismatch, side):
        place, dose = self.place_dose(unit)
        right = {"wristband": place.wristband, "bag_din": place.scan, "bag_division": dose.division_code}
        wrong = dict(right)
        if mismatch == "wristband":
            wrong["wristband"] = self.world.other(place).wristband
        elif mismatch == "din":
            wrong["bag_din"] = self.world.other(place).scan
        elif mismatch == "division":
            wrong["bag_division"] = "B0" if dose.division_code == "A0" else "A0"
        first, second = (wrong, right) if side == "first" else (right, wrong)
        pharmacist, fit = self.users["pharm.one"], not oracle.unfit_reasons(dose, clock.now(), "bedside check")
        checked = self.gated("bedside check", unit,
                             lambda: self.attempt(pharmacist, check, place.ward, dose, first, second))
        if checked and mismatch:
            self.violate("bedside check passed a mismatch", f"{unit}: wrong {mismatch} read by the {side} checker")
        if checked:
            self.bedside[unit] = "match"
        elif mismatch and fit:  # a fit unit read against another bag or wristband: refused, and it counts
            self.bedside[unit] = "mismatch"

    @act(frozenset({DoseState.ISSUED}))
    def administer(self, unit):
        place, dose = self.place_dose(unit)
        volume, started = f"{dose.final_volume.m_as('mL'):g} mL", clock.now()
        self.gated("administration", unit, lambda: self.attempt(self.users["pharm.one"], administer, place.ward, dose,
                                                                started_at=started, volume_infused_text=volume),
                   stopped=self.bedside.get(unit) == "mismatch")
        clock.advance(timedelta(minutes=36))  # the infusion takes 30 minutes, recorded 5 minutes after its end

    @act(frozenset({DoseState.ISSUED}))
    def return_unit(self, unit):
        self.attempt(self.users["pharm.one"], dispensing.return_dose, self.world.dose(unit), self.users["pharm.one"],
                     "Patient febrile, infusion postponed")

    @act(unit=UNIT, by=st.sampled_from(("pharm.one", "qa.one")))
    def discard(self, unit, by):
        self.attempt(self.users[by], dispensing.discard_dose, self.world.dose(unit), self.users[by], "Not to be given")

    @rule(minutes=st.sampled_from((30, 360, 1440, 8 * 1440, 29 * 1440)))
    def advance_clock(self, minutes):
        self.trace.append(f"advance_clock(minutes={minutes})")
        clock.advance(timedelta(minutes=minutes))
