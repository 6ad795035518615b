"""The one exception tree of ``spotcheck-sdk``.

Everything the SDK raises on purpose derives from :class:`SpotcheckError`::

    SpotcheckError
    ├── VerificationError        a message's signature, timestamp or headers are not acceptable
    ├── DecodeError              a verified body is not a valid Spotcheck message (names the field)
    ├── ChunkError               a chunked upload's pieces do not add up (index, count or digest)
    ├── LogVerificationError     a transparency-log note, checkpoint or proof is malformed or does not verify
    │   └── LogInconsistencyError  the log contradicts a checkpoint we kept (``kind``: fork or rollback)
    └── APIError                 the gateway answered a reply call with an error
        ├── AuthenticationError  401/403: our signature or key was refused
        ├── InvalidRequestError  400/404/409/413/422: the gateway names the field and the reason
        ├── RateLimitError       429 after every retry; carries ``retry_after``
        └── ServerError          5xx after every retry
    └── ConnectionFailed         no answer at all (connect error, timeout) after every retry
"""

from __future__ import annotations

from typing import Literal


class SpotcheckError(Exception):
    """Root of every error the SDK raises on purpose."""


class VerificationError(SpotcheckError):
    """A message failed verification; ``reason`` says why in words safe to log (never a secret)."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


class DecodeError(SpotcheckError):
    """A verified body is not a valid Spotcheck message; ``path`` names the field (``$.data.order_no``)."""

    def __init__(self, reason: str, *, path: str | None = None) -> None:
        super().__init__(reason if path is None else f"{reason} - at `{path}`")
        self.reason = reason
        self.path = path


class ChunkError(SpotcheckError):
    """The pieces of a chunked record set are inconsistent (missing, duplicated or failing their digest)."""


class LogVerificationError(SpotcheckError):
    """A signed note, checkpoint or proof from a gateway's transparency log is malformed or does not verify.

    ``reason`` says why in words safe to log; it never repeats more than a short prefix of untrusted input.
    """

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


class LogInconsistencyError(LogVerificationError):
    """The log's signed checkpoint contradicts one we verified and kept: proof the log was rewritten.

    Attributes:
        kind: ``"fork"`` (a different tree at a size we saw, or a larger tree that does not extend it) or
            ``"rollback"`` (a smaller tree than one the log already signed).
        kept_size: the size of the checkpoint we kept.
        served_size: the size of the checkpoint the log now serves.
        served_note: that checkpoint's signed note: with the one kept, the evidence of what the log signed.
    """

    def __init__(
        self,
        reason: str,
        *,
        kind: Literal["fork", "rollback"],
        kept_size: int,
        served_size: int,
        served_note: str = "",
    ) -> None:
        super().__init__(reason)
        self.kind = kind
        self.kept_size = kept_size
        self.served_size = served_size
        self.served_note = served_note


class APIError(SpotcheckError):
    """The gateway answered with an error.

    Attributes:
        http_status: the HTTP status code, or ``None`` when there was no answer.
        code: the machine-readable problem type from the RFC 9457 body, when given.
        request_id: the gateway's ``x-request-id`` for support, when given.
        detail: the human-readable reason from the problem body.
    """

    def __init__(
        self,
        message: str,
        *,
        http_status: int | None = None,
        code: str | None = None,
        request_id: str | None = None,
        detail: str | None = None,
    ) -> None:
        super().__init__(message)
        self.http_status = http_status
        self.code = code
        self.request_id = request_id
        self.detail = detail

    def __str__(self) -> str:
        parts = [super().__str__()]
        if self.http_status is not None:
            parts.append(f"status={self.http_status}")
        if self.request_id:
            parts.append(f"request_id={self.request_id}")
        return " ".join(parts)


class AuthenticationError(APIError):
    """The gateway refused our signature or key (401/403)."""


class InvalidRequestError(APIError):
    """The gateway rejected the reply's content (400/404/409/413/422); ``detail`` names the field."""


class RateLimitError(APIError):
    """Still throttled (429) after every retry; ``retry_after`` is the last advised wait in seconds."""

    def __init__(
        self,
        message: str,
        *,
        retry_after: float | None = None,
        http_status: int | None = 429,
        code: str | None = None,
        request_id: str | None = None,
        detail: str | None = None,
    ) -> None:
        super().__init__(message, http_status=http_status, code=code, request_id=request_id, detail=detail)
        self.retry_after = retry_after


class ServerError(APIError):
    """The gateway kept failing (5xx) after every retry."""


class ConnectionFailed(APIError):  # noqa: N818 - reads as what happened, like httpx.ConnectError
    """No answer from the gateway (connection refused, reset or timed out) after every retry."""
