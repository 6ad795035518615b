"""抽检计划: sampling plans and their states, approval by a supervisor, and the plans' random draws.

Every read and the one action go through :class:`PlanService` and :class:`DrawService` under the officer's
principal, so what an officer sees and may do is what the plans API allows: plans of its own authority and of
those in its area; approval only with the ``supervise`` scope (the supervisor role), never by the officer who
wrote the plan, and only of a draft. The page offers the approval only when the service would accept it.
"""

from __future__ import annotations

from typing import Any, Final

from litestar import Controller, Request, Response, get, post
from litestar.datastructures import State
from litestar.di import Provide
from litestar.params import FromPath
from litestar.response import Redirect
from sqlalchemy import select

from spotcheck.gateway.console.auth import CurrentOfficer, Officer
from spotcheck.gateway.console.listing import PER_PAGE, offset_of, page_number
from spotcheck.gateway.console.render import page, pager, problem_message
from spotcheck.gateway.plans.service import DrawService, PlanService, PlanState, selected_parties
from spotcheck.gateway.runtime import Runtime
from spotcheck.gateway.store.models import Authority
from spotcheck.gateway.store.models_plans import Plan
from spotcheck.gateway.web.deps import RuntimeDep, Session, provide_runtime
from spotcheck.gateway.web.problems import ProblemError, field_error

__all__ = ["STATE_LABELS", "PlansPagesController", "approval_refusal"]

STATE_LABELS: Final = {
    PlanState.DRAFT: "草稿（待审批）",
    PlanState.APPROVED: "已审批",
    PlanState.IN_PROGRESS: "实施中",
    PlanState.COMPLETED: "已完成",
}
"""How a plan's state reads in the console."""

CONTENT_LABELS: Final = {
    "product_range": "抽检范围",
    "varieties": "抽检品种",
    "quantities": "抽样数量",
    "test_basis": "检验依据",
    "test_items": "检验项目",
    "judgement_principles": "判定原则",
    "testing_institution": "承检机构",
    "schedule_from": "实施开始",
    "schedule_until": "实施结束",
    "budget_fen": "经费预算",
}
"""The plan content fields of 《流通领域商品质量抽查检验办法》, in the order the page lists them."""

_LIST_LIMIT: Final = 500  # the most PlanService.list_plans answers; plans per authority and year are far fewer

Req = Request[Any, Any, State]


def approval_refusal(exc: ProblemError) -> str:
    """Why the service refused an approval, in the words an officer reads."""
    if exc.code == "insufficient-scope":
        return "您的账户无审批权限：抽检实施方案须由监督人员（supervisor 角色）审批。"
    if exc.code == "same-token":
        return "审批须由另一名监督人员进行：起草该方案的人员不能审批自己的方案。"
    if exc.code == "illegal-plan-state":
        return "只有草稿状态的方案可以审批；该方案已审批或已在实施。"
    return problem_message(exc)


def content_rows(content: dict[str, Any]) -> list[tuple[str, str]]:
    """The plan's content as (label, text) rows: known fields first in their order, then any others."""
    ordered = [name for name in CONTENT_LABELS if name in content]
    ordered += sorted(name for name in content if name not in CONTENT_LABELS)
    rows = []
    for name in ordered:
        value = content[name]
        if name == "budget_fen" and isinstance(value, int):
            text = f"{value / 100:,.2f} 元"
        elif isinstance(value, list):
            text = "、".join(str(item) for item in value)
        else:
            text = str(value)
        rows.append((CONTENT_LABELS.get(name, name), text))
    return rows


def _state(raw: str | None) -> str:
    if not raw:
        return ""
    if raw not in STATE_LABELS:
        raise field_error(400, "state", f"未知状态；可选：{'、'.join(STATE_LABELS)}", code="invalid-query")
    return raw


class PlansPagesController(Controller):
    """抽检计划 (/console/plans) and one plan with its draws (/console/plans/{plan_id})."""

    path = "/console"
    include_in_schema = False
    dependencies = {"runtime": Provide(provide_runtime)}  # noqa: RUF012 - Litestar reads it as a class attribute

    @get("/plans")
    async def plans(
        self, request: Req, session: Session, officer: CurrentOfficer, runtime: RuntimeDep
    ) -> Response[str]:
        """The plans of the officer's authority and of those in its area, newest first, by state."""
        state = _state(request.query_params.get("state"))
        number = page_number(request.query_params.get("page"))
        rows = await PlanService(session, officer.principal, runtime).list_plans(limit=_LIST_LIMIT)
        if state:
            rows = [row for row in rows if row.state == state]
        shown = rows[offset_of(number) : offset_of(number) + PER_PAGE]
        authorities = await _authority_names(session, {row.authority_id for row in shown})
        return page(
            request,
            "console/plans.html",
            officer,
            plans=shown,
            pager=pager("/console/plans", {"state": state}, number, PER_PAGE, len(rows)),
            state=state,
            states=STATE_LABELS,
            authorities=authorities,
        )

    @get("/plans/{plan_id:str}")
    async def plan(
        self, request: Req, plan_id: FromPath[str], session: Session, officer: CurrentOfficer, runtime: RuntimeDep
    ) -> Response[str]:
        """One plan: its content, buyers and addresses, state, approval and draws."""
        plan = await PlanService(session, officer.principal, runtime).get(plan_id)
        done = "方案已审批并编号。" if request.query_params.get("done") == "approved" else None
        context = await _plan_context(session, officer, runtime, plan)
        return page(request, "console/plan.html", officer, done=done, error=None, **context)

    @post("/plans/{plan_id:str}/approve")
    async def approve(
        self, request: Req, plan_id: FromPath[str], session: Session, officer: CurrentOfficer, runtime: RuntimeDep
    ) -> Response[str] | Redirect:
        """Approve a draft plan (supervisor); a refusal shows the plan with the reason."""
        service = PlanService(session, officer.principal, runtime)
        try:
            await service.approve(plan_id)
        except ProblemError as exc:
            await session.rollback()
            if exc.code in {"not-found", "outside-jurisdiction"}:
                raise
            plan = await service.get(plan_id)
            context = await _plan_context(session, officer, runtime, plan)
            refusal = approval_refusal(exc)
            return page(
                request, "console/plan.html", officer, status_code=exc.status_code, done=None, error=refusal, **context
            )
        return Redirect(f"/console/plans/{plan_id}?done=approved", status_code=303)


async def _authority_names(session: Session, ids: set[str]) -> dict[str, str]:
    if not ids:
        return {}
    rows = await session.execute(select(Authority.id, Authority.name).where(Authority.id.in_(ids)))
    return dict(rows.all())


async def _plan_context(session: Session, officer: Officer, runtime: Runtime, plan: Plan) -> dict[str, Any]:
    principal = officer.principal
    draws = await DrawService(session, principal, runtime).of_plan(plan)
    selected = [mid for draw in draws for mid in (draw.selected or [])]
    parties = await selected_parties(session, selected)
    is_draft = plan.state == PlanState.DRAFT
    supervises = "supervise" in principal.scopes
    wrote_it = plan.created_by == principal.token_id
    return {
        "plan": plan,
        "state_label": STATE_LABELS.get(PlanState(plan.state), plan.state),
        "authority": (await _authority_names(session, {plan.authority_id})).get(plan.authority_id, ""),
        "content": content_rows(plan.content),
        "draws": draws,
        "parties": parties,
        # Offered exactly when PlanService.approve would accept it.
        "can_approve": is_draft and supervises and not wrote_it,
        "approval_note": _approval_note(is_draft=is_draft, supervises=supervises, wrote_it=wrote_it),
    }


def _approval_note(*, is_draft: bool, supervises: bool, wrote_it: bool) -> str | None:
    """Why a draft shows no approve button to this officer (None when it shows one, or is no draft)."""
    if not is_draft or (supervises and not wrote_it):
        return None
    if supervises:
        return "您起草了该方案，须由另一名监督人员审批。"
    return "该方案待监督人员（supervisor 角色）审批。"
