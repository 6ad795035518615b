"""HTTP plumbing of the receiver: its answer, RFC 9457 problem documents, and framework-free ASGI and WSGI apps.

The apps answer every path they are mounted at. Before the receiver sees a request they refuse, in this order:
a method other than ``POST`` (405, ``Allow: POST``), a media type other than ``application/json`` (415), an
unreadable ``Content-Length`` (400), a body larger than the receiver's ``max_body_bytes`` (413: told by
``Content-Length`` before anything is read, or found while reading, which then stops).
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Iterable, Mapping, MutableMapping
from dataclasses import dataclass, field
from http import HTTPStatus
from typing import TYPE_CHECKING, Any, Final

import msgspec

if TYPE_CHECKING:
    from wsgiref.types import StartResponse, WSGIEnvironment

    from spotcheck.sdk._receiver import Receiver

__all__ = ["AsgiApp", "ReceiverResponse", "WsgiApp"]

PROBLEM_MEDIA_TYPE: Final = "application/problem+json"
JSON_MEDIA_TYPE: Final = "application/json"

_Scope = MutableMapping[str, Any]
_Message = MutableMapping[str, Any]
_Receive = Callable[[], Awaitable[_Message]]
_Send = Callable[[_Message], Awaitable[None]]

_READ_CHUNK: Final = 64 * 1024
_ENCODER: Final = msgspec.json.Encoder()


@dataclass(frozen=True, slots=True)
class ReceiverResponse:
    """What to answer the gateway: an HTTP status, a JSON body and its headers (lower-case names).

    Success bodies are ``{"status": "processed" | "duplicate" | "unhandled"}``; every other answer is an
    RFC 9457 problem document ``{"type", "title", "status", "detail"}`` served as ``application/problem+json``.
    """

    status: int
    body: bytes
    headers: Mapping[str, str] = field(default_factory=lambda: {"content-type": JSON_MEDIA_TYPE})

    def json(self) -> Any:
        """Decode :attr:`body` (a JSON object for every answer the receiver makes)."""
        return msgspec.json.decode(self.body)


def status_response(word: str) -> ReceiverResponse:
    """A 200 answer ``{"status": word}``."""
    return ReceiverResponse(200, _ENCODER.encode({"status": word}), {"content-type": JSON_MEDIA_TYPE})


def problem_response(
    status: int,
    code: str,
    detail: str,
    *,
    errors: list[dict[str, str]] | None = None,
    headers: Mapping[str, str] | None = None,
) -> ReceiverResponse:
    """An RFC 9457 answer whose ``type`` is ``urn:spotcheck:problem:<code>``, as the gateway writes them."""
    document: dict[str, object] = {
        "type": f"urn:spotcheck:problem:{code}",
        "title": HTTPStatus(status).phrase,
        "status": status,
        "detail": detail,
    }
    if errors:
        document["errors"] = errors
    return ReceiverResponse(status, _ENCODER.encode(document), {"content-type": PROBLEM_MEDIA_TYPE, **(headers or {})})


def _too_large(limit: int) -> ReceiverResponse:
    return problem_response(413, "too-large", f"the body is larger than {limit} bytes")


def _is_json(content_type: str | None) -> bool:
    """Whether the media type, parameters aside, is ``application/json``."""
    if not content_type:
        return False
    return content_type.partition(";")[0].strip().lower() == JSON_MEDIA_TYPE


def _preflight(method: str, headers: Mapping[str, str], limit: int) -> ReceiverResponse | int | None:
    """Refuse what the receiver must not see; otherwise return the announced length (``None`` when unknown)."""
    if method != "POST":
        return problem_response(405, "method-not-allowed", f"{method} is not allowed here", headers={"allow": "POST"})
    if not _is_json(headers.get("content-type")):
        return problem_response(415, "unsupported-media-type", f"the body must be {JSON_MEDIA_TYPE}")
    announced = headers.get("content-length")
    if announced is None:
        return None
    announced = announced.strip()
    # Digits only: int() would also take signs, underscores and non-ASCII digits.
    if not announced.isascii() or not announced.isdigit():
        return problem_response(400, "bad-content-length", "Content-Length is not a non-negative integer")
    length = int(announced)
    if length > limit:
        return _too_large(limit)
    return length


def _add_header(headers: dict[str, str], name: str, value: str) -> None:
    """Add a header, joining a repeated name with ``", "`` as HTTP does (RFC 9110 §5.3)."""
    headers[name] = f"{headers[name]}, {value}" if name in headers else value


class AsgiApp:
    """A pure ASGI 3 application that feeds POSTed notices to a :class:`~spotcheck.sdk.Receiver`.

    Mount it under any framework (``app.mount("/webhooks/spotcheck", receiver.asgi_app())``) or serve it alone
    (``uvicorn module:app``: it answers the lifespan protocol). Runs on an asyncio event loop.
    """

    __slots__ = ("receiver",)

    def __init__(self, receiver: Receiver) -> None:
        self.receiver = receiver

    def __repr__(self) -> str:
        return f"<AsgiApp for {self.receiver!r}>"

    async def __call__(self, scope: _Scope, receive: _Receive, send: _Send) -> None:
        """Serve one ASGI connection: ``http`` requests, the ``lifespan`` protocol; websockets are refused."""
        kind = scope["type"]
        if kind == "lifespan":
            await _lifespan(receive, send)
            return
        if kind == "websocket":
            await receive()  # websocket.connect
            await send({"type": "websocket.close", "code": 1003})
            return
        if kind != "http":
            raise ValueError(f"unsupported ASGI scope type {kind!r}")
        response = await self._respond(scope, receive)
        if response is None:  # the client went away before the whole body arrived
            return
        await send(
            {
                "type": "http.response.start",
                "status": response.status,
                "headers": [
                    (name.encode("latin-1"), value.encode("latin-1")) for name, value in response.headers.items()
                ],
            }
        )
        await send({"type": "http.response.body", "body": response.body})

    async def _respond(self, scope: _Scope, receive: _Receive) -> ReceiverResponse | None:
        headers: dict[str, str] = {}
        for raw_name, raw_value in scope.get("headers", ()):
            _add_header(headers, bytes(raw_name).decode("latin-1").lower(), bytes(raw_value).decode("latin-1"))
        limit = self.receiver.max_body_bytes
        verdict = _preflight(str(scope.get("method", "")), headers, limit)
        if isinstance(verdict, ReceiverResponse):
            return verdict
        chunks: list[bytes] = []
        size = 0
        while True:
            message = await receive()
            if message["type"] == "http.disconnect":
                return None
            chunk = bytes(message.get("body", b""))
            size += len(chunk)
            if size > limit:
                return _too_large(limit)
            chunks.append(chunk)
            if not message.get("more_body", False):
                break
        return await self.receiver.handle(b"".join(chunks), headers)


async def _lifespan(receive: _Receive, send: _Send) -> None:
    """Acknowledge startup and shutdown: the app holds nothing that needs opening or closing."""
    while True:
        message = await receive()
        if message["type"] == "lifespan.startup":
            await send({"type": "lifespan.startup.complete"})
        elif message["type"] == "lifespan.shutdown":
            await send({"type": "lifespan.shutdown.complete"})
            return


class WsgiApp:
    """A pure WSGI (PEP 3333) application that feeds POSTed notices to :meth:`Receiver.handle_sync`.

    Serve it with any WSGI server or dispatch to it from Flask or Django. Handlers must be synchronous (see
    :meth:`~spotcheck.sdk.Receiver.handle_sync`). A request without ``Content-Length`` is read to its end only
    when the server says the input is terminated (``wsgi.input_terminated``, chunked uploads); otherwise it is
    refused with 411, as PEP 3333 forbids reading past an unknown length.
    """

    __slots__ = ("receiver",)

    def __init__(self, receiver: Receiver) -> None:
        self.receiver = receiver

    def __repr__(self) -> str:
        return f"<WsgiApp for {self.receiver!r}>"

    def __call__(self, environ: WSGIEnvironment, start_response: StartResponse) -> Iterable[bytes]:
        """Serve one WSGI request."""
        response = self._respond(environ)
        status = f"{response.status} {HTTPStatus(response.status).phrase}"
        start_response(status, [(name, value) for name, value in response.headers.items()])
        return [response.body]

    def _respond(self, environ: WSGIEnvironment) -> ReceiverResponse:
        headers: dict[str, str] = {}
        for key, value in environ.items():
            if key.startswith("HTTP_"):
                _add_header(headers, key[5:].replace("_", "-").lower(), str(value))
        for key in ("CONTENT_TYPE", "CONTENT_LENGTH"):
            if environ.get(key):
                headers[key.replace("_", "-").lower()] = str(environ[key])
        limit = self.receiver.max_body_bytes
        verdict = _preflight(str(environ.get("REQUEST_METHOD", "")), headers, limit)
        if isinstance(verdict, ReceiverResponse):
            return verdict
        stream = environ["wsgi.input"]
        if verdict is None:
            if not environ.get("wsgi.input_terminated"):
                return problem_response(411, "length-required", "send the body with a Content-Length")
            body = _read_to_end(stream, limit)
        else:
            body = _read_exactly(stream, verdict)
        if body is None:
            return _too_large(limit)
        return self.receiver.handle_sync(body, headers)


def _read_exactly(stream: Any, length: int) -> bytes:
    """Read ``length`` bytes or until the stream ends; the length was checked against the cap already."""
    chunks: list[bytes] = []
    remaining = length
    while remaining > 0:
        chunk = stream.read(min(remaining, _READ_CHUNK))
        if not chunk:
            break
        chunks.append(chunk)
        remaining -= len(chunk)
    return b"".join(chunks)


def _read_to_end(stream: Any, limit: int) -> bytes | None:
    """Read a terminated stream to its end, or stop and return ``None`` once it passes ``limit`` bytes."""
    chunks: list[bytes] = []
    size = 0
    while True:
        chunk = stream.read(min(limit + 1 - size, _READ_CHUNK))
        if not chunk:
            return b"".join(chunks)
        size += len(chunk)
        if size > limit:
            return None
        chunks.append(chunk)
