"""A table of bad inputs to the platform intake ``POST /v1/intake/{platform_id}``, each with its status.

Every refusal is an RFC 9457 problem, and none of them stores anything: the count of stored replies only moves
for the one well-signed, well-formed reply each idempotency row sends first.
"""

from __future__ import annotations

import time
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
import pytest_asyncio
from sqlalchemy import func, select

from spotcheck.gateway.store.models import InboundMessage, OutboundMessage
from spotcheck.schemas import NoticeAcknowledged, NoticeAcknowledgedData, encode_message
from spotcheck.sdk import Webhook, generate_keypair, new_message_id

pytestmark = pytest.mark.asyncio(loop_scope="module")

NOW = datetime.now(UTC)


@dataclass
class Intake:
    """Two registered platforms, a case of the first with its sampling notice, and ways to reply."""

    gw: Any
    mall: Any  # the platform the case belongs to
    other: Any  # a second platform
    case_id: str
    notice_id: str

    def ack(self, *, platform_id: str | None = None, received_at: datetime | None = None) -> bytes:
        """An encoded ``notice.acknowledged`` of the sampling notice (by the mall unless told otherwise).

        Received now, not at import: a receipt before the notice was issued is refused (422).
        """
        now = datetime.now(UTC)
        data = NoticeAcknowledgedData(
            case_id=self.case_id,
            in_reply_to=self.notice_id,
            platform_id=platform_id or self.mall.id,
            received_at=received_at or now,
        )
        return encode_message(NoticeAcknowledged(timestamp=now, data=data))

    async def send(
        self,
        body: bytes,
        *,
        signer: Webhook | None = None,
        msg_id: str | None = None,
        timestamp: int | None = None,
        drop: str | None = None,
        content_type: str = "application/json",
        platform_id: str | None = None,
    ) -> Any:
        """Sign ``body`` (as the mall unless ``signer`` is given) and POST it to the intake of ``platform_id``."""
        headers = (signer or self.mall.reply_signer).headers(msg_id or new_message_id(), body, timestamp=timestamp)
        if drop:
            del headers[drop]
        headers["content-type"] = content_type
        return await self.gw.client.post(f"/v1/intake/{platform_id or self.mall.id}", content=body, headers=headers)

    async def stored(self) -> int:
        """How many replies the gateway has stored."""
        async with self.gw.sessions() as session:
            count: int = await session.scalar(select(func.count()).select_from(InboundMessage))
            return count


@pytest_asyncio.fixture(scope="module", loop_scope="module")
async def intake(module_gateway: Any) -> AsyncIterator[Intake]:
    """A case on ``mall-intake`` with its sampling notice sent, and a second platform ``other-intake``."""
    gw = module_gateway
    token = await gw.authority("330000")
    mall = await gw.register_platform(token, "mall-intake")
    other = await gw.register_platform(token, "other-intake", province="110000")
    merchant = await gw.post(
        "/v1/merchants",
        token,
        {"platform_id": mall.id, "shop_id": "shop-1", "shop_name": "某某旗舰店", "kind": "natural_person"},
    )
    case = await gw.post(
        "/v1/cases",
        token,
        {
            "merchant_id": merchant["id"],
            "plan_reference": "浙市监抽〔2026〕12号",
            "product": {"sample_name": "电热水壶", "trademark": "美的", "spec_model": "MK-HJ1705"},
        },
    )
    at = (NOW - timedelta(days=3)).isoformat()
    captures, video = await gw.sampling_evidence(token, case["id"])  # stored first: evidence is evidence (三(一))
    await gw.post(
        f"/v1/cases/{case['id']}/purchase",
        token,
        {
            "purchased_at": at,
            "buyer_account": "buyer",
            "buyer_name": "张三",
            "delivery_address": "杭州市西湖区某路1号",
            "orders": [{"order_no": "T1", "ordered_at": at, "amount_fen": 100}],
            "screenshots": captures,
        },
    )
    await gw.post(
        f"/v1/cases/{case['id']}/sealing",
        token,
        {
            "sealed_at": at,
            "sample_seal_no": "FY-1",
            "backup_seal_no": "FY-2",
            "witnesses": ["买样人 张三", "承检机构 李四", "执法人员 王五"],
            "evidence": video,
        },
    )
    await gw.post(f"/v1/cases/{case['id']}/sampling-notice", token)
    async with gw.sessions() as session:
        notice_id = await session.scalar(
            select(OutboundMessage.id).where(
                OutboundMessage.case_id == case["id"], OutboundMessage.recipient_id == mall.id
            )
        )
    yield Intake(gw=gw, mall=mall, other=other, case_id=case["id"], notice_id=str(notice_id))


class GatewayFindingError(AssertionError):
    """A defect this test exposes, reported to the lead (the row is a strict xfail until it is fixed)."""


@dataclass(frozen=True)
class Row:
    """One bad input: how to send it, the status it must get, and what the problem must say."""

    name: str
    send: Callable[[Intake], Awaitable[Any]]
    status: int
    problem: str | None = None  # the problem type's suffix, e.g. "bad-signature"
    field: str | None = None  # the field errors[0] must name ("" when it may name none or only "$")
    stores: int = 0  # replies stored by the row, its own set-up included
    finding: str | None = None  # why the gateway is known to answer otherwise (a strict xfail until fixed)


async def _bad_key(i: Intake) -> Any:
    return await i.send(i.ack(), signer=Webhook(generate_keypair()[0]))


async def _tampered(i: Intake) -> Any:
    body = i.ack()
    headers = i.mall.reply_signer.headers(new_message_id(), body)
    headers["content-type"] = "application/json"
    return await i.gw.client.post(f"/v1/intake/{i.mall.id}", content=body.replace(b"Z", b"z", 1), headers=headers)


async def _garbage_signature(i: Intake) -> Any:
    headers: dict[str, str | bytes] = {"webhook-id": new_message_id(), "webhook-timestamp": str(int(time.time()))}
    headers |= {"webhook-signature": b"v1a,!!!not base64!!! v1 ,,, \xff\x00", "content-type": "application/json"}
    return await i.gw.client.post(f"/v1/intake/{i.mall.id}", content=i.ack(), headers=headers)


async def _unsigned(i: Intake) -> Any:
    headers = {"content-type": "application/json"}
    return await i.gw.client.post(f"/v1/intake/{i.mall.id}", content=i.ack(), headers=headers)


async def _replay_same(i: Intake) -> Any:
    msg_id = new_message_id()
    body = i.ack()
    first = await i.send(body, msg_id=msg_id)
    assert first.status_code == 200, first.text
    assert first.json()["status"] == "accepted"
    second = await i.send(body, msg_id=msg_id)  # signed afresh, as a retrying platform does
    assert second.json()["status"] == "duplicate", second.text
    assert second.json()["id"] == first.json()["id"]
    return second


async def _replay_other_body(i: Intake) -> Any:
    msg_id = new_message_id()
    first = await i.send(i.ack(), msg_id=msg_id)
    assert first.status_code == 200, first.text
    return await i.send(i.ack(received_at=NOW - timedelta(minutes=1)), msg_id=msg_id)


async def _oversized(i: Intake) -> Any:
    body = b'{"type":"notice.acknowledged","padding":"' + b"x" * (i.gw.settings.http.max_request_bytes + 1) + b'"}'
    return await i.send(body)


async def _truncated(i: Intake) -> Any:
    body = i.ack()
    return await i.send(body[: len(body) // 2])


async def _unknown_type(i: Intake) -> Any:
    body = i.ack().replace(b'"notice.acknowledged"', b'"notice.teleported"')
    return await i.send(body)


def _deep() -> bytes:
    """A reply whose unknown member nests 5000 arrays deep (a skipped member is parsed all the same)."""
    return b'{"type":"notice.acknowledged","x":' + b"[" * 5000 + b"]" * 5000 + b"}"


ROWS = [
    Row("signed with another key", _bad_key, 401, "bad-signature"),
    Row("body altered after signing", _tampered, 401, "bad-signature"),
    Row("signature header garbage", _garbage_signature, 401, "bad-signature"),
    Row("stale timestamp", lambda i: i.send(i.ack(), timestamp=int(time.time()) - 600), 401, "bad-signature"),
    Row("future timestamp", lambda i: i.send(i.ack(), timestamp=int(time.time()) + 600), 401, "bad-signature"),
    Row("missing webhook-id", lambda i: i.send(i.ack(), drop="webhook-id"), 401, "bad-signature"),
    Row("missing webhook-timestamp", lambda i: i.send(i.ack(), drop="webhook-timestamp"), 401, "bad-signature"),
    Row("missing webhook-signature", lambda i: i.send(i.ack(), drop="webhook-signature"), 401, "bad-signature"),
    Row("no signature headers at all", _unsigned, 401, "bad-signature"),
    Row("replayed id, same body", _replay_same, 200, stores=1),
    Row("replayed id, other body", _replay_other_body, 409, "idempotency-conflict", stores=1),
    Row("body over the size limit", _oversized, 413, "too-large"),
    Row("wrong content type", lambda i: i.send(i.ack(), content_type="text/plain"), 415, "unsupported-media-type"),
    Row("truncated JSON", _truncated, 400, "invalid-message", field=""),
    Row("unknown type", _unknown_type, 400, "invalid-message", field="$.type"),
    Row("signed body not UTF-8", lambda i: i.send(b'{"type": "\xff\xfe"}'), 400, "invalid-message"),
    Row(
        "signed body nested 5000 deep",
        lambda i: i.send(_deep()),
        400,
        "invalid-message",
    ),
    Row(
        "reply on another platform's case",
        lambda i: i.send(i.ack(platform_id=i.other.id), signer=i.other.reply_signer, platform_id=i.other.id),
        403,
        "not-your-case",
    ),
    Row("unknown platform", lambda i: i.send(i.ack(), platform_id="no-such-platform"), 404, "unknown-platform"),
    Row(
        "platform_id in the body is not the signer",
        lambda i: i.send(i.ack(platform_id=i.other.id)),
        403,
        "wrong-platform",
    ),
]


@pytest.mark.parametrize("row", ROWS, ids=[row.name for row in ROWS])
async def test_intake_refuses_bad_input_with_its_status(
    intake: Intake, row: Row, figures: Callable[[str], None], request: pytest.FixtureRequest
) -> None:
    if row.finding:
        reason = f"FINDING reported to the lead: {row.finding}"
        request.applymarker(pytest.mark.xfail(raises=GatewayFindingError, strict=True, reason=reason))
    before = await intake.stored()
    response = await row.send(intake)
    after = await intake.stored()
    if row.finding and response.status_code == 500:
        raise GatewayFindingError(f"{row.name}: 500")
    answer = response.json()
    figures(f"{response.status_code} {answer['status'] if response.status_code == 200 else answer['type']}")
    assert response.status_code == row.status, response.text
    assert after - before == row.stores, "a refused or repeated reply must have no effect"
    if row.status == 200:
        return
    assert response.headers["content-type"].startswith("application/problem+json")
    problem = response.json()
    assert {"type", "title", "status", "detail"} <= set(problem)
    assert problem["status"] == row.status
    assert problem["type"] == f"urn:spotcheck:problem:{row.problem}"
    if row.field is not None:
        fields = [error["field"] for error in problem.get("errors", [])]
        if row.field:
            assert fields[:1] == [row.field], problem
        else:
            assert set(fields) <= {"$"}, problem
