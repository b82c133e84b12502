"""The token pages: a user makes and revokes their personal tokens; an administrator, the service tokens."""

from flask import Blueprint, abort, redirect, render_template, url_for
from sqlalchemy import select

from manufacturing.api import forms, tokens
from manufacturing.api.models import ApiToken, TokenKind
from manufacturing.core.permissions import Role, has_role
from manufacturing.core.web import acting_user, attempt, form_errors
from manufacturing.extensions import db

bp = Blueprint("api_tokens", __name__, url_prefix="/account/api-tokens")


def _page(personal=None, service=None, status: int = 200):
    user = acting_user()
    mine = db.session.scalars(select(ApiToken).where(ApiToken.user_id == user.id, ApiToken.kind == TokenKind.PERSONAL)
                              .order_by(ApiToken.id.desc()))
    services = None
    if has_role(user, Role.ADMIN):
        services = list(db.session.scalars(select(ApiToken).where(ApiToken.kind == TokenKind.SERVICE)
                                           .order_by(ApiToken.id.desc())))
    return render_template("api/tokens.html", mine=list(mine), services=services,
                           personal_form=personal or forms.PersonalTokenForm(formdata=None),
                           service_form=service or forms.ServiceTokenForm(formdata=None),
                           revoke_form=forms.RevokeForm(formdata=None)), status


@bp.get("/")
def index():
    return _page()


def _issued(issued):
    """Show the token once, on this answer only: it is never put in a URL, a message or the session."""
    return render_template("api/token_issued.html", token=issued.token, text=issued.text,
                           personal=issued.token.kind == TokenKind.PERSONAL), 201


@bp.post("/personal")
def create_personal():
    form = forms.PersonalTokenForm()
    if not form.validate_on_submit():
        form_errors(form)
        return _page(personal=form, status=422)
    issued = attempt(tokens.create_personal, acting_user(), form.name.data, form.scopes.data,
                     password=form.password.data)
    return _issued(issued) if issued else _page(personal=form, status=422)


@bp.post("/service")
def create_service():
    if not has_role(acting_user(), Role.ADMIN):
        abort(403)
    form = forms.ServiceTokenForm()
    if not form.validate_on_submit():
        form_errors(form)
        return _page(service=form, status=422)
    issued = attempt(tokens.create_service, acting_user(), form.name.data, form.scopes.data,
                     password=form.password.data)
    return _issued(issued) if issued else _page(service=form, status=422)


@bp.post("/<id:token_id>/revoke")
def revoke(token_id: int):
    token = db.session.get(ApiToken, token_id) or abort(404)
    if forms.RevokeForm().validate_on_submit():
        attempt(tokens.revoke, token, acting_user(), success=f"Token {token.prefix} revoked.")
    return redirect(url_for("api_tokens.index"))
