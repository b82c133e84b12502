"""QA's view of the audit trail."""

from flask import Blueprint, render_template, request
from sqlalchemy import false

from manufacturing.audit.forms import TrailFilterForm
from manufacturing.audit.queries import trail_query
from manufacturing.core.audit_verify import verify_as_of_now
from manufacturing.core.permissions import Role, role_required
from manufacturing.core.web import query_number
from manufacturing.extensions import db

MAX_PAGE = 100_000  # ten million events, a hundred a page

bp = Blueprint("audit", __name__, url_prefix="/audit")


@bp.get("/")
@role_required(Role.QA, Role.ADMIN)
def trail():
    form = TrailFilterForm(request.args)
    if form.validate():
        query = trail_query(**{name: field.data for name, field in form._fields.items()})
    else:  # a filter that cannot be read matches nothing: it never widens to the whole trail
        query = trail_query().where(false())
    page = db.paginate(query, page=query_number("page", 1, MAX_PAGE), per_page=100, error_out=False)
    args = {key: value for key, value in request.args.items() if key != "page" and value}
    return render_template("audit/trail.html", form=form, page=page, args=args)


@bp.get("/verify")
@role_required(Role.QA, Role.ADMIN)
def verify():
    report = verify_as_of_now(db.session)
    return render_template("audit/verify.html", report=report)
