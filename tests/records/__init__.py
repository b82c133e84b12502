"""Helpers of the document tests: read a PDF's text and metadata, render a page to PNG for a person to see."""

import io
import re
import subprocess
from pathlib import Path

from pypdf import PdfReader

ARTIFACTS = Path(__file__).resolve().parents[2] / "test-artifacts"
MM = 72 / 25.4  # PDF points per millimetre


def reader(pdf: bytes) -> PdfReader:
    return PdfReader(io.BytesIO(pdf))


def page_texts(pdf: bytes) -> list[str]:
    return [page.extract_text() for page in reader(pdf).pages]


def pdf_text(pdf: bytes) -> str:
    """All the text of a PDF, pages joined, runs of spaces made one."""
    return re.sub(r"[ \t]+", " ", "\n".join(page_texts(pdf)))


def page_size_mm(pdf: bytes, page: int = 0) -> tuple[float, float]:
    box = reader(pdf).pages[page].mediabox
    return round(float(box.width) / MM, 1), round(float(box.height) / MM, 1)


def xmp(pdf: bytes) -> str:
    """The XMP metadata packet of the document catalogue."""
    return reader(pdf).trailer["/Root"]["/Metadata"].get_object().get_data().decode("utf-8")


def is_pdfa3b(pdf: bytes) -> bool:
    """Tell whether the PDF declares PDF/A-3B in its XMP and carries an output intent."""
    packet = xmp(pdf)
    part = re.search(r'pdfaid:part(?:="|>)3\b', packet)
    conformance = re.search(r'pdfaid:conformance(?:="|>)B\b', packet)
    return bool(part and conformance) and "/OutputIntents" in reader(pdf).trailer["/Root"]


def font_names(pdf: bytes) -> set[str]:
    """Base names of the fonts used on every page, without the subset prefix."""
    names = set()
    for page in reader(pdf).pages:
        fonts = page["/Resources"].get("/Font", {})
        names |= {str(fonts[key].get_object()["/BaseFont"]).split("+", 1)[-1] for key in fonts}
    return names


def render_png(pdf: bytes, name: str, page: int = 1, dpi: int = 300) -> Path:
    """Render one page with pdftoppm into test-artifacts/<name>.png (kept for a person to look at)."""
    ARTIFACTS.mkdir(exist_ok=True)
    source = ARTIFACTS / f"{name}.pdf"
    source.write_bytes(pdf)
    subprocess.run(["pdftoppm", "-r", str(dpi), "-png", "-f", str(page), "-l", str(page), "-singlefile",
                    str(source), str(ARTIFACTS / name)], check=True, capture_output=True, timeout=60)
    return ARTIFACTS / f"{name}.png"
