"""Chunk and set digests of records.provided: defined independently of Python, verified on decode."""

from __future__ import annotations

import hashlib
import json
from datetime import UTC, datetime
from typing import Any

import msgspec
import pytest

from spotcheck.schemas import (
    ContractError,
    LogEntry,
    Message,
    RecordsProvided,
    RecordsProvidedData,
    TransactionRecord,
    chunk_digest,
    decode_reply,
    encode_message,
    set_digest,
)


def _sha(text: str) -> str:
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


def test_chunk_digest_of_empty_chunk() -> None:
    assert chunk_digest([], []) == _sha('{"logs":[],"records":[]}')


def test_chunk_digest_is_sha256_of_canonical_json_written_by_hand() -> None:
    log = msgspec.json.decode(
        b'{"at":"2025-11-01T09:05:00+08:00","actor":"\xe4\xb9\xb0\xe5\xae\xb6","action":"order.pay"}', type=LogEntry
    )
    # Keys sorted by code point, no white space, UTF-8 unescaped, absent optional fields as null.
    canonical = (
        '{"logs":[{"action":"order.pay","actor":"买家","at":"2025-11-01T09:05:00+08:00",'
        '"detail":null,"source_ip":null,"subject":null}],"records":[]}'
    )
    assert chunk_digest([], [log]) == _sha(canonical)


def test_control_characters_are_escaped_as_in_rfc_8785() -> None:
    log = LogEntry(at=datetime(2025, 11, 1, 1, 5, tzinfo=UTC), actor="x", action="a", detail='a"b\\c\n\x01\x7fé')
    canonical = (
        '{"logs":[{"action":"a","actor":"x","at":"2025-11-01T01:05:00Z",'
        '"detail":"a\\"b\\\\c\\n\\u0001\x7fé","source_ip":null,"subject":null}],"records":[]}'
    )
    assert chunk_digest([], [log]) == _sha(canonical)


def test_set_digest_concatenates_chunk_digests_in_order() -> None:
    first, second = _sha("a"), _sha("b")
    assert set_digest([first, second]) == _sha(first + second)
    assert set_digest([first, second]) != set_digest([second, first])


@pytest.mark.parametrize("digests", [[], ["ABC"], ["0" * 63], ["A" * 64]])
def test_set_digest_rejects_bad_input(digests: list[str]) -> None:
    with pytest.raises(ValueError, match="chunk digest"):
        set_digest(digests)


def _chunks(records: list[TransactionRecord], logs: list[LogEntry], size: int) -> list[RecordsProvided]:
    """Split a record set into chunks of ``size`` records (logs travel with the first chunk)."""
    parts = [records[i : i + size] for i in range(0, len(records), size)]
    digests = [chunk_digest(part, logs if index == 0 else []) for index, part in enumerate(parts)]
    whole = set_digest(digests)
    return [
        RecordsProvided(
            timestamp=records[0].created_at,
            data=RecordsProvidedData(
                case_id="ZJ-2025-0001",
                in_reply_to="msg_records_request_1",
                platform_id="tmall",
                upload_id="up-20251106-01",
                chunk_index=index,
                chunk_count=len(parts),
                chunk_sha256=digests[index],
                set_sha256=whole,
                records=part,
                logs=logs if index == 0 else [],
            ),
        )
        for index, part in enumerate(parts)
    ]


def test_a_chunked_set_decodes_and_adds_up(samples: dict[str, Message]) -> None:
    template = samples["records.provided"].data
    assert isinstance(template, RecordsProvidedData)
    records = [
        msgspec.structs.replace(template.records[0], order_no=f"T20251101-{n:04d}", amount_fen=100 * n)
        for n in range(1, 8)
    ]
    chunks = _chunks(records, list(template.logs), size=3)
    received = [decode_reply(encode_message(chunk)) for chunk in chunks]
    assert [c.data.chunk_index for c in received] == [0, 1, 2]  # type: ignore[union-attr]
    digests = [c.data.chunk_sha256 for c in received]  # type: ignore[union-attr]
    assert all(c.data.set_sha256 == set_digest(digests) for c in received)  # type: ignore[union-attr]
    assert [r for c in received for r in c.data.records] == records  # type: ignore[union-attr]


def _records_body(samples: dict[str, Message]) -> dict[str, Any]:
    raw: dict[str, Any] = json.loads(encode_message(samples["records.provided"]))
    return raw


def test_tampered_records_fail_the_chunk_digest(samples: dict[str, Message]) -> None:
    raw = _records_body(samples)
    raw["data"]["records"][0]["amount_fen"] = 1
    with pytest.raises(ContractError) as caught:
        decode_reply(json.dumps(raw, ensure_ascii=False).encode())
    assert caught.value.path == "$.data.chunk_sha256"
    assert "mismatch" in caught.value.reason


def test_digest_covers_the_values_as_sent_by_another_language(samples: dict[str, Message]) -> None:
    # A Java sender writes fractional seconds its own way and a field this version does not know yet;
    # it hashes what it sends, so the chunk verifies although a re-encoding would differ.
    raw = _records_body(samples)
    record = raw["data"]["records"][0]
    record["paid_at"] = "2025-11-01T09:05:00.5+08:00"
    record["coupon_fen"] = 500
    content = {"records": raw["data"]["records"], "logs": raw["data"]["logs"]}
    raw["data"]["chunk_sha256"] = _sha(json.dumps(content, ensure_ascii=False, sort_keys=True, separators=(",", ":")))
    message = decode_reply(json.dumps(raw, ensure_ascii=False, indent=1).encode())
    assert isinstance(message, RecordsProvided)
    assert message.data.records[0].paid_at is not None
    assert message.data.records[0].paid_at.microsecond == 500_000


def test_digest_is_checked_only_after_the_structure(samples: dict[str, Message]) -> None:
    raw = _records_body(samples)
    raw["data"]["chunk_sha256"] = "0" * 64
    raw["data"]["upload_id"] = "bad id"
    with pytest.raises(ContractError) as caught:
        decode_reply(json.dumps(raw).encode())
    assert caught.value.path == "$.data.upload_id"


@pytest.mark.parametrize(("number", "path"), [(b"1e400", "$.data.records[0][...]"), (b"NaN", None)])
def test_unrepresentable_unknown_members_are_contract_errors(
    samples: dict[str, Message], number: bytes, path: str | None
) -> None:
    body = encode_message(samples["records.provided"]).replace(
        b'"logistics_no"', b'"weight":' + number + b',"logistics_no"'
    )
    with pytest.raises(ContractError) as caught:
        decode_reply(body)
    assert caught.value.path == path
