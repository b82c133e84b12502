"""The one way a PDF is made: Jinja template -> HTML -> WeasyPrint, reading nothing but static/."""

from pathlib import Path

from flask import current_app, render_template
from weasyprint import HTML, default_url_fetcher

STATIC = Path(__file__).resolve().parent.parent.parent / "static"


class FetchRefused(ValueError):
    """A document asked for a resource outside static/."""


def url_fetcher(url: str, timeout: int = 10, ssl_context=None):
    """Serve files under static/ only: no network, no other file."""
    if url.startswith("data:"):
        return default_url_fetcher(url, timeout=timeout, ssl_context=ssl_context)
    if not url.startswith("file://"):
        raise FetchRefused(f"refused to fetch {url!r}: documents use local files under static/ only")
    path = Path(url.removeprefix("file://")).resolve()
    if not path.is_relative_to(STATIC.resolve()) or not path.is_file():
        raise FetchRefused(f"refused to fetch {path}: not a file under static/")
    return default_url_fetcher(url, timeout=timeout, ssl_context=ssl_context)


def render_html(template: str, **context) -> str:
    return render_template(template, **context)


def html_to_pdf(html: str, pdfa: bool = True) -> bytes:
    """Lay out and write the PDF (PDF/A-3b by default, fonts embedded)."""
    document = HTML(string=html, base_url=STATIC.as_uri() + "/", url_fetcher=url_fetcher)
    options = {"pdf_variant": "pdf/a-3b"} if pdfa else {}
    return document.write_pdf(**options)


def render_pdf(template: str, **context) -> bytes:
    """Render a records template to PDF bytes; the template sets title, subject and author in <head>."""
    context.setdefault("site_name", current_app.config["SITE_NAME"])
    return html_to_pdf(render_html(template, **context))
