"""The public results pages in a real headless Chromium: search, paginate, open a result, read the Chinese.

The gateway is served for real (uvicorn on a free loopback port, SQLite in tmp_path); two cases, one failing and
one passing, are driven to published through the API first. A screenshot lands in ``test-artifacts/``.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from playwright.async_api import async_playwright

pytestmark = pytest.mark.slow

SCREENSHOT = Path(__file__).resolve().parents[2] / "test-artifacts" / "public-results.png"


@pytest.fixture
def database_url(tmp_path: Path) -> str:
    """SQLite only: the browser test serves the embedded default."""
    return f"sqlite+aiosqlite:///{tmp_path / 'gateway.db'}"


async def test_public_results_in_headless_chromium(gateway: Any, publish_case: Any, served: str, chromium: Any) -> None:
    gw = gateway
    zj = await gw.authority("330000", "浙江省市场监督管理局")
    platform = await gw.register_platform(zj, "tmall-browser")
    failing = await publish_case(gw, zj, platform.id, shop="shop-kettle", trademark="美的", sample="电热水壶")
    passing = await publish_case(
        gw, zj, platform.id, shop="shop-soy", failing=False, trademark="九阳", sample="豆浆机", natural_person=True
    )

    async with async_playwright() as playwright:
        browser = await playwright.chromium.launch(**chromium.launch_options())
        try:
            page = await browser.new_page(locale="zh-CN", viewport={"width": 1400, "height": 900})
            await page.goto(f"{served}/public/results")
            assert await page.inner_text("h1") == "网络交易商品质量抽检结果公布"
            listing = await page.inner_text("main")
            assert "共 2 条结果" in listing
            assert "电热水壶" in listing
            assert "豆浆机" in listing
            assert "王**" in listing
            SCREENSHOT.parent.mkdir(parents=True, exist_ok=True)
            await page.screenshot(path=str(SCREENSHOT), full_page=True)

            # Search by trademark, through the form, as a visitor would.
            await page.fill("input[name=trademark]", "美的")
            async with page.expect_navigation():
                await page.click("button[type=submit]")
            assert "trademark=" in page.url
            rows = page.locator("tbody tr")
            assert await rows.count() == 1
            row = await rows.first.inner_text()
            assert "电热水壶" in row
            assert "不合格" in row
            assert "泄漏电流" in row

            # One result per page: the newest first, then the next page.
            await page.goto(f"{served}/public/results?per_page=1")
            assert "豆浆机" in await page.inner_text("tbody")
            assert "第 1 / 2 页" in await page.inner_text("nav.pager")
            async with page.expect_navigation():
                await page.click("a[rel=next]")
            assert "电热水壶" in await page.inner_text("tbody")
            assert "第 2 / 2 页" in await page.inner_text("nav.pager")

            # Open the result.
            async with page.expect_navigation():
                await page.click("tbody a")
            assert page.url.endswith(f"/public/results/{failing}")
            detail = await page.inner_text("main")
            for text in ("综合判定结论", "不合格", "主要不合格项目", "泄漏电流", "佛山某某电器制造有限公司"):
                assert text in detail
            await page.goto(f"{served}/public/results/{passing}")
            assert "合格" in await page.inner_text("dl.fields")
        finally:
            await browser.close()
    assert SCREENSHOT.stat().st_size > 10_000
