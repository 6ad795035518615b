"""The unit of work every case action shares; the actions themselves live with their stage.

A command loads the case (404 unknown, 403 outside the jurisdiction or without the write scope), checks its
guards, takes one lifecycle step, writes the notices it causes into the outbox and the clocks they start, and
commits: the history entry, the notices and one audit record listing them go in together or not at all. Then it
wakes the outbox and answers the case as it now stands. A refused action raises :class:`ProblemError` before
committing anything; its session is then discarded (a request's session rolls back when the request ends).

The stages: :class:`~spotcheck.gateway.cases.sampling.SamplingService` (opening to records requests),
:class:`~spotcheck.gateway.cases.results.ResultsService` (result to publication) and
:class:`~spotcheck.gateway.cases.measures.MeasuresService` (measures and closing);
:class:`~spotcheck.gateway.cases.queries.CaseQueries` reads.
"""

from __future__ import annotations

import hashlib
from datetime import datetime, timedelta
from typing import Any, TypeVar

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from spotcheck.gateway import workdays as clocks
from spotcheck.gateway.access import Principal
from spotcheck.gateway.audit.service import AuditEntry, append_audit_many, message_entry
from spotcheck.gateway.cases.lifecycle import ACTIONS, CaseState, IllegalTransitionError, allowed_actions, next_state
from spotcheck.gateway.cases.notices import announcement, email_recipient, platform_recipient
from spotcheck.gateway.cases.queries import CaseDetail, load_case, read_case
from spotcheck.gateway.delivery.service import Recipient, enqueue
from spotcheck.gateway.documents.service import DocumentProducer
from spotcheck.gateway.runtime import Runtime
from spotcheck.gateway.store.models import (
    Authority,
    Base,
    Case,
    CaseEvent,
    Deadline,
    Manufacturer,
    Merchant,
    OutboundMessage,
    Platform,
)
from spotcheck.gateway.store.statuses import DeadlineKind, DeadlineStatus, RecipientKind
from spotcheck.gateway.store.types import new_id, utcnow
from spotcheck.gateway.web.problems import ProblemError, field_error
from spotcheck.schemas import Message

__all__ = ["CaseService"]

_Row = TypeVar("_Row", bound=Base)
_RECORDED_SKEW = timedelta(minutes=5)  # how far the officer's clock may run ahead of the gateway's


class CaseService:
    """Case actions for one authenticated regulator inside one database session, which each action commits."""

    def __init__(self, session: AsyncSession, principal: Principal, runtime: Runtime) -> None:
        self.session = session
        self.principal = principal
        self.runtime = runtime
        self.calendar = runtime.calendar
        self._audit: AuditEntry | None = None
        self._sent: list[OutboundMessage] = []
        self._documents = DocumentProducer(session, runtime)

    async def load(self, case_id: str) -> Case:
        """The case, if this principal may see it (404 when unknown, 403 when outside its jurisdiction)."""
        return await load_case(self.session, self.principal, case_id)

    @staticmethod
    def _happened(moments: dict[str, datetime]) -> None:
        """422 naming the first of ``moments`` (field path → moment) that lies in the future beyond a clock's skew.

        What an officer records (a purchase, a sealing, a result received) has happened: a later moment is a typing
        error, and deadlines would be counted from it.
        """
        now = utcnow()
        for field, moment in moments.items():
            if moment > now + _RECORDED_SKEW:
                raise field_error(422, field, f"不能晚于现在（{moment.isoformat()}，现在 {now.isoformat()}）")

    # ---- the unit of work ---------------------------------------------------------------------------------------

    async def _open(self, case_id: str) -> Case:
        """The case an action is about to change: visible to the principal, who must hold the write scope."""
        case = await self.load(case_id)
        self.principal.require_scope("write")
        return case

    def _record(self, case: Case, action: str, from_state: str, detail: dict[str, Any], audit: dict[str, Any]) -> None:
        """Add the history entry of ``action`` and hold its audit record until the commit adds what was sent."""
        self.session.add(
            CaseEvent(
                case_id=case.id,
                action=action,
                from_state=from_state,
                to_state=case.state,
                actor=self.principal.actor,
                detail=detail,
            )
        )
        self._audit = AuditEntry(self.principal.actor, f"case.{action}", case.id, audit)

    def _step(self, case: Case, action: str, detail: dict[str, Any], *, to: CaseState | None = None) -> None:
        """Take one lifecycle step: 409 naming the allowed actions when the case's state does not allow it."""
        state = CaseState(case.state)
        if state not in ACTIONS[action].sources:
            refusal = IllegalTransitionError(action, state, allowed_actions(state))
            raise ProblemError(409, "illegal-transition", str(refusal), allowed=refusal.allowed)
        target = to or next_state(state, action)
        case.state = target
        self._record(case, action, state, detail, {"from": state.value, "to": target.value, **detail})

    async def _commit(self, case: Case) -> CaseDetail:
        """Write the action's one audit record, listing every message it sent, commit, and wake the outbox."""
        assert self._audit is not None, "an action commits after recording its step"  # noqa: S101
        audit, sent = self._audit, self._sent
        self._audit, self._sent = None, []
        detail = audit.detail
        if sent:
            detail = {**detail, "messages": [_audited(row) for row in sent]}
        # Each notice is also a leaf of its own, which its recipient can compute from the message it received.
        leaves = [message_entry("out", row.id, row.timestamp, row.body, actor=audit.actor) for row in sent]
        await append_audit_many(self.session, [AuditEntry(audit.actor, audit.action, audit.subject, detail), *leaves])
        await self.session.commit()
        if sent:
            self.runtime.wake_outbox()
        return await read_case(self.session, case, self.calendar)

    # ---- parties --------------------------------------------------------------------------------------------------

    async def _get(self, model: type[_Row], ident: str, field: str) -> _Row:
        """The row of ``model`` with primary key ``ident``; 404 naming ``field`` when there is none."""
        row = await self.session.get(model, ident)
        if row is None:
            noun = str(model.__tablename__)[:-1].replace("_", " ")
            raise field_error(404, field, f"no such {noun}: {ident}", code="not-found")
        return row

    async def _authority(self) -> Authority:
        authority = await self.session.get(Authority, self.principal.authority_id)
        assert authority is not None  # noqa: S101 - the token was resolved through it
        return authority

    async def _parties(self, case: Case) -> tuple[Merchant, Platform | None, Manufacturer | None]:
        merchant = await self._get(Merchant, case.merchant_id, "merchant_id")
        platform = await self.session.get(Platform, case.platform_id) if case.platform_id else None
        manufacturer = await self.session.get(Manufacturer, case.manufacturer_id) if case.manufacturer_id else None
        return merchant, platform, manufacturer

    async def _platform_parties(self, case: Case, what: str) -> tuple[Merchant, Platform]:
        """The merchant and platform of a case that must have a platform (409 when it has none)."""
        merchant, platform, _ = await self._parties(case)
        if platform is None:
            raise ProblemError(409, "not-a-platform-case", f"a {what} goes to a platform; this case has none")
        return merchant, platform

    # ---- notices and clocks ---------------------------------------------------------------------------------------

    async def _send(
        self, case: Case, message: Message, recipient: Recipient, respond_by: datetime | None = None
    ) -> OutboundMessage:
        # A notice whose kind has documents (文书) carries them, numbered and signed in this same transaction.
        message, documents = await self._documents.attach(case, message, recipient)
        row = await enqueue(self.session, case=case, message=message, recipient=recipient, respond_by=respond_by)
        await self.session.flush()
        self._documents.carried(documents, row)
        self._sent.append(row)
        return row

    async def _send_for_answer(
        self, case: Case, message: Message, platform: Platform, clock: clocks.Deadline
    ) -> OutboundMessage:
        """Send a request or order to a platform and start the clock on its answer."""
        row = await self._send(case, message, platform_recipient(platform), clock.due_at)
        self._add_deadline(case, DeadlineKind.PLATFORM_ANSWER, f"platform:{platform.id}", clock, row.id)
        return row

    async def _tell_merchant(
        self, case: Case, merchant: Merchant, platform: Platform | None, message: Message, why_public: str
    ) -> None:
        """Tell the merchant through the platform, by e-mail when known, and by announcement when unreachable."""
        if platform is not None:
            await self._send(case, message, platform_recipient(platform))
        if merchant.contact_email:
            recipient = email_recipient(RecipientKind.MERCHANT, merchant.id, merchant.shop_name, merchant.contact_email)
            await self._send(case, message, recipient)
        if merchant.unreachable_since is not None or (platform is None and not merchant.contact_email):
            await self._send(
                case, message, announcement(RecipientKind.MERCHANT, merchant.id, merchant.shop_name, why_public)
            )

    def _platform_clock(self, working_days: int) -> clocks.Deadline:
        return clocks.deadline_for_platform_answer(utcnow(), working_days, calendar=self.calendar)

    def _add_deadline(
        self, case: Case, kind: DeadlineKind, party: str, clock: clocks.Deadline, message_id: str | None = None
    ) -> None:
        self.session.add(
            Deadline(
                id=new_id("dl"),
                case_id=case.id,
                **case.scope(),
                kind=kind,
                party=party,
                message_id=message_id,
                due_at=clock.due_at,
                provisional=clock.provisional,
                rule=clock.rule,
                basis=clock.basis,
                status=DeadlineStatus.OPEN,
            )
        )

    async def _meet_deadlines(self, case: Case, kind: DeadlineKind) -> None:
        """Settle the case's open clocks of ``kind``: met, or met late when past due."""
        rows = await self.session.scalars(
            select(Deadline).where(
                Deadline.case_id == case.id, Deadline.kind == kind, Deadline.status == DeadlineStatus.OPEN
            )
        )
        now = utcnow()
        for row in rows:
            row.status = DeadlineStatus.MET if now <= row.due_at else DeadlineStatus.MET_LATE
            row.met_at = now


def _audited(row: OutboundMessage) -> dict[str, str]:
    """What the audit trail keeps of a message sent: enough to match it, and its body's digest."""
    return {
        "id": row.id,
        "type": row.message_type,
        "recipient": f"{row.recipient_kind}:{row.recipient_id}",
        "adapter": row.adapter,
        "body_sha256": hashlib.sha256(row.body).hexdigest(),
    }
