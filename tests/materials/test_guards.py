"""QA's decisions on a material lot as reason-or-None rules: the page and the operation ask the same."""

import pytest

from manufacturing.materials.guards import quarantine_problem, reject_problem, release_problem
from manufacturing.materials.models import MaterialKind, MaterialLot, MaterialStatus


def lot(status: MaterialStatus) -> MaterialLot:
    return MaterialLot(kind=MaterialKind.BUFFER, name="NK MACS", supplier_lot="L1", status=status)


@pytest.mark.parametrize(("status", "release", "reject", "quarantine"), [
    (MaterialStatus.QUARANTINE, None, None, "is already in quarantine"),
    (MaterialStatus.RELEASED, "is already released", None, None),
    (MaterialStatus.REJECTED, "a rejected lot is never released", "is already rejected", "it stays rejected"),
])
def test_each_decision_starts_only_from_its_states(status, release, reject, quarantine):
    material_lot = lot(status)
    for problem, expected in ((release_problem, release), (reject_problem, reject),
                              (quarantine_problem, quarantine)):
        found = problem(material_lot)
        assert (found is None) if expected is None else (expected in found)
