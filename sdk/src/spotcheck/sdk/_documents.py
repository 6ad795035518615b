"""Fetching the official documents (文书) a notice serves: a signed GET, and the bytes checked against the notice.

A notice's ``data.documents`` lists each numbered, signed PDF as a ``DocumentRef`` (kind, 文号, SHA-256, media
type, URL). The platform fetches one with a request signed by the key it signs its replies with: Standard
Webhooks headers over ``GET {path}`` in place of a body, where ``path`` is the URL's path
(``GET /v1/platforms/{platform_id}/documents/{document_id}``). The bytes are returned only when their SHA-256 is
the one the notice carried, so what the platform keeps is exactly what the authority signed and served.

Errors: :class:`~spotcheck.sdk.VerificationError` for bytes that do not match the digest; an
:class:`~spotcheck.sdk.APIError` subclass for the gateway's refusal (401/403 :class:`AuthenticationError`,
404/409 :class:`InvalidRequestError`, 5xx :class:`ServerError`); :class:`ConnectionFailed` without an answer.
"""

from __future__ import annotations

import hashlib
import time
from typing import TYPE_CHECKING, Final

import httpx

from spotcheck.sdk._errors import (
    APIError,
    AuthenticationError,
    ConnectionFailed,
    InvalidRequestError,
    ServerError,
    VerificationError,
)
from spotcheck.sdk._signing import Webhook, new_message_id

if TYPE_CHECKING:
    from collections.abc import Callable, Sequence

    from spotcheck.schemas import DocumentRef

__all__ = ["document_request_headers", "fetch_document", "fetch_document_async"]

_PROBLEM_PREFIX: Final = "urn:spotcheck:problem:"


def _target(url: str) -> bytes:
    return f"GET {httpx.URL(url).raw_path.decode('ascii').split('?')[0]}".encode()


def document_request_headers(
    ref: DocumentRef, signing_key: str | Sequence[str], *, clock: Callable[[], float] = time.time
) -> dict[str, str]:
    """The signed headers of a request for ``ref``: Standard Webhooks over ``GET {path}``, with the reply key.

    Raises:
        ValueError: the key cannot sign (a ``whpk_`` public key).
    """
    webhook = Webhook(signing_key)
    if not webhook.can_sign:
        raise ValueError("signing_key must hold a whsec_ or whsk_ key: whpk_ keys can only verify")
    headers = webhook.headers(new_message_id(), _target(ref.url), timestamp=int(clock()))
    headers["accept"] = ref.media_type
    return headers


def _checked(ref: DocumentRef, response: httpx.Response) -> bytes:
    status = response.status_code
    if not 200 <= status < 300:  # noqa: PLR2004 - the 2xx class
        request_id = response.headers.get("x-request-id")
        code: str | None = None
        detail = response.text[:500]
        try:
            problem = response.json()
            code = str(problem.get("type", "")).removeprefix(_PROBLEM_PREFIX) or None
            detail = str(problem.get("detail") or detail)
        except ValueError:
            pass
        kind: type[APIError] = APIError
        if status >= 500:  # noqa: PLR2004 - the 5xx class
            kind = ServerError
        elif status in {401, 403}:
            kind = AuthenticationError
        elif 400 <= status < 500:  # noqa: PLR2004 - the 4xx class
            kind = InvalidRequestError
        message = f"the gateway refused document {ref.number}: {detail}"
        raise kind(message, http_status=status, code=code, request_id=request_id, detail=detail)
    content = response.content
    actual = hashlib.sha256(content).hexdigest()
    if actual != ref.sha256:
        raise VerificationError(f"document {ref.number}: SHA-256 {actual} is not the {ref.sha256} the notice carried")
    return content


def fetch_document(
    ref: DocumentRef,
    *,
    signing_key: str | Sequence[str],
    http_client: httpx.Client | None = None,
    timeout: float = 30.0,
    clock: Callable[[], float] = time.time,
) -> bytes:
    """Fetch the document ``ref`` names with a signed request; its bytes, once their SHA-256 matches ``ref``.

    Args:
        ref: one of the notice's ``data.documents``.
        signing_key: the platform's reply key (``whsk_`` or ``whsec_``), as the reply client uses.
        http_client: a client to send with (the caller keeps owning it); by default one for this call.
        timeout: seconds for the request.
        clock: the current Unix time, for the signature's timestamp.

    Raises:
        VerificationError: the bytes do not hash to ``ref.sha256``.
        APIError: the gateway refused (see the module docstring for the subclasses).
        ConnectionFailed: no answer.
    """
    headers = document_request_headers(ref, signing_key, clock=clock)
    client = http_client or httpx.Client(timeout=timeout)
    try:
        response = client.get(ref.url, headers=headers, timeout=timeout)
    except httpx.TransportError as exc:
        raise ConnectionFailed(f"no answer from the gateway: {type(exc).__name__}", detail=str(exc)[:500]) from exc
    finally:
        if http_client is None:
            client.close()
    return _checked(ref, response)


async def fetch_document_async(
    ref: DocumentRef,
    *,
    signing_key: str | Sequence[str],
    http_client: httpx.AsyncClient | None = None,
    timeout: float = 30.0,  # noqa: ASYNC109 - the request's timeout, passed to httpx as the sync client does
    clock: Callable[[], float] = time.time,
) -> bytes:
    """:func:`fetch_document` for asyncio: the same signed request and digest check."""
    headers = document_request_headers(ref, signing_key, clock=clock)
    client = http_client or httpx.AsyncClient(timeout=timeout)
    try:
        response = await client.get(ref.url, headers=headers, timeout=timeout)
    except httpx.TransportError as exc:
        raise ConnectionFailed(f"no answer from the gateway: {type(exc).__name__}", detail=str(exc)[:500]) from exc
    finally:
        if http_client is None:
            await client.aclose()
    return _checked(ref, response)
