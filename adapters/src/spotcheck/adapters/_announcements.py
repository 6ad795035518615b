"""Public announcements: what the ``announcement`` adapter publishes and the sink it publishes through."""

from __future__ import annotations

from typing import Protocol, runtime_checkable

import msgspec

__all__ = ["Announcement", "AnnouncementSink", "InMemoryAnnouncementSink"]


class Announcement(msgspec.Struct, frozen=True, kw_only=True):
    """A notice published on the regulator's public announcement feed because its addressee cannot be reached.

    Attributes:
        message_id: the notice's stable id; a sink publishes each message id at most once.
        case_id: the sampling case.
        message_type: the notice's event type.
        feed: which public feed or column it belongs to.
        title: the announcement's Chinese title.
        text: the announcement's Chinese plain text.
        body: the notice's exact JSON body, published alongside the text.
        authority: the issuing regulator.
        recipient_name: whom the notice is addressed to.
        published_at: Unix seconds of publication; the opinion's 15-day re-inspection window can run from it.
    """

    message_id: str
    case_id: str
    message_type: str
    feed: str
    title: str
    text: str
    body: bytes
    authority: str
    recipient_name: str
    published_at: int


@runtime_checkable
class AnnouncementSink(Protocol):
    """Where announcements are published; the gateway plugs in its database-backed feed."""

    async def publish(self, announcement: Announcement) -> str:
        """Publish and return the announcement id.

        Idempotent on ``message_id``: publishing a message id again returns the first announcement's id and
        publishes nothing new, so a retried delivery never makes a second announcement.
        """
        ...


class InMemoryAnnouncementSink:
    """An :class:`AnnouncementSink` kept in memory, for tests and demos; ids run ``ann-000001``, ``ann-000002``…."""

    def __init__(self) -> None:
        self._by_id: dict[str, Announcement] = {}
        self._id_by_message: dict[str, str] = {}

    async def publish(self, announcement: Announcement) -> str:
        """Publish ``announcement`` unless its message id was published before; return its announcement id."""
        existing = self._id_by_message.get(announcement.message_id)
        if existing is not None:
            return existing
        announcement_id = f"ann-{len(self._by_id) + 1:06d}"
        self._by_id[announcement_id] = announcement
        self._id_by_message[announcement.message_id] = announcement_id
        return announcement_id

    @property
    def announcements(self) -> dict[str, Announcement]:
        """The published announcements by id, in publication order (a copy)."""
        return dict(self._by_id)

    def get(self, announcement_id: str) -> Announcement | None:
        """The announcement published under ``announcement_id``, if any."""
        return self._by_id.get(announcement_id)
