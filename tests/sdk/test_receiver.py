"""The Receiver: every answer it gives, handler registration and dispatch, dedupe and concurrency."""

from __future__ import annotations

import asyncio
import json
import logging
import sqlite3
import subprocess
import sys
import threading
import time
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any

import pytest

from spotcheck.schemas import (
    AuthorityRef,
    DelistingOrder,
    DelistingOrderData,
    NoticeAcknowledged,
    ReinspectionDecision,
    ReinspectionDecisionData,
    encode_message,
)
from spotcheck.sdk import (
    DedupeStore,
    Delivery,
    MemoryDedupeStore,
    Receiver,
    ReceiverResponse,
    SqliteDedupeStore,
    Webhook,
    generate_keypair,
    generate_secret,
)

SECRET = generate_secret()
SIGNER = Webhook(SECRET)
CST = timezone(timedelta(hours=8))
ZJ_AMR = AuthorityRef(code="330000", name="浙江省市场监督管理局", level="provincial")
ZJ_AMR_JSON = {"code": "330000", "name": "浙江省市场监督管理局", "level": "provincial"}


def delisting_order() -> DelistingOrder:
    issued = datetime(2025, 11, 20, 10, tzinfo=CST)
    return DelistingOrder(
        timestamp=issued,
        data=DelistingOrderData(
            case_id="ZJ-2025-0001",
            authority=ZJ_AMR,
            issued_at=issued,
            sample_name="儿童羽绒服",
            trademark="暖暖",
            spec_model="110cm",
            hazardous=True,
            mandatory_standard="GB 31701-2015",
            list_published_at=issued,
        ),
    )


def reinspection_decision() -> ReinspectionDecision:
    issued = datetime(2025, 11, 21, 9, tzinfo=CST)
    return ReinspectionDecision(
        timestamp=issued,
        data=ReinspectionDecisionData(
            case_id="ZJ-2025-0001",
            authority=ZJ_AMR,
            issued_at=issued,
            application_id="RA-0001",
            decision="accepted",
            reason="申请在复检期限内提出，材料齐全。",
        ),
    )


DELISTING = encode_message(delisting_order())
REINSPECTION = encode_message(reinspection_decision())


def signed(
    body: bytes, msg_id: str = "msg_1", *, timestamp: int | None = None, signer: Webhook = SIGNER
) -> dict[str, str]:
    return signer.headers(msg_id, body, timestamp=timestamp)


def with_data(body: bytes, **changes: Any) -> bytes:
    document = json.loads(body)
    document["data"].update(changes)
    return json.dumps(document, ensure_ascii=False).encode()


class Calls:
    """Records handler calls, optionally failing the first ``fail`` of them."""

    def __init__(self, fail: int = 0) -> None:
        self.fail = fail
        self.seen: list[tuple[Any, Delivery]] = []
        self.threads: list[int] = []

    def __call__(self, notice: Any, delivery: Delivery) -> None:
        self.seen.append((notice, delivery))
        self.threads.append(threading.get_ident())
        if len(self.seen) <= self.fail:
            raise RuntimeError("catalogue service unavailable: secret-internal-detail")


# Answers


async def test_a_signed_notice_is_processed_once_and_its_duplicate_is_answered_without_the_handler() -> None:
    receiver = Receiver(SECRET)
    calls = Calls()
    receiver.on(DelistingOrder)(calls)
    headers = signed(DELISTING)

    first = await receiver.handle(DELISTING, headers)
    second = await receiver.handle(DELISTING, signed(DELISTING))

    assert (first.status, first.json()) == (200, {"status": "processed"})
    assert (second.status, second.json()) == (200, {"status": "duplicate"})
    assert first.headers["content-type"] == "application/json"
    assert len(calls.seen) == 1
    notice, delivery = calls.seen[0]
    assert notice == delisting_order()
    assert delivery.message_id == "msg_1"
    assert delivery.timestamp == int(headers["webhook-timestamp"])
    assert delivery.message_type == "delisting.order"
    assert delivery.body == DELISTING
    assert delivery.headers is headers


def test_handle_sync_answers_as_handle_does() -> None:
    receiver = Receiver(SECRET)
    calls = Calls()
    receiver.on("delisting.order")(calls)

    assert receiver.handle_sync(DELISTING, signed(DELISTING)).json() == {"status": "processed"}
    assert receiver.handle_sync(DELISTING, signed(DELISTING)).json() == {"status": "duplicate"}
    assert len(calls.seen) == 1
    assert calls.threads == [threading.get_ident()]


@pytest.mark.parametrize(
    ("headers", "detail"),
    [
        pytest.param(lambda: signed(DELISTING, signer=Webhook(generate_secret())), "no signature matches", id="bad"),
        pytest.param(
            lambda: {k: v for k, v in signed(DELISTING).items() if k != "webhook-signature"},
            "the webhook headers are missing or malformed",
            id="missing",
        ),
        pytest.param(dict, "the webhook headers are missing or malformed", id="no-headers"),
        pytest.param(
            lambda: signed(DELISTING, timestamp=int(time.time()) - 3600),
            "the message timestamp is outside the accepted window",
            id="stale",
        ),
        pytest.param(
            lambda: signed(DELISTING, timestamp=int(time.time()) + 3600),
            "the message timestamp is outside the accepted window",
            id="future",
        ),
        pytest.param(
            lambda: {**signed(DELISTING), "webhook-signature": "v1,not base64!"},
            "the webhook headers are missing or malformed",
            id="malformed",
        ),
    ],
)
async def test_a_delivery_failing_verification_is_401_naming_only_the_class_of_failure(
    headers: Any, detail: str, caplog: pytest.LogCaptureFixture
) -> None:
    receiver = Receiver(SECRET)
    calls = Calls()
    receiver.on(DelistingOrder)(calls)

    with caplog.at_level(logging.WARNING, logger="spotcheck.sdk.receiver"):
        answer = await receiver.handle(DELISTING, headers())

    assert answer.status == 401
    assert answer.headers["content-type"] == "application/problem+json"
    assert answer.json() == {
        "type": "urn:spotcheck:problem:bad-signature",
        "title": "Unauthorized",
        "status": 401,
        "detail": detail,
    }
    assert calls.seen == []
    assert "refused a delivery" in caplog.text  # the exact reason goes to the log, not to the sender


async def test_a_body_altered_after_signing_is_refused() -> None:
    receiver = Receiver(SECRET)
    receiver.on(DelistingOrder)(Calls())
    headers = signed(DELISTING)

    answer = await receiver.handle(DELISTING.replace(b"110cm", b"120cm"), headers)

    assert answer.status == 401


async def test_ed25519_public_keys_verify_and_rotation_accepts_either_key() -> None:
    signing_key, public_key = generate_keypair()
    receiver = Receiver([SECRET, public_key])
    receiver.on(DelistingOrder)(Calls())

    assert (await receiver.handle(DELISTING, signed(DELISTING, "msg_a", signer=Webhook(signing_key)))).status == 200
    assert (await receiver.handle(DELISTING, signed(DELISTING, "msg_b"))).status == 200


async def test_header_names_match_in_any_case() -> None:
    receiver = Receiver(SECRET)
    calls = Calls()
    receiver.on(DelistingOrder)(calls)
    headers = {name.title(): value for name, value in signed(DELISTING).items()}

    answer = await receiver.handle(DELISTING, headers)

    assert answer.status == 200
    assert calls.seen[0][1].message_id == "msg_1"


def test_werkzeug_headers_which_are_no_mapping_are_read_too() -> None:
    from werkzeug.datastructures import Headers

    receiver = Receiver(SECRET)
    calls = Calls()
    receiver.on(DelistingOrder)(calls)
    headers = Headers([(name.title(), value) for name, value in signed(DELISTING).items()])

    assert receiver.handle_sync(DELISTING, headers).status == 200
    assert calls.seen[0][1].headers["webhook-id"] == "msg_1"

    headers.add("Webhook-Id", "msg_2")  # a repeated name is joined, and so refused
    assert receiver.handle_sync(DELISTING, headers).status == 401


def test_headers_that_cannot_be_read_are_a_401() -> None:
    class Unreadable:
        def items(self) -> list[tuple[str, str]]:
            raise TypeError("not today")

    receiver = Receiver(SECRET)
    receiver.on(DelistingOrder)(Calls())

    assert receiver.handle_sync(DELISTING, Unreadable()).status == 401


async def test_a_body_over_the_limit_is_413_before_any_verification() -> None:
    receiver = Receiver(SECRET, max_body_bytes=len(DELISTING) - 1)
    calls = Calls()
    receiver.on(DelistingOrder)(calls)

    answer = await receiver.handle(DELISTING, signed(DELISTING))

    assert answer.status == 413
    assert answer.json()["type"] == "urn:spotcheck:problem:too-large"
    assert calls.seen == []
    assert receiver.handle_sync(DELISTING, {}).status == 413


@pytest.mark.parametrize(
    ("body", "path"),
    [
        (with_data(DELISTING, hazardous=False), "$.data.hazardous"),
        (with_data(DELISTING, trademark=""), "$.data.trademark"),
        (
            with_data(DELISTING, authority={"code": "12345", "name": "x", "level": "provincial"}),
            "$.data.authority.code",
        ),
    ],
)
async def test_an_invalid_notice_of_a_handled_type_is_400_naming_the_field(body: bytes, path: str) -> None:
    receiver = Receiver(SECRET)
    calls = Calls()
    receiver.on(DelistingOrder)(calls)

    answer = await receiver.handle(body, signed(body))

    assert answer.status == 400
    problem = answer.json()
    assert problem["type"] == "urn:spotcheck:problem:invalid-notice"
    assert problem["detail"].startswith(f"{path}: ")
    assert problem["errors"][0]["field"] == path
    assert calls.seen == []


async def test_a_missing_field_is_named() -> None:
    receiver = Receiver(SECRET)
    receiver.on(DelistingOrder)(Calls())
    document = json.loads(DELISTING)
    del document["data"]["spec_model"]
    body = json.dumps(document).encode()

    answer = await receiver.handle(body, signed(body))

    assert answer.status == 400
    assert answer.json()["errors"] == [
        {"field": "$.data.spec_model", "reason": "Object missing required field `spec_model`"}
    ]


async def test_signed_malformed_json_is_400_at_the_root_once_someone_handles_everything() -> None:
    receiver = Receiver(SECRET)
    receiver.on_any(Calls())
    body = b'{"type": "delisting.order", '

    answer = await receiver.handle(body, signed(body))

    assert answer.status == 400
    assert answer.json()["errors"][0]["field"] == "$"


@pytest.mark.parametrize(
    "body",
    [
        b'{"type": "case.reopened", "timestamp": "2025-11-20T10:00:00+08:00", "data": {"whatever": 1}}',
        b'{"type": "notice.acknowledged", "timestamp": "2025-11-20T10:00:00+08:00", "data": {}}',
        REINSPECTION,
        with_data(REINSPECTION, decision="maybe"),
    ],
    ids=["unknown-type", "reply-type", "unhandled-type", "invalid-unhandled-type"],
)
async def test_a_type_nobody_handles_is_200_unhandled_so_the_gateway_stops_retrying(body: bytes) -> None:
    receiver = Receiver(SECRET)
    calls = Calls()
    receiver.on(DelistingOrder)(calls)

    answer = await receiver.handle(body, signed(body))

    assert (answer.status, answer.json()) == (200, {"status": "unhandled"})
    assert calls.seen == []


async def test_a_failing_handler_is_500_generic_then_the_retry_runs_it_again(caplog: pytest.LogCaptureFixture) -> None:
    receiver = Receiver(SECRET)
    calls = Calls(fail=1)
    receiver.on(DelistingOrder)(calls)

    with caplog.at_level(logging.ERROR, logger="spotcheck.sdk.receiver"):
        failed = await receiver.handle(DELISTING, signed(DELISTING))
    retried = await receiver.handle(DELISTING, signed(DELISTING))
    again = await receiver.handle(DELISTING, signed(DELISTING))

    assert failed.status == 500
    assert failed.json() == {
        "type": "urn:spotcheck:problem:internal",
        "title": "Internal Server Error",
        "status": 500,
        "detail": "the notice could not be processed; it will be accepted again on retry",
    }
    assert b"secret-internal-detail" not in failed.body
    assert "secret-internal-detail" in caplog.text
    errors = [record for record in caplog.records if record.levelno == logging.ERROR]
    assert len(errors) == 1
    assert errors[0].exc_info is not None
    assert (retried.status, retried.json()) == (200, {"status": "processed"})
    assert again.json() == {"status": "duplicate"}
    assert len(calls.seen) == 2


def test_a_failing_sync_handler_is_500_then_the_retry_runs_it_again() -> None:
    receiver = Receiver(SECRET)
    calls = Calls(fail=1)
    receiver.on(DelistingOrder)(calls)

    assert receiver.handle_sync(DELISTING, signed(DELISTING)).status == 500
    assert receiver.handle_sync(DELISTING, signed(DELISTING)).status == 200
    assert receiver.handle_sync(DELISTING, signed(DELISTING)).json() == {"status": "duplicate"}
    assert len(calls.seen) == 2


# Handlers


async def test_async_handlers_are_awaited_and_sync_ones_run_in_a_worker_thread() -> None:
    receiver = Receiver(SECRET)
    awaited: list[str] = []
    sync_calls = Calls()

    @receiver.on(DelistingOrder)
    async def delist(order: DelistingOrder, delivery: Delivery) -> None:
        await asyncio.sleep(0)
        awaited.append(order.data.trademark)

    receiver.on(ReinspectionDecision)(sync_calls)

    assert (await receiver.handle(DELISTING, signed(DELISTING, "msg_a"))).status == 200
    assert (await receiver.handle(REINSPECTION, signed(REINSPECTION, "msg_b"))).status == 200

    assert awaited == ["暖暖"]
    assert len(sync_calls.seen) == 1
    assert sync_calls.threads != [threading.get_ident()]


async def test_an_object_with_an_async_call_is_an_async_handler() -> None:
    class Handler:
        def __init__(self) -> None:
            self.ids: list[str] = []

        async def __call__(self, notice: Any, delivery: Delivery) -> None:
            self.ids.append(delivery.message_id)

    receiver = Receiver(SECRET)
    handler = Handler()
    receiver.on(DelistingOrder)(handler)

    assert (await receiver.handle(DELISTING, signed(DELISTING))).status == 200
    assert handler.ids == ["msg_1"]
    with pytest.raises(TypeError, match="is async"):
        receiver.wsgi_app()


async def test_the_catch_all_gets_every_type_without_a_handler_of_its_own() -> None:
    receiver = Receiver(SECRET)
    specific = Calls()
    catch_all = Calls()
    receiver.on(DelistingOrder)(specific)
    receiver.on_any(catch_all)

    await receiver.handle(DELISTING, signed(DELISTING, "msg_a"))
    await receiver.handle(REINSPECTION, signed(REINSPECTION, "msg_b"))

    assert [d.message_type for _, d in specific.seen] == ["delisting.order"]
    assert [d.message_type for _, d in catch_all.seen] == ["reinspection.decision"]
    assert catch_all.seen[0][0] == reinspection_decision()


def test_registration_refuses_unknown_types_replies_and_second_handlers() -> None:
    receiver = Receiver(SECRET)
    receiver.on(DelistingOrder)(Calls())
    receiver.on_any(Calls())

    with pytest.raises(ValueError, match=r"unknown notice type 'delisting\.orders'"):
        receiver.on("delisting.orders")
    with pytest.raises(ValueError, match="NoticeAcknowledged is not a notice class"):
        receiver.on(NoticeAcknowledged)  # type: ignore[type-var]
    with pytest.raises(ValueError, match=r"unknown notice type 'notice\.acknowledged'"):
        receiver.on("notice.acknowledged")
    with pytest.raises(TypeError, match="expected a notice class or type string"):
        receiver.on(42)  # type: ignore[call-overload]
    with pytest.raises(ValueError, match="already has a handler"):
        receiver.on("delisting.order")
    with pytest.raises(ValueError, match="catch-all handler is already registered"):
        receiver.on_any(Calls())
    with pytest.raises(TypeError, match="must be callable"):
        receiver.on(ReinspectionDecision)("not a function")  # type: ignore[arg-type]


def test_the_decorator_returns_the_function_unchanged() -> None:
    receiver = Receiver(SECRET)

    def handler(order: DelistingOrder, delivery: Delivery) -> None:
        return None

    assert receiver.on(DelistingOrder)(handler) is handler
    assert "delisting.order" in repr(receiver)


def test_handle_sync_refuses_an_async_handler_and_leaves_the_message_unclaimed() -> None:
    receiver = Receiver(SECRET)

    @receiver.on(DelistingOrder)
    async def delist(order: DelistingOrder, delivery: Delivery) -> None:
        return None

    with pytest.raises(TypeError, match=r"handler .*delist is async and cannot run under handle_sync"):
        receiver.handle_sync(DELISTING, signed(DELISTING))
    assert receiver.dedupe.claim("msg_1") is True


def test_handle_sync_refuses_a_plain_function_that_returns_a_coroutine() -> None:
    receiver = Receiver(SECRET)

    async def work() -> None:
        return None

    receiver.on(DelistingOrder)(lambda order, delivery: work())

    with pytest.raises(TypeError, match="is async"):
        receiver.handle_sync(DELISTING, signed(DELISTING))
    assert receiver.dedupe.claim("msg_1") is True


async def test_handle_awaits_what_a_plain_function_returns() -> None:
    receiver = Receiver(SECRET)
    done: list[str] = []

    async def work(delivery: Delivery) -> None:
        done.append(delivery.message_id)

    receiver.on(DelistingOrder)(lambda order, delivery: work(delivery))

    assert (await receiver.handle(DELISTING, signed(DELISTING))).status == 200
    assert done == ["msg_1"]


def test_handle_refuses_a_body_that_is_not_bytes() -> None:
    receiver = Receiver(SECRET)
    with pytest.raises(TypeError, match="body must be bytes"):
        receiver.handle_sync(DELISTING.decode(), {})  # type: ignore[arg-type]


@pytest.mark.parametrize("limit", [0, -1, True, 1.5])
def test_the_body_limit_must_be_a_positive_integer(limit: Any) -> None:
    with pytest.raises(ValueError, match="max_body_bytes"):
        Receiver(SECRET, max_body_bytes=limit)


def test_a_bad_key_is_refused_without_repeating_it() -> None:
    with pytest.raises(ValueError, match="key #1") as caught:
        Receiver("whsec_tooshort")
    assert "tooshort" not in str(caught.value)


# Concurrency and stores


async def test_a_concurrent_delivery_of_the_same_id_does_not_run_the_handler_and_is_409() -> None:
    receiver = Receiver(SECRET)
    started = asyncio.Event()
    proceed = asyncio.Event()
    runs: list[str] = []

    @receiver.on(DelistingOrder)
    async def delist(order: DelistingOrder, delivery: Delivery) -> None:
        runs.append(delivery.message_id)
        started.set()
        await proceed.wait()

    first = asyncio.create_task(receiver.handle(DELISTING, signed(DELISTING)))
    await started.wait()
    concurrent = await receiver.handle(DELISTING, signed(DELISTING))
    proceed.set()
    finished = await first
    later = await receiver.handle(DELISTING, signed(DELISTING))

    assert concurrent.status == 409
    assert concurrent.json()["type"] == "urn:spotcheck:problem:in-progress"
    assert concurrent.headers["retry-after"] == "30"
    assert finished.json() == {"status": "processed"}
    assert later.json() == {"status": "duplicate"}
    assert runs == ["msg_1"]


def test_concurrent_sync_deliveries_over_two_sqlite_connections_run_the_handler_once(tmp_path: Path) -> None:
    path = tmp_path / "dedupe.sqlite3"
    stores = [SqliteDedupeStore(path), SqliteDedupeStore(path)]
    receivers = [Receiver(SECRET, dedupe=store) for store in stores]
    runs: list[str] = []
    lock = threading.Lock()

    def handler(order: DelistingOrder, delivery: Delivery) -> None:
        with lock:
            runs.append(delivery.message_id)
        time.sleep(0.01)  # widen the window in which a second run could start

    for receiver in receivers:
        receiver.on(DelistingOrder)(handler)
    barrier = threading.Barrier(8)
    answers: list[ReceiverResponse] = []

    def deliver(receiver: Receiver) -> None:
        barrier.wait()
        answer = receiver.handle_sync(DELISTING, signed(DELISTING))
        with lock:
            answers.append(answer)

    threads = [threading.Thread(target=deliver, args=(receivers[i % 2],)) for i in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    for store in stores:
        store.close()

    assert runs == ["msg_1"]
    assert {a.status for a in answers} <= {200, 409}
    assert sum(a.json() == {"status": "processed"} for a in answers) == 1


async def test_an_async_receiver_on_sqlite_remembers_across_a_restart(tmp_path: Path) -> None:
    path = tmp_path / "dedupe.sqlite3"
    calls = Calls()
    with SqliteDedupeStore(path) as store:
        receiver = Receiver(SECRET, dedupe=store)
        receiver.on(DelistingOrder)(calls)
        assert (await receiver.handle(DELISTING, signed(DELISTING))).json() == {"status": "processed"}
    with SqliteDedupeStore(path) as store:
        restarted = Receiver(SECRET, dedupe=store)
        restarted.on(DelistingOrder)(calls)
        assert (await restarted.handle(DELISTING, signed(DELISTING))).json() == {"status": "duplicate"}
    assert len(calls.seen) == 1


class BrokenStore:
    """A store whose every call fails, as a database that went away would."""

    def __init__(self, fail_on: set[str]) -> None:
        self.fail_on = fail_on
        self.inner = MemoryDedupeStore()

    def _maybe_fail(self, name: str) -> None:
        if name in self.fail_on:
            raise sqlite3.OperationalError("database is locked")

    def claim(self, message_id: str) -> bool:
        self._maybe_fail("claim")
        return self.inner.claim(message_id)

    def complete(self, message_id: str) -> None:
        self._maybe_fail("complete")
        self.inner.complete(message_id)

    def release(self, message_id: str) -> None:
        self._maybe_fail("release")
        self.inner.release(message_id)

    def is_complete(self, message_id: str) -> bool:
        self._maybe_fail("is_complete")
        return self.inner.is_complete(message_id)


async def test_a_failing_store_is_503_with_retry_after_and_the_handler_does_not_run() -> None:
    store = BrokenStore({"claim"})
    assert isinstance(store, DedupeStore)
    receiver = Receiver(SECRET, dedupe=store)
    calls = Calls()
    receiver.on(DelistingOrder)(calls)

    answer = await receiver.handle(DELISTING, signed(DELISTING))
    sync_answer = receiver.handle_sync(DELISTING, signed(DELISTING))

    assert answer.status == sync_answer.status == 503
    assert answer.headers["retry-after"] == "5"
    assert calls.seen == []


async def test_a_store_failing_after_the_handler_still_answers_200(caplog: pytest.LogCaptureFixture) -> None:
    receiver = Receiver(SECRET, dedupe=BrokenStore({"complete"}))
    receiver.on(DelistingOrder)(Calls())

    with caplog.at_level(logging.ERROR, logger="spotcheck.sdk.receiver"):
        answer = await receiver.handle(DELISTING, signed(DELISTING))
        sync_answer = receiver.handle_sync(DELISTING, signed(DELISTING, "msg_2"))

    assert answer.json() == sync_answer.json() == {"status": "processed"}
    assert "could not be recorded" in caplog.text


async def test_a_store_failing_to_release_still_answers_500(caplog: pytest.LogCaptureFixture) -> None:
    receiver = Receiver(SECRET, dedupe=BrokenStore({"release"}))
    receiver.on(DelistingOrder)(Calls(fail=2))

    with caplog.at_level(logging.ERROR, logger="spotcheck.sdk.receiver"):
        assert (await receiver.handle(DELISTING, signed(DELISTING))).status == 500
        assert receiver.handle_sync(DELISTING, signed(DELISTING, "msg_2")).status == 500

    assert "could not release message msg_1" in caplog.text


async def test_a_cancelled_handler_releases_its_claim() -> None:
    receiver = Receiver(SECRET)
    started = asyncio.Event()

    @receiver.on(DelistingOrder)
    async def delist(order: DelistingOrder, delivery: Delivery) -> None:
        started.set()
        await asyncio.Event().wait()

    task = asyncio.create_task(receiver.handle(DELISTING, signed(DELISTING)))
    await started.wait()
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task

    assert receiver.dedupe.claim("msg_1") is True


def test_the_default_store_is_in_memory() -> None:
    receiver = Receiver(SECRET)
    assert isinstance(receiver.dedupe, MemoryDedupeStore)
    assert receiver.max_body_bytes == 1024 * 1024


# Packaging


def test_importing_the_sdk_pulls_in_no_web_framework_orm_or_logging_library() -> None:
    code = (
        "import sys, spotcheck.sdk\n"
        "banned = {'litestar', 'flask', 'django', 'fastapi', 'starlette', 'werkzeug', 'sqlalchemy', 'structlog'}\n"
        "print(sorted(name for name in sys.modules if name.split('.')[0] in banned))\n"
    )
    command = [sys.executable, "-c", code]
    result = subprocess.run(command, capture_output=True, text=True, check=True, timeout=60)  # noqa: S603 - fixed code
    assert result.stdout.strip() == "[]"
