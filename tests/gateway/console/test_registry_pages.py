"""平台 and 经营者与生产者 in the console: key fingerprints and rotation, delivery health, dead-letter replay, the
merchant and manufacturer lists, each for an officer in the area and refused or filtered outside it."""

from __future__ import annotations

import re
import time
from typing import Any

import pytest
from sqlalchemy import insert, select, update

from spotcheck.gateway.console.registry_pages import endpoint_shown, settings_shown
from spotcheck.gateway.store.models import AuditRecord, Case, DeliveryAttempt, Merchant, OutboundMessage, PlatformKey
from spotcheck.gateway.store.types import new_id, utcnow
from spotcheck.sdk import generate_keypair, new_message_id

pytestmark = pytest.mark.postgres

HOSTILE = "<script>alert(1)</script>"


async def _case(gw: Any, token: str, platform_id: str, shop: str = "shop-1") -> str:
    """A case of the Zhejiang bureau (the merchant is registered in 330106: 二, province of registration)."""
    merchant = {
        "platform_id": platform_id,
        "shop_id": shop,
        "shop_name": f"{shop} 旗舰店",
        "kind": "registered_entity",
        "legal_name": "杭州某某电器有限公司",
        "registration_division": "330106",
    }
    merchant_id = (await gw.post("/v1/merchants", token, merchant))["id"]
    product = {"sample_name": "电热水壶", "trademark": "美的", "spec_model": "MK-1"}
    body = {"merchant_id": merchant_id, "product": product, "plan_reference": "抽〔2026〕1号"}
    case_id: str = (await gw.post("/v1/cases", token, body))["id"]
    return case_id


async def _dead_letter(gw: Any, platform_id: str, case_id: str | None, *, error: str = "HTTP 500") -> str:
    """A notice to the platform that failed its attempts and was dead-lettered, with its last failed attempt."""
    message_id = new_message_id()
    async with gw.sessions() as session, session.begin():
        case = await session.get(Case, case_id) if case_id is not None else None
        session.add(
            OutboundMessage(
                id=message_id,
                case_id=case_id,
                **(case.scope() if case is not None else {}),
                message_type="sampling.notice",
                recipient_kind="platform",
                recipient_id=platform_id,
                recipient_name="测试平台",
                adapter="webhook",
                destination={"platform_id": platform_id},
                body=b'{"type":"sampling.notice"}',
                timestamp=int(time.time()),
                status="dead",
                attempt_count=8,
                last_status="retry",
                last_error=error,
            )
        )
        await session.flush()
        session.add(
            DeliveryAttempt(
                message_id=message_id, attempt=8, worker="w1", latency_ms=12, outcome="retry", http_status=500,
                response_excerpt=HOSTILE, error=None,
            )
        )  # fmt: skip
    return message_id


async def _message(gw: Any, message_id: str) -> OutboundMessage:
    async with gw.sessions() as session:
        row: OutboundMessage | None = await session.get(OutboundMessage, message_id)
        assert row is not None
        return row


async def test_platform_pages_show_key_fingerprints_and_never_secrets(gateway: Any, console: Any) -> None:
    admin = await console.login(authority_code="330000", role="admin")
    token = await gateway.authority("330000", "浙江省市场监督管理局")
    handle = await gateway.register_platform(token, "zj-mall")
    listing = await admin.get("/console/platforms")
    assert listing.status_code == 200
    assert "zj-mall" in listing.text
    assert "正常" in listing.text  # no attempt failed: the circuit is closed
    detail = await admin.get("/console/platforms/zj-mall")
    assert detail.status_code == 200
    async with gateway.sessions() as session:
        keys = (await session.scalars(select(PlatformKey).where(PlatformKey.platform_id == "zj-mall"))).all()
    assert len(keys) == 2
    for key in keys:
        assert key.fingerprint in detail.text
        assert key.public_key is None or key.public_key not in detail.text
    assert handle.notice_secret not in detail.text
    assert not re.search(r"whs[ek]_[A-Za-z0-9+/]{8}", detail.text)  # no secret of any kind
    assert "http://127.0.0.1:9/zj-mall/spotcheck" in detail.text  # the endpoint
    assert "轮换回复密钥" in detail.text  # an administrator may rotate
    missing = await admin.get("/console/platforms/no-such-mall")
    assert missing.status_code == 404
    assert "不存在" in missing.text


async def test_key_rotation_goes_through_the_service_and_is_audited_under_the_officer(
    gateway: Any, console: Any
) -> None:
    admin = await console.login(authority_code="330000", role="admin")
    token = await gateway.authority("330000", "浙江省市场监督管理局")
    await gateway.register_platform(token, "zj-mall")
    _, new_public = generate_keypair()

    refused = await admin.post("/console/platforms/zj-mall/keys", {"key": "", "overlap_hours": "999"})
    assert refused.status_code == 400
    assert "请填写平台提供的新公钥" in refused.text
    assert "重叠期须为 0 至 720 的整数" in refused.text
    assert 'value="999"' in refused.text  # what was typed is kept (but never the key: it may be a secret)

    bad = await admin.post("/console/platforms/zj-mall/keys", {"key": "whsec_not-base64!", "overlap_hours": "2"})
    assert bad.status_code == 400
    assert "whsec_not-base64!" not in bad.text
    assert 'aria-invalid="true"' in bad.text

    done = await admin.post("/console/platforms/zj-mall/keys", {"key": new_public, "overlap_hours": "2"})
    assert done.status_code == 303
    assert done.headers["location"] == "/console/platforms/zj-mall?done=key-rotated"
    after = await admin.get(done.headers["location"])
    assert "已登记平台的新回复密钥" in after.text
    async with gateway.sessions() as session:
        inbound = (
            await session.scalars(
                select(PlatformKey).where(PlatformKey.platform_id == "zj-mall", PlatformKey.direction == "inbound")
            )
        ).all()
        record = await session.scalar(select(AuditRecord).where(AuditRecord.action == "platform.key_rotated"))
    assert {key.public_key for key in inbound} >= {new_public}
    assert sum(key.valid_until is None for key in inbound) == 1  # the older reply key now has an end
    assert record is not None
    assert record.actor.endswith(f"/officer:{admin.username}")


async def test_officer_sees_no_rotation_and_is_refused_in_chinese(gateway: Any, console: Any) -> None:
    officer = await console.login(authority_code="330100", role="officer")
    token = await gateway.authority("330000", "浙江省市场监督管理局")
    await gateway.register_platform(token, "zj-mall")
    page = await officer.get("/console/platforms/zj-mall")
    assert page.status_code == 200
    assert "轮换回复密钥" not in page.text
    assert "轮换密钥需要管理员权限" in page.text
    refused = await officer.post("/console/platforms/zj-mall/keys", {"key": generate_keypair()[1]})
    assert refused.status_code == 403
    assert "无权" in refused.text
    async with gateway.sessions() as session:
        assert await session.scalar(select(AuditRecord).where(AuditRecord.action == "platform.key_rotated")) is None


async def test_replay_puts_a_dead_letter_back_needs_csrf_and_is_audited(gateway: Any, console: Any) -> None:
    admin = await console.login(authority_code="330000", role="admin")
    token = await gateway.authority("330000", "浙江省市场监督管理局")
    await gateway.register_platform(token, "zj-mall")
    case_id = await _case(gateway, token, "zj-mall")
    first = await _dead_letter(gateway, "zj-mall", case_id)
    second = await _dead_letter(gateway, "zj-mall", None, error="HTTP 410")

    health = await admin.get("/console/platforms/zj-mall")
    assert health.status_code == 200
    assert first in health.text and second in health.text
    assert "不稳定" in health.text  # two failed attempts in a row, fewer than open the circuit
    assert HOSTILE not in health.text  # the platform's answer is shown as text
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in health.text

    forged = await admin.post("/console/platforms/zj-mall/replay", {"message_id": first}, csrf=False)
    assert forged.status_code == 403
    assert (await _message(gateway, first)).status == "dead"

    replayed = await admin.post("/console/platforms/zj-mall/replay", {"message_id": first})
    assert replayed.status_code == 303
    assert replayed.headers["location"] == "/console/platforms/zj-mall?done=replayed&count=1"
    row = await _message(gateway, first)
    assert (row.status, row.attempt_count) == ("pending", 0)
    assert (await _message(gateway, second)).status == "dead"
    async with gateway.sessions() as session:
        record = await session.scalar(select(AuditRecord).where(AuditRecord.action == "message.replay"))
    assert record is not None
    assert record.actor.endswith(f"/officer:{admin.username}")
    assert record.detail["first"] == first

    again = await admin.post("/console/platforms/zj-mall/replay", {"message_id": first})
    assert again.status_code == 409
    assert "不是该平台的死信" in again.text

    everything = await admin.post("/console/platforms/zj-mall/replay", {})
    assert everything.status_code == 303
    assert (await _message(gateway, second)).status == "pending"


async def test_dead_letters_are_filtered_by_jurisdiction_and_only_operators_replay(gateway: Any, console: Any) -> None:
    zhejiang = await console.login(authority_code="330000", role="officer")
    hangzhou = await console.login(authority_code="330100", role="officer")
    guangzhou = await console.login(authority_code="440100", role="admin")
    token = await gateway.authority("330000", "浙江省市场监督管理局")
    await gateway.register_platform(token, "zj-mall")
    case_id = await _case(gateway, token, "zj-mall")
    own = await _dead_letter(gateway, "zj-mall", case_id)
    unbound = await _dead_letter(gateway, "zj-mall", None)

    seen = await zhejiang.get("/console/platforms/zj-mall")
    assert own in seen.text  # a notice of its own case
    assert unbound not in seen.text  # a message of no case: an operator's business
    assert ">重放<" not in seen.text
    below = await hangzhou.get("/console/platforms/zj-mall")
    assert below.status_code == 200
    assert own not in below.text  # the province's case is not the city's
    refused = await zhejiang.post("/console/platforms/zj-mall/replay", {"message_id": own})
    assert refused.status_code == 403
    assert "无权" in refused.text
    assert (await _message(gateway, own)).status == "dead"

    # An operator elsewhere sees every dead letter, as the delivery API shows them to an admin token.
    operator = await guangzhou.get("/console/platforms/zj-mall")
    assert own in operator.text and unbound in operator.text
    listing = await hangzhou.get("/console/platforms")
    assert listing.status_code == 200


async def test_circuit_reads_open_from_messages_the_worker_put_back(gateway: Any, console: Any) -> None:
    admin = await console.login(authority_code="330000", role="admin")
    token = await gateway.authority("330000", "浙江省市场监督管理局")
    await gateway.register_platform(token, "zj-mall")
    [held] = await gateway.enqueue_raw("zj-mall", 1)
    async with gateway.sessions() as session, session.begin():
        await session.execute(
            update(OutboundMessage)
            .where(OutboundMessage.id == held)
            .values(last_error="circuit open", next_attempt_at=utcnow().replace(year=utcnow().year + 1))
        )
    page = await admin.get("/console/platforms/zj-mall")
    assert "熔断中" in page.text


async def test_merchants_are_listed_in_the_area_escaped_searchable_and_paginated(gateway: Any, console: Any) -> None:
    hangzhou = await console.login(authority_code="330100", role="officer")
    guangzhou = await console.login(authority_code="440100", role="officer")
    token = await gateway.authority("330100", "杭州市市场监督管理局")
    await gateway.register_platform(token, "zj-mall")
    hostile = {
        "platform_id": "zj-mall",
        "shop_id": "evil",
        "shop_name": HOSTILE,
        "kind": "registered_entity",
        "registration_division": "330106",
    }
    async with gateway.sessions() as session, session.begin():
        await session.execute(
            insert(Merchant),
            [
                {
                    "id": new_id("mer"),
                    "platform_id": "zj-mall",
                    "shop_id": f"s{i:02d}",
                    "shop_name": f"杭州小店{i:02d}",
                    "kind": "registered_entity",
                    "registration_division": "330102",
                }
                for i in range(24)
            ],
        )
    await gateway.post("/v1/merchants", token, hostile)  # the newest: first in the list

    first = await hangzhou.get("/console/merchants")
    assert first.status_code == 200
    assert HOSTILE not in first.text
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in first.text
    assert "共 25 条" in first.text
    assert first.text.count("<tr>") == 21  # a header row and one page of 20
    second = await hangzhou.get("/console/merchants?page=2")
    assert second.text.count("<tr>") == 6
    found = await hangzhou.get("/console/merchants?q=小店07")
    assert "杭州小店07" in found.text and "杭州小店08" not in found.text
    assert "共 1 条" in found.text
    bad = await hangzhou.get("/console/merchants?page=abc")
    assert bad.status_code == 400
    assert "页码" in bad.text

    elsewhere = await guangzhou.get("/console/merchants")
    assert elsewhere.status_code == 200
    assert "杭州小店" not in elsewhere.text
    assert "共 0 条" in elsewhere.text

    # A natural person selling on a platform located in Zhejiang is the province's to sample (二), not the city's.
    person = {"platform_id": "zj-mall", "shop_id": "wxm", "shop_name": "王小明的小店", "kind": "natural_person"}
    await gateway.post("/v1/merchants", token, person)
    province = await console.login(authority_code="330000", role="officer")
    assert "王小明的小店" in (await province.get("/console/merchants?q=王小明")).text
    assert "王小明的小店" not in (await hangzhou.get("/console/merchants?q=王小明")).text


async def test_manufacturers_are_listed_in_the_area_or_by_their_cases(gateway: Any, console: Any) -> None:
    hangzhou = await console.login(authority_code="330100", role="officer")
    guangzhou = await console.login(authority_code="440100", role="officer")
    token = await gateway.authority("330100", "杭州市市场监督管理局")
    await gateway.post("/v1/manufacturers", token, {"name": "杭州本地电器厂", "division_code": "330110"})
    await gateway.post("/v1/manufacturers", token, {"name": HOSTILE, "division_code": "440106"})
    local = await hangzhou.get("/console/manufacturers")
    assert "杭州本地电器厂" in local.text
    assert "&lt;script&gt;" not in local.text  # located in Guangzhou, named on no Hangzhou case
    foshan = await guangzhou.get("/console/manufacturers")
    assert "杭州本地电器厂" not in foshan.text
    assert HOSTILE not in foshan.text
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in foshan.text
    searched = await guangzhou.get("/console/manufacturers?q=" + "x" * 101)
    assert searched.status_code == 400


def test_the_endpoint_and_settings_shown_carry_no_credential() -> None:
    assert endpoint_shown({"url": "https://user:pw@[::1]:8443/hook?token=abc#x"}) == "https://[::1]:8443/hook"
    assert endpoint_shown({"url": "http://mall.example/spotcheck"}) == "http://mall.example/spotcheck"
    assert endpoint_shown({"url": "http://mall.example:99999/x"}) is None
    assert endpoint_shown({}) is None
    config = {"url": "u", "timeout_s": 3, "app_key": "k", "api_token": "t", "__sealed__": {"secret": "x"}, "mode": "j"}
    assert settings_shown(config) == [("mode", "j"), ("timeout_s", "3")]
