"""The dashboard and the case list in headless Chromium: the compliance chart draws under the page's CSP, both pages
fit a 390-wide phone, and axe-core finds no serious or critical violation with real figures on them.
"""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from playwright.async_api import async_playwright, expect
from playwright.async_api._generated import Page

from spotcheck.gateway.store.models import Case, Deadline, Merchant, OutboundMessage, Platform
from spotcheck.gateway.store.statuses import CaseState, DeadlineKind, DeadlineStatus, MessageStatus
from spotcheck.gateway.store.types import new_id

AXE = Path(__file__).resolve().parent / "vendor" / "axe.min.js"
ARTIFACTS = Path(__file__).resolve().parents[3] / "test-artifacts"
PASSWORD = "Zheshi-yige-mima-2026"  # the console fixture's test password
_AXE_RUN = """async () => {
  const result = await axe.run(document, {resultTypes: ['violations']});
  return result.violations.map(v => ({id: v.id, impact: v.impact, help: v.help,
    nodes: v.nodes.slice(0, 5).map(n => n.target.join(' '))}));
}"""


@pytest.fixture
def database_url(tmp_path: Path) -> str:
    """SQLite only: the browser test serves the embedded default."""
    return f"sqlite+aiosqlite:///{tmp_path / 'gateway.db'}"


async def _seed(gateway: Any, authority_id: str) -> None:
    """Two platforms with a season of answers, overdue clocks, a dead letter, a shop named like a script."""
    now = datetime.now(UTC)
    async with gateway.sessions() as session, session.begin():
        for platform_id, name in (("tmall", "天猫"), ("jd", "京东")):
            session.add(Platform(id=platform_id, name=name, province_code="330000"))
        await session.flush()
        for n in range(24):
            platform_id = ("tmall", "jd")[n % 2]
            merchant = Merchant(
                id=new_id("mer"),
                platform_id=platform_id,
                shop_id=f"s{n}",
                shop_name="<script>alert(1)</script>" if n == 0 else f"店铺{n}",
                kind="natural_person",
            )
            session.add(merchant)
            await session.flush()
            case = Case(
                id=new_id("case"),
                authority_id=authority_id,
                jurisdiction_division="330100",
                jurisdiction_basis="二",
                state=(CaseState.SAMPLING_NOTIFIED, CaseState.PUBLISHED, CaseState.CLOSED)[n % 3],
                platform_id=platform_id,
                merchant_id=merchant.id,
                sample_name=f"电热水壶{n}",
                trademark="美的",
                spec_model="MK-1",
            )
            session.add(case)
            await session.flush()
            issued = now - timedelta(days=4 * n + 1)
            late = n % 3 == 0
            session.add(
                Deadline(
                    id=new_id("dl"),
                    case_id=case.id,
                    **case.scope(),
                    kind=DeadlineKind.PLATFORM_ANSWER,
                    party=f"platform:{platform_id}",
                    due_at=issued + timedelta(days=2),
                    provisional=False,
                    rule="2 working days",
                    basis="工商消字〔2015〕189号 五(三); platform answer SLA",
                    status=DeadlineStatus.MET_LATE if late else DeadlineStatus.MET,
                    met_at=issued + timedelta(days=3 if late else 1),
                    created_at=issued,
                )
            )
            if n < 4:
                session.add(
                    Deadline(
                        id=new_id("dl"),
                        case_id=case.id,
                        **case.scope(),
                        kind=DeadlineKind.PLATFORM_ANSWER,
                        party=f"platform:{platform_id}",
                        due_at=now - timedelta(hours=n + 1),
                        provisional=False,
                        rule="2 working days",
                        basis="工商消字〔2015〕189号 五(三); platform answer SLA",
                        status=DeadlineStatus.ESCALATED,
                    )
                )
                session.add(
                    OutboundMessage(
                        id=new_id("msg"),
                        case_id=case.id,
                        **case.scope(),
                        message_type="takedown.order",
                        recipient_kind="platform",
                        recipient_id=platform_id,
                        recipient_name=f"{platform_id} 网络有限公司",
                        adapter="webhook",
                        destination={},
                        body=b"{}",
                        timestamp=0,
                        status=MessageStatus.DEAD if n == 0 else MessageStatus.PENDING,
                    )
                )


async def _axe(page: Page, where: str) -> None:
    await page.add_script_tag(path=str(AXE))
    violations = await page.evaluate(_AXE_RUN)
    bad = [v for v in violations if v["impact"] in {"serious", "critical"}]
    assert not bad, f"{where}: {bad}"


async def test_the_chart_draws_and_both_pages_pass_axe(console: Any, gateway: Any, served: str, chromium: Any) -> None:
    username, authority_id, _ = await console.create_officer(authority_code="330100", display_name="李执法")
    await _seed(gateway, authority_id)
    async with async_playwright() as playwright:
        browser = await playwright.chromium.launch(**chromium.launch_options())
        try:
            context = await browser.new_context(locale="zh-CN", viewport={"width": 1280, "height": 800})
            page = await context.new_page()
            errors: list[str] = []
            page.on("console", lambda message: errors.append(message.text) if message.type == "error" else None)
            page.on("pageerror", lambda exc: errors.append(str(exc)))
            dialogs: list[str] = []  # an alert() would mean a shop's name ran as a script

            async def on_dialog(dialog: Any) -> None:
                dialogs.append(dialog.message)
                await dialog.dismiss()

            page.on("dialog", on_dialog)
            # Every file a page loads is there (the browser's own favicon probe aside).
            missing: list[str] = []
            page.on(
                "response",
                lambda r: missing.append(r.url) if r.status >= 400 and not r.url.endswith("/favicon.ico") else None,
            )
            await page.goto(f"{served}/console/")
            await page.fill("#f-username", username)
            await page.fill("#f-password", PASSWORD)
            async with page.expect_navigation():
                await page.click("button[type=submit]")
            assert await page.title() == "工作台 — 网络商品抽检 监管工作台"
            # uPlot drew the weekly chart from the JSON block (no inline script ran: the CSP would refuse it).
            await page.wait_for_selector("#compliance-chart canvas", timeout=10_000)
            legend = await page.inner_text("#compliance-chart")
            assert "天猫" in legend and "京东" in legend
            assert "周（起）" in legend and "--" not in legend  # no bare placeholder beside the week
            # Hovering the plot names the week under the cursor by its first day (month-day, Beijing time).
            plot = page.locator("#compliance-chart .u-over")
            await plot.hover(position={"x": 40, "y": 40})  # scrolled into view first
            await plot.hover()
            week_value = page.locator("#compliance-chart .u-legend .u-series:first-child .u-value")
            await expect(week_value).not_to_have_text("—", timeout=5_000)  # polled from here: the CSP forbids eval
            week = await week_value.inner_text()
            assert re.fullmatch(r"\d{1,2}-\d{1,2}", week.strip()), week
            assert "<script>alert(1)</script>" in await page.inner_text("main")  # shown as text
            assert not dialogs, dialogs
            ARTIFACTS.mkdir(parents=True, exist_ok=True)
            await page.screenshot(path=str(ARTIFACTS / "console-dashboard-compliance.png"), full_page=True)
            assert not missing, missing
            assert not [e for e in errors if "Failed to load resource" not in e], errors

            await page.goto(f"{served}/console/cases?deadline=overdue")
            assert "共 4 条" in await page.inner_text("main")
            assert not missing, missing

            phone = await context.new_page()
            await phone.set_viewport_size({"width": 390, "height": 844})
            for path in ("/console/", "/console/cases"):
                await phone.goto(f"{served}{path}")
                width = await phone.evaluate("document.documentElement.scrollWidth")
                assert width <= 390, f"{path} is {width}px wide on a 390px screen"

            state = await context.storage_state()
            checker = await browser.new_context(
                locale="zh-CN", viewport={"width": 1280, "height": 800}, bypass_csp=True, storage_state=state
            )
            audit = await checker.new_page()
            for path in ("/console/", "/console/cases", "/console/cases?state=bogus"):
                await audit.goto(f"{served}{path}")
                await _axe(audit, path)
        finally:
            await browser.close()
