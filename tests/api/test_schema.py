"""The API against its own OpenAPI document: every operation, generated inputs, no server error, answers as documented.

Run in-process on SQLite and PostgreSQL with a service token holding every scope (read, audit:read, qc:write),
valid and invalid inputs, on the prepared lot; the lot's id and subject's code are offered as examples beside the
generated ones. The QC write is run again with a technician's personal token and password, through the operation.
"""

import contextvars

import pytest
import schemathesis
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from schemathesis import GenerationMode
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    response_schema_conformance,
    status_code_conformance,
)

from manufacturing.api import tokens
from tests.api.conftest import ALL_SCOPES, bearer
from tests.factories import PASSWORD

CHECKS = [not_a_server_error, status_code_conformance, content_type_conformance, response_schema_conformance]
EXAMPLES = 25
TEST_KEYS = ("viability", "nk_purity", "appearance", "mycoplasma", "cd3_per_kg", "no-such-test")
DOSES = (None, "A0", "Z9")


def isolated(app):
    """The application as a server runs it: each request in its own app context and database session."""

    def call(environ, start_response):
        return contextvars.Context().run(lambda: list(app(environ, start_response)))

    return call


@pytest.fixture
def fuzz_token(database, admin, prepared):
    issued = tokens.create_service(admin, "fuzzer", ALL_SCOPES)
    database.session.commit()
    return issued.text


@pytest.fixture
def api_schema(app, database, prepared, fuzz_token):
    """The app's document, with the prepared lot and its subject offered as examples of the path parameters."""
    examples = {"lot_id": prepared.lot.id, "code": prepared.lot.subject.subject_code}
    raw = app.test_client().get("/api/v1/openapi.json").json
    for item in raw["paths"].values():
        for operation in item.values():
            for parameter in operation.get("parameters", []):
                if parameter["in"] == "path" and parameter["name"] in examples:
                    parameter["example"] = examples[parameter["name"]]
    database.session.commit()
    loaded = schemathesis.openapi.from_dict(raw)
    loaded.app, loaded.location = isolated(app), "/api/v1/openapi.json"
    return loaded


def operations(loaded) -> list:
    return [result.ok() for result in loaded.get_all_operations()]


@pytest.mark.parametrize("mode", [GenerationMode.POSITIVE, GenerationMode.NEGATIVE], ids=["valid", "invalid"])
def test_every_operation_answers_as_documented(api_schema, fuzz_token, mode):
    covered = []
    for operation in operations(api_schema):

        @given(case=operation.as_strategy(generation_mode=mode))
        @settings(max_examples=EXAMPLES, derandomize=True, deadline=None, database=None,
                  suppress_health_check=list(HealthCheck))
        def answers_as_documented(case):
            case.call_and_validate(headers=bearer(fuzz_token), checks=CHECKS)

        answers_as_documented()
        covered.append(operation.label)
    assert len(covered) == 13, covered


def test_recording_with_a_personal_token_answers_as_documented(api_schema, database, prepared, personal_token):
    """The write through the real operation: the holder's password in every generated body, the rest generated."""
    token_text, lot_id = personal_token(prepared.bench.technician), prepared.lot.id
    database.session.commit()  # no transaction of the test's own in the way of the requests' (SQLite)
    operation = api_schema["/api/v1/lots/{lot_id}/qc-results"]["POST"]

    @given(case=operation.as_strategy(), test_key=st.sampled_from(TEST_KEYS), dose=st.sampled_from(DOSES))
    @settings(max_examples=EXAMPLES, derandomize=True, deadline=None, database=None,
              suppress_health_check=list(HealthCheck))
    def answers_as_documented(case, test_key, dose):
        case.path_parameters["lot_id"] = lot_id
        if isinstance(case.body, dict):
            case.body |= {"password": PASSWORD, "test_key": test_key, "dose_unit": dose}
        case.call_and_validate(headers=bearer(token_text), checks=CHECKS)

    answers_as_documented()
