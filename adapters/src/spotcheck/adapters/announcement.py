"""Publishes a notice on the regulator's public announcement feed when its addressee cannot be reached.

Opinion 三(二): where a merchant cannot be notified (unknown address and the like), the regulator may notify by
announcement on its official website; the re-inspection window (三(三)) then runs from the announcement.
"""

from __future__ import annotations

import time
from typing import TYPE_CHECKING, Any, ClassVar

import msgspec

from spotcheck.adapters._announcements import Announcement, AnnouncementSink
from spotcheck.adapters._base import AdapterContext, DeliveryOutcome, OutgoingMessage
from spotcheck.adapters._config import InvalidField, parse_config
from spotcheck.adapters._errors import AdapterConfigError
from spotcheck.adapters._http import elapsed_ms, short_error
from spotcheck.adapters._notice_text import announcement_text, announcement_title

if TYPE_CHECKING:
    from collections.abc import Mapping

__all__ = ["AnnouncementAdapter", "AnnouncementConfig"]


class AnnouncementConfig(msgspec.Struct, frozen=True, kw_only=True, forbid_unknown_fields=True):
    """Configuration of the announcement destination.

    Attributes:
        feed: the public feed or column the announcement belongs to.
        reason: why the addressee could not be notified, as the announcement states it (``因{reason}无法通知``).
    """

    feed: str = "public"
    reason: str = "经营者地址不详等原因"

    def __post_init__(self) -> None:
        if not self.feed.strip():
            raise InvalidField("feed", "must not be empty")
        if not self.reason.strip():
            raise InvalidField("reason", "must not be empty")


class AnnouncementAdapter:
    """Delivers a message by publishing it, with a Chinese text, through the gateway's :class:`AnnouncementSink`.

    Publishing is idempotent on the message id, so a retried attempt does not announce twice. The outcome is
    ``delivered`` with the announcement id as remote reference, or ``retry`` if the sink fails.
    """

    name: ClassVar[str] = "announcement"

    @classmethod
    def validate_config(cls, config: Mapping[str, Any]) -> AnnouncementConfig:
        """Parse and check ``config``.

        Raises:
            AdapterConfigError: names the field and the reason.
        """
        return parse_config(cls.name, config, AnnouncementConfig)

    def __init__(self, config: Mapping[str, Any], *, context: AdapterContext) -> None:
        self._config = self.validate_config(config)
        self._context = context
        if context.announcement_sink is None:
            raise AdapterConfigError(
                self.name, "AdapterContext.announcement_sink", "the gateway must lend a sink to publish through"
            )
        self._sink: AnnouncementSink = context.announcement_sink

    @property
    def config(self) -> AnnouncementConfig:
        """The validated configuration."""
        return self._config

    def build_announcement(self, message: OutgoingMessage, *, now: float) -> Announcement:
        """The announcement standing in for ``message``, published at ``now`` (Unix seconds)."""
        return Announcement(
            message_id=message.message_id,
            case_id=message.case_id,
            message_type=message.message_type,
            feed=self._config.feed,
            title=announcement_title(message),
            text=announcement_text(message, reason=self._config.reason),
            body=message.body,
            authority=message.authority,
            recipient_name=message.recipient_name,
            published_at=int(now),
        )

    async def deliver(self, message: OutgoingMessage) -> DeliveryOutcome:
        """Publish once and report the announcement id; never raises for a failed publication."""
        started = time.perf_counter()
        announcement = self.build_announcement(message, now=self._context.clock())
        try:
            announcement_id = await self._sink.publish(announcement)
        except Exception as exc:  # noqa: BLE001 - a failing sink (database down) is a retryable outcome
            return DeliveryOutcome(status="retry", latency_ms=elapsed_ms(started), error=short_error(exc))
        return DeliveryOutcome(status="delivered", latency_ms=elapsed_ms(started), remote_reference=announcement_id)

    async def aclose(self) -> None:
        """Nothing to release: the sink belongs to the gateway."""
