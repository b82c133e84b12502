"""An infusion order's status: open to be served, and the colour of its badge."""

from types import SimpleNamespace

import pytest

from manufacturing.patients.guards import is_open_order, order_tone
from manufacturing.patients.models import OrderStatus


@pytest.mark.parametrize(("status", "open_", "tone"), [
    (OrderStatus.OPEN, True, "amber"),
    (OrderStatus.FULFILLED, False, "green"),
    (OrderStatus.CANCELLED, False, "grey"),
])
def test_only_an_open_order_is_served(status, open_, tone):
    assert is_open_order(SimpleNamespace(status=status)) is open_
    assert order_tone(status) == tone


def test_an_infusion_not_ordered_is_grey():
    assert order_tone(None) == "grey"
