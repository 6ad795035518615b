"""Who may use the POST forms of the platform, audit and plan pages: every role in the own and another province.

The same policies as the API: key rotation and dead-letter replay are an operator's (admin, across provinces, as
``/v1/platforms/{id}/keys`` and ``/v1/deliveries/replay``); approving a plan needs ``supervise`` in the plan's area;
verifying the audit log is a read. A refused cell must leave everything as it was.
"""

from __future__ import annotations

import time
from typing import Any

import pytest
from sqlalchemy import select

from spotcheck.gateway.store.models import OutboundMessage, PlatformKey
from spotcheck.gateway.store.models_plans import Plan
from spotcheck.sdk import generate_keypair, new_message_id

pytestmark = pytest.mark.postgres

ROLES = ("officer", "supervisor", "admin")
PROVINCES = ("330000", "440000")


async def _dead_letter(gateway: Any) -> str:
    message_id = new_message_id()
    async with gateway.sessions() as session, session.begin():
        session.add(
            OutboundMessage(
                id=message_id,
                case_id=None,
                message_type="sampling.notice",
                recipient_kind="platform",
                recipient_id="zj-mall",
                recipient_name="测试平台",
                adapter="webhook",
                destination={"platform_id": "zj-mall"},
                body=b"{}",
                timestamp=int(time.time()),
                status="dead",
            )
        )
    return message_id


async def _draft_plan(gateway: Any, token: str) -> str:
    body = {
        "title": "2026年电暖器网络抽检",
        "number_prefix": "浙市监抽",
        "content": {
            "product_range": "电暖器",
            "varieties": ["电暖器"],
            "quantities": "每批次2台",
            "test_basis": ["GB 4706.1-2005"],
            "test_items": ["泄漏电流"],
            "judgement_principles": "逐项判定",
            "testing_institution": "浙江省质检院",
            "schedule_from": "2026-01-01",
            "schedule_until": "2026-12-31",
            "budget_fen": 100_000,
        },
        "buyers": [{"name": "张三", "kind": "officer"}],
        "addresses": [{"address": "杭州市西湖区某路1号"}],
    }
    plan_id: str = (await gateway.post("/v1/plans", token, body))["id"]
    return plan_id


async def test_every_role_and_province_gets_what_the_api_would_allow(gateway: Any, console: Any) -> None:
    token = await gateway.authority("330000", "浙江省市场监督管理局")
    await gateway.register_platform(token, "zj-mall")
    outcomes: dict[tuple[str, str, str], int] = {}
    for role in ROLES:
        for province in PROVINCES:
            officer = await console.login(authority_code=province, role=role)
            letter = await _dead_letter(gateway)
            plan_id = await _draft_plan(gateway, token)
            key = generate_keypair()[1]
            replay = await officer.post("/console/platforms/zj-mall/replay", {"message_id": letter})
            rotate = await officer.post("/console/platforms/zj-mall/keys", {"key": key, "overlap_hours": "1"})
            approve = await officer.post(f"/console/plans/{plan_id}/approve", {})
            verify = await officer.post("/console/audit/verify", {})
            outcomes |= {
                (role, province, "replay"): replay.status_code,
                (role, province, "rotate"): rotate.status_code,
                (role, province, "approve"): approve.status_code,
                (role, province, "verify"): verify.status_code,
            }
            async with gateway.sessions() as session:
                status = await session.scalar(select(OutboundMessage.status).where(OutboundMessage.id == letter))
                stored = await session.scalar(select(PlatformKey.id).where(PlatformKey.public_key == key))
                state = await session.scalar(select(Plan.state).where(Plan.id == plan_id))
            assert status == ("pending" if replay.status_code == 303 else "dead"), (role, province)
            assert (stored is not None) == (rotate.status_code == 303), (role, province)
            assert state == ("approved" if approve.status_code == 303 else "draft"), (role, province)

    expected: dict[tuple[str, str, str], int] = {}
    for role in ROLES:
        for province in PROVINCES:
            operator = 303 if role == "admin" else 403
            supervises = 303 if (role, province) == ("supervisor", "330000") else 403
            expected |= {
                (role, province, "replay"): operator,
                (role, province, "rotate"): operator,
                (role, province, "approve"): supervises,
                (role, province, "verify"): 200,
            }
    assert outcomes == expected
