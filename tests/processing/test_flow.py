"""A lot from receipt to dose preparation, through the operations."""

from manufacturing.lots.models import LotState
from manufacturing.processing.models import StepKind, StepStatus
from manufacturing.quality import lot_record


def test_a_lot_goes_from_receipt_to_prepared_doses(bench):
    lot = bench.lot_through(StepKind.DOSE_PREPARATION)
    assert lot.state == LotState.DOSES_PREPARED
    executed = lot_record.build(lot)
    assert [view.title for view in executed.steps] == [
        "Apheresis receipt", "CD3 depletion", "CD56 selection", "Culture day 0", "Culture day 5",
        "Culture day 7", "Culture day 10", "Harvest", "Dose preparation"]
    assert all(view.step.status == StepStatus.VERIFIED for view in executed.steps)
    assert all(line.intact for view in executed.steps for line in view.signatures)
    assert len(executed.doses) == 1 and executed.doses[0].division_code == "A0"
    assert len(executed.growth) == 5
