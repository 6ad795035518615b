"""Every console route, found in the app itself: pages need a session, POSTs need the CSRF token, none answers 5xx.

A page added later is covered without touching this test: forgetting the ``officer`` dependency or answering a
made-up identifier with a crash fails here.
"""

from __future__ import annotations

import re
from typing import Any
from urllib.parse import quote

from litestar.routes import HTTPRoute

OPEN_PATHS = {"/console/login", "/console/static/{file_path:path}"}
_PARAMETER = re.compile(r"\{(\w+):\w+\}")
_DUMMY = {"action": "purchase", "sha256": "ab" * 32}


def _concrete(path: str) -> str:
    """The route template with a made-up value for each parameter (an identifier nobody has)."""
    return _PARAMETER.sub(lambda match: _DUMMY.get(match.group(1), f"no-such-{match.group(1)}"), path)


def _console_routes(app: Any) -> list[tuple[str, str]]:
    """(method, template) of every console route but the open ones (login, static files)."""
    found: list[tuple[str, str]] = []
    for route in app.routes:
        if not isinstance(route, HTTPRoute) or not route.path.startswith("/console") or route.path in OPEN_PATHS:
            continue
        found.extend((method, route.path) for method in sorted(route.methods) if method in {"GET", "POST"})
    return found


async def test_every_console_route_needs_a_session_and_posts_need_the_csrf_token(console: Any) -> None:
    routes = _console_routes(console.gateway.client.app)
    assert ("POST", "/console/logout") in routes
    assert any(method == "GET" for method, _ in routes)
    anonymous = console.browser()
    admin = await console.login("330000", "admin")

    for method, template in routes:
        path = _concrete(template)
        if method == "GET":
            refused = await anonymous.get(path)
            assert refused.status_code == 303, f"GET {template} without a session: {refused.status_code}"
            assert refused.headers["location"] == f"/console/login?next={quote(path, safe='/')}"
        else:
            refused = await anonymous.post(path, {}, csrf=False)
            assert refused.status_code == 403, f"POST {template} without a session: {refused.status_code}"
            forged = await admin.post(path, {"csrf_token": "forged"})
            assert forged.status_code == 403, f"POST {template} with a forged token: {forged.status_code}"
            assert "表单已失效" in forged.text


async def test_no_console_route_answers_a_made_up_identifier_with_a_crash(console: Any) -> None:
    admin = await console.login("330000", "admin")
    for method, template in _console_routes(console.gateway.client.app):
        if template == "/console/logout":
            continue  # would end the session the rest of the walk needs
        path = _concrete(template)
        answer = await (admin.get(path) if method == "GET" else admin.post(path, {}))
        assert answer.status_code < 500, f"{method} {template}: {answer.status_code}"
        assert admin.session_id, f"{method} {template} ended the session"
