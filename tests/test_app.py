"""The application shell: start-up rules, health check, error pages, deny-by-default."""

import re

import pytest
from werkzeug.routing import IntegerConverter

from manufacturing import create_app
from manufacturing.config import DEFAULT_SECRET_KEY
from tests.factories import PASSWORD

PUBLIC = {"auth.login", "auth.set_up_password", "static", "home.healthz", "api.openapi", "api.docs"}


def test_refuses_default_secret_key_outside_debug_and_testing():
    with pytest.raises(RuntimeError, match="default SECRET_KEY"):
        create_app({"SECRET_KEY": DEFAULT_SECRET_KEY, "TESTING": False, "DEBUG": False})


def test_healthz_checks_the_database(client):
    response = client.get("/healthz")
    assert response.status_code == 200
    assert response.json == {"status": "ok", "database": "ok"}


def _example_url(rule) -> str:
    values = {arg: 1 if isinstance(rule._converters[arg], IntegerConverter) else "x"
              for arg in rule.arguments}
    for arg, converter in rule._converters.items():
        if converter.__class__.__name__ == "AnyConverter":
            values[arg] = next(iter(converter.items))
    return rule.build(values)[1]


def test_every_page_sends_an_anonymous_visitor_to_login(app, client):
    app.config["WTF_CSRF_ENABLED"] = True
    try:
        rules = [rule for rule in app.url_map.iter_rules() if rule.endpoint not in PUBLIC]
        assert len(rules) > 10
        for rule in rules:
            url = _example_url(rule)
            for method in sorted(rule.methods - {"HEAD", "OPTIONS"}):
                response = client.open(url, method=method)
                if rule.endpoint.startswith("api."):  # the API asks for a token, never a login
                    assert response.status_code == 401, (method, url, response.status_code)
                    assert response.mimetype == "application/problem+json"
                    continue
                assert response.status_code == 302, (method, url, response.status_code)
                assert response.headers["Location"].startswith("/login"), (method, url)
    finally:
        app.config["WTF_CSRF_ENABLED"] = False


def test_unknown_page_is_a_plain_404(client, login, technician):
    login(technician)
    response = client.get("/no-such-page")
    assert response.status_code == 404
    assert "There is no such page or record." in response.get_data(as_text=True)


def test_server_error_shows_no_stack_trace(app, database, technician):
    fresh = create_app({**app.config, "TESTING": False, "DEBUG": False})

    @fresh.get("/explode-for-test")
    def explode():
        raise ValueError("secret internals")

    username = technician.username
    database.session.close()
    client = fresh.test_client()
    client.post("/login", data={"username": username, "password": PASSWORD})
    response = client.get("/explode-for-test")
    text = response.get_data(as_text=True)
    assert response.status_code == 500
    assert "Traceback" not in text and "secret internals" not in text
    assert "nothing was changed" in text


def test_static_files_are_served_locally_without_cdn(client):
    response = client.get("/static/css/app.css")
    assert response.status_code == 200
    assert b"http" not in response.data


def test_every_response_carries_the_security_headers(client, login, technician):
    anonymous = client.get("/login")
    login(technician)
    for response in (anonymous, client.get("/"), client.get("/no-such-page"), client.get("/static/css/app.css")):
        policy = response.headers["Content-Security-Policy"]
        directives = dict(part.strip().split(" ", 1) for part in policy.split(";"))
        assert directives["script-src"] == "'self'" and "unsafe-inline" not in policy
        assert directives["frame-ancestors"] == "'none'" and directives["object-src"] == "'none'"
        assert response.headers["X-Frame-Options"] == "DENY"
        assert response.headers["X-Content-Type-Options"] == "nosniff"
        assert response.headers["Referrer-Policy"] == "same-origin"
        assert "Strict-Transport-Security" not in response.headers


def test_pages_are_not_cached_but_static_files_may_be(client, login, technician):
    login(technician)
    assert client.get("/").headers["Cache-Control"] == "no-store"
    assert client.get("/login").headers["Cache-Control"] == "no-store"
    assert "no-store" not in client.get("/static/css/app.css").headers.get("Cache-Control", "")


def test_strict_transport_security_when_cookies_are_secure(app, client, monkeypatch):
    monkeypatch.setitem(app.config, "SESSION_COOKIE_SECURE", True)
    assert client.get("/login").headers["Strict-Transport-Security"].startswith("max-age=")


def test_no_page_has_inline_script_or_event_handlers():
    from pathlib import Path

    pattern = re.compile(r"<script(?![^>]*\bsrc=)[^>]*>|\son[a-z]+\s*=|\sstyle\s*=", re.IGNORECASE)
    pages = [path for path in (Path(__file__).resolve().parents[1] / "templates").rglob("*.html")
             if path.parent.name != "records"]  # the print templates become PDF, never a page
    assert len(pages) > 20
    offending = [f"{path.name}: {match.group(0)}" for path in pages for match in pattern.finditer(path.read_text())]
    assert offending == []
