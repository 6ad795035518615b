"""AsyncGatewayClient: the same replies, retries and errors as the blocking client, awaited."""

from __future__ import annotations

import email.utils
from collections.abc import AsyncIterator, Iterator
from datetime import datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import httpx
import msgspec
import pytest
import respx

from spotcheck.schemas import (
    ContractError,
    NoticeAcknowledged,
    RecordsProvided,
    RecordsUnavailable,
    TakedownReported,
    TransactionRecord,
    decode_reply,
)
from spotcheck.sdk import (
    AsyncGatewayClient,
    AuthenticationError,
    ConnectionFailed,
    InvalidRequestError,
    RateLimitError,
    ServerError,
    UploadState,
    Webhook,
    generate_keypair,
)

BASE = "https://gateway.example.gov.cn"
PLATFORM = "jd-test"
INTAKE = f"{BASE}/v1/intake/{PLATFORM}"
START = 1_800_000_000.0


class FakeClock:
    """A clock that only moves when the client sleeps."""

    def __init__(self) -> None:
        self.now = START
        self.sleeps: list[float] = []

    def __call__(self) -> float:
        return self.now

    async def sleep(self, seconds: float) -> None:
        self.sleeps.append(seconds)
        self.now += seconds


def accepted(kind: str = "notice.acknowledged") -> Any:
    body = {"status": "accepted", "id": "in_01", "type": kind, "detail": {}}
    return httpx.Response(200, json=body, headers={"x-request-id": "req-ok"})


def problem(status: int, code: str, detail: str, field: str | None = None, **headers: str) -> Any:
    body = {
        "type": f"urn:spotcheck:problem:{code}",
        "title": code,
        "status": status,
        "detail": detail,
        "errors": [{"field": field, "reason": detail}] if field else [],
    }
    return httpx.Response(
        status,
        content=msgspec.json.encode(body),
        headers={"content-type": "application/problem+json", "x-request-id": f"req-{status}", **headers},
    )


@pytest.fixture
def keys() -> tuple[str, str]:
    return generate_keypair()


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock()


@pytest.fixture
def mock() -> Iterator[respx.MockRouter]:
    with respx.mock(assert_all_called=False) as router:
        yield router


@pytest.fixture
async def client(keys: tuple[str, str], clock: FakeClock) -> AsyncIterator[AsyncGatewayClient]:
    async with AsyncGatewayClient(BASE, PLATFORM, keys[0], max_retries=2, sleep=clock.sleep, clock=clock) as gateway:
        yield gateway


async def test_acknowledge_sends_a_signed_reply(
    client: AsyncGatewayClient, mock: respx.MockRouter, keys: tuple[str, str], clock: FakeClock
) -> None:
    route = mock.post(INTAKE).mock(return_value=accepted())
    receipt = await client.acknowledge("msg_notice", "case-1")
    assert (receipt.status, receipt.request_id) == ("accepted", "req-ok")
    request = route.calls.last.request
    Webhook(keys[1]).verify(request.content, request.headers, now=clock.now)
    reply = decode_reply(request.content)
    assert isinstance(reply, NoticeAcknowledged)
    assert reply.data.platform_id == PLATFORM
    assert request.extensions["timeout"] == {"connect": 10.0, "read": 10.0, "write": 10.0, "pool": 10.0}


async def test_a_connect_error_then_success(
    client: AsyncGatewayClient, mock: respx.MockRouter, clock: FakeClock
) -> None:
    route = mock.post(INTAKE).mock(side_effect=[httpx.ConnectError("refused"), accepted()])
    assert (await client.acknowledge("msg_n", "case-1")).status == "accepted"
    assert route.call_count == 2
    assert len(clock.sleeps) == 1
    assert 0 <= clock.sleeps[0] <= 0.5


async def test_503_twice_then_200(client: AsyncGatewayClient, mock: respx.MockRouter, clock: FakeClock) -> None:
    route = mock.post(INTAKE).mock(side_effect=[httpx.Response(503), httpx.Response(503), accepted()])
    assert (await client.acknowledge("msg_n", "case-1")).status == "accepted"
    assert route.call_count == 3
    assert len(clock.sleeps) == 2


async def test_429_retry_after_seconds_and_http_date(
    client: AsyncGatewayClient, mock: respx.MockRouter, clock: FakeClock
) -> None:
    by_seconds = httpx.Response(429, headers={"retry-after": "3"})
    by_date = httpx.Response(429, headers={"retry-after": email.utils.formatdate(START + 3 + 10, usegmt=True)})
    mock.post(INTAKE).mock(side_effect=[by_seconds, by_date, accepted()])
    await client.acknowledge("msg_n", "case-1")
    assert clock.sleeps == [3.0, 10.0]


async def test_retries_keep_the_id_and_refresh_the_signature(
    client: AsyncGatewayClient, mock: respx.MockRouter, keys: tuple[str, str]
) -> None:
    slow_down = httpx.Response(429, headers={"retry-after": "5"})
    route = mock.post(INTAKE).mock(side_effect=[slow_down, slow_down, accepted()])
    receipt = await client.acknowledge("msg_n", "case-1", idempotency_key="ack-1")
    requests = [call.request for call in route.calls]
    assert [r.headers["webhook-id"] for r in requests] == ["ack-1"] * 3
    assert receipt.webhook_id == "ack-1"
    assert [int(r.headers["webhook-timestamp"]) - int(START) for r in requests] == [0, 5, 10]
    assert len({r.headers["webhook-signature"] for r in requests}) == 3
    assert len({r.content for r in requests}) == 1
    for request in requests:
        Webhook(keys[1]).verify(request.content, request.headers, now=int(request.headers["webhook-timestamp"]))


async def test_exhausted_retries_raise_the_right_error(client: AsyncGatewayClient, mock: respx.MockRouter) -> None:
    route = mock.post(INTAKE).mock(return_value=problem(502, "bad-gateway", "upstream down"))
    with pytest.raises(ServerError) as server:
        await client.acknowledge("msg_n", "case-1")
    assert (server.value.http_status, server.value.code, server.value.request_id) == (502, "bad-gateway", "req-502")
    assert route.call_count == 3

    route.mock(return_value=problem(429, "rate-limited", "slow down", **{"retry-after": "1"}))
    with pytest.raises(RateLimitError) as limited:
        await client.acknowledge("msg_n", "case-1")
    assert limited.value.retry_after == 1.0

    route.mock(side_effect=httpx.ConnectTimeout("connect timed out"))
    with pytest.raises(ConnectionFailed) as unreachable:
        await client.acknowledge("msg_n", "case-1")
    assert unreachable.value.http_status is None


async def test_400_and_401_are_not_retried(
    client: AsyncGatewayClient, mock: respx.MockRouter, clock: FakeClock
) -> None:
    route = mock.post(INTAKE).mock(
        return_value=problem(400, "invalid-message", "Expected `array`", field="$.data.listing_ids")
    )
    with pytest.raises(InvalidRequestError) as invalid:
        await client.report_takedown(
            "case-1",
            "msg_order",
            order_type="stop_sale.order",
            measures_taken=["stop_sale"],
            listing_ids=["L-1"],
            shop_ids=[],
        )
    assert "$.data.listing_ids" in (invalid.value.detail or "")
    assert route.call_count == 1
    assert isinstance(decode_reply(route.calls.last.request.content), TakedownReported)

    route.mock(return_value=problem(401, "bad-signature", "no matching signature"))
    with pytest.raises(AuthenticationError):
        await client.acknowledge("msg_n", "case-1")
    assert route.call_count == 2
    assert clock.sleeps == []


async def test_records_unavailable_and_a_takedown_with_none_found(
    client: AsyncGatewayClient, mock: respx.MockRouter
) -> None:
    route = mock.post(INTAKE).mock(return_value=accepted("records.unavailable"))
    receipt = await client.declare_records_unavailable(
        "case-1", "msg_request", orders=["T1", "T2"], reason="平台无该订单记录", idempotency_key="decl-1"
    )
    assert (receipt.status, receipt.webhook_id) == ("accepted", "decl-1")
    declared = decode_reply(route.calls.last.request.content)
    assert isinstance(declared, RecordsUnavailable)
    assert (declared.data.orders, declared.data.reason, declared.data.platform_id) == (
        ["T1", "T2"],
        "平台无该订单记录",
        PLATFORM,
    )

    await client.report_takedown(
        "case-1", "msg_order", order_type="delisting.order", measures_taken=["stop_trading_service"], none_found=True
    )
    reported = decode_reply(route.calls.last.request.content)
    assert isinstance(reported, TakedownReported)
    assert (reported.data.none_found, reported.data.listing_ids, reported.data.shop_ids) == (True, [], [])

    # A rule across fields is refused before anything is sent, naming the field as the gateway would.
    with pytest.raises(ContractError) as repeated:
        await client.declare_records_unavailable("case-1", "msg_request", orders=["T1", "T1"], reason="重复")
    assert repeated.value.path == "$.data.orders[1]"
    with pytest.raises(ContractError) as contradictory:
        await client.report_takedown(
            "case-1",
            "msg_order",
            order_type="takedown.order",
            measures_taken=["delete"],
            listing_ids=["L-1"],
            none_found=True,
        )
    assert contradictory.value.path == "$.data.none_found"
    assert route.call_count == 2


async def test_provide_records_resumes_after_a_failure(
    client: AsyncGatewayClient, mock: respx.MockRouter, keys: tuple[str, str]
) -> None:
    t0 = datetime(2026, 3, 2, 9, 30, tzinfo=ZoneInfo("Asia/Shanghai"))
    records = [
        TransactionRecord(
            order_no=f"T{i}",
            shop_id="shop-1",
            item_title="电热水壶",
            quantity=1,
            amount_fen=100,
            status="completed",
            created_at=t0 + timedelta(minutes=i),
        )
        for i in range(5)
    ]
    indexes: list[int] = []
    refusals = [httpx.Response(400, json={"type": "urn:spotcheck:problem:x", "detail": "refused once"})]

    def intake(request: httpx.Request) -> httpx.Response:
        Webhook(keys[1]).verify(request.content, request.headers, now=START)
        message = decode_reply(request.content)
        assert isinstance(message, RecordsProvided)
        if message.data.chunk_index == 2 and refusals:
            indexes.append(-1)
            return refusals.pop()
        indexes.append(message.data.chunk_index)
        return accepted("records.provided")

    mock.post(INTAKE).mock(side_effect=intake)
    state = UploadState(upload_id="upl-a", case_id="case-1", in_reply_to="msg_req", chunk_size=2)
    with pytest.raises(InvalidRequestError):
        await client.provide_records("case-1", "msg_req", iter(records), [], state=state)
    assert state.accepted == {0, 1}
    receipt = await client.provide_records("case-1", "msg_req", iter(records), [], state=state)
    assert indexes == [0, 1, -1, 2]
    assert (receipt.skipped, len(receipt.sent), receipt.complete, receipt.chunk_count) == (2, 1, True, 3)


async def test_asgi_transport_and_a_callers_client(keys: tuple[str, str]) -> None:
    seen: list[bytes] = []

    async def app(scope: dict[str, Any], receive: Any, send: Any) -> None:
        body = b""
        while True:
            event = await receive()
            body += event.get("body", b"")
            if not event.get("more_body"):
                break
        seen.append(body)
        payload = msgspec.json.encode({"status": "duplicate", "id": "in_9", "type": "notice.acknowledged"})
        await send({"type": "http.response.start", "status": 200, "headers": [(b"content-type", b"application/json")]})
        await send({"type": "http.response.body", "body": payload})

    transport = httpx.ASGITransport(app=app)
    async with AsyncGatewayClient(BASE, PLATFORM, keys[0], transport=transport) as gateway:
        receipt = await gateway.acknowledge("msg_n", "case-1")
    assert (receipt.status, receipt.detail, receipt.request_id) == ("duplicate", {}, None)
    assert len(seen) == 1

    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app)) as http:
        gateway = AsyncGatewayClient(BASE, PLATFORM, keys[0], http_client=http)
        await gateway.acknowledge("msg_n", "case-1")
        await gateway.aclose()
        assert not http.is_closed
    assert len(seen) == 2
