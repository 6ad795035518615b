from __future__ import annotations

import socket
from typing import Any

import httpx
import pytest

from spotcheck.adapters import (
    UnsafeEndpointError,
    classify_http_status,
    make_http_client,
    parse_retry_after,
)
from spotcheck.adapters._http import outcome_for_exception, safe_text

from .conftest import NOW, Receiver

TRANSPORTS = ["aiohttp", "httpx"]


@pytest.mark.parametrize(
    ("status", "expected"),
    [
        (200, "delivered"),
        (201, "delivered"),
        (202, "delivered"),
        (204, "delivered"),
        (299, "delivered"),
        (301, "rejected"),
        (302, "retry"),
        (307, "retry"),
        (308, "rejected"),
        (400, "retry"),
        (401, "retry"),
        (403, "retry"),
        (404, "retry"),
        (405, "retry"),
        (408, "retry"),
        (409, "retry"),
        (410, "gone"),
        (411, "rejected"),
        (413, "rejected"),
        (414, "rejected"),
        (415, "rejected"),
        (422, "rejected"),
        (429, "throttled"),
        (431, "rejected"),
        (500, "retry"),
        (501, "retry"),
        (502, "throttled"),
        (503, "throttled"),
        (504, "throttled"),
        (599, "retry"),
    ],
)
def test_status_table(status: int, expected: str) -> None:
    assert classify_http_status(status) == expected


@pytest.mark.parametrize(
    ("header", "expected"),
    [
        (None, None),
        ("120", 120.0),
        (" 0 ", 0.0),
        ("Wed, 15 Nov 2023 00:00:00 GMT", 6400.0),  # NOW is 2023-11-14 22:13:20 UTC
        ("Tue, 14 Nov 2023 22:00:00 GMT", 0.0),  # already past
        ("soon", None),
        ("-5", None),
        ("1.5", 1.5),  # the one parser (spotcheck.sdk) honours a fractional delay
        ("", None),
        ("٣", None),  # a non-ASCII digit is not delay-seconds
    ],
)
def test_retry_after_parsing(header: str | None, expected: float | None) -> None:
    assert parse_retry_after(header, now=NOW) == expected


def test_safe_text_bounds_and_cleans() -> None:
    text = "监管".encode() * 200  # 1200 bytes, 3 per character
    cut = safe_text(text, limit=512)
    assert cut == "监管" * 85  # 170 whole characters in 510 bytes: the 171st, cut at byte 512, is dropped
    assert safe_text(b"ok\x1b[2J\x00\xff line\r\nnext\tx") == "ok\ufffd[2J\ufffd\ufffd line\ufffd\nnext\tx"
    assert safe_text("合格".encode("gbk"), charset="gbk") == "合格"
    assert safe_text(b"abc", charset="no-such-codec") == "abc"


def test_exception_classification() -> None:
    assert outcome_for_exception(httpx.ConnectError("refused"), latency_ms=1, timeout_s=5).status == "retry"
    timeout = outcome_for_exception(TimeoutError(), latency_ms=1, timeout_s=5)
    assert (timeout.status, timeout.error) == ("retry", "no complete answer within 5 s")
    assert outcome_for_exception(httpx.UnsupportedProtocol("x"), latency_ms=1, timeout_s=5).status == "rejected"
    try:
        try:
            raise UnsafeEndpointError("host 'a' resolves to a loopback address (127.0.0.1)")
        except UnsafeEndpointError as inner:
            raise httpx.ConnectError("wrapped") from inner
    except httpx.ConnectError as outer:
        wrapped = outcome_for_exception(outer, latency_ms=1, timeout_s=5)
    assert wrapped.status == "gone"
    assert wrapped.error is not None
    assert "loopback" in wrapped.error


@pytest.mark.parametrize("transport", TRANSPORTS)
async def test_client_reaches_local_servers_when_private_allowed(transport: Any, receiver: Receiver) -> None:
    async with make_http_client(transport=transport, allow_private=True) as client:
        response = await client.post(f"{receiver.base_url}/ok", content=b"{}")
    assert response.status_code == 200
    assert response.json() == {"received": True}
    assert receiver.requests[0].headers["User-Agent"].startswith("spotcheck-adapters/")


@pytest.mark.parametrize("transport", TRANSPORTS)
async def test_connect_time_guard_refuses_loopback_names(transport: Any, receiver: Receiver) -> None:
    port = receiver.base_url.rsplit(":", 1)[1]
    async with make_http_client(transport=transport) as client:
        with pytest.raises(Exception) as error:
            await client.post(f"http://localhost:{port}/ok", content=b"{}")
    outcome = outcome_for_exception(error.value, latency_ms=1, timeout_s=5)
    assert outcome.status == "gone"
    assert outcome.error is not None
    assert "loopback" in outcome.error
    assert receiver.requests == []


@pytest.mark.parametrize("transport", TRANSPORTS)
async def test_connect_time_guard_lets_public_answers_through(
    transport: Any, receiver: Receiver, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Rebinding in reverse: the guard checks what the resolver says, then connects to exactly that address.
    # Here the "public" answer is the local receiver, seen as public by patching the guard's policy.
    port = int(receiver.base_url.rsplit(":", 1)[1])
    real = socket.getaddrinfo

    def resolve(host: str, *args: Any, **kwargs: Any) -> Any:
        return real("127.0.0.1" if host == "platform.example" else host, *args, **kwargs)

    monkeypatch.setattr(socket, "getaddrinfo", resolve)
    monkeypatch.setattr("spotcheck.adapters._http.refusal_reason", lambda address: None)
    async with make_http_client(transport=transport) as client:
        response = await client.post(f"http://platform.example:{port}/ok", content=b"{}")
    assert response.status_code == 200
    assert receiver.requests[0].headers["Host"] == f"platform.example:{port}"


def test_unknown_transport_is_refused() -> None:
    with pytest.raises(ValueError, match="transport"):
        make_http_client(transport="curl")  # type: ignore[arg-type]
