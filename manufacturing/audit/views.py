"""QA's view of the audit trail."""

from flask import Blueprint, render_template, request
from sqlalchemy import false

from manufacturing.audit.forms import TrailFilterForm
from manufacturing.audit.queries import trail_page, trail_query
from manufacturing.core.audit_verify import verify_as_of_now
from manufacturing.core.permissions import Role, role_required
from manufacturing.extensions import db

bp = Blueprint("audit", __name__, url_prefix="/audit")


@bp.get("/")
@role_required(Role.QA, Role.ADMIN)
def trail():
    form = TrailFilterForm(request.args)
    if form.validate():
        filters = {name: field.data for name, field in form._fields.items()}
        page = trail_page(trail_query(**filters), dated=bool(filters["date_from"] or filters["date_to"]))
    else:  # a filter that cannot be read matches nothing: it never widens to the whole trail
        page = trail_page(trail_query().where(false()))
    return render_template("audit/trail.html", form=form, page=page)


@bp.get("/verify")
@role_required(Role.QA, Role.ADMIN)
def verify():
    report = verify_as_of_now(db.session)
    return render_template("audit/verify.html", report=report)
