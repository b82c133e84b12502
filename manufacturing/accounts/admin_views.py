"""Account administration: create, change roles, deactivate, unlock, reset a password (by setup code)."""

from flask import Blueprint, abort, redirect, render_template, url_for
from sqlalchemy import select

from manufacturing.accounts import operations
from manufacturing.accounts.forms import CreateUserForm, RenameForm, RolesForm
from manufacturing.accounts.models import AuthSession, User
from manufacturing.core.forms import ReasonForm
from manufacturing.core.paging import keyset_page
from manufacturing.core.permissions import Role, role_required
from manufacturing.core.web import acting_user, attempt, form_errors
from manufacturing.extensions import db

bp = Blueprint("users", __name__, url_prefix="/admin/users")

ACTIONS = {
    "deactivate": (operations.deactivate, "The account was deactivated; its sessions have ended."),
    "reactivate": (operations.reactivate, "The account was reactivated."),
    "unlock": (operations.unlock, "The account was unlocked."),
}


def _user_or_404(user_id: int) -> User:
    return db.session.get(User, user_id) or abort(404)


@bp.get("/")
@role_required(Role.ADMIN)
def index():
    return render_template("accounts/users.html", page=keyset_page(select(User), (User.username, User.id)))


@bp.route("/new", methods=["GET", "POST"])
@role_required(Role.ADMIN)
def create():
    form = CreateUserForm()
    if form.validate_on_submit():
        created = attempt(operations.create_user, form.username.data, form.full_name.data, form.role_values())
        if created:
            user, code = created
            return render_template("accounts/setup_code.html", user=user, code=code)
    return render_template("accounts/user_new.html", form=form)


@bp.get("/<id:user_id>")
@role_required(Role.ADMIN)
def detail(user_id: int):
    user = _user_or_404(user_id)
    sessions = db.session.scalars(
        select(AuthSession).where(AuthSession.user_id == user.id).order_by(AuthSession.id.desc()).limit(10)
    ).all()
    roles_form = RolesForm(roles=[role.name for role in user.role_set])
    rename_form = RenameForm(full_name=user.full_name)
    return render_template("accounts/user_detail.html", user=user, sessions=sessions,
                           roles_form=roles_form, rename_form=rename_form, reason_form=ReasonForm())


@bp.post("/<id:user_id>/roles")
@role_required(Role.ADMIN)
def roles(user_id: int):
    user = _user_or_404(user_id)
    form = RolesForm()
    if form.validate_on_submit():
        attempt(operations.set_roles, acting_user(), user, form.role_values(),
                form.reason.data, success="Roles changed.")
    else:
        form_errors(form)
    return redirect(url_for("users.detail", user_id=user.id))


@bp.post("/<id:user_id>/name")
@role_required(Role.ADMIN)
def rename(user_id: int):
    user = _user_or_404(user_id)
    form = RenameForm()
    if form.validate_on_submit():
        attempt(operations.rename, acting_user(), user, form.full_name.data,
                form.reason.data, success="Printed name changed.")
    else:
        form_errors(form)
    return redirect(url_for("users.detail", user_id=user.id))


@bp.post("/<id:user_id>/<any(deactivate, reactivate, unlock):action>")
@role_required(Role.ADMIN)
def account_action(user_id: int, action: str):
    user = _user_or_404(user_id)
    operation, message = ACTIONS[action]
    form = ReasonForm()
    if form.validate_on_submit():
        attempt(operation, acting_user(), user, form.reason.data, success=message)
    else:
        form_errors(form)
    return redirect(url_for("users.detail", user_id=user.id))


@bp.post("/<id:user_id>/reset-password")
@role_required(Role.ADMIN)
def reset_password(user_id: int):
    user = _user_or_404(user_id)
    form = ReasonForm()
    if form.validate_on_submit():
        code = attempt(operations.reset_password, acting_user(), user, form.reason.data)
        if code:
            return render_template("accounts/setup_code.html", user=user, code=code)
    else:
        form_errors(form)
    return redirect(url_for("users.detail", user_id=user.id))
