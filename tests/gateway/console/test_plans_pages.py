"""抽检计划 in the console: plans of the area by state (paginated, escaped), approval by a supervisor only, and
the draws with their commit-reveal status and the merchants they selected."""

from __future__ import annotations

from typing import Any

import pytest
from sqlalchemy import select

from spotcheck.gateway.store.models import AuditRecord
from spotcheck.gateway.store.models_plans import Plan

pytestmark = pytest.mark.postgres

HOSTILE = "<script>alert(1)</script>"


def plan_body(title: str = "2026年第四季度儿童服装网络抽检") -> dict[str, Any]:
    """A complete 抽检实施方案 as the API takes it."""
    return {
        "title": title,
        "number_prefix": "浙市监抽",
        "content": {
            "product_range": "网络交易平台销售的儿童服装",
            "varieties": ["婴幼儿服装", "儿童外套"],
            "quantities": "每批次2件（样品1件、备份样品1件）",
            "test_basis": ["GB 31701-2015"],
            "test_items": ["甲醛含量", "pH值"],
            "judgement_principles": "依据标准逐项判定",
            "testing_institution": "浙江省质量检验检测研究院",
            "schedule_from": "2026-10-01",
            "schedule_until": "2026-12-31",
            "budget_fen": 5_000_000,
        },
        "buyers": [{"name": "张三", "kind": "officer", "accounts": [{"platform_id": "zj-mall", "user_name": "b01"}]}],
        "addresses": [{"address": "杭州市西湖区文三路1号", "recipient": "张三"}],
    }


async def _plan(gateway: Any, title: str = "2026年第四季度儿童服装网络抽检") -> tuple[dict[str, Any], str]:
    """A draft plan of the Zhejiang bureau written through the API; (the plan, the author's token)."""
    author = await gateway.authority("330000", "浙江省市场监督管理局", scopes=("read", "write", "admin"))
    plan: dict[str, Any] = await gateway.post("/v1/plans", author, plan_body(title))
    return plan, author


async def _state(gateway: Any, plan_id: str) -> Plan:
    async with gateway.sessions() as session:
        plan: Plan | None = await session.get(Plan, plan_id)
        assert plan is not None
        return plan


async def test_plans_of_the_area_by_state_paginated_and_escaped(gateway: Any, console: Any) -> None:
    zhejiang = await console.login(authority_code="330000", role="officer")
    guangdong = await console.login(authority_code="440000", role="supervisor")
    hostile, _ = await _plan(gateway, HOSTILE)
    for n in range(22):
        await _plan(gateway, f"第{n:02d}号方案")

    first = await zhejiang.get("/console/plans")
    assert first.status_code == 200
    assert "共 23 条" in first.text
    assert HOSTILE not in first.text
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" not in first.text  # the oldest: on the second page
    second = await zhejiang.get("/console/plans?page=2")
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in second.text
    assert "草稿（待审批）" in second.text
    assert (await zhejiang.get("/console/plans?state=approved")).text.count("/console/plans/plan_") == 0
    assert (await zhejiang.get("/console/plans?state=bogus")).status_code == 400

    detail = await zhejiang.get(f"/console/plans/{hostile['id']}")
    assert detail.status_code == 200
    assert HOSTILE not in detail.text
    assert "50,000.00 元" in detail.text  # the budget, in yuan
    assert "GB 31701-2015" in detail.text

    elsewhere = await guangdong.get("/console/plans")
    assert "共 0 条" in elsewhere.text
    refused = await guangdong.get(f"/console/plans/{hostile['id']}")
    assert refused.status_code == 403
    assert "管辖范围" in refused.text
    assert (await zhejiang.get("/console/plans/plan_nope")).status_code == 404


async def test_only_a_supervisor_approves_with_csrf_and_the_approval_is_audited(gateway: Any, console: Any) -> None:
    officer = await console.login(authority_code="330000", role="officer")
    supervisor = await console.login(authority_code="330000", role="supervisor")
    plan, _ = await _plan(gateway)
    path = f"/console/plans/{plan['id']}"

    seen = await officer.get(path)
    assert "审批并编号" not in seen.text
    assert "该方案待监督人员（supervisor 角色）审批" in seen.text
    refused = await officer.post(f"{path}/approve", {})
    assert refused.status_code == 403
    assert "您的账户无审批权限：抽检实施方案须由监督人员（supervisor 角色）审批。" in refused.text
    assert (await _state(gateway, plan["id"])).state == "draft"

    offered = await supervisor.get(path)
    assert "审批并编号" in offered.text
    forged = await supervisor.post(f"{path}/approve", {}, csrf=False)
    assert forged.status_code == 403
    assert (await _state(gateway, plan["id"])).state == "draft"

    approved = await supervisor.post(f"{path}/approve", {})
    assert approved.status_code == 303
    assert approved.headers["location"] == f"{path}?done=approved"
    row = await _state(gateway, plan["id"])
    assert row.state == "approved"
    assert row.number is not None
    assert row.number.startswith("浙市监抽〔")
    after = await supervisor.get(approved.headers["location"])
    assert row.number in after.text
    assert "方案已审批并编号" in after.text
    assert "审批并编号</button>" not in after.text  # only a draft is offered for approval
    async with gateway.sessions() as session:
        record = await session.scalar(select(AuditRecord).where(AuditRecord.action == "plan.approve"))
    assert record is not None
    assert record.actor.endswith(f"/officer:{supervisor.username}")

    again = await supervisor.post(f"{path}/approve", {})
    assert again.status_code == 409
    assert "只有草稿状态的方案可以审批" in again.text


async def test_draws_show_commitment_then_the_revealed_selection(gateway: Any, console: Any) -> None:
    officer = await console.login(authority_code="330000", role="officer")
    plan, author = await _plan(gateway)
    supervisor = await gateway.authority("330000", "浙江省市场监督管理局", scopes=("read", "supervise"))
    second = await gateway.authority("330000", "浙江省市场监督管理局", scopes=("read", "write"))
    await gateway.post(f"/v1/plans/{plan['id']}/approve", supervisor)
    await gateway.register_platform(author, "zj-mall")
    header = "platform_id,shop_id,shop_name,kind,legal_name,uscc,division_code,categories\r\n"
    rows = "".join(
        f"zj-mall,shop-{n},{name},registered_entity,杭州童装{n}有限公司,,330106,童装\r\n"
        for n, name in enumerate(["甜甜童装店", HOSTILE.replace(",", ""), "乐乐童装店"])
    )
    imported = await gateway.client.post(
        "/v1/directory/merchants/import",
        content=(header + rows).encode(),
        headers={**gateway.auth(author), "content-type": "text/csv"},
    )
    assert imported.status_code == 201, imported.text
    draw = await gateway.post(
        f"/v1/plans/{plan['id']}/draws", author, {"scope": {"platforms": ["zj-mall"]}, "count": 3}
    )

    committed = await officer.get(f"/console/plans/{plan['id']}")
    assert draw["id"] in committed.text
    assert draw["commitment"] in committed.text
    assert "已承诺，待另一名人员录入信标揭示" in committed.text
    assert "实施中" in committed.text  # a draw starts the plan

    await gateway.post(f"/v1/draws/{draw['id']}/reveal", second, {"beacon": "2026-12-07 北京时间 信标"})
    revealed = await officer.get(f"/console/plans/{plan['id']}")
    assert "已揭示" in revealed.text
    assert "甜甜童装店" in revealed.text and "乐乐童装店" in revealed.text
    assert HOSTILE not in revealed.text
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in revealed.text
    assert "2026-12-07 北京时间 信标" in revealed.text
