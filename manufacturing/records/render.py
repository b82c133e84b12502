"""The one way a PDF is made: Jinja template -> HTML -> WeasyPrint, reading nothing but static/."""

from pathlib import Path
from urllib.parse import unquote, urlsplit

from flask import current_app, render_template
from weasyprint import HTML
from weasyprint.urls import URLFetcher

STATIC = Path(__file__).resolve().parent.parent.parent / "static"


class FetchRefused(ValueError):
    """A document asked for a resource outside static/."""


class StaticFetcher(URLFetcher):
    """Serve files under static/ only: no network, no other file (refusals are logged and skipped)."""

    def __init__(self):
        super().__init__(allowed_protocols={"file", "data"}, allow_redirects=False)

    def fetch(self, url: str, headers=None):
        if url.startswith("file:"):
            path = Path(unquote(urlsplit(url).path)).resolve()
            if not path.is_relative_to(STATIC.resolve()) or not path.is_file():
                raise FetchRefused(f"refused to fetch {path}: not a file under static/")
        elif not url.startswith("data:"):
            raise FetchRefused(f"refused to fetch {url!r}: documents use local files under static/ only")
        return super().fetch(url, headers)


def render_html(template: str, **context) -> str:
    return render_template(template, **context)


def html_to_pdf(html: str, pdfa: bool = True) -> bytes:
    """Lay out and write the PDF (PDF/A-3b by default, fonts embedded)."""
    document = HTML(string=html, base_url=STATIC.as_uri() + "/", url_fetcher=StaticFetcher())
    options = {"pdf_variant": "pdf/a-3b"} if pdfa else {}
    return document.write_pdf(**options)


def render_pdf(template: str, **context) -> bytes:
    """Render a records template to PDF bytes; the template sets title, subject and author in <head>."""
    context.setdefault("site_name", current_app.config["SITE_NAME"])
    return html_to_pdf(render_html(template, **context))
