"""Record chunking: the two passes, the spool for one-shot iterators, and the resumable upload state."""

from __future__ import annotations

import re
from collections.abc import Iterator
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

import msgspec
import pytest

from spotcheck.schemas import LogEntry, TransactionRecord, chunk_digest, set_digest
from spotcheck.sdk import ChunkError, UploadState, _chunks
from spotcheck.sdk._chunks import RecordChunks, new_upload_id

SHANGHAI = ZoneInfo("Asia/Shanghai")
T0 = datetime(2026, 3, 2, 9, 30, tzinfo=SHANGHAI)


def record(i: int) -> TransactionRecord:
    return TransactionRecord(
        order_no=f"T{i:07d}",
        shop_id="shop-1001",
        item_title=f"电热水壶 {i}",
        quantity=1 + i % 3,
        amount_fen=19900 + i,
        status="completed",
        created_at=T0 + timedelta(minutes=i),
        paid_at=T0 + timedelta(minutes=i, seconds=30, microseconds=i),
    )


def log(i: int) -> LogEntry:
    return LogEntry(at=T0 + timedelta(seconds=i), actor="system", action="order.pay", subject=f"T{i:07d}")


def records(n: int) -> list[TransactionRecord]:
    return [record(i) for i in range(n)]


def logs(n: int) -> list[LogEntry]:
    return [log(i) for i in range(n)]


def test_chunks_pair_records_and_logs_by_position_and_hash_like_the_contract() -> None:
    with RecordChunks(records(7), logs(3), chunk_size=3) as chunks:
        digests = chunks.digests()
        sent = list(chunks.chunks())
    assert [chunk.index for chunk in sent] == [0, 1, 2]
    assert [len(chunk.records) for chunk in sent] == [3, 3, 1]
    assert [len(chunk.logs) for chunk in sent] == [3, 0, 0]
    assert sent[2].records == [record(6)]
    assert digests == [chunk_digest(chunk.records, chunk.logs) for chunk in sent]
    assert [chunk.sha256 for chunk in sent] == digests


def test_more_logs_than_records_sets_the_chunk_count() -> None:
    with RecordChunks(records(1), logs(5), chunk_size=2) as chunks:
        sent = list(chunks.chunks())
    assert [(len(c.records), len(c.logs)) for c in sent] == [(1, 2), (0, 2), (0, 1)]


def test_an_empty_set_is_one_empty_chunk() -> None:
    with RecordChunks([], [], chunk_size=10) as chunks:
        [only] = list(chunks.chunks())
    assert (only.index, only.records, only.logs) == (0, [], [])
    assert only.sha256 == chunk_digest([], [])


def test_one_shot_iterators_give_the_same_chunks_as_lists_and_keep_offsets() -> None:
    with RecordChunks(records(25), logs(11), chunk_size=4) as from_lists:
        expected = list(from_lists.chunks())
    one_shot_records = (record(i) for i in range(25))
    one_shot_logs = iter(logs(11))
    with RecordChunks(one_shot_records, one_shot_logs, chunk_size=4) as from_iterators:
        got = list(from_iterators.chunks())
    assert got == expected
    # Read back from the spool, the timestamps keep their +08:00 offset, so they hash as first written.
    assert got[0].records[0].created_at.utcoffset() == timedelta(hours=8)


def test_the_spool_file_is_removed_on_close() -> None:
    chunks = RecordChunks(iter(records(5)), [], chunk_size=2)
    chunks.digests()
    spool = chunks._spool
    assert spool is not None
    assert not spool.closed
    chunks.close()
    assert spool.closed
    assert chunks._spool is None


class Counting:
    """A re-iterable source that counts the passes made over it."""

    def __init__(self, n: int) -> None:
        self.n = n
        self.passes = 0

    def __iter__(self) -> Iterator[TransactionRecord]:
        self.passes += 1
        return iter(records(self.n))


def test_a_re_iterable_source_is_not_spooled_and_is_read_exactly_twice() -> None:
    source = Counting(5)
    with RecordChunks(source, logs(5), chunk_size=2) as chunks:
        chunks.digests()
        assert chunks._spool is None
        assert source.passes == 1
        assert len(list(chunks.chunks())) == 3
    assert source.passes == 2


def test_skipped_chunks_are_not_yielded() -> None:
    with RecordChunks(records(10), [], chunk_size=3) as chunks:
        assert [chunk.index for chunk in chunks.chunks(skip={0, 2})] == [1, 3]


class Drifting:
    """A re-iterable source whose second pass differs from its first, like a table written to meanwhile."""

    def __init__(self) -> None:
        self.passes = 0

    def __iter__(self) -> Iterator[TransactionRecord]:
        self.passes += 1
        return iter(records(4) if self.passes == 1 else [*records(3), record(99)])


def test_a_source_that_changes_between_passes_raises_chunk_error() -> None:
    with RecordChunks(Drifting(), [], chunk_size=2) as chunks:
        iterator = chunks.chunks()
        assert next(iterator).index == 0
        with pytest.raises(ChunkError, match="chunk 1 changed"):
            next(iterator)


class Growing:
    """A re-iterable source that has more chunks on its second pass."""

    def __init__(self) -> None:
        self.passes = 0

    def __iter__(self) -> Iterator[TransactionRecord]:
        self.passes += 1
        return iter(records(2 if self.passes == 1 else 5))


def test_a_source_that_grows_between_passes_raises_chunk_error() -> None:
    with RecordChunks(Growing(), [], chunk_size=2) as chunks, pytest.raises(ChunkError, match="more than the 1 chunks"):
        list(chunks.chunks())


@pytest.mark.parametrize("size", [0, -1, 5001, True, 2.5])
def test_chunk_size_must_be_in_range(size: object) -> None:
    with pytest.raises(ValueError, match="chunk_size"):
        RecordChunks([], [], chunk_size=size)  # type: ignore[arg-type]


def test_too_many_chunks_are_refused_before_anything_is_sent(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(_chunks, "MAX_CHUNK_COUNT", 3)
    with RecordChunks(records(7), [], chunk_size=2) as chunks, pytest.raises(ChunkError, match="more than 3 chunks"):
        chunks.digests()


def test_new_upload_ids_are_unique_identifiers() -> None:
    first, second = new_upload_id(), new_upload_id()
    assert first != second
    assert re.fullmatch(r"upl_[0-9A-HJKMNP-TV-Z]{26}", first)


def planned_state() -> UploadState:
    state = UploadState(upload_id="upl_1", case_id="case-1", in_reply_to="msg_req", chunk_size=2)
    with RecordChunks(records(5), [], chunk_size=2) as chunks:
        state.adopt(chunks.digests())
    return state


def test_adopting_a_plan_fills_count_digests_and_set_digest() -> None:
    state = planned_state()
    assert state.planned
    assert state.chunk_count == 3
    assert state.set_sha256 == set_digest(state.chunk_digests)
    assert not state.complete
    state.accepted.update({0, 1, 2})
    assert state.complete


def test_the_state_round_trips_through_json_with_sorted_indexes() -> None:
    state = planned_state()
    state.accepted.update({2, 0})
    data = state.to_json()
    assert msgspec.json.decode(data)["accepted"] == [0, 2]
    assert UploadState.from_json(data) == state
    assert UploadState.from_json(data.decode()) == state


def test_a_plan_for_other_records_is_refused() -> None:
    state = planned_state()
    with RecordChunks(records(4), [], chunk_size=2) as chunks, pytest.raises(ChunkError, match="3 chunks"):
        state.adopt(chunks.digests())
    with (
        RecordChunks([*records(4), record(50)], [], chunk_size=2) as chunks,
        pytest.raises(ChunkError, match="chunk 2"),
    ):
        state.adopt(chunks.digests())


def test_the_same_plan_is_adopted_again_unchanged() -> None:
    state = planned_state()
    before = state.to_json()
    with RecordChunks(iter(records(5)), [], chunk_size=2) as chunks:
        state.adopt(chunks.digests())
    assert state.to_json() == before


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({"set_sha256": "0" * 64}, "set_sha256 does not match"),
        ({"chunk_count": 4}, "4 but 3 digests"),
        ({"accepted": [3]}, "index 3 is outside"),
        ({"chunk_size": 0}, "chunk_size"),
        ({"chunk_digests": ["X" * 64, "0" * 64, "0" * 64]}, "not 64 lower-case hex"),
    ],
)
def test_an_inconsistent_persisted_state_is_refused(change: dict[str, object], message: str) -> None:
    raw = msgspec.json.decode(planned_state().to_json())
    raw.update(change)
    with pytest.raises(ChunkError, match=message):
        UploadState.from_json(msgspec.json.encode(raw))


def test_an_unplanned_state_must_be_empty() -> None:
    raw = {"upload_id": "u", "case_id": "c", "in_reply_to": "n", "chunk_size": 2, "accepted": [0]}
    with pytest.raises(ChunkError, match="unplanned"):
        UploadState.from_json(msgspec.json.encode(raw))


def test_garbage_is_not_a_state() -> None:
    with pytest.raises(ChunkError, match="not a valid upload state"):
        UploadState.from_json(b'{"upload_id": 1}')
