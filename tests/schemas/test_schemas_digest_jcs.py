"""Digests over JSON are SHA-256 of RFC 8785 (JCS) of the JSON as sent; earlier SDK digests still verify.

The expected canonical forms are written out by hand here (not produced by the library under test), so a
platform in another language can compare its own JCS library against them.
"""

from __future__ import annotations

import hashlib
import json
from datetime import UTC, datetime, timedelta, timezone
from typing import Any

import msgspec
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from spotcheck.schemas import (
    ContractError,
    LogEntry,
    RecordsProvided,
    RecordsProvidedData,
    TransactionRecord,
    canonical_digest,
    canonical_json,
    chunk_digest,
    decode_reply,
    encode_message,
    set_digest,
)


def _sha(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


@pytest.mark.parametrize(
    ("value", "canonical"),
    [
        # RFC 8785 §3.2.2.3: numbers in ECMAScript form.
        ([0.0, -0.0, 1.0, 1.5, 1e21, 1e-7, 123456789012.5, 100], b"[0,0,1,1.5,1e+21,1e-7,123456789012.5,100]"),
        # §3.2.3: members sorted by UTF-16 code units, so U+10000 (a surrogate pair, D800…) sorts before U+FFFF.
        ({"\uffff": 1, "\U00010000": 2, "b": 3, "a": 4}, '{"a":4,"b":3,"\U00010000":2,"\uffff":1}'.encode()),
        # §3.2.2.2: only ", \\ and control characters are escaped; everything else is UTF-8 as is.
        (['a"b\\c\n\x01\x7fé美/\u2028'], '["a\\"b\\\\c\\n\\u0001\x7fé美/\u2028"]'.encode()),
        ({"z": None, "y": True, "x": [False]}, b'{"x":[false],"y":true,"z":null}'),
        # Beyond 2^53 - 1 an integer is the double a JSON parser (JavaScript, Go) reads it as.
        ([2**53 - 1, 2**53 + 1], b"[9007199254740991,9007199254740992]"),
    ],
)
def test_canonical_json_is_rfc_8785(value: Any, canonical: bytes) -> None:
    assert canonical_json(value) == canonical
    assert canonical_digest(value) == _sha(canonical)


@pytest.mark.parametrize("value", [float("nan"), float("inf"), 10**400, "\ud800", {1: "a"}])
def test_what_jcs_cannot_represent_is_a_value_error(value: Any) -> None:
    with pytest.raises(ValueError, match=r"."):
        canonical_json(value)


# A platform written in Go, as JSON text: members in its own order, white space, optional members left out,
# timestamps with fractional seconds, an escaped CJK string, a member this version does not know (a decimal).
GO_RECORDS = """[
  {"shop_id": "s-1", "order_no": "T1", "item_title": "\\u63d2\\u5ea7", "quantity": 1, "amount_fen": 100,
   "status": "completed", "created_at": "2026-10-01T08:00:00.250+08:00", "weight_kg": 1.50}
]"""
GO_LOGS = """[{"at": "2026-10-01T00:00:01Z", "actor": "sys", "action": "order.pay"}]"""
# Its JCS form, written by hand: sorted members, no white space, 1.50 → 1.5, the CJK as UTF-8.
GO_CANONICAL = (
    '{"logs":[{"action":"order.pay","actor":"sys","at":"2026-10-01T00:00:01Z"}],'
    '"records":[{"amount_fen":100,"created_at":"2026-10-01T08:00:00.250+08:00","item_title":"插座",'
    '"order_no":"T1","quantity":1,"shop_id":"s-1","status":"completed","weight_kg":1.5}]}'
).encode()


def go_body(chunk_sha256: str) -> bytes:
    """A records.provided body as the Go platform writes it."""
    return f"""{{"type": "records.provided", "timestamp": "2026-10-01T08:00:02.5+08:00",
  "data": {{"case_id": "ZJ-1", "in_reply_to": "msg_1", "platform_id": "go-mall", "upload_id": "u-1",
    "chunk_index": 0, "chunk_count": 1, "chunk_sha256": "{chunk_sha256}",
    "set_sha256": "{set_digest([chunk_sha256])}",
    "records": {GO_RECORDS}, "logs": {GO_LOGS}}}}}""".encode()


def test_a_platform_in_another_language_hashes_what_it_writes() -> None:
    assert canonical_json({"records": json.loads(GO_RECORDS), "logs": json.loads(GO_LOGS)}) == GO_CANONICAL
    message = decode_reply(go_body(_sha(GO_CANONICAL)))
    assert isinstance(message, RecordsProvided)
    assert message.data.records[0].item_title == "插座"


def test_a_digest_of_the_re_encoded_structs_is_refused() -> None:
    """What the gateway used to compute (omitted members as null, timestamps re-formatted) is not the contract."""
    message = decode_reply(go_body(_sha(GO_CANONICAL)))
    assert isinstance(message, RecordsProvided)
    re_encoded = chunk_digest(message.data.records, message.data.logs)
    assert re_encoded != _sha(GO_CANONICAL)
    with pytest.raises(ContractError) as refused:
        decode_reply(go_body(re_encoded))
    assert refused.value.path == "$.data.chunk_sha256"


def _old_chunk_digest(records: list[TransactionRecord], logs: list[LogEntry]) -> str:
    """The chunk digest of SDK 0.1.0, frozen here as released: json.dumps with sorted keys over the structs."""
    value = msgspec.to_builtins({"records": list(records), "logs": list(logs)})
    text = json.dumps(value, ensure_ascii=False, sort_keys=True, separators=(",", ":"), allow_nan=False)
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


_TEXT = st.text(st.characters(exclude_categories=("Cs",)), min_size=1, max_size=12)
_IDENTIFIER = st.from_regex(r"[A-Za-z0-9][A-Za-z0-9._:-]{0,20}", fullmatch=True)
_TIME = st.builds(
    lambda seconds, micro, offset: (
        datetime(2026, 1, 1, tzinfo=timezone(timedelta(minutes=offset)))
        + timedelta(seconds=seconds, microseconds=micro)
    ),
    st.integers(0, 10**8),
    st.sampled_from([0, 250_000, 123_456]),
    st.sampled_from([0, 480, -300]),
)
_RECORDS = st.lists(
    st.builds(
        TransactionRecord,
        order_no=_IDENTIFIER,
        shop_id=_IDENTIFIER,
        item_title=_TEXT,
        quantity=st.integers(1, 1_000_000),
        amount_fen=st.integers(0, 1_000_000_000_000),
        status=_IDENTIFIER,
        created_at=_TIME,
        buyer_account=st.none() | _TEXT,
        paid_at=st.none() | _TIME,
    ),
    max_size=4,
)
_LOGS = st.lists(st.builds(LogEntry, at=_TIME, actor=_TEXT, action=_IDENTIFIER, detail=st.none() | _TEXT), max_size=4)


@settings(max_examples=150, deadline=None)
@given(records=_RECORDS, logs=_LOGS)
def test_digests_of_earlier_sdk_releases_are_the_same_bytes_and_still_verify(
    records: list[TransactionRecord], logs: list[LogEntry]
) -> None:
    """Compatibility without a second algorithm: on every value a chunk carries, the old form is JCS."""
    old = _old_chunk_digest(records, logs)
    assert chunk_digest(records, logs) == old
    message = RecordsProvided(
        timestamp=datetime(2026, 10, 1, tzinfo=UTC),
        data=RecordsProvidedData(
            case_id="ZJ-1",
            in_reply_to="msg_1",
            platform_id="p",
            upload_id="u-1",
            chunk_index=0,
            chunk_count=1,
            chunk_sha256=old,
            set_sha256=set_digest([old]),
            records=records,
            logs=logs,
        ),
    )
    assert decode_reply(encode_message(message)) == message


def test_an_unknown_member_with_a_huge_number_is_refused_not_a_crash() -> None:
    body = go_body(_sha(GO_CANONICAL)).replace(b'"weight_kg": 1.50', b'"weight_kg": 1' + b"0" * 400)
    with pytest.raises(ContractError) as refused:
        decode_reply(body)
    assert refused.value.path == "$.data"
