"""Everything the case detail page shows, read for one officer: the case, its history, notices, replies, evidence.

The case itself and its clocks come from :mod:`~spotcheck.gateway.cases.queries` (``load_case_with_parties`` and
``read_case``) and its documents (文书) from :class:`~spotcheck.gateway.documents.queries.DocumentQueries`, so the
page sees exactly what the API would (404 unknown, 403 outside the jurisdiction). Its history, notices, evidence,
delivery attempts, replies and re-inspection applications are read here for the same case, after that one check,
by the same selects the API's queries make (``CaseQueries.events`` and ``messages``,
``EvidenceService.list_for_case``), built once at import with bound parameters: building them per request was an
eighth of the page's time.
"""

from __future__ import annotations

import contextlib
import functools
import json
import re
import typing
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any, Final

import msgspec
from sqlalchemy import bindparam, select
from sqlalchemy.ext.asyncio import AsyncSession

from spotcheck.gateway.access import Principal
from spotcheck.gateway.cases.queries import CaseDetail, load_case_with_parties, read_case
from spotcheck.gateway.console.case_documents import list_case_documents
from spotcheck.gateway.console.case_labels import MESSAGE_LABELS, VALUE_LABELS
from spotcheck.gateway.console.render import bj
from spotcheck.gateway.documents.queries import CaseDocument
from spotcheck.gateway.runtime import Runtime
from spotcheck.gateway.store.models import (
    Authority,
    CaseEvent,
    DeliveryAttempt,
    InboundMessage,
    Manufacturer,
    Merchant,
    OutboundMessage,
    Platform,
    ReinspectionApplication,
)
from spotcheck.gateway.store.models_public import EvidenceFile
from spotcheck.schemas import MESSAGE_TYPES

__all__ = ["CaseRecord", "Reply", "TimelineEntry", "data_labels", "is_block", "pretty", "read_case_record"]

_PREVIEW_TEXT: Final = 4000
_RFC3339: Final = re.compile(r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}(:\d{2}(\.\d+)?)?(Z|[+-]\d{2}:\d{2})$")
_SHOWN_ELSEWHERE: Final = frozenset({"case_id", "platform_id"})

# The page's own reads of one case, in the order each list is shown (the API's orders where the API lists them).
_APPLICATIONS: Final = (
    select(ReinspectionApplication)
    .where(ReinspectionApplication.case_id == bindparam("case_id"))
    .order_by(ReinspectionApplication.created_at)
)
_EVENTS: Final = select(CaseEvent).where(CaseEvent.case_id == bindparam("case_id")).order_by(CaseEvent.id)
_MESSAGES: Final = (
    select(OutboundMessage).where(OutboundMessage.case_id == bindparam("case_id")).order_by(OutboundMessage.id)
)
_EVIDENCE: Final = (
    select(EvidenceFile).where(EvidenceFile.case_id == bindparam("case_id")).order_by(EvidenceFile.created_at)
)
_ATTEMPTS: Final = (
    select(DeliveryAttempt)
    .where(DeliveryAttempt.message_id.in_(bindparam("message_ids", expanding=True)))
    .order_by(DeliveryAttempt.message_id, DeliveryAttempt.attempt)
)
_INBOUND: Final = (
    select(InboundMessage).where(InboundMessage.case_id == bindparam("case_id")).order_by(InboundMessage.received_at)
)
_AUTHORITY_NAME: Final = select(Authority.name).where(Authority.id == bindparam("authority_id"))


@dataclass(frozen=True)
class Reply:
    """A platform's reply on the case: its row and its ``data`` as sent (for display)."""

    row: InboundMessage
    data: dict[str, Any]

    @property
    def fields(self) -> list[tuple[str, Any]]:
        """The reply's fields with their names in the contract's Chinese (case and platform left out)."""
        names = data_labels(self.row.message_type)
        return [(names.get(key, key), value) for key, value in self.data.items() if key not in _SHOWN_ELSEWHERE]


@dataclass(frozen=True)
class TimelineEntry:
    """One moment on the case's timeline: a step, a notice written, delivered or acknowledged, a reply, a file."""

    at: datetime
    kind: str
    """``step``, ``notice``, ``delivered``, ``acknowledged``, ``reply`` or ``evidence``."""
    subject: str
    actor: str = ""
    detail: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class CaseRecord:
    """The case as the detail page shows it."""

    detail: CaseDetail
    events: Sequence[CaseEvent]
    messages: Sequence[OutboundMessage]
    attempts: dict[str, list[DeliveryAttempt]]
    replies: Sequence[Reply]
    evidence: Sequence[EvidenceFile]
    applications: Sequence[ReinspectionApplication]
    authority_name: str | None
    """The name of the authority that organises the case's sampling (None if it is gone)."""
    merchant: Merchant | None
    platform: Platform | None
    manufacturer: Manufacturer | None
    documents: Sequence[CaseDocument]
    """The case's official documents (文书) with their proof of service, as ``GET /v1/cases/{id}/documents``."""

    @property
    def timeline(self) -> list[TimelineEntry]:
        """Every step, notice, delivery, acknowledgement, reply and evidence file, oldest first."""
        entries = [
            TimelineEntry(e.at, "step", e.action, e.actor, {"from": e.from_state, "to": e.to_state, **e.detail})
            for e in self.events
        ]
        for m in self.messages:
            entries.append(TimelineEntry(m.created_at, "notice", m.message_type, m.recipient_name, {"id": m.id}))
            if m.delivered_at is not None:
                entries.append(TimelineEntry(m.delivered_at, "delivered", m.message_type, m.recipient_name))
            if m.acknowledged_at is not None:
                entries.append(TimelineEntry(m.acknowledged_at, "acknowledged", m.message_type, m.recipient_name))
        entries.extend(
            TimelineEntry(r.row.received_at, "reply", r.row.message_type, r.row.platform_id) for r in self.replies
        )
        entries.extend(TimelineEntry(f.created_at, "evidence", f.step, f.uploaded_by) for f in self.evidence)
        return sorted(entries, key=lambda entry: _aware(entry.at))

    @property
    def pending_applications(self) -> list[ReinspectionApplication]:
        """Applications still awaiting a decision."""
        return [a for a in self.applications if a.decision is None]


def _aware(moment: datetime) -> datetime:
    # SQLite hands back naive UTC; PostgreSQL aware: compare them alike.
    return moment if moment.tzinfo is not None else moment.replace(tzinfo=UTC)


@functools.cache
def data_labels(message_type: str) -> dict[str, str]:
    """The Chinese names of a message type's ``data`` fields, from the wire contract's descriptions."""
    message = MESSAGE_TYPES.get(message_type)
    if message is None:
        return {}
    hints = typing.get_type_hints(message, include_extras=True)
    data = hints.get("data")
    while typing.get_origin(data) is typing.Annotated:
        data = typing.get_args(data)[0]
    if not (isinstance(data, type) and issubclass(data, msgspec.Struct)):
        return {}
    labels: dict[str, str] = {}
    for name, hint in typing.get_type_hints(data, include_extras=True).items():
        for meta in typing.get_args(hint)[1:] if typing.get_origin(hint) is typing.Annotated else ():
            description = getattr(meta, "description", None)
            if isinstance(description, str):
                labels[name] = description.split(" — ", 1)[0]
    return labels


def _reply(row: InboundMessage) -> Reply:
    try:
        decoded = json.loads(row.body)
    except ValueError:
        decoded = {}
    data = decoded.get("data") if isinstance(decoded, dict) else None
    return Reply(row=row, data=data if isinstance(data, dict) else {})


async def read_case_record(session: AsyncSession, principal: Principal, runtime: Runtime, case_id: str) -> CaseRecord:
    """The case with everything the detail page shows (404 unknown, 403 outside the principal's jurisdiction).

    Each row is read once: the case comes with its parties (merchant, platform, manufacturer and the authority over
    the platform's province) in one query, and its re-inspection applications are read once, both handed to the
    case's facts instead of being looked up again; the case's authority is the officer's own (already known)
    unless the case is another's.
    """
    # 404 / 403 before anything else is read; the parties (merchant, platform, manufacturer) come with the case.
    case, parties = await load_case_with_parties(session, principal, case_id)
    by_case = {"case_id": case_id}
    applications = list(await session.scalars(_APPLICATIONS, by_case))
    decisions = [a.decision for a in applications]
    detail = await read_case(session, case, runtime.calendar, parties=parties, decisions=decisions)
    events = list(await session.scalars(_EVENTS, by_case))
    messages = list(await session.scalars(_MESSAGES, by_case))
    evidence = list(await session.scalars(_EVIDENCE, by_case))
    documents = await list_case_documents(session, principal, runtime, case_id)
    attempts: dict[str, list[DeliveryAttempt]] = {m.id: [] for m in messages}
    # A notice's attempts are counted on it when the worker claims it: one never tried has no attempt rows.
    tried = [m.id for m in messages if m.attempt_count > 0]
    if tried:
        for attempt in await session.scalars(_ATTEMPTS, {"message_ids": tried}):
            attempts[attempt.message_id].append(attempt)
    inbound = await session.scalars(_INBOUND, by_case)
    if case.authority_id == principal.authority_id:
        authority_name: str | None = principal.authority_name
    else:
        authority_name = await session.scalar(_AUTHORITY_NAME, {"authority_id": case.authority_id})
    return CaseRecord(
        detail=detail,
        events=events,
        messages=messages,
        attempts=attempts,
        replies=[_reply(row) for row in inbound],
        evidence=evidence,
        applications=applications,
        authority_name=authority_name,
        merchant=parties.merchant,
        platform=parties.platform,
        manufacturer=parties.manufacturer,
        documents=documents,
    )


def pretty(value: Any) -> str:
    """A reply's field value as an officer reads it (codes in Chinese, times in Beijing time).

    Lists of values are joined; lists of objects and objects are shown as indented JSON (capped).
    """
    if value is None or value == []:
        return "—"
    if isinstance(value, bool):
        return "是" if value else "否"
    if isinstance(value, str):
        return _text(value)
    if isinstance(value, int | float):
        return str(value)
    if isinstance(value, list) and all(isinstance(v, str | int | float) for v in value):
        return "、".join(pretty(v) for v in value)
    return json.dumps(value, ensure_ascii=False, indent=2)[:_PREVIEW_TEXT]


def is_block(value: Any) -> bool:
    """Whether :func:`pretty` shows ``value`` as a block of JSON."""
    return isinstance(value, dict) or (isinstance(value, list) and any(isinstance(v, dict | list) for v in value))


def _text(value: str) -> str:
    if _RFC3339.match(value):
        with contextlib.suppress(ValueError):
            return bj(datetime.fromisoformat(value.replace("Z", "+00:00")))
    return VALUE_LABELS.get(value) or MESSAGE_LABELS.get(value) or value
