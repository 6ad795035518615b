"""A world for the duty tests: a Zhejiang regulator, a platform, a sampled shop and its labelled manufacturer.

Cases are opened through the API and put at ``sampling_notified`` directly in the store: what comes before (the
purchase, the sealing and their evidence) is another issue's and has its own tests; the duties tested here start
with the result.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

import msgspec
import pytest
from sqlalchemy import select, update

from spotcheck.gateway.store.models import Case, Deadline, Merchant, OutboundMessage
from spotcheck.gateway.store.statuses import CaseState
from spotcheck.gateway.store.types import utcnow


@dataclass
class World:
    """One regulator's token, its platform, and what the duty tests do with them."""

    gw: Any
    token: str
    platform: Any

    UTC_SHAPE = re.compile(r"\+00:00|\dT\d\d:\d\d|\d\dZ\b")
    """What a time shown to a person must never look like (an RFC 3339 / UTC rendering)."""
    BEIJING = re.compile(r"\d{4}-\d\d-\d\d \d\d:\d\d")
    """How a time shown to a person looks: Beijing time, to the minute."""

    @staticmethod
    def body_of(row: OutboundMessage) -> dict[str, Any]:
        """The decoded body of an outbox row."""
        decoded: dict[str, Any] = msgspec.json.decode(row.body)
        return decoded

    @staticmethod
    def ago(**delta: float) -> datetime:
        """A moment in the past."""
        return datetime.now(UTC) - timedelta(**delta)

    async def case(
        self,
        *,
        hazardous: bool = True,
        failing: bool = True,
        manufacturer: dict[str, Any] | None = None,
        with_manufacturer: bool = True,
        shop: str = "shop-1",
    ) -> str:
        """A case at ``result_received``: the sampled shop on the platform, the result recorded."""
        merchant = await self.gw.post(
            "/v1/merchants",
            self.token,
            {
                "platform_id": self.platform.id,
                "shop_id": shop,
                "shop_name": f"{shop} 旗舰店",
                "kind": "registered_entity",
                "uscc": "91330100799655058B",
                "registration_division": "330106",
            },
        )
        body: dict[str, Any] = {
            "merchant_id": merchant["id"],
            "plan_reference": "浙市监抽〔2026〕12号",
            "product": {"sample_name": "电热水壶", "trademark": "美的", "spec_model": "MK-HJ1705", "listing_id": "L-1"},
        }
        if with_manufacturer:
            maker = manufacturer or {"name": "佛山某某电器制造有限公司", "division_code": "440604"}
            body["manufacturer_id"] = (await self.gw.post("/v1/manufacturers", self.token, maker))["id"]
        case_id: str = (await self.gw.post("/v1/cases", self.token, body))["id"]
        async with self.gw.sessions() as session, session.begin():
            await session.execute(update(Case).where(Case.id == case_id).values(state=CaseState.SAMPLING_NOTIFIED))
        result: dict[str, Any] = {
            "received_at": utcnow().isoformat(),
            "report_no": f"R-{shop}",
            "institution": "质检院",
        }
        if failing:
            item = {"item": "泄漏电流", "standard": "GB 4706.1-2005", "required": "≤0.75 mA", "measured": "2.1 mA"}
            result |= {"conclusion": "fail", "failing_items": [item], "hazardous": hazardous}
            result["mandatory_standard_failed"] = hazardous
        else:
            result["conclusion"] = "pass"
        await self.gw.post(f"/v1/cases/{case_id}/result", self.token, result)
        return case_id

    async def attempt(self, path: str, body: dict[str, Any] | None = None) -> Any:
        """POST that may be refused: the raw response."""
        return await self.gw.client.post(path, json=body or {}, headers=self.gw.auth(self.token))

    async def messages(self, case_id: str, message_type: str | None = None) -> list[dict[str, Any]]:
        """The case's notices (of one type), as the API lists them."""
        rows = await self.gw.get(f"/v1/cases/{case_id}/messages", self.token)
        return [m for m in rows if message_type is None or m["type"] == message_type]

    async def outbound(self, case_id: str, message_type: str) -> list[OutboundMessage]:
        """The outbox rows of one type on the case, oldest first."""
        async with self.gw.sessions() as session:
            rows = await session.scalars(
                select(OutboundMessage)
                .where(OutboundMessage.case_id == case_id, OutboundMessage.message_type == message_type)
                .order_by(OutboundMessage.id)
            )
            return list(rows)

    async def deadlines(self, case_id: str) -> list[Deadline]:
        async with self.gw.sessions() as session:
            return list(await session.scalars(select(Deadline).where(Deadline.case_id == case_id)))

    async def delivered(self, message_id: str, at: datetime) -> None:
        """What the delivery worker records when a message reached its destination (or was published)."""
        async with self.gw.sessions() as session, session.begin():
            await session.execute(
                update(OutboundMessage)
                .where(OutboundMessage.id == message_id)
                .values(status="delivered", delivered_at=at)
            )

    async def unreachable_merchant(self, case_id: str) -> None:
        async with self.gw.sessions() as session, session.begin():
            case = await session.get(Case, case_id)
            assert case is not None
            await session.execute(
                update(Merchant).where(Merchant.id == case.merchant_id).values(unreachable_since=utcnow())
            )


@pytest.fixture
async def world(gateway: Any) -> World:
    """The Zhejiang provincial bureau (its officer's e-mail registered) and a platform."""
    token = await gateway.authority("330000", "浙江省市场监督管理局", email="officer@zj.example.gov.cn")
    platform = await gateway.register_platform(token, "duty-mall")
    return World(gw=gateway, token=token, platform=platform)
