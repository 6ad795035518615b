"""Decoding and encoding: round trips, the one error type, paths of structural and cross-field failures."""

from __future__ import annotations

import json
from datetime import timedelta
from typing import Any

import msgspec
import pytest

from spotcheck.schemas import (
    MESSAGE_TYPES,
    NOTICE_TYPES,
    REPLY_TYPES,
    ContractError,
    Message,
    Notice,
    NoticeData,
    Reply,
    ReplyData,
    SamplingNotice,
    decode_message,
    decode_notice,
    decode_reply,
    encode_message,
    message_type_of,
)


def test_type_maps_partition_the_catalog() -> None:
    assert set(NOTICE_TYPES).isdisjoint(REPLY_TYPES)
    assert dict(MESSAGE_TYPES) == {**NOTICE_TYPES, **REPLY_TYPES}
    assert len(NOTICE_TYPES) == 13  # deadline.reminder (五(三)) joined the notices
    assert len(REPLY_TYPES) == 7  # records.unavailable (三(一)) joined the replies
    with pytest.raises(TypeError):
        MESSAGE_TYPES["x"] = SamplingNotice  # type: ignore[index]


@pytest.mark.parametrize("type_name", list(MESSAGE_TYPES))
def test_round_trip(samples: dict[str, Message], type_name: str) -> None:
    message = samples[type_name]
    body = encode_message(message)
    assert decode_message(body) == message
    assert message_type_of(message) == type_name
    assert isinstance(message, MESSAGE_TYPES[type_name])
    if type_name in NOTICE_TYPES:
        assert decode_notice(body) == message
        assert isinstance(message.data, NoticeData)
    else:
        assert decode_reply(body) == message
        assert isinstance(message.data, ReplyData)


@pytest.mark.parametrize("type_name", list(MESSAGE_TYPES))
def test_body_is_a_standard_webhooks_envelope(samples: dict[str, Message], type_name: str) -> None:
    body = encode_message(samples[type_name])
    raw = json.loads(body)
    assert list(raw) == ["type", "timestamp", "data"]
    assert raw["type"] == type_name
    assert raw["timestamp"].endswith("+08:00")
    assert body == msgspec.json.encode(raw)  # compact: no white space between tokens
    assert body == encode_message(decode_message(body))  # deterministic


def test_encoding_is_compact_utf8(samples: dict[str, Message]) -> None:
    body = encode_message(samples["notice.acknowledged"])
    assert body.startswith(b'{"type":"notice.acknowledged","timestamp":"2025-11-05T10:01:00+08:00","data":{')
    assert "浙江".encode() in encode_message(samples["sampling.notice"])


def test_notice_decoder_rejects_a_reply_type(samples: dict[str, Message]) -> None:
    with pytest.raises(ContractError) as caught:
        decode_notice(encode_message(samples["notice.acknowledged"]))
    assert caught.value.path == "$.type"
    with pytest.raises(ContractError) as caught:
        decode_reply(encode_message(samples["sampling.notice"]))
    assert caught.value.path == "$.type"


def test_unknown_type_names_dollar_type(samples: dict[str, Message]) -> None:
    raw = json.loads(encode_message(samples["sampling.notice"]))
    raw["type"] = "sampling.revoked"
    with pytest.raises(ContractError) as caught:
        decode_message(json.dumps(raw).encode())
    assert caught.value.path == "$.type"
    assert "sampling.revoked" in caught.value.reason
    assert str(caught.value) == f"{caught.value.reason} - at `$.type`"


def test_missing_type_names_dollar_type() -> None:
    with pytest.raises(ContractError) as caught:
        decode_message(b'{"timestamp":"2025-11-05T10:00:00+08:00","data":{}}')
    assert caught.value.path == "$.type"


def test_missing_field_names_the_field(samples: dict[str, Message]) -> None:
    raw = json.loads(encode_message(samples["order.confirmed"]))
    del raw["data"]["order_no"]
    with pytest.raises(ContractError) as caught:
        decode_reply(json.dumps(raw).encode())
    assert caught.value.path == "$.data.order_no"
    assert "missing required field" in caught.value.reason


@pytest.mark.parametrize(
    "body",
    [b"", b"{", b'{"type": "sampling.notice",', b"\xff\xfe", b"nul", b'{"a":1,}'],
)
def test_malformed_json_has_no_path(body: bytes) -> None:
    with pytest.raises(ContractError) as caught:
        decode_message(body)
    assert caught.value.path is None
    assert caught.value.reason.startswith("malformed JSON")
    assert str(caught.value) == caught.value.reason


@pytest.mark.parametrize("body", [b"[]", b"42", b'"sampling.notice"', b"null"])
def test_non_object_body_is_a_contract_error(body: bytes) -> None:
    with pytest.raises(ContractError) as caught:
        decode_message(body)
    assert caught.value.path == "$"


def test_contract_error_is_a_value_error() -> None:
    error = ContractError("bad", "$.data.x")
    assert isinstance(error, ValueError)
    assert (error.reason, error.path, str(error)) == ("bad", "$.data.x", "bad - at `$.data.x`")
    assert str(ContractError("bad")) == "bad"


def _edited(message: Message, **changes: Any) -> bytes:
    """Encode a message with some of its data fields replaced (without running its validators)."""
    raw = json.loads(encode_message(message))
    raw["data"].update(changes)
    return json.dumps(raw, ensure_ascii=False).encode()


@pytest.mark.parametrize(
    ("type_name", "changes", "path", "reason"),
    [
        ("sampling.notice", {"respond_by": "2025-11-05T09:00:00+08:00"}, "$.data.respond_by", "later than issued_at"),
        ("sampling.notice", {"backup_seal_no": "ZJ-SEAL-0001"}, "$.data.backup_seal_no", "differ"),
        ("sampling.notice", {"orders": []}, "$.data.orders", "length >= 1"),
        ("records.request", {"records_until": "2025-10-01T00:00:00+08:00"}, "$.data.records_until", "earlier"),
        ("records.request", {"needed": ["logs", "logs"]}, "$.data.needed[1]", "listed twice"),
        ("result.notice", {"failing_items": []}, "$.data.failing_items", "at least one"),
        ("result.notice", {"reinspection_deadline": None}, "$.data.reinspection_deadline", "window"),
        ("result.notice", {"conclusion": "pass"}, "$.data.failing_items", "no failing items"),
        (
            "result.notice",
            {"addressee_role": "manufacturer", "manufacturer": None},
            "$.data.manufacturer",
            "addressed to the manufacturer",
        ),
        ("results.published", {"main_failing_items": []}, "$.data.main_failing_items", "at least one"),
        ("stop_sale.order", {"respond_by": None}, "$.data.respond_by", "compliance"),
        ("delisting.order", {"hazardous": False}, "$.data.hazardous", "hazardous"),
        ("takedown.order", {"measures": ["block", "block"]}, "$.data.measures[1]", "listed twice"),
        ("takedown.order", {"measures": ["shred"]}, "$.data.measures[0]", "Invalid enum value"),
        ("takedown.order", {"listing_ids": [], "include_shop": False}, "$.data.listing_ids", "at least one"),
        ("records.provided", {"chunk_index": 1}, "$.data.chunk_index", "below chunk_count"),
        ("merchant.identity", {"address": None}, "$.data.address", "unless unable"),
        ("merchant.identity", {"uscc": None}, "$.data.uscc", "id_type"),
        ("merchant.identity", {"uscc": None, "id_type": "resident_id_card"}, "$.data.id_number", "with id_type"),
        ("merchant.identity", {"unable": True}, "$.data.unable_reason", "unable is true"),
        ("takedown.reported", {"measures_taken": []}, "$.data.measures_taken", "length >= 1"),
        ("takedown.reported", {"order_type": "sampling.notice"}, "$.data.order_type", "Invalid enum value"),
    ],
)
def test_cross_field_rules_name_the_field(
    samples: dict[str, Message], type_name: str, changes: dict[str, Any], path: str, reason: str
) -> None:
    with pytest.raises(ContractError) as caught:
        decode_message(_edited(samples[type_name], **changes))
    assert caught.value.path == path
    assert reason in caught.value.reason


def test_merchant_identity_may_declare_inability(samples: dict[str, Message]) -> None:
    body = _edited(
        samples["merchant.identity"],
        legal_name=None,
        address=None,
        contact=None,
        uscc=None,
        unable=True,
        unable_reason="该店铺为自然人经营者，注册时预留的身份信息已注销，平台无法提供。",
    )
    message = decode_reply(body)
    assert message.data.unable is True  # type: ignore[union-attr]


def test_natural_person_identity_uses_an_id_document(samples: dict[str, Message]) -> None:
    body = _edited(samples["merchant.identity"], uscc=None, id_type="resident_id_card", id_number="33078219900101****")
    assert decode_reply(body).data.id_type == "resident_id_card"  # type: ignore[union-attr]


def test_unknown_fields_are_ignored(samples: dict[str, Message]) -> None:
    raw = json.loads(encode_message(samples["sampling.notice"]))
    raw["data"]["priority"] = "urgent"
    raw["data"]["merchant"]["rating"] = 4.9
    raw["extension"] = {"x": 1}
    assert decode_notice(json.dumps(raw).encode()) == samples["sampling.notice"]


def test_encode_validates_by_default(samples: dict[str, Message]) -> None:
    notice = samples["sampling.notice"]
    bad = msgspec.structs.replace(notice, data=msgspec.structs.replace(notice.data, case_id="含空格 的编号"))
    with pytest.raises(ContractError) as caught:
        encode_message(bad)
    assert caught.value.path == "$.data.case_id"
    assert b"\xe5\x90\xab" in encode_message(bad, validate=False)


def test_constructing_with_inconsistent_fields_raises_value_error(samples: dict[str, Message]) -> None:
    data = samples["stop_sale.order"].data
    with pytest.raises(ValueError, match="`respond_by`"):
        msgspec.structs.replace(data, respond_by=None)
    with pytest.raises(ValueError, match="`respond_by`: must be later than issued_at"):
        msgspec.structs.replace(data, respond_by=data.issued_at - timedelta(days=1))


def test_unions_are_usable_as_decoder_types(samples: dict[str, Message]) -> None:
    body = encode_message(samples["takedown.order"])
    assert msgspec.json.Decoder(Notice).decode(body) == samples["takedown.order"]
    with pytest.raises(msgspec.ValidationError):
        msgspec.json.Decoder(Reply).decode(body)
