"""Login, logout, one's own password and setting it up with a setup code."""

from flask import Blueprint, redirect, render_template, request, session, url_for
from flask_login import current_user, login_required, login_user, logout_user

from manufacturing.accounts import operations
from manufacturing.accounts.forms import ChangePasswordForm, LoginForm, SetUpPasswordForm
from manufacturing.core.web import acting_user, attempt

bp = Blueprint("auth", __name__)


def _safe_next(target: str | None) -> str:
    if target and target.startswith("/") and not target.startswith("//"):
        return target
    return url_for("home.index")


@bp.route("/login", methods=["GET", "POST"])
def login():
    if current_user.is_authenticated:
        return redirect(url_for("home.index"))
    form = LoginForm()
    if form.validate_on_submit():
        result = attempt(operations.log_in, form.username.data, form.password.data, request.remote_addr)
        if result:
            user, _token = result
            session.clear()
            login_user(user)
            return redirect(_safe_next(request.args.get("next")))
    return render_template("accounts/login.html", form=form), 200 if request.method == "GET" else 422


@bp.post("/logout")
@login_required
def logout():
    attempt(operations.log_out, acting_user())
    logout_user()
    session.clear()
    return redirect(url_for("auth.login"))


@bp.route("/account/password", methods=["GET", "POST"])
@login_required
def change_password():
    form = ChangePasswordForm()
    if form.validate_on_submit() and attempt(
        operations.change_password, acting_user(),
        form.current_password.data, form.new_password.data, success="Your password was changed.",
    ):
        return redirect(url_for("home.index"))
    return render_template("accounts/change_password.html", form=form)


@bp.route("/account/setup", methods=["GET", "POST"])
def set_up_password():
    """Public: the person chooses their password with the one-time setup code from an administrator."""
    form = SetUpPasswordForm()
    if form.validate_on_submit() and attempt(
        operations.set_up_password, form.username.data, form.setup_code.data, form.new_password.data,
        success="Your password is set. Log in with it.",
    ):
        return redirect(url_for("auth.login"))
    return render_template("accounts/set_up_password.html", form=form)
