"""Benchmarks: the batch record of the complete demo lot against the naive reference, in one run.

The reference (naive-record.html) is a 36-page record laid out the naive way: long multi-page tables
with collapsed borders. Our record of the demo lot (fourteen culture days, five dose units, its whole
audit trail) must render in at most a quarter of the reference's time, measured in the same run.
Run with `make bench`; the summary prints pages, seconds, the ratio and peak memory.
"""

import io
import tracemalloc
from pathlib import Path

import pytest
from pypdf import PdfReader
from sqlalchemy import select
from weasyprint import HTML

from manufacturing.core import clock
from manufacturing.demo import load_story
from manufacturing.extensions import db
from manufacturing.lots.models import Lot, LotState
from manufacturing.records.documents import batch_record, render_batch_record
from tests.conftest import clean_database
from tests.factories import PASSWORD, make_user

NAIVE = Path(__file__).with_name("naive-record.html")
RESULTS: dict[str, float] = {}


@pytest.fixture(scope="module")
def demo_lot(app):
    """The demo story, loaded once for these benchmarks."""
    with app.app_context():
        load_story(clock.now().replace(second=0, microsecond=0))
        db.session.commit()
        lot_id = db.session.scalar(select(Lot.id).where(Lot.state == LotState.DOSES_PREPARED))
        db.session.remove()
    yield lot_id
    with app.app_context():
        clean_database()


def _median(benchmark) -> float:
    return benchmark.stats.stats.median


def test_bench_naive_reference(benchmark, tmp_path):
    target = tmp_path / "naive.pdf"
    benchmark.pedantic(lambda: HTML(filename=str(NAIVE)).write_pdf(target), rounds=3, iterations=1, warmup_rounds=1)
    RESULTS["naive"] = _median(benchmark)
    RESULTS["naive_pages"] = len(PdfReader(target).pages)


def test_bench_batch_record_of_the_demo_lot(benchmark, app, demo_lot):
    with app.app_context(), app.test_request_context():
        lot = db.session.get(Lot, demo_lot)
        pdf = benchmark.pedantic(lambda: render_batch_record(lot), rounds=5, iterations=1, warmup_rounds=1)
        tracemalloc.start()
        render_batch_record(lot)
        RESULTS["peak_mib"] = tracemalloc.get_traced_memory()[1] / 2**20
        tracemalloc.stop()
    RESULTS["ours"] = _median(benchmark)
    RESULTS["ours_pages"] = len(PdfReader(io.BytesIO(pdf)).pages)
    if "naive" in RESULTS:
        ratio = RESULTS["ours"] / RESULTS["naive"]
        print(f"\nnaive reference: {RESULTS['naive_pages']} pages in {RESULTS['naive']:.2f} s; "
              f"demo batch record: {RESULTS['ours_pages']} pages in {RESULTS['ours']:.2f} s; ratio {ratio:.2f}; "
              f"peak Python memory {RESULTS['peak_mib']:.0f} MiB")
        assert ratio <= 0.25


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
