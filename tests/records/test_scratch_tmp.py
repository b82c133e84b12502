import time
from manufacturing.core.audit import set_actor
from manufacturing.processing.doses import doses_of
from manufacturing.processing.models import StepKind
from manufacturing.records.label import print_label
from tests.processing.conftest import bench  # noqa

def test_show(database, bench):
    lot = bench.lot_through(StepKind.DOSE_PREPARATION)
    dose = doses_of(lot)[0]
    set_actor(database.session, bench.technician.id, bench.technician.username)
    t=time.perf_counter()
    pdf, lp = print_label(dose, bench.technician)
    print("time", time.perf_counter()-t)
    open("/tmp/label.pdf","wb").write(pdf)
    t=time.perf_counter()
    pdf, lp = print_label(dose, bench.technician, reason="smudged")
    print("time", time.perf_counter()-t)
    open("/tmp/label2.pdf","wb").write(pdf)
