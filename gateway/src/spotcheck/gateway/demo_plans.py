"""The demo's sampling plan and random draw (双随机一公开), run through the API before the demo case.

A plan with its buyer, account and address is written by one officer and approved by a supervisor; the object
directory is imported from CSV; a draw is committed by the officer and revealed with a beacon a second officer
enters; the drawn merchants get cases opened from the draw. The demo case itself is opened from the same plan as
a targeted selection (问题导向: consumer complaints about its heaters); the published draw can be checked with
``spotcheck-sdk draws verify``.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

import httpx

from spotcheck.gateway.workdays import SHANGHAI

__all__ = ["DemoPlan", "PlanTokens", "run_plan_and_draw"]

_DIRECTORY = [
    ("shop-88002", "温暖小家电店", "registered_entity", "杭州温暖电器有限公司", "", "330105"),
    ("shop-88003", "冬日电器铺", "natural_person", "王小明", "", "330108"),
    ("shop-88004", "火炉家居旗舰店", "registered_entity", "宁波火炉家居有限公司", "", "330203"),
    ("shop-88005", "小太阳电器店", "natural_person", "李小红", "", "330102"),
    ("shop-88006", "恒温电器专营店", "registered_entity", "温州恒温电器有限公司", "", "330302"),
]


@dataclass(frozen=True)
class PlanTokens:
    """The three officers of the demo bureau: author (writes, commits), supervisor (approves), second officer."""

    author: str
    supervisor: str
    second: str


@dataclass(frozen=True)
class DemoPlan:
    """What the demo case needs from the plan: its id and number, and the buyer and address to cite."""

    plan_id: str
    number: str
    draw_id: str
    selected: list[str]


async def _post(api: httpx.AsyncClient, token: str, path: str, body: dict[str, Any] | None = None) -> Any:
    response = await api.post(path, json=body or {}, headers={"authorization": f"Bearer {token}"})
    if response.is_error:
        raise RuntimeError(f"demo: {path} answered {response.status_code}: {response.text}")
    return response.json()


def _plan_body() -> dict[str, Any]:
    year = datetime.now(SHANGHAI).year  # plans are numbered by the year in Beijing
    return {
        "title": f"{year}年电暖器网络交易商品质量抽检",
        "number_prefix": "浙市监抽",
        "content": {
            "product_range": "网络交易平台销售的家用电暖器",
            "varieties": ["电暖器", "取暖器"],
            "quantities": "每批次2台（样品1台、备份样品1台）",
            "test_basis": ["GB 4706.1-2005", "GB 4706.23-2007"],
            "test_items": ["泄漏电流", "发热", "结构"],
            "judgement_principles": "依据标准逐项判定，任一项不合格即判定该批次不合格",
            "testing_institution": "浙江省质量检验检测研究院",
            "schedule_from": f"{year}-01-01",
            "schedule_until": f"{year}-12-31",
            "budget_fen": 2_000_000,
        },
        "buyers": [
            {"name": "张三", "kind": "officer", "accounts": [{"platform_id": "demo-mall", "user_name": "buyer_zj01"}]}
        ],
        "addresses": [{"address": "杭州市西湖区某路1号", "recipient": "张三"}],
    }


async def run_plan_and_draw(api: httpx.AsyncClient, tokens: PlanTokens, note: Any, product: dict[str, Any]) -> DemoPlan:
    """Plan, approval, directory, commit, reveal, and the drawn merchants' cases; ``note(what)`` tells the timeline."""
    plan = await _post(api, tokens.author, "/plans", _plan_body())
    plan = await _post(api, tokens.supervisor, f"/plans/{plan['id']}/approve")
    note(f"plan {plan['number']} written by one officer, approved by a supervisor (抽检实施方案)")
    header = "platform_id,shop_id,shop_name,kind,legal_name,uscc,division_code,categories\r\n"
    rows = "".join(f"demo-mall,{s},{n},{k},{legal},{u},{d},电暖器;取暖器\r\n" for s, n, k, legal, u, d in _DIRECTORY)
    imported = await api.post(
        "/directory/merchants/import",
        content=(header + rows).encode(),
        headers={"authorization": f"Bearer {tokens.author}", "content-type": "text/csv"},
    )
    if imported.is_error:
        raise RuntimeError(f"demo: directory import answered {imported.status_code}: {imported.text}")
    note(f"imported {imported.json()['imported']} merchants into the object directory (检查对象名录库)")
    scope = {"platforms": ["demo-mall"], "categories": ["电暖器"]}
    draw = await _post(api, tokens.author, f"/plans/{plan['id']}/draws", {"scope": scope, "count": 2})
    note(f"committed draw {draw['id']}: 2 of {len(draw['candidates'])}, commitment {draw['commitment'][:12]}…")
    # An officer reads the beacon on a Chinese page: Beijing time, as every time people read.
    beacon = f"{datetime.now(SHANGHAI):%Y-%m-%d %H:%M:%S} 北京时间 第二名执法人员现场录入"
    draw = await _post(api, tokens.second, f"/draws/{draw['id']}/reveal", {"beacon": beacon})
    note(f"revealed with a second officer's beacon: selected {draw['selected']} (see /public/draws.json)")
    origin = {"kind": "draw", "draw_id": draw["id"]}
    for merchant_id in draw["selected"]:
        body = {"merchant_id": merchant_id, "plan_id": plan["id"], "origin": origin, "product": product}
        await _post(api, tokens.author, "/cases", body)
    note(f"opened {len(draw['selected'])} cases for the drawn merchants (origin: draw)")
    return DemoPlan(plan_id=plan["id"], number=plan["number"], draw_id=draw["id"], selected=list(draw["selected"]))
