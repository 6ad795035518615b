"""A whole failing, hazardous case against the Node.js platform in examples/platform_node (no Python on its side).

The gateway runs in-process with its delivery worker; the platform is ``node examples/platform_node/server.mjs``
built only on the npm ``standardwebhooks`` package, the published JSON Schemas and an RFC 8785 library. It signs
its replies with a ``whsec_`` key registered as its inbound key. Needs node and ``npm ci`` in the example
(``make test`` does it); without them the test skips, and fails under CI=true.
"""

from __future__ import annotations

import asyncio
import base64
import contextlib
import os
import secrets
import shutil
import socket
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest
import uvicorn
from sqlalchemy import select

from spotcheck.gateway.access import create_token
from spotcheck.gateway.app import create_app
from spotcheck.gateway.demo import upload_sampling_evidence
from spotcheck.gateway.settings import Settings
from spotcheck.gateway.store.models import Authority, InboundMessage, Merchant, RecordUpload
from spotcheck.gateway.store.types import new_id

ROOT = Path(__file__).resolve().parents[2]
EXAMPLE = ROOT / "examples" / "platform_node"
IN_CI = os.environ.get("CI", "").lower() in {"1", "true", "yes"}
PLATFORM = "node-mall"
SHOP = "shop-88001"
EVIDENCE = "a" * 64
ANSWERED = {"records.request", "merchant.identity_request", "stop_sale.order", "delisting.order", "takedown.order"}


def _node_or_skip() -> str:
    node = shutil.which("node")
    missing = (
        "node is not installed"
        if node is None
        else "examples/platform_node/node_modules is missing (run: make node-example)"
        if not (EXAMPLE / "node_modules" / "standardwebhooks").is_dir()
        else None
    )
    if missing is None and node is not None:
        return node
    if IN_CI:
        pytest.fail(f"the Node.js platform test needs node and npm ci: {missing} (CI=true: a failure, not a skip)")
    pytest.skip(f"the Node.js platform test needs node and npm ci: {missing}")


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


@contextlib.asynccontextmanager
async def _serve(app: Any, port: int) -> AsyncIterator[None]:
    config = uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning", access_log=False, lifespan="on")
    server = uvicorn.Server(config)
    task = asyncio.create_task(server.serve())
    while not server.started:
        if task.done():
            await task
        await asyncio.sleep(0.02)
    try:
        yield
    finally:
        server.should_exit = True
        await task


@contextlib.asynccontextmanager
async def _node_platform(node: str, env: dict[str, str], output: list[str]) -> AsyncIterator[None]:
    """Run the Node platform until it listens; always terminate (then kill) it, and keep what it printed."""
    process = await asyncio.create_subprocess_exec(
        node,
        str(EXAMPLE / "server.mjs"),
        env={"PATH": os.environ.get("PATH", ""), **env},
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.STDOUT,
    )
    listening = asyncio.Event()

    async def pump() -> None:
        assert process.stdout is not None
        async for raw in process.stdout:
            line = raw.decode(errors="replace").rstrip()
            output.append(line)
            if "listening" in line:
                listening.set()

    reader = asyncio.create_task(pump())
    try:
        async with asyncio.timeout(10):
            await asyncio.wait({reader, asyncio.create_task(listening.wait())}, return_when=asyncio.FIRST_COMPLETED)
        assert listening.is_set(), "the Node platform did not start:\n" + "\n".join(output)
        yield
    finally:
        if process.returncode is None:
            process.terminate()
            try:
                async with asyncio.timeout(5):
                    await process.wait()
            except TimeoutError:
                process.kill()
                await process.wait()
        with contextlib.suppress(TimeoutError):
            async with asyncio.timeout(2):
                await reader
        reader.cancel()


async def _until(check: Callable[[], Awaitable[bool]], what: str, output: list[str], limit_s: float = 20) -> None:
    try:
        async with asyncio.timeout(limit_s):
            while not await check():
                await asyncio.sleep(0.05)
    except TimeoutError:
        pytest.fail(f"timed out waiting for {what}; the Node platform printed:\n" + "\n".join(output))


async def test_node_platform_answers_a_whole_failing_case(tmp_path: Path) -> None:
    node = _node_or_skip()
    started = time.monotonic()
    port, platform_port = _free_port(), _free_port()
    base = f"http://127.0.0.1:{port}"
    settings = Settings().with_changes(
        {
            "store.data_dir": tmp_path / "gateway",
            "http.port": port,
            "http.public_base_url": base,
            "delivery.allow_private_endpoints": True,
            "worker.run": True,
            "log.level": "WARNING",
        }
    )
    (tmp_path / "gateway").mkdir()
    app = create_app(settings)
    reply_secret = "whsec_" + base64.b64encode(secrets.token_bytes(32)).decode()
    output: list[str] = []
    async with _serve(app, port), httpx.AsyncClient(base_url=f"{base}/v1", timeout=30) as api:
        async with app.state.runtime.sessions() as session, session.begin():
            authority = Authority(
                id=new_id("auth"), name="浙江省市场监督管理局", level="provincial", division_code="330000"
            )
            session.add(authority)
            await session.flush()
            token, row = create_token(authority.id, ["read", "write", "admin"], "node e2e")
            session.add(row)
        api.headers["authorization"] = f"Bearer {token}"

        async def call(path: str, body: dict[str, Any] | None = None) -> dict[str, Any]:
            response = await api.post(path, json=body or {})
            assert response.is_success, f"{path}: {response.status_code} {response.text}"
            result: dict[str, Any] = response.json()
            return result

        created = await call(
            "/platforms",
            {
                "id": PLATFORM,
                "name": "暖暖网络科技有限公司",
                "province_code": "330000",
                "contact": {"name": "平台合规部", "email": "compliance@node-mall.example"},
                "endpoint_url": f"http://127.0.0.1:{platform_port}/spotcheck",
                "inbound_keys": [reply_secret],
            },
        )
        env = {
            "PORT": str(platform_port),
            "GATEWAY_URL": base,
            "PLATFORM_ID": PLATFORM,
            "NOTICE_SECRET": created["outbound_signing_secret"],
            "REPLY_SECRET": reply_secret,
            "SCHEMAS_DIR": str(ROOT / "schemas" / "generated" / "json-schema"),
        }
        async with _node_platform(node, env, output):
            case_id = await _run_case(call, api, output)

            async def settled() -> bool:
                messages = (await api.get(f"/cases/{case_id}/messages")).json()
                return all(
                    m["status"] == "delivered"
                    and (m["recipient_kind"] != "platform" or m["acknowledged_at"])
                    and (m["message_type"] not in ANSWERED or m["answered_at"])
                    for m in messages
                )

            await _until(settled, "every notice delivered, acknowledged and answered", output)
            messages = (await api.get(f"/cases/{case_id}/messages")).json()
            to_platform = {m["message_type"] for m in messages if m["recipient_kind"] == "platform"}
            assert ANSWERED | {"sampling.notice", "result.notice", "results.published"} <= to_platform, to_platform

        async with app.state.runtime.sessions() as session:
            replies = (await session.scalars(select(InboundMessage).where(InboundMessage.case_id == case_id))).all()
            upload = (await session.scalars(select(RecordUpload).where(RecordUpload.case_id == case_id))).one()
            merchant = (await session.scalars(select(Merchant).where(Merchant.shop_id == SHOP))).one()
        case = (await api.get(f"/cases/{case_id}")).json()

    printed = "\n".join(output)
    assert "refused" not in printed, printed  # no delivery failed verification or the schema
    assert "could not answer" not in printed, printed
    assert "3 chunks" in printed, printed
    kinds = [r.message_type for r in replies]
    assert all(r.platform_id == PLATFORM for r in replies)
    platform_notices = [m for m in messages if m["recipient_kind"] == "platform"]
    assert kinds.count("notice.acknowledged") == len(platform_notices)
    assert kinds.count("order.confirmed") == 1
    assert kinds.count("records.unavailable") == 1  # 三(一): NODE-T-0002, declared with a reason
    assert kinds.count("merchant.identity") == 1
    assert kinds.count("takedown.reported") == 3  # stop-sale, delisting and takedown orders
    # The records upload: 2,500 records and 1,000 log lines in three chunks whose RFC 8785 digests the gateway checked.
    assert upload.completed_at is not None
    assert (upload.chunk_count, upload.received_chunks) == (3, 3)
    assert (upload.record_count, upload.log_count) == (2500, 1000)
    assert kinds.count("records.provided") == 3
    assert merchant.unreachable_since is not None  # the identity answer: the platform cannot identify the merchant
    reported = [m for m in case["measures"] if m["kind"] == "reported"]
    assert sorted(tuple(m["measures"]) for m in reported) == [
        ("delete", "block"),
        ("stop_sale",),
        ("stop_trading_service",),
    ]
    assert ["L-1001", "L-3003"] in [m["listings"] for m in reported]  # the delisting matched both spellings
    assert list(case["order_confirmation"]) == ["NODE-T-0001"], case
    assert time.monotonic() - started < 60


async def _run_case(call: Callable[..., Awaitable[dict[str, Any]]], api: httpx.AsyncClient, output: list[str]) -> str:
    """The regulator's steps of the Python demo: purchase to takedown, through the HTTP API."""
    now = datetime.now(UTC)
    merchant = await call(
        "/merchants",
        {
            "platform_id": PLATFORM,
            "shop_id": SHOP,
            "shop_name": "暖暖取暖器专营店",
            "kind": "registered_entity",
            "legal_name": "杭州某某电器有限公司",
            "uscc": "91330100799655058B",
            "registration_division": "330106",
        },
    )
    maker = await call("/manufacturers", {"name": "慈溪某某电器厂", "division_code": "330282"})
    case = await call(
        "/cases",
        {
            "merchant_id": merchant["id"],
            "manufacturer_id": maker["id"],
            "plan_reference": "浙市监抽〔2026〕12号",
            "product": {
                "sample_name": "电暖器",
                "trademark": "暖暖",
                "spec_model": "NN-HT2000",
                "listing_id": "L-1001",
                "production_date": "2026-09-01",
            },
        },
    )
    cid: str = case["id"]
    captures, video = await upload_sampling_evidence(api, cid)  # stored first: evidence is evidence (三(一))
    ordered = (now - timedelta(days=20)).isoformat()
    await call(
        f"/cases/{cid}/purchase",
        {
            "purchased_at": ordered,
            "buyer_account": "buyer_zj01",
            "buyer_name": "张三",
            "delivery_address": "杭州市西湖区某路1号",
            "amount_fen": 51800,
            "screenshots": captures,
            "orders": [
                {"order_no": "NODE-T-0001", "ordered_at": ordered, "amount_fen": 25900},
                {"order_no": "NODE-T-0002", "ordered_at": ordered, "amount_fen": 25900},
            ],
        },
    )
    await call(
        f"/cases/{cid}/sealing",
        {
            "sealed_at": (now - timedelta(days=15)).isoformat(),
            "sample_seal_no": "ZJ-FY-0001",
            "backup_seal_no": "ZJ-FY-0002",
            "witnesses": ["买样人 张三", "承检机构 李四", "执法人员 王五"],
            "evidence": [video],
        },
    )
    await call(f"/cases/{cid}/sampling-notice")
    await call(
        f"/cases/{cid}/records-request",
        {
            "order_nos": ["NODE-T-0001", "NODE-T-0002"],  # the platform has no record of the second
            "records_from": (now - timedelta(days=90)).isoformat(),
            "records_until": now.isoformat(),
        },
    )
    await call(
        f"/cases/{cid}/result",
        {
            "received_at": now.isoformat(),
            "conclusion": "fail",
            "report_no": "ZJQI-2026-0456",
            "institution": "浙江省质检院",
            "failing_items": [
                {"item": "泄漏电流", "standard": "GB 4706.1-2005", "required": "≤0.75 mA", "measured": "2.1 mA"}
            ],
            "hazardous": True,
            "mandatory_standard_failed": True,
        },
    )
    await call(f"/cases/{cid}/result-notices")
    for role in ("merchant", "manufacturer"):  # 三(三): each party's written waiver, its statement in evidence
        statement = await api.post(
            f"/cases/{cid}/evidence",
            params={"step": "other", "description": f"{role} 书面放弃复检声明"},
            content=f"%PDF-1.4\n% {role} {cid}\n%%EOF\n".encode(),
            headers={"content-type": "application/octet-stream"},
        )
        assert statement.status_code == 201, statement.text
        waiver = {"party_role": role, "waived_by": f"{role} 法定代表人", "statement_sha256": statement.json()["sha256"]}
        await call(f"/cases/{cid}/reinspection-waivers", waiver)
    await call(f"/cases/{cid}/finalize")
    await call(f"/cases/{cid}/publish")
    await call(f"/cases/{cid}/stop-sale", {"warning_measures": ["下架", "消费警示"]})
    await call(f"/cases/{cid}/delisting", {"mandatory_standard": "GB 4706.1-2005"})
    await call(f"/cases/{cid}/identity-request")

    async def identity_answered() -> bool:
        response = await api.get(f"/cases/{cid}/messages")
        return any(m["message_type"] == "merchant.identity_request" and m["answered_at"] for m in response.json())

    await _until(identity_answered, "the identity answer", output)
    await call(f"/cases/{cid}/takedown", {"measures": ["delete", "block"], "include_shop": True})
    return cid


async def test_node_platform_unit_tests() -> None:
    """``node --test`` in the example: its RFC 8785 digests equal the Python ones, and its receiver's answers."""
    node = _node_or_skip()
    process = await asyncio.create_subprocess_exec(
        node, "--test", cwd=EXAMPLE, stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.STDOUT
    )
    try:
        async with asyncio.timeout(60):
            out, _ = await process.communicate()
    finally:
        if process.returncode is None:
            process.kill()
            await process.wait()
    assert process.returncode == 0, out.decode(errors="replace")
