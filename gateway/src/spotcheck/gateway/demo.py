"""``spotcheck demo``: one failing case from purchase to delisting and takedown, against a demo platform.

The gateway (with its in-process worker) runs on a fresh SQLite file; the demo platform is built only with the
public SDK (:class:`spotcheck.sdk.Receiver`, :class:`spotcheck.sdk.AsyncGatewayClient`,
:class:`spotcheck.sdk.ListingMatcher`), exactly as a marketplace would embed it. The regulator's steps go through
the HTTP API. At the end the timeline shows who was told what, when, and every deadline.
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import secrets
import shutil
import socket
import struct
import zlib
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import uvicorn

from spotcheck.gateway.access import create_token
from spotcheck.gateway.app import create_app
from spotcheck.gateway.console.accounts import AccountService
from spotcheck.gateway.demo_plans import PlanTokens, run_plan_and_draw
from spotcheck.gateway.settings import Settings
from spotcheck.gateway.store.models import Authority
from spotcheck.gateway.store.types import new_id
from spotcheck.gateway.workdays import SHANGHAI
from spotcheck.schemas import (
    DelistingOrder,
    LogEntry,
    MerchantIdentityRequest,
    Notice,
    RecordsRequest,
    SamplingNotice,
    StopSaleOrder,
    TakedownOrder,
    TransactionRecord,
    message_type_of,
)
from spotcheck.sdk import AsyncGatewayClient, Delivery, ListingMatcher, Receiver, generate_keypair

__all__ = ["run_demo", "upload_sampling_evidence"]

_EVIDENCE = hashlib.sha256(b"spotcheck demo evidence").hexdigest()
_SHOP = "shop-88001"
_BRAND, _MODEL = "暖暖", "NN-HT2000"
DEMO_OFFICER = "demo"
"""The username of the demo bureau's console account (an administrator of the Zhejiang bureau)."""


# A minimal MP4 (ftyp + free boxes): the demo's unpacking and sealing video.
_VIDEO = struct.pack(">I", 24) + b"ftypisom\x00\x00\x02\x00isomiso2" + struct.pack(">I", 8) + b"free" + bytes(64)


def _capture(label: str) -> bytes:
    """A 1x1 PNG standing in for a screen capture; ``label`` makes each capture a distinct file."""

    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))

    header = chunk(b"IHDR", struct.pack(">IIBBBBB", 1, 1, 8, 2, 0, 0, 0))
    text = chunk(b"tEXt", b"Comment\x00" + label.encode())
    pixels = chunk(b"IDAT", zlib.compress(b"\x00\xff\x00\x00"))
    return b"\x89PNG\r\n\x1a\n" + header + text + pixels + chunk(b"IEND", b"")


async def _upload(
    api: httpx.AsyncClient, where: tuple[str, dict[str, str]], case_id: str, content: bytes, step: str, text: str
) -> dict[str, Any]:
    """Upload one evidence file to the case; its ``EvidenceRef`` fields."""
    prefix, headers = where
    uploaded = await api.post(
        f"{prefix}/cases/{case_id}/evidence",
        params={"step": step, "description": text},
        content=content,
        headers={**headers, "content-type": "application/octet-stream"},
    )
    if uploaded.is_error:
        raise RuntimeError(f"demo: the evidence upload answered {uploaded.status_code}: {uploaded.text}")
    body = uploaded.json()
    return {key: body[key] for key in ("sha256", "media_type", "size_bytes", "step", "description")}


async def upload_sampling_evidence(
    api: httpx.AsyncClient, case_id: str, *, prefix: str = "", headers: dict[str, str] | None = None
) -> tuple[dict[str, list[str]], dict[str, Any]]:
    """Upload a case's purchase screen captures and its unpacking and sealing video (三(一)).

    ``api`` reaches the regulator API at ``{prefix}/cases/…`` (a base URL ending in ``/v1`` and no prefix, or
    ``prefix="/v1"``) with a write token, its own or in ``headers``. Returns the purchase's ``screenshots``
    (merchant, product, transaction) and the video's ``EvidenceRef`` for the sealing.
    """
    where = (prefix, headers or {})
    captures = {
        kind: [(await _upload(api, where, case_id, _capture(f"{case_id}-{kind}"), step, text))["sha256"]]
        for kind, step, text in (
            ("merchant", "listing", "经营者信息截屏"),
            ("product", "listing", "商品信息截屏"),
            ("transaction", "purchase", "交易过程截屏"),
        )
    }
    return captures, await _upload(api, where, case_id, _VIDEO, "sealing", "拆包查验及封样全程录像")


def _fresh_dir(path: Path) -> None:
    shutil.rmtree(path, ignore_errors=True)
    path.mkdir(parents=True)


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


@dataclass(frozen=True)
class ConsoleLogin:
    """The demo officer's console login: made for this run's throwaway database, its password shown once."""

    username: str
    password: str


@dataclass
class Timeline:
    """What happened, in order, with the time since the start."""

    started: datetime = field(default_factory=lambda: datetime.now(UTC))
    lines: list[str] = field(default_factory=list)
    echo: Callable[[str], None] = print

    def add(self, who: str, what: str) -> None:
        """Record and print one line."""
        elapsed = (datetime.now(UTC) - self.started).total_seconds()
        line = f"+{elapsed:7.3f}s  {who:<10} {what}"
        self.lines.append(line)
        self.echo(line)


class DemoPlatform:
    """A marketplace built with the public SDK: it verifies notices, finds listings and replies."""

    def __init__(self, notice_secret: str, reply_key: str, gateway_url: str, timeline: Timeline) -> None:
        self.receiver = Receiver(notice_secret)
        self.client = AsyncGatewayClient(gateway_url, "demo-mall", reply_key, max_retries=8, backoff_max=2.0)
        self.timeline = timeline
        self.matcher = ListingMatcher(aliases={_BRAND: ["NuanNuan"]})
        # Three listings of the listed model under spelling variants, one different model that must stay.
        self.matcher.add("L-1001", trademark=_BRAND, spec_model=_MODEL)
        self.matcher.add("L-2002", trademark="NuanNuan", spec_model="nn ht2000")
        self.matcher.add("L-3003", trademark="暖暖®", spec_model="ＮＮ－ＨＴ２０００")
        self.matcher.add("L-4004", trademark=_BRAND, spec_model="NN-HT2000S")
        self.tasks: set[asyncio.Task[None]] = set()
        self.receiver.on_any(self._on_notice)

    async def _on_notice(self, notice: Notice, delivery: Delivery) -> None:
        kind = message_type_of(notice)
        self.timeline.add("platform", f"received {kind} ({delivery.message_id}) — signature verified")
        # Answer after acknowledging receipt: a real platform queues the work and answers 2xx at once.
        task = asyncio.create_task(self._answer(notice, delivery))
        self.tasks.add(task)
        task.add_done_callback(self.tasks.discard)

    async def _answer(self, notice: Notice, delivery: Delivery) -> None:
        case_id = notice.data.case_id
        now = datetime.now(UTC)
        await self.client.acknowledge(delivery.message_id, case_id, received_at=now)
        if isinstance(notice, RecordsRequest):
            await self.client.confirm_order(
                case_id,
                delivery.message_id,
                order_no="DEMO-T-0001",
                buyer_account="buyer_zj01",
                amount_fen=25900,
                paid_at=now - timedelta(days=20),
                shop_id=_SHOP,
                listing_snapshot_sha256=_EVIDENCE,
            )
            records = [
                TransactionRecord(
                    order_no=f"DEMO-T-{i:04d}",
                    shop_id=_SHOP,
                    item_title="暖暖取暖器 NN-HT2000",
                    quantity=1,
                    amount_fen=25900,
                    status="completed",
                    created_at=now - timedelta(days=i),
                )
                for i in range(1, 2501)
            ]
            logs = [
                LogEntry(at=now - timedelta(minutes=i), actor="system", action="order.pay", subject=f"DEMO-T-{i:04d}")
                for i in range(1, 1001)
            ]
            receipt = await self.client.provide_records(case_id, delivery.message_id, records, logs, chunk_size=1000)
            self.timeline.add(
                "platform",
                f"provided {len(records)} records and {len(logs)} log lines in "
                f"{receipt.chunk_count} signed chunks (set {receipt.set_sha256[:12]}…)",
            )
        elif isinstance(notice, MerchantIdentityRequest):
            await self.client.report_identity_unavailable(
                case_id, delivery.message_id, shop_id=_SHOP, reason="店铺已关闭，经营者登记的电话与地址均无效"
            )
            self.timeline.add("platform", "reported the merchant cannot be identified (五(一): platform liable)")
        elif isinstance(notice, StopSaleOrder):
            await self.client.report_takedown(
                case_id,
                delivery.message_id,
                order_type="stop_sale.order",
                measures_taken=["stop_sale"],
                listing_ids=["L-1001"],
                shop_ids=[_SHOP],
            )
            self.timeline.add("platform", "stopped the sampled listing L-1001 and reported it")
        elif isinstance(notice, DelistingOrder):
            matches = self.matcher.match(notice.data.trademark, notice.data.spec_model)
            found = [m.listing_id for m in matches]
            self.timeline.add(
                "platform",
                f"matcher found {found} for {notice.data.trademark} {notice.data.spec_model} "
                f"({', '.join(m.rule for m in matches)}); L-4004 (another model) kept",
            )
            await self.client.report_takedown(
                case_id,
                delivery.message_id,
                order_type="delisting.order",
                measures_taken=["stop_trading_service"],
                listing_ids=found,
                shop_ids=[],
            )
        elif isinstance(notice, TakedownOrder):
            await self.client.report_takedown(
                case_id,
                delivery.message_id,
                order_type="takedown.order",
                measures_taken=list(notice.data.measures),
                listing_ids=list(notice.data.listing_ids),
                shop_ids=[_SHOP],
                evidence_sha256=[_EVIDENCE],
            )
            self.timeline.add("platform", "deleted and blocked the listing and the virtual shop, reported it")
        elif isinstance(notice, SamplingNotice):
            self.timeline.add("platform", "relayed the sampling notice to the merchant (backup-return duty)")


@contextlib.asynccontextmanager
async def _serve(app: Any, port: int) -> AsyncIterator[None]:
    server = uvicorn.Server(
        uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning", access_log=False, lifespan="on")
    )
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


async def _bootstrap_token(app: Any) -> tuple[str, PlanTokens, ConsoleLogin]:
    runtime = app.state.runtime
    async with runtime.sessions() as session, session.begin():
        authority = Authority(
            id=new_id("auth"), name="浙江省市场监督管理局", level="provincial", division_code="330000"
        )
        session.add(authority)
        await session.flush()
        token, row = create_token(authority.id, ["read", "write", "admin"], "demo")
        session.add(row)
        # A supervisor approves the plan and a second officer enters the draw's beacon: never the author's token.
        supervisor, supervisor_row = create_token(authority.id, ["read", "supervise"], "demo supervisor")
        second, second_row = create_token(authority.id, ["read", "write"], "demo second officer")
        session.add_all([supervisor_row, second_row])
    # A person looks around in the console as this bureau's administrator; a fresh password each run, shown once.
    login = ConsoleLogin(DEMO_OFFICER, secrets.token_urlsafe(12))
    async with runtime.sessions() as session:
        await AccountService(session, runtime.settings.console, actor="demo").create(
            login.username, authority_code="330000", role="admin", password=login.password, display_name="演示账户"
        )
    return token, PlanTokens(author=token, supervisor=supervisor, second=second), login


async def _wait_for(check: Callable[[], Any], what: str, limit_s: float = 30.0) -> None:
    try:
        async with asyncio.timeout(limit_s):
            while not await check():  # noqa: ASYNC110 - the demo watches the gateway from outside, through its API
                await asyncio.sleep(0.05)
    except TimeoutError:
        raise RuntimeError(f"demo: timed out waiting for {what}") from None


async def run_demo(
    data_dir: Path, *, port: int = 8010, keep_running: bool = True, echo: Callable[[str], None] = print
) -> int:
    """Run the demo; returns 0 when every notice was delivered and every expected reply recorded."""
    await asyncio.to_thread(_fresh_dir, data_dir)
    base = f"http://127.0.0.1:{port}"
    settings = Settings().with_changes(
        {
            "store.data_dir": data_dir,
            "http.port": port,
            "http.public_base_url": base,
            "delivery.allow_private_endpoints": True,
            "worker.run": True,
            "log.level": "WARNING",
        }
    )
    timeline = Timeline(echo=echo)
    app = create_app(settings)
    platform_port = _free_port()
    reply_key, reply_public = generate_keypair()
    async with _serve(app, port), httpx.AsyncClient(base_url=f"{base}/v1", timeout=30) as api:
        token, plan_tokens, login = await _bootstrap_token(app)
        api.headers["authorization"] = f"Bearer {token}"
        timeline.add("regulator", f"gateway up at {base} (SQLite {settings.store.url.split('///')[-1]})")

        async def call(path: str, body: dict[str, Any] | None = None, what: str = "") -> dict[str, Any]:
            response = await api.post(path, json=body or {})
            if response.is_error:
                raise RuntimeError(f"demo: {path} answered {response.status_code}: {response.text}")
            if what:
                timeline.add("regulator", what)
            result: dict[str, Any] = response.json()
            return result

        created = await call(
            "/platforms",
            {
                "id": "demo-mall",
                "name": "暖暖网络科技有限公司",
                "province_code": "330000",
                "contact": {"name": "平台合规部", "email": "compliance@demo-mall.example"},
                "endpoint_url": f"http://127.0.0.1:{platform_port}/spotcheck",
                "inbound_keys": [reply_public],
            },
            "registered platform demo-mall (Standard Webhooks endpoint, Ed25519 reply key)",
        )
        platform = DemoPlatform(created["outbound_signing_secret"], reply_key, base, timeline)
        async with _serve(platform.receiver.asgi_app(), platform_port):
            await _run_case(call, api, timeline, plan_tokens)
            await _wait_for(lambda: _all_settled(api), "every notice delivered and answered", limit_s=60)
            while platform.tasks:
                await asyncio.gather(*platform.tasks)
            case_id = (await api.get("/cases")).json()[0]["id"]
            await call(f"/cases/{case_id}/close", {"note": "措施已执行，平台已报告"}, "closed the case")
            ok = await _print_summary(api, case_id, base, timeline, echo)
            _print_console(base, case_id, login, echo)
            await platform.client.aclose()
            if keep_running:
                echo("\nThe gateway keeps running; press Ctrl+C to stop.")
                with contextlib.suppress(asyncio.CancelledError):
                    await asyncio.Event().wait()
    return 0 if ok else 1


async def _run_case(
    call: Callable[..., Any], api: httpx.AsyncClient, timeline: Timeline, plan_tokens: PlanTokens
) -> None:
    now = datetime.now(UTC)
    drawn_product = {"sample_name": "电暖器", "trademark": "待抽样", "spec_model": "待抽样"}
    plan = await run_plan_and_draw(api, plan_tokens, lambda what: timeline.add("regulator", what), drawn_product)
    merchant = await call(
        "/merchants",
        {
            "platform_id": "demo-mall",
            "shop_id": _SHOP,
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
            "plan_id": plan.plan_id,
            "origin": {"kind": "targeted", "reason": "consumer_complaints", "reference": "12315 电暖器投诉汇总"},
            "product": {
                "sample_name": "电暖器",
                "trademark": _BRAND,
                "spec_model": _MODEL,
                "listing_id": "L-1001",
                "production_date": "2026-09-01",
            },
        },
        f"opened the case from plan {plan.number} (targeted: consumer complaints; jurisdiction: 330000, "
        "opinion 二: province of registration)",
    )
    cid = case["id"]
    # 三(一): the screen captures and the unpacking video go into the case's evidence before the steps cite them.
    captures, evidence = await upload_sampling_evidence(api, cid)
    await call(
        f"/cases/{cid}/purchase",
        {
            "purchased_at": (now - timedelta(days=20)).isoformat(),
            "buyer_account": "buyer_zj01",
            "buyer_name": "张三",
            "delivery_address": "杭州市西湖区某路1号",
            "buyer_id": "B1",
            "account": "buyer_zj01",
            "address_id": "A1",
            "amount_fen": 51800,
            "screenshots": captures,
            "orders": [
                {"order_no": "DEMO-T-0001", "ordered_at": (now - timedelta(days=20)).isoformat(), "amount_fen": 25900},
                {"order_no": "DEMO-T-0002", "ordered_at": (now - timedelta(days=20)).isoformat(), "amount_fen": 25900},
            ],
        },
        "recorded the purchase of sample and backup sample (orders DEMO-T-0001/0002)",
    )
    await call(
        f"/cases/{cid}/sealing",
        {
            "sealed_at": (now - timedelta(days=15)).isoformat(),
            "sample_seal_no": "ZJ-FY-0001",
            "backup_seal_no": "ZJ-FY-0002",
            "witnesses": ["买样人 张三", "承检机构 李四", "执法人员 王五"],
            "evidence": [evidence],
        },
        "recorded unpacking and sealing (the stored video cited by SHA-256)",
    )
    await call(f"/cases/{cid}/sampling-notice", None, "sent the sampling notice (三(一))")
    await call(
        f"/cases/{cid}/records-request",
        {
            "order_nos": ["DEMO-T-0001"],
            "records_from": (now - timedelta(days=90)).isoformat(),
            "records_until": now.isoformat(),
        },
        "asked the platform to confirm the order and provide records and logs",
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
        "recorded a failing, hazardous result",
    )
    view = await call(
        f"/cases/{cid}/result-notices",
        None,
        "notified merchant (via platform), manufacturer (announcement: no contact) and platform (三(二))",
    )
    timeline.add("regulator", f"re-inspection window open until {view['reinspection_deadline']} (三(三))")
    # 三(三): each party waives in writing; the statement is kept as the case's evidence and cited by its digest.
    for role, who in (("merchant", "某某电器旗舰店 经营者"), ("manufacturer", "慈溪某某电器厂 法定代表人")):
        statement = f"%PDF-1.4\n% {who} 书面放弃复检声明 {cid}\n%%EOF\n".encode()
        uploaded = await api.post(
            f"/cases/{cid}/evidence",
            params={"step": "other", "description": f"{who} 放弃复检声明"},
            content=statement,
            headers={"content-type": "application/octet-stream"},
        )
        if uploaded.is_error:
            raise RuntimeError(f"demo: the waiver statement upload answered {uploaded.status_code}: {uploaded.text}")
        waiver = {"party_role": role, "waived_by": who, "statement_sha256": uploaded.json()["sha256"]}
        await call(f"/cases/{cid}/reinspection-waivers", waiver, f"{role} waived re-inspection in writing (三(三))")
    await call(f"/cases/{cid}/finalize", None, "result final (every party waived in writing)")
    await call(f"/cases/{cid}/publish", None, "published the result (四(一))")
    await call(
        f"/cases/{cid}/stop-sale",
        {"warning_measures": ["下架", "消费警示"]},
        "ordered stop-sale; notified the manufacturer's authority (四(二))",
    )
    await call(
        f"/cases/{cid}/delisting",
        {"mandatory_standard": "GB 4706.1-2005"},
        "put it on the stop-sale list: delisting order to every platform (四(二))",
    )
    await call(f"/cases/{cid}/identity-request", None, "asked the platform for the merchant's identity (五(一))")

    async def unreachable() -> bool:
        response = await api.get(f"/cases/{cid}/messages")
        return any(m["message_type"] == "merchant.identity_request" and m["answered_at"] for m in response.json())

    await _wait_for(unreachable, "the identity answer")
    await call(
        f"/cases/{cid}/takedown",
        {"measures": ["delete", "block"], "include_shop": True},
        "merchant unreachable: takedown order for listing and virtual shop (四(二))",
    )


async def _all_settled(api: httpx.AsyncClient) -> bool:
    cases = (await api.get("/cases")).json()
    messages = (await api.get(f"/cases/{cases[0]['id']}/messages")).json()
    needs_answer = {
        "records.request",
        "merchant.identity_request",
        "stop_sale.order",
        "delisting.order",
        "takedown.order",
    }
    return all(
        m["status"] == "delivered"
        and (m["recipient_kind"] != "platform" or m["acknowledged_at"])
        and (m["message_type"] not in needs_answer or m["answered_at"])
        for m in messages
    )


async def _print_summary(
    api: httpx.AsyncClient, case_id: str, base: str, timeline: Timeline, echo: Callable[[str], None]
) -> bool:
    messages = (await api.get(f"/cases/{case_id}/messages")).json()
    case = (await api.get(f"/cases/{case_id}")).json()
    echo("\nWho was told what, when:")
    for m in messages:
        echo(
            f"  {m['created_at'][11:23]}  {m['message_type']:<26} → {m['recipient_kind']}:{m['recipient_name']:<14} "
            f"via {m['adapter']:<12} delivered {str(m['delivered_at'])[11:23]}  "
            f"ack {str(m['acknowledged_at'] or '-')[11:23]:<12} answered {str(m['answered_at'] or '-')[11:23]}"
        )
    echo("\nDeadlines:")
    for d in case["deadlines"]:
        flag = " (provisional)" if d["provisional"] else ""
        due = datetime.fromisoformat(d["due_at"]).astimezone(SHANGHAI).strftime("%Y-%m-%d %H:%M %Z")
        echo(f"  {d['kind']:<26} {d['party']:<20} due {due}  {d['status']}{flag}  [{d['rule']}; {d['basis']}]")
    echo(f"\nCase {case_id} is {case['state']}. Look at:")
    for url in (
        f"{base}/v1/cases/{case_id}",
        f"{base}/v1/cases/{case_id}/messages",
        f"{base}/schema",
        f"{base}/public/results",
        f"{base}/public/draws",
        f"{base}/metrics",
    ):
        echo(f"  {url}")
    ok = case["state"] == "closed" and all(m["status"] == "delivered" for m in messages)
    timeline.add("regulator", "every notice delivered and every reply recorded" if ok else "SOMETHING IS MISSING")
    return ok


def _print_console(base: str, case_id: str, login: ConsoleLogin, echo: Callable[[str], None]) -> None:
    echo(f"\nThe regulator console (监管工作台): {base}/console/cases/{case_id}")
    echo(f"  log in as {login.username} / {login.password}  (浙江省局 administrator; shown once, this demo only)")
