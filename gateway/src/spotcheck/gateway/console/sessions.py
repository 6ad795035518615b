"""Server-side console sessions: opened at login, found by the cookie's random id, ended by logout or time.

The cookie carries 256 random bits; the table keeps only their SHA-256, so reading the database opens no
session. A session ends when unused for ``console.idle_timeout_minutes`` or ``console.session_max_hours`` after
login, when the officer logs out, or when the account is disabled or its password reset.
"""

from __future__ import annotations

import hashlib
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Final

from sqlalchemy import bindparam, delete, or_, select
from sqlalchemy.ext.asyncio import AsyncSession

from spotcheck.gateway.settings import ConsoleSettings
from spotcheck.gateway.store.models import Authority
from spotcheck.gateway.store.models_console import ConsoleSession, OfficerAccount
from spotcheck.gateway.store.types import utcnow

__all__ = ["ActiveSession", "end_session", "open_session", "resolve_session", "session_digest"]

_TOUCH_EVERY: Final = timedelta(seconds=60)
"""``last_seen_at`` is written at most this often: a page load should not always be a write."""
_MAX_ID_LENGTH: Final = 100
# Read on every console page: built once, with the session id's digest bound per request.
_LIVE_SESSION: Final = (
    select(ConsoleSession, OfficerAccount, Authority)
    .join(OfficerAccount, OfficerAccount.id == ConsoleSession.officer_id)
    .join(Authority, Authority.id == OfficerAccount.authority_id)
    .where(ConsoleSession.id_sha256 == bindparam("digest"))
)


@dataclass(frozen=True)
class ActiveSession:
    """A live session with its officer and the officer's authority."""

    session_id: str
    officer: OfficerAccount
    authority: Authority


def session_digest(session_id: str) -> str:
    """What the table stores of a session id: its SHA-256, hex."""
    return hashlib.sha256(session_id.encode()).hexdigest()


async def open_session(
    session: AsyncSession, officer: OfficerAccount, settings: ConsoleSettings, *, now: datetime | None = None
) -> str:
    """Open a session for ``officer`` (added to ``session``, committed by the caller); returns the cookie's id.

    Sessions that ended by time without being seen again are deleted on the way, so the table stays small.
    """
    moment = now or utcnow()
    idle_since = moment - timedelta(minutes=settings.idle_timeout_minutes)
    await session.execute(
        delete(ConsoleSession).where(
            or_(ConsoleSession.expires_at <= moment, ConsoleSession.last_seen_at <= idle_since)
        )
    )
    session_id = secrets.token_urlsafe(32)
    session.add(
        ConsoleSession(
            id_sha256=session_digest(session_id),
            officer_id=officer.id,
            created_at=moment,
            last_seen_at=moment,
            expires_at=moment + timedelta(hours=settings.session_max_hours),
        )
    )
    return session_id


async def resolve_session(
    session: AsyncSession, session_id: str, settings: ConsoleSettings, *, now: datetime | None = None
) -> ActiveSession | None:
    """The live session behind a cookie's id, touched; None (and the row deleted) when expired, idle or disabled.

    Commits its own small write (the touch or the deletion).
    """
    if not session_id or len(session_id) > _MAX_ID_LENGTH:
        return None
    moment = now or utcnow()
    row = await session.execute(_LIVE_SESSION, {"digest": session_digest(session_id)})
    found = row.first()
    if found is None:
        return None
    record, officer, authority = found
    idle_limit = record.last_seen_at + timedelta(minutes=settings.idle_timeout_minutes)
    if officer.disabled or record.expires_at <= moment or idle_limit <= moment:
        await session.delete(record)
        await session.commit()
        return None
    if moment - record.last_seen_at >= _TOUCH_EVERY:
        record.last_seen_at = moment
        await session.commit()
    return ActiveSession(session_id=session_id, officer=officer, authority=authority)


async def end_session(session: AsyncSession, session_id: str) -> OfficerAccount | None:
    """Delete the session behind ``session_id`` (added to ``session``); its officer, if it was live."""
    if not session_id or len(session_id) > _MAX_ID_LENGTH:
        return None
    digest = session_digest(session_id)
    record = await session.get(ConsoleSession, digest)
    if record is None:
        return None
    officer = await session.get(OfficerAccount, record.officer_id)
    await session.execute(delete(ConsoleSession).where(ConsoleSession.id_sha256 == digest))
    return officer
