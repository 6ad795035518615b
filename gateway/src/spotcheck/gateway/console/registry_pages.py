"""平台 and 经营者与生产者: platforms with their keys and delivery health, merchants and manufacturers.

Reads go through the registry's services and :mod:`~spotcheck.gateway.console.registry_queries`; the two actions
call exactly what the API calls: :meth:`PlatformService.rotate_key` (the platform's new reply key) and
:func:`~spotcheck.gateway.delivery.service.replay_messages` (dead letters back in the queue), both under the
officer's principal, so they are authorised and audited as the API's are. Replay and rotation are an operator's
actions (the ``admin`` scope), as in the API.
"""

from __future__ import annotations

from typing import Any, Final
from urllib.parse import urlsplit, urlunsplit

from litestar import Controller, Request, Response, get, post
from litestar.datastructures import State
from litestar.di import Provide
from litestar.params import FromPath
from litestar.response import Redirect
from sqlalchemy import select

from spotcheck.gateway.console.auth import CurrentOfficer, Officer
from spotcheck.gateway.console.listing import PER_PAGE, offset_of, page_number, search_term
from spotcheck.gateway.console.registry_queries import (
    circuit_of,
    dead_letter_page,
    dead_letters_visible,
    manufacturer_page,
    merchant_page,
    recent_failures,
)
from spotcheck.gateway.console.render import page, pager, problem_message
from spotcheck.gateway.delivery.service import dead_letters, replay_messages
from spotcheck.gateway.registry.service import PlatformService
from spotcheck.gateway.runtime import Runtime
from spotcheck.gateway.store.models import Platform, PlatformKey
from spotcheck.gateway.store.types import utcnow
from spotcheck.gateway.web.deps import RuntimeDep, Session, provide_runtime
from spotcheck.gateway.web.problems import ProblemError

__all__ = ["RegistryPagesController"]

# Setting names that may hold a credential: never shown, even if an adapter kept one unsealed.
_SECRET_WORDS: Final = ("secret", "session", "password", "key", "token", "credential", "auth")
_MAX_ID: Final = 64
_MAX_OVERLAP_HOURS: Final = 24 * 30
_DONE: Final = {
    "key-rotated": "已登记平台的新回复密钥；旧密钥在重叠期结束后停止使用。",
    "replayed": "死信已重新放入投递队列。",
}

Req = Request[Any, Any, State]


def endpoint_shown(config: dict[str, Any]) -> str | None:
    """The endpoint URL without user information or query string (either may carry a credential)."""
    url = config.get("url")
    if not isinstance(url, str) or not url:
        return None
    parts = urlsplit(url)
    host = parts.hostname or ""
    if ":" in host:
        host = f"[{host}]"  # an IPv6 literal keeps its brackets
    try:
        port = parts.port
    except ValueError:
        return None  # not a URL a registration would have accepted: show nothing rather than guess
    return urlunsplit((parts.scheme, f"{host}:{port}" if port else host, parts.path, "", ""))


def settings_shown(config: dict[str, Any]) -> list[tuple[str, str]]:
    """The adapter's plain settings (never a sealed field, never anything named like a secret, never the URL)."""
    return [
        (name, str(value))
        for name, value in sorted(config.items())
        if name != "url"
        and not name.startswith("_")
        and not any(word in name.lower() for word in _SECRET_WORDS)
        and not isinstance(value, dict)
    ]


async def _platform(session: Session, platform_id: str) -> Platform:
    row = await session.get(Platform, platform_id) if len(platform_id) <= _MAX_ID else None
    if row is None:
        raise ProblemError(404, "not-found", f"没有该平台：{platform_id}")
    return row


class RegistryPagesController(Controller):
    """平台 (/console/platforms), 经营者 (/console/merchants) and 生产者 (/console/manufacturers)."""

    path = "/console"
    include_in_schema = False
    dependencies = {"runtime": Provide(provide_runtime)}  # noqa: RUF012 - Litestar reads it as a class attribute

    @get("/platforms")
    async def platforms(
        self, request: Req, session: Session, officer: CurrentOfficer, runtime: RuntimeDep
    ) -> Response[str]:
        """Every registered platform with its adapter, endpoint and the state of its deliveries."""
        rows = await PlatformService(session, officer.principal, runtime).list_platforms()
        dead = await dead_letters_visible(session, officer.principal)
        threshold = runtime.settings.delivery.circuit_failures
        listed = [
            {
                "platform": row,
                "endpoint": endpoint_shown(row.adapter_config),
                "circuit": await circuit_of(session, row, threshold=threshold),
                "dead": dead.get(row.id, 0),
            }
            for row in rows
        ]
        return page(request, "console/platforms.html", officer, platforms=listed)

    @get("/platforms/{platform_id:str}")
    async def platform(
        self, request: Req, platform_id: FromPath[str], session: Session, officer: CurrentOfficer, runtime: RuntimeDep
    ) -> Response[str]:
        """One platform: endpoint, adapter, key fingerprints and rotation, circuit, failures, dead letters."""
        done = _DONE.get(request.query_params.get("done", ""))
        count = request.query_params.get("count", "")
        if done and count.isdigit() and len(count) < 10:  # noqa: PLR2004 - a count, not an arbitrary string
            done = f"{done}（{int(count)} 条）"
        number = page_number(request.query_params.get("page"))
        context = await _platform_context(session, officer, runtime, platform_id, number)
        return page(request, "console/platform.html", officer, done=done, **context)

    @post("/platforms/{platform_id:str}/keys")
    async def rotate_key(
        self, request: Req, platform_id: FromPath[str], session: Session, officer: CurrentOfficer, runtime: RuntimeDep
    ) -> Response[str] | Redirect:
        """Register the platform's new reply key (inbound); older reply keys end after the overlap."""
        form = await request.form()
        key = str(form.get("key") or "").strip()
        overlap_raw = str(form.get("overlap_hours") or "").strip()
        errors: dict[str, str] = {}
        if not key:
            errors["key"] = "请填写平台提供的新公钥（whpk_…）或共享密钥（whsec_…）"
        elif len(key) > 200:  # noqa: PLR2004 - the API's limit on a key
            errors["key"] = "密钥过长（不超过 200 个字符）"
        overlap = 24
        if overlap_raw:
            if overlap_raw.isdigit() and int(overlap_raw) <= _MAX_OVERLAP_HOURS:
                overlap = int(overlap_raw)
            else:
                errors["overlap_hours"] = f"重叠期须为 0 至 {_MAX_OVERLAP_HOURS} 的整数（小时）"
        if not errors:
            try:
                await PlatformService(session, officer.principal, runtime).rotate_key(
                    platform_id, direction="inbound", key=key, overlap_hours=overlap
                )
            except ProblemError as exc:
                await session.rollback()
                if exc.status_code == 404:  # noqa: PLR2004
                    raise
                field = exc.errors[0].field if exc.errors else ""
                errors["key" if field == "key" else "form"] = problem_message(exc)
                status = exc.status_code
            else:
                return Redirect(f"/console/platforms/{platform_id}?done=key-rotated", status_code=303)
        else:
            status = 400
        context = await _platform_context(session, officer, runtime, platform_id, 1)
        # The key is not typed back into the page: it may be a shared secret.
        context.update(errors=errors, kept={"overlap_hours": overlap_raw})
        return page(request, "console/platform.html", officer, status_code=status, done=None, **context)

    @post("/platforms/{platform_id:str}/replay")
    async def replay(
        self, request: Req, platform_id: FromPath[str], session: Session, officer: CurrentOfficer, runtime: RuntimeDep
    ) -> Response[str] | Redirect:
        """Put one dead letter (``message_id``) or all of the platform's dead letters back in the queue."""
        await _platform(session, platform_id)
        form = await request.form()
        message_id = str(form.get("message_id") or "").strip()
        try:
            officer.principal.require_scope("admin")
            ids = await _dead_letters_to_replay(session, platform_id, message_id)
            count = await replay_messages(session, ids, actor=officer.principal.actor, wake_outbox=runtime.wake_outbox)
        except ProblemError as exc:
            await session.rollback()
            context = await _platform_context(session, officer, runtime, platform_id, 1)
            context["errors"] = {"replay": problem_message(exc)}
            return page(request, "console/platform.html", officer, status_code=exc.status_code, done=None, **context)
        return Redirect(f"/console/platforms/{platform_id}?done=replayed&count={count}", status_code=303)

    @get("/merchants")
    async def merchants(self, request: Req, session: Session, officer: CurrentOfficer) -> Response[str]:
        """The merchants of the officer's area: its object directory, its registrations and its cases' merchants."""
        term = search_term("q", request.query_params.get("q"))
        number = page_number(request.query_params.get("page"))
        rows, total = await merchant_page(
            session, officer.principal, term=term, offset=offset_of(number), limit=PER_PAGE
        )
        pages = pager("/console/merchants", {"q": term}, number, PER_PAGE, total)
        return page(request, "console/merchants.html", officer, rows=rows, pager=pages, q=term, tab="merchants")

    @get("/manufacturers")
    async def manufacturers(self, request: Req, session: Session, officer: CurrentOfficer) -> Response[str]:
        """The manufacturers located in the officer's area or named on its cases."""
        term = search_term("q", request.query_params.get("q"))
        number = page_number(request.query_params.get("page"))
        rows, total = await manufacturer_page(
            session, officer.principal, term=term, offset=offset_of(number), limit=PER_PAGE
        )
        pages = pager("/console/manufacturers", {"q": term}, number, PER_PAGE, total)
        return page(request, "console/manufacturers.html", officer, rows=rows, pager=pages, q=term, tab="manufacturers")


async def _dead_letters_to_replay(session: Session, platform_id: str, message_id: str) -> list[str]:
    """The platform's dead letters, or the one named (409 when it is not one of them: replayed meanwhile)."""
    ids = await dead_letters(session, platform_id=platform_id, since=None, until=None)
    if not message_id:
        return ids
    if message_id not in ids:
        raise ProblemError(409, "not-dead", f"消息 {message_id} 不是该平台的死信（可能已重放）")
    return [message_id]


async def _platform_context(
    session: Session, officer: Officer, runtime: Runtime, platform_id: str, number: int
) -> dict[str, Any]:
    """What the platform page shows (the same for a GET and for a form sent back with its errors)."""
    row = await _platform(session, platform_id)
    keys = (
        await session.scalars(
            select(PlatformKey).where(PlatformKey.platform_id == row.id).order_by(PlatformKey.created_at.desc())
        )
    ).all()
    principal = officer.principal
    letters, total = await dead_letter_page(session, principal, row.id, offset=offset_of(number), limit=PER_PAGE)
    return {
        "platform": row,
        "endpoint": endpoint_shown(row.adapter_config),
        "adapter_settings": settings_shown(row.adapter_config),
        "keys": keys,
        "now": utcnow(),
        "circuit": await circuit_of(session, row, threshold=runtime.settings.delivery.circuit_failures),
        "failures": await recent_failures(session, principal, row.id),
        "dead_letters": letters,
        "pager": pager(f"/console/platforms/{row.id}", {}, number, PER_PAGE, total),
        "can_operate": "admin" in principal.scopes,
        "errors": {},
        "kept": {},
    }
