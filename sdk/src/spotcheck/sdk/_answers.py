"""Reading the gateway's answers to replies: receipts, RFC 9457 problems and the errors they call for.

The table of what each answer becomes is in :mod:`spotcheck.sdk._client`'s docstring; both clients read answers here.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, Final, Literal

import httpx
import msgspec

from spotcheck.sdk._errors import (
    APIError,
    AuthenticationError,
    ConnectionFailed,
    InvalidRequestError,
    RateLimitError,
    ServerError,
)
from spotcheck.sdk._retry import RETRYABLE_STATUSES, RetryableFailure
from spotcheck.sdk._retry_after import parse_retry_after

if TYPE_CHECKING:
    from collections.abc import Callable

    from spotcheck.sdk._chunks import UploadState

__all__ = ["ReplyReceipt", "UploadReceipt", "read_answer", "transport_failure", "upload_receipt"]

_PROBLEM_PREFIX: Final = "urn:spotcheck:problem:"
_MAX_DETAIL_CHARS: Final = 1_000
_AUTHENTICATION_STATUSES: Final = frozenset({401, 403})
_INVALID_REQUEST_STATUSES: Final = frozenset({400, 404, 409, 413, 415, 422})
_SERVER_ERRORS: Final = 500
# Failures before any answer that another attempt may cure; a bad URL scheme or a local protocol error cannot.
_TRANSIENT_TRANSPORT_ERRORS: Final = (
    httpx.TimeoutException,
    httpx.NetworkError,
    httpx.RemoteProtocolError,
    httpx.ProxyError,
)


class ReplyReceipt(msgspec.Struct, frozen=True, kw_only=True):
    """The gateway's answer to one reply.

    Attributes:
        status: ``accepted`` (applied now) or ``duplicate`` (this ``webhook-id`` was applied before; nothing
            happened twice).
        id: the gateway's id of the stored reply.
        type: the reply's message type, e.g. ``notice.acknowledged``.
        detail: what the reply did, as the gateway reports it (e.g. ``{"received": 2, "of": 3}``).
        request_id: the gateway's ``x-request-id``, for support.
        webhook_id: the ``webhook-id`` the reply was sent with (its idempotency key).
    """

    status: Literal["accepted", "duplicate"]
    id: str
    type: str
    detail: dict[str, Any]
    request_id: str | None
    webhook_id: str


class UploadReceipt(msgspec.Struct, frozen=True, kw_only=True):
    """The outcome of one :meth:`GatewayClient.provide_records` call.

    Attributes:
        upload_id: the id shared by every chunk.
        set_sha256: the digest of the whole set.
        chunk_count: chunks in the set.
        sent: a receipt per chunk sent by this call, in order.
        skipped: chunks not sent because the upload state already had them accepted.
        complete: whether every chunk of the set is now accepted.
    """

    upload_id: str
    set_sha256: str
    chunk_count: int
    sent: tuple[ReplyReceipt, ...]
    skipped: int
    complete: bool


class _Answer(msgspec.Struct):
    """The 200 body of the intake."""

    status: Literal["accepted", "duplicate"]
    id: str
    type: str
    detail: dict[str, Any] = msgspec.field(default_factory=dict)


class _FieldProblem(msgspec.Struct):
    field: str = "$"
    reason: str = ""


class _Problem(msgspec.Struct):
    """The members of an RFC 9457 problem document the client reads; others are ignored."""

    type: str = "about:blank"
    title: str | None = None
    detail: str | None = None
    errors: list[_FieldProblem] = msgspec.field(default_factory=list)
    request_id: str | None = None


_ANSWER_DECODER: Final = msgspec.json.Decoder(_Answer)
_PROBLEM_DECODER: Final = msgspec.json.Decoder(_Problem)


def _problem_of(response: httpx.Response) -> _Problem:
    """Read the problem document, or make one from the status line when the body is not one."""
    try:
        return _PROBLEM_DECODER.decode(response.content)
    except msgspec.DecodeError:
        text = response.text.strip()[:240]
        return _Problem(title=response.reason_phrase or None, detail=text or None)


def _code_of(problem_type: str) -> str | None:
    if problem_type.startswith(_PROBLEM_PREFIX):
        return problem_type.removeprefix(_PROBLEM_PREFIX) or None
    return None if problem_type == "about:blank" else problem_type


def _detail_of(problem: _Problem, status: int) -> str:
    """The problem's detail, followed by every listed field the detail does not already name."""
    parts = [problem.detail or problem.title or f"HTTP {status}"]
    parts.extend(
        f"{error.field}: {error.reason}"
        for error in problem.errors
        if error.field not in parts[0] or error.reason not in parts[0]
    )
    return "; ".join(parts)[:_MAX_DETAIL_CHARS]


def upload_receipt(state: UploadState, sent: list[ReplyReceipt], skipped: int) -> UploadReceipt:
    """The outcome of one records upload call, from its state after the chunks were sent."""
    assert state.set_sha256 is not None  # noqa: S101 - planned before any chunk is sent
    return UploadReceipt(
        upload_id=state.upload_id,
        set_sha256=state.set_sha256,
        chunk_count=state.chunk_count,
        sent=tuple(sent),
        skipped=skipped,
        complete=state.complete,
    )


def read_answer(response: httpx.Response, msg_id: str, *, clock: Callable[[], float]) -> ReplyReceipt:
    """Turn the gateway's answer into a receipt, or raise the error it calls for.

    ``clock`` (the client's, Unix seconds) is read only to interpret a ``Retry-After`` date.

    Raises:
        RetryableFailure: a 429 or transient 5xx, wrapping the error to raise if no retry is left.
        APIError: every other failure, in its subclass.
    """
    status = response.status_code
    request_id = response.headers.get("x-request-id")
    if 200 <= status < 300:  # noqa: PLR2004 - the 2xx class
        try:
            answer = _ANSWER_DECODER.decode(response.content)
        except msgspec.DecodeError:
            raise APIError(
                "the gateway's answer is not a reply receipt",
                http_status=status,
                request_id=request_id,
                detail=response.text[:240],
            ) from None
        return ReplyReceipt(
            status=answer.status,
            id=answer.id,
            type=answer.type,
            detail=answer.detail,
            request_id=request_id,
            webhook_id=msg_id,
        )
    problem = _problem_of(response)
    code = _code_of(problem.type)
    detail = _detail_of(problem, status)
    request_id = request_id or problem.request_id
    title = problem.title or response.reason_phrase or f"HTTP {status}"
    message = detail if detail.startswith(title) else f"{title}: {detail}"
    if status in RETRYABLE_STATUSES:
        retry_after = parse_retry_after(response.headers.get("retry-after"), now=clock())
        error: APIError
        if status == 429:  # noqa: PLR2004 - Too Many Requests
            error = RateLimitError(
                message,
                retry_after=retry_after,
                http_status=status,
                code=code,
                request_id=request_id,
                detail=detail,
            )
        else:
            error = ServerError(message, http_status=status, code=code, request_id=request_id, detail=detail)
        raise RetryableFailure(error, retry_after=retry_after)
    kind: type[APIError] = APIError
    if status >= _SERVER_ERRORS:
        kind = ServerError
    elif status in _AUTHENTICATION_STATUSES:
        kind = AuthenticationError
    elif status in _INVALID_REQUEST_STATUSES:
        kind = InvalidRequestError
    raise kind(message, http_status=status, code=code, request_id=request_id, detail=detail)


def transport_failure(exc: httpx.TransportError) -> Exception:
    """Wrap a failure to get any answer: retryable when another attempt may cure it."""
    error = ConnectionFailed(
        f"no answer from the gateway: {type(exc).__name__}", detail=str(exc)[:_MAX_DETAIL_CHARS] or None
    )
    if isinstance(exc, _TRANSIENT_TRANSPORT_ERRORS):
        return RetryableFailure(error)
    return error
