"""Everything the case detail page shows, read for one officer: the case, its history, notices, replies, evidence.

The case itself, its history and its notices come from :class:`~spotcheck.gateway.cases.queries.CaseQueries`, its
evidence from :class:`~spotcheck.gateway.evidence.service.EvidenceService` and its documents (文书) from
:class:`~spotcheck.gateway.documents.queries.DocumentQueries`, so the page sees exactly what the
API would (404 unknown, 403 outside the jurisdiction). What the API reads elsewhere (delivery attempts, replies,
re-inspection applications, the parties' names) is read here for the same case, after that check.
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
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from spotcheck.gateway.access import Principal
from spotcheck.gateway.cases.queries import CaseDetail, CaseQueries, load_case_with_parties, read_case
from spotcheck.gateway.console.case_documents import list_case_documents
from spotcheck.gateway.console.case_labels import MESSAGE_LABELS, VALUE_LABELS
from spotcheck.gateway.console.render import bj
from spotcheck.gateway.documents.queries import CaseDocument
from spotcheck.gateway.evidence.service import EvidenceService
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
    queries = CaseQueries(session, principal, runtime)
    # 404 / 403 before anything else is read; the parties (merchant, platform, manufacturer) come with the case.
    case, parties = await load_case_with_parties(session, principal, case_id)
    applications = list(
        await session.scalars(
            select(ReinspectionApplication)
            .where(ReinspectionApplication.case_id == case_id)
            .order_by(ReinspectionApplication.created_at)
        )
    )
    decisions = [a.decision for a in applications]
    detail = await read_case(session, case, runtime.calendar, parties=parties, decisions=decisions)
    events = await queries.events(case_id)
    messages = await queries.messages(case_id)
    evidence = await EvidenceService(session, principal, runtime).list_for_case(case_id)
    documents = await list_case_documents(session, principal, runtime, case_id)
    attempts: dict[str, list[DeliveryAttempt]] = {m.id: [] for m in messages}
    # A notice's attempts are counted on it when the worker claims it: one never tried has no attempt rows.
    tried = [m.id for m in messages if m.attempt_count > 0]
    if tried:
        rows = await session.scalars(
            select(DeliveryAttempt)
            .where(DeliveryAttempt.message_id.in_(tried))
            .order_by(DeliveryAttempt.message_id, DeliveryAttempt.attempt)
        )
        for attempt in rows:
            attempts[attempt.message_id].append(attempt)
    inbound = await session.scalars(
        select(InboundMessage).where(InboundMessage.case_id == case_id).order_by(InboundMessage.received_at)
    )
    if case.authority_id == principal.authority_id:
        authority_name: str | None = principal.authority_name
    else:
        authority_name = await session.scalar(select(Authority.name).where(Authority.id == case.authority_id))
    return CaseRecord(
        detail=detail,
        events=events,
        messages=messages,
        attempts=attempts,
        replies=[_reply(row) for row in inbound],
        evidence=list(evidence),
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
