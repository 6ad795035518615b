from __future__ import annotations

import socket
from typing import Any

import pytest

from spotcheck.adapters import (
    EndpointResolutionError,
    UnsafeEndpointError,
    check_endpoint_url,
    check_endpoint_url_async,
)

PUBLIC_IP = "93.184.215.14"


@pytest.mark.parametrize(
    ("url", "reason"),
    [
        ("https://127.0.0.1/hook", "loopback"),
        ("https://127.8.9.10:8443/hook", "loopback"),
        ("https://[::1]/hook", "loopback"),
        ("https://10.1.2.3/hook", "private"),
        ("https://172.16.0.9/hook", "private"),
        ("https://172.31.255.254/hook", "private"),
        ("https://192.168.1.20/hook", "private"),
        ("https://169.254.169.254/latest/meta-data/", "cloud metadata"),
        ("https://100.100.100.200/", "cloud metadata"),
        ("https://169.254.10.10/", "link-local"),
        ("https://[fe80::1]/", "link-local"),
        ("https://100.64.0.1/hook", "CGNAT"),
        ("https://100.127.255.254/hook", "CGNAT"),
        ("https://[::ffff:127.0.0.1]/hook", "IPv4-mapped loopback"),
        ("https://[::ffff:10.0.0.1]/hook", "IPv4-mapped private"),
        ("https://[64:ff9b::a00:1]/hook", "NAT64-embedded private"),
        ("https://[2002:7f00:1::]/hook", "tunnel address embedding a loopback"),
        ("https://0.0.0.0/hook", "unspecified"),
        ("https://[::]/hook", "unspecified"),
        ("https://224.0.0.1/hook", "multicast"),
        ("https://[ff02::1]/hook", "multicast"),
        ("https://240.0.0.1/hook", "reserved"),
        ("https://[fc00::1]/hook", "private"),
        ("https://2130706433/hook", "canonical dotted-quad"),
        ("https://127.1/hook", "canonical dotted-quad"),
        ("https://0x7f.0.0.1/hook", "canonical dotted-quad"),
        (f"http://{PUBLIC_IP}/hook", "plain http"),
        (f"https://user:pass@{PUBLIC_IP}/hook", "credentials"),
        (f"https://user@{PUBLIC_IP}/hook", "credentials"),
        (f"ftp://{PUBLIC_IP}/hook", "only https"),
        ("file:///etc/passwd", "only https"),
        ("https:///no-host", "no host"),
        (f"https://{PUBLIC_IP}:99999/", "cannot be parsed"),
        (f"https://{PUBLIC_IP}/a b", "printable"),
        (f"https://{PUBLIC_IP}/\r\nx", "printable"),
    ],
)
async def test_refused_endpoints_name_the_reason(url: str, reason: str) -> None:
    with pytest.raises(UnsafeEndpointError) as sync_error:
        check_endpoint_url(url)
    assert reason in sync_error.value.reason
    assert not isinstance(sync_error.value, EndpointResolutionError)
    with pytest.raises(UnsafeEndpointError) as async_error:
        await check_endpoint_url_async(url)
    assert async_error.value.reason == sync_error.value.reason


@pytest.mark.parametrize(
    "url",
    [
        f"https://{PUBLIC_IP}/hook",
        f"https://{PUBLIC_IP}:8443/spotcheck/inbox?tenant=1",
        "https://[2606:2800:21f:cb07:6820:80da:af6b:8b2c]/hook",
        "HTTPS://8.8.8.8/",
    ],
)
async def test_public_literal_addresses_pass_without_dns(url: str, monkeypatch: pytest.MonkeyPatch) -> None:
    def no_dns(*args: Any, **kwargs: Any) -> Any:
        raise AssertionError("a literal address must not be resolved")

    monkeypatch.setattr(socket, "getaddrinfo", no_dns)
    check_endpoint_url(url)
    await check_endpoint_url_async(url)


@pytest.mark.parametrize(
    "url",
    ["http://127.0.0.1:8000/hook", "https://10.0.0.5/hook", "http://localhost/hook", "https://169.254.169.254/"],
)
async def test_allow_private_permits_development_targets(url: str) -> None:
    check_endpoint_url(url, allow_private=True)
    await check_endpoint_url_async(url, allow_private=True)


@pytest.mark.parametrize(
    "url", [f"https://user:pw@{PUBLIC_IP}/", f"ftp://{PUBLIC_IP}/", "https://127.1/", "https:///x"]
)
def test_allow_private_still_checks_the_shape(url: str) -> None:
    with pytest.raises(UnsafeEndpointError):
        check_endpoint_url(url, allow_private=True)


async def test_host_names_are_resolved_and_loopback_refused() -> None:
    # localhost resolves through /etc/hosts, so this needs no network.
    with pytest.raises(UnsafeEndpointError, match="loopback"):
        check_endpoint_url("https://localhost/hook")
    with pytest.raises(UnsafeEndpointError, match="loopback"):
        await check_endpoint_url_async("https://localhost/hook")


def _answers(*addresses: str) -> Any:
    def fake(host: str, port: int, *args: Any, **kwargs: Any) -> list[tuple[Any, ...]]:
        return [
            (socket.AF_INET6 if ":" in a else socket.AF_INET, socket.SOCK_STREAM, 6, "", (a, port)) for a in addresses
        ]

    return fake


async def test_every_resolved_address_must_be_public(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(socket, "getaddrinfo", _answers(PUBLIC_IP, "10.0.0.7"))
    with pytest.raises(UnsafeEndpointError, match=r"resolves to a private address \(10\.0\.0\.7\)"):
        check_endpoint_url("https://mixed.example/hook")
    with pytest.raises(UnsafeEndpointError, match="private"):
        await check_endpoint_url_async("https://mixed.example/hook")


async def test_a_host_resolving_to_public_addresses_passes(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(socket, "getaddrinfo", _answers(PUBLIC_IP, "2606:2800:21f:cb07:6820:80da:af6b:8b2c"))
    check_endpoint_url("https://platform.example/hook")
    await check_endpoint_url_async("https://platform.example/hook")


async def test_unresolvable_host_is_a_resolution_error(monkeypatch: pytest.MonkeyPatch) -> None:
    def fail(*args: Any, **kwargs: Any) -> Any:
        raise socket.gaierror(socket.EAI_NONAME, "Name or service not known")

    monkeypatch.setattr(socket, "getaddrinfo", fail)
    with pytest.raises(EndpointResolutionError, match="does not resolve"):
        check_endpoint_url("https://nowhere.example/hook")
    with pytest.raises(EndpointResolutionError):
        await check_endpoint_url_async("https://nowhere.example/hook")


def test_resolve_false_checks_only_the_shape(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(socket, "getaddrinfo", _answers("127.0.0.1"))
    check_endpoint_url("https://anything.example/hook", resolve=False)
    with pytest.raises(UnsafeEndpointError, match="loopback"):
        check_endpoint_url("https://127.0.0.1/hook", resolve=False)


def test_refusal_never_repeats_credentials() -> None:
    with pytest.raises(UnsafeEndpointError) as error:
        check_endpoint_url(f"https://admin:hunter2@{PUBLIC_IP}/")
    assert "hunter2" not in str(error.value)


@pytest.mark.parametrize(
    "url", ["http://127.0.0.1:9000/hook", f"http://{PUBLIC_IP}/hook", "https://127.0.0.1:9000/hook", "https://[::1]/"]
)
def test_refusals_the_development_switch_lifts_name_it(url: str) -> None:
    """A developer registering a local test endpoint learns which setting allows it, from the refusal alone."""
    with pytest.raises(UnsafeEndpointError, match=r"SPOTCHECK_ALLOW_PRIVATE_ENDPOINTS=true"):
        check_endpoint_url(url, resolve=False)
    check_endpoint_url(url, allow_private=True)  # and that setting does allow it


def test_a_host_resolving_to_loopback_names_the_development_switch(monkeypatch: pytest.MonkeyPatch) -> None:
    def loopback(*args: Any, **kwargs: Any) -> list[tuple[Any, ...]]:
        return [(socket.AF_INET, socket.SOCK_STREAM, 6, "", ("127.0.0.1", 443))]

    monkeypatch.setattr(socket, "getaddrinfo", loopback)
    with pytest.raises(UnsafeEndpointError, match=r"loopback address \(127\.0\.0\.1\).*SPOTCHECK_ALLOW_PRIVATE"):
        check_endpoint_url("https://localhost/hook")


def test_refusals_the_switch_does_not_lift_do_not_mention_it() -> None:
    with pytest.raises(UnsafeEndpointError) as refused:
        check_endpoint_url(f"https://user:pass@{PUBLIC_IP}/hook")
    assert "SPOTCHECK_ALLOW_PRIVATE_ENDPOINTS" not in str(refused.value)
