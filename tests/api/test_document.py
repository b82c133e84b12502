"""The OpenAPI 3.1 document and the reference page: open to all, served from here, every error a problem."""

import re

from manufacturing.api.models import Scope
from tests.api.conftest import bearer


def test_the_document_is_openapi_3_1_with_a_bearer_scheme_and_problem_answers(client):
    response = client.get("/api/v1/openapi.json")
    assert response.status_code == 200
    document = response.json
    assert document["openapi"] == "3.1.0"
    assert document["components"]["securitySchemes"]["bearer"] == {
        "type": "http", "scheme": "bearer", "description": "An API token: nk_<prefix>_<secret>."}
    operations = [(path, method, operation) for path, item in document["paths"].items()
                  for method, operation in item.items()]
    assert len(operations) == 13
    for path, _method, operation in operations:
        assert operation["security"] == [{"bearer": []}], path
        assert operation["x-scope"] in {scope.value for scope in Scope}
        for status in ("400", "401", "403", "404", "422", "500"):
            assert list(operation["responses"][status]["content"]) == ["application/problem+json"], (path, status)
    problem = document["components"]["schemas"]["ProblemDetails"]
    assert set(problem["required"]) == {"type", "title", "status", "detail", "instance"}


def test_the_reference_page_is_served_here_without_a_login(client):
    response = client.get("/api/v1/docs")
    page = response.get_data(as_text=True)
    assert response.status_code == 200 and response.mimetype == "text/html"
    assert "POST /api/v1/lots/{lot_id}/qc-results" in page and "ProblemDetails" in page
    assert not re.search(r"""(src|href)=["']https?://""", page)


def test_a_server_error_is_a_problem_without_internals(app, database, service_token, monkeypatch):
    from manufacturing import create_app
    from manufacturing.api import views

    def explode(*args, **kwargs):
        raise ValueError("secret internals")

    monkeypatch.setattr(views, "keyset_page", explode)
    fresh = create_app({**app.config, "TESTING": False, "DEBUG": False})
    database.session.close()
    response = fresh.test_client().get("/api/v1/lots", headers=bearer(service_token))
    assert response.status_code == 500 and response.mimetype == "application/problem+json"
    assert response.json["detail"] == "Something went wrong; nothing was changed."
    assert "secret internals" not in response.get_data(as_text=True)
