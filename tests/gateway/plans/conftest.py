"""Plan fixtures: a Zhejiang authority with an author, a supervisor and a second officer, a platform, and plans."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import pytest
from sqlalchemy import insert, select

from spotcheck.gateway.store.models import Authority, Merchant
from spotcheck.gateway.store.models_plans import Inspector, MerchantDirectoryEntry


def plan_body(**changes: Any) -> dict[str, Any]:
    """A complete 抽检实施方案 as the API takes it."""
    body: dict[str, Any] = {
        "title": "2026年第四季度儿童服装网络抽检",
        "number_prefix": "浙市监抽",
        "content": {
            "product_range": "网络交易平台销售的儿童服装",
            "varieties": ["婴幼儿服装", "儿童外套"],
            "quantities": "每批次2件（样品1件、备份样品1件）",
            "test_basis": ["GB 31701-2015"],
            "test_items": ["甲醛含量", "pH值", "绳带"],
            "judgement_principles": "依据标准逐项判定，任一项不合格即判定为不合格",
            "testing_institution": "浙江省质量检验检测研究院",
            "schedule_from": "2026-10-01",
            "schedule_until": "2026-12-31",
            "budget_fen": 5_000_000,
        },
        "buyers": [
            {"name": "张三", "kind": "officer", "accounts": [{"platform_id": "zj-mall", "user_name": "zjsj_buyer01"}]},
            {"name": "李四", "kind": "institution_staff", "accounts": []},
        ],
        "addresses": [{"address": "杭州市西湖区文三路1号", "recipient": "张三"}],
    }
    body.update(changes)
    return body


@dataclass
class Bureau:
    """The Zhejiang bureau under test: tokens, a platform, and helpers for plans and directories."""

    gw: Any
    author: str
    supervisor: str
    officer: str
    other_province: str

    async def plan(self, *, approve: bool = True, **changes: Any) -> dict[str, Any]:
        """A plan, approved by the supervisor unless told otherwise."""
        plan: dict[str, Any] = await self.gw.post("/v1/plans", self.author, plan_body(**changes))
        if approve:
            plan = await self.gw.post(f"/v1/plans/{plan['id']}/approve", self.supervisor)
        return plan

    async def directory(
        self, ids: list[str], *, division: str = "330106", categories: tuple[str, ...] = ("童装",)
    ) -> None:
        """Put merchants with exactly these ids into the object directory (bulk, as a large import would)."""
        async with self.gw.sessions() as session, session.begin():
            authority_id = await session.scalar(select(Authority.id).where(Authority.division_code == "330000"))
            merchants = [
                {
                    "id": mid,
                    "platform_id": "zj-mall",
                    "shop_id": mid,
                    "shop_name": f"{mid} 童装店",
                    "kind": "registered_entity",
                    "legal_name": f"杭州{mid}服饰有限公司",
                    "registration_division": division,
                }
                for mid in ids
            ]
            entries = [
                {
                    "merchant_id": mid,
                    "authority_id": authority_id,
                    "platform_id": "zj-mall",
                    "division_code": division,
                    "categories": list(categories),
                }
                for mid in ids
            ]
            for start in range(0, len(ids), 5000):
                await session.execute(insert(Merchant), merchants[start : start + 5000])
                await session.execute(insert(MerchantDirectoryEntry), entries[start : start + 5000])

    async def inspectors(self, ids: list[str]) -> None:
        """Put inspectors with exactly these ids into the inspector directory."""
        async with self.gw.sessions() as session, session.begin():
            authority_id = await session.scalar(select(Authority.id).where(Authority.division_code == "330000"))
            for ident in ids:
                session.add(
                    Inspector(id=ident, authority_id=authority_id, name=ident, kind="officer", organisation="浙江省局")
                )


@pytest.fixture
async def bureau(gateway: Any) -> Bureau:
    """Zhejiang with an author (write), a supervisor (supervise) and a second officer; Guangdong; a platform."""
    author = await gateway.authority("330000", "浙江省市场监督管理局", scopes=("read", "write", "admin"))
    supervisor = await gateway.authority("330000", "浙江省市场监督管理局", scopes=("read", "supervise"))
    officer = await gateway.authority("330000", "浙江省市场监督管理局", scopes=("read", "write"))
    other = await gateway.authority("440000", "广东省市场监督管理局", scopes=("read", "write", "admin", "supervise"))
    await gateway.register_platform(author, "zj-mall")
    return Bureau(gw=gateway, author=author, supervisor=supervisor, officer=officer, other_province=other)
