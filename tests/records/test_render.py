"""The one rendering path: resources from static/ only, PDF/A-3b, metadata and the embedded font."""

import logging
from contextlib import closing
from dataclasses import replace

import pytest
from weasyprint.urls import URLFetcher

from manufacturing.lots.din import ProductCode, new_din
from manufacturing.records import render
from manufacturing.records.barcodes import code128_svg, symbol_width_mm
from manufacturing.records.label import TEMPLATE, LabelData
from tests.records import font_names, is_pdfa3b, reader

FONT = render.STATIC / "fonts" / "DejaVuSansCondensed.ttf"


def sample_label(**changes) -> LabelData:
    """A label written out by hand, to render without a database."""
    din = new_din("G1234", 2026, 123).with_check_flags()
    product = ProductCode("S1234", division="B0")
    label = LabelData(
        site_name="Test Cell Factory", lot_number="NK-2026-0042", din_keyboard=din.keyboard,
        din_grouped=din.grouped, din_flags=din.flags, din_check=din.check, din_barcode_data=din.barcode_data,
        din_barcode=code128_svg(din.barcode_data), product_code=product.code,
        product_barcode_data=product.barcode_data, product_barcode=code128_svg(product.barcode_data),
        product_name="Autologous NK cells", division="B0", dose_kind="Cryopreserved", subject_id="SUBJ-007",
        infusion=2, dose_per_kg="3.00 × 10⁶ cells/kg", viable_nk_cells="2.10 × 10⁸ cells", volume="20.0 mL",
        concentration="1.05 × 10⁷ cells/mL", expiry_date="2027-07-01", expiry_time="09:30",
        expiry_zone="CEST (UTC+02:00)", storage=("Cryopreserved",), statements=("For autologous use only",),
        quarantine=False, print_number=1)
    return replace(label, **changes)


@pytest.fixture
def fetched(monkeypatch):
    """URLs that got past the static/ check and were really opened."""
    opened = []
    original = URLFetcher.fetch
    monkeypatch.setattr(URLFetcher, "fetch", lambda self, url, headers=None: opened.append(url)
                        or original(self, url, headers))
    return opened


@pytest.mark.parametrize("url", [
    "http://example.org/logo.png", "https://example.org/style.css", "ftp://example.org/font.ttf",
    "file://example.org/etc/passwd", "file:///etc/passwd",
    (render.STATIC / ".." / "manufacturing" / "config.py").as_uri(),
    render.STATIC.as_uri() + "/%2E%2E/manufacturing/config.py",
    (render.STATIC / "fonts" / "no-such-font.ttf").as_uri(),
])
def test_the_fetcher_refuses_the_network_and_files_outside_static(url, fetched):
    with pytest.raises(render.FetchRefused):
        render.static_fetcher_class()().fetch(url)
    assert fetched == []


def test_the_fetcher_serves_files_under_static_and_data_urls(fetched):
    fetcher = render.static_fetcher_class()()
    with closing(fetcher.fetch(FONT.as_uri())) as response:
        assert response.read(4) == FONT.read_bytes()[:4]
    with closing(fetcher.fetch("data:text/plain,hello")) as response:
        assert response.read() == b"hello"
    assert fetched == [FONT.as_uri(), "data:text/plain,hello"]


def test_a_document_asking_for_outside_resources_is_made_without_them(database, fetched, caplog):
    html = ('<html><head><title>t</title><link rel="stylesheet" href="http://example.org/x.css"></head><body>'
            '<img src="https://example.org/x.png"><img src="file:///etc/hostname">'
            '<img src="../manufacturing/config.py"><p>text</p></body></html>')
    with caplog.at_level(logging.WARNING, logger="weasyprint"):
        pdf = render.html_to_pdf(html)
    assert pdf.startswith(b"%PDF-") and fetched == []
    assert caplog.text.count("refused to fetch") == 4


def test_the_label_template_renders_pdfa3b_with_metadata_and_the_repository_font(database, fetched):
    pdf = render.render_pdf(TEMPLATE, label=sample_label())
    assert is_pdfa3b(pdf)
    metadata = reader(pdf).metadata
    assert metadata.title == "Bag label NK-2026-0042 B0"
    assert metadata.author == "Cell Therapy GMP Facility"  # the site, from the configuration
    assert "dose unit B0, lot NK-2026-0042, subject SUBJ-007" in metadata.subject
    assert "DIN G123426000123L" in metadata["/Keywords"]
    assert {url.rsplit("/", 1)[-1] for url in fetched} == {"DejaVuSansCondensed.ttf", "DejaVuSansCondensed-Bold.ttf",
                                                         "print.css"}
    # Only our @font-face family (regular and bold) is embedded: no installed font stood in for it.
    assert font_names(pdf) == {"Records-Sans-Semi-Condensed", "Records-Sans-Bold-Semi-Condensed"}


def test_barcodes_are_svg_without_text_prolog_or_shared_ids():
    svg = code128_svg("=G12342600012381")
    assert svg.startswith("<svg") and svg.endswith("</svg>")
    assert "<?xml" not in svg and "DOCTYPE" not in svg and "<text" not in svg and " id=" not in svg
    assert 'width="41.910mm"' in svg and 'height="12.000mm"' in svg
    assert symbol_width_mm("=G12342600012381") < 47  # fits a quadrant of the 100 mm label
