"""Errors of the API as RFC 9457 problem details (`application/problem+json`), in the pages' words."""

from flask import request
from werkzeug.exceptions import HTTPException
from werkzeug.http import HTTP_STATUS_CODES

from manufacturing.core.errors import DomainError, NotPermitted, OutOfSequence, SignatureError

PROBLEM_TYPE = "application/problem+json"
API_PREFIX = "/api/v1"
DETAILS = {
    400: "The request could not be understood.",
    401: "Give a current API token as 'Authorization: Bearer <token>'.",
    403: "You are not allowed to do this.",
    404: "Not found.",
    405: "This method is not allowed here.",
    413: "Too much data.",
    415: "Send the body as application/json.",
    500: "Something went wrong; nothing was changed.",
}


class Problem(Exception):
    """An API error: a status, the message shown as it is, and for invalid input the fields at fault."""

    def __init__(self, status: int, detail: str | None = None, errors: list[dict] | None = None,
                 headers: dict | None = None):
        super().__init__(detail)
        self.status = status
        self.detail = detail or DETAILS.get(status, HTTP_STATUS_CODES.get(status, "Error"))
        self.errors = errors
        self.headers = headers or {}


def from_domain(error: DomainError) -> Problem:
    """The status a broken rule answers: not permitted 403, out of sequence 409, any other 422."""
    if isinstance(error, NotPermitted | SignatureError):
        return Problem(403, error.message)
    if isinstance(error, OutOfSequence):
        return Problem(409, error.message)
    return Problem(422, error.message)


def is_api_request() -> bool:
    return request.path == API_PREFIX or request.path.startswith(API_PREFIX + "/")


def response(problem: Problem):
    """The problem as its JSON document and status."""
    from flask import current_app

    body = {"type": "about:blank", "title": HTTP_STATUS_CODES.get(problem.status, "Error"),
            "status": problem.status, "detail": problem.detail, "instance": request.path}
    if problem.errors is not None:
        body["errors"] = problem.errors
    answer = current_app.json.response(body)
    answer.status_code = problem.status
    answer.mimetype = PROBLEM_TYPE
    answer.headers.update(problem.headers)
    if problem.status == 401:
        answer.headers["WWW-Authenticate"] = 'Bearer realm="api"'
    return answer


def from_http(error: HTTPException) -> Problem:
    status = error.code or 500
    headers = {"Allow": ", ".join(error.valid_methods)} if getattr(error, "valid_methods", None) else None
    return Problem(status, DETAILS.get(status), headers=headers)


def field_errors(errors: list[dict], where: str) -> list[dict]:
    """Name each field at fault, as pydantic found it, with its message."""
    return [{"field": ".".join(str(part) for part in error.get("loc", ())) or where, "in": where,
             "message": error.get("msg", "invalid").removeprefix("Value error, ")} for error in errors]
