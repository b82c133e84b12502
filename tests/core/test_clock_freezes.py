"""Freezes entered and left by several threads in any order never leave the clock frozen behind them."""

from datetime import UTC, datetime, timedelta

from manufacturing.core import clock

A, B = datetime(2020, 1, 1, tzinfo=UTC), datetime(2021, 1, 1, tzinfo=UTC)


def test_freezes_left_out_of_order_leave_the_clock_running():
    first, second = clock.frozen(A), clock.frozen(B)
    first.__enter__()
    second.__enter__()  # another thread freezes while the first freeze is in force
    assert clock.now() == B
    first.__exit__(None, None, None)  # the first leaves before the second
    assert clock.now() == B
    second.__exit__(None, None, None)
    assert clock.now() > B + timedelta(days=365)


def test_nested_freezes_and_advance_move_the_innermost():
    with clock.frozen(A):
        with clock.frozen(B):
            clock.advance(timedelta(days=1))
            assert clock.now() == B + timedelta(days=1)
        assert clock.now() == A
