"""Rules of the bench as small predicates: who may record or verify, what the sequence allows."""

from manufacturing.core.errors import DomainError, NotPermitted, OutOfSequence
from manufacturing.core.permissions import Role
from manufacturing.core.signatures import Meaning, Signature, is_intact, signatures_of
from manufacturing.lots.guards import closed_problem
from manufacturing.lots.models import Lot
from manufacturing.lots.states import LOT
from manufacturing.processing.kinds import StepDefinition
from manufacturing.processing.models import ProcessStep, StepKind, StepStatus
from manufacturing.processing.states import STEP


def is_technician(user) -> bool:
    return user.has_role(Role.TECHNICIAN)


def in_sequence(lot: Lot, definition: StepDefinition, history: list[ProcessStep]) -> bool:
    """The lot is where this step starts from (the receipt starts a lot that has no step yet)."""
    if definition.lot_action is None:
        return not history
    return LOT.allows(lot, definition.lot_action)


def is_verified(step: ProcessStep) -> bool:
    """The step's current version was verified by a second technician."""
    return step.status == StepStatus.VERIFIED


def unverified_clause():
    """`is_verified` turned round, as an SQL condition on the steps' table."""
    return ProcessStep.status != StepStatus.VERIFIED


def unverified(steps: list[ProcessStep]) -> list[ProcessStep]:
    return [step for step in steps if not is_verified(step)]


def correction_problem(step: ProcessStep) -> str | None:
    """Say why this step is never corrected, or None: dose units are rejected and made again instead."""
    if step.kind == StepKind.DOSE_PREPARATION:
        return "Dose units are not corrected: record a deviation and have QA reject the unit."
    return None


def is_corrected(step: ProcessStep) -> bool:
    """The step was corrected after it was first signed: every correction raises its revision."""
    return step.revision > 1


def performed_signature(step: ProcessStep, signatures: list[Signature] | None = None) -> Signature | None:
    """The latest 'performed' signature: the performer, or the last person who corrected the step.

    `signatures`: the step's signatures when already read (a page reads a lot's at once).
    """
    performed = [s for s in (signatures_of(step) if signatures is None else signatures)
                 if s.meaning == Meaning.PERFORMED]
    return performed[-1] if performed else None


def is_performer(step: ProcessStep, user, signatures: list[Signature] | None = None) -> bool:
    signature = performed_signature(step, signatures)
    return signature is not None and signature.signer_id == user.id


def performed_intact(step: ProcessStep, signatures: list[Signature] | None = None) -> bool:
    signature = performed_signature(step, signatures)
    return signature is not None and is_intact(signature, step)


def verify_refusal(step: ProcessStep, user, signatures: list[Signature] | None = None) -> DomainError | None:
    """Say why this user cannot verify the step now, or None: the second person, on an open lot, intact."""
    if not is_technician(user):
        return NotPermitted("Only cell-processing technicians verify process steps.")
    if (problem := closed_problem(step.lot, "no step of it is verified until QA lifts the hold")):
        return OutOfSequence(problem)
    if (problem := STEP.refusal(step, "verified")):
        return OutOfSequence(problem)
    if is_performer(step, user, signatures):
        return NotPermitted("You performed this step (or its last correction): a second technician must verify it.")
    if not performed_intact(step, signatures):
        return OutOfSequence("The performed signature is broken: the step must be signed again before verification.")
    return None


def can_verify(step: ProcessStep, user, signatures: list[Signature] | None = None) -> bool:
    """The verifier is a technician who did not perform (or last correct) the step, on a lot not on hold."""
    return verify_refusal(step, user, signatures) is None
