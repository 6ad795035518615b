"""Console fixtures: officers logged in through the real login form, on SQLite and on PostgreSQL.

``await console.login(authority_code="330100", role="officer")`` creates the authority when missing (with an API
token, ``.token``, to set up data through the JSON API), creates an officer with a password, logs in through
``/console/login`` like a browser and returns a :class:`ConsoleClient` whose ``.get``/``.post`` carry its session
cookie and CSRF token. Several officers can be logged in at once in one test: each client keeps its own cookies.
"""

from __future__ import annotations

import itertools
import re
from dataclasses import dataclass, field
from http.cookies import SimpleCookie
from typing import Any

import httpx
import pytest
from sqlalchemy import select

from spotcheck.gateway.console.accounts import AccountService
from spotcheck.gateway.console.security import PRE_COOKIE, SESSION_COOKIE, sign_csrf
from spotcheck.gateway.store.models import Authority

AUTHORITY_NAMES = {
    "100000": "国家市场监督管理总局",
    "330000": "浙江省市场监督管理局",
    "330100": "杭州市市场监督管理局",
    "330106": "杭州市西湖区市场监督管理局",
    "440000": "广东省市场监督管理局",
    "440100": "广州市市场监督管理局",
}
PASSWORD = "Zheshi-yige-mima-2026"
_CSRF_INPUT = re.compile(r'name="csrf_token" value="([^"]+)"')
_REDIRECTS = {301, 302, 303, 307, 308}
_numbers = itertools.count(1)


def csrf_of(html: str) -> str:
    """The CSRF token in a page's first form."""
    found = _CSRF_INPUT.search(html)
    assert found, "the page has no csrf_token field"
    return found.group(1)


@dataclass
class ConsoleClient:
    """A browser of one officer: its own cookies, sent explicitly (the shared test client's jar is never used).

    Attributes:
        gateway: the gateway under test (``gateway.post(path, client.token, body)`` for JSON API set-up).
        token: an API token (read, write, admin) of the officer's authority.
        username: the officer's username; ``password`` their password.
        authority_code: the division code of the officer's authority; ``authority_id`` its id.
    """

    gateway: Any
    token: str
    username: str
    password: str
    authority_code: str
    authority_id: str
    cookies: dict[str, str] = field(default_factory=dict)

    @property
    def session_id(self) -> str | None:
        """The session cookie's value (None before login or after logout)."""
        return self.cookies.get(SESSION_COOKIE)

    @property
    def csrf_token(self) -> str:
        """The CSRF token of this client's session (what every page's forms carry)."""
        assert self.session_id, "not logged in"
        return sign_csrf(self.gateway.client.app.state.runtime.master_key, "session", self.session_id)

    def _remember(self, response: httpx.Response) -> None:
        for header in response.headers.get_list("set-cookie"):
            jar: SimpleCookie = SimpleCookie()
            jar.load(header)
            for name, morsel in jar.items():
                if morsel["max-age"] == "0" or not morsel.value:
                    self.cookies.pop(name, None)
                else:
                    self.cookies[name] = morsel.value
        self.gateway.client.cookies.clear()  # the shared client must not carry one officer's cookie to another

    def _headers(self, extra: dict[str, str] | None) -> dict[str, str]:
        headers = dict(extra or {})
        if self.cookies:
            headers["cookie"] = "; ".join(f"{name}={value}" for name, value in self.cookies.items())
        return headers

    async def get(
        self, path: str, *, headers: dict[str, str] | None = None, follow_redirects: bool = False
    ) -> httpx.Response:
        """GET a console page as this officer (redirects followed only when asked, keeping the cookies)."""
        response: httpx.Response = await self.gateway.client.get(
            path, headers=self._headers(headers), follow_redirects=False
        )
        self._remember(response)
        if follow_redirects and response.status_code in _REDIRECTS:
            return await self.get(response.headers["location"], headers=headers, follow_redirects=True)
        return response

    async def post(
        self,
        path: str,
        data: dict[str, Any] | None = None,
        *,
        files: Any = None,
        headers: dict[str, str] | None = None,
        csrf: bool = True,
        follow_redirects: bool = False,
    ) -> httpx.Response:
        """POST a form as this officer, with the session's CSRF token unless ``csrf=False``."""
        body = dict(data or {})
        if csrf and "csrf_token" not in body:
            body["csrf_token"] = self.csrf_token
        response: httpx.Response = await self.gateway.client.post(
            path, data=body, files=files, headers=self._headers(headers), follow_redirects=False
        )
        self._remember(response)
        if follow_redirects and response.status_code in _REDIRECTS:
            return await self.get(response.headers["location"], follow_redirects=True)
        return response

    async def submit_login(self, username: str, password: str, *, next_path: str | None = None) -> httpx.Response:
        """Open the login page and send its form (with the pre-session CSRF token), like a browser."""
        login_url = "/console/login" + (f"?next={next_path}" if next_path else "")
        form_page = await self.get(login_url)
        assert form_page.status_code == 200, form_page.text
        assert PRE_COOKIE in self.cookies
        data = {"username": username, "password": password, "csrf_token": csrf_of(form_page.text)}
        if next_path is not None:
            data["next"] = next_path
        return await self.post("/console/login", data, csrf=False)


@dataclass
class Console:
    """Officers for the gateway under test."""

    gateway: Any

    async def authority(self, code: str) -> tuple[str, str]:
        """The authority of ``code`` (created when missing) as (its id, an API token of it)."""
        token = await self.gateway.authority(code, AUTHORITY_NAMES.get(code, f"{code} 市场监督管理局"))
        async with self.gateway.sessions() as session:
            authority_id = await session.scalar(select(Authority.id).where(Authority.division_code == code))
        assert authority_id is not None
        return authority_id, token

    async def create_officer(
        self,
        *,
        authority_code: str = "330100",
        role: str = "officer",
        username: str | None = None,
        password: str = PASSWORD,
        display_name: str | None = None,
    ) -> tuple[str, str, str]:
        """Create an officer (and the authority when missing); returns (username, authority id, API token)."""
        authority_id, token = await self.authority(authority_code)
        name = username or f"{role}-{authority_code}-{next(_numbers)}"
        async with self.gateway.sessions() as session:
            await AccountService(session, self.gateway.settings.console).create(
                name,
                authority_code=authority_code,
                role=role,
                password=password,
                display_name=display_name or f"测试{role}{authority_code}",
            )
        return name, authority_id, token

    def browser(
        self, *, token: str = "", username: str = "", authority_code: str = "", authority_id: str = ""
    ) -> ConsoleClient:
        """A client with no session yet (for login tests)."""
        return ConsoleClient(
            gateway=self.gateway,
            token=token,
            username=username,
            password=PASSWORD,
            authority_code=authority_code,
            authority_id=authority_id,
        )

    async def login(
        self,
        authority_code: str = "330100",
        role: str = "officer",
        *,
        username: str | None = None,
        display_name: str | None = None,
    ) -> ConsoleClient:
        """A logged-in officer of ``authority_code`` with ``role`` (officer, supervisor or admin)."""
        name, authority_id, token = await self.create_officer(
            authority_code=authority_code, role=role, username=username, display_name=display_name
        )
        client = self.browser(token=token, username=name, authority_code=authority_code, authority_id=authority_id)
        response = await client.submit_login(name, PASSWORD)
        assert response.status_code == 303, response.text
        assert client.session_id, "the login set no session cookie"
        return client


@pytest.fixture
def console(gateway: Any) -> Console:
    """Officers of the gateway under test (SQLite, then PostgreSQL): ``await console.login("330100", "officer")``."""
    return Console(gateway)
