"""The console's browser security: CSRF, cookie flags, headers, redirects, escaping, jurisdiction, vendored files."""

from __future__ import annotations

import hashlib
import re
from collections.abc import AsyncIterator
from importlib.resources import files
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import pytest
from litestar import get
from litestar.datastructures import State
from litestar.testing import AsyncTestClient, create_test_client
from sqlalchemy import select
from sqlalchemy.exc import TimeoutError as PoolTimeoutError

from spotcheck.gateway.access import MasterKey
from spotcheck.gateway.app import create_app
from spotcheck.gateway.cases.queries import CaseQueries
from spotcheck.gateway.console.accounts import AccountService
from spotcheck.gateway.console.auth import officer_for_session
from spotcheck.gateway.console.errors import with_console_pages
from spotcheck.gateway.console.render import NAV, environment
from spotcheck.gateway.console.security import SESSION_COOKIE, safe_next, sign_csrf
from spotcheck.gateway.runtime import Runtime
from spotcheck.gateway.settings import Settings
from spotcheck.gateway.store.models import Authority, Case
from spotcheck.gateway.store.models_console import ConsoleSession
from spotcheck.gateway.store.types import new_id
from spotcheck.gateway.web.problems import ProblemError, exception_handlers

from .conftest import PASSWORD, ConsoleClient, csrf_of

CSRF_REFUSED = "表单已失效或来源不明"
PRODUCT = {"sample_name": "儿童服装", "trademark": "巴拉巴拉", "spec_model": "110cm"}


# ---- CSRF ------------------------------------------------------------------------------------------------------


async def _sessions(console: Any) -> int:
    async with console.gateway.sessions() as session:
        return len((await session.scalars(select(ConsoleSession))).all())


async def test_a_console_post_without_a_valid_csrf_token_is_refused_with_403(console: Any) -> None:
    browser = await console.login()
    other = await console.login(role="admin")

    missing = await browser.post("/console/logout", {}, csrf=False)
    wrong = await browser.post("/console/logout", {"csrf_token": "A" * 43})
    borrowed = await browser.post("/console/logout", {"csrf_token": other.csrf_token})
    bad_header = await browser.post("/console/logout", {}, csrf=False, headers={"x-csrf-token": "forged-token-value"})

    for refused in (missing, wrong, borrowed, bad_header):
        assert refused.status_code == 403
        assert CSRF_REFUSED in refused.text
        assert refused.headers["content-type"].startswith("text/html")
    assert await _sessions(console) == 2  # nothing was done
    # The header htmx sends (hx-headers on <body>) is as good as the form field.
    by_header = await browser.post("/console/logout", {}, csrf=False, headers={"x-csrf-token": browser.csrf_token})
    assert by_header.status_code == 303
    assert await _sessions(console) == 1


async def test_the_login_form_needs_its_pre_session_token(console: Any) -> None:
    username, _, _ = await console.create_officer()
    browser = console.browser()
    form_page = await browser.get("/console/login")
    token = csrf_of(form_page.text)

    no_token = await browser.post("/console/login", {"username": username, "password": PASSWORD}, csrf=False)
    assert no_token.status_code == 403
    # A token without its cookie (a forged cross-site form carries no SameSite=Strict cookie) is refused too.
    stranger = console.browser()
    forged = await stranger.post(
        "/console/login", {"username": username, "password": PASSWORD, "csrf_token": token}, csrf=False
    )
    assert forged.status_code == 403
    assert stranger.session_id is None
    ok = await browser.post(
        "/console/login", {"username": username, "password": PASSWORD, "csrf_token": token}, csrf=False
    )
    assert ok.status_code == 303


# ---- cookies and headers ---------------------------------------------------------------------------------------


def _cookie_attributes(header: str) -> set[str]:
    return {part.strip().split("=")[0].lower() for part in header.split(";")[1:]}


async def test_session_cookie_is_httponly_samesite_strict_and_secure_behind_https(console: Any) -> None:
    # The gateway fixture publishes on https://spotcheck.example.gov.cn: cookies are Secure though the test is http.
    username, _, _ = await console.create_officer()
    browser = console.browser()
    form_page = await browser.get("/console/login")
    pre = form_page.headers["set-cookie"]
    answer = await browser.submit_login(username, PASSWORD)
    session_cookie = next(c for c in answer.headers.get_list("set-cookie") if c.startswith(SESSION_COOKIE + "="))

    for header in (pre, session_cookie):
        assert {"httponly", "secure", "path"} <= _cookie_attributes(header)
        assert "samesite=strict" in header.lower()
        assert "path=/console" in header.lower()
    assert "max-age" not in _cookie_attributes(session_cookie)  # ends with the browser; the server ends it sooner


@pytest.fixture
async def plain_http(tmp_path: Path) -> AsyncIterator[tuple[Runtime, Settings]]:
    """A runtime on SQLite whose public base URL is plain http (a developer's `make serve`)."""
    settings = Settings().with_changes(
        {
            "store.data_dir": tmp_path,
            "worker.run": False,
            "log.level": "WARNING",
            "http.public_base_url": "http://127.0.0.1:8000",
        }
    )
    runtime = Runtime(settings)
    await runtime.start()
    async with runtime.sessions() as session, session.begin():
        session.add(
            Authority(id=new_id("auth"), name="杭州市市场监督管理局", level="municipal", division_code="330100")
        )
    async with runtime.sessions() as session:
        await AccountService(session, settings.console).create(
            "li.si", authority_code="330100", role="officer", password=PASSWORD
        )
    try:
        yield runtime, settings
    finally:
        await runtime.stop()


@pytest.mark.parametrize(
    ("base_url", "secure"), [("http://testserver.local", False), ("https://testserver.local", True)]
)
async def test_cookies_are_secure_when_the_request_came_over_https(
    plain_http: tuple[Runtime, Settings], base_url: str, secure: bool
) -> None:
    runtime, settings = plain_http
    app = create_app(settings, runtime=runtime)
    async with AsyncTestClient(app=app, base_url=base_url) as client:
        form_page = await client.get("/console/login")
        data = {"username": "li.si", "password": PASSWORD, "csrf_token": csrf_of(form_page.text)}
        answer = await client.post("/console/login", data=data, follow_redirects=False)
    assert answer.status_code == 303
    [session_cookie] = [c for c in answer.headers.get_list("set-cookie") if c.startswith(SESSION_COOKIE + "=")]
    assert ("secure" in _cookie_attributes(session_cookie)) is secure
    assert "httponly" in _cookie_attributes(session_cookie)
    assert "samesite=strict" in session_cookie.lower()


def _assert_console_headers(headers: Any) -> None:
    policy = headers["content-security-policy"]
    directives = {part.strip().split(" ", 1)[0]: part.strip() for part in policy.split(";")}
    assert directives["script-src"] == "script-src 'self'"
    assert "unsafe-inline" not in directives["script-src"]
    assert "unsafe-eval" not in policy
    assert directives["frame-ancestors"] == "frame-ancestors 'none'"
    assert directives["object-src"] == "object-src 'none'"
    assert "unsafe-inline" not in directives["style-src"]
    assert headers["x-content-type-options"] == "nosniff"
    assert headers["referrer-policy"] == "same-origin"
    assert headers["x-frame-options"] == "DENY"


async def test_every_console_response_carries_the_security_headers(console: Any) -> None:
    browser = await console.login()
    anonymous = console.browser()
    responses = {
        "login page": await anonymous.get("/console/login"),
        "login redirect": await anonymous.get("/console/cases"),
        "unknown page": await browser.get("/console/no-such-page"),
        "csrf refusal": await browser.post("/console/logout", {}, csrf=False),
        "static file": await browser.get("/console/static/console.css"),
    }
    for name, response in responses.items():
        _assert_console_headers(response.headers)
        if name != "static file":
            assert response.headers["cache-control"] == "no-store", name
    assert responses["unknown page"].status_code == 404
    assert "页面不存在" in responses["unknown page"].text
    # The API is untouched: no console headers, problems stay JSON.
    api = await console.gateway.client.get("/v1/cases")
    assert "content-security-policy" not in api.headers
    assert api.headers["content-type"] == "application/problem+json"


async def test_pages_load_scripts_only_from_files(console: Any) -> None:
    page = await console.browser().get("/console/login")
    assert page.status_code == 200
    assert '<html lang="zh-CN">' in page.text
    assert 'name="viewport"' in page.text
    scripts = re.findall(r"<script([^>]*)>(.*?)</script>", page.text, re.DOTALL)
    assert scripts
    for attributes, body in scripts:
        assert body.strip() == ""  # no inline script: the CSP would refuse it
        assert re.search(r'src="/console/static/[\w.-]+\.js"', attributes)
    assert not re.search(r"\son[a-z]+\s*=", page.text)  # no inline event handler either


# ---- redirects after login -------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("/console/cases?state=planned", "/console/cases?state=planned"),
        ("/console/", "/console/"),
        ("/console", "/console"),
        (None, "/console/"),
        ("", "/console/"),
        ("//evil.example/console/", "/console/"),
        ("https://evil.example/console/", "/console/"),
        ("/\\evil.example", "/console/"),
        ("/console/\\..\\..\\evil", "/console/"),
        ("/v1/cases", "/console/"),
        ("/consoleevil", "/console/"),
        ("/console/../public/results", "/console/"),
        ("/console/%2e%2e/public/results", "/console/"),
        ("/console/%2E%2E/v1/cases", "/console/"),
        ("/console/login", "/console/"),
        ("/console/cases\r\nSet-Cookie: x=1", "/console/"),
        ("javascript:alert(1)", "/console/"),
    ],
)
def test_next_stays_inside_the_console(raw: str | None, expected: str) -> None:
    assert safe_next(raw) == expected


async def test_login_never_redirects_to_another_site(console: Any) -> None:
    username, _, _ = await console.create_officer()
    browser = console.browser()
    answer = await browser.submit_login(username, PASSWORD, next_path="//evil.example/steal")
    assert (answer.status_code, answer.headers["location"]) == (303, "/console/")


# ---- escaping --------------------------------------------------------------------------------------------------


async def test_a_display_name_with_markup_is_shown_as_text(console: Any) -> None:
    evil = "<script>alert(1)</script>"
    browser = await console.login(display_name=evil)
    async with console.gateway.sessions() as session:
        officer = await officer_for_session(session, browser.session_id, console.gateway.settings.console)
    assert officer is not None
    assert officer.display_name == evil
    html = (
        environment()
        .from_string(
            '{% extends "console/base.html" %}{% from "console/_macros.html" import field %}'
            "{% block content %}{{ field('shop', '店铺', value=shop, errors={'shop': shop}) }}{% endblock %}"
        )
        .render(officer=officer, csrf_token=browser.csrf_token, nav="cases", NAV=NAV, shop=evil)
    )
    assert evil not in html
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in html
    assert html.count("&lt;script&gt;") == 3  # the officer's name, the field's value and its error message


# ---- jurisdiction ----------------------------------------------------------------------------------------------


async def test_an_officer_acts_only_within_the_apis_jurisdiction(console: Any) -> None:
    gw = console.gateway
    hangzhou = await console.login("330100", "officer")
    zhejiang = await console.login("330000", "officer")
    guangdong = await gw.authority("440000", "广东省市场监督管理局")
    gd_platform = await gw.register_platform(guangdong, "gd-mall", province="440000")
    gd_merchant = await gw.post(
        "/v1/merchants",
        guangdong,
        {"platform_id": gd_platform.id, "shop_id": "gd-1", "shop_name": "广州某店", "kind": "natural_person"},
    )
    gd_case = await gw.post(
        "/v1/cases", guangdong, {"merchant_id": gd_merchant["id"], "plan_reference": "p", "product": PRODUCT}
    )
    zj_platform = await gw.register_platform(zhejiang.token, "zj-mall")
    zj_merchant = await gw.post(
        "/v1/merchants",
        zhejiang.token,
        {"platform_id": zj_platform.id, "shop_id": "zj-1", "shop_name": "杭州某店", "kind": "natural_person"},
    )
    zj_case = await gw.post(
        "/v1/cases", zhejiang.token, {"merchant_id": zj_merchant["id"], "plan_reference": "p", "product": PRODUCT}
    )

    runtime = gw.client.app.state.runtime
    async with gw.sessions() as session:
        in_hangzhou = await officer_for_session(session, hangzhou.session_id, gw.settings.console)
        in_zhejiang = await officer_for_session(session, zhejiang.session_id, gw.settings.console)
        assert in_hangzhou is not None
        assert in_zhejiang is not None
        assert in_hangzhou.principal.actor == f"authority:{hangzhou.authority_id}/officer:{hangzhou.username}"
        gd_row, zj_row = await session.get(Case, gd_case["id"]), await session.get(Case, zj_case["id"])
        assert gd_row is not None
        assert zj_row is not None
        # The officer's principal decides exactly as a token of the same authority would.
        assert not in_hangzhou.principal.can_access_case(gd_row)
        assert not in_hangzhou.principal.can_access_case(zj_row)  # a municipal bureau, a provincial case
        assert not in_zhejiang.principal.can_access_case(gd_row)
        assert in_zhejiang.principal.can_access_case(zj_row)
        for officer in (in_hangzhou, in_zhejiang):
            with pytest.raises(ProblemError) as refused:
                await CaseQueries(session, officer.principal, runtime).detail(gd_case["id"])
            assert refused.value.status_code == 403
        allowed = await CaseQueries(session, in_zhejiang.principal, runtime).detail(zj_case["id"])
        assert allowed.case.id == zj_case["id"]
        with pytest.raises(ProblemError) as no_scope:
            in_zhejiang.principal.require_scope("admin")
        assert no_scope.value.code == "insufficient-scope"
    # The same answer through the API with the authority's token.
    refused_api = await gw.client.get(f"/v1/cases/{gd_case['id']}", headers=gw.auth(hangzhou.token))
    assert refused_api.status_code == 403


@pytest.mark.parametrize(
    ("role", "scopes"),
    [
        ("officer", {"read", "write"}),
        ("supervisor", {"read", "write", "supervise"}),
        ("admin", {"read", "write", "admin"}),
    ],
)
async def test_roles_carry_the_scopes_of_the_contract(console: Any, role: str, scopes: set[str]) -> None:
    browser: ConsoleClient = await console.login("330000", role)
    assert browser.session_id is not None
    async with console.gateway.sessions() as session:
        officer = await officer_for_session(session, browser.session_id, console.gateway.settings.console)
    assert officer is not None
    assert officer.principal.scopes == frozenset(scopes)
    assert officer.principal.token_id == officer.id  # plans use it as the author: an officer can't approve their own
    assert officer.authority_name == "浙江省市场监督管理局"


# ---- vendored files --------------------------------------------------------------------------------------------


async def test_vendored_files_are_served_and_match_their_recorded_hashes(console: Any) -> None:
    static = Path(str(files("spotcheck.gateway.console") / "static"))
    recorded = re.findall(r"^\| `([^`]+)` \|.*\| `([0-9a-f]{64})` \|$", (static / "VENDORED.md").read_text(), re.M)
    assert {name for name, _ in recorded} == {"htmx.min.js", "uPlot.iife.min.js", "uPlot.min.css"}
    browser = console.browser()
    for name, digest in recorded:
        assert hashlib.sha256((static / name).read_bytes()).hexdigest() == digest, name
        served = await browser.get(f"/console/static/{name}")
        assert served.status_code == 200
        assert hashlib.sha256(served.content).hexdigest() == digest
    assert (await browser.get("/console/static/../auth.py")).status_code == 404


def test_csrf_tokens_depend_on_the_key_and_the_session() -> None:
    one, two = MasterKey(b"\x01" * 32), MasterKey(b"\x02" * 32)
    assert sign_csrf(one, "session", "abc") == sign_csrf(one, "session", "abc")
    assert sign_csrf(one, "session", "abc") != sign_csrf(two, "session", "abc")
    assert sign_csrf(one, "session", "abc") != sign_csrf(one, "session", "abd")
    assert sign_csrf(one, "session", "abc") != sign_csrf(one, "pre", "abc")


# ---- error pages -----------------------------------------------------------------------------------------------


@get("/console/boom", sync_to_thread=False)
def _console_boom() -> None:
    raise RuntimeError("a bug")


@get("/console/refused", sync_to_thread=False)
def _console_refused() -> None:
    raise ProblemError(403, "outside-jurisdiction", "this case is outside the authority's area")


@get("/console/busy", sync_to_thread=False)
def _console_busy() -> None:
    raise PoolTimeoutError("every connection is busy")


@get("/v1/boom", sync_to_thread=False)
def _api_boom() -> None:
    raise RuntimeError("a bug")


def test_console_errors_are_chinese_pages_and_the_api_keeps_its_problems() -> None:
    runtime = SimpleNamespace(master_key=MasterKey(b"\x07" * 32))
    with create_test_client(
        route_handlers=[_console_boom, _console_refused, _console_busy, _api_boom],
        exception_handlers=with_console_pages(exception_handlers),
        state=State({"runtime": runtime}),
        raise_server_exceptions=False,
    ) as client:
        boom = client.get("/console/boom")
        refused = client.get("/console/refused")
        busy = client.get("/console/busy")
        api = client.get("/v1/boom")
    assert boom.status_code == 500
    assert "系统错误" in boom.text
    assert "a bug" not in boom.text  # nothing of the failure leaks into the page
    assert refused.status_code == 403
    assert "此案件或对象不在您所在部门的管辖范围内" in refused.text
    assert "content-security-policy" in boom.headers
    assert (busy.status_code, busy.headers["retry-after"]) == (503, "5")  # the API's status, as a page
    assert "服务暂不可用" in busy.text
    assert api.status_code == 500
    assert api.headers["content-type"] == "application/problem+json"


async def test_a_wrong_method_on_a_console_page_is_a_chinese_page(console: Any) -> None:
    answer = await console.browser().get("/console/logout")
    assert answer.status_code == 405
    assert "不支持的操作" in answer.text
