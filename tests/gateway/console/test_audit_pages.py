"""审计日志 in the console: the records an officer may read (filtered by case and actor, paginated, escaped), the
verification ``spotcheck audit verify`` runs, and the latest signed checkpoint."""

from __future__ import annotations

import html
from typing import Any

import pytest
from sqlalchemy import select, update

from spotcheck.gateway.audit.service import AuditEntry, append_audit_many
from spotcheck.gateway.store.models import AuditRecord

pytestmark = pytest.mark.postgres

HOSTILE = "<script>alert(1)</script>"


async def _zhejiang_case(gateway: Any) -> tuple[str, str]:
    """A case of the Zhejiang bureau opened through the API; (its id, the bureau's API token)."""
    token = await gateway.authority("330000", "浙江省市场监督管理局")
    await gateway.register_platform(token, "zj-mall")
    merchant = {
        "platform_id": "zj-mall",
        "shop_id": "shop-1",
        "shop_name": "暖暖取暖器专营店",
        "kind": "registered_entity",
        "registration_division": "330106",
    }
    merchant_id = (await gateway.post("/v1/merchants", token, merchant))["id"]
    product = {"sample_name": "电暖器", "trademark": "暖暖", "spec_model": "NN-HT2000"}
    body = {"merchant_id": merchant_id, "product": product, "plan_reference": "浙市监抽〔2026〕1号"}
    case = await gateway.post("/v1/cases", token, body)
    return case["id"], token


async def test_officers_read_their_authoritys_and_their_cases_records_only(gateway: Any, console: Any) -> None:
    zhejiang = await console.login(authority_code="330000", role="officer")
    guangdong = await console.login(authority_code="440000", role="officer")
    case_id, _ = await _zhejiang_case(gateway)

    own = await zhejiang.get("/console/audit")
    assert own.status_code == 200
    assert case_id in own.text
    assert "platform.registered" in own.text  # by a token of its own authority
    about = await zhejiang.get(f"/console/audit?case={case_id}")
    assert about.status_code == 200
    assert "case.create" in about.text
    assert "platform.registered" not in about.text  # not about the case
    assert "共 1 条" in about.text

    foreign = await guangdong.get("/console/audit")
    assert foreign.status_code == 200
    assert case_id not in foreign.text
    assert "platform.registered" not in foreign.text
    refused = await guangdong.get(f"/console/audit?case={case_id}")
    assert refused.status_code == 403
    unknown = await zhejiang.get("/console/audit?case=case_nope")
    assert unknown.status_code == 404


async def test_records_paginate_filter_by_actor_and_escape_free_text(gateway: Any, console: Any) -> None:
    zhejiang = await console.login(authority_code="330000", role="officer")
    actor = f"authority:{zhejiang.authority_id}/token:batch"
    async with gateway.sessions() as session, session.begin():
        entries = [AuditEntry(actor, "test.event", f"subject-{n}", {"note": HOSTILE, "n": n}) for n in range(25)]
        await append_audit_many(session, entries)

    first = await zhejiang.get("/console/audit?actor=token:batch")
    assert first.status_code == 200
    assert "共 25 条" in first.text
    assert "subject-24" in first.text and "subject-4<" not in first.text  # newest first, 20 a page
    assert HOSTILE not in first.text
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in first.text
    assert 'value="token:batch"' in first.text  # the filter is kept in the form
    second = await zhejiang.get("/console/audit?actor=token:batch&page=2")
    assert "subject-4<" in second.text and "subject-24" not in second.text
    hostile_filter = await zhejiang.get("/console/audit?actor=" + "%3Cscript%3E")
    assert hostile_filter.status_code == 200
    assert "<script>" not in hostile_filter.text.split("<main", 1)[1]
    bad = await zhejiang.get("/console/audit?page=0")
    assert bad.status_code == 400


async def test_verify_runs_the_full_check_and_finds_an_altered_record(gateway: Any, console: Any) -> None:
    officer = await console.login(authority_code="330000", role="officer")
    case_id, _ = await _zhejiang_case(gateway)

    forged = await officer.post("/console/audit/verify", {}, csrf=False)
    assert forged.status_code == 403

    intact = await officer.post("/console/audit/verify", {})
    assert intact.status_code == 200
    assert "审计日志完整" in intact.text

    async with gateway.sessions() as session, session.begin():
        seq = await session.scalar(select(AuditRecord.seq).where(AuditRecord.subject == case_id).limit(1))
        await session.execute(update(AuditRecord).where(AuditRecord.seq == seq).values(detail={"rewritten": True}))
    broken = await officer.post("/console/audit/verify", {})
    assert broken.status_code == 200
    assert "审计日志校验未通过" in broken.text
    assert f"BROKEN at seq {seq}" in broken.text


async def test_the_latest_signed_checkpoint_is_the_public_note(gateway: Any, console: Any) -> None:
    officer = await console.login(authority_code="330000", role="officer")
    _, token = await _zhejiang_case(gateway)
    before = await officer.get("/console/audit")
    assert "日志尚未签署检查点" in before.text

    await gateway.post("/v1/audit/checkpoints", token)
    public = await gateway.client.get("/public/log/checkpoint")
    assert public.status_code == 200
    after = await officer.get("/console/audit")
    assert html.escape(public.text, quote=False).strip() in after.text
    assert 'href="/public/log/checkpoint"' in after.text
    key = await gateway.client.get("/public/log/key")
    assert key.text.strip() in after.text
