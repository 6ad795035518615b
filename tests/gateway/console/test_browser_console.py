"""The console in a real headless Chromium: a failing, hazardous case walked through the console only, and axe-core.

The gateway is served for real (uvicorn on a loopback port, SQLite in tmp_path, its delivery worker running); the
platform is the demo marketplace of ``spotcheck demo``, built only on the public SDK, which verifies each notice,
acknowledges it and answers the delisting order with its takedown report. An officer logs in through
``/console/login`` and takes every step of the case in the browser, from opening it to the delisting order, then
reads the platform's report on the case page. Set-up of the registry (platform, merchant, manufacturer) goes
through the JSON API, as an operator would. Screenshots land in ``test-artifacts/``; axe-core (vendored, see
``vendor/VENDORED.md``) must find no serious or critical violation on the login page, the dashboard, the case list
and the case detail, at 1280×800 and, for the case detail, on a 390-wide phone.
"""

from __future__ import annotations

import asyncio
import base64
import contextlib
import hashlib
import socket
import struct
import threading
import zlib
from collections.abc import AsyncIterator, Awaitable, Callable
from pathlib import Path
from typing import Any

import pytest
import uvicorn
from playwright.async_api import FilePayload, Locator, Page, ViewportSize, async_playwright

from spotcheck.gateway.app import create_app
from spotcheck.gateway.demo import DemoPlatform, Timeline
from spotcheck.sdk import generate_keypair
from tests.gateway.console.conftest import PASSWORD

pytestmark = pytest.mark.slow

ARTIFACTS = Path(__file__).resolve().parents[3] / "test-artifacts"
AXE = Path(__file__).resolve().parent / "vendor" / "axe.min.js"
AXE_SHA256 = "29348999450cdf2849a8e70b7912fc2da85a849da39c0d0d5394f51d4a9ed95c"
DESKTOP: ViewportSize = {"width": 1280, "height": 800}
PHONE: ViewportSize = {"width": 390, "height": 844}
BRAND, MODEL = "暖暖", "NN-HT2000"  # the demo platform lists this model under three spellings

# A short real WebM, recorded from a canvas by Chromium itself (the test needs a video the store accepts).
_RECORD_WEBM = """async () => {
  const c = document.createElement('canvas'); c.width = 160; c.height = 120;
  const g = c.getContext('2d'); const rec = new MediaRecorder(c.captureStream(10), {mimeType: 'video/webm'});
  const chunks = []; rec.ondataavailable = e => chunks.push(e.data); rec.start();
  for (let i = 0; i < 12; i++) { g.fillStyle = `hsl(${i * 30},80%,50%)`; g.fillRect(0, 0, 160, 120);
    await new Promise(r => setTimeout(r, 60)); }
  const stopped = new Promise(r => rec.onstop = r); rec.stop(); await stopped;
  const bytes = new Uint8Array(await new Blob(chunks).arrayBuffer());
  let s = ''; for (const b of bytes) s += String.fromCharCode(b); return btoa(s);
}"""
_WIDEST = """() => {
  const clipped = e => { for (let a = e.parentElement; a; a = a.parentElement) {
    if (['auto', 'scroll', 'hidden'].includes(getComputedStyle(a).overflowX)) return true; } return false; };
  return [...document.body.querySelectorAll('*')]
    .filter(e => e.getBoundingClientRect().right > document.documentElement.clientWidth + 1 && !clipped(e))
    .slice(0, 8).map(e => `${e.tagName}.${e.className}#${e.id} ${Math.round(e.getBoundingClientRect().right)}`);
}"""
_AXE_RUN = """async () => {
  const result = await axe.run(document, {resultTypes: ['violations']});
  return result.violations.map(v => ({id: v.id, impact: v.impact, help: v.help,
    nodes: v.nodes.slice(0, 5).map(n => n.target.join(' '))}));
}"""


@pytest.fixture
def database_url(tmp_path: Path) -> str:
    """SQLite only: the browser test serves the embedded default."""
    return f"sqlite+aiosqlite:///{tmp_path / 'gateway.db'}"


def _free_socket() -> socket.socket:
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.bind(("127.0.0.1", 0))
    return sock


@contextlib.asynccontextmanager
async def _serve(app: Any, sock: socket.socket) -> AsyncIterator[str]:
    """Serve ``app`` with uvicorn in a thread of its own on ``sock``; yields its base URL."""
    config = uvicorn.Config(app, log_level="warning", lifespan="on", ws="none", access_log=False)
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


@contextlib.asynccontextmanager
async def _serve_here(app: Any, sock: socket.socket) -> AsyncIterator[None]:
    """Serve ``app`` on this event loop (the demo platform's replies and their HTTP client live here too)."""
    server = uvicorn.Server(uvicorn.Config(app, log_level="warning", lifespan="on", ws="none", access_log=False))
    task = asyncio.create_task(server.serve(sockets=[sock]))
    try:
        while not server.started:
            if task.done():
                await task
            await asyncio.sleep(0.02)
        yield
    finally:
        server.should_exit = True
        await task
        sock.close()


@pytest.fixture
async def served(gateway: Any) -> AsyncIterator[str]:
    """The gateway (same database and data folder as ``gateway``) served with its delivery worker running."""
    app = create_app(gateway.settings.with_changes({"worker.run": True}))
    async with _serve(app, _free_socket()) as url:
        yield url


@pytest.fixture
async def registry(console: Any, served: str) -> AsyncIterator[dict[str, str]]:
    """The demo marketplace (serving its endpoint), a merchant on it and a manufacturer, registered via the API."""
    gw = console.gateway
    _, token = await console.authority("330000")
    reply_key, reply_public = generate_keypair()
    sock = _free_socket()
    created = await gw.post(
        "/v1/platforms",
        token,
        {
            "id": "demo-mall",
            "name": "暖暖网络科技有限公司",
            "province_code": "330000",
            "contact": {"name": "平台合规部", "email": "compliance@demo-mall.example"},
            "endpoint_url": f"http://127.0.0.1:{sock.getsockname()[1]}/spotcheck",
            "inbound_keys": [reply_public],
        },
    )
    platform = DemoPlatform(created["outbound_signing_secret"], reply_key, served, Timeline(echo=lambda _: None))
    merchant = await gw.post(
        "/v1/merchants",
        token,
        {
            "platform_id": "demo-mall",
            "shop_id": "shop-88001",
            "shop_name": "暖暖取暖器专营店",
            "kind": "registered_entity",
            "legal_name": "杭州某某电器有限公司",
            "uscc": "91330100799655058B",
            "registration_division": "330106",
        },
    )
    maker = await gw.post("/v1/manufacturers", token, {"name": "慈溪某某电器厂", "division_code": "330282"})
    async with _serve_here(platform.receiver.asgi_app(), sock):
        try:
            yield {"merchant_id": merchant["id"], "manufacturer_id": maker["id"]}
        finally:
            while platform.tasks:
                await asyncio.gather(*platform.tasks, return_exceptions=True)
            await platform.client.aclose()


def _png(rgb: tuple[int, int, int], size: int = 120) -> bytes:
    """A small real PNG of one colour with a darker band (puremagic recognises it; the page previews it)."""

    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data) & 0xFFFFFFFF)

    dark = bytes(c // 2 for c in rgb)
    rows = (b"\x00" + (dark if size // 3 <= y < size // 2 else bytes(rgb)) * size for y in range(size))
    header = struct.pack(">IIBBBBB", size, size, 8, 2, 0, 0, 0)
    return (
        b"\x89PNG\r\n\x1a\n"
        + chunk(b"IHDR", header)
        + chunk(b"IDAT", zlib.compress(b"".join(rows)))
        + chunk(b"IEND", b"")
    )


async def _axe(page: Page, where: str) -> None:
    """No serious or critical axe-core violation on the page now shown."""
    await page.add_script_tag(path=str(AXE))
    violations = await page.evaluate(_AXE_RUN)
    bad = [v for v in violations if v["impact"] in {"serious", "critical"}]
    assert not bad, f"{where}: {bad}"


async def _go(page: Page, click: Callable[[], Awaitable[None]]) -> None:
    async with page.expect_navigation():
        await click()


async def _upload(page: Page, name: str, mime: str, data: bytes, step: str, description: str) -> str:
    payload: FilePayload = {"name": name, "mimeType": mime, "buffer": data}
    await page.set_input_files("#evidence-file", files=[payload])
    await page.select_option("#evidence-step", step)
    await page.fill("#evidence-description", description)
    await _go(page, lambda: page.click("form.upload button[type=submit]"))
    assert "证据文件已上传并登记" in await page.inner_text("main"), await page.inner_text("main")
    return hashlib.sha256(data).hexdigest()


async def _act(page: Page, action: str, fill: Callable[[Locator], Awaitable[None]] | None = None) -> None:
    """Fill in and submit the form of ``action`` on the case page; the page must then say it was done."""
    form = page.locator(f'form[action$="/{action}"]')
    assert await form.count() == 1, f"{action} is not offered: {await page.inner_text('#actions + *')}"
    details = page.locator(f"details#action-{action}")
    if await details.get_attribute("open") is None:
        await details.locator("summary").click()
    if fill is not None:
        await fill(form)
    await _go(page, lambda: form.locator("button[type=submit]").click())
    notice = page.locator("p.notice.ok")
    if not await notice.count():
        alerts = await page.locator(".alert, .field-error").all_inner_texts()
        raise AssertionError(f"{action} was refused: {alerts}")


async def _fill(form: Locator, values: dict[str, str]) -> None:
    for name, value in values.items():
        await form.locator(f'[name="{name}"]').fill(value)


async def test_a_failing_hazardous_case_through_the_console_only(
    console: Any, served: str, registry: dict[str, str], chromium: Any
) -> None:
    assert hashlib.sha256(AXE.read_bytes()).hexdigest() == AXE_SHA256, "vendor/axe.min.js is not the vendored file"
    username, _, _ = await console.create_officer(authority_code="330000", display_name="张执法")
    ARTIFACTS.mkdir(parents=True, exist_ok=True)

    async with async_playwright() as playwright:
        browser = await playwright.chromium.launch(**chromium.launch_options())
        try:
            context = await browser.new_context(locale="zh-CN", timezone_id="Asia/Shanghai", viewport=DESKTOP)
            page = await context.new_page()
            errors: list[str] = []
            page.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)

            # Log in through the form.
            await page.goto(f"{served}/console/cases")
            assert "/console/login" in page.url
            await page.fill("input[name=username]", username)
            await page.fill("input[name=password]", PASSWORD)
            await _go(page, lambda: page.click("button[type=submit]"))
            assert page.url.endswith("/console/cases"), page.url

            # Open the case: the jurisdiction is shown (htmx) as soon as the merchant is chosen.
            await page.goto(f"{served}/console/cases/new")
            await page.select_option('select[name="merchant_id"]', registry["merchant_id"])
            await page.wait_for_selector("#jurisdiction dl")
            assert "本辖区内依法登记的网络商品经营者" in await page.inner_text("#jurisdiction")
            await page.select_option('select[name="manufacturer_id"]', registry["manufacturer_id"])
            form = page.locator('form[action="/console/cases/new"]')
            await _fill(
                form,
                {
                    "plan_reference": "浙市监抽〔2026〕12号",
                    "product.sample_name": "电暖器",
                    "product.trademark": BRAND,
                    "product.spec_model": MODEL,
                    "product.production_date": "2026-09-01",
                    "product.listing_id": "L-1001",
                },
            )
            await _go(page, lambda: form.locator("button.primary").click())
            assert "/console/cases/case_" in page.url, await page.inner_text("main")
            case_url = page.url.split("?", 1)[0]
            assert "330000 · 二: 本辖区内依法登记的网络商品经营者" in await page.inner_text("main")

            # Evidence: the screen captures of the purchase, the sealing video, the parties' written waivers.
            shots = {
                kind: await _upload(page, f"{kind}.png", "image/png", _png(rgb), step, f"{label}截屏")
                for kind, rgb, step, label in (
                    ("merchant", (30, 90, 160), "purchase", "经营者信息"),
                    ("product", (200, 120, 20), "listing", "商品信息"),
                    ("transaction", (40, 140, 60), "purchase", "交易过程"),
                )
            }
            video = base64.b64decode(await page.evaluate(_RECORD_WEBM))
            await _upload(page, "sealing.webm", "video/webm", video, "sealing", "拆封与封样全程录像")
            statement = await _upload(page, "waiver.png", "image/png", _png((120, 120, 120)), "other", "放弃复检声明")
            assert await page.locator(f'img[src="/console/evidence/{shots["product"]}"]').count() == 1
            assert await page.locator("video.preview").count() == 1
            assert statement in await page.inner_text("main")

            async def purchase(f: Locator) -> None:
                await _fill(
                    f,
                    {
                        "purchased_at": "2026-11-10T10:00",
                        "buyer_account": "buyer_zj01",
                        "buyer_name": "张三",
                        "delivery_address": "杭州市西湖区某路1号",
                        "orders[0].order_no": "DEMO-T-0001",
                        "orders[0].ordered_at": "2026-11-10T10:00",
                        "orders[0].amount_fen": "25900",
                    },
                )
                for kind, digest in shots.items():
                    await f.locator(f'input[name="screenshots.{kind}"][value="{digest}"]').check()

            await _act(page, "record_purchase", purchase)

            async def sealing(f: Locator) -> None:
                await _fill(
                    f,
                    {
                        "sealed_at": "2026-11-14T15:00",
                        "sample_seal_no": "FY-001",
                        "backup_seal_no": "FY-002",
                        "witnesses": "买样人 张三\n承检机构 李四\n执法人员 王五",
                    },
                )
                await f.locator('label:has-text("全程录像") input').check()

            await _act(page, "record_sealing", sealing)
            await _act(page, "send_sampling_notice")

            async def result(f: Locator) -> None:
                await _fill(
                    f,
                    {
                        "received_at": "2026-12-01T09:30",
                        "report_no": "ZJQI-2026-0088",
                        "institution": "浙江省质量科学研究院",
                        "failing_items[0].item": "泄漏电流",
                        "failing_items[0].standard": "GB 4706.1-2005",
                        "failing_items[0].required": "≤0.75 mA",
                        "failing_items[0].measured": "2.1 mA",
                    },
                )
                await f.locator('[name="conclusion"]').select_option("fail")
                await f.locator('[name="hazardous"]').check()
                await f.locator('[name="mandatory_standard_failed"]').check()

            await _act(page, "record_result", result)
            await _act(page, "send_result_notices")
            for role, who in (("merchant", "杭州某某电器有限公司"), ("manufacturer", "慈溪某某电器厂")):

                async def waiver(f: Locator, role: str = role, who: str = who) -> None:
                    await f.locator('[name="party_role"]').select_option(role)
                    await f.locator('[name="waived_by"]').fill(who)
                    await f.locator('[name="statement_sha256"]').select_option(statement)

                await _act(page, "waive_reinspection", waiver)
            await _act(page, "finalize")
            await _act(page, "publish")
            await _act(page, "order_delisting", lambda f: _fill(f, {"mandatory_standard": "GB 4706.1-2005"}))
            assert "停止销售名单通知（下架令）" in await page.inner_text("#notices ~ div")

            # The demo platform matches its listings, stops them and reports; the report shows on the case page.
            for _ in range(240):
                replies = await page.inner_text("main")
                if "处置情况报告" in replies:
                    break
                await asyncio.sleep(0.25)
                await page.goto(case_url)
            main = await page.inner_text("main")
            assert "处置情况报告" in main, main[-2000:]
            assert "停止提供交易服务" in main
            assert "L-1001、L-2002、L-3003" in main  # the three spellings of the listed model, not L-4004
            assert "L-4004" not in main
            assert "已送达" in main
            await page.goto(f"{case_url}#timeline")
            await page.screenshot(path=str(ARTIFACTS / "console-case-detail.png"), full_page=True)
            await page.goto(f"{served}/console/")
            await page.screenshot(path=str(ARTIFACTS / "console-dashboard.png"), full_page=True)
            assert not [e for e in errors if "Content Security Policy" in e], errors

            # A 390-wide phone: the case page fits the screen (tables scroll inside their own box).
            phone = await context.new_page()
            await phone.set_viewport_size(PHONE)
            await phone.goto(case_url)
            await phone.screenshot(path=str(ARTIFACTS / "console-case-detail-phone.png"), full_page=True)
            width = await phone.evaluate("document.documentElement.scrollWidth")
            wide = await phone.evaluate(_WIDEST)
            assert width <= PHONE["width"], f"the case page is {width}px wide on a 390px screen: {wide}"

            # axe-core, injected into pages whose own policy forbids inline scripts: a context that bypasses CSP,
            # logged in with the same session.
            state = await context.storage_state()
            checker = await browser.new_context(locale="zh-CN", viewport=DESKTOP, bypass_csp=True, storage_state=state)
            audit = await checker.new_page()
            for where, path in (
                ("dashboard", "/console/"),
                ("case list", "/console/cases"),
                ("case detail", case_url.removeprefix(served)),
                ("new case", "/console/cases/new"),
            ):
                await audit.goto(f"{served}{path}")
                await _axe(audit, where)
            await audit.set_viewport_size(PHONE)
            await audit.goto(case_url)
            await _axe(audit, "case detail (phone)")
            anonymous = await browser.new_context(locale="zh-CN", viewport=DESKTOP, bypass_csp=True)
            login = await anonymous.new_page()
            await login.goto(f"{served}/console/login")
            await _axe(login, "login")
        finally:
            await browser.close()

    for name in ("console-dashboard.png", "console-case-detail.png", "console-case-detail-phone.png"):
        assert (ARTIFACTS / name).stat().st_size > 20_000, name
