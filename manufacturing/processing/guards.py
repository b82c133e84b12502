"""Rules of the bench as small predicates: who may record or verify, what the sequence allows."""

from manufacturing.core.permissions import Role
from manufacturing.core.signatures import Meaning, Signature, is_intact, signatures_of
from manufacturing.lots.models import Lot, LotState
from manufacturing.processing.kinds import StepDefinition
from manufacturing.processing.models import ProcessStep, StepStatus


def is_technician(user) -> bool:
    return user.has_role(Role.TECHNICIAN)


def accepts_steps(lot: Lot) -> bool:
    return lot.state not in (LotState.ON_HOLD, LotState.CANCELLED)


def in_sequence(lot: Lot, definition: StepDefinition, history: list[ProcessStep]) -> bool:
    """The lot is where this step starts from (the receipt starts a lot that has no step yet)."""
    if definition.from_state is None:
        return not history
    return lot.state == definition.from_state


def unverified(steps: list[ProcessStep]) -> list[ProcessStep]:
    return [step for step in steps if step.status != StepStatus.VERIFIED]


def performed_signature(step: ProcessStep) -> Signature | None:
    """The latest 'performed' signature: the performer, or the last person who corrected the step."""
    performed = [s for s in signatures_of(step) if s.meaning == Meaning.PERFORMED]
    return performed[-1] if performed else None


def is_performer(step: ProcessStep, user) -> bool:
    signature = performed_signature(step)
    return signature is not None and signature.signer_id == user.id


def performed_intact(step: ProcessStep) -> bool:
    signature = performed_signature(step)
    return signature is not None and is_intact(signature, step)


def can_verify(step: ProcessStep, user) -> bool:
    """The verifier is a technician who did not perform (or last correct) the step."""
    return is_technician(user) and step.status == StepStatus.PERFORMED and not is_performer(step, user)
