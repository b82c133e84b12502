"""The OpenAPI 3.1 document of the API, written by spectree from the views' pydantic models.

spectree writes JSON Schema 2020-12 (OpenAPI 3.1's dialect) from pydantic v2 models and validates requests
and answers against the same models. This module adds what it does not say: the bearer scheme, the scopes
each operation needs, and a problem-details answer (`application/problem+json`) for every error.
"""

import copy
import re

from flask import current_app
from spectree import SpecTree

from manufacturing.api.problems import PROBLEM_TYPE, Problem, field_errors
from manufacturing.api.schemas import ProblemDetails
from manufacturing.core.web import ROW_ID_MAX

TITLE = "NK cell manufacturing API"
VERSION = "1"
BEARER = "bearer"
# The errors every operation may answer; a write adds its own (see `problems.from_domain`). A record id beyond
# the `<id:...>` converter's range matches no rule of its method but may match another's path: 405, as on the pages.
READ_PROBLEMS = (400, 401, 403, 404, 405, 422, 500)
WRITE_PROBLEMS = (400, 401, 403, 404, 405, 409, 415, 422, 500)
REASONS = {400: "Bad request", 401: "No current token", 403: "Not allowed", 404: "Not found",
           405: "Method not allowed", 409: "Out of sequence", 415: "Not JSON",
           422: "Invalid input or a rule of the process refused it",
           500: "Server error"}


def _invalid(request, response, error, instance, *rest) -> None:
    """Answer invalid input as a problem naming each field at fault (spectree's hook before the view)."""
    if error is None:
        return
    where = "body" if request.method not in ("GET", "HEAD") else "query"
    errors = [{"loc": e.get("loc", ()), "msg": e.get("msg", "invalid")} for e in error.errors()]
    raise Problem(422, "The request has invalid fields: see errors.", errors=field_errors(errors, where))


api_spec = SpecTree("flask", title=TITLE, version=VERSION, mode="strict", path="api/v1/_spectree",
                    before=_invalid, validation_error_status=422, naming_strategy=lambda model: model.__name__)


def _problem_response(status: int) -> dict:
    return {"description": REASONS[status],
            "content": {PROBLEM_TYPE: {"schema": {"$ref": "#/components/schemas/ProblemDetails"}}}}


def _path_parameters(operation: dict) -> None:
    """Say what the `<id:...>` converter accepts (1 to 2^31-1), which spectree cannot know."""
    for parameter in operation.get("parameters", []):
        if parameter["in"] == "path" and not parameter.get("schema"):
            parameter["schema"] = {"type": "integer", "minimum": 1, "maximum": ROW_ID_MAX}


def _scopes() -> dict[tuple[str, str], str]:
    """The scope each operation's view requires, by (OpenAPI path, method)."""
    found = {}
    for rule in current_app.url_map.iter_rules():
        scope = getattr(current_app.view_functions[rule.endpoint], "required_scope", None)
        if scope is not None:
            path = re.sub(r"<(?:[^:<>]+:)?([^<>]+)>", r"{\1}", rule.rule)
            found.update({(path, method.lower()): scope.value for method in rule.methods})
    return found


def _with_problems(operation: dict, method: str) -> None:
    responses = operation["responses"]
    for code in list(responses):
        if int(code) >= 400:
            del responses[code]
    for status in WRITE_PROBLEMS if method == "post" else READ_PROBLEMS:
        responses[str(status)] = _problem_response(status)


def document() -> dict:
    """The OpenAPI document of the running application."""
    cache = current_app.extensions.setdefault("api_openapi", {})
    if "document" not in cache:
        spec = copy.deepcopy(api_spec._generate_spec())
        spec["info"]["description"] = (
            "The same operations as the pages. Authenticate with `Authorization: Bearer <token>`. "
            "Errors are RFC 9457 problem details. Lists are paged: pass `next_after` back as `after`.")
        spec["components"]["securitySchemes"] = {
            BEARER: {"type": "http", "scheme": "bearer", "description": "An API token: nk_<prefix>_<secret>."}}
        scopes = _scopes()
        for path, path_item in spec["paths"].items():
            for method, operation in path_item.items():
                _with_problems(operation, method)
                _path_parameters(operation)
                if (path, method) in scopes:
                    operation["security"] = [{BEARER: []}]
                    operation["x-scope"] = scopes[path, method]
                    operation["description"] = (f"Needs a token with the scope `{scopes[path, method]}`. "
                                                + operation.get("description", "")).strip()
        schemas = spec["components"]["schemas"]
        for name in [name for name in schemas if name.startswith("ValidationError")]:
            del schemas[name]
        schemas["ProblemDetails"] = ProblemDetails.model_json_schema(
            by_alias=True, ref_template="#/components/schemas/{model}")
        definitions = schemas["ProblemDetails"].pop("$defs", {})
        schemas.update(definitions)
        cache["document"] = spec
    return cache["document"]
