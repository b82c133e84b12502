"""Fixtures of the API tests: a prepared lot, a service token of an administrator's, personal tokens."""

import pytest

from manufacturing.api import tokens
from manufacturing.processing.doses import doses_of

ALL_SCOPES = ("read", "audit:read", "qc:write", "steps:write")


def bearer(text: str) -> dict:
    return {"Authorization": f"Bearer {text}"}


@pytest.fixture
def lot(prepared):
    return prepared.lot


@pytest.fixture
def dose(lot):
    return doses_of(lot)[0]


@pytest.fixture
def service_token(database, admin):
    """A LIMS's token with every scope, owned by the administrator; its text."""
    issued = tokens.create_service(admin, "lims", ALL_SCOPES)
    database.session.commit()
    return issued.text


@pytest.fixture
def personal_token(database):
    """A personal token of the given user with every scope; its text."""

    def issue(user, scopes=ALL_SCOPES) -> str:
        issued = tokens.create_personal(user, "bench computer", scopes)
        database.session.commit()
        return issued.text

    return issue
