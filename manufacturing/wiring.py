"""Wire the application: extensions, blueprints, the login gate, error pages, template helpers."""

import importlib

from flask import Flask, current_app, redirect, render_template, request, url_for
from flask_login import current_user
from flask_wtf.csrf import CSRFError
from werkzeug.middleware.proxy_fix import ProxyFix

from manufacturing import models  # noqa: F401  (every table registered before first use)
from manufacturing.api import problems
from manufacturing.core import checkpoint_taking, clock, database, text  # noqa: F401  (engine, session and stored-text behaviour)
from manufacturing.core.charts import data_uri
from manufacturing.core.permissions import Role, has_role
from manufacturing.core.signatures import manifestation
from manufacturing.core.web import RowIdConverter
from manufacturing.extensions import csrf, db, login_manager, migrate
from manufacturing.instruments.rules import import_rules
from manufacturing.lots import guards as lot_guards
from manufacturing.patients import guards as patient_guards
from manufacturing.processing.states import dose_tone
from manufacturing.quality import states as quality_states
from manufacturing.units import format_limit, format_quantity

PUBLIC_ENDPOINTS = {"auth.login", "auth.set_up_password", "static", "home.healthz"}
PASSWORD_CHANGE_ENDPOINTS = {"auth.change_password", "auth.logout", "static"}
CONTENT_SECURITY_POLICY = ("default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
                           "object-src 'none'; base-uri 'self'; form-action 'self'; frame-ancestors 'none'")
HSTS = "max-age=31536000"
ERROR_TITLES = {
    400: "The request could not be understood",
    403: "You are not allowed to do this",
    404: "Not found",
    405: "Not allowed here",
    413: "Too much data",
    500: "Something went wrong",
}


def init_app(app: Flask) -> None:
    if app.config["PROXIES_IN_FRONT"]:
        proxies = app.config["PROXIES_IN_FRONT"]
        app.wsgi_app = ProxyFix(app.wsgi_app, x_for=proxies, x_proto=proxies, x_host=proxies)
    _init_database(app)
    login_manager.init_app(app)
    login_manager.login_view = "auth.login"
    login_manager.login_message = "Please log in to continue."
    login_manager.login_message_category = "info"
    login_manager.session_protection = None
    app.before_request(_require_login)
    app.before_request(_allow_large_uploads)  # before the CSRF check, which reads the form
    app.after_request(_security_headers)
    csrf.init_app(app)
    app.url_map.converters["id"] = RowIdConverter
    _register_blueprints(app)
    _connect_receivers()
    _register_errors(app)
    _register_template_helpers(app)
    from manufacturing.cli import register_cli

    register_cli(app)


def _init_database(app: Flask) -> None:
    uri = app.config["SQLALCHEMY_DATABASE_URI"]
    options = app.config.setdefault("SQLALCHEMY_ENGINE_OPTIONS", {})
    if uri.startswith("sqlite"):
        options.setdefault("connect_args", {"timeout": app.config["SQLITE_BUSY_TIMEOUT_SECONDS"]})
    else:  # a connection the server dropped (restart, failover) is replaced before a request uses it
        options.setdefault("pool_pre_ping", True)
    db.init_app(app)
    database.dispose_after_fork(app)
    migrate.init_app(app, db, directory=str(app.root_path + "/migrations"), render_as_batch=True,
                     compare_type=True)


FEATURE_VIEWS = (
    "manufacturing.home.views",
    "manufacturing.accounts.views",
    "manufacturing.accounts.admin_views",
    "manufacturing.audit.views",
    "manufacturing.specifications.views",
    "manufacturing.dispensing.subject_views",
    "manufacturing.materials.views",
    "manufacturing.records.lot_views",
    "manufacturing.processing.views",
    "manufacturing.quality.views",
    "manufacturing.dispensing.views",
    "manufacturing.quality.qc_views",
    "manufacturing.instruments.views",
    "manufacturing.release.views",
    "manufacturing.records.views",
    "manufacturing.api.views",
    "manufacturing.api.token_views",
    "manufacturing.reports.views",
)

FEATURE_RECEIVERS = (
    "manufacturing.specifications.receivers",
    "manufacturing.lots.receivers",
    "manufacturing.processing.receivers",
    "manufacturing.quality.receivers",
    "manufacturing.instruments.receivers",
    "manufacturing.dispensing.receivers",
    "manufacturing.release.receivers",
    "manufacturing.release.checkpoint_receivers",
    "manufacturing.records.receivers",
    "manufacturing.reports.receivers",
)


def _connect_receivers() -> None:
    """Connect the receivers of every feature to the signals of the layers below it."""
    for module_name in FEATURE_RECEIVERS:
        importlib.import_module(module_name).connect()


def _register_blueprints(app: Flask) -> None:
    """Register the blueprint `bp` of every feature's views module."""
    from manufacturing.accounts.sessions import resume

    login_manager.user_loader(resume)
    for module_name in FEATURE_VIEWS:
        app.register_blueprint(importlib.import_module(module_name).bp)


LARGE_UPLOADS = {"instruments.raw_flow_data": "INSTRUMENT_FCS_MAX_BYTES"}  # endpoint: the setting of its largest file


def _allow_large_uploads():
    """A page that takes a large file (an FCS file of several MB) reads up to its own limit, not the site's."""
    setting = LARGE_UPLOADS.get(request.endpoint or "")
    if setting:
        request.max_content_length = current_app.config[setting] + 64 * 1024  # and the form's other fields


def _require_login():
    """Deny by default: every page but login, static files and the health check needs a login.

    The API authenticates by token alone (`api.access`): a login cookie never opens it.
    """
    if request.endpoint is None or request.endpoint in PUBLIC_ENDPOINTS or request.blueprint == "api":
        return None
    if not current_user.is_authenticated:
        return login_manager.unauthorized()
    if current_user.password_change_due and request.endpoint not in PASSWORD_CHANGE_ENDPOINTS:
        return redirect(url_for("auth.change_password"))
    return None


def _security_headers(response):
    """Every response: no inline script, no framing, no sniffing, no referrer abroad; pages are not cached."""
    headers = response.headers
    headers.setdefault("Content-Security-Policy", CONTENT_SECURITY_POLICY)
    headers.setdefault("X-Frame-Options", "DENY")
    headers.setdefault("X-Content-Type-Options", "nosniff")
    headers.setdefault("Referrer-Policy", "same-origin")
    if current_app.config["SESSION_COOKIE_SECURE"]:
        headers.setdefault("Strict-Transport-Security", HSTS)
    if request.endpoint != "static":
        headers["Cache-Control"] = "no-store"
    return response


def _register_errors(app: Flask) -> None:
    def render_error(error):
        code = getattr(error, "code", 500) or 500
        if problems.is_api_request():
            return _api_error(error, code)
        if code == 500:
            db.session.rollback()
        title = ERROR_TITLES.get(code, "Error")
        return render_template("errors.html", code=code, title=title), code

    for code in ERROR_TITLES:
        app.register_error_handler(code, render_error)

    app.register_error_handler(problems.Problem, problems.response)
    app.register_error_handler(415, render_error)

    @app.errorhandler(CSRFError)
    def csrf_failed(error):
        message = "The form expired or did not come from this application. Reload the page and try again."
        return render_template("errors.html", code=400, title=ERROR_TITLES[400], message=message), 400


def _api_error(error, code: int):
    """Under /api/v1 every error is a problem document, never a page."""
    if code == 500:
        db.session.rollback()
        return problems.response(problems.Problem(500))
    return problems.response(problems.from_http(error))


def _register_template_helpers(app: Flask) -> None:
    app.jinja_env.filters["local_time"] = clock.format_local
    app.jinja_env.filters["in_sentence"] = text.in_sentence
    app.jinja_env.filters["manifestation"] = manifestation
    app.jinja_env.filters["quantity"] = format_quantity
    app.jinja_env.filters["svg_src"] = data_uri
    app.jinja_env.filters["limit"] = format_limit
    app.jinja_env.globals.update(Role=Role, has_role=has_role, site_name=app.config["SITE_NAME"], dose_tone=dose_tone,
                                 lot_is_open=lot_guards.is_open, qc_result_verified=quality_states.is_verified,
                                 order_is_open=patient_guards.is_open_order, order_tone=patient_guards.order_tone,
                                 instrument_import_kinds=lambda: set(import_rules().step_fields))
    app.jinja_env.tests["open_order"] = patient_guards.is_open_order
