"""The one way a PDF is made: Jinja template -> HTML -> WeasyPrint, reading nothing but static/.

WeasyPrint is imported when the first PDF is laid out, not with the application: every command and worker
would otherwise pay for it at start-up.
"""

from functools import cache
from pathlib import Path
from urllib.parse import unquote, urlsplit

from flask import current_app, render_template

STATIC = Path(__file__).resolve().parent.parent.parent / "static"


class FetchRefused(ValueError):
    """A document asked for a resource outside static/."""


def refuse_outside_static(url: str) -> None:
    """Refuse any resource but a file under static/ or inline data."""
    if url.startswith("file:"):
        path = Path(unquote(urlsplit(url).path)).resolve()
        if not path.is_relative_to(STATIC.resolve()) or not path.is_file():
            raise FetchRefused(f"refused to fetch {path}: not a file under static/")
    elif not url.startswith("data:"):
        raise FetchRefused(f"refused to fetch {url!r}: documents use local files under static/ only")


@cache
def static_fetcher_class() -> type:
    """WeasyPrint's URL fetcher, serving files under static/ only: no network, no other file."""
    from weasyprint.urls import URLFetcher

    class StaticFetcher(URLFetcher):
        def __init__(self):
            super().__init__(allowed_protocols={"file", "data"}, allow_redirects=False)

        def fetch(self, url: str, headers=None):
            refuse_outside_static(url)
            return super().fetch(url, headers)

    return StaticFetcher


def render_html(template: str, **context) -> str:
    return render_template(template, **context)


def html_to_pdf(html: str, pdfa: bool = True) -> bytes:
    """Lay out and write the PDF (PDF/A-3b by default, fonts embedded)."""
    from weasyprint import HTML

    document = HTML(string=html, base_url=STATIC.as_uri() + "/", url_fetcher=static_fetcher_class()())
    options = {"pdf_variant": "pdf/a-3b"} if pdfa else {}
    return document.write_pdf(**options)


def render_pdf(template: str, **context) -> bytes:
    """Render a records template to PDF bytes; the template sets title, subject and author in <head>."""
    context.setdefault("site_name", current_app.config["SITE_NAME"])
    return html_to_pdf(render_html(template, **context))
