"""GatewayClient.provide_records: chunk digests and order, resume without resending, failure mid-way."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from datetime import datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import httpx
import pytest
import respx

from spotcheck.schemas import LogEntry, RecordsProvided, TransactionRecord, chunk_digest, decode_reply, set_digest
from spotcheck.sdk import (
    ChunkError,
    GatewayClient,
    InvalidRequestError,
    ServerError,
    UploadState,
    Webhook,
    generate_keypair,
)

BASE = "https://gateway.example.gov.cn"
PLATFORM = "tmall-test"
INTAKE = f"{BASE}/v1/intake/{PLATFORM}"
T0 = datetime(2026, 3, 2, 9, 30, tzinfo=ZoneInfo("Asia/Shanghai"))


def record(i: int) -> TransactionRecord:
    return TransactionRecord(
        order_no=f"T{i:07d}",
        shop_id="shop-1001",
        item_title="电热水壶",
        quantity=1,
        amount_fen=19900,
        status="completed",
        created_at=T0 + timedelta(minutes=i),
    )


def log(i: int) -> LogEntry:
    return LogEntry(at=T0 + timedelta(seconds=i), actor="system", action="order.pay", subject=f"T{i:07d}")


class FakeIntake:
    """The gateway's chunk bookkeeping in miniature: verifies, decodes, stores, answers like the real intake."""

    def __init__(self, public_key: str) -> None:
        self.verifier = Webhook(public_key)
        self.chunks: dict[tuple[str, int], str] = {}
        self.received: list[RecordsProvided] = []
        self.fail: Callable[[RecordsProvided], httpx.Response | None] = lambda _: None

    def __call__(self, request: httpx.Request) -> httpx.Response:
        self.verifier.verify(request.content, request.headers)
        message = decode_reply(request.content)  # checks chunk_sha256 against the records and logs sent
        assert isinstance(message, RecordsProvided)
        failure = self.fail(message)
        if failure is not None:
            return failure
        self.received.append(message)
        data = message.data
        key = (data.upload_id, data.chunk_index)
        detail: dict[str, Any] = {"upload_id": data.upload_id, "chunk": data.chunk_index, "of": data.chunk_count}
        if key in self.chunks:
            detail["already_had"] = True
        self.chunks[key] = data.chunk_sha256
        detail["received"] = sum(1 for upload, _ in self.chunks if upload == data.upload_id)
        body = {"status": "accepted", "id": f"in_{len(self.received)}", "type": "records.provided", "detail": detail}
        return httpx.Response(200, json=body, headers={"x-request-id": f"req-{len(self.received)}"})

    def indexes(self) -> list[int]:
        return [message.data.chunk_index for message in self.received]


@pytest.fixture
def keys() -> tuple[str, str]:
    return generate_keypair()


@pytest.fixture
def intake(keys: tuple[str, str]) -> Iterator[FakeIntake]:
    fake = FakeIntake(keys[1])
    with respx.mock(assert_all_called=False) as router:
        router.post(INTAKE).mock(side_effect=fake)
        yield fake


@pytest.fixture
def sleeps() -> list[float]:
    return []


@pytest.fixture
def client(keys: tuple[str, str], sleeps: list[float]) -> Iterator[GatewayClient]:
    with GatewayClient(BASE, PLATFORM, keys[0], max_retries=1, sleep=sleeps.append) as gateway:
        yield gateway


def test_chunks_go_in_order_with_their_digests_and_the_set_digest(client: GatewayClient, intake: FakeIntake) -> None:
    records = [record(i) for i in range(25)]
    logs = [log(i) for i in range(12)]
    receipt = client.provide_records("case-1", "msg_req", records, logs, chunk_size=10, upload_id="upl-1")
    assert intake.indexes() == [0, 1, 2]
    expected_digests = [
        chunk_digest(records[0:10], logs[0:10]),
        chunk_digest(records[10:20], logs[10:12]),
        chunk_digest(records[20:25], []),
    ]
    for message, digest in zip(intake.received, expected_digests, strict=True):
        data = message.data
        assert (data.case_id, data.in_reply_to, data.platform_id) == ("case-1", "msg_req", PLATFORM)
        assert (data.upload_id, data.chunk_count) == ("upl-1", 3)
        assert data.chunk_sha256 == digest
        assert data.set_sha256 == set_digest(expected_digests)
    assert [len(m.data.records) for m in intake.received] == [10, 10, 5]
    assert [len(m.data.logs) for m in intake.received] == [10, 2, 0]
    assert receipt.upload_id == "upl-1"
    assert receipt.set_sha256 == set_digest(expected_digests)
    assert receipt.chunk_count == 3
    assert receipt.complete
    assert receipt.skipped == 0
    assert [sent.request_id for sent in receipt.sent] == ["req-1", "req-2", "req-3"]
    assert len({sent.webhook_id for sent in receipt.sent}) == 3  # each chunk is its own logical call


def test_a_generator_source_uploads_the_same_set(client: GatewayClient, intake: FakeIntake) -> None:
    from_list = client.provide_records("case-1", "msg_req", [record(i) for i in range(7)], [], chunk_size=3)
    from_generator = client.provide_records("case-1", "msg_req", (record(i) for i in range(7)), iter([]), chunk_size=3)
    assert from_generator.set_sha256 == from_list.set_sha256
    assert from_generator.upload_id != from_list.upload_id
    assert from_generator.upload_id.startswith("upl_")


def test_an_empty_set_is_sent_as_one_empty_chunk(client: GatewayClient, intake: FakeIntake) -> None:
    receipt = client.provide_records("case-1", "msg_req", [], [])
    [message] = intake.received
    assert (message.data.chunk_index, message.data.chunk_count, message.data.records) == (0, 1, [])
    assert receipt.complete


def test_failure_mid_way_then_resume_sends_only_the_rest(
    client: GatewayClient, intake: FakeIntake, sleeps: list[float]
) -> None:
    records = [record(i) for i in range(9)]
    persisted: list[bytes] = []
    intake.fail = lambda message: httpx.Response(503) if message.data.chunk_index == 1 else None
    state = UploadState(upload_id="upl-2", case_id="case-1", in_reply_to="msg_req", chunk_size=3)
    with pytest.raises(ServerError):
        client.provide_records(
            "case-1", "msg_req", records, [], state=state, on_progress=lambda s: persisted.append(s.to_json())
        )
    assert intake.indexes() == [0]
    assert state.accepted == {0}
    assert len(sleeps) == 1  # chunk 1 was retried once (max_retries=1) before giving up
    assert len(persisted) == 1

    # The process "crashes"; a new one reads the persisted state and resumes.
    intake.fail = lambda _: None
    resumed = UploadState.from_json(persisted[-1])
    receipt = client.provide_records("case-1", "msg_req", iter(records), [], state=resumed)
    assert intake.indexes() == [0, 1, 2]
    assert receipt.skipped == 1
    assert [sent.detail["chunk"] for sent in receipt.sent] == [1, 2]
    assert receipt.complete
    assert resumed.complete
    assert {m.data.set_sha256 for m in intake.received} == {resumed.set_sha256}


def test_a_chunk_the_gateway_already_had_counts_as_accepted(client: GatewayClient, intake: FakeIntake) -> None:
    records = [record(i) for i in range(4)]
    client.provide_records("case-1", "msg_req", records, [], chunk_size=2, upload_id="upl-3")
    # The answer to the last chunk was lost: a fresh state resends everything and the gateway says "already had".
    again = client.provide_records("case-1", "msg_req", records, [], chunk_size=2, upload_id="upl-3")
    assert again.complete
    assert [sent.detail.get("already_had") for sent in again.sent] == [True, True]


def test_resuming_a_complete_upload_sends_nothing(client: GatewayClient, intake: FakeIntake) -> None:
    records = [record(i) for i in range(4)]
    state = UploadState(upload_id="upl-4", case_id="case-1", in_reply_to="msg_req", chunk_size=2)
    client.provide_records("case-1", "msg_req", records, [], state=state)
    receipt = client.provide_records("case-1", "msg_req", records, [], state=state)
    assert intake.indexes() == [0, 1]
    assert (receipt.sent, receipt.skipped, receipt.complete) == ((), 2, True)


def test_resuming_with_other_records_raises_chunk_error_and_sends_nothing(
    client: GatewayClient, intake: FakeIntake
) -> None:
    state = UploadState(upload_id="upl-5", case_id="case-1", in_reply_to="msg_req", chunk_size=2)
    intake.fail = lambda _: httpx.Response(503)
    with pytest.raises(ServerError):
        client.provide_records("case-1", "msg_req", [record(i) for i in range(4)], [], state=state)
    intake.fail = lambda _: None
    with pytest.raises(ChunkError, match="chunk 1 differs"):
        client.provide_records("case-1", "msg_req", [record(0), record(1), record(2), record(7)], [], state=state)
    assert intake.received == []


def test_a_state_for_another_call_is_refused(client: GatewayClient, intake: FakeIntake) -> None:
    state = UploadState(upload_id="upl-6", case_id="case-1", in_reply_to="msg_req", chunk_size=2)
    with pytest.raises(ValueError, match="case_id"):
        client.provide_records("case-2", "msg_req", [], [], state=state)
    with pytest.raises(ValueError, match="upload_id, chunk_size"):
        client.provide_records("case-1", "msg_req", [], [], state=state, upload_id="upl-7", chunk_size=3)
    assert intake.received == []


def test_a_refused_chunk_stops_the_upload_with_the_gateways_reason(client: GatewayClient, intake: FakeIntake) -> None:
    refusal = {
        "type": "urn:spotcheck:problem:invalid-field",
        "title": "Invalid field",
        "status": 409,
        "detail": "$.data.upload_id: chunk_count, set_sha256 or case differ from earlier chunks of this upload",
        "errors": [{"field": "$.data.upload_id", "reason": "differ"}],
    }
    intake.fail = lambda _: httpx.Response(409, json=refusal, headers={"content-type": "application/problem+json"})
    state = UploadState(upload_id="upl-8", case_id="case-1", in_reply_to="msg_req", chunk_size=2)
    with pytest.raises(InvalidRequestError) as caught:
        client.provide_records("case-1", "msg_req", [record(i) for i in range(4)], [], state=state)
    assert caught.value.code == "invalid-field"
    assert "$.data.upload_id" in (caught.value.detail or "")
    assert state.accepted == set()
