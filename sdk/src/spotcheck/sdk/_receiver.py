"""The platform side of the wire: verify, decode, dedupe and dispatch the notices a Spotcheck gateway POSTs.

A :class:`Receiver` answers every delivery with a :class:`ReceiverResponse`; the gateway reads only the status:

========================================  ======  ==========================================================
what happened                             status  body
========================================  ======  ==========================================================
body larger than ``max_body_bytes``       413     problem ``too-large`` (checked first: nothing is hashed)
signature, timestamp or headers refused   401     problem ``bad-signature``; ``detail`` names the class of
                                                  failure only (headers, timestamp, signature)
known type, invalid content               400     problem ``invalid-notice``; ``errors[0].field`` is the path
type nobody handles (or unknown to this   200     ``{"status": "unhandled"}``: retrying cannot help, so the
SDK version)                                      gateway must stop
``webhook-id`` already processed          200     ``{"status": "duplicate"}``; the handler is not called
same id being processed right now         409     problem ``in-progress``: the gateway retries later
dedupe store failing                      503     problem ``dedupe-unavailable``, ``Retry-After``
handler raised                            500     problem ``internal`` (generic; the exception is logged);
                                                  the id is released so the retry runs the handler again
handler returned                          200     ``{"status": "processed"}``
========================================  ======  ==========================================================

The mounts in :mod:`spotcheck.sdk._mount` add 405, 411 and 415, and 413 before reading.
"""

from __future__ import annotations

import asyncio
import inspect
import logging
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from functools import partial
from typing import Any, Final, Protocol, TypeVar, overload

import msgspec

from spotcheck.schemas import NOTICE_TYPES, ContractError, Notice, decode_notice, message_type_of
from spotcheck.sdk._dedupe import DedupeStore, MemoryDedupeStore
from spotcheck.sdk._errors import VerificationError
from spotcheck.sdk._mount import AsgiApp, ReceiverResponse, WsgiApp, problem_response, status_response
from spotcheck.sdk._signing import Webhook

__all__ = ["Delivery", "HeaderItems", "Receiver"]

_log = logging.getLogger("spotcheck.sdk.receiver")

_N = TypeVar("_N", bound=Notice)
_R = TypeVar("_R")
_F = TypeVar("_F", bound=Callable[..., object])

DEFAULT_MAX_BODY_BYTES: Final = 1024 * 1024
_STORE_RETRY_AFTER: Final = "5"
_IN_PROGRESS_RETRY_AFTER: Final = "30"

_NOTICE_TYPE_BY_CLASS: Final = {cls: name for name, cls in NOTICE_TYPES.items()}


class _TypeOnly(msgspec.Struct):
    """Just the ``type`` of a body, read when the full decode failed."""

    type: str


_TYPE_ONLY: Final = msgspec.json.Decoder(_TypeOnly)


class HeaderItems(Protocol):
    """Anything with ``items()`` giving ``(name, value)`` pairs: a mapping, or Werkzeug's (Flask's) ``Headers``."""

    def items(self) -> Iterable[tuple[str, str]]:
        """The header pairs; a name may repeat."""
        ...


def _as_mapping(headers: HeaderItems) -> Mapping[str, str]:
    """Return mappings as they are; collect other header objects into a dict, joining repeats with ``", "``."""
    if isinstance(headers, Mapping):
        return headers
    collected: dict[str, str] = {}
    try:
        pairs: list[object] = list(headers.items())  # typed loosely: callers are untyped at run time
    except (AttributeError, TypeError, ValueError):
        return collected  # verification then reports the missing headers
    for pair in pairs:
        match pair:
            case (str() as name, str() as value):
                name = name.lower()
                collected[name] = f"{collected[name]}, {value}" if name in collected else value
            case _:
                pass  # not a text pair: left out, so verification reports what is missing
    return collected


@dataclass(frozen=True, slots=True)
class Delivery:
    """The transport facts of one verified delivery, passed to handlers next to the decoded notice.

    Attributes:
        message_id: the ``webhook-id``: the same on every retry of one message, so a fine idempotency key for
            the handler's own side effects.
        timestamp: the ``webhook-timestamp`` of this attempt, in Unix seconds.
        message_type: the notice's ``type`` (``"delisting.order"``).
        body: the raw body exactly as signed, for archiving or evidence.
        headers: the request headers: the mapping given, or a dict collected from a non-mapping such as
            Werkzeug's ``Headers``.
    """

    message_id: str
    timestamp: int
    message_type: str
    body: bytes
    headers: Mapping[str, str]


@dataclass(frozen=True, slots=True)
class _Job:
    """A verified, decoded delivery with the handler that will run it."""

    notice: Notice
    delivery: Delivery
    handler: Callable[[Any, Delivery], object]


def _header(headers: Mapping[str, str], name: str) -> str:
    """Return a header that verification has already found exactly once, matching its name case-insensitively."""
    value = headers.get(name)
    if isinstance(value, str):
        return value
    for key, candidate in headers.items():
        if isinstance(key, str) and key.lower() == name:
            return candidate
    raise LookupError(name)  # unreachable after a successful verification


def _failure_class(reason: str) -> str:
    """Say which kind of check failed without the specifics, which would only help a forger."""
    if "timestamp too" in reason:
        return "the message timestamp is outside the accepted window"
    if reason.startswith(("no matching signature", "no signature of a version")):
        return "no signature matches"
    return "the webhook headers are missing or malformed"


def _is_async(handler: Callable[..., object]) -> bool:
    """Whether calling ``handler`` gives a coroutine: an ``async def``, a partial of one, or an async ``__call__``."""
    while isinstance(handler, partial):
        handler = handler.func
    return inspect.iscoroutinefunction(handler) or inspect.iscoroutinefunction(getattr(handler, "__call__", None))  # noqa: B004 - the async __call__ is what is asked


def _discard(result: object) -> None:
    """Close a coroutine that will never run, so Python does not warn that it was never awaited."""
    if inspect.iscoroutine(result):
        result.close()


class Receiver:
    """Receives the notices and orders a Spotcheck gateway sends, and calls the handler registered for each type.

    Register handlers with :meth:`on` and :meth:`on_any`, then serve :meth:`asgi_app` or :meth:`wsgi_app`, or call
    :meth:`handle` / :meth:`handle_sync` from a view of your framework. The module docstring lists every answer.

    Args:
        key: the key (or keys, while they rotate) the gateway's messages are checked against: ``whsec_`` or
            ``whpk_``; see :class:`~spotcheck.sdk.Webhook`.
        dedupe: where processed ``webhook-id`` values are remembered. Defaults to a :class:`MemoryDedupeStore`,
            which dedupes within this process only: give a :class:`SqliteDedupeStore` (or a shared store) when
            several processes receive for one endpoint.
        max_body_bytes: the largest body accepted, in bytes.
        tolerance: how far, in seconds, a message's timestamp may lie from now.

    Raises:
        ValueError: a key is invalid (named by position, never repeated), or a bound is not positive.
    """

    __slots__ = ("_any", "_dedupe", "_handlers", "_inline_store", "_max_body_bytes", "_webhook")

    def __init__(
        self,
        key: str | Sequence[str],
        *,
        dedupe: DedupeStore | None = None,
        max_body_bytes: int = DEFAULT_MAX_BODY_BYTES,
        tolerance: int = 300,
    ) -> None:
        if isinstance(max_body_bytes, bool) or not isinstance(max_body_bytes, int) or max_body_bytes < 1:
            raise ValueError("max_body_bytes must be a positive integer")
        self._webhook = Webhook(key, tolerance=tolerance)
        self._dedupe: DedupeStore = MemoryDedupeStore() if dedupe is None else dedupe
        # The in-memory store never blocks, so the event loop may call it directly.
        self._inline_store = isinstance(self._dedupe, MemoryDedupeStore)
        self._max_body_bytes = max_body_bytes
        self._handlers: dict[str, Callable[[Any, Delivery], object]] = {}
        self._any: Callable[[Any, Delivery], object] | None = None

    def __repr__(self) -> str:
        handled = ", ".join(sorted(self._handlers)) + (", *" if self._any else "")
        return f"<Receiver handles=[{handled}] dedupe={type(self._dedupe).__name__}>"

    @property
    def max_body_bytes(self) -> int:
        """The largest body accepted, in bytes."""
        return self._max_body_bytes

    @property
    def dedupe(self) -> DedupeStore:
        """The store that remembers processed ``webhook-id`` values."""
        return self._dedupe

    # Registration

    @overload
    def on(self, kind: type[_N], /) -> Callable[[Callable[[_N, Delivery], _R]], Callable[[_N, Delivery], _R]]: ...

    @overload
    def on(self, kind: str, /) -> Callable[[_F], _F]: ...

    def on(self, kind: object, /) -> Callable[[_F], _F]:
        """Register the decorated function as the handler of one notice type, by class or by ``type`` string.

        The handler is called as ``handler(notice, delivery)`` and may be a plain function or ``async def``.
        Under :meth:`handle` a plain function runs in a worker thread, so blocking work does not stall the event
        loop; under :meth:`handle_sync` it runs in the calling thread. Its return value is ignored; raising
        makes the delivery answer 500 so that the gateway retries it.

        Example::

            @receiver.on(DelistingOrder)
            async def delist(order: DelistingOrder, delivery: Delivery) -> None: ...

        Raises:
            ValueError: ``kind`` is not a notice type this SDK knows (replies are not notices), or the type
                already has a handler.
            TypeError: ``kind`` is neither a class nor a string.
        """
        name = self._type_name(kind)
        if name in self._handlers:
            raise ValueError(f"{name!r} already has a handler")

        def register(handler: _F) -> _F:
            if not callable(handler):
                raise TypeError(f"a handler must be callable, got {type(handler).__name__}")
            if name in self._handlers:
                raise ValueError(f"{name!r} already has a handler")
            self._handlers[name] = handler
            return handler

        return register

    def on_any(self, handler: _F, /) -> _F:
        """Register the decorated function for every notice type that has no handler of its own.

        Raises:
            ValueError: a catch-all handler is already registered.
            TypeError: ``handler`` is not callable.
        """
        if not callable(handler):
            raise TypeError(f"a handler must be callable, got {type(handler).__name__}")
        if self._any is not None:
            raise ValueError("a catch-all handler is already registered")
        self._any = handler
        return handler

    @staticmethod
    def _type_name(kind: object) -> str:
        if isinstance(kind, str):
            if kind not in NOTICE_TYPES:
                raise ValueError(f"unknown notice type {kind!r}; known: {', '.join(NOTICE_TYPES)}")
            return kind
        if isinstance(kind, type):
            name = _NOTICE_TYPE_BY_CLASS.get(kind)
            if name is None:
                raise ValueError(f"{kind.__name__} is not a notice class; known: {', '.join(NOTICE_TYPES)}")
            return name
        raise TypeError(f"expected a notice class or type string, got {type(kind).__name__}")

    # Mounts

    def asgi_app(self) -> AsgiApp:
        """Return a framework-free ASGI 3 app serving this receiver at whatever path it is mounted."""
        return AsgiApp(self)

    def wsgi_app(self) -> WsgiApp:
        """Return a framework-free WSGI app serving this receiver through :meth:`handle_sync`.

        Raises:
            TypeError: an ``async def`` handler is registered; WSGI cannot run it (see :meth:`handle_sync`).
        """
        self._refuse_async_handlers()
        return WsgiApp(self)

    def _refuse_async_handlers(self) -> None:
        handlers = [*self._handlers.values(), *([self._any] if self._any else [])]
        for handler in handlers:
            if _is_async(handler):
                raise TypeError(_async_under_sync(handler))

    # Handling

    def _admit(self, body: bytes, given_headers: HeaderItems) -> ReceiverResponse | _Job:
        """Run every check that needs no handler: size, signature, decoding, and the choice of handler."""
        given: object = body
        if not isinstance(given, bytes | bytearray | memoryview):
            raise TypeError(f"body must be bytes, got {type(given).__name__}")
        if len(body) > self._max_body_bytes:
            return problem_response(413, "too-large", f"the body is larger than {self._max_body_bytes} bytes")
        body = bytes(body)
        headers = _as_mapping(given_headers)
        try:
            self._webhook.verify(body, headers)
        except VerificationError as exc:
            _log.warning("refused a delivery: %s", exc.reason)
            return problem_response(401, "bad-signature", _failure_class(exc.reason))
        message_id = _header(headers, "webhook-id")
        try:
            notice = decode_notice(body)
        except ContractError as exc:
            return self._undecodable(body, message_id, exc)
        message_type = message_type_of(notice)
        handler = self._handlers.get(message_type, self._any)
        if handler is None:
            _log.info("no handler for %s; message %s answered as unhandled", message_type, message_id)
            return status_response("unhandled")
        delivery = Delivery(
            message_id=message_id,
            timestamp=int(_header(headers, "webhook-timestamp")),
            message_type=message_type,
            body=body,
            headers=headers,
        )
        return _Job(notice, delivery, handler)

    def _undecodable(self, body: bytes, message_id: str, error: ContractError) -> ReceiverResponse:
        """Answer a verified body that does not decode: 200 unhandled if nobody would handle its type, else 400."""
        try:
            message_type: str | None = _TYPE_ONLY.decode(body).type
        except msgspec.MsgspecError:
            message_type = None
        if message_type is not None and (
            message_type not in NOTICE_TYPES or (message_type not in self._handlers and self._any is None)
        ):
            _log.info("no handler for %r; message %s answered as unhandled", message_type, message_id)
            return status_response("unhandled")
        path = error.path or "$"
        _log.warning("message %s is not a valid notice: %s", message_id, error)
        return problem_response(
            400, "invalid-notice", f"{path}: {error.reason}", errors=[{"field": path, "reason": error.reason}]
        )

    def _claim_refused(self, message_id: str, complete: bool) -> ReceiverResponse:
        if complete:
            _log.info("message %s was already processed; answered as duplicate", message_id)
            return status_response("duplicate")
        return problem_response(
            409,
            "in-progress",
            "another delivery of this message is being processed; retry later",
            headers={"retry-after": _IN_PROGRESS_RETRY_AFTER},
        )

    async def _store(self, method: Callable[[str], _R], message_id: str) -> _R:
        if self._inline_store:
            return method(message_id)
        return await asyncio.to_thread(method, message_id)

    async def handle(self, body: bytes, headers: HeaderItems) -> ReceiverResponse:
        """Process one delivery: verify the raw bytes, decode, dedupe by ``webhook-id``, run the handler.

        Async handlers are awaited on the running loop; plain ones run in a worker thread. Two concurrent
        deliveries of one id never both run the handler: the second answers 409 while the first runs. The
        module docstring lists every answer.

        Args:
            body: the raw request body, exactly as received.
            headers: the request headers: any mapping, or an object with ``items()`` such as Flask's
                ``request.headers`` (repeated names are joined with ``", "``); names match case-insensitively.

        Raises:
            TypeError: ``body`` is not bytes.
        """
        admitted = self._admit(body, headers)
        if isinstance(admitted, ReceiverResponse):
            return admitted
        message_id = admitted.delivery.message_id
        try:
            if not await self._store(self._dedupe.claim, message_id):
                return self._claim_refused(message_id, await self._store(self._dedupe.is_complete, message_id))
        except Exception:  # noqa: BLE001 - any store failure (driver, network) is answered, never raised to the server
            _log.exception("dedupe store failed on message %s", message_id)
            return _store_unavailable()
        try:
            await self._call(admitted)
        except Exception:  # noqa: BLE001 - a handler may raise anything; the answer is a 500 and the gateway retries
            answer = _handler_failed(admitted)  # logs the exception before anything else can replace it
            self._release(message_id)
            return answer
        except BaseException:
            # Cancelled (the client went away) or shutting down: the message must run again on retry.
            self._release(message_id)
            raise
        try:
            await self._store(self._dedupe.complete, message_id)
        except Exception:  # noqa: BLE001 - any store failure (driver, network) is answered, never raised to the server
            _log.exception("message %s was processed but could not be recorded as such", message_id)
        return status_response("processed")

    async def _call(self, job: _Job) -> None:
        if _is_async(job.handler):
            result = job.handler(job.notice, job.delivery)
        else:
            result = await asyncio.to_thread(job.handler, job.notice, job.delivery)
        if inspect.isawaitable(result):
            await result

    def handle_sync(self, body: bytes, headers: HeaderItems) -> ReceiverResponse:
        """Process one delivery in the calling thread, as :meth:`handle` does; for WSGI and sync views.

        Handlers run in the calling thread. An async handler is refused rather than run on a private event
        loop: resources it shares with the application's own loop (clients, pools) would break there in ways
        that are hard to trace. Use :meth:`handle` (or :meth:`asgi_app`) for async handlers.

        Raises:
            TypeError: ``body`` is not bytes, or the handler for this notice is async (the message is left
                unclaimed, so a retry after the fix runs it).
        """
        admitted = self._admit(body, headers)
        if isinstance(admitted, ReceiverResponse):
            return admitted
        if _is_async(admitted.handler):
            raise TypeError(_async_under_sync(admitted.handler))
        message_id = admitted.delivery.message_id
        try:
            if not self._dedupe.claim(message_id):
                return self._claim_refused(message_id, self._dedupe.is_complete(message_id))
        except Exception:  # noqa: BLE001 - any store failure (driver, network) is answered, never raised to the server
            _log.exception("dedupe store failed on message %s", message_id)
            return _store_unavailable()
        try:
            result = admitted.handler(admitted.notice, admitted.delivery)
        except Exception:  # noqa: BLE001 - a handler may raise anything; the answer is a 500 and the gateway retries
            answer = _handler_failed(admitted)  # logs the exception before anything else can replace it
            self._release(message_id)
            return answer
        except BaseException:
            self._release(message_id)
            raise
        if inspect.isawaitable(result):
            _discard(result)
            self._release(message_id)
            raise TypeError(_async_under_sync(admitted.handler))
        try:
            self._dedupe.complete(message_id)
        except Exception:  # noqa: BLE001 - any store failure (driver, network) is answered, never raised to the server
            _log.exception("message %s was processed but could not be recorded as such", message_id)
        return status_response("processed")

    def _release(self, message_id: str) -> None:
        # Called from failure paths, possibly while cancelled: a blocking call here is short and always finishes.
        try:
            self._dedupe.release(message_id)
        except Exception:  # noqa: BLE001 - already failing: a store error must not mask the original answer
            _log.exception("could not release message %s; it will run again once its lease ends", message_id)


def _handler_failed(job: _Job) -> ReceiverResponse:
    _log.exception(
        "handler for %s failed on message %s; released for the gateway's retry",
        job.delivery.message_type,
        job.delivery.message_id,
    )
    return problem_response(500, "internal", "the notice could not be processed; it will be accepted again on retry")


def _store_unavailable() -> ReceiverResponse:
    return problem_response(
        503,
        "dedupe-unavailable",
        "the receiver cannot check for duplicates right now; retry later",
        headers={"retry-after": _STORE_RETRY_AFTER},
    )


def _async_under_sync(handler: Callable[..., object]) -> str:
    name = getattr(handler, "__qualname__", None) or repr(handler)
    return (
        f"handler {name} is async and cannot run under handle_sync/wsgi_app; "
        "serve the receiver with handle() or asgi_app(), or make the handler a plain function"
    )
