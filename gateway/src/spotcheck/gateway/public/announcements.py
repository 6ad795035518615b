"""Announcements to unreachable parties (公告送达, the opinion's 三(二)): the database-backed sink and the public reads.

The delivery worker builds the ``announcement`` adapter with :func:`announcement_sink`; each publication is one
``announcements`` row (idempotent on the notice's message id) and one audit record, committed together, so the
day an announcement appeared, from which the 15-day re-inspection window can run, holds up in a dispute.
"""

from __future__ import annotations

import hashlib
from datetime import UTC, datetime
from typing import Any, Final

import msgspec
from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from spotcheck.adapters import Announcement as AnnouncementMessage
from spotcheck.adapters import AnnouncementSink
from spotcheck.gateway.audit.service import append_audit
from spotcheck.gateway.public.results import mask_personal_name
from spotcheck.gateway.store.models_public import Announcement
from spotcheck.gateway.store.types import new_id

__all__ = [
    "DatabaseAnnouncementSink",
    "PublicAnnouncement",
    "announcement_sink",
    "get_announcement",
    "list_announcements",
    "public_notice",
]

_BUYER_KEYS: Final = frozenset({"buyer_account", "buyer_name", "delivery_address"})
_PERSONAL_KEYS: Final = frozenset({"uscc", "address", "contact", "registration_division"})


class DatabaseAnnouncementSink:
    """An :class:`~spotcheck.adapters.AnnouncementSink` writing ``announcements`` rows.

    Publishing a message id a second time returns the first announcement's id and writes nothing, also when two
    workers publish the same message at once (the unique message id decides).
    """

    def __init__(self, sessions: async_sessionmaker[AsyncSession]) -> None:
        self._sessions = sessions

    async def publish(self, announcement: AnnouncementMessage) -> str:
        """Store and audit the announcement unless its message id was published before; return its id."""
        async with self._sessions() as session:
            existing = await self._existing(session, announcement.message_id)
            if existing is not None:
                return existing
            body_sha256 = hashlib.sha256(announcement.body).hexdigest()
            row = Announcement(
                id=new_id("ann"),
                message_id=announcement.message_id,
                case_id=announcement.case_id,
                message_type=announcement.message_type,
                feed=announcement.feed,
                title=announcement.title,
                text=announcement.text,
                body=announcement.body,
                body_sha256=body_sha256,
                authority=announcement.authority,
                recipient_name=announcement.recipient_name,
                published_at=datetime.fromtimestamp(announcement.published_at, UTC),
            )
            session.add(row)
            try:
                await session.flush()
            except IntegrityError:
                await session.rollback()
                winner = await self._existing(session, announcement.message_id)
                if winner is None:
                    raise
                return winner
            await append_audit(
                session,
                actor="gateway:announcement",
                action="announcement.published",
                subject=announcement.case_id,
                detail={
                    "announcement": row.id,
                    "message_id": announcement.message_id,
                    "type": announcement.message_type,
                    "body_sha256": body_sha256,
                    "published_at": row.published_at.isoformat(),
                },
            )
            await session.commit()
            return row.id

    @staticmethod
    async def _existing(session: AsyncSession, message_id: str) -> str | None:
        found: str | None = await session.scalar(select(Announcement.id).where(Announcement.message_id == message_id))
        return found


def announcement_sink(sessions: async_sessionmaker[AsyncSession]) -> AnnouncementSink:
    """The gateway's announcement sink over ``sessions`` (what the delivery worker lends the adapter)."""
    return DatabaseAnnouncementSink(sessions)


def _redact(value: Any) -> Any:
    if isinstance(value, list):
        return [_redact(item) for item in value]
    if not isinstance(value, dict):
        return value
    natural_person = value.get("kind") == "natural_person"
    out: dict[str, Any] = {}
    for key, item in value.items():
        if key in _BUYER_KEYS or (natural_person and key in _PERSONAL_KEYS):
            continue
        if natural_person and key == "legal_name" and isinstance(item, str):
            out[key] = mask_personal_name(item)
        else:
            out[key] = _redact(item)
    return out


def public_notice(body: bytes) -> Any:
    """The notice as published beside the announcement, or None when the body is not JSON.

    The regulator's sample buyer (account, name, delivery address) is left out, and for a natural-person
    merchant the identity number, address and contact are left out and the legal name is masked. The digest of
    the full body is published with it, so the addressee can match the notice the regulator holds.
    """
    try:
        document = msgspec.json.decode(body)
    except msgspec.DecodeError:
        return None
    return _redact(document)


class PublicAnnouncement(msgspec.Struct, kw_only=True, frozen=True):
    """An announcement as the public pages show it.

    Attributes:
        id: the announcement id (its address is ``/public/announcements/{id}``).
        case_id: the sampling case.
        message_type: the notice's event type.
        title: the Chinese title.
        text: the Chinese text.
        authority: the issuing authority.
        recipient_name: whom the notice is addressed to.
        published_at: when it was published; the re-inspection window may run from this day.
        body_sha256: SHA-256 of the notice's exact JSON body.
        notice: the notice body with personal data left out (see :func:`public_notice`).
    """

    id: str
    case_id: str
    message_type: str
    title: str
    text: str
    authority: str
    recipient_name: str
    published_at: datetime
    body_sha256: str
    notice: Any = None


def _public(row: Announcement, *, with_notice: bool) -> PublicAnnouncement:
    return PublicAnnouncement(
        id=row.id,
        case_id=row.case_id,
        message_type=row.message_type,
        title=row.title,
        text=row.text,
        authority=row.authority,
        recipient_name=row.recipient_name,
        published_at=row.published_at,
        body_sha256=row.body_sha256,
        notice=public_notice(row.body) if with_notice else None,
    )


async def list_announcements(
    session: AsyncSession, *, page: int, per_page: int
) -> tuple[list[PublicAnnouncement], int]:
    """One page of announcements, newest first, and how many there are."""
    total = int(await session.scalar(select(func.count(Announcement.id))) or 0)
    rows = await session.scalars(
        select(Announcement)
        .order_by(Announcement.published_at.desc(), Announcement.id.desc())
        .offset((page - 1) * per_page)
        .limit(per_page)
    )
    return [_public(row, with_notice=False) for row in rows], total


async def get_announcement(session: AsyncSession, announcement_id: str) -> PublicAnnouncement | None:
    """One announcement with its redacted notice, or None."""
    row = await session.get(Announcement, announcement_id)
    return _public(row, with_notice=True) if row is not None else None
