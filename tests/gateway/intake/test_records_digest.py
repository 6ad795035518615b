"""The gateway checks ``chunk_sha256`` over the records and logs as the platform wrote them, not as it decodes them.

A platform that is not written in Python leaves optional members out and writes timestamps its own way; the
digest it computes with any RFC 8785 library over what it sends is accepted, and one that does not match is
refused with 400 naming ``$.data.chunk_sha256``.
"""

from __future__ import annotations

import hashlib
import json
from datetime import UTC, datetime, timedelta
from typing import Any

import msgspec
from sqlalchemy import select

from spotcheck.gateway.store.models import OutboundMessage, RecordChunk
from spotcheck.schemas import LogEntry, TransactionRecord, canonical_json, chunk_digest, set_digest

NOW = datetime.now(UTC)

# As a Go platform writes it: its own member order, optional members left out, fractional seconds, an escaped
# CJK string and a member this version does not know yet.
RECORDS = (
    '[{"shop_id": "s-1", "order_no": "T1", "item_title": "\\u63d2\\u5ea7", "quantity": 2, "amount_fen": 100,'
    ' "status": "completed", "created_at": "2026-10-01T08:00:00.250+08:00", "weight_kg": 1.50}]'
)
LOGS = '[{"at": "2026-10-01T00:00:01Z", "actor": "sys", "action": "order.pay"}]'
# The RFC 8785 form of {"logs": LOGS, "records": RECORDS}, written out by hand.
CANONICAL = (
    '{"logs":[{"action":"order.pay","actor":"sys","at":"2026-10-01T00:00:01Z"}],'
    '"records":[{"amount_fen":100,"created_at":"2026-10-01T08:00:00.250+08:00","item_title":"插座",'
    '"order_no":"T1","quantity":2,"shop_id":"s-1","status":"completed","weight_kg":1.5}]}'
)
# What the gateway used to hash instead: the decoded structs re-encoded, omitted members as null.
RE_ENCODED = (
    '{"logs":[{"action":"order.pay","actor":"sys","at":"2026-10-01T00:00:01Z","detail":null,"source_ip":null,'
    '"subject":null}],"records":[{"amount_fen":100,"buyer_account":null,"created_at":"2026-10-01T08:00:00.250000'
    '+08:00","item_title":"插座","listing_id":null,"logistics_no":null,"order_no":"T1","paid_at":null,'
    '"quantity":2,"shipped_at":null,"shop_id":"s-1","status":"completed"}]}'
)


def _body(case_id: str, notice_id: str, platform_id: str, digest: str, upload_id: str) -> bytes:
    return f"""{{"type": "records.provided", "timestamp": "{NOW.isoformat()}",
 "data": {{"case_id": "{case_id}", "in_reply_to": "{notice_id}", "platform_id": "{platform_id}",
  "upload_id": "{upload_id}", "chunk_index": 0, "chunk_count": 1, "chunk_sha256": "{digest}",
  "set_sha256": "{set_digest([digest])}", "records": {RECORDS}, "logs": {LOGS}}}}}""".encode()


async def _records_request(gw: Any, token: str, platform_id: str) -> tuple[str, str]:
    """Open a case on ``platform_id``, notify it and ask for records; return the case and request ids."""
    merchant = await gw.post(
        "/v1/merchants",
        token,
        {"platform_id": platform_id, "shop_id": "s-1", "shop_name": "店", "kind": "natural_person"},
    )
    case = await gw.post(
        "/v1/cases",
        token,
        {
            "merchant_id": merchant["id"],
            "plan_reference": "计划",
            "product": {"sample_name": "插座", "trademark": "公牛", "spec_model": "GN-1"},
        },
    )
    case_id = case["id"]
    captures, video = await gw.sampling_evidence(token, case_id)  # stored first: evidence is evidence (三(一))
    purchase = {
        "purchased_at": NOW.isoformat(),
        "buyer_account": "b",
        "buyer_name": "张三",
        "delivery_address": "杭州",
        "orders": [{"order_no": "T1", "ordered_at": NOW.isoformat(), "amount_fen": 100}],
        "screenshots": captures,
    }
    await gw.post(f"/v1/cases/{case_id}/purchase", token, purchase)
    sealing = {
        "sealed_at": NOW.isoformat(),
        "sample_seal_no": "A1",
        "backup_seal_no": "A2",
        "witnesses": ["甲", "乙", "丙"],
        "evidence": video,
    }
    await gw.post(f"/v1/cases/{case_id}/sealing", token, sealing)
    await gw.post(f"/v1/cases/{case_id}/sampling-notice", token)
    window = {"records_from": (NOW - timedelta(days=1)).isoformat(), "records_until": NOW.isoformat()}
    await gw.post(f"/v1/cases/{case_id}/records-request", token, {"order_nos": ["T1"], **window})
    async with gw.sessions() as session:
        request = await session.scalar(
            select(OutboundMessage).where(
                OutboundMessage.case_id == case_id, OutboundMessage.message_type == "records.request"
            )
        )
    assert request is not None
    return case_id, request.id


async def test_a_chunk_hashed_as_written_by_another_language_is_accepted(gateway: Any) -> None:
    gw = gateway
    token = await gw.authority("330000", "浙江省市场监督管理局")
    platform = await gw.register_platform(token, "go-mall")
    case_id, request_id = await _records_request(gw, token, platform.id)

    refused = await gw.reply(
        platform, None, body=_body(case_id, request_id, platform.id, _sha(RE_ENCODED), "u-old-way")
    )
    assert refused.status_code == 400, refused.text
    assert refused.json()["errors"][0]["field"] == "$.data.chunk_sha256"

    accepted = await gw.reply(platform, None, body=_body(case_id, request_id, platform.id, _sha(CANONICAL), "u-1"))
    assert accepted.status_code == 200, accepted.text
    assert accepted.json()["detail"]["upload_complete"] is True  # the set; order T1 awaits its confirmation
    async with gw.sessions() as session:
        stored = await session.scalar(select(RecordChunk))
    assert stored is not None
    assert stored.chunk_sha256 == _sha(CANONICAL)
    assert stored.records[0]["quantity"] == 2


def _sha(text: str) -> str:
    return hashlib.sha256(text.encode()).hexdigest()


def test_the_hand_written_forms_are_what_the_contract_says() -> None:
    """Guard the constants: CANONICAL is JCS of the JSON sent, RE_ENCODED is the struct re-encoding."""
    assert canonical_json({"records": json.loads(RECORDS), "logs": json.loads(LOGS)}) == CANONICAL.encode()
    records = msgspec.json.decode(RECORDS, type=list[TransactionRecord])
    logs = msgspec.json.decode(LOGS, type=list[LogEntry])
    assert chunk_digest(records, logs) == _sha(RE_ENCODED)
