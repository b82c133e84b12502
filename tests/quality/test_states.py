"""Quality records read through their transition tables: a verified QC result, an open deviation."""

from types import SimpleNamespace

from manufacturing.quality.models import DeviationStatus, QcStatus
from manufacturing.quality.states import is_open, is_verified


def test_a_result_is_verified_once_nothing_is_left_to_verify():
    assert not is_verified(SimpleNamespace(status=QcStatus.RECORDED))
    assert is_verified(SimpleNamespace(status=QcStatus.VERIFIED))


def test_a_deviation_is_open_until_closed():
    assert is_open(SimpleNamespace(status=DeviationStatus.OPEN))
    assert not is_open(SimpleNamespace(status=DeviationStatus.CLOSED))
