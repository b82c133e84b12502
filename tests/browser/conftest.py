"""Browser tests: Playwright for Python driving the system Chromium against a live server."""

import os
import threading
from pathlib import Path

import pytest
from werkzeug.serving import make_server

CHROMIUM = Path("/usr/bin/chromium")
ARTIFACTS = Path(__file__).resolve().parents[2] / "test-artifacts"
LAUNCH_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
               "--disable-background-networking", "--disable-component-update", "--disable-sync",
               "--disable-dev-shm-usage"]


def _unavailable_reason() -> str | None:
    if not CHROMIUM.exists():
        return f"no Chromium at {CHROMIUM} (apt-get install chromium)"
    try:
        import playwright.sync_api  # noqa: F401
    except ImportError:
        return "Playwright for Python is not installed (pip install -e '.[test]')"
    return None


def pytest_collection_modifyitems(config, items):
    reason = _unavailable_reason()
    if reason is None:
        return
    if os.environ.get("REQUIRE_BROWSER") == "1":
        raise pytest.UsageError(f"REQUIRE_BROWSER=1 but the browser tests cannot run: {reason}")
    for item in items:
        if "browser" in item.keywords:
            item.add_marker(pytest.mark.skip(reason=reason))


@pytest.fixture(scope="session")
def live_server(app):
    """Serve the test application on a free local port in a background thread."""
    server = make_server("127.0.0.1", 0, app, threaded=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_port}"
    server.shutdown()


@pytest.fixture(scope="session")
def chromium():
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=str(CHROMIUM), headless=True, args=LAUNCH_ARGS)
        yield browser
        browser.close()


@pytest.fixture
def browser_app(app, database):
    """The live application with CSRF protection on, as in production."""
    app.config["WTF_CSRF_ENABLED"] = True
    yield app
    app.config["WTF_CSRF_ENABLED"] = False


@pytest.fixture
def new_page(chromium, live_server, browser_app, database):
    """Open pages in fresh browser contexts (one per person at the bench); the test's session is closed."""
    contexts = []

    def open_page():
        database.session.commit()
        context = chromium.new_context(base_url=live_server, viewport={"width": 1180, "height": 820})
        context.set_default_timeout(15000)
        contexts.append(context)
        return context.new_page()

    yield open_page
    for context in contexts:
        context.close()


def screenshot(page, name: str) -> Path:
    """Keep a picture of the page for a person to look at."""
    ARTIFACTS.mkdir(exist_ok=True)
    path = ARTIFACTS / f"{name}.png"
    page.screenshot(path=str(path), full_page=True)
    return path


def log_in(page, username: str, password: str) -> None:
    page.goto("/login")
    page.get_by_label("User ID").fill(username)
    page.get_by_label("Password").fill(password)
    page.get_by_role("button", name="Log in").click()


NURSE = "Nurse Lucia Bianchi"
FORMAT = "%Y-%m-%dT%H:%M"  # a datetime-local field


def issue_to_nurse(page, username: str, password: str) -> None:
    """On a dose unit's pharmacy page: issue it against its order to the nurse, identity checked, signed."""
    page.get_by_label("Name of the person collecting the dose").fill(NURSE)
    page.get_by_label("I checked the collector's identity together with them").check()
    page.locator("#issue-sign_username").fill(username)
    page.locator("#issue-sign_password").fill(password)
    page.get_by_role("button", name="Issue and sign").click()
    page.get_by_text("Dose unit issued and signed.").wait_for()


def record_administration(page, username: str, password: str, minutes: int = 2, appearance: str = "Conforms"):
    """On a dose unit's pharmacy page after the bedside check: the infusion, started now, signed."""
    from datetime import timedelta

    from manufacturing.core import clock

    start = clock.to_local(clock.now()).replace(tzinfo=None)
    page.get_by_label("Infusion started (site time)").fill(start.strftime(FORMAT))
    page.get_by_label("Infusion ended (site time)").fill((start + timedelta(minutes=minutes)).strftime(FORMAT))
    page.get_by_label("Volume infused").fill("50 mL")
    page.get_by_label("Administered by (name)").fill(NURSE)
    page.get_by_label("Product inspection: appearance").fill(appearance)
    page.get_by_label("Adverse reactions ('none' if none)").fill("none")
    page.locator("#administration-sign_username").fill(username)
    page.locator("#administration-sign_password").fill(password)
    page.get_by_role("button", name="Record the administration and sign").click()
    page.get_by_text("Administration recorded and signed.").wait_for()
