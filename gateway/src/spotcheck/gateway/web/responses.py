"""The error answers each operation documents: exactly the statuses it can give, each said in words.

Litestar knows only its own 400. What an operation's handler and service refuse is kept in one table,
:data:`~spotcheck.gateway.web.refusals.OPERATION_ERRORS`, by operation, as reasons in words. What follows from an
operation's shape is added here from the document itself: 401 for an operation with a token (``web.deps``), and
400, 413 and 415 for a JSON body (decoded by Litestar; ``web.problems`` answers 415 when a body declared as
another type cannot be read), 400 for a query. Every answer is a problem document (``web.problems``), or an HTML
page for the public site's pages; server errors (500, and 503/507 when the database or a file store cannot serve)
are one ``5XX`` entry.

``tests/gateway/test_openapi.py`` checks that every ``/v1`` operation has an entry and that sample bad requests
are answered with documented statuses; the Schemathesis run checks every status it meets.
"""

from __future__ import annotations

from litestar.openapi.spec import (
    Components,
    OpenAPI,
    OpenAPIHeader,
    OpenAPIMediaType,
    OpenAPIResponse,
    OpenAPIType,
    Operation,
    Reference,
    Schema,
)

from spotcheck.gateway.web.raw_bodies import RAW_BODY_OPERATIONS, document_raw_bodies
from spotcheck.gateway.web.refusals import OPERATION_ERRORS, TOO_LARGE, merge

__all__ = ["PROBLEM_SCHEMA", "document_responses"]

TOKEN = "no `Authorization: Bearer sct_…` header, or the token is unknown, revoked or expired"  # noqa: S105
BODY = "the body is not JSON of the documented shape, or a field is invalid; `errors` names the field"
QUERY = "a query parameter is invalid; `errors` names it"
STORE_TEXT = "a path or query value holds a character the database cannot keep (U+0000, on PostgreSQL)"
NOT_JSON = "the body is declared with a media type other than JSON and cannot be read as JSON"

_STRING = Schema(type=OpenAPIType.STRING)
PROBLEM_SCHEMA = Schema(
    type=OpenAPIType.OBJECT,
    title="Problem",
    description="RFC 9457 problem document; `errors` names each refused field and why.",
    required=["type", "title", "status", "detail"],
    properties={
        "type": Schema(type=OpenAPIType.STRING, description="urn:spotcheck:problem:<code>"),
        "title": _STRING,
        "status": Schema(type=OpenAPIType.INTEGER),
        "detail": _STRING,
        "instance": _STRING,
        "errors": Schema(
            type=OpenAPIType.ARRAY,
            items=Schema(
                type=OpenAPIType.OBJECT,
                required=["field", "reason"],
                properties={
                    "field": Schema(type=OpenAPIType.STRING, description="the field, e.g. data.merchant.uscc"),
                    "reason": _STRING,
                    "row": Schema(type=OpenAPIType.INTEGER, description="CSV import: the row (the header is row 1)"),
                    "column": Schema(type=OpenAPIType.STRING, description="CSV import: the column"),
                },
            ),
        ),
        "allowed": Schema(
            type=OpenAPIType.ARRAY, items=_STRING, description="for 409: the actions the case allows now"
        ),
        "request_id": _STRING,
    },
)
"""The body of every error answer (see ``spotcheck.gateway.web.problems``)."""

_SERVER_ERRORS = (
    "500 an unexpected failure (logged); 503 the database or a file store is unavailable (the database's answer "
    "carries Retry-After); 507 the evidence or document store is full"
)
# Public addresses that answer 404 although they take no path parameter: the log before its first checkpoint,
# and a proof for a leaf the tree does not hold.
_PUBLIC_NOT_FOUND = {"/public/log/checkpoint", "/public/log/proof"}
_HTML_ERROR = OpenAPIMediaType(schema=Schema(type=OpenAPIType.STRING, description="an HTML error page"))
_METHODS = ("get", "put", "post", "delete", "patch")


def _shape_errors(key: tuple[str, str], operation: Operation) -> dict[int, tuple[str, ...]]:
    """What the operation's shape implies: a token's 401, a JSON body's 400, 413 and 415, a parameter's 400."""
    errors: dict[int, tuple[str, ...]] = {}
    if operation.security:
        errors[401] = (TOKEN,)
    if operation.request_body is not None and key not in RAW_BODY_OPERATIONS:
        errors = merge(errors, {400: (BODY,), 413: (TOO_LARGE,), 415: (NOT_JSON,)})
    places = {getattr(p, "param_in", None) for p in operation.parameters or []}
    if "query" in places:
        errors = merge(errors, {400: (QUERY,)})
    if places & {"path", "query"}:  # the values reach the store's look-ups as they came
        errors = merge(errors, {400: (STORE_TEXT,)})
    return errors


def _describe(reasons: tuple[str, ...]) -> str:
    return "; ".join(reasons)


def _api_responses(key: tuple[str, str], operation: Operation, problem: OpenAPIMediaType) -> None:
    """Replace Litestar's 400 by every refusal the operation can give, each a problem document, and ``5XX``."""
    errors = merge(_shape_errors(key, operation), OPERATION_ERRORS.get(key, {}))
    responses = {
        status: answer for status, answer in (operation.responses or {}).items() if not status.startswith(("4", "5"))
    }
    for status, reasons in sorted(errors.items()):
        headers: dict[str, OpenAPIHeader | Reference] | None = None
        if status == 401 and operation.security:  # noqa: PLR2004 - the token check names its scheme
            headers = {
                "www-authenticate": OpenAPIHeader(
                    schema=_STRING, required=True, description='`Bearer realm="spotcheck"` (and the error, if any)'
                )
            }
        responses[str(status)] = OpenAPIResponse(
            description=_describe(reasons), content={"application/problem+json": problem}, headers=headers
        )
    responses["5XX"] = OpenAPIResponse(description=_SERVER_ERRORS, content={"application/problem+json": problem})
    operation.responses = responses


def _public_responses(
    path: str, key: tuple[str, str], operation: Operation, problem: OpenAPIMediaType
) -> dict[str, OpenAPIResponse | Reference]:
    """The public pages answer errors as HTML pages, the data formats as problem documents."""
    responses = {s: r for s, r in (operation.responses or {}).items() if not s.startswith("4")}
    success = responses.get("200")
    html = isinstance(success, OpenAPIResponse) and any(t.startswith("text/html") for t in success.content or {})
    content = {"text/html": _HTML_ERROR} if html else {"application/problem+json": problem}
    if any(getattr(p, "param_in", None) == "query" for p in operation.parameters or []):
        responses["400"] = OpenAPIResponse(description="a parameter is invalid; the answer names it", content=content)
    if "{" in path or path in _PUBLIC_NOT_FOUND:
        responses["404"] = OpenAPIResponse(description="nothing published at this address", content=content)
    for status, reasons in OPERATION_ERRORS.get(key, {}).items():
        responses[str(status)] = OpenAPIResponse(description=_describe(reasons), content=content)
    return dict(sorted(responses.items()))


def document_responses(openapi: OpenAPI) -> None:
    """Document the raw bodies, then every refusal of every operation as a problem document (or an HTML page)."""
    document_raw_bodies(openapi)
    openapi.components = openapi.components or Components()
    schemas = openapi.components.schemas if openapi.components.schemas is not None else {}
    schemas["Problem"] = PROBLEM_SCHEMA
    openapi.components.schemas = schemas
    problem = OpenAPIMediaType(schema=Reference(ref="#/components/schemas/Problem"))
    for path, item in (openapi.paths or {}).items():
        for method in _METHODS:
            operation: Operation | None = getattr(item, method)
            if operation is None:
                continue
            key = (method, path)
            if path.startswith("/public/"):
                operation.responses = _public_responses(path, key, operation, problem)
            elif path.startswith("/v1/") or key in OPERATION_ERRORS:
                _api_responses(key, operation, problem)
            # The liveness probe and the metrics answer no client error.
