"""HTTP plumbing shared by the HTTP adapters: guarded clients, one bounded exchange, outcome classification."""

from __future__ import annotations

import asyncio
import codecs
import importlib.metadata
import ipaddress
import re
import socket
import time
import weakref
from dataclasses import dataclass
from typing import TYPE_CHECKING, Final

import aiohttp
import aiohttp.abc
import httpcore
import httpx
from httpx_aiohttp import AiohttpTransport

from spotcheck.adapters._base import MAX_EXCERPT_BYTES, AdapterContext, DeliveryOutcome, DeliveryStatus
from spotcheck.adapters._errors import EndpointResolutionError, UnsafeEndpointError
from spotcheck.adapters._ssrf import check_endpoint_url_async, refusal_reason
from spotcheck.sdk import parse_retry_after

if TYPE_CHECKING:
    import ssl
    from collections.abc import Iterable, Mapping

    from spotcheck.adapters._base import HttpTransportName

__all__ = ["DEFAULT_LIMITS", "ClientHolder", "HttpAnswer", "classify_http_status", "make_http_client"]


def _version() -> str:
    try:
        return importlib.metadata.version("spotcheck-adapters")
    except importlib.metadata.PackageNotFoundError:  # pragma: no cover - running from a bare source tree
        return "0"


USER_AGENT: Final = f"spotcheck-adapters/{_version()}"

DEFAULT_LIMITS: Final = httpx.Limits(max_connections=100, max_keepalive_connections=20, keepalive_expiry=5.0)
"""Connection limits of clients built by :func:`make_http_client` unless told otherwise."""

# Refused content: resending the same bytes cannot succeed (length required, too large, bad type, invalid).
_REJECTED: Final = frozenset({411, 413, 414, 415, 422, 431})
_THROTTLED: Final = frozenset({429, 502, 503, 504})
# A permanent redirect means the registered URL is stale; redirects are never followed (SSRF), so fix the URL.
_PERMANENT_REDIRECTS: Final = frozenset({301, 308})
_GONE: Final = 410
_REFERENCE_HEADERS: Final = ("x-request-id", "request-id", "x-correlation-id", "x-amzn-requestid")
_MAX_REFERENCE_CHARS: Final = 200
_MAX_ERROR_CHARS: Final = 240
_URL: Final = re.compile(r"[a-zA-Z][a-zA-Z0-9+.-]*://[^\s'\"<>]+")
# C0 controls (but tab and newline), DEL and C1 controls: they could forge log lines or terminal escapes.
_CONTROL: Final = dict.fromkeys([*range(0x09), *range(0x0B, 0x20), *range(0x7F, 0xA0)], "\ufffd")


def classify_http_status(status: int) -> DeliveryStatus:
    """Map an HTTP status to what the worker should do.

    * 2xx: ``delivered``.
    * 410: ``gone``: the receiver says the endpoint is permanently gone; disable it.
    * 429, 502, 503, 504: ``throttled``, honouring ``Retry-After``.
    * 411, 413, 414, 415, 422, 431: ``rejected``: the receiver refused the content itself, and the same bytes
      will be refused again.
    * 301, 308: ``rejected``: the URL moved for good; redirects are never followed, the registration must change.
    * everything else, notably 400, 401, 403, 404, 408, 409 and other 5xx: ``retry``. Standard Webhooks receivers
      answer 400/401 when verification fails and 404 while a route is being deployed; those are fixed on the
      receiver's side, so the message must still arrive once they are, within the retry schedule.
    """
    if 200 <= status < 300:  # noqa: PLR2004 - the 2xx class
        return "delivered"
    if status == _GONE:
        return "gone"
    if status in _THROTTLED:
        return "throttled"
    if status in _REJECTED or status in _PERMANENT_REDIRECTS:
        return "rejected"
    return "retry"


def safe_text(data: bytes, *, charset: str | None = None, limit: int = MAX_EXCERPT_BYTES, cut: bool = False) -> str:
    """Decode at most ``limit`` bytes into text safe to store and log.

    A multi-byte character cut by the limit (or, with ``cut``, by whoever truncated ``data``) is dropped;
    undecodable bytes and control characters become U+FFFD.
    """
    try:
        decoder = codecs.getincrementaldecoder(charset or "utf-8")(errors="replace")
    except LookupError:
        decoder = codecs.getincrementaldecoder("utf-8")(errors="replace")
    return decoder.decode(bytes(data[:limit]), final=not cut and len(data) <= limit).translate(_CONTROL)


def short_error(exc: BaseException) -> str:
    """Describe a failure in one bounded line: the root cause first, then how the transport reported it.

    URLs are masked, because a registered URL may carry a token in its query string.
    """
    root = exc
    seen = {id(exc)}
    while (nxt := root.__cause__ or root.__context__) is not None and id(nxt) not in seen:
        seen.add(id(nxt))
        root = nxt
    text = f"{type(root).__name__}: {root}".strip().rstrip(":")
    if type(root).__name__ != type(exc).__name__:
        text += f" (reported as {type(exc).__name__})"
    text = " ".join(_URL.sub("<url>", text).split())
    return safe_text(text.encode(), limit=_MAX_ERROR_CHARS)


def outcome_for_exception(exc: BaseException, *, latency_ms: float, timeout_s: float) -> DeliveryOutcome:
    """Classify a failed exchange: SSRF refusal → ``gone``, bad URL → ``rejected``, anything else → ``retry``."""
    blocked = _find_in_chain(exc, UnsafeEndpointError)
    if isinstance(blocked, EndpointResolutionError):
        return DeliveryOutcome(status="retry", latency_ms=latency_ms, error=f"DNS: {blocked.reason}")
    if blocked is not None:
        return DeliveryOutcome(
            status="gone", latency_ms=latency_ms, error=f"endpoint refused by the SSRF guard: {blocked.reason}"
        )
    if isinstance(exc, httpx.InvalidURL | httpx.UnsupportedProtocol | aiohttp.InvalidURL):
        return DeliveryOutcome(status="rejected", latency_ms=latency_ms, error=short_error(exc))
    if isinstance(exc, TimeoutError):
        return DeliveryOutcome(
            status="retry", latency_ms=latency_ms, error=f"no complete answer within {timeout_s:g} s"
        )
    return DeliveryOutcome(status="retry", latency_ms=latency_ms, error=short_error(exc))


def _find_in_chain(exc: BaseException, kind: type[UnsafeEndpointError]) -> UnsafeEndpointError | None:
    seen: set[int] = set()
    current: BaseException | None = exc
    while current is not None and id(current) not in seen:
        if isinstance(current, kind):
            return current
        seen.add(id(current))
        current = current.__cause__ or current.__context__
    return None


@dataclass(frozen=True, slots=True)
class HttpAnswer:
    """An HTTP answer with its body read up to a bound; ``headers`` look names up case-insensitively."""

    status: int
    headers: Mapping[str, str]
    body: bytes
    truncated: bool
    charset: str | None

    def excerpt(self) -> str:
        """The body's first :data:`MAX_EXCERPT_BYTES` bytes as safe text."""
        return safe_text(self.body, charset=self.charset, cut=self.truncated)

    def reference(self) -> str | None:
        """The receiver's request id from the usual headers, if it sent one."""
        for name in _REFERENCE_HEADERS:
            value = self.headers.get(name)
            if value:
                return safe_text(value.encode(), limit=_MAX_REFERENCE_CHARS)
        return None

    def outcome(self, *, latency_ms: float, now: float) -> DeliveryOutcome:
        """The outcome of this answer by its HTTP status, with ``Retry-After`` when it is not a success."""
        verdict = classify_http_status(self.status)
        return DeliveryOutcome(
            status=verdict,
            http_status=self.status,
            retry_after=None if verdict == "delivered" else parse_retry_after(self.headers.get("retry-after"), now=now),
            latency_ms=latency_ms,
            response_excerpt=self.excerpt(),
            remote_reference=self.reference(),
            error=None if verdict == "delivered" else f"HTTP {self.status}",
        )


async def post_bounded(
    client: httpx.AsyncClient,
    url: str,
    *,
    content: bytes,
    headers: Mapping[str, str],
    timeout_s: float,
    max_body: int,
) -> HttpAnswer:
    """POST ``content`` and read at most ``max_body`` bytes of the answer, all within ``timeout_s`` seconds.

    Raises whatever the transport raises; :func:`outcome_for_exception` classifies it.
    """
    pooled = _AIOHTTP_POOLS.get(client)
    if pooled is not None:
        return await _post_on_aiohttp(
            pooled, url, content=content, headers=headers, timeout_s=timeout_s, max_body=max_body
        )
    # httpx bounds each phase; the outer deadline bounds the whole, e.g. a body trickled one byte at a time.
    async with asyncio.timeout(timeout_s):
        async with client.stream(
            "POST", url, content=content, headers=headers, timeout=httpx.Timeout(timeout_s), follow_redirects=False
        ) as response:
            body = bytearray()
            truncated = False
            async for chunk in response.aiter_bytes():
                body += chunk
                if len(body) > max_body:
                    truncated = True
                    del body[max_body:]
                    break
            return HttpAnswer(response.status_code, response.headers, bytes(body), truncated, response.charset_encoding)


async def _post_on_aiohttp(
    transport: AiohttpTransport,
    url: str,
    *,
    content: bytes,
    headers: Mapping[str, str],
    timeout_s: float,
    max_body: int,
) -> HttpAnswer:
    """:func:`post_bounded` straight on the aiohttp pool under a client of :func:`make_http_client`.

    The same pool, resolver guard, headers, timeouts and refusal of redirects as through httpx, without building
    an httpx request and response around aiohttp's for every delivery (measured: most of the client's cost).
    """
    if not isinstance(transport.client, aiohttp.ClientSession):
        transport.client = transport.get_client()  # the pool the httpx API would build at its first request
    phases = aiohttp.ClientTimeout(total=None, connect=timeout_s, sock_connect=timeout_s, sock_read=timeout_s)
    async with (
        asyncio.timeout(timeout_s),
        transport.client.post(url, data=content, headers=headers, timeout=phases, allow_redirects=False) as response,
    ):
        body = bytearray()
        truncated = False
        async for chunk in response.content.iter_chunked(_CHUNK_BYTES):
            body += chunk
            if len(body) > max_body:
                truncated = True
                del body[max_body:]
                break
        return HttpAnswer(response.status, response.headers, bytes(body), truncated, response.charset)


def elapsed_ms(started: float) -> float:
    """Milliseconds since ``started`` (a :func:`time.perf_counter` reading), rounded to microseconds."""
    return round((time.perf_counter() - started) * 1000.0, 3)


class ClientHolder:
    """Gives an adapter the context's shared client, or builds (and later closes) one of its own."""

    __slots__ = ("_client", "_context", "_owned")

    def __init__(self, context: AdapterContext) -> None:
        self._context = context
        self._client = context.http_client
        self._owned = False

    def get(self) -> httpx.AsyncClient:
        """The client to use for the next exchange."""
        if self._client is None:
            self._client = make_http_client(
                transport=self._context.http_transport, allow_private=self._context.allow_private_targets
            )
            self._owned = True
        return self._client

    async def aclose(self) -> None:
        """Close the client if this holder built it."""
        client, owned = self._client, self._owned
        if owned and client is not None:
            self._client, self._owned = None, False
            await client.aclose()

    async def check(self, url: str) -> None:
        """Run the SSRF guard under the context's policy before each attempt.

        The host name is resolved here only when the client does not check addresses itself at connect time;
        a client from :func:`make_http_client` does, at the last moment, which also defeats DNS rebinding.
        """
        await check_endpoint_url_async(
            url, allow_private=self._context.allow_private_targets, resolve=self.get() not in _GUARDED_CLIENTS
        )


# Clients that refuse forbidden addresses at connect time (built by make_http_client without allow_private).
_GUARDED_CLIENTS: Final[weakref.WeakSet[httpx.AsyncClient]] = weakref.WeakSet()
# Clients of make_http_client on aiohttp's pool, with their transport: post_bounded uses the pool directly.
_AIOHTTP_POOLS: Final[weakref.WeakKeyDictionary[httpx.AsyncClient, AiohttpTransport]] = weakref.WeakKeyDictionary()
_CHUNK_BYTES: Final = 16 * 1024


class _BlockedAddressError(UnsafeEndpointError, OSError):
    """A connection would reach a forbidden address; an ``OSError`` so connection code reports it as such."""


def _check_addresses(host: str, addresses: Iterable[str]) -> list[str]:
    checked: list[str] = []
    for text in addresses:
        address = ipaddress.ip_address(text.partition("%")[0])
        reason = refusal_reason(address)
        if reason is not None:
            raise _BlockedAddressError(f"host {host!r} resolves to a {reason} ({address}) at connect time")
        if text not in checked:
            checked.append(text)
    return checked


class _GuardedResolver(aiohttp.abc.AbstractResolver):
    """aiohttp resolver that refuses forbidden addresses at connect time.

    aiohttp skips resolvers for literal IP hosts; the adapters check those themselves before connecting.
    """

    def __init__(self) -> None:
        self._inner = aiohttp.ThreadedResolver()

    async def resolve(
        self, host: str, port: int = 0, family: socket.AddressFamily = socket.AF_INET
    ) -> list[aiohttp.abc.ResolveResult]:
        results = await self._inner.resolve(host, port, family)
        _check_addresses(host, (result["host"] for result in results))
        return results

    async def close(self) -> None:
        await self._inner.close()


class _GuardedNetworkBackend(httpcore.AsyncNetworkBackend):
    """httpcore network backend that resolves, refuses forbidden addresses, then connects to a checked address.

    TLS still verifies the certificate against the URL's host name: httpcore passes the origin host as SNI.
    """

    def __init__(self) -> None:
        self._inner = httpcore.AnyIOBackend()

    async def connect_tcp(
        self,
        host: str,
        port: int,
        timeout: float | None = None,  # noqa: ASYNC109 - httpcore's interface
        local_address: str | None = None,
        socket_options: Iterable[httpcore.SOCKET_OPTION] | None = None,
    ) -> httpcore.AsyncNetworkStream:
        loop = asyncio.get_running_loop()
        try:
            async with asyncio.timeout(timeout):
                infos = await loop.getaddrinfo(host, port, type=socket.SOCK_STREAM)
        except TimeoutError as exc:
            raise httpcore.ConnectTimeout(f"resolving {host!r} timed out") from exc
        except (OSError, UnicodeError) as exc:
            raise httpcore.ConnectError(f"cannot resolve {host!r}: {exc}") from exc
        addresses = _check_addresses(host, (str(info[4][0]) for info in infos))
        failure: Exception = httpcore.ConnectError(f"{host!r} resolves to no address")
        for address in addresses:
            try:
                return await self._inner.connect_tcp(
                    address, port, timeout=timeout, local_address=local_address, socket_options=socket_options
                )
            except (httpcore.ConnectError, httpcore.ConnectTimeout) as exc:
                failure = exc
        raise failure

    async def connect_unix_socket(
        self,
        path: str,
        timeout: float | None = None,  # noqa: ASYNC109 - httpcore's interface
        socket_options: Iterable[httpcore.SOCKET_OPTION] | None = None,
    ) -> httpcore.AsyncNetworkStream:
        return await self._inner.connect_unix_socket(path, timeout=timeout, socket_options=socket_options)

    async def sleep(self, seconds: float) -> None:
        await self._inner.sleep(seconds)


class _GuardedHTTPTransport(httpx.AsyncHTTPTransport):
    """httpx's own transport with the connect-time SSRF guard as its network backend."""

    def __init__(self, *, verify: ssl.SSLContext | bool, limits: httpx.Limits) -> None:
        super().__init__(verify=verify, limits=limits, trust_env=False)
        self._pool = httpcore.AsyncConnectionPool(
            ssl_context=httpx.create_ssl_context(verify=verify, trust_env=False),
            max_connections=limits.max_connections,
            max_keepalive_connections=limits.max_keepalive_connections,
            keepalive_expiry=limits.keepalive_expiry,
            network_backend=_GuardedNetworkBackend(),
        )


def make_http_client(
    *,
    transport: HttpTransportName = "aiohttp",
    limits: httpx.Limits | None = None,
    allow_private: bool = False,
    verify: ssl.SSLContext | bool = True,
    timeout: float = 10.0,
) -> httpx.AsyncClient:
    """Build an ``httpx.AsyncClient`` for deliveries, on aiohttp's pool (the default) or on httpx's own.

    aiohttp's pool is the faster under concurrency (see DESIGN.md); adapters use the httpx API either way.

    Redirects are not followed and proxy environment variables are ignored, so every connection goes where the
    SSRF guard looked. Unless ``allow_private``, every host name is resolved and checked at connect time, which
    closes the DNS-rebinding window between the adapter's own check and the connection.

    Args:
        transport: ``"aiohttp"`` or ``"httpx"``.
        limits: connection pool limits; :data:`DEFAULT_LIMITS` when ``None``.
        allow_private: development only: skip the connect-time address check.
        verify: TLS verification: ``True``, ``False`` (tests only) or an ``ssl.SSLContext`` (e.g. a private CA).
        timeout: default per-phase timeout in seconds; adapters pass their own per request.
    """
    pool_limits = limits or DEFAULT_LIMITS
    base: httpx.AsyncBaseTransport
    if transport == "aiohttp":
        ssl_context = httpx.create_ssl_context(verify=verify, trust_env=False)

        def session() -> aiohttp.ClientSession:
            # Built lazily inside the running loop, as aiohttp requires.
            connector = aiohttp.TCPConnector(
                limit=pool_limits.max_connections or 0,
                keepalive_timeout=pool_limits.keepalive_expiry,
                ssl=ssl_context,
                resolver=None if allow_private else _GuardedResolver(),
            )
            # Requests made on the pool directly (post_bounded) carry the client's user agent too; no cookie is
            # kept from one endpoint's answer for the next request.
            return aiohttp.ClientSession(
                connector=connector,
                trust_env=False,
                headers={"user-agent": USER_AGENT},
                cookie_jar=aiohttp.DummyCookieJar(),
            )

        base = pooled = AiohttpTransport(verify=verify, limits=pool_limits, trust_env=False, client=session)
    elif transport == "httpx":
        base = (
            httpx.AsyncHTTPTransport(verify=verify, limits=pool_limits, trust_env=False)
            if allow_private
            else _GuardedHTTPTransport(verify=verify, limits=pool_limits)
        )
    else:
        raise ValueError(f"transport must be 'aiohttp' or 'httpx', got {transport!r}")
    client = httpx.AsyncClient(
        transport=base,
        timeout=timeout,
        follow_redirects=False,
        trust_env=False,
        headers={"user-agent": USER_AGENT},
    )
    if not allow_private:
        _GUARDED_CLIENTS.add(client)
    if transport == "aiohttp":
        _AIOHTTP_POOLS[client] = pooled
    return client
