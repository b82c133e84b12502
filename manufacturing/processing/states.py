"""Transition tables of the bench's records: a process step, and a dose unit from quarantine to the patient."""

from manufacturing.core.text import in_sentence
from manufacturing.core.transitions import StateMachine, Transition, states
from manufacturing.processing.models import DoseState as D
from manufacturing.processing.models import DoseUnit, ProcessStep, StepStatus

STEP = StateMachine(ProcessStep, [
    Transition("verified", states(StepStatus.PERFORMED), StepStatus.VERIFIED),
    Transition("corrected", states(StepStatus.PERFORMED, StepStatus.VERIFIED), StepStatus.PERFORMED),
], field="status", what=lambda step: f"The {in_sentence(step.kind.title)}")

RELEASED = states(D.RELEASED_INTERIM, D.RELEASED)
# Units that count as released for the lot's results: a failing result after release reaches them.
GONE_OUT = RELEASED | states(D.ISSUED, D.ADMINISTERED)

DOSE = StateMachine(DoseUnit, [
    Transition("released_interim", states(D.QUARANTINE, D.ON_HOLD), D.RELEASED_INTERIM),
    Transition("released", states(D.QUARANTINE, D.ON_HOLD), D.RELEASED),
    Transition("final_certificate", states(D.RELEASED_INTERIM), D.RELEASED),
    Transition("rejected", states(D.QUARANTINE, D.ON_HOLD) | RELEASED, D.REJECTED),
    Transition("issued", RELEASED, D.ISSUED),
    # A unit held at the ward was already being given if its infusion started before the hold (the operation
    # checks the times); otherwise it comes back to the pharmacy.
    Transition("administered", states(D.ISSUED, D.ON_HOLD), D.ADMINISTERED),
    Transition("returned", states(D.ISSUED, D.ON_HOLD), D.RETURNED),
    Transition("put_on_hold", RELEASED | states(D.ISSUED), D.ON_HOLD),
    Transition("discarded", states(D.QUARANTINE, D.ON_HOLD, D.RETURNED, D.REJECTED) | RELEASED, D.DISCARDED),
], what=lambda dose: f"Dose unit {dose.division_code}", prefix="dose")

# How a unit's state reads at a glance: given or on its way is green, stopped for good or held is red.
GOOD = GONE_OUT
STOPPED = states(D.REJECTED, D.DISCARDED, D.ON_HOLD)


def dose_tone(dose: DoseUnit) -> str:
    """The colour of a unit's state badge."""
    return "green" if dose.state in GOOD else "red" if dose.state in STOPPED else "amber"
