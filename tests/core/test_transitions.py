"""State machines: the only way a state changes is its record's transition, under a lock, audited."""

import pytest
from sqlalchemy import select

from manufacturing.core.audit import AuditEvent
from manufacturing.core.errors import DomainError, OutOfSequence
from manufacturing.core.transitions import StateAssignmentError
from manufacturing.lots.models import LotState
from manufacturing.lots.states import LOT
from manufacturing.processing.models import StepKind
from manufacturing.processing.states import DOSE, STEP


@pytest.fixture
def lot(bench):
    return bench.lot_through(StepKind.CD3_DEPLETION, verify_last=False)


def test_a_state_assigned_outside_its_transition_raises(lot):
    with pytest.raises(StateAssignmentError, match=r"Lot\.state is assigned outside its transition function"):
        lot.state = LotState.CANCELLED


def test_a_move_checks_the_table_changes_the_state_and_records_the_event(lot, database):
    assert LOT.allows(lot, "cd56_selected") and not LOT.allows(lot, "harvested")
    with pytest.raises(OutOfSequence, match="is cd3 depleted: it cannot be harvested"):
        LOT.move(lot, "harvested")
    old = LOT.move(lot, "put_on_hold")
    assert (old, lot.state) == (LotState.CD3_DEPLETED, LotState.ON_HOLD)
    event = database.session.scalars(select(AuditEvent).where(AuditEvent.action == "lot.put_on_hold")).one()
    assert event.change_map["state"] == {"old": "CD3_DEPLETED", "new": "ON_HOLD"}
    database.session.rollback()


def test_a_guard_refuses_in_the_lab_s_words(lot, database):
    with pytest.raises(DomainError, match="not today"):
        LOT.move(lot, "put_on_hold", guard=lambda: "not today")
    database.session.rollback()
    assert lot.state == LotState.CD3_DEPLETED


@pytest.mark.parametrize("machine", [LOT, STEP, DOSE])
def test_every_action_leads_from_named_states(machine):
    for transition in machine.transitions.values():
        assert transition.sources, transition.action
