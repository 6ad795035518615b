from __future__ import annotations

import socket
from collections.abc import AsyncIterator, Awaitable, Callable
from typing import Any

import httpx
import pytest
import respx

from spotcheck.adapters import (
    MAX_EXCERPT_BYTES,
    AdapterConfigError,
    AdapterContext,
    HttpTransportName,
    WebhookAdapter,
    make_http_client,
)
from spotcheck.sdk import Webhook, generate_keypair, generate_secret

from .conftest import (
    NOW,
    RawHandler,
    Receiver,
    close_without_answer,
    fixed_clock,
    free_port,
    garbage_answer,
    make_message,
    reset_connection,
)

SECRET = generate_secret()
PUBLIC_URL = "https://93.184.215.14/spotcheck/hook"
TRANSPORTS: list[HttpTransportName] = ["aiohttp", "httpx"]


def verify(secret: str | list[str], request: httpx.Request | Any, body: bytes) -> None:
    Webhook(secret).verify(body, dict(request.headers), now=NOW)


@pytest.fixture
async def mocked_client() -> AsyncIterator[httpx.AsyncClient]:
    async with make_http_client(transport="httpx") as client:
        yield client


@pytest.fixture
def public_adapter(mocked_client: httpx.AsyncClient) -> WebhookAdapter:
    context = AdapterContext(http_client=mocked_client, clock=fixed_clock)
    return WebhookAdapter({"url": PUBLIC_URL, "secret": SECRET, "timeout_s": 2}, context=context)


# --- configuration ---------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("config", "field", "words"),
    [
        ({}, "url", "missing required field"),
        ({"url": 42, "secret": SECRET}, "url", "Expected `str`"),
        ({"url": "ftp://x.example/", "secret": SECRET}, "url", "http:// or https://"),
        ({"url": "https://u:p@x.example/", "secret": SECRET}, "url", "credentials"),
        ({"url": "https://x.example:0x1/", "secret": SECRET}, "url", "not a valid URL"),
        ({"url": "https://x.example/", "secret": "whsec_c2hvcnQ="}, "secret", "24 to 64 bytes"),
        ({"url": "https://x.example/", "secret": "sk_live_abc"}, "secret", "unknown key type"),
        ({"url": "https://x.example/", "secret": ""}, "secret", "must not be empty"),
        ({"url": "https://x.example/", "signing_keys": []}, "signing_keys", "at least one"),
        ({"url": "https://x.example/", "secret": SECRET, "signing_keys": [SECRET]}, "signing_keys", "not both"),
        ({"url": "https://x.example/", "signing_keys": [generate_keypair()[1]]}, "signing_keys", "only verify"),
        ({"url": "https://x.example/", "secret": SECRET, "timeout_s": 0}, "timeout_s", "more than 0"),
        ({"url": "https://x.example/", "secret": SECRET, "timeout_s": "9"}, "timeout_s", "Expected `float`"),
        ({"url": "https://x.example/", "secret": SECRET, "timeout_s": float("inf")}, "timeout_s", "more than 0"),
        ({"url": "https://x.example/", "secret": SECRET, "headers": {"Webhook-Signature": "x"}}, "headers", "set by"),
        ({"url": "https://x.example/", "secret": SECRET, "headers": {"X-A": "1\r\nX-B: 2"}}, "headers", "one line"),
        ({"url": "https://x.example/", "secret": SECRET, "headers": {"Bad Name": "1"}}, "headers", "header name"),
        ({"url": "https://x.example/", "secret": SECRET, "headers": {"X-A": 1}}, "headers", "Expected `str`"),
        ({"url": "https://x.example/", "secret": SECRET, "timeout": 5}, "timeout", "unknown field"),
    ],
)
def test_config_errors_name_the_field(config: dict[str, Any], field: str, words: str) -> None:
    with pytest.raises(AdapterConfigError) as error:
        WebhookAdapter.validate_config(config)
    assert error.value.adapter == "webhook"
    assert error.value.field == field
    assert words in error.value.reason


def test_config_errors_never_repeat_the_secret() -> None:
    bad = "whsec_" + "A" * 10
    with pytest.raises(AdapterConfigError) as error:
        WebhookAdapter({"url": "https://x.example/", "secret": bad}, context=AdapterContext())
    assert bad not in str(error.value)
    assert SECRET not in repr(WebhookAdapter.validate_config({"url": "https://x.example/", "secret": SECRET}))


def test_keys_come_from_the_config_or_the_context_but_not_both() -> None:
    url = {"url": "https://x.example/"}
    WebhookAdapter(url, context=AdapterContext(signing_keys=(SECRET,)))
    WebhookAdapter({**url, "secret": SECRET}, context=AdapterContext())
    with pytest.raises(AdapterConfigError, match="both"):
        WebhookAdapter({**url, "secret": SECRET}, context=AdapterContext(signing_keys=(SECRET,)))
    with pytest.raises(AdapterConfigError, match="no signing key") as missing:
        WebhookAdapter(url, context=AdapterContext())
    assert missing.value.field == "secret"
    with pytest.raises(AdapterConfigError) as bad_context:
        WebhookAdapter(url, context=AdapterContext(signing_keys=("whsec_bad",)))
    assert bad_context.value.field == "AdapterContext.signing_keys"
    assert SECRET not in repr(AdapterContext(signing_keys=(SECRET,)))


# --- classification against respx ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("response", "status", "retry_after"),
    [
        (httpx.Response(200, json={"ok": True}), "delivered", None),
        (httpx.Response(204), "delivered", None),
        (httpx.Response(400, text="bad signature"), "retry", None),
        (httpx.Response(401), "retry", None),
        (httpx.Response(404), "retry", None),
        (httpx.Response(410, text="endpoint disabled"), "gone", None),
        (httpx.Response(413), "rejected", None),
        (httpx.Response(422, json={"detail": "unknown type"}), "rejected", None),
        (httpx.Response(429, headers={"retry-after": "30"}), "throttled", 30.0),
        (httpx.Response(429, headers={"retry-after": "Tue, 14 Nov 2023 22:15:00 GMT"}), "throttled", 100.0),
        (httpx.Response(429, headers={"retry-after": "later"}), "throttled", None),
        (httpx.Response(500, text="boom"), "retry", None),
        (httpx.Response(502), "throttled", None),
        (httpx.Response(503, headers={"retry-after": "5"}), "throttled", 5.0),
        (httpx.Response(504), "throttled", None),
        (httpx.Response(308, headers={"location": "https://elsewhere.example/"}), "rejected", None),
    ],
)
async def test_status_classification(
    public_adapter: WebhookAdapter, response: httpx.Response, status: str, retry_after: float | None
) -> None:
    message = make_message()
    with respx.mock(assert_all_called=True) as router:
        route = router.post(PUBLIC_URL).mock(return_value=response)
        outcome = await public_adapter.deliver(message)
    assert outcome.status == status
    assert outcome.http_status == response.status_code
    assert outcome.retry_after == retry_after
    assert outcome.latency_ms >= 0
    assert (outcome.error is None) == (status == "delivered")
    sent = route.calls.last.request
    assert sent.content == message.body
    assert sent.headers["content-type"] == "application/json"
    assert sent.headers["webhook-id"] == message.message_id
    assert sent.headers["webhook-timestamp"] == str(int(NOW))
    verify(SECRET, sent, sent.content)


@pytest.mark.parametrize(
    "failure",
    [
        httpx.ConnectTimeout("connect timed out"),
        httpx.ReadTimeout("read timed out"),
        httpx.ConnectError("[Errno 111] Connection refused"),
        httpx.ReadError("[Errno 104] Connection reset by peer"),
        httpx.RemoteProtocolError("illegal status line"),
        ConnectionResetError(104, "Connection reset by peer"),
    ],
)
async def test_transport_failures_are_retried(public_adapter: WebhookAdapter, failure: Exception) -> None:
    with respx.mock() as router:
        router.post(PUBLIC_URL).mock(side_effect=failure)
        outcome = await public_adapter.deliver(make_message())
    assert outcome.status == "retry"
    assert outcome.http_status is None
    assert outcome.error is not None
    assert type(failure).__name__ in outcome.error


async def test_garbage_body_on_2xx_is_delivered_with_a_safe_excerpt(public_adapter: WebhookAdapter) -> None:
    garbage = b"\x00\x1b[2J\xff\xfe" + b"x" * 2000
    with respx.mock() as router:
        router.post(PUBLIC_URL).mock(return_value=httpx.Response(200, content=garbage))
        outcome = await public_adapter.deliver(make_message())
    assert outcome.status == "delivered"
    assert "\x00" not in outcome.response_excerpt
    assert "\x1b" not in outcome.response_excerpt
    assert len(outcome.response_excerpt.encode()) <= MAX_EXCERPT_BYTES + 3 * 6  # six U+FFFD replace six bytes


async def test_extra_headers_and_request_id(mocked_client: httpx.AsyncClient) -> None:
    adapter = WebhookAdapter(
        {"url": PUBLIC_URL, "headers": {"X-Platform-Route": "cn-east"}},
        context=AdapterContext(http_client=mocked_client, clock=fixed_clock, signing_keys=(SECRET,)),
    )
    with respx.mock() as router:
        route = router.post(PUBLIC_URL).mock(return_value=httpx.Response(202, headers={"x-request-id": "r-9"}))
        outcome = await adapter.deliver(make_message())
    assert outcome.remote_reference == "r-9"
    assert route.calls.last.request.headers["x-platform-route"] == "cn-east"


async def test_rotation_signs_with_every_key(mocked_client: httpx.AsyncClient) -> None:
    old, new = generate_secret(), generate_secret()
    signing_key, public_key = generate_keypair()
    adapter = WebhookAdapter(
        {"url": PUBLIC_URL, "signing_keys": [old, new, signing_key]},
        context=AdapterContext(http_client=mocked_client, clock=fixed_clock),
    )
    with respx.mock() as router:
        route = router.post(PUBLIC_URL).mock(return_value=httpx.Response(200))
        await adapter.deliver(make_message())
    sent = route.calls.last.request
    assert [entry.split(",")[0] for entry in sent.headers["webhook-signature"].split(" ")] == ["v1", "v1", "v1a"]
    for key in (old, new, public_key):
        verify(key, sent, sent.content)


async def test_a_message_id_the_scheme_cannot_carry_is_rejected(public_adapter: WebhookAdapter) -> None:
    with respx.mock(assert_all_called=False) as router:
        route = router.post(PUBLIC_URL).mock(return_value=httpx.Response(200))
        outcome = await public_adapter.deliver(make_message(message_id="msg.with.dots"))
    assert outcome.status == "rejected"
    assert outcome.error is not None
    assert "cannot sign" in outcome.error
    assert not route.called


async def test_ssrf_refusal_before_connecting(mocked_client: httpx.AsyncClient) -> None:
    adapter = WebhookAdapter(
        {"url": "https://10.0.0.8/hook", "secret": SECRET}, context=AdapterContext(http_client=mocked_client)
    )
    with respx.mock(assert_all_called=False) as router:
        route = router.post("https://10.0.0.8/hook").mock(return_value=httpx.Response(200))
        outcome = await adapter.deliver(make_message())
    assert outcome.status == "gone"
    assert outcome.error is not None
    assert "private" in outcome.error
    assert not route.called


# --- against a real local server -------------------------------------------------------------------------------


def local_adapter(url: str, transport: Any, **config: Any) -> WebhookAdapter:
    context = AdapterContext(http_transport=transport, allow_private_targets=True, clock=fixed_clock)
    return WebhookAdapter({"url": url, "secret": SECRET, **config}, context=context)


@pytest.mark.parametrize("transport", TRANSPORTS)
async def test_real_server_receives_a_verifiable_message(transport: Any, receiver: Receiver) -> None:
    adapter = local_adapter(f"{receiver.base_url}/ok", transport)
    message = make_message()
    try:
        first = await adapter.deliver(message)
        second = await adapter.deliver(make_message(attempt=2))
    finally:
        await adapter.aclose()
    assert (first.status, first.http_status, first.remote_reference) == ("delivered", 200, "req-42")
    assert first.response_excerpt == '{"received": true}'
    assert second.status == "delivered"
    assert len(receiver.requests) == 2
    for received in receiver.requests:
        assert received.body == message.body
        Webhook(SECRET).verify(received.body, received.headers, now=NOW)
        assert received.headers["webhook-id"] == message.message_id  # stable across attempts


@pytest.mark.parametrize("transport", TRANSPORTS)
@pytest.mark.parametrize(
    ("path", "status", "http_status", "retry_after"),
    [
        ("/status/204", "delivered", 204, None),
        ("/status/400", "retry", 400, None),
        ("/status/410", "gone", 410, None),
        ("/status/429?retry_after=7", "throttled", 429, 7.0),
        ("/status/503?retry_after=Tue,%2014%20Nov%202023%2022:14:00%20GMT", "throttled", 503, 40.0),
        ("/status/500", "retry", 500, None),
        ("/status/502", "throttled", 502, None),
        ("/status/422", "rejected", 422, None),
        ("/missing-route", "retry", 404, None),
    ],
)
async def test_real_server_statuses(
    transport: Any, receiver: Receiver, path: str, status: str, http_status: int, retry_after: float | None
) -> None:
    adapter = local_adapter(f"{receiver.base_url}{path}", transport)
    try:
        outcome = await adapter.deliver(make_message())
    finally:
        await adapter.aclose()
    assert (outcome.status, outcome.http_status, outcome.retry_after) == (status, http_status, retry_after)


@pytest.mark.parametrize("transport", TRANSPORTS)
async def test_real_server_timeout_is_retried(transport: Any, receiver: Receiver) -> None:
    adapter = local_adapter(f"{receiver.base_url}/slow", transport, timeout_s=0.2)
    try:
        outcome = await adapter.deliver(make_message())
    finally:
        receiver.release.set()
        await adapter.aclose()
    assert outcome.status == "retry"
    assert outcome.http_status is None
    assert len(receiver.requests) == 1


@pytest.mark.parametrize("transport", TRANSPORTS)
async def test_real_server_excerpts_are_bounded_and_clean(transport: Any, receiver: Receiver) -> None:
    adapter = local_adapter(f"{receiver.base_url}/big", transport)
    control = local_adapter(f"{receiver.base_url}/control", transport)
    try:
        big = await adapter.deliver(make_message())
        odd = await control.deliver(make_message())
    finally:
        await adapter.aclose()
        await control.aclose()
    assert big.status == "delivered"
    assert big.response_excerpt == "合规" * 85  # 510 of the first 512 bytes; the cut character is dropped
    assert odd.response_excerpt == "\ufffd[31mred\ufffd\ufffd\ufffd tail"


@pytest.mark.parametrize("transport", TRANSPORTS)
async def test_connection_refused_is_retried(transport: Any) -> None:
    adapter = local_adapter(f"http://127.0.0.1:{free_port()}/hook", transport)
    try:
        outcome = await adapter.deliver(make_message())
    finally:
        await adapter.aclose()
    assert outcome.status == "retry"
    assert outcome.error is not None


@pytest.mark.parametrize("transport", TRANSPORTS)
@pytest.mark.parametrize("handler", [reset_connection, garbage_answer, close_without_answer])
async def test_broken_answers_are_retried(
    transport: Any, handler: RawHandler, raw_server: Callable[[RawHandler], Awaitable[str]]
) -> None:
    base_url = await raw_server(handler)
    adapter = local_adapter(f"{base_url}/hook", transport, timeout_s=5)
    try:
        outcome = await adapter.deliver(make_message())
    finally:
        await adapter.aclose()
    assert outcome.status == "retry"
    assert outcome.http_status is None
    assert outcome.error is not None


def _resolving_to(address: str, port: int, lookups: list[str]) -> Any:
    def fake(host: str, *args: Any, **kwargs: Any) -> Any:
        lookups.append(host)
        return [(socket.AF_INET, socket.SOCK_STREAM, 6, "", (address, port))]

    return fake


@pytest.mark.parametrize("transport", TRANSPORTS)
async def test_own_client_checks_addresses_at_connect_time(
    transport: Any, receiver: Receiver, monkeypatch: pytest.MonkeyPatch
) -> None:
    # The address is checked where the connection is made, so a DNS answer cannot change in between (rebinding).
    port = int(receiver.base_url.rsplit(":", 1)[1])
    lookups: list[str] = []
    monkeypatch.setattr(socket, "getaddrinfo", _resolving_to("127.0.0.1", port, lookups))
    adapter = WebhookAdapter(
        {"url": f"https://rebind.example:{port}/ok", "secret": SECRET},
        context=AdapterContext(http_transport=transport, clock=fixed_clock),
    )
    try:
        outcome = await adapter.deliver(make_message())
    finally:
        await adapter.aclose()
    assert outcome.status == "gone"
    assert outcome.error is not None
    assert "loopback" in outcome.error
    assert "at connect time" in outcome.error
    assert lookups == ["rebind.example"]  # one lookup: the one the connection uses
    assert receiver.requests == []


async def test_a_lent_unguarded_client_gets_the_resolving_pre_check(
    receiver: Receiver, monkeypatch: pytest.MonkeyPatch
) -> None:
    port = int(receiver.base_url.rsplit(":", 1)[1])
    lookups: list[str] = []
    monkeypatch.setattr(socket, "getaddrinfo", _resolving_to("10.1.2.3", port, lookups))
    async with httpx.AsyncClient() as plain:
        adapter = WebhookAdapter(
            {"url": f"https://internal.example:{port}/ok", "secret": SECRET},
            context=AdapterContext(http_client=plain, clock=fixed_clock),
        )
        outcome = await adapter.deliver(make_message())
    assert outcome.status == "gone"
    assert outcome.error == (
        "endpoint refused by the SSRF guard: host 'internal.example' resolves to a private address (10.1.2.3)"
        " (a local test endpoint is allowed when the gateway runs with SPOTCHECK_ALLOW_PRIVATE_ENDPOINTS=true;"
        " development only)"
    )
    assert lookups == ["internal.example"]


async def test_unresolvable_host_is_retried(monkeypatch: pytest.MonkeyPatch) -> None:
    def fail(*args: Any, **kwargs: Any) -> Any:
        raise socket.gaierror(socket.EAI_AGAIN, "Temporary failure in name resolution")

    monkeypatch.setattr(socket, "getaddrinfo", fail)
    for transport in TRANSPORTS:
        adapter = WebhookAdapter(
            {"url": "https://platform.example/hook", "secret": SECRET},
            context=AdapterContext(http_transport=transport, clock=fixed_clock),
        )
        outcome = await adapter.deliver(make_message())
        await adapter.aclose()
        assert outcome.status == "retry", transport
        assert outcome.error is not None


async def test_a_lent_client_is_not_closed_but_an_own_one_is(receiver: Receiver) -> None:
    async with make_http_client(allow_private=True) as lent:
        adapter = WebhookAdapter(
            {"url": f"{receiver.base_url}/ok", "secret": SECRET},
            context=AdapterContext(http_client=lent, allow_private_targets=True, clock=fixed_clock),
        )
        assert (await adapter.deliver(make_message())).delivered
        await adapter.aclose()
        assert not lent.is_closed
    own = local_adapter(f"{receiver.base_url}/ok", "aiohttp")
    assert (await own.deliver(make_message())).delivered
    client = own._http.get()
    await own.aclose()
    await own.aclose()
    assert client.is_closed
