r"""What each audit record is as a leaf of the transparency log: its leaf data and RFC 9162 leaf hash.

Two leaf formats, each versioned by its first line so an old leaf keeps its meaning:

* a message in either direction (``action`` :data:`MESSAGE_ACTION`) is the SDK's
  :func:`~spotcheck.sdk.leaf_for_message` data, so a platform computes the leaf of anything it sent or received
  from what it holds: ``spotcheck-message/v1\n{direction}\n{webhook-id}\n{webhook-timestamp}\n{body sha256}\n``;
* every other event is ``spotcheck-event/v1\n`` + the canonical JSON (keys sorted, no whitespace) of
  ``{"at", "actor", "action", "subject", "detail"}`` with ``at`` in UTC microseconds; its content stays private,
  only its leaf hash is published.
"""

from __future__ import annotations

import hashlib
from datetime import UTC, datetime
from typing import Any, Final, Literal

import msgspec

from spotcheck.sdk import leaf_for_message, leaf_hash
from spotcheck.sdk._merkle import LEAF_FORMAT

__all__ = [
    "EVENT_FORMAT",
    "MESSAGE_ACTION",
    "event_leaf_data",
    "message_detail",
    "message_leaf_hash",
    "record_leaf_data",
    "record_leaf_hash",
]

EVENT_FORMAT: Final = "spotcheck-event/v1"
"""The first line of every event leaf."""

MESSAGE_ACTION: Final = "log.message"
"""The action of a record that stands for one message in or out; its detail is :func:`message_detail`."""


def _utc(at: datetime) -> str:
    return at.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def event_leaf_data(at: datetime, actor: str, action: str, subject: str, detail: dict[str, Any]) -> bytes:
    """The leaf data of an event record (see the module documentation)."""
    body = msgspec.json.encode(
        {"at": _utc(at), "actor": actor, "action": action, "subject": subject, "detail": detail}, order="sorted"
    )
    return f"{EVENT_FORMAT}\n".encode() + body + b"\n"


def message_detail(
    direction: Literal["out", "in"], webhook_id: str, timestamp: str | int, body: bytes
) -> dict[str, str]:
    """The detail of a message record: what the SDK's leaf of the message is made of, and nothing private.

    Raises:
        ValueError: as :func:`~spotcheck.sdk.leaf_for_message` does for an unusable direction, id or timestamp.
    """
    leaf_for_message(direction, webhook_id, timestamp, body)  # the SDK's checks, so both sides refuse alike
    return {
        "direction": direction,
        "webhook_id": webhook_id,
        "timestamp": str(timestamp),
        "body_sha256": hashlib.sha256(body).hexdigest(),
    }


def message_leaf_hash(direction: Literal["out", "in"], webhook_id: str, timestamp: str | int, body: bytes) -> str:
    """The hex leaf hash of a message, exactly as a platform computes it with the SDK."""
    return leaf_hash(leaf_for_message(direction, webhook_id, timestamp, body)).hex()


def _message_leaf_data(detail: dict[str, Any]) -> bytes:
    # The SDK's layout, rebuilt from the stored digest (the body itself may be long gone); a test pins the two equal.
    fields = (detail["direction"], detail["webhook_id"], detail["timestamp"], detail["body_sha256"])
    return ("\n".join((LEAF_FORMAT, *fields)) + "\n").encode()


def record_leaf_data(at: datetime, actor: str, action: str, subject: str, detail: dict[str, Any]) -> bytes:
    """The leaf data of a stored record: the message format for :data:`MESSAGE_ACTION`, else the event format."""
    if action == MESSAGE_ACTION:
        return _message_leaf_data(detail)
    return event_leaf_data(at, actor, action, subject, detail)


def record_leaf_hash(at: datetime, actor: str, action: str, subject: str, detail: dict[str, Any]) -> bytes:
    """The RFC 9162 leaf hash of a stored record."""
    return leaf_hash(record_leaf_data(at, actor, action, subject, detail))
