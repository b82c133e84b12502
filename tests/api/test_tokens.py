"""API tokens: the secret is kept only as a keyed digest; revoked, expired and unknown tokens are refused."""

from datetime import timedelta

import pytest
from sqlalchemy import select, text

from manufacturing.api import tokens
from manufacturing.api.models import ApiToken, TokenKind
from manufacturing.core import clock
from manufacturing.core.audit import AuditEvent
from manufacturing.core.errors import DomainError, NotPermitted
from tests.api.conftest import bearer


def _every_stored_text(database) -> str:
    rows = database.session.execute(text("SELECT * FROM api_tokens")).all()
    events = database.session.scalars(select(AuditEvent.changes)).all()
    return repr(rows) + repr(events)


def test_the_secret_is_shown_once_and_never_stored(database, admin):
    issued = tokens.create_service(admin, "lims", ["read"])
    database.session.commit()
    prefix, secret = issued.text.removeprefix("nk_").split("_", 1)
    assert issued.token.prefix == prefix and len(secret) == 43
    stored = _every_stored_text(database)
    assert secret not in stored and issued.text not in stored
    assert issued.token.secret_hash != secret and len(issued.token.secret_hash) == 64
    assert tokens.authenticate(issued.text).id == issued.token.id


def test_creation_and_revocation_are_audited(database, admin):
    issued = tokens.create_service(admin, "lims", ["read", "qc:write"])
    database.session.commit()
    tokens.revoke(issued.token, admin)
    database.session.commit()
    actions = database.session.scalars(select(AuditEvent.action).where(AuditEvent.entity_type == "api_token")
                                       .order_by(AuditEvent.id)).all()
    assert actions == ["api_token.created", "api_token.updated"]
    created = database.session.scalar(select(AuditEvent).where(AuditEvent.action == "api_token.created"))
    assert created.change_map["secret_hash"]["new"] == "(hidden)"
    assert created.change_map["scopes"]["new"] == "qc:write read"


def test_only_an_administrator_creates_service_tokens(database, technician):
    with pytest.raises(NotPermitted, match="Only an administrator creates service tokens"):
        tokens.create_service(technician, "lims", ["read"])


@pytest.mark.parametrize(("name", "scopes", "message"), [
    ("LIMS!", ["read"], "Name the service"),
    ("lims", ["write"], "Unknown scope"),
    ("lims", [], "at least one scope"),
])
def test_a_service_token_needs_a_plain_name_and_known_scopes(database, admin, name, scopes, message):
    with pytest.raises(DomainError, match=message):
        tokens.create_service(admin, name, scopes)


def test_a_personal_token_is_its_users_own(database, technician, verifier):
    issued = tokens.create_personal(technician, "bench computer")
    database.session.commit()
    assert issued.token.kind == TokenKind.PERSONAL and issued.token.user_id == technician.id
    with pytest.raises(NotPermitted, match="holder or an administrator"):
        tokens.revoke(issued.token, verifier)
    tokens.revoke(issued.token, technician)
    database.session.commit()
    with pytest.raises(DomainError, match="already revoked"):
        tokens.revoke(issued.token, technician)


@pytest.mark.parametrize("how", ["revoked", "expired", "unknown", "tampered", "malformed", "missing", "basic"])
def test_refused_tokens_are_answered_401(client, database, admin, how):
    issued = tokens.create_service(admin, "lims", ["read"])
    database.session.commit()
    headers = bearer(issued.text)
    if how == "revoked":
        tokens.revoke(issued.token, admin)
    elif how == "expired":
        issued.token.expires_at = clock.now() - timedelta(seconds=1)
    elif how == "unknown":
        headers = bearer("nk_00000000_" + "A" * 43)
    elif how == "tampered":
        headers = bearer(issued.text[:-1] + ("A" if issued.text[-1] != "A" else "B"))
    elif how == "malformed":
        headers = bearer("not-a-token")
    elif how == "missing":
        headers = {}
    else:
        headers = {"Authorization": "Basic " + issued.text}
    database.session.commit()
    response = client.get("/api/v1/lots", headers=headers)
    assert response.status_code == 401
    assert response.mimetype == "application/problem+json"
    assert response.headers["WWW-Authenticate"].startswith("Bearer")


def test_a_deactivated_holder_s_token_is_refused(client, database, technician, personal_token):
    token_text = personal_token(technician)
    technician.active = False
    database.session.commit()
    assert client.get("/api/v1/lots", headers=bearer(token_text)).status_code == 401


def test_the_command_line_creates_and_revokes_service_tokens(app, database, admin):
    runner = app.test_cli_runner()
    result = runner.invoke(args=["api", "token", "create-service", "lims", "--owner", admin.username,
                                 "--scope", "read", "--scope", "qc:write"])
    assert result.exit_code == 0, result.output
    printed = result.output.strip().splitlines()[-1]
    token = database.session.scalar(select(ApiToken))
    assert printed.startswith(f"nk_{token.prefix}_") and token.scopes == "qc:write read"
    assert tokens.authenticate(printed).id == token.id
    refused = runner.invoke(args=["api", "token", "create-service", "lims", "--owner", "nobody", "--scope", "read"])
    assert refused.exit_code != 0 and "No account nobody" in refused.output
    result = runner.invoke(args=["api", "token", "revoke", token.prefix])
    assert result.exit_code == 0, result.output
    database.session.expire_all()
    assert database.session.get(ApiToken, token.id).revoked_at is not None
    revoked_by = database.session.scalar(select(AuditEvent.username).where(AuditEvent.action == "api_token.updated"))
    assert revoked_by.startswith("cli:")


def test_a_token_outlives_a_rotation_of_the_audit_key_while_its_key_is_retired(app, database, admin):
    from manufacturing.core.keyring import EXTENSION, Keyring

    issued = tokens.create_service(admin, "lims", ["read"])
    database.session.commit()
    before = app.extensions[EXTENSION]
    old, new = before.keys[before.current_id], bytes(range(32))
    try:
        app.extensions[EXTENSION] = Keyring.of(new, [old])
        assert tokens.authenticate(issued.text).id == issued.token.id
        app.extensions[EXTENSION] = Keyring.of(new)
        with pytest.raises(tokens.TokenRefused):
            tokens.authenticate(issued.text)
    finally:
        app.extensions[EXTENSION] = before
