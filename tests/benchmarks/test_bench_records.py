"""Benchmarks: the batch record of the complete demo lot against the naive reference, in one run.

The reference (naive-record.html) is a 36-page record laid out the naive way: long multi-page tables
with collapsed borders. Our record of the demo lot (fourteen culture days, five dose units, its whole
audit trail) must render in at most RATIO_BOUND of the reference's time. The two are rendered in turn,
round after round (the order swapped every round), so that a busy machine slows both alike, and the
median of the rounds' ratios is compared. Run with `make bench`; the summary prints pages, seconds,
the ratio and peak memory.
"""

import io
import os
import statistics
import time
import tracemalloc
from pathlib import Path

import pytest
from pypdf import PdfReader
from weasyprint import HTML

from manufacturing.core import clock
from manufacturing.demo import load_story
from manufacturing.extensions import db
from manufacturing.lots.models import Lot
from manufacturing.records.documents import batch_record, render_batch_record
from tests.conftest import clean_database
from tests.demo_site import AWAITING_QA, lot_of
from tests.factories import PASSWORD, make_user

NAIVE = Path(__file__).with_name("naive-record.html")
ROUNDS = int(os.environ.get("BENCH_RECORD_ROUNDS", 5))
RATIO_BOUND = 0.3
"""The record of the demo lot takes about a quarter of the reference's time (13 pages against 36); the bound
leaves a margin for the noise that remains between two renderings a few seconds apart."""


@pytest.fixture(scope="module")
def demo_lot(app):
    """The demo story, loaded once for these benchmarks."""
    with app.app_context():
        load_story(clock.now().replace(second=0, microsecond=0))
        db.session.commit()
        lot_id = lot_of(AWAITING_QA).id
        db.session.remove()
    yield lot_id
    with app.app_context():
        clean_database()


def _median(benchmark) -> float:
    return benchmark.stats.stats.median


def _seconds(render) -> float:
    started = time.perf_counter()
    render()
    return time.perf_counter() - started


def test_bench_batch_record_beside_the_naive_reference(benchmark, app, demo_lot, tmp_path):
    target = tmp_path / "naive.pdf"
    with app.app_context(), app.test_request_context():
        lot = db.session.get(Lot, demo_lot)
        renderers = {"naive": lambda: HTML(filename=str(NAIVE)).write_pdf(target),
                     "ours": lambda: render_batch_record(lot)}
        times: dict[str, list[float]] = {"naive": [], "ours": []}
        renderers["ours"](), renderers["naive"]()  # warm-up: fonts, templates, caches

        def rounds():
            for number in range(ROUNDS):
                for name in sorted(renderers, reverse=number % 2 == 1):
                    times[name].append(_seconds(renderers[name]))

        benchmark.pedantic(rounds, rounds=1, iterations=1)
        pdf = render_batch_record(lot)
        tracemalloc.start()
        render_batch_record(lot)
        peak_mib = tracemalloc.get_traced_memory()[1] / 2**20
        tracemalloc.stop()
    ratio = statistics.median(ours / naive for ours, naive in zip(times["ours"], times["naive"], strict=True))
    naive, ours = statistics.median(times["naive"]), statistics.median(times["ours"])
    naive_pages, our_pages = len(PdfReader(target).pages), len(PdfReader(io.BytesIO(pdf)).pages)
    benchmark.extra_info.update(naive_s=naive, ours_s=ours, ratio=ratio, peak_mib=peak_mib)
    print(f"\nmedians of {ROUNDS} interleaved rounds: naive reference {naive_pages} pages in {naive:.2f} s; "
          f"demo batch record {our_pages} pages in {ours:.2f} s; ratio {ratio:.3f} (bound {RATIO_BOUND}); "
          f"peak Python memory {peak_mib:.0f} MiB")
    assert ratio <= RATIO_BOUND


def test_bench_serving_a_stored_document(benchmark, app, demo_lot):
    with app.app_context(), app.test_request_context():
        lot = db.session.get(Lot, demo_lot)
        document = batch_record(lot)
        db.session.commit()
        document_id = document.id
        make_user("bench.reader", roles=["QA"])
        db.session.remove()
    client = app.test_client()
    client.post("/login", data={"username": "bench.reader", "password": PASSWORD})
    response = benchmark(client.get, f"/records/documents/{document_id}")
    assert response.status_code == 200 and response.data.startswith(b"%PDF")
    assert _median(benchmark) < 0.1
