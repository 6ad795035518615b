"""Platform intake (dedupe, conflicts, ownership, chunks) and deadlines (listing, escalation, automatic finality)."""

from __future__ import annotations

import asyncio
import time
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from sqlalchemy import func, select, update

from spotcheck.gateway.intake.verifiers import INBOUND_KEYS_TTL_S
from spotcheck.gateway.store.models import (
    Case,
    Deadline,
    InboundMessage,
    OperationalEvent,
    OutboundMessage,
    PlatformKey,
)
from spotcheck.gateway.store.types import utcnow
from spotcheck.schemas import (
    LogEntry,
    NoticeAcknowledged,
    NoticeAcknowledgedData,
    RecordsProvided,
    RecordsProvidedData,
    TransactionRecord,
    chunk_digest,
    encode_message,
    set_digest,
)
from spotcheck.sdk import Webhook, generate_keypair, new_message_id

pytestmark = pytest.mark.postgres

NOW = datetime.now(UTC)
SHA = "a" * 64


async def _notified_case(gw: Any, token: str, platform_id: str) -> tuple[str, OutboundMessage]:
    mid = (
        await gw.post(
            "/v1/merchants",
            token,
            {"platform_id": platform_id, "shop_id": "s-1", "shop_name": "店", "kind": "natural_person"},
        )
    )["id"]
    # 三(二): a failing result is notified to the labelled manufacturer too, so the case names one.
    maker = await gw.post("/v1/manufacturers", token, {"name": "某某电器厂", "division_code": "330282"})
    case = await gw.post(
        "/v1/cases",
        token,
        {
            "merchant_id": mid,
            "manufacturer_id": maker["id"],
            "plan_reference": "计划",
            "product": {"sample_name": "插座", "trademark": "公牛", "spec_model": "GN-1"},
        },
    )
    captures, video = await gw.sampling_evidence(token, case["id"])  # stored first: evidence is evidence (三(一))
    await gw.post(
        f"/v1/cases/{case['id']}/purchase",
        token,
        {
            "purchased_at": NOW.isoformat(),
            "buyer_account": "b",
            "buyer_name": "张三",
            "delivery_address": "杭州",
            "orders": [{"order_no": "T1", "ordered_at": NOW.isoformat(), "amount_fen": 100}],
            "screenshots": captures,
        },
    )
    await gw.post(
        f"/v1/cases/{case['id']}/sealing",
        token,
        {
            "sealed_at": NOW.isoformat(),
            "sample_seal_no": "A1",
            "backup_seal_no": "A2",
            "witnesses": ["甲", "乙", "丙"],
            "evidence": video,
        },
    )
    await gw.post(f"/v1/cases/{case['id']}/sampling-notice", token)
    async with gw.sessions() as session:
        notice = await session.scalar(select(OutboundMessage).where(OutboundMessage.case_id == case["id"]))
    assert notice is not None
    return case["id"], notice


def _ack(case_id: str, notice_id: str, platform_id: str, received: datetime | None = None) -> NoticeAcknowledged:
    # A receipt is checked against the notice's issue and the gateway's clock: by default, just now.
    return NoticeAcknowledged(
        timestamp=NOW,
        data=NoticeAcknowledgedData(
            case_id=case_id, in_reply_to=notice_id, platform_id=platform_id, received_at=received or utcnow()
        ),
    )


async def test_replies_are_deduplicated_by_webhook_id(gateway: Any) -> None:
    gw = gateway
    zj = await gw.authority("330000", "浙江省市场监督管理局")
    platform = await gw.register_platform(zj, "tmall-test")
    case_id, notice = await _notified_case(gw, zj, platform.id)
    msg_id = new_message_id()
    ack = _ack(case_id, notice.id, platform.id)
    first = await gw.reply(platform, ack, msg_id=msg_id)
    again = await gw.reply(platform, ack, msg_id=msg_id)
    assert first.status_code == 200
    assert again.status_code == 200
    assert again.json()["status"] == "duplicate"
    assert again.json()["id"] == first.json()["id"]
    other_body = await gw.reply(
        platform, _ack(case_id, notice.id, platform.id, NOW - timedelta(hours=1)), msg_id=msg_id
    )
    assert other_body.status_code == 409
    assert other_body.json()["type"] == "urn:spotcheck:problem:idempotency-conflict"
    async with gw.sessions() as session:
        stored = await session.scalar(select(func.count()).select_from(InboundMessage))
    assert stored == 1


async def test_bad_signatures_and_foreign_cases_are_refused(gateway: Any) -> None:
    gw = gateway
    zj = await gw.authority("330000", "浙江省市场监督管理局")
    platform = await gw.register_platform(zj, "tmall-test")
    rival = await gw.register_platform(zj, "jd-test")
    case_id, notice = await _notified_case(gw, zj, platform.id)
    body = encode_message(_ack(case_id, notice.id, platform.id))
    # Signed by another platform's key.
    forged = await gw.reply(rival, _ack(case_id, notice.id, platform.id), headers={})
    assert forged.status_code == 403  # rival signs correctly for itself, but data.platform_id is not rival
    wrong_key = rival.reply_signer.headers(new_message_id(), body)
    response = await gw.client.post(
        f"/v1/intake/{platform.id}", content=body, headers={**wrong_key, "content-type": "application/json"}
    )
    assert response.status_code == 401
    # The rival answering the notice sent to the other platform: not its case.
    foreign = await gw.reply(rival, _ack(case_id, notice.id, rival.id))
    assert foreign.status_code == 403
    assert foreign.json()["type"] == "urn:spotcheck:problem:not-your-case"
    # Stale signature.
    stale = platform.reply_signer.headers(new_message_id(), body, timestamp=int(NOW.timestamp()) - 3600)
    response = await gw.client.post(
        f"/v1/intake/{platform.id}", content=body, headers={**stale, "content-type": "application/json"}
    )
    assert response.status_code == 401
    unknown = await gw.client.post("/v1/intake/nobody", content=body, headers={"content-type": "application/json"})
    assert unknown.status_code == 404
    signed = platform.reply_signer.headers(new_message_id(), body)
    for media_type in ("application/jsonx", "text/plain", "application/json-seq"):
        typed = await gw.client.post(
            f"/v1/intake/{platform.id}", content=body, headers={**signed, "content-type": media_type}
        )
        assert typed.status_code == 415, (media_type, typed.text)
        assert typed.json()["errors"][0]["field"] == "content-type"
    charset = {
        **platform.reply_signer.headers(new_message_id(), body),
        "content-type": "application/json; charset=utf-8",
    }
    assert (await gw.client.post(f"/v1/intake/{platform.id}", content=body, headers=charset)).status_code == 200
    invalid = await gw.reply(platform, _ack(case_id, notice.id, platform.id), body=b'{"type":"notice.acknowledged"}')
    assert invalid.status_code == 400
    assert invalid.json()["errors"][0]["field"].startswith("$")


async def test_a_rotated_reply_key_takes_effect_at_once_and_an_expired_one_within_seconds(gateway: Any) -> None:
    gw = gateway
    zj = await gw.authority("330000", "浙江省市场监督管理局")
    platform = await gw.register_platform(zj, "tmall-test")
    case_id, notice = await _notified_case(gw, zj, platform.id)
    ack = _ack(case_id, notice.id, platform.id)
    assert (await gw.reply(platform, ack)).status_code == 200  # the verifier is now cached

    new_secret, new_public = generate_keypair()
    rotation = {"direction": "inbound", "key": new_public, "overlap_hours": 0}
    await gw.post(f"/v1/platforms/{platform.id}/keys", zj, rotation)
    assert (await gw.reply(platform, ack)).status_code == 401  # the old key is refused at once
    rotated = replace(platform, reply_signer=Webhook(new_secret))
    assert (await gw.reply(rotated, ack)).status_code == 200

    # A key cut off behind this process's back (by another replica, say) stops working once the cache lapses.
    async with gw.sessions() as session, session.begin():
        await session.execute(
            update(PlatformKey)
            .where(PlatformKey.platform_id == platform.id, PlatformKey.direction == "inbound")
            .values(valid_until=utcnow() - timedelta(seconds=1))
        )
    deadline = time.monotonic() + INBOUND_KEYS_TTL_S + 10
    status = 200
    while status != 401 and time.monotonic() < deadline:
        status = (await gw.reply(rotated, ack)).status_code
        await asyncio.sleep(0.2)
    assert status == 401


async def test_chunked_records_resume_and_digests_are_checked(gateway: Any) -> None:
    gw = gateway
    zj = await gw.authority("330000", "浙江省市场监督管理局")
    platform = await gw.register_platform(zj, "tmall-test")
    case_id, _ = await _notified_case(gw, zj, platform.id)
    await gw.post(
        f"/v1/cases/{case_id}/records-request",
        zj,
        {"order_nos": ["T1"], "records_from": (NOW - timedelta(days=1)).isoformat(), "records_until": NOW.isoformat()},
    )
    async with gw.sessions() as session:
        request = await session.scalar(select(OutboundMessage).where(OutboundMessage.message_type == "records.request"))
    assert request is not None
    chunks = [
        (
            [
                TransactionRecord(
                    order_no=f"T{i}",
                    shop_id="s-1",
                    item_title="插座",
                    quantity=1,
                    amount_fen=100,
                    status="completed",
                    created_at=NOW,
                )
            ],
            [LogEntry(at=NOW, actor="sys", action="order.pay", subject=f"T{i}")],
        )
        for i in range(3)
    ]
    digests = [chunk_digest(r, lg) for r, lg in chunks]

    def chunk(index: int, *, set_sha: str | None = None) -> RecordsProvided:
        records, logs = chunks[index]
        return RecordsProvided(
            timestamp=NOW,
            data=RecordsProvidedData(
                case_id=case_id,
                in_reply_to=request.id,
                platform_id=platform.id,
                upload_id="u-1",
                chunk_index=index,
                chunk_count=3,
                chunk_sha256=digests[index],
                set_sha256=set_sha or set_digest(digests),
                records=records,
                logs=logs,
            ),
        )

    assert (await gw.reply(platform, chunk(0))).json()["detail"]["received"] == 1
    # A resent chunk (new webhook-id after a crash) is accepted without a second copy.
    resent = await gw.reply(platform, chunk(0))
    assert resent.json()["detail"]["already_had"] is True
    mismatch = await gw.reply(platform, chunk(1, set_sha="b" * 64))
    assert mismatch.status_code == 409
    await gw.reply(platform, chunk(1))
    done = await gw.reply(platform, chunk(2))
    assert done.json()["detail"]["upload_complete"] is True
    # 三(一): the records are in, but order T1 is neither confirmed nor declared unavailable: not answered yet.
    assert (done.json()["detail"]["complete"], done.json()["detail"]["missing"]) == (False, ["order:T1"])
    case = await gw.get(f"/v1/cases/{case_id}", zj)
    [answer] = [d for d in case["deadlines"] if d["kind"] == "platform_answer"]
    assert (answer["status"], answer["missing"]) == ("open", ["order:T1"])


async def test_overdue_platform_answers_escalate_and_windows_lapse_into_finality(gateway: Any) -> None:
    gw = gateway
    zj = await gw.authority("330000", "浙江省市场监督管理局")
    platform = await gw.register_platform(zj, "tmall-test")
    case_id, _ = await _notified_case(gw, zj, platform.id)
    await gw.post(f"/v1/cases/{case_id}/identity-request", zj, {"working_days": 2})
    await gw.post(
        f"/v1/cases/{case_id}/result",
        zj,
        {
            "received_at": NOW.isoformat(),
            "conclusion": "fail",
            "report_no": "R-1",
            "institution": "质检院",
            "failing_items": [{"item": "标志", "standard": "GB 2099.1", "required": "有", "measured": "无"}],
        },
    )
    await gw.post(f"/v1/cases/{case_id}/result-notices", zj)
    due_soon = await gw.get("/v1/deadlines", zj)
    assert {d["kind"] for d in due_soon} == {"platform_answer", "reinspection_application"}
    assert all(d["urgency"] in {"ok", "due_soon"} for d in due_soon)
    # Time passes: move the clocks into the past.
    async with gw.sessions() as session, session.begin():
        # 三(三): each party's window runs from its receipt; here both received the notice long ago.
        await session.execute(update(Deadline).values(due_at=NOW - timedelta(days=1), provisional=False))
        await session.execute(update(Case).values(reinspection_deadline=NOW - timedelta(days=1)))
    overdue = await gw.get("/v1/deadlines?status=overdue", zj)
    assert {d["kind"] for d in overdue} == {"platform_answer", "reinspection_application"}
    swept = await gw.post("/v1/deadlines/sweep", zj, expect=201)
    assert swept == {"escalated": 1, "findings": 0, "finalized": 1}
    assert await gw.post("/v1/deadlines/sweep", zj, expect=201) == {"escalated": 0, "findings": 0, "finalized": 0}
    case = await gw.get(f"/v1/cases/{case_id}", zj)
    assert case["state"] == "final"  # 三(三): no application inside the window, the result is final by itself
    async with gw.sessions() as session:
        kinds = (await session.scalars(select(OperationalEvent.kind))).all()
    assert "overdue.platform_answer" in kinds
    events = await gw.get("/v1/events", zj)
    assert any(e["kind"] == "overdue.platform_answer" for e in events)
    bad = await gw.client.get("/v1/deadlines?status=late", headers=gw.auth(zj))
    assert bad.status_code == 400


async def test_metrics_and_readiness(gateway: Any) -> None:
    gw = gateway
    zj = await gw.authority("330000", "浙江省市场监督管理局")
    platform = await gw.register_platform(zj, "tmall-test")
    await _notified_case(gw, zj, platform.id)
    ready = await gw.client.get("/ready")
    assert ready.status_code == 200
    metrics = (await gw.client.get("/metrics")).text
    assert 'spotcheck_notices{state="pending",type="sampling.notice"} 1.0' in metrics
    assert "spotcheck_http_requests_total" in metrics
    response = await gw.client.get("/health", headers={"x-request-id": "req-from-caller"})
    assert response.headers["x-request-id"] == "req-from-caller"
