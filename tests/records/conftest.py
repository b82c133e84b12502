"""A bench ready for work, for the tests of the processing steps."""

from datetime import timedelta

import pytest

from manufacturing.core import clock
from tests.processing.factories import set_up_bench


@pytest.fixture
def bench(database, technician, verifier, qa_user, pharmacist):
    start = clock.now().replace(hour=8, minute=0, second=0, microsecond=0) - timedelta(days=20)
    return set_up_bench(technician, verifier, qa_user, pharmacist, start)
