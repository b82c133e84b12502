"""Benchmarks: what the site's PAdES signature adds to storing a document, per document (median of five)."""

from manufacturing.extensions import db
from manufacturing.lots.models import Lot
from manufacturing.records.documents import render_batch_record
from manufacturing.records.render import html_to_pdf
from manufacturing.records.signing import sign_pdf
from tests.benchmarks.test_bench_records import demo_lot  # noqa: F401 - the fixture, loaded once

REASON = "Released by QA: Quinta Qualita, Released"


def test_bench_signing_a_one_page_document(benchmark, app):
    with app.app_context():
        pdf = html_to_pdf("<h1>Certificate of analysis</h1><p>One page.</p>")
        signed = benchmark.pedantic(lambda: sign_pdf(pdf, REASON), rounds=5, iterations=1, warmup_rounds=1)
    assert signed.startswith(pdf) and len(signed) > len(pdf)


def test_bench_signing_the_batch_record_of_the_demo_lot(benchmark, app, demo_lot):  # noqa: F811
    with app.app_context(), app.test_request_context():
        pdf = render_batch_record(db.session.get(Lot, demo_lot))
        signed = benchmark.pedantic(lambda: sign_pdf(pdf, REASON), rounds=5, iterations=1, warmup_rounds=1)
    assert signed.startswith(pdf) and len(signed) > len(pdf)
