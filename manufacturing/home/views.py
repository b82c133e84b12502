"""The home page and /healthz."""

from flask import Blueprint, jsonify, render_template
from flask_login import current_user
from sqlalchemy import text
from sqlalchemy.exc import SQLAlchemyError

from manufacturing.extensions import db
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
