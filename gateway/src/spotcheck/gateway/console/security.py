"""The console's browser security: session and CSRF cookies, CSRF tokens, response headers, safe redirects.

CSRF tokens are HMAC-SHA256, under a key derived from the master key, of the session id (logged in) or of a random
nonce in a pre-session cookie (the login form), so they need no storage and cannot be forged without the key. Every
console POST must carry the token (form field ``csrf_token`` or header ``X-CSRF-Token``); see
:func:`spotcheck.gateway.console.errors.csrf_guard`. Cookies are HttpOnly, SameSite=Strict, on ``/console``, and
Secure whenever the request came over https or the gateway's public base URL is https.

Every response under ``/console`` carries a Content-Security-Policy with scripts only from the gateway itself (no
inline script, no ``eval``), no framing, ``nosniff`` and a same-origin referrer.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import re
import secrets
from typing import Any, Final
from urllib.parse import urlsplit

from litestar import Request
from litestar.datastructures import Cookie, MutableScopeHeaders
from litestar.middleware import ASGIMiddleware
from litestar.types import ASGIApp, Message, Receive, Scope, Send

from spotcheck.gateway.access import MasterKey

__all__ = [
    "CONSOLE_PREFIX",
    "CONTENT_SECURITY_POLICY",
    "CSRF_FIELD",
    "CSRF_HEADER",
    "LOGIN_PATH",
    "PRE_COOKIE",
    "SECURITY_HEADERS",
    "SESSION_COOKIE",
    "ConsoleHeadersMiddleware",
    "csrf_matches",
    "csrf_token_for",
    "expected_csrf_token",
    "is_console_path",
    "is_secure",
    "safe_next",
    "session_cookie",
    "sign_csrf",
]

CONSOLE_PREFIX: Final = "/console"
LOGIN_PATH: Final = "/console/login"
SESSION_COOKIE: Final = "spotcheck_console"
PRE_COOKIE: Final = "spotcheck_console_pre"
CSRF_FIELD: Final = "csrf_token"
CSRF_HEADER: Final = "x-csrf-token"
_PRE_NONCE_STATE: Final = "spotcheck.console_pre_nonce"
_PRE_MAX_AGE: Final = 2 * 3600
_TOKEN_SHAPE: Final = re.compile(r"\A[A-Za-z0-9_-]{20,100}\Z")
CONTENT_SECURITY_POLICY: Final = "; ".join(
    (
        "default-src 'self'",
        "script-src 'self'",
        # Stylesheets only from the gateway; a style attribute (a bar's width) is harmless and allowed.
        "style-src 'self'",
        "style-src-elem 'self'",
        "style-src-attr 'unsafe-inline'",
        "img-src 'self' data: blob:",
        "media-src 'self' blob:",
        "font-src 'self'",
        "connect-src 'self'",
        "object-src 'none'",
        "base-uri 'none'",
        "form-action 'self'",
        "frame-ancestors 'none'",
    )
)
SECURITY_HEADERS: Final = {
    "content-security-policy": CONTENT_SECURITY_POLICY,
    "x-content-type-options": "nosniff",
    "referrer-policy": "same-origin",
    "x-frame-options": "DENY",
    "cross-origin-opener-policy": "same-origin",
}


def is_console_path(path: str) -> bool:
    """Whether ``path`` belongs to the console (``/console`` and below)."""
    return path == CONSOLE_PREFIX or path.startswith(CONSOLE_PREFIX + "/")


def _public_base_url(scope: Scope) -> str:
    settings = getattr(scope["app"].state, "settings", None)
    return str(settings.http.public_base_url) if settings is not None else ""


def _is_secure_scope(scope: Scope) -> bool:
    return scope.get("scheme") == "https" or _public_base_url(scope).startswith("https://")


def is_secure(request: Request[Any, Any, Any]) -> bool:
    """Whether cookies must be Secure: the request came over https, or the gateway is published on https."""
    return _is_secure_scope(request.scope)


def session_cookie(request: Request[Any, Any, Any], value: str, *, max_age: int | None) -> Cookie:
    """The session cookie (``value`` empty and ``max_age`` 0 to delete it)."""
    return Cookie(
        key=SESSION_COOKIE,
        value=value,
        path=CONSOLE_PREFIX,
        max_age=max_age,
        httponly=True,
        samesite="strict",
        secure=is_secure(request),
    )


def sign_csrf(master_key: MasterKey, kind: str, value: str) -> str:
    """The CSRF token bound to ``value`` (``kind`` ``session``: a session id; ``pre``: a pre-session nonce)."""
    key = master_key.derive("console-csrf/v1")
    digest = hmac.new(key, f"{kind}\n{value}".encode(), hashlib.sha256).digest()
    return base64.urlsafe_b64encode(digest).rstrip(b"=").decode()


def _mac(request: Request[Any, Any, Any], kind: str, value: str) -> str:
    return sign_csrf(request.app.state.runtime.master_key, kind, value)


def _cookie(request: Request[Any, Any, Any], name: str) -> str | None:
    value = request.cookies.get(name)
    return value if value and _TOKEN_SHAPE.match(value) else None


def expected_csrf_token(request: Request[Any, Any, Any]) -> str | None:
    """The token a POST to this path must carry: bound to the pre-session nonce on the login form, else the session.

    None when the request has no cookie to bind a token to (such a POST is refused).
    """
    if request.url.path == LOGIN_PATH:
        nonce = _cookie(request, PRE_COOKIE)
        return _mac(request, "pre", nonce) if nonce else None
    session_id = _cookie(request, SESSION_COOKIE)
    return _mac(request, "session", session_id) if session_id else None


def csrf_token_for(request: Request[Any, Any, Any]) -> str:
    """The CSRF token to put in this page's forms (starting a pre-session cookie on the login page if needed)."""
    if request.url.path != LOGIN_PATH and (session_id := _cookie(request, SESSION_COOKIE)):
        return _mac(request, "session", session_id)
    state = request.scope.setdefault("state", {})
    nonce = _cookie(request, PRE_COOKIE) or state.get(_PRE_NONCE_STATE)
    if nonce is None:
        nonce = secrets.token_urlsafe(32)
        state[_PRE_NONCE_STATE] = nonce  # ConsoleHeadersMiddleware sets the cookie on the way out
    return _mac(request, "pre", nonce)


def csrf_matches(request: Request[Any, Any, Any], presented: str | None) -> bool:
    """Whether ``presented`` is this request's expected token (constant-time comparison)."""
    expected = expected_csrf_token(request)
    if expected is None or not presented:
        return False
    return hmac.compare_digest(expected.encode(), presented.encode("utf-8", "replace"))


def safe_next(raw: str | None) -> str:
    """Where to go after login: a path inside the console, never another site (``//evil``, a backslash, ``https:``)."""
    default = f"{CONSOLE_PREFIX}/"
    if not raw or len(raw) > 2000 or any(ord(char) < 0x20 or char == "\\" for char in raw):  # noqa: PLR2004
        return default
    parts = urlsplit(raw)
    if parts.scheme or parts.netloc or raw.startswith("//") or not is_console_path(parts.path):
        return default
    # A dot segment (also percent-encoded, which browsers resolve too) could climb out of /console.
    if parts.path == LOGIN_PATH or ".." in parts.path.split("/") or "%2e" in parts.path.lower():
        return default
    return raw


class ConsoleHeadersMiddleware(ASGIMiddleware):
    """Security headers on every console response (pages, errors, static files) and the pre-session cookie."""

    scopes = ("http",)  # type: ignore[assignment]

    async def handle(self, scope: Scope, receive: Receive, send: Send, next_app: ASGIApp) -> None:
        """Add the headers to responses under ``/console``; pass everything else through untouched."""
        path = str(scope.get("path", ""))
        if not is_console_path(path):
            await next_app(scope, receive, send)
            return

        async def send_with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers = MutableScopeHeaders.from_message(message)
                for name, value in SECURITY_HEADERS.items():
                    headers[name] = value
                if not path.startswith(f"{CONSOLE_PREFIX}/static/"):
                    headers["cache-control"] = "no-store"
                nonce = scope.get("state", {}).get(_PRE_NONCE_STATE)
                if nonce:
                    cookie = Cookie(
                        key=PRE_COOKIE,
                        value=nonce,
                        path=CONSOLE_PREFIX,
                        max_age=_PRE_MAX_AGE,
                        httponly=True,
                        samesite="strict",
                        secure=_is_secure_scope(scope),
                    )
                    headers.add("set-cookie", cookie.to_header(header=""))
            await send(message)

        await next_app(scope, receive, send_with_headers)
