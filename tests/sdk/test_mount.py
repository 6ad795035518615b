"""The receiver's framework-free ASGI and WSGI apps: method, media type, size cap, and the receiver's answers."""

from __future__ import annotations

import io
import json
import threading
import wsgiref.util
import wsgiref.validate
from collections.abc import Iterable, MutableMapping
from datetime import datetime, timedelta, timezone
from typing import Any

import httpx
import pytest

from spotcheck.schemas import AuthorityRef, DelistingOrder, DelistingOrderData, encode_message
from spotcheck.sdk import Delivery, Receiver, Webhook, generate_secret

SECRET = generate_secret()
SIGNER = Webhook(SECRET)
CST = timezone(timedelta(hours=8))


def delisting_body() -> bytes:
    issued = datetime(2025, 11, 20, 10, tzinfo=CST)
    return encode_message(
        DelistingOrder(
            timestamp=issued,
            data=DelistingOrderData(
                case_id="ZJ-2025-0001",
                authority=AuthorityRef(code="330000", name="浙江省市场监督管理局", level="provincial"),
                issued_at=issued,
                sample_name="儿童羽绒服",
                trademark="暖暖",
                spec_model="110cm",
                hazardous=True,
                mandatory_standard="GB 31701-2015",
                list_published_at=issued,
            ),
        )
    )


BODY = delisting_body()


def signed(msg_id: str = "msg_1", body: bytes = BODY) -> dict[str, str]:
    return {**SIGNER.headers(msg_id, body), "content-type": "application/json"}


def make_receiver(*, fail: bool = False, max_body_bytes: int = 1024 * 1024) -> tuple[Receiver, list[str]]:
    receiver = Receiver(SECRET, max_body_bytes=max_body_bytes)
    seen: list[str] = []

    @receiver.on(DelistingOrder)
    def delist(order: DelistingOrder, delivery: Delivery) -> None:
        seen.append(delivery.message_id)
        if fail:
            raise RuntimeError("catalogue down")

    return receiver, seen


# ASGI


def asgi_client(receiver: Receiver) -> httpx.AsyncClient:
    return httpx.AsyncClient(transport=httpx.ASGITransport(app=receiver.asgi_app()), base_url="http://platform")


async def test_asgi_processes_a_signed_notice_then_answers_its_duplicate() -> None:
    receiver, seen = make_receiver()
    async with asgi_client(receiver) as client:
        first = await client.post("/webhooks/spotcheck", content=BODY, headers=signed())
        second = await client.post("/webhooks/spotcheck", content=BODY, headers=signed())

    assert (first.status_code, first.json()) == (200, {"status": "processed"})
    assert first.headers["content-type"] == "application/json"
    assert (second.status_code, second.json()) == (200, {"status": "duplicate"})
    assert seen == ["msg_1"]


@pytest.mark.parametrize(
    ("method", "headers", "status", "code"),
    [
        ("GET", {}, 405, "method-not-allowed"),
        ("PUT", signed(), 405, "method-not-allowed"),
        ("POST", {**signed(), "content-type": "text/plain"}, 415, "unsupported-media-type"),
        ("POST", {k: v for k, v in signed().items() if k != "content-type"}, 415, "unsupported-media-type"),
        ("POST", {**signed(), "webhook-signature": "v1,AAAA"}, 401, "bad-signature"),
    ],
)
async def test_asgi_refuses_what_the_receiver_must_not_see(
    method: str, headers: dict[str, str], status: int, code: str
) -> None:
    receiver, seen = make_receiver()
    async with asgi_client(receiver) as client:
        answer = await client.request(method, "/", content=BODY, headers=headers)

    assert answer.status_code == status
    assert answer.headers["content-type"] == "application/problem+json"
    assert answer.json()["type"] == f"urn:spotcheck:problem:{code}"
    assert seen == []
    if status == 405:
        assert answer.headers["allow"] == "POST"


async def test_asgi_accepts_json_with_parameters() -> None:
    receiver, _ = make_receiver()
    async with asgi_client(receiver) as client:
        answer = await client.post(
            "/", content=BODY, headers={**signed(), "content-type": "Application/JSON; charset=utf-8"}
        )
    assert answer.status_code == 200


async def test_asgi_failing_handler_is_500_and_the_retry_runs_it_again() -> None:
    receiver, seen = make_receiver(fail=True)
    async with asgi_client(receiver) as client:
        failed = await client.post("/", content=BODY, headers=signed())
        retried = await client.post("/", content=BODY, headers=signed())

    assert failed.status_code == retried.status_code == 500
    assert seen == ["msg_1", "msg_1"]


class AsgiExchange:
    """Drives the ASGI app by hand to see how much of the body it reads."""

    def __init__(self, messages: Iterable[dict[str, Any]]) -> None:
        self._messages = iter(messages)
        self.received = 0
        self.sent: list[MutableMapping[str, Any]] = []

    async def receive(self) -> dict[str, Any]:
        self.received += 1
        return next(self._messages)

    async def send(self, message: MutableMapping[str, Any]) -> None:
        self.sent.append(message)

    @property
    def status(self) -> int:
        return int(self.sent[0]["status"])

    @property
    def body(self) -> Any:
        return json.loads(self.sent[1]["body"])


def http_scope(headers: dict[str, str], method: str = "POST") -> dict[str, Any]:
    return {
        "type": "http",
        "asgi": {"version": "3.0"},
        "http_version": "1.1",
        "method": method,
        "path": "/",
        "headers": [(k.encode("latin-1"), v.encode("latin-1")) for k, v in headers.items()],
    }


def endless_body(chunk: bytes) -> Iterable[dict[str, Any]]:
    while True:
        yield {"type": "http.request", "body": chunk, "more_body": True}


async def test_asgi_refuses_an_announced_oversize_body_without_reading_it() -> None:
    receiver, _ = make_receiver(max_body_bytes=1000)
    exchange = AsgiExchange(endless_body(b"x" * 100))

    await receiver.asgi_app()(http_scope({**signed(), "content-length": "1001"}), exchange.receive, exchange.send)

    assert exchange.status == 413
    assert exchange.body["type"] == "urn:spotcheck:problem:too-large"
    assert exchange.received == 0


async def test_asgi_stops_reading_an_unannounced_body_once_it_passes_the_cap() -> None:
    receiver, _ = make_receiver(max_body_bytes=1000)
    exchange = AsgiExchange(endless_body(b"x" * 100))

    await receiver.asgi_app()(http_scope(signed()), exchange.receive, exchange.send)

    assert exchange.status == 413
    assert exchange.received == 11


async def test_asgi_reads_a_body_sent_in_chunks() -> None:
    receiver, seen = make_receiver()
    half = len(BODY) // 2
    exchange = AsgiExchange(
        [
            {"type": "http.request", "body": BODY[:half], "more_body": True},
            {"type": "http.request", "body": BODY[half:], "more_body": False},
        ]
    )

    await receiver.asgi_app()(http_scope(signed()), exchange.receive, exchange.send)

    assert exchange.status == 200
    assert seen == ["msg_1"]


@pytest.mark.parametrize("length", ["-1", "12abc", "1\u00b2", "+5", "1_000"])
async def test_asgi_refuses_an_unreadable_content_length(length: str) -> None:
    receiver, _ = make_receiver()
    exchange = AsgiExchange([])

    await receiver.asgi_app()(http_scope({**signed(), "content-length": length}), exchange.receive, exchange.send)

    assert exchange.status == 400
    assert exchange.body["type"] == "urn:spotcheck:problem:bad-content-length"


async def test_asgi_sends_nothing_when_the_client_leaves_mid_body() -> None:
    receiver, seen = make_receiver()
    exchange = AsgiExchange(
        [{"type": "http.request", "body": BODY[:10], "more_body": True}, {"type": "http.disconnect"}]
    )

    await receiver.asgi_app()(http_scope(signed()), exchange.receive, exchange.send)

    assert exchange.sent == []
    assert seen == []


async def test_asgi_joins_a_repeated_signature_header_and_so_refuses_it() -> None:
    receiver, seen = make_receiver()
    scope = http_scope(signed())
    scope["headers"].append((b"webhook-signature", SIGNER.sign("msg_1", 0, BODY).encode()))
    exchange = AsgiExchange([{"type": "http.request", "body": BODY, "more_body": False}])

    await receiver.asgi_app()(scope, exchange.receive, exchange.send)

    assert exchange.status == 401
    assert seen == []


async def test_asgi_answers_the_lifespan_protocol_and_closes_websockets() -> None:
    app = make_receiver()[0].asgi_app()
    lifespan = AsgiExchange([{"type": "lifespan.startup"}, {"type": "lifespan.shutdown"}])
    await app({"type": "lifespan", "asgi": {"version": "3.0"}}, lifespan.receive, lifespan.send)
    websocket = AsgiExchange([{"type": "websocket.connect"}])
    await app({"type": "websocket", "path": "/"}, websocket.receive, websocket.send)

    assert lifespan.sent == [{"type": "lifespan.startup.complete"}, {"type": "lifespan.shutdown.complete"}]
    assert websocket.sent == [{"type": "websocket.close", "code": 1003}]
    with pytest.raises(ValueError, match="unsupported ASGI scope type"):
        await app({"type": "telepathy"}, lifespan.receive, lifespan.send)


# WSGI


class CountingInput(io.BytesIO):
    """A wsgi.input that counts the bytes taken from it."""

    def __init__(self, data: bytes) -> None:
        super().__init__(data)
        self.taken = 0

    def read(self, size: int | None = -1) -> bytes:
        chunk = super().read(size)
        self.taken += len(chunk)
        return chunk


def call_wsgi(
    receiver: Receiver,
    body: bytes,
    headers: dict[str, str],
    *,
    method: str = "POST",
    announce_length: bool = True,
    terminated: bool = False,
) -> tuple[str, dict[str, str], bytes, CountingInput]:
    environ: dict[str, Any] = {"REQUEST_METHOD": method, "QUERY_STRING": ""}
    wsgiref.util.setup_testing_defaults(environ)
    stream = CountingInput(body)
    environ["wsgi.input"] = stream
    if announce_length:
        environ["CONTENT_LENGTH"] = str(len(body))
    if terminated:
        environ["wsgi.input_terminated"] = True
    for name, value in headers.items():
        if name == "content-type":
            environ["CONTENT_TYPE"] = value
        else:
            environ["HTTP_" + name.upper().replace("-", "_")] = value
    answer: dict[str, Any] = {}

    def start_response(status: str, response_headers: list[tuple[str, str]], exc_info: Any = None) -> Any:
        answer["status"] = status
        answer["headers"] = dict(response_headers)
        return lambda data: None

    # wsgiref.validate checks the app keeps to PEP 3333 (str headers, iterable body, no hop-by-hop headers).
    app = wsgiref.validate.validator(receiver.wsgi_app())
    result = app(environ, start_response)
    try:
        content = b"".join(result)
    finally:
        result.close()  # type: ignore[attr-defined]
    return answer["status"], answer["headers"], content, stream


def test_wsgi_processes_a_signed_notice_then_answers_its_duplicate() -> None:
    receiver, seen = make_receiver()

    status, headers, content, _ = call_wsgi(receiver, BODY, signed())
    again = call_wsgi(receiver, BODY, signed())

    assert status == "200 OK"
    assert headers["content-type"] == "application/json"
    assert json.loads(content) == {"status": "processed"}
    assert json.loads(again[2]) == {"status": "duplicate"}
    assert seen == ["msg_1"]


@pytest.mark.parametrize(
    ("method", "headers", "status"),
    [
        ("GET", {}, "405 Method Not Allowed"),
        ("POST", {**signed(), "content-type": "application/xml"}, "415 Unsupported Media Type"),
        ("POST", {**signed(), "webhook-id": "msg_other"}, "401 Unauthorized"),
    ],
)
def test_wsgi_refuses_what_the_receiver_must_not_see(method: str, headers: dict[str, str], status: str) -> None:
    receiver, seen = make_receiver()

    answer = call_wsgi(receiver, BODY, headers, method=method)

    assert answer[0] == status
    assert answer[1]["content-type"] == "application/problem+json"
    assert seen == []


def test_wsgi_refuses_an_announced_oversize_body_without_reading_it() -> None:
    receiver, _ = make_receiver(max_body_bytes=100)

    status, _, content, stream = call_wsgi(receiver, BODY, signed())

    assert status == "413 Request Entity Too Large"
    assert json.loads(content)["type"] == "urn:spotcheck:problem:too-large"
    assert stream.taken == 0


def test_wsgi_stops_reading_a_terminated_stream_once_it_passes_the_cap() -> None:
    receiver, _ = make_receiver(max_body_bytes=100)

    status, _, _, stream = call_wsgi(receiver, b"x" * 100_000, signed(), announce_length=False, terminated=True)

    assert status.startswith("413")
    assert stream.taken == 101


def test_wsgi_reads_a_terminated_stream_without_length() -> None:
    receiver, seen = make_receiver()

    status, _, _, _ = call_wsgi(receiver, BODY, signed(), announce_length=False, terminated=True)

    assert status == "200 OK"
    assert seen == ["msg_1"]


def test_wsgi_refuses_a_body_of_unknown_length_it_may_not_read() -> None:
    receiver, _ = make_receiver()

    status, _, _, stream = call_wsgi(receiver, BODY, signed(), announce_length=False)

    assert status == "411 Length Required"
    assert stream.taken == 0


def test_wsgi_failing_handler_is_500_and_the_retry_runs_it_again() -> None:
    receiver, seen = make_receiver(fail=True)

    assert call_wsgi(receiver, BODY, signed())[0] == "500 Internal Server Error"
    assert call_wsgi(receiver, BODY, signed())[0] == "500 Internal Server Error"
    assert seen == ["msg_1", "msg_1"]


def test_wsgi_app_refuses_a_receiver_with_async_handlers() -> None:
    receiver = Receiver(SECRET)

    @receiver.on(DelistingOrder)
    async def delist(order: DelistingOrder, delivery: Delivery) -> None:
        return None

    with pytest.raises(TypeError, match="cannot run under handle_sync/wsgi_app"):
        receiver.wsgi_app()


def test_wsgi_serves_threads_concurrently_with_one_run_per_id() -> None:
    receiver = Receiver(SECRET)
    inside = threading.Event()
    proceed = threading.Event()
    seen: list[str] = []

    @receiver.on(DelistingOrder)
    def delist(order: DelistingOrder, delivery: Delivery) -> None:
        seen.append(delivery.message_id)
        inside.set()
        proceed.wait(timeout=10)

    first: list[str] = []
    thread = threading.Thread(target=lambda: first.append(call_wsgi(receiver, BODY, signed())[0]))
    thread.start()
    assert inside.wait(timeout=10)
    concurrent = call_wsgi(receiver, BODY, signed())
    proceed.set()
    thread.join()

    assert concurrent[0] == "409 Conflict"
    assert concurrent[1]["retry-after"] == "30"
    assert first == ["200 OK"]
    assert seen == ["msg_1"]


def test_the_apps_name_their_receiver() -> None:
    receiver, _ = make_receiver()
    assert receiver.asgi_app().receiver is receiver
    assert "Receiver" in repr(receiver.wsgi_app())
    assert "AsgiApp" in repr(receiver.asgi_app())
