"""Gateway fixtures: an app on SQLite and again on the real PostgreSQL, with authorities, tokens and a platform."""

from __future__ import annotations

import asyncio
import contextlib
import os
import random
import socket
import struct
import threading
import time
import zlib
from collections import Counter
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
import uvicorn
from aiohttp import web
from litestar.testing import AsyncTestClient
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from spotcheck.gateway.access import Principal, authenticate, create_token, level_of_code
from spotcheck.gateway.app import create_app
from spotcheck.gateway.runtime import Runtime
from spotcheck.gateway.settings import Settings
from spotcheck.gateway.store.engine import create_engine, session_factory
from spotcheck.gateway.store.models import Authority, OutboundMessage
from spotcheck.gateway.store.types import new_id
from spotcheck.schemas import Reply, encode_message
from spotcheck.sdk import VerificationError, Webhook, generate_keypair, new_message_id


def evidence_png(marker: bytes) -> bytes:
    """A valid 1x1 PNG screen capture; different markers give different files (and digests)."""

    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))

    header = chunk(b"IHDR", struct.pack(">IIBBBBB", 1, 1, 8, 2, 0, 0, 0))
    pixels = chunk(b"IDAT", zlib.compress(b"\x00\xff\x00\x00"))
    return b"\x89PNG\r\n\x1a\n" + header + chunk(b"tEXt", b"Comment\x00" + marker) + pixels + chunk(b"IEND", b"")


EVIDENCE_MP4 = struct.pack(">I", 24) + b"ftypisom\x00\x00\x02\x00isomiso2" + struct.pack(">I", 8) + b"free" + bytes(64)
"""A minimal MP4 (the unpacking and sealing video)."""


@dataclass
class PlatformHandle:
    """A registered test platform: its id, the key it signs replies with, and the secret notices come with."""

    id: str
    reply_signer: Webhook
    notice_secret: str


@dataclass
class Gateway:
    """A running gateway under test with helpers to act as regulators and platforms."""

    client: AsyncTestClient[Any]
    settings: Settings
    # The app runs on the test client's own event loop; the test reaches the same database through its own engine.
    sessions: async_sessionmaker[AsyncSession]

    async def authority(
        self, code: str, name: str, *, scopes: tuple[str, ...] = ("read", "write", "admin"), email: str | None = None
    ) -> str:
        """Create an authority (or reuse the one with that code) and a token for it; returns the token."""
        async with self.sessions() as session, session.begin():
            from sqlalchemy import select

            authority = await session.scalar(select(Authority).where(Authority.division_code == code))
            if authority is None:
                level = (
                    "national"
                    if code == "100000"
                    else "provincial"
                    if code.endswith("0000")
                    else ("municipal" if code.endswith("00") else "county")
                )
                authority = Authority(
                    id=new_id("auth"), name=name, level=level, division_code=code, contact_email=email
                )
                session.add(authority)
                await session.flush()
            token, row = create_token(authority.id, list(scopes))
            session.add(row)
        return token

    def auth(self, token: str) -> dict[str, str]:
        return {"authorization": f"Bearer {token}"}

    async def upload_evidence(self, token: str, case_id: str, data: bytes, step: str, description: str) -> Any:
        """Upload one evidence file to the case; returns its ``EvidenceRef``-shaped entry."""
        response = await self.client.post(
            f"/v1/cases/{case_id}/evidence",
            params={"step": step, "description": description},
            content=data,
            headers={**self.auth(token), "content-type": "application/octet-stream"},
        )
        assert response.status_code in {200, 201}, f"evidence upload: {response.status_code} {response.text}"
        fields = ("sha256", "media_type", "size_bytes", "step", "description")
        return {key: response.json()[key] for key in fields}

    async def upload_image(self, token: str, case_id: str, marker: bytes, step: str, description: str) -> Any:
        """Upload a small PNG (a screen capture or photo) made unique by ``marker``; returns its entry."""
        return await self.upload_evidence(token, case_id, evidence_png(marker), step, description)

    async def sampling_evidence(self, token: str, case_id: str) -> tuple[dict[str, list[str]], list[Any]]:
        """Upload the purchase's screen captures and the sealing video (三(一)).

        Returns the purchase's ``screenshots`` and the sealing's ``evidence``.
        """
        captures = {}
        for kind, step, text in (
            ("merchant", "listing", "经营者信息截屏"),
            ("product", "listing", "商品信息截屏"),
            ("transaction", "purchase", "交易过程截屏"),
        ):
            ref = await self.upload_evidence(token, case_id, evidence_png(kind.encode()), step, text)
            captures[kind] = [ref["sha256"]]
        video = await self.upload_evidence(token, case_id, EVIDENCE_MP4, "sealing", "拆包查验及封样全程录像")
        return captures, [video]

    async def waive_reinspection(self, token: str, case_id: str, *, roles: tuple[str, ...] = ()) -> Any:
        """Record the written waivers (三(三)) of ``roles`` (default: merchant and manufacturer), each on a statement.

        Returns the case as the last waiver left it.
        """
        case: Any = None
        for role in roles or ("merchant", "manufacturer"):
            statement = f"%PDF-1.4\n% {role} 书面放弃复检声明 {case_id}\n%%EOF\n".encode()
            ref = await self.upload_evidence(token, case_id, statement, "other", f"{role} 放弃复检声明")
            waiver = {"party_role": role, "waived_by": f"{role} 法定代表人", "statement_sha256": ref["sha256"]}
            case = await self.post(f"/v1/cases/{case_id}/reinspection-waivers", token, waiver)
        return case

    async def post(self, path: str, token: str, body: dict[str, Any] | None = None, *, expect: int = 201) -> Any:
        response = await self.client.post(path, json=body or {}, headers=self.auth(token))
        assert response.status_code == expect, f"{path}: {response.status_code} {response.text}"
        return response.json()

    async def get(self, path: str, token: str, *, expect: int = 200) -> Any:
        response = await self.client.get(path, headers=self.auth(token))
        assert response.status_code == expect, f"{path}: {response.status_code} {response.text}"
        return response.json()

    async def register_platform(self, token: str, platform_id: str, *, province: str = "330000") -> PlatformHandle:
        secret_key, public_key = generate_keypair()
        created = await self.post(
            "/v1/platforms",
            token,
            {
                "id": platform_id,
                "name": f"{platform_id} 网络有限公司",
                "province_code": province,
                "contact": {"name": "合规部", "email": f"compliance@{platform_id}.example"},
                "adapter": "webhook",
                "endpoint_url": f"http://127.0.0.1:9/{platform_id}/spotcheck",
                "inbound_keys": [public_key],
            },
        )
        return PlatformHandle(
            id=platform_id, reply_signer=Webhook(secret_key), notice_secret=created["outbound_signing_secret"]
        )

    async def receiver_platform(
        self, receiver: Receiver, *, timeout_s: float = 0.5, platform_id: str = "flaky-mall"
    ) -> str:
        """Register a webhook platform pointing at a local receiver, which learns the notice secret."""
        token = await self.authority("330000", "浙江省市场监督管理局")
        created = await self.post(
            "/v1/platforms",
            token,
            {
                "id": platform_id,
                "name": "测试商城",
                "province_code": "330000",
                "contact": {"name": "合规部"},
                "endpoint_url": receiver.url,
                "adapter_config": {"timeout_s": timeout_s},
                "inbound_keys": [generate_keypair()[1]],
            },
        )
        receiver.secret = created["outbound_signing_secret"]
        return platform_id

    async def enqueue_raw(self, platform_id: str, count: int) -> list[str]:
        """Put ``count`` opaque messages for a platform straight into the outbox (the worker never decodes)."""
        ids = []
        async with self.sessions() as session, session.begin():
            for index in range(count):
                msg_id = new_message_id()
                ids.append(msg_id)
                session.add(
                    OutboundMessage(
                        id=msg_id,
                        case_id=None,
                        message_type="sampling.notice",
                        recipient_kind="platform",
                        recipient_id=platform_id,
                        recipient_name="测试商城",
                        adapter="webhook",
                        destination={"platform_id": platform_id},
                        body=b'{"type":"sampling.notice","n":%d}' % index,
                        timestamp=int(time.time()),
                    )
                )
        return ids

    async def reply(
        self,
        platform: PlatformHandle,
        message: Reply,
        *,
        msg_id: str | None = None,
        body: bytes | None = None,
        headers: dict[str, str] | None = None,
    ) -> Any:
        """Sign and send a platform reply; returns the raw response."""
        raw = body if body is not None else encode_message(message)
        signed = platform.reply_signer.headers(msg_id or new_message_id(), raw)
        signed["content-type"] = "application/json"
        signed.update(headers or {})
        return await self.client.post(f"/v1/intake/{platform.id}", content=raw, headers=signed)


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
async def database_url(
    request: pytest.FixtureRequest,
    tmp_path: Path,
    fresh_postgres: Callable[[], contextlib.AbstractAsyncContextManager[str]],
) -> AsyncIterator[str]:
    """The store under test: the embedded SQLite default, then the real PostgreSQL."""
    if request.param == "sqlite":
        yield f"sqlite+aiosqlite:///{tmp_path / 'gateway.db'}"
    else:
        async with fresh_postgres() as url:
            yield url


@pytest.fixture
async def gateway(database_url: str, tmp_path: Path) -> AsyncIterator[Gateway]:
    """A gateway app (no in-process worker) on the store under test."""
    settings = Settings().with_changes(
        {
            "store.data_dir": tmp_path,
            "store.database_url": database_url,
            "delivery.allow_private_endpoints": True,
            "worker.run": False,
            "log.json": True,
            "log.level": "WARNING",
            "http.public_base_url": "https://spotcheck.example.gov.cn",
        }
    )
    app = create_app(settings)
    async with AsyncTestClient(app=app) as client:
        engine = create_engine(database_url)
        try:
            yield Gateway(client=client, settings=settings, sessions=session_factory(engine))
            # Every request gave its connection back: one stranded session stalls an SQLite gateway for good.
            assert app.state.runtime.engine.pool.checkedout() == 0, "a request left its database session open"
        finally:
            await engine.dispose()


@dataclass
class Receiver:
    """A platform endpoint that verifies signatures and behaves as scripted."""

    url: str = ""
    secret: str = ""
    fail_rate: float = 0.0
    timeout_rate: float = 0.0
    latency_s: float = 0.0
    status: int | None = None
    headers: dict[str, str] = field(default_factory=dict)
    accepted: Counter[str] = field(default_factory=Counter)
    seen: Counter[str] = field(default_factory=Counter)
    in_flight: set[str] = field(default_factory=set)
    overlaps: list[str] = field(default_factory=list)
    peak_in_flight: int = 0
    rng: random.Random = field(default_factory=lambda: random.Random(7))

    async def handle(self, request: web.Request) -> web.Response:
        body = await request.read()
        try:
            Webhook(self.secret).verify(body, request.headers)
        except VerificationError as exc:
            return web.Response(status=401, text=exc.reason)
        msg_id = request.headers["webhook-id"]
        self.seen[msg_id] += 1
        if msg_id in self.in_flight:
            self.overlaps.append(msg_id)
        self.in_flight.add(msg_id)
        self.peak_in_flight = max(self.peak_in_flight, len(self.in_flight))
        try:
            roll = self.rng.random()
            if self.latency_s:
                await asyncio.sleep(self.latency_s)
            if self.status is not None:
                return web.Response(status=self.status, headers=self.headers, text="scripted")
            if roll < self.timeout_rate:
                await asyncio.sleep(2.0)  # longer than the adapter's timeout
            elif roll < self.timeout_rate + self.fail_rate:
                return web.Response(status=500, text="flaky")
            self.accepted[msg_id] += 1
            return web.json_response({"ok": True})
        finally:
            self.in_flight.discard(msg_id)


@contextlib.asynccontextmanager
async def _serving_receiver() -> AsyncIterator[Receiver]:
    spec = Receiver()
    app = web.Application()
    app.router.add_post("/hook", spec.handle)
    runner = web.AppRunner(app, handle_signals=False)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    port = site._server.sockets[0].getsockname()[1]  # type: ignore[union-attr]
    spec.url = f"http://127.0.0.1:{port}/hook"
    try:
        yield spec
    finally:
        await runner.cleanup()


@pytest.fixture
async def receiver() -> AsyncIterator[Receiver]:
    """A local platform endpoint on its own port."""
    async with _serving_receiver() as spec:
        yield spec


@pytest.fixture
async def second_receiver() -> AsyncIterator[Receiver]:
    """Another platform's endpoint, for tests where two platforms behave differently."""
    async with _serving_receiver() as spec:
        yield spec


# ---- published cases for the evidence, audit and public-page tests ----------------------------------------------


async def _drive_to_published(
    gw: Any,
    token: str,
    platform_id: str,
    *,
    shop: str,
    failing: bool = True,
    trademark: str = "美的",
    sample: str = "电热水壶",
    natural_person: bool = False,
    publish: bool = True,
    hazardous: bool = False,
) -> str:
    """Create a merchant, a manufacturer and a case, and drive the case through the API to published."""
    at = "2026-03-02T10:00:00+08:00"
    merchant: dict[str, Any] = {"platform_id": platform_id, "shop_id": shop, "shop_name": f"{shop} 旗舰店"}
    if natural_person:
        merchant |= {"kind": "natural_person", "legal_name": "王小明", "address": "杭州市某路1号"}
    else:
        merchant |= {"kind": "registered_entity", "legal_name": "杭州某某电器有限公司"}
        merchant["registration_division"] = "330106"
    merchant_id = (await gw.post("/v1/merchants", token, merchant))["id"]
    maker = await gw.post("/v1/manufacturers", token, {"name": "佛山某某电器制造有限公司", "division_code": "440604"})
    product = {"sample_name": sample, "trademark": trademark, "spec_model": "MK-HJ1705"}
    product["production_date"] = "2026-01-05"
    body = {
        "merchant_id": merchant_id,
        "manufacturer_id": maker["id"],
        "product": product,
        "plan_reference": "抽〔2026〕1号",
    }
    case_id: str = (await gw.post("/v1/cases", token, body))["id"]
    if not publish:
        return case_id
    screenshots, video = await gw.sampling_evidence(token, case_id)
    order = {"order_no": f"T-{shop}", "ordered_at": at, "amount_fen": 19900}
    purchase = {"purchased_at": at, "buyer_account": "buyer", "buyer_name": "张三", "orders": [order]}
    purchase |= {"delivery_address": "杭州市西湖区某路1号", "screenshots": screenshots}
    await gw.post(f"/v1/cases/{case_id}/purchase", token, purchase)
    sealing = {"sealed_at": at, "sample_seal_no": "FY-1", "backup_seal_no": "FY-2", "evidence": video}
    sealing["witnesses"] = ["买样人 张三", "承检机构 李四", "执法人员 王五"]
    await gw.post(f"/v1/cases/{case_id}/sealing", token, sealing)
    await gw.post(f"/v1/cases/{case_id}/sampling-notice", token)
    result: dict[str, Any] = {"received_at": at, "report_no": f"R-{shop}", "institution": "浙江省质检院"}
    if failing:
        item = {"item": "泄漏电流", "standard": "GB 4706.1-2005", "required": "≤0.75 mA", "measured": "2.1 mA"}
        result |= {"conclusion": "fail", "failing_items": [item]}
        if hazardous:  # endangers life or property and fails a mandatory standard: listable (四(二))
            result |= {"hazardous": True, "mandatory_standard_failed": True}
    else:
        result |= {"conclusion": "pass"}
    await gw.post(f"/v1/cases/{case_id}/result", token, result)
    await gw.post(f"/v1/cases/{case_id}/result-notices", token)
    if failing:
        await gw.waive_reinspection(token, case_id)
    await gw.post(f"/v1/cases/{case_id}/finalize", token)
    await gw.post(f"/v1/cases/{case_id}/publish", token)
    return case_id


@pytest.fixture
def publish_case() -> Any:
    """``await publish_case(gw, token, platform_id, shop=…, failing=…)``: a case driven to published; its id."""
    return _drive_to_published


# ---- services without HTTP: a started runtime on the store under test, and regulators as principals ------------


@pytest.fixture
async def runtime(database_url: str, tmp_path: Path) -> AsyncIterator[Runtime]:
    """A started runtime (migrated store, master key, calendar) for calling services directly."""
    settings = Settings().with_changes(
        {
            "store.data_dir": tmp_path,
            "store.database_url": database_url,
            "delivery.allow_private_endpoints": True,
            "worker.run": False,
            "log.level": "WARNING",
        }
    )
    started = Runtime(settings)
    await started.start()
    try:
        yield started
    finally:
        await started.stop()


RegulatorFactory = Callable[..., Awaitable[Principal]]


@pytest.fixture
def regulator(runtime: Runtime) -> RegulatorFactory:
    """``await regulator("330000", scopes=(...))``: the authority of that code (made once), authenticated."""

    async def make(code: str, *, scopes: tuple[str, ...] = ("read", "write", "admin")) -> Principal:
        async with runtime.sessions() as session, session.begin():
            authority = await session.scalar(select(Authority).where(Authority.division_code == code))
            if authority is None:
                level = level_of_code(code)
                authority = Authority(id=new_id("auth"), name=f"{code} 市场监督管理局", level=level, division_code=code)
                session.add(authority)
                await session.flush()
            token, row = create_token(authority.id, list(scopes))
            session.add(row)
        async with runtime.sessions() as session:
            principal = await authenticate(session, token)
        assert principal is not None
        return principal

    return make


# ---- the real browser (Debian's chromium) and a served gateway, for the public site's and the console's tests ----


@dataclass(frozen=True)
class Chromium:
    """Debian's chromium and how the browser tests launch it (headless, no sandbox in containers)."""

    path: Path
    args: tuple[str, ...] = (
        "--headless",
        "--no-sandbox",
        "--disable-gpu",
        "--disable-dev-shm-usage",
        "--disable-background-networking",
        "--disable-component-update",
        "--disable-sync",
        "--no-first-run",
    )

    def launch_options(self) -> dict[str, Any]:
        """Keyword arguments of Playwright's ``chromium.launch``."""
        return {"executable_path": str(self.path), "args": list(self.args), "headless": True}


@pytest.fixture
def chromium() -> Chromium:
    """Debian's chromium; missing it fails under CI=true (``make test`` installs it) and skips elsewhere."""
    path = Path("/usr/bin/chromium")
    if not path.exists():
        message = f"{path} is missing: apt-get install -y chromium fonts-wqy-microhei"
        if os.environ.get("CI", "").lower() in {"1", "true", "yes"}:
            pytest.fail(message)
        pytest.skip(message)
    return Chromium(path)


@pytest.fixture
async def served(gateway: Gateway) -> AsyncIterator[str]:
    """The same gateway (same database and data folder) served by uvicorn in a thread; yields its base URL."""
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.bind(("127.0.0.1", 0))
    config = uvicorn.Config(create_app(gateway.settings), log_level="warning", lifespan="on", ws="none")
    server = uvicorn.Server(config)
    thread = threading.Thread(target=server.run, kwargs={"sockets": [sock]}, daemon=True)
    thread.start()
    try:
        for _ in range(400):
            if server.started or not thread.is_alive():
                break
            await asyncio.sleep(0.05)
        assert server.started, "uvicorn did not start"
        yield f"http://127.0.0.1:{sock.getsockname()[1]}"
    finally:
        server.should_exit = True
        await asyncio.to_thread(thread.join, 15)
        sock.close()
