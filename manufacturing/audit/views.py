"""QA's view of the audit trail."""

from flask import Blueprint, render_template, request

from manufacturing.audit.forms import TrailFilterForm
from manufacturing.audit.queries import trail_query
from manufacturing.core.audit_verify import verify_as_of_now
from manufacturing.core.permissions import Role, role_required
from manufacturing.extensions import db

bp = Blueprint("audit", __name__, url_prefix="/audit")


@bp.get("/")
@role_required(Role.QA, Role.ADMIN)
def trail():
    form = TrailFilterForm(request.args)
    filters = {name: field.data for name, field in form._fields.items()} if form.validate() else {}
    page = db.paginate(trail_query(**filters), per_page=100, error_out=False)
    args = {key: value for key, value in request.args.items() if key != "page" and value}
    return render_template("audit/trail.html", form=form, page=page, args=args)


@bp.get("/verify")
@role_required(Role.QA, Role.ADMIN)
def verify():
    report = verify_as_of_now(db.session)
    return render_template("audit/verify.html", report=report)
