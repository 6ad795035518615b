"""RFC 9457 problem details: the one shape of every error the gateway answers with."""

from __future__ import annotations

import re
from typing import Any

import msgspec
import structlog
from litestar import Request, Response
from litestar.exceptions import HTTPException, NotAuthorizedException, PermissionDeniedException, ValidationException
from litestar.status_codes import HTTP_500_INTERNAL_SERVER_ERROR
from sqlalchemy.exc import DBAPIError
from sqlalchemy.exc import TimeoutError as PoolTimeoutError

__all__ = ["FieldError", "Problem", "ProblemError", "exception_handlers"]

PROBLEM_MEDIA_TYPE = "application/problem+json"
_NAMED_FIELD = re.compile(r"^`([^`]+)`: (.+)$", re.DOTALL)
_log = structlog.get_logger("spotcheck.gateway.web.problems")


class FieldError(msgspec.Struct, frozen=True, kw_only=True):
    """One invalid field: where it is (a JSON path such as ``$.data.order_no``) and why it is refused."""

    field: str
    reason: str


class Problem(msgspec.Struct, frozen=True, kw_only=True, omit_defaults=True):
    """An RFC 9457 problem document, with the invalid fields listed in ``errors``."""

    type: str
    title: str
    status: int
    detail: str
    instance: str | None = None
    errors: list[FieldError] = msgspec.field(default_factory=list)
    allowed: list[str] = msgspec.field(default_factory=list)
    request_id: str | None = None


class ProblemError(HTTPException):
    """Raise to answer with a problem document; ``code`` becomes the problem ``type``."""

    def __init__(
        self,
        status: int,
        code: str,
        detail: str,
        *,
        title: str | None = None,
        errors: list[FieldError] | None = None,
        allowed: list[str] | None = None,
        headers: dict[str, str] | None = None,
    ) -> None:
        super().__init__(detail=detail, status_code=status, headers=headers)
        self.code = code
        self.title = title or code.replace("-", " ").capitalize()
        self.errors = errors or []
        self.allowed = allowed or []


def field_error(status: int, field: str, reason: str, *, code: str = "invalid-field") -> ProblemError:
    """A problem about one field, with the field named in both ``detail`` and ``errors``."""
    return ProblemError(status, code, f"{field}: {reason}", errors=[FieldError(field=field, reason=reason)])


def _request_id(request: Request[Any, Any, Any]) -> str | None:
    value = request.scope.get("state", {}).get("request_id")
    return value if isinstance(value, str) else None


def _handle_problem(request: Request[Any, Any, Any], exc: ProblemError) -> Response[Any]:
    """Every error answer goes through here: the other handlers describe theirs as a :class:`ProblemError`."""
    problem = Problem(
        type=f"urn:spotcheck:problem:{exc.code}",
        title=exc.title,
        status=exc.status_code,
        detail=exc.detail,
        instance=request.url.path,
        errors=exc.errors,
        allowed=exc.allowed,
        request_id=_request_id(request),
    )
    return Response(
        content=msgspec.json.encode(problem),
        status_code=problem.status,
        media_type=PROBLEM_MEDIA_TYPE,
        headers=exc.headers,
    )


def _validation_errors(exc: ValidationException) -> list[FieldError]:
    errors: list[FieldError] = []
    extra = exc.extra if isinstance(exc.extra, list) else []
    for item in extra:
        if not isinstance(item, dict):
            continue
        key = str(item.get("key") or "")
        message = str(item.get("message", "invalid value"))
        # Our own validators say "`field`: reason"; nest that field under the struct msgspec pointed at.
        named = _NAMED_FIELD.match(message)
        if named:
            field = named.group(1) if key in {"", "data"} else f"{key}.{named.group(1)}"
            errors.append(FieldError(field=field, reason=named.group(2)))
        elif key in {"", "data"} and message == "'data'":
            # Litestar's KeyError for a request that carried no body at all.
            errors.append(FieldError(field="body", reason="the body is empty; a JSON object is required"))
        else:
            errors.append(FieldError(field=key if key not in {"", "data"} else "body", reason=message))
    if not errors:
        errors.append(FieldError(field=_path_of(exc.detail), reason=exc.detail))
    return errors


def _path_of(message: str) -> str:
    # msgspec messages end with " - at `$.path`"; that path is the field to name.
    marker = " - at `"
    if marker in message and message.endswith("`"):
        return message.rsplit(marker, 1)[1][:-1]
    return "body"


def _handle_validation(request: Request[Any, Any, Any], exc: ValidationException) -> Response[Any]:
    errors = _validation_errors(exc)
    detail = "; ".join(f"{e.field}: {e.reason}" for e in errors)
    return _handle_problem(request, ProblemError(400, "invalid-request", detail, errors=errors))


def _handle_http(request: Request[Any, Any, Any], exc: HTTPException) -> Response[Any]:
    if exc.status_code == 400:  # noqa: PLR2004 - Litestar's own 400s are all about what the request carried
        return _handle_bad_request(request, exc)
    codes = {401: "unauthenticated", 403: "forbidden", 404: "not-found", 405: "method-not-allowed", 413: "too-large"}
    code = codes.get(exc.status_code, "http-error")
    return _handle_problem(request, ProblemError(exc.status_code, code, exc.detail, headers=exc.headers))


def _handle_bad_request(request: Request[Any, Any, Any], exc: HTTPException) -> Response[Any]:
    """A body Litestar could not read: 415 naming ``content-type`` when it was not declared JSON, else 400."""
    detail = exc.detail or "the request could not be read"
    media_type = request.headers.get("content-type", "").split(";", 1)[0].strip().lower()
    # Only JSON endpoints reach here (the intake and evidence uploads read their bodies themselves), so a
    # declared non-JSON type is the reason whatever the parser said.
    if media_type and not _is_json(media_type):
        reason = f"{media_type!r} is not accepted here; send the body as application/json"
        errors = [FieldError(field="content-type", reason=reason)]
        return _handle_problem(request, ProblemError(415, "unsupported-media-type", reason, errors=errors))
    # Parameters that fail to parse raise ValidationException (handled above); what is left is the body.
    errors = [FieldError(field="body", reason=detail)]
    return _handle_problem(
        request, ProblemError(400, "invalid-request", f"body: {detail}", errors=errors, headers=exc.headers)
    )


def _is_json(media_type: str) -> bool:
    return media_type == "application/json" or media_type.endswith("+json")


def _handle_undecodable(request: Request[Any, Any, Any], exc: Exception) -> Response[Any]:
    # msgspec raises these (not a DecodeError) for invalid UTF-8 in strings and absurd nesting.
    reason = "body is not valid UTF-8" if isinstance(exc, UnicodeDecodeError) else "body nests too deeply"
    errors = [FieldError(field="body", reason=reason)]
    return _handle_problem(request, ProblemError(400, "invalid-request", reason, errors=errors))


def _handle_database(request: Request[Any, Any, Any], exc: Exception) -> Response[Any]:
    """The store refused or is unreachable: a bad value is the client's 400, an outage is a retryable 503."""
    original = getattr(exc, "orig", None)
    text = f"{type(original).__name__}: {original}" if original is not None else type(exc).__name__
    if isinstance(exc, DBAPIError) and not exc.connection_invalidated and _is_bad_value(text):
        errors = [FieldError(field=_carrier_of_nul(request), reason="contains a NUL or untranslatable character")]
        detail = "a text value contains a character the store cannot keep (e.g. U+0000)"
        return _handle_problem(request, ProblemError(400, "invalid-field", detail, errors=errors))
    _log.warning("database unavailable", path=request.url.path, error=text[:200])
    detail = "the gateway's database is unavailable; retry shortly (nothing was recorded)"
    unavailable = ProblemError(503, "unavailable", detail, title="Service unavailable", headers={"retry-after": "5"})
    return _handle_problem(request, unavailable)


def _carrier_of_nul(request: Request[Any, Any, Any]) -> str:
    """The path or query parameter that carried the U+0000 the store refused; else the body."""
    for name, value in request.path_params.items():
        if "\x00" in str(value):
            return str(name)
    for name, value in request.query_params.multi_items():
        if "\x00" in value:
            return name
    return "body"


def _is_bad_value(text: str) -> bool:
    lowered = text.lower()
    return any(marker in lowered for marker in ("0x00", "untranslatable", "characternotinrepertoire", "null character"))


def _handle_unexpected(request: Request[Any, Any, Any], exc: Exception) -> Response[Any]:
    _log.error("unhandled error", path=request.url.path, error_type=type(exc).__name__, exc_info=exc)
    detail = "the gateway failed to process this request; it has been logged"
    return _handle_problem(
        request, ProblemError(HTTP_500_INTERNAL_SERVER_ERROR, "internal", detail, title="Internal error")
    )


exception_handlers: dict[type[Exception] | int, Any] = {
    ProblemError: _handle_problem,
    ValidationException: _handle_validation,
    NotAuthorizedException: _handle_http,
    PermissionDeniedException: _handle_http,
    HTTPException: _handle_http,
    UnicodeDecodeError: _handle_undecodable,
    RecursionError: _handle_undecodable,
    DBAPIError: _handle_database,
    PoolTimeoutError: _handle_database,  # every connection busy for pool_timeout: overloaded, retry later
    OSError: _handle_database,
    Exception: _handle_unexpected,
}
"""Handlers mapping every exception to a problem document."""
