"""GatewayClient: signed, idempotent replies, every retry path and the error each failure becomes."""

from __future__ import annotations

import email.utils
import hashlib
import subprocess
import sys
import time
from collections.abc import Iterator
from datetime import UTC, datetime
from typing import Any

import httpx
import msgspec
import pytest
import respx

from spotcheck.schemas import (
    ContractError,
    MerchantIdentity,
    NoticeAcknowledged,
    OrderConfirmed,
    RecordsUnavailable,
    ReinspectionApplied,
    TakedownReported,
    decode_reply,
)
from spotcheck.sdk import (
    APIError,
    AuthenticationError,
    ConnectionFailed,
    GatewayClient,
    InvalidRequestError,
    RateLimitError,
    ReplyReceipt,
    ServerError,
    Webhook,
    generate_keypair,
    generate_secret,
    parse_retry_after,
    public_key_of,
)
from spotcheck.sdk._retry import RetryPolicy

BASE = "https://gateway.example.gov.cn"
PLATFORM = "tmall-test"
INTAKE = f"{BASE}/v1/intake/{PLATFORM}"
START = 1_800_000_000.0
SHA = hashlib.sha256(b"evidence").hexdigest()


class FakeClock:
    """A clock that only moves when the client sleeps, so every wait is recorded and instant."""

    def __init__(self) -> None:
        self.now = START
        self.sleeps: list[float] = []

    def __call__(self) -> float:
        return self.now

    def sleep(self, seconds: float) -> None:
        self.sleeps.append(seconds)
        self.now += seconds


def accepted(kind: str = "notice.acknowledged", *, status: str = "accepted", request_id: str = "req-ok") -> Any:
    return httpx.Response(
        200,
        json={"status": status, "id": "in_01", "type": kind, "detail": {"acknowledged": "msg_n"}},
        headers={"x-request-id": request_id},
    )


def problem(status: int, code: str, detail: str, *, errors: list[dict[str, str]] | None = None, **headers: str) -> Any:
    body = {
        "type": f"urn:spotcheck:problem:{code}",
        "title": code.replace("-", " ").capitalize(),
        "status": status,
        "detail": detail,
        "errors": errors or [],
        "request_id": "req-body",
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
def client(keys: tuple[str, str], clock: FakeClock) -> Iterator[GatewayClient]:
    with GatewayClient(BASE, PLATFORM, keys[0], max_retries=3, sleep=clock.sleep, clock=clock) as gateway:
        yield gateway


def verify(public_key: str, request: httpx.Request, clock: FakeClock) -> None:
    Webhook(public_key).verify(request.content, request.headers, now=clock.now)


def test_acknowledge_posts_one_signed_typed_reply(
    client: GatewayClient, mock: respx.MockRouter, keys: tuple[str, str], clock: FakeClock
) -> None:
    route = mock.post(INTAKE).mock(return_value=accepted())
    receipt = client.acknowledge("msg_notice1", "case-1")
    assert receipt == ReplyReceipt(
        status="accepted",
        id="in_01",
        type="notice.acknowledged",
        detail={"acknowledged": "msg_n"},
        request_id="req-ok",
        webhook_id=receipt.webhook_id,
    )
    [call] = route.calls
    request = call.request
    assert request.headers["content-type"] == "application/json"
    assert request.headers["webhook-id"] == receipt.webhook_id
    assert request.headers["webhook-timestamp"] == str(int(START))
    assert request.headers["user-agent"].startswith("spotcheck-sdk/")
    verify(keys[1], request, clock)
    reply = decode_reply(request.content)
    assert isinstance(reply, NoticeAcknowledged)
    assert reply.data.platform_id == PLATFORM
    assert reply.data.in_reply_to == "msg_notice1"
    assert reply.data.case_id == "case-1"
    assert reply.timestamp == datetime.fromtimestamp(START, UTC)
    assert reply.timestamp.utcoffset() is not None
    assert reply.data.received_at == reply.timestamp
    assert clock.sleeps == []


def test_every_attempt_has_connect_read_write_and_pool_timeouts(
    keys: tuple[str, str], mock: respx.MockRouter, clock: FakeClock
) -> None:
    route = mock.post(INTAKE).mock(return_value=accepted())
    with GatewayClient(BASE, PLATFORM, keys[0], timeout=2.5, sleep=clock.sleep, clock=clock) as gateway:
        gateway.acknowledge("msg_n", "case-1")
    assert route.calls.last.request.extensions["timeout"] == {"connect": 2.5, "read": 2.5, "write": 2.5, "pool": 2.5}


def test_a_connect_error_then_success_retries_once(
    client: GatewayClient, mock: respx.MockRouter, keys: tuple[str, str], clock: FakeClock
) -> None:
    route = mock.post(INTAKE).mock(side_effect=[httpx.ConnectError("connection refused"), accepted()])
    receipt = client.acknowledge("msg_n", "case-1")
    assert receipt.status == "accepted"
    assert route.call_count == 2
    [wait] = clock.sleeps
    assert 0 <= wait <= 0.5  # full jitter in the first window, backoff_base
    for call in route.calls:
        verify(keys[1], call.request, clock)


def test_a_read_timeout_is_retried_like_a_connect_error(client: GatewayClient, mock: respx.MockRouter) -> None:
    route = mock.post(INTAKE).mock(side_effect=[httpx.ReadTimeout("read timed out"), accepted()])
    assert client.acknowledge("msg_n", "case-1").status == "accepted"
    assert route.call_count == 2


def test_503_twice_then_200_waits_in_doubling_windows(
    client: GatewayClient, mock: respx.MockRouter, clock: FakeClock
) -> None:
    unavailable = problem(503, "unavailable", "the store is restarting")
    route = mock.post(INTAKE).mock(side_effect=[unavailable, unavailable, accepted()])
    assert client.acknowledge("msg_n", "case-1").status == "accepted"
    assert route.call_count == 3
    assert len(clock.sleeps) == 2
    assert 0 <= clock.sleeps[0] <= 0.5
    assert 0 <= clock.sleeps[1] <= 1.0


@pytest.mark.parametrize("status", [500, 502, 504])
def test_other_transient_5xx_are_retried(client: GatewayClient, mock: respx.MockRouter, status: int) -> None:
    route = mock.post(INTAKE).mock(side_effect=[httpx.Response(status), accepted()])
    assert client.acknowledge("msg_n", "case-1").status == "accepted"
    assert route.call_count == 2


def test_429_with_retry_after_seconds_waits_exactly_that_long(
    client: GatewayClient, mock: respx.MockRouter, clock: FakeClock
) -> None:
    throttled = problem(429, "rate-limited", "slow down", **{"retry-after": "7"})
    route = mock.post(INTAKE).mock(side_effect=[throttled, accepted()])
    assert client.acknowledge("msg_n", "case-1").status == "accepted"
    assert route.call_count == 2
    assert clock.sleeps == [7.0]


def test_429_with_retry_after_http_date_waits_until_that_date(
    client: GatewayClient, mock: respx.MockRouter, clock: FakeClock
) -> None:
    until = email.utils.formatdate(START + 12, usegmt=True)
    route = mock.post(INTAKE).mock(side_effect=[httpx.Response(429, headers={"retry-after": until}), accepted()])
    assert client.acknowledge("msg_n", "case-1").status == "accepted"
    assert route.call_count == 2
    assert clock.sleeps == [12.0]


def test_retry_after_is_capped_at_backoff_max(keys: tuple[str, str], mock: respx.MockRouter, clock: FakeClock) -> None:
    mock.post(INTAKE).mock(side_effect=[httpx.Response(503, headers={"retry-after": "3600"}), accepted()])
    with GatewayClient(BASE, PLATFORM, keys[0], backoff_max=4.0, sleep=clock.sleep, clock=clock) as gateway:
        gateway.acknowledge("msg_n", "case-1")
    assert clock.sleeps == [4.0]


def test_jittered_waits_never_exceed_backoff_max(
    keys: tuple[str, str], mock: respx.MockRouter, clock: FakeClock
) -> None:
    mock.post(INTAKE).mock(side_effect=[httpx.Response(502)] * 8 + [accepted()])
    with GatewayClient(
        BASE, PLATFORM, keys[0], max_retries=8, backoff_base=1.0, backoff_max=3.0, sleep=clock.sleep, clock=clock
    ) as gateway:
        gateway.acknowledge("msg_n", "case-1")
    assert len(clock.sleeps) == 8
    assert all(0 <= wait <= 3.0 for wait in clock.sleeps)


def test_exhausted_retries_on_5xx_raise_server_error_with_the_last_answer(
    client: GatewayClient, mock: respx.MockRouter, clock: FakeClock
) -> None:
    route = mock.post(INTAKE).mock(return_value=problem(503, "unavailable", "the store is restarting"))
    with pytest.raises(ServerError) as caught:
        client.acknowledge("msg_n", "case-1")
    assert route.call_count == 4  # the first attempt and max_retries=3 retries
    assert len(clock.sleeps) == 3
    error = caught.value
    assert error.http_status == 503
    assert error.code == "unavailable"
    assert error.request_id == "req-503"
    assert error.detail == "the store is restarting"
    assert "status=503" in str(error)


def test_exhausted_retries_on_429_raise_rate_limit_error_with_retry_after(
    client: GatewayClient, mock: respx.MockRouter, clock: FakeClock
) -> None:
    route = mock.post(INTAKE).mock(
        return_value=problem(429, "rate-limited", "too many replies", **{"retry-after": "2"})
    )
    with pytest.raises(RateLimitError) as caught:
        client.acknowledge("msg_n", "case-1")
    assert route.call_count == 4
    assert clock.sleeps == [2.0, 2.0, 2.0]
    error = caught.value
    assert (error.http_status, error.code, error.request_id, error.retry_after) == (429, "rate-limited", "req-429", 2.0)


def test_exhausted_retries_without_an_answer_raise_connection_failed(
    client: GatewayClient, mock: respx.MockRouter
) -> None:
    route = mock.post(INTAKE).mock(side_effect=httpx.ConnectError("connection refused"))
    with pytest.raises(ConnectionFailed) as caught:
        client.acknowledge("msg_n", "case-1")
    assert route.call_count == 4
    assert caught.value.http_status is None
    assert "connection refused" in (caught.value.detail or "")
    assert isinstance(caught.value.__cause__, httpx.ConnectError)


def test_no_retries_means_one_attempt(keys: tuple[str, str], mock: respx.MockRouter, clock: FakeClock) -> None:
    route = mock.post(INTAKE).mock(return_value=httpx.Response(503))
    with (
        GatewayClient(BASE, PLATFORM, keys[0], max_retries=0, sleep=clock.sleep, clock=clock) as gateway,
        pytest.raises(ServerError),
    ):
        gateway.acknowledge("msg_n", "case-1")
    assert route.call_count == 1
    assert clock.sleeps == []


def test_a_400_problem_names_the_field_and_is_not_retried(
    client: GatewayClient, mock: respx.MockRouter, clock: FakeClock
) -> None:
    route = mock.post(INTAKE).mock(
        return_value=problem(
            400,
            "invalid-message",
            "Expected `str` of length >= 1",
            errors=[{"field": "$.data.order_no", "reason": "Expected `str` of length >= 1"}],
        )
    )
    with pytest.raises(InvalidRequestError) as caught:
        client.acknowledge("msg_n", "case-1")
    assert route.call_count == 1
    assert clock.sleeps == []
    error = caught.value
    assert error.http_status == 400
    assert error.code == "invalid-message"
    assert error.request_id == "req-400"
    assert "$.data.order_no" in (error.detail or "")


def test_a_401_raises_authentication_error_without_retry(client: GatewayClient, mock: respx.MockRouter) -> None:
    route = mock.post(INTAKE).mock(
        return_value=problem(401, "bad-signature", "signature verification failed: no matching signature")
    )
    with pytest.raises(AuthenticationError) as caught:
        client.acknowledge("msg_n", "case-1")
    assert route.call_count == 1
    assert caught.value.code == "bad-signature"
    assert caught.value.http_status == 401


@pytest.mark.parametrize(
    ("status", "error_class"),
    [
        (403, AuthenticationError),
        (404, InvalidRequestError),
        (409, InvalidRequestError),
        (413, InvalidRequestError),
        (415, InvalidRequestError),
        (422, InvalidRequestError),
        (501, ServerError),
        (418, APIError),
    ],
)
def test_final_answers_are_never_retried(
    client: GatewayClient, mock: respx.MockRouter, clock: FakeClock, status: int, error_class: type[APIError]
) -> None:
    route = mock.post(INTAKE).mock(return_value=problem(status, "refused", f"refused with {status}"))
    with pytest.raises(error_class) as caught:
        client.acknowledge("msg_n", "case-1")
    assert type(caught.value) is error_class
    assert caught.value.http_status == status
    assert route.call_count == 1
    assert clock.sleeps == []


def test_a_field_listed_only_in_errors_is_added_to_the_detail(client: GatewayClient, mock: respx.MockRouter) -> None:
    mock.post(INTAKE).mock(
        return_value=problem(
            409, "invalid-field", "the upload does not add up", errors=[{"field": "$.data.set_sha256", "reason": "x"}]
        )
    )
    with pytest.raises(InvalidRequestError) as caught:
        client.acknowledge("msg_n", "case-1")
    assert caught.value.detail == "the upload does not add up; $.data.set_sha256: x"


def test_a_non_problem_error_body_still_gives_status_and_request_id(
    client: GatewayClient, mock: respx.MockRouter
) -> None:
    mock.post(INTAKE).mock(return_value=httpx.Response(404, text="no route", headers={"x-request-id": "req-plain"}))
    with pytest.raises(InvalidRequestError) as caught:
        client.acknowledge("msg_n", "case-1")
    assert (caught.value.http_status, caught.value.code, caught.value.request_id) == (404, None, "req-plain")
    assert caught.value.detail == "no route"


def test_a_2xx_that_is_not_a_receipt_raises_api_error(client: GatewayClient, mock: respx.MockRouter) -> None:
    mock.post(INTAKE).mock(return_value=httpx.Response(200, text="<html>proxy</html>"))
    with pytest.raises(APIError, match="not a reply receipt") as caught:
        client.acknowledge("msg_n", "case-1")
    assert caught.value.http_status == 200


def test_a_duplicate_answer_is_a_receipt(client: GatewayClient, mock: respx.MockRouter) -> None:
    mock.post(INTAKE).mock(return_value=accepted(status="duplicate"))
    assert client.acknowledge("msg_n", "case-1").status == "duplicate"


def test_retries_keep_the_id_and_body_but_sign_a_fresh_timestamp(
    client: GatewayClient, mock: respx.MockRouter, keys: tuple[str, str], clock: FakeClock
) -> None:
    throttled = httpx.Response(429, headers={"retry-after": "20"})
    route = mock.post(INTAKE).mock(side_effect=[throttled, throttled, accepted()])
    receipt = client.acknowledge("msg_n", "case-1")
    requests = [call.request for call in route.calls]
    assert len(requests) == 3
    assert {request.headers["webhook-id"] for request in requests} == {receipt.webhook_id}
    assert len({request.content for request in requests}) == 1
    stamps = [int(request.headers["webhook-timestamp"]) for request in requests]
    assert stamps == [int(START), int(START) + 20, int(START) + 40]
    assert len({request.headers["webhook-signature"] for request in requests}) == 3
    for request in requests:
        # Each attempt is signed for its own send time, so each verifies at that time.
        Webhook(keys[1]).verify(request.content, request.headers, now=int(request.headers["webhook-timestamp"]))


def test_an_explicit_idempotency_key_is_the_webhook_id_of_every_attempt(
    client: GatewayClient, mock: respx.MockRouter
) -> None:
    route = mock.post(INTAKE).mock(side_effect=[httpx.Response(502), accepted()])
    receipt = client.acknowledge("msg_n", "case-1", idempotency_key="ack-case-1-msg_n")
    assert receipt.webhook_id == "ack-case-1-msg_n"
    assert [call.request.headers["webhook-id"] for call in route.calls] == ["ack-case-1-msg_n"] * 2


def test_separate_calls_get_separate_ids(client: GatewayClient, mock: respx.MockRouter) -> None:
    mock.post(INTAKE).mock(return_value=accepted())
    first = client.acknowledge("msg_n", "case-1")
    second = client.acknowledge("msg_n", "case-1")
    assert first.webhook_id != second.webhook_id
    assert first.webhook_id.startswith("msg_")


def test_an_unusable_idempotency_key_is_refused_before_sending(client: GatewayClient, mock: respx.MockRouter) -> None:
    route = mock.post(INTAKE).mock(return_value=accepted())
    with pytest.raises(ValueError, match="msg_id"):
        client.acknowledge("msg_n", "case-1", idempotency_key="has.a.dot")
    assert route.call_count == 0


def test_a_symmetric_key_signs_v1(mock: respx.MockRouter, clock: FakeClock) -> None:
    secret = generate_secret()
    route = mock.post(INTAKE).mock(return_value=accepted())
    with GatewayClient(BASE, PLATFORM, secret, sleep=clock.sleep, clock=clock) as gateway:
        gateway.acknowledge("msg_n", "case-1")
    request = route.calls.last.request
    assert request.headers["webhook-signature"].startswith("v1,")
    Webhook(secret).verify(request.content, request.headers, now=clock.now)


def test_an_invalid_reply_raises_contract_error_and_sends_nothing(
    client: GatewayClient, mock: respx.MockRouter
) -> None:
    route = mock.post(INTAKE).mock(return_value=accepted())
    with pytest.raises(ContractError) as caught:
        client.relay_reinspection(
            "case-1",
            "msg_result",
            applicant_role="merchant",
            applicant_name="杭州某某电器有限公司",
            applied_at=datetime.fromtimestamp(START, UTC),
            application_sha256="not-a-digest",
            reason="对泄漏电流检测有异议",
        )
    assert caught.value.path == "$.data.application_sha256"
    assert route.call_count == 0


NOW = datetime.fromtimestamp(START, UTC)

REPLIES: list[tuple[str, type[Any], dict[str, Any], dict[str, Any]]] = [
    (
        "confirm_order",
        OrderConfirmed,
        {
            "order_no": "T2026001",
            "buyer_account": "buyer_zj01",
            "amount_fen": 19900,
            "paid_at": NOW,
            "shop_id": "shop-1001",
            "listing_snapshot_sha256": SHA,
        },
        {"order_no": "T2026001", "amount_fen": 19900, "shipped_at": None},
    ),
    (
        "declare_records_unavailable",
        RecordsUnavailable,
        {"orders": ("T2026001", "T2026002"), "reason": "订单已超过平台保存期限，记录已删除"},
        {"orders": ["T2026001", "T2026002"], "reason": "订单已超过平台保存期限，记录已删除"},
    ),
    (
        "report_identity",
        MerchantIdentity,
        {
            "shop_id": "shop-1001",
            "legal_name": "杭州某某电器有限公司",
            "address": "杭州市西湖区某路1号",
            "contact": "qa@merchant.example",
            "uscc": "91330100799655058B",
        },
        {"unable": False, "uscc": "91330100799655058B"},
    ),
    (
        "report_identity_unavailable",
        MerchantIdentity,
        {"shop_id": "shop-1001", "reason": "经营者已注销店铺且无法联系"},
        {"unable": True, "unable_reason": "经营者已注销店铺且无法联系", "legal_name": None},
    ),
    (
        "report_takedown",
        TakedownReported,
        {
            "order_type": "takedown.order",
            "measures_taken": ("delete", "block"),
            "listing_ids": ("L-88",),
            "shop_ids": ("shop-1001",),
            "evidence_sha256": (SHA,),
        },
        {"measures_taken": ["delete", "block"], "listing_ids": ["L-88"], "effective_at": NOW, "none_found": False},
    ),
    (
        "report_takedown_none_found",
        TakedownReported,
        {"order_type": "delisting.order", "measures_taken": ("stop_trading_service",), "none_found": True},
        {"none_found": True, "listing_ids": [], "shop_ids": []},
    ),
    (
        "relay_reinspection",
        ReinspectionApplied,
        {
            "applicant_role": "manufacturer",
            "applicant_name": "佛山某某电器制造有限公司",
            "applied_at": NOW,
            "application_sha256": SHA,
            "reason": "对检测方法有异议",
        },
        {"applicant_role": "manufacturer", "applicant_uscc": None},
    ),
]


@pytest.mark.parametrize(("method", "message_class", "arguments", "expected"), REPLIES, ids=[r[0] for r in REPLIES])
def test_each_reply_method_sends_its_typed_message(
    client: GatewayClient,
    mock: respx.MockRouter,
    method: str,
    message_class: type[Any],
    arguments: dict[str, Any],
    expected: dict[str, Any],
) -> None:
    route = mock.post(INTAKE).mock(return_value=accepted())
    receipt = getattr(client, method.removesuffix("_none_found"))("case-1", "msg_notice", **arguments)
    assert isinstance(receipt, ReplyReceipt)
    reply = decode_reply(route.calls.last.request.content)
    assert isinstance(reply, message_class)
    assert (reply.data.case_id, reply.data.in_reply_to, reply.data.platform_id) == ("case-1", "msg_notice", PLATFORM)
    for field, value in expected.items():
        assert getattr(reply.data, field) == value, field


RULE_BREAKS: list[tuple[str, dict[str, Any], str]] = [
    ("declare_records_unavailable", {"orders": ["T2026001", "T2026001"], "reason": "无记录"}, "$.data.orders[1]"),
    (
        "report_takedown",
        {"order_type": "delisting.order", "measures_taken": ["block"], "shop_ids": ["shop-1"], "none_found": True},
        "$.data.none_found",
    ),
    (
        "report_identity",
        {"shop_id": "shop-1001", "legal_name": "某某公司", "address": "杭州市", "contact": "0571-0000000"},
        "$.data.uscc",
    ),
]


@pytest.mark.parametrize(("method", "arguments", "path"), RULE_BREAKS, ids=[r[0] for r in RULE_BREAKS])
def test_a_rule_across_fields_raises_contract_error_naming_the_field(
    client: GatewayClient, mock: respx.MockRouter, method: str, arguments: dict[str, Any], path: str
) -> None:
    route = mock.post(INTAKE).mock(return_value=accepted())
    with pytest.raises(ContractError) as caught:
        getattr(client, method)("case-1", "msg_notice", **arguments)
    assert caught.value.path == path
    assert route.call_count == 0


def test_constructor_refuses_unusable_settings(keys: tuple[str, str]) -> None:
    with pytest.raises(ValueError, match="verify"):
        GatewayClient(BASE, PLATFORM, public_key_of(keys[0]))
    with pytest.raises(ValueError, match="absolute"):
        GatewayClient("gateway.example", PLATFORM, keys[0])
    with pytest.raises(ValueError, match="max_retries"):
        GatewayClient(BASE, PLATFORM, keys[0], max_retries=-1)
    with pytest.raises(ValueError, match="backoff_max"):
        GatewayClient(BASE, PLATFORM, keys[0], backoff_max=float("inf"))
    with httpx.Client() as http, pytest.raises(ValueError, match="not both"):
        GatewayClient(BASE, PLATFORM, keys[0], transport=httpx.MockTransport(lambda _: accepted()), http_client=http)


def test_a_callers_http_client_is_used_and_left_open(keys: tuple[str, str], clock: FakeClock) -> None:
    seen: list[str] = []

    def answer(request: httpx.Request) -> httpx.Response:
        seen.append(str(request.url))
        return accepted()

    with httpx.Client(transport=httpx.MockTransport(answer)) as http:
        gateway = GatewayClient(f"{BASE}/", PLATFORM, keys[0], http_client=http, sleep=clock.sleep, clock=clock)
        gateway.acknowledge("msg_n", "case-1")
        gateway.close()
        assert not http.is_closed
    assert seen == [INTAKE]
    assert gateway.intake_url == INTAKE
    assert gateway.platform_id == PLATFORM


@pytest.mark.parametrize(
    ("header", "expected"),
    [
        (None, None),
        ("0", 0.0),
        ("120", 120.0),
        (" 1.5 ", 1.5),
        (email.utils.formatdate(START + 30, usegmt=True), 30.0),
        (email.utils.formatdate(START - 30, usegmt=True), 0.0),
        ("-5", None),
        ("soon", None),
        ("", None),
    ],
)
def test_parse_retry_after_reads_seconds_and_http_dates(header: str | None, expected: float | None) -> None:
    assert parse_retry_after(header, now=START) == expected


@pytest.mark.parametrize(
    ("header", "expected"),
    [
        ("1.25", 1.25),  # a fraction is outside delay-seconds' grammar, yet means one thing: honoured
        ("0.5", 0.5),
        ("1.", None),
        ("1e3", None),
        ("+5", None),
        ("٣", None),  # non-ASCII digits are not delay-seconds
        ("12345678901", None),  # more than ten digits
    ],
)
def test_parse_retry_after_reads_fractional_seconds_and_refuses_other_numbers(
    header: str, expected: float | None
) -> None:
    assert parse_retry_after(header, now=START) == expected


def test_parse_retry_after_takes_a_date_without_a_zone_as_gmt() -> None:
    later = email.utils.formatdate(START + 90, usegmt=True)  # "Day, DD Mon YYYY HH:MM:SS GMT"
    assert parse_retry_after(later.removesuffix(" GMT"), now=START) == 90.0  # no zone at all
    assert parse_retry_after(later.replace("GMT", "-0000"), now=START) == 90.0  # "-0000": zone unknown
    asctime = time.strftime("%a %b %d %H:%M:%S %Y", time.gmtime(START + 60))  # the obsolete asctime form
    assert parse_retry_after(asctime, now=START) == 60.0
    assert parse_retry_after(later.replace("GMT", "+0800"), now=START - 8 * 3600) == 90.0  # an offset counts


def test_retry_policy_refuses_negative_waits() -> None:
    with pytest.raises(ValueError, match="backoff_base"):
        RetryPolicy(max_retries=1, backoff_base=-1.0, backoff_max=1.0)


def test_importing_the_sdk_leaves_the_http_stack_until_the_client_is_used() -> None:
    code = (
        "import sys, spotcheck.sdk as sdk\n"
        "assert 'httpx' not in sys.modules and 'tenacity' not in sys.modules, 'eager'\n"
        "assert 'GatewayClient' in dir(sdk)\n"
        "assert sdk.GatewayClient.__module__ == 'spotcheck.sdk._client'\n"
        "assert 'httpx' in sys.modules and 'GatewayClient' in vars(sdk)\n"
        "try:\n    sdk.NoSuchName\nexcept AttributeError as e:\n    assert 'NoSuchName' in str(e)\n"
        "else:\n    raise SystemExit('no AttributeError')\n"
    )
    completed = subprocess.run(  # noqa: S603 - our own interpreter, a fixed program
        [sys.executable, "-c", code], capture_output=True, text=True, check=False
    )
    assert completed.returncode == 0, completed.stderr
