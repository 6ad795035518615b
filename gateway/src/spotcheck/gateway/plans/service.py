"""Sampling plans as other capabilities use them, and the plan commands of the API.

A plan (抽检实施方案, the opinion 六(二)) goes draft → approved (by a ``supervise`` token other than the one that
wrote it; the number is given then) → in progress (its first draw or case) → completed. Cases are opened from
it (:func:`resolve_case_origin`), purchases name its buyers, accounts and addresses (:func:`check_purchase`), and
its expense ledger lists them. :func:`published_draws` is what the public site shows (一公开).
"""

from __future__ import annotations

from enum import StrEnum
from typing import Any, Final

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from spotcheck.gateway.access import Principal
from spotcheck.gateway.audit.service import append_audit
from spotcheck.gateway.legal import basis
from spotcheck.gateway.plans.draws import DrawService, draw_record, load_draw
from spotcheck.gateway.plans.ledger import ExpenseLine, expense_lines
from spotcheck.gateway.plans.numbers import format_plan_number, next_plan_number, plan_year
from spotcheck.gateway.runtime import Runtime
from spotcheck.gateway.store.models import Authority, Merchant
from spotcheck.gateway.store.models_plans import Draw, Plan
from spotcheck.gateway.store.types import new_id, utcnow
from spotcheck.gateway.web.problems import FieldError, ProblemError, field_error
from spotcheck.sdk import DrawRecord

__all__ = [
    "TARGETED_REASONS",
    "DrawService",
    "PlanService",
    "PlanState",
    "check_purchase",
    "get_plan_for_case",
    "load_plan",
    "published_draws",
    "resolve_case_origin",
    "selected_parties",
]

TARGETED_REASONS: Final = frozenset({"consumer_complaints", "reports", "enforcement_findings", "risk_monitoring"})
"""Why a merchant is selected on purpose (问题导向): many complaints, reports, findings, risk monitoring."""

_SINGLE_COMPLAINT: Final = frozenset({"single_complaint", "complaint"})


class PlanState(StrEnum):
    """Where a plan stands."""

    DRAFT = "draft"
    APPROVED = "approved"
    IN_PROGRESS = "in_progress"
    COMPLETED = "completed"


_RUNNING: Final = (PlanState.APPROVED, PlanState.IN_PROGRESS)


async def load_plan(session: AsyncSession, principal: Principal, plan_id: str) -> Plan:
    """The plan, if this principal may see it (404 unknown, 403 of an authority outside its area)."""
    plan = await session.get(Plan, plan_id) if len(plan_id) <= 40 else None  # noqa: PLR2004 - the column's size
    if plan is None:
        raise field_error(404, "plan_id", f"no such plan: {plan_id}", code="not-found")
    if plan.authority_id != principal.authority_id:
        authority = await session.get(Authority, plan.authority_id)
        if authority is None or not principal.can_act_in(authority.division_code):
            raise ProblemError(403, "outside-jurisdiction", "this plan belongs to an authority outside your area")
    return plan


def _start(plan: Plan) -> None:
    """A plan in use (a draw, a case) is in progress from then on."""
    if plan.state == PlanState.APPROVED:
        plan.state = PlanState.IN_PROGRESS
        plan.started_at = utcnow()


class PlanService:
    """Plan commands and queries for one regulator in one session; each command commits."""

    def __init__(self, session: AsyncSession, principal: Principal, runtime: Runtime) -> None:
        self.session = session
        self.principal = principal
        self.runtime = runtime

    async def create(
        self,
        *,
        title: str,
        number_prefix: str,
        content: dict[str, Any],
        buyers: list[dict[str, Any]],
        addresses: list[dict[str, Any]],
    ) -> Plan:
        """A new draft plan of this authority; buyers and addresses get ids (``B1``…, ``A1``…) purchases cite."""
        self.principal.require_scope("write")
        if not buyers:
            raise field_error(422, "buyers", "a plan names at least one buyer (买样人)")
        if not addresses:
            raise field_error(422, "addresses", "a plan names at least one delivery address")
        plan = Plan(
            id=new_id("plan"),
            authority_id=self.principal.authority_id,
            title=title,
            state=PlanState.DRAFT,
            number_prefix=number_prefix,
            content=content,
            buyers=[{"id": f"B{i}", **buyer} for i, buyer in enumerate(buyers, 1)],
            addresses=[{"id": f"A{i}", **address} for i, address in enumerate(addresses, 1)],
            created_by=self.principal.token_id,
        )
        self.session.add(plan)
        await self.session.flush()
        await self._audit("plan.create", plan, {"title": title})
        await self.session.commit()
        return plan

    async def get(self, plan_id: str) -> Plan:
        """One plan (404 unknown, 403 outside the area)."""
        self.principal.require_scope("read")
        return await load_plan(self.session, self.principal, plan_id)

    async def list_plans(self, limit: int = 100) -> list[Plan]:
        """Plans of this authority and of the authorities in its area, newest first."""
        self.principal.require_scope("read")
        authorities = await self.session.execute(select(Authority.id, Authority.division_code))
        visible = [
            aid for aid, code in authorities if aid == self.principal.authority_id or self.principal.can_act_in(code)
        ]
        rows = await self.session.scalars(
            select(Plan).where(Plan.authority_id.in_(visible)).order_by(Plan.id.desc()).limit(max(1, min(limit, 500)))
        )
        return list(rows)

    async def approve(self, plan_id: str) -> Plan:
        """Approve a draft and give it its number; the approver must not be the token that wrote it.

        Raises:
            ProblemError: 403 without ``supervise`` or by the plan's own token; 409 unless the plan is a draft.
        """
        self.principal.require_scope("supervise")
        plan = await load_plan(self.session, self.principal, plan_id)
        if plan.created_by == self.principal.token_id:
            raise ProblemError(
                403,
                "same-token",
                "审批须由另一名监督人员进行: the token that wrote the plan cannot approve it",
            )
        self._require_state(plan, PlanState.DRAFT, "approve")
        now = utcnow()
        year = plan_year(now)
        seq = await next_plan_number(self.session, plan.authority_id, year)
        plan.number_year, plan.number_seq = year, seq
        plan.number = format_plan_number(plan.number_prefix, year, seq)
        plan.state, plan.approved_by, plan.approved_at = PlanState.APPROVED, self.principal.token_id, now
        await self._audit("plan.approve", plan, {"number": plan.number})
        await self.session.commit()
        return plan

    async def start(self, plan_id: str) -> Plan:
        """Mark an approved plan in progress (a draw or a case does so too)."""
        plan = await self._writable(plan_id)
        self._require_state(plan, PlanState.APPROVED, "start")
        _start(plan)
        await self._audit("plan.start", plan, {})
        await self.session.commit()
        return plan

    async def complete(self, plan_id: str) -> Plan:
        """Mark an approved or running plan completed; no draws or cases are opened from it afterwards."""
        plan = await self._writable(plan_id)
        self._require_state(plan, _RUNNING, "complete")
        plan.state, plan.completed_at = PlanState.COMPLETED, utcnow()
        await self._audit("plan.complete", plan, {})
        await self.session.commit()
        return plan

    async def expenses(self, plan_id: str) -> tuple[Plan, list[ExpenseLine]]:
        """The plan and its expense ledger: one line per purchase recorded on its cases."""
        plan = await self.get(plan_id)
        return plan, await expense_lines(self.session, plan)

    async def _writable(self, plan_id: str) -> Plan:
        plan = await load_plan(self.session, self.principal, plan_id)
        self.principal.require_scope("write")
        return plan

    @staticmethod
    def _require_state(plan: Plan, states: PlanState | tuple[PlanState, ...], action: str) -> None:
        wanted = (states,) if isinstance(states, PlanState) else states
        if plan.state not in wanted:
            names = ", ".join(state.value for state in wanted)
            raise ProblemError(
                409, "illegal-plan-state", f"cannot {action} a plan that is {plan.state} (needs {names})"
            )

    async def _audit(self, action: str, plan: Plan, detail: dict[str, Any]) -> None:
        await append_audit(
            self.session,
            actor=self.principal.actor,
            action=action,
            subject=plan.id,
            detail={"state": plan.state, **detail},
        )


async def resolve_case_origin(
    session: AsyncSession, principal: Principal, *, merchant_id: str, plan_id: str | None, origin: dict[str, Any] | None
) -> tuple[Plan | None, dict[str, Any] | None]:
    """The plan a new case is opened from and its recorded origin; the plan is then in progress.

    Raises:
        ProblemError: 422 for a single consumer complaint (四(三): handle it as a complaint, not as sampling), an
            unknown reason, a draw that is not revealed or did not select the merchant; 404/403 for an unknown or
            foreign plan or draw; 409 for a plan that is not approved or already completed.
    """
    plan = await load_plan(session, principal, plan_id) if plan_id is not None else None
    if origin is not None and origin.get("kind") == "targeted":
        reason = str(origin.get("reason", ""))
        if reason in _SINGLE_COMPLAINT:
            raise ProblemError(
                422,
                "single-complaint-not-sampling",
                f"依据{basis('四(三)')}，为处理单个消费者投诉而进行的检验不属于网络商品抽检: "
                "handle it as a complaint (投诉处理), not as a sampling case (抽检)",
                errors=[FieldError(field="origin.reason", reason=f"{reason}: not a sampling case ({basis('四(三)')})")],
            )
        if reason not in TARGETED_REASONS:
            known = ", ".join(sorted(TARGETED_REASONS))
            raise field_error(422, "origin.reason", f"unknown reason {reason!r}; use one of {known}")
    elif origin is not None and origin.get("kind") == "draw":
        draw = await load_draw(session, principal, str(origin.get("draw_id", "")))
        if draw.selected is None:
            raise field_error(422, "origin.draw_id", "the draw is not revealed yet; reveal it first")
        if merchant_id not in draw.selected:
            raise field_error(422, "merchant_id", f"the draw {draw.id} did not select this merchant")
        if plan is not None and plan.id != draw.plan_id:
            raise field_error(422, "plan_id", f"the draw {draw.id} belongs to another plan")
        plan = plan or await load_plan(session, principal, draw.plan_id)
    if plan is not None:
        if plan.state not in _RUNNING:
            raise ProblemError(409, "illegal-plan-state", f"cases are opened from an approved plan; it is {plan.state}")
        _start(plan)
    return plan, origin


def check_purchase(plan: Plan, *, buyer_id: str | None, account: str | None, address_id: str | None) -> dict[str, Any]:
    """The plan's buyer and address a purchase names, checked (422 naming the field when the plan has no such)."""
    found: dict[str, Any] = {}
    if buyer_id is not None:
        buyer = next((b for b in plan.buyers if b.get("id") == buyer_id), None)
        if buyer is None:
            raise field_error(422, "buyer_id", f"the plan has no buyer {buyer_id}")
        found["buyer"] = buyer
        names = {a.get("user_name") for a in buyer.get("accounts", [])}
        if account is not None and names and account not in names:
            raise field_error(422, "account", f"buyer {buyer_id} has no account {account!r} in the plan")
    if address_id is not None:
        address = next((a for a in plan.addresses if a.get("id") == address_id), None)
        if address is None:
            raise field_error(422, "address_id", f"the plan has no delivery address {address_id}")
        found["address"] = address
    return found


async def published_draws(session: AsyncSession) -> list[DrawRecord]:
    """Every draw as the SDK's :class:`DrawRecord`, oldest first (commitments not yet revealed included)."""
    rows = await session.scalars(select(Draw).order_by(Draw.committed_at, Draw.id))
    return [draw_record(row) for row in rows]


async def selected_parties(session: AsyncSession, ids: list[str]) -> dict[str, tuple[str, str, str | None]]:
    """``(kind, shop_name, legal_name)`` of the merchants ``ids`` (the public page masks natural persons)."""
    if not ids:
        return {}
    rows = await session.execute(
        select(Merchant.id, Merchant.kind, Merchant.shop_name, Merchant.legal_name).where(Merchant.id.in_(ids))
    )
    return {mid: (kind, shop, legal) for mid, kind, shop, legal in rows}


async def get_plan_for_case(session: AsyncSession, plan_id: str) -> Plan | None:
    """The plan of a case (no authorisation: the caller has authorised the case)."""
    return await session.get(Plan, plan_id)
