"""SSRF guard for endpoint URLs registered by platforms and called by the gateway.

A platform registers the URL that the gateway will POST to, so the URL is attacker-controlled input: it must not
make the gateway reach its own loopback, the internal network or a cloud metadata service. The gateway checks at
registration and every adapter checks again before connecting, because DNS answers change (DNS rebinding); the
HTTP clients built by :func:`spotcheck.adapters.make_http_client` also check each address at connect time.
"""

from __future__ import annotations

import asyncio
import functools
import ipaddress
import re
import socket
from typing import Final, NamedTuple
from urllib.parse import urlsplit

from spotcheck.adapters._errors import EndpointResolutionError, UnsafeEndpointError

__all__ = ["check_endpoint_url", "check_endpoint_url_async", "refusal_reason"]

IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address

# Cloud instance-metadata endpoints (AWS/GCP/Azure/OpenStack, AWS ECS, Alibaba Cloud, AWS IPv6) hold credentials.
_METADATA_ADDRESSES: Final = frozenset(
    ipaddress.ip_address(text) for text in ("169.254.169.254", "169.254.170.2", "100.100.100.200", "fd00:ec2::254")
)
_SHARED_ADDRESS_SPACE: Final = ipaddress.ip_network("100.64.0.0/10")  # RFC 6598 carrier-grade NAT
_NAT64_PREFIX: Final = ipaddress.ip_network("64:ff9b::/96")  # RFC 6052: the last 32 bits are an IPv4 address
# Digits, hex digits, 'x' and dots only: the alphabet of the legacy numeric IPv4 forms inet_aton accepts.
_NUMERIC_HOST: Final = re.compile(r"[0-9a-fx.]+")
_DEFAULT_PORTS: Final = {"http": 80, "https": 443}
# Every refusal that ``allow_private`` lifts names the switch: a developer's local test endpoint is refused first.
_DEVELOPMENT_HINT: Final = (
    " (a local test endpoint is allowed when the gateway runs with SPOTCHECK_ALLOW_PRIVATE_ENDPOINTS=true;"
    " development only)"
)


class _Target(NamedTuple):
    host: str
    port: int
    literal: IPAddress | None


def refusal_reason(address: IPAddress) -> str | None:
    """Say why ``address`` must not be contacted without ``allow_private``, or return ``None`` if it may be."""
    if isinstance(address, ipaddress.IPv6Address):
        embedded = address.ipv4_mapped
        if embedded is not None:
            inner = refusal_reason(embedded)
            return None if inner is None else f"IPv4-mapped {inner}"
        if address in _NAT64_PREFIX:
            inner = refusal_reason(ipaddress.IPv4Address(int(address) & 0xFFFFFFFF))
            return None if inner is None else f"NAT64-embedded {inner}"
        tunnelled = address.sixtofour or (address.teredo[1] if address.teredo else None)
        inner = None if tunnelled is None else refusal_reason(tunnelled)
        if inner is not None:
            return f"tunnel address embedding a {inner}"
    checks: tuple[tuple[bool, str], ...] = (
        (address in _METADATA_ADDRESSES, "cloud metadata service address"),
        (address.is_unspecified, "unspecified address"),
        (address.is_loopback, "loopback address"),
        (address.is_link_local, "link-local address"),
        (address.is_multicast, "multicast address"),
        (isinstance(address, ipaddress.IPv4Address) and address in _SHARED_ADDRESS_SPACE, "CGNAT shared address"),
        (address.is_reserved, "reserved address"),
        (address.is_private, "private address"),
        (not address.is_global, "address that is not globally routable"),
    )
    return next((reason for refused, reason in checks if refused), None)


def _parse(url: str, *, allow_private: bool) -> _Target:
    if not isinstance(url, str):
        raise UnsafeEndpointError("the URL is not a string of printable characters without spaces")
    return _parse_text(url, allow_private=allow_private)


@functools.lru_cache(maxsize=1024)
def _parse_text(url: str, *, allow_private: bool) -> _Target:
    # Cached: it runs before every attempt, for the same few endpoint URLs over and over, and parsing the URL and
    # its address costs a noticeable share of a delivery's CPU. A refusal raises, and is never cached.
    if any(ord(char) < 0x21 or ord(char) == 0x7F for char in url):  # noqa: PLR2004
        raise UnsafeEndpointError("the URL is not a string of printable characters without spaces")
    try:
        parts = urlsplit(url)
        port = parts.port
    except ValueError:
        raise UnsafeEndpointError("the URL cannot be parsed (bad host or port)") from None
    scheme = parts.scheme.lower()
    if scheme not in _DEFAULT_PORTS:
        raise UnsafeEndpointError("only https:// endpoints are allowed")
    if scheme == "http" and not allow_private:
        raise UnsafeEndpointError("plain http:// is refused: endpoints must use https://" + _DEVELOPMENT_HINT)
    if "@" in parts.netloc:
        raise UnsafeEndpointError("the URL must not carry credentials (user:password@host)")
    host = parts.hostname
    if not host:
        raise UnsafeEndpointError("the URL has no host")
    return _Target(host, port or _DEFAULT_PORTS[scheme], _literal_address(host))


def _literal_address(host: str) -> IPAddress | None:
    try:
        return ipaddress.ip_address(host)
    except ValueError:
        pass
    if _NUMERIC_HOST.fullmatch(host):
        try:
            socket.inet_aton(host)
        except OSError:
            return None
        # "127.1", "0x7f.1" or "2130706433": the resolver would read it as an IPv4 address, so refuse the disguise.
        raise UnsafeEndpointError("write IPv4 addresses in canonical dotted-quad form")
    return None


def _check_literal(target: _Target) -> bool:
    """Check a literal address; return whether the host still needs resolving."""
    if target.literal is None:
        return True
    reason = refusal_reason(target.literal)
    if reason is not None:
        raise UnsafeEndpointError(f"the endpoint is a {reason} ({target.literal})" + _DEVELOPMENT_HINT)
    return False


def _check_resolved(host: str, infos: list[tuple[object, ...]]) -> None:
    if not infos:
        raise EndpointResolutionError(f"host {host!r} resolves to no address")
    for info in infos:
        sockaddr = info[4]
        assert isinstance(sockaddr, tuple)  # noqa: S101 - getaddrinfo's contract for AF_INET/AF_INET6
        address = ipaddress.ip_address(str(sockaddr[0]).partition("%")[0])
        reason = refusal_reason(address)
        if reason is not None:
            # Refuse if ANY answer is unsafe: the client may pick any of them, and attackers mix them.
            raise UnsafeEndpointError(f"host {host!r} resolves to a {reason} ({address})" + _DEVELOPMENT_HINT)


def _encode_host(host: str) -> str:
    try:
        host.encode("idna")
    except UnicodeError:
        raise UnsafeEndpointError("the host name is not a valid internationalised domain name") from None
    return host


def check_endpoint_url(url: str, *, allow_private: bool = False, resolve: bool = True) -> None:
    """Refuse an endpoint URL that could make the gateway reach a non-public address.

    Rules: ``https`` only (``http`` too when ``allow_private``); no ``user:password@``; IPv4 only in canonical
    dotted-quad form; the host, literal or resolved, must not be loopback, private, link-local, multicast,
    reserved, unspecified, CGNAT (100.64.0.0/10), a cloud metadata address, or an IPv4-mapped / NAT64 / 6to4 /
    Teredo form of one. Every resolved address must pass. With ``allow_private`` (development) only the URL's
    shape is checked. With ``resolve=False`` a host name is not looked up (for offline shape checks).

    Raises:
        UnsafeEndpointError: the URL is refused; ``reason`` says why.
        EndpointResolutionError: the host name does not resolve (a subclass: refuse it at registration).
    """
    target = _parse(url, allow_private=allow_private)
    if allow_private or not _check_literal(target) or not resolve:
        return
    try:
        infos = socket.getaddrinfo(_encode_host(target.host), target.port, type=socket.SOCK_STREAM)
    except (OSError, UnicodeError):
        raise EndpointResolutionError(f"host {target.host!r} does not resolve") from None
    _check_resolved(target.host, list(infos))


async def check_endpoint_url_async(url: str, *, allow_private: bool = False, resolve: bool = True) -> None:
    """Do what :func:`check_endpoint_url` does, resolving with the event loop's ``getaddrinfo`` (never blocking).

    Raises:
        UnsafeEndpointError: the URL is refused; ``reason`` says why.
        EndpointResolutionError: the host name does not resolve.
    """
    target = _parse(url, allow_private=allow_private)
    if allow_private or not _check_literal(target) or not resolve:
        return
    loop = asyncio.get_running_loop()
    try:
        infos = await loop.getaddrinfo(_encode_host(target.host), target.port, type=socket.SOCK_STREAM)
    except (OSError, UnicodeError):
        raise EndpointResolutionError(f"host {target.host!r} does not resolve") from None
    _check_resolved(target.host, list(infos))
