"""审计日志: the audit trail an officer may read, its verification, and the latest signed checkpoint.

"Verify" runs :func:`~spotcheck.gateway.audit.verify.audit_report`, the check ``spotcheck audit verify`` runs
(every record against its leaf, the whole Merkle log, every signed note and old chain checkpoint), on the
request's session. The checkpoint shown is the C2SP note served at ``/public/log/checkpoint``.

Which records an officer sees: an administrator (a gateway operator, as in the delivery API) all of them; any
other officer those written by its own authority's officers and tokens, and those about the cases it may access
(the case itself and every message sent or received about it).
"""

from __future__ import annotations

import json
from typing import Any, Final

from litestar import Controller, Request, Response, get, post
from litestar.datastructures import State
from litestar.di import Provide
from sqlalchemy import ColumnElement, Select, func, or_, select, true
from sqlalchemy.ext.asyncio import AsyncSession

from spotcheck.gateway.access import Principal
from spotcheck.gateway.audit.service import LogService, LogSigner
from spotcheck.gateway.audit.verify import AuditReport, audit_report
from spotcheck.gateway.console.auth import CurrentOfficer, Officer
from spotcheck.gateway.console.listing import PER_PAGE, offset_of, page_number, search_term
from spotcheck.gateway.console.registry_queries import visible_case_ids
from spotcheck.gateway.console.render import page, pager
from spotcheck.gateway.runtime import Runtime
from spotcheck.gateway.store.models import AuditRecord, Case, InboundMessage, OutboundMessage
from spotcheck.gateway.store.models_log import SignedTreeHead
from spotcheck.gateway.web.deps import RuntimeDep, Session, provide_runtime
from spotcheck.gateway.web.problems import ProblemError, field_error

__all__ = ["AuditPagesController", "audit_records", "detail_text"]

_MAX_CASE_ID: Final = 40
_DETAIL_CHARS: Final = 400

Req = Request[Any, Any, State]


def _about_cases(cases: Select[str]) -> ColumnElement[bool]:
    """Records whose subject is one of ``cases`` or a message sent or received about one of them."""
    sent = select(OutboundMessage.id).where(OutboundMessage.case_id.in_(cases))
    received = select(InboundMessage.webhook_id).where(InboundMessage.case_id.in_(cases))
    return or_(AuditRecord.subject.in_(cases), AuditRecord.subject.in_(sent), AuditRecord.subject.in_(received))


def _visible(principal: Principal) -> ColumnElement[bool]:
    if "admin" in principal.scopes:
        return true()
    own = AuditRecord.actor.startswith(f"authority:{principal.authority_id}/", autoescape=True)
    return or_(own, _about_cases(visible_case_ids(principal)))


async def audit_records(
    session: AsyncSession, principal: Principal, *, case_id: str, actor: str, offset: int, limit: int
) -> tuple[list[AuditRecord], int]:
    """One page of the records ``principal`` may read, newest first, about ``case_id`` and by ``actor``; total.

    Raises:
        ProblemError: 404 for an unknown case, 403 for a case outside the principal's jurisdiction.
    """
    query = select(AuditRecord).where(_visible(principal))
    if case_id:
        case = await session.get(Case, case_id) if len(case_id) <= _MAX_CASE_ID else None
        if case is None:
            raise field_error(404, "case", f"没有该案件：{case_id}", code="not-found")
        if not principal.can_access_case(case):
            raise ProblemError(403, "outside-jurisdiction", f"案件 {case_id} 不在本机关辖区内")
        query = query.where(_about_cases(select(Case.id).where(Case.id == case_id)))
    if actor:
        query = query.where(AuditRecord.actor.contains(actor, autoescape=True))
    total = int(await session.scalar(select(func.count()).select_from(query.subquery())) or 0)
    rows = await session.scalars(query.order_by(AuditRecord.seq.desc()).offset(offset).limit(limit))
    return list(rows), total


def detail_text(detail: dict[str, Any]) -> str:
    """A record's detail as compact JSON for the table, cut at a readable length."""
    text = json.dumps(detail, ensure_ascii=False, sort_keys=True, separators=(",", ":"), default=str)
    return text if len(text) <= _DETAIL_CHARS else text[: _DETAIL_CHARS - 1] + "…"


async def _latest_checkpoint(session: AsyncSession) -> SignedTreeHead | None:
    try:
        return await LogService(session).checkpoint()
    except ProblemError:
        return None  # nothing signed yet: the page says so


class AuditPagesController(Controller):
    """审计日志 (/console/audit) and its verification (POST /console/audit/verify)."""

    path = "/console"
    include_in_schema = False
    dependencies = {"runtime": Provide(provide_runtime)}  # noqa: RUF012 - Litestar reads it as a class attribute

    @get("/audit")
    async def audit(
        self, request: Req, session: Session, officer: CurrentOfficer, runtime: RuntimeDep
    ) -> Response[str]:
        """The newest audit records the officer may read, filtered by case and actor, and the latest checkpoint."""
        context = await _audit_context(request, session, officer, runtime)
        return page(request, "console/audit.html", officer, report=None, **context)

    @post("/audit/verify")
    async def verify(
        self, request: Req, session: Session, officer: CurrentOfficer, runtime: RuntimeDep
    ) -> Response[str]:
        """Run the full verification of ``spotcheck audit verify`` and show what it found."""
        report = await audit_report(session, LogSigner.for_settings(runtime.settings))
        context = await _audit_context(request, session, officer, runtime)
        return page(request, "console/audit.html", officer, report=_report_view(report), **context)


def _report_view(report: AuditReport) -> dict[str, Any]:
    return {
        "ok": report.ok,
        "records": report.records,
        "leaves": report.leaves,
        "checkpoints": report.checkpoints,
        "lines": report.describe().splitlines(),
    }


async def _audit_context(request: Req, session: AsyncSession, officer: Officer, runtime: Runtime) -> dict[str, Any]:
    case_id = search_term("case", request.query_params.get("case"))
    actor = search_term("actor", request.query_params.get("actor"))
    number = page_number(request.query_params.get("page"))
    rows, total = await audit_records(
        session, officer.principal, case_id=case_id, actor=actor, offset=offset_of(number), limit=PER_PAGE
    )
    checkpoint = await _latest_checkpoint(session)
    return {
        "records": [(row, detail_text(row.detail)) for row in rows],
        "pager": pager("/console/audit", {"case": case_id, "actor": actor}, number, PER_PAGE, total),
        "case_filter": case_id,
        "actor_filter": actor,
        "checkpoint": checkpoint,
        "verifier_key": LogSigner.for_settings(runtime.settings).verifier_key,
    }
