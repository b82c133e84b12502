"""A lot's state read through its transition table: open, on hold, cancelled."""

from types import SimpleNamespace

import pytest

from manufacturing.lots.guards import awaits_release, is_cancelled, is_on_hold, is_open
from manufacturing.lots.models import LotState


@pytest.mark.parametrize(("state", "open_", "held", "cancelled"), [
    (LotState.RECEIVED, True, False, False),
    (LotState.DOSES_PREPARED, True, False, False),
    (LotState.ON_HOLD, False, True, False),
    (LotState.CANCELLED, False, False, True),
])
def test_each_state_is_exactly_one_of_open_on_hold_cancelled(state, open_, held, cancelled):
    lot = SimpleNamespace(state=state)
    assert (is_open(lot), is_on_hold(lot), is_cancelled(lot)) == (open_, held, cancelled)


def test_only_a_lot_with_its_doses_prepared_awaits_release():
    assert awaits_release(SimpleNamespace(state=LotState.DOSES_PREPARED))
    assert not awaits_release(SimpleNamespace(state=LotState.HARVESTED))
