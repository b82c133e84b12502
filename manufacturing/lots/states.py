"""The lot's transition table: the permitted sequence of the process (21 CFR 11.10(f)), hold and cancel."""

from manufacturing.core.transitions import StateMachine, Transition, states
from manufacturing.lots.models import Lot
from manufacturing.lots.models import LotState as S

IN_PROCESS = states(S.RECEIVED, S.CD3_DEPLETED, S.CD56_SELECTED, S.IN_CULTURE, S.HARVESTED, S.DOSES_PREPARED)

LOT = StateMachine(Lot, [
    Transition("cd3_depleted", states(S.RECEIVED), S.CD3_DEPLETED),
    Transition("cd56_selected", states(S.CD3_DEPLETED), S.CD56_SELECTED),
    Transition("seeded", states(S.CD56_SELECTED), S.IN_CULTURE),
    Transition("culture_counted", states(S.IN_CULTURE), S.IN_CULTURE),
    Transition("harvested", states(S.IN_CULTURE), S.HARVESTED),
    Transition("doses_prepared", states(S.HARVESTED), S.DOSES_PREPARED),
    Transition("put_on_hold", IN_PROCESS, S.ON_HOLD),
    Transition("hold_lifted", states(S.ON_HOLD), lambda lot: lot.state_before_hold),
    Transition("cancelled", IN_PROCESS | states(S.ON_HOLD), S.CANCELLED),
], what=lambda lot: f"Lot {lot.lot_number}")
