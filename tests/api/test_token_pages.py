"""The token pages: everyone makes and revokes their own personal tokens; administrators, service tokens."""

import re

from sqlalchemy import select

from manufacturing.accounts.models import User
from manufacturing.api import tokens
from manufacturing.api.models import ApiToken, TokenKind
from tests.factories import PASSWORD


def _shown_token(page: str) -> str:
    return re.search(r'data-testid="api-token">(nk_[^<]+)<', page)[1]


def test_a_user_makes_a_personal_token_shown_once(client, login, database, technician):
    login(technician)
    assert "Your API tokens" in client.get("/account/api-tokens/").get_data(as_text=True)
    response = client.post("/account/api-tokens/personal", data={"name": "QC bench", "scopes": ["read", "qc:write"],
                                                                         "password": PASSWORD})
    assert response.status_code == 201
    text = _shown_token(response.get_data(as_text=True))
    token = tokens.authenticate(text)
    assert (token.kind, token.user_id, token.scopes) == (TokenKind.PERSONAL, technician.id, "qc:write read")
    listing = client.get("/account/api-tokens/").get_data(as_text=True)
    assert token.prefix in listing and text not in listing
    assert "Service tokens" not in listing


def test_a_user_revokes_their_token_but_not_another_s(client, login, database, technician, verifier):
    own = tokens.create_personal(technician, "bench").token
    other = tokens.create_personal(verifier, "bench").token
    database.session.commit()
    login(technician)
    client.post(f"/account/api-tokens/{other.id}/revoke")
    client.post(f"/account/api-tokens/{own.id}/revoke")
    database.session.expire_all()
    assert database.session.get(ApiToken, own.id).revoked_at is not None
    assert database.session.get(ApiToken, other.id).revoked_at is None


def test_only_an_administrator_makes_service_tokens(client, login, database, technician, admin):
    login(technician)
    assert client.post("/account/api-tokens/service", data={"name": "lims", "scopes": ["read"]}).status_code == 403
    login(admin)
    assert "Service tokens" in client.get("/account/api-tokens/").get_data(as_text=True)
    response = client.post("/account/api-tokens/service", data={"name": "lims", "scopes": ["read"],
                                                                 "password": PASSWORD})
    assert response.status_code == 201
    token = database.session.scalar(select(ApiToken).where(ApiToken.kind == TokenKind.SERVICE))
    assert token.user_id == admin.id and _shown_token(response.get_data(as_text=True)).startswith(f"nk_{token.prefix}")
    refused = client.post("/account/api-tokens/service", data={"name": "LIMS!", "scopes": ["read"],
                                                                "password": PASSWORD})
    assert refused.status_code == 422 and "Name the service" in refused.get_data(as_text=True)


def test_a_token_is_made_only_with_the_password_and_a_wrong_one_counts_to_lockout(client, login, database,
                                                                                  technician):
    login(technician)
    for given in ({}, {"password": "not the password"}):
        refused = client.post("/account/api-tokens/personal", data={"name": "QC bench", "scopes": ["read"]} | given)
        assert refused.status_code == 422
    assert "Password not accepted: no token was made." in refused.get_data(as_text=True)
    assert database.session.scalar(select(ApiToken)) is None
    database.session.expire_all()
    assert database.session.get(User, technician.id).failed_logins == 1


def test_the_pages_need_a_login(client):
    assert client.get("/account/api-tokens/").status_code == 302
