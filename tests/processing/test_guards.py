"""A step's rules as predicates: verified, corrected (by its revision), correctable."""

from types import SimpleNamespace

import pytest

from manufacturing.processing.guards import correction_problem, is_corrected, is_verified
from manufacturing.processing.models import StepKind, StepStatus


@pytest.mark.parametrize(("revision", "corrected"), [(1, False), (2, True), (5, True)])
def test_a_step_is_corrected_once_its_revision_is_raised(revision, corrected):
    assert is_corrected(SimpleNamespace(revision=revision)) is corrected


def test_a_step_is_verified_only_in_the_verified_state():
    assert is_verified(SimpleNamespace(status=StepStatus.VERIFIED))
    assert not is_verified(SimpleNamespace(status=StepStatus.PERFORMED))


def test_the_dose_preparation_is_never_corrected():
    assert "not corrected" in correction_problem(SimpleNamespace(kind=StepKind.DOSE_PREPARATION))
    assert correction_problem(SimpleNamespace(kind=StepKind.HARVEST)) is None
