"""The home page, scan to find, and /healthz."""

from flask import Blueprint, jsonify, redirect, render_template, request, url_for
from flask_login import current_user
from sqlalchemy import text
from sqlalchemy.exc import SQLAlchemyError

from manufacturing.core.errors import DomainError
from manufacturing.core.text import text_problem
from manufacturing.extensions import db
from manufacturing.home import find as finder
from manufacturing.home.queues import queues_for

bp = Blueprint("home", __name__)


@bp.get("/")
def index():
    return render_template("home/index.html", sections=queues_for(current_user))


@bp.get("/healthz")
def healthz():
    try:
        db.session.execute(text("SELECT 1"))
        db.session.rollback()
    except SQLAlchemyError:
        db.session.rollback()
        return jsonify(status="unavailable", database="unreachable"), 503
    return jsonify(status="ok", database="ok")


@bp.get("/find")
def find():
    """Go to the lot or subject a scan names; else say why, with the scan box ready for the next scan."""
    code = request.args.get("code", "")[: finder.LONGEST + 1]
    try:
        found = finder.find(code)
    except DomainError as error:
        shown = "" if text_problem(code) else code  # a hidden character is named in the message, never echoed
        return render_template("home/find.html", code=shown, problem=error.message)
    return redirect(url_for(found.endpoint, **found.arguments))


@bp.get("/find/check")
def check_scan():
    """Check one scan on the spot, for a form's scan field: is it a DIN, a known subject? (JSON)."""
    kind, code = request.args.get("kind", ""), request.args.get("code", "")[: finder.LONGEST + 1]
    problem, said = finder.scan_problem(kind, code)
    return jsonify(ok=problem is None, message=problem or said)
