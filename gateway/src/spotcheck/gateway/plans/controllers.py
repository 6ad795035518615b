"""Plan, draw and directory endpoints.

Each handler parses the request, calls one service method, which authorises, acts and commits, and renders.
"""

from __future__ import annotations

from typing import Annotated, Any, Final

import msgspec
from litestar import Controller, Request, Response, get, post
from litestar.datastructures import State
from litestar.di import Provide
from litestar.params import FromPath, FromQuery, JSONBody, Parameter

from spotcheck.gateway.plans.directory import DirectoryService, ImportRejectedError
from spotcheck.gateway.plans.draws import DrawScopeSpec, draw_record
from spotcheck.gateway.plans.ledger import ledger_csv, ledger_json, ledger_xlsx
from spotcheck.gateway.plans.schemas import (
    DirectoryMerchantView,
    DrawCreate,
    InspectorCreate,
    InspectorView,
    PlanCreate,
    PlanView,
    RevealBody,
)
from spotcheck.gateway.plans.service import DrawService, PlanService, load_plan
from spotcheck.gateway.store.models_plans import Draw, Inspector, Plan
from spotcheck.gateway.web.deps import CurrentPrincipal, RuntimeDep, Session, provide_principal, provide_runtime
from spotcheck.gateway.web.problems import PROBLEM_MEDIA_TYPE, FieldError, ProblemError, field_error

__all__ = ["DirectoryController", "DrawController", "PlanController"]

XLSX_MEDIA_TYPE: Final = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
_CSV_TYPES: Final = frozenset({"text/csv", "text/plain", "application/octet-stream"})
_DEPENDENCIES: Final = {"principal": Provide(provide_principal), "runtime": Provide(provide_runtime)}


def _plan_view(plan: Plan) -> PlanView:
    return PlanView(
        id=plan.id,
        authority_id=plan.authority_id,
        title=plan.title,
        state=plan.state,
        number=plan.number,
        content=plan.content,
        buyers=plan.buyers,
        addresses=plan.addresses,
        approved_at=plan.approved_at,
        started_at=plan.started_at,
        completed_at=plan.completed_at,
        created_at=plan.created_at,
    )


def _draw_view(row: Draw) -> dict[str, Any]:
    record: dict[str, Any] = msgspec.to_builtins(draw_record(row))
    record["plan_id"] = row.plan_id
    record["beacon_source"] = row.beacon_source
    return record


def _inspector_view(row: Inspector) -> InspectorView:
    return InspectorView(
        id=row.id,
        name=row.name,
        kind=row.kind,
        organisation=row.organisation,
        certificate_no=row.certificate_no,
        active=row.active,
    )


class PlanController(Controller):
    """Sampling plans (抽检实施方案): create, approve, run, complete; their draws and expense ledger."""

    path = "/v1/plans"
    tags = ["plans"]  # noqa: RUF012 - Litestar reads it as a class attribute
    dependencies = _DEPENDENCIES
    security = [{"regulatorToken": []}]  # noqa: RUF012

    @post("/", summary="Create a sampling plan (抽检实施方案) in draft")
    async def create(
        self, data: JSONBody[PlanCreate], session: Session, principal: CurrentPrincipal, runtime: RuntimeDep
    ) -> PlanView:
        """A draft plan with its content, buyers (买样人), their accounts and the delivery addresses."""
        plan = await PlanService(session, principal, runtime).create(
            title=data.title,
            number_prefix=data.number_prefix,
            content=msgspec.to_builtins(data.content),
            buyers=msgspec.to_builtins(data.buyers),
            addresses=msgspec.to_builtins(data.addresses),
        )
        return _plan_view(plan)

    @get("/", summary="List the plans this authority may see")
    async def list_plans(self, session: Session, principal: CurrentPrincipal, runtime: RuntimeDep) -> list[PlanView]:
        """Plans of this authority and of those in its area, newest first."""
        return [_plan_view(p) for p in await PlanService(session, principal, runtime).list_plans()]

    @get("/{plan_id:str}", summary="One plan")
    async def get_plan(
        self, plan_id: FromPath[str], session: Session, principal: CurrentPrincipal, runtime: RuntimeDep
    ) -> PlanView:
        """A plan (404 unknown, 403 outside the area)."""
        return _plan_view(await PlanService(session, principal, runtime).get(plan_id))

    @post("/{plan_id:str}/approve", summary="Approve a plan (supervise scope, not the author's token)")
    async def approve(
        self, plan_id: FromPath[str], session: Session, principal: CurrentPrincipal, runtime: RuntimeDep
    ) -> PlanView:
        """Approve a draft and give it its number (gap-free per authority and year)."""
        return _plan_view(await PlanService(session, principal, runtime).approve(plan_id))

    @post("/{plan_id:str}/start", summary="Mark an approved plan in progress")
    async def start(
        self, plan_id: FromPath[str], session: Session, principal: CurrentPrincipal, runtime: RuntimeDep
    ) -> PlanView:
        """Start the plan (its first draw or case does so too)."""
        return _plan_view(await PlanService(session, principal, runtime).start(plan_id))

    @post("/{plan_id:str}/complete", summary="Mark a plan completed")
    async def complete(
        self, plan_id: FromPath[str], session: Session, principal: CurrentPrincipal, runtime: RuntimeDep
    ) -> PlanView:
        """Complete the plan; no more draws or cases from it."""
        return _plan_view(await PlanService(session, principal, runtime).complete(plan_id))

    @get("/{plan_id:str}/expenses", summary="The plan's expense ledger (JSON)")
    async def expenses(
        self, plan_id: FromPath[str], session: Session, principal: CurrentPrincipal, runtime: RuntimeDep
    ) -> dict[str, Any]:
        """Every purchase of the plan's cases with buyer, account, address and amount, and the total."""
        plan, lines = await PlanService(session, principal, runtime).expenses(plan_id)
        return ledger_json(plan, lines)

    @get(
        "/{plan_id:str}/expenses.csv", summary="The plan's expense ledger (CSV, UTF-8 with BOM)", media_type="text/csv"
    )
    async def expenses_csv(
        self, plan_id: FromPath[str], session: Session, principal: CurrentPrincipal, runtime: RuntimeDep
    ) -> Response[bytes]:
        """The ledger as CSV for Excel."""
        plan, lines = await PlanService(session, principal, runtime).expenses(plan_id)
        disposition = f'attachment; filename="expenses-{plan.id}.csv"'
        return Response(
            ledger_csv(lines), media_type="text/csv; charset=utf-8", headers={"content-disposition": disposition}
        )

    @get("/{plan_id:str}/expenses.xlsx", summary="The plan's expense ledger (XLSX)", media_type=XLSX_MEDIA_TYPE)
    async def expenses_xlsx(
        self, plan_id: FromPath[str], session: Session, principal: CurrentPrincipal, runtime: RuntimeDep
    ) -> Response[bytes]:
        """The ledger as an Excel workbook."""
        plan, lines = await PlanService(session, principal, runtime).expenses(plan_id)
        disposition = f'attachment; filename="expenses-{plan.id}.xlsx"'
        return Response(
            ledger_xlsx(plan, lines), media_type=XLSX_MEDIA_TYPE, headers={"content-disposition": disposition}
        )

    @post("/{plan_id:str}/draws", summary="Commit a random draw of the plan (随机抽查): publish the commitment")
    async def commit_draw(
        self,
        plan_id: FromPath[str],
        data: JSONBody[DrawCreate],
        session: Session,
        principal: CurrentPrincipal,
        runtime: RuntimeDep,
    ) -> dict[str, Any]:
        """Freeze the candidates the scope gives, seal the secret, publish the commitment; once per plan and scope."""
        plan = await load_plan(session, principal, plan_id)
        scope = DrawScopeSpec(
            platforms=tuple(data.scope.platforms),
            categories=tuple(data.scope.categories),
            division_prefix=data.scope.division_prefix,
        )
        row = await DrawService(session, principal, runtime).commit(
            plan, scope=scope, count=data.count, inspector_count=data.inspector_count
        )
        return _draw_view(row)

    @get("/{plan_id:str}/draws", summary="The plan's draws")
    async def plan_draws(
        self, plan_id: FromPath[str], session: Session, principal: CurrentPrincipal, runtime: RuntimeDep
    ) -> list[dict[str, Any]]:
        """Every draw of the plan, committed or revealed."""
        plan = await load_plan(session, principal, plan_id)
        return [_draw_view(row) for row in await DrawService(session, principal, runtime).of_plan(plan)]


class DrawController(Controller):
    """One draw: read it, reveal it with a beacon."""

    path = "/v1/draws"
    tags = ["plans"]  # noqa: RUF012 - Litestar reads it as a class attribute
    dependencies = _DEPENDENCIES
    security = [{"regulatorToken": []}]  # noqa: RUF012

    @get("/{draw_id:str}", summary="One draw, in the published record format")
    async def get_draw(
        self, draw_id: FromPath[str], session: Session, principal: CurrentPrincipal, runtime: RuntimeDep
    ) -> dict[str, Any]:
        """The draw as published (and its plan id)."""
        return _draw_view(await DrawService(session, principal, runtime).get(draw_id))

    @post("/{draw_id:str}/reveal", summary="Reveal a draw with a beacon entered by a second token")
    async def reveal(
        self,
        draw_id: FromPath[str],
        data: JSONBody[RevealBody],
        session: Session,
        principal: CurrentPrincipal,
        runtime: RuntimeDep,
    ) -> dict[str, Any]:
        """Publish beacon, secret, seed and the selected merchants (and inspectors)."""
        row = await DrawService(session, principal, runtime).reveal(
            draw_id, beacon=data.beacon, beacon_source=data.beacon_source
        )
        return _draw_view(row)


class DirectoryController(Controller):
    """The object directory (检查对象名录库) and the inspector directory (执法检查人员名录库)."""

    path = "/v1/directory"
    tags = ["plans"]  # noqa: RUF012 - Litestar reads it as a class attribute
    dependencies = _DEPENDENCIES
    security = [{"regulatorToken": []}]  # noqa: RUF012

    @post(
        "/merchants/import",
        summary="Import merchants into the object directory from CSV (all rows or none)",
        description=(
            "The body is CSV (UTF-8, a BOM allowed) with the header platform_id, shop_id, shop_name, kind, "
            "legal_name, uscc, division_code, categories (separated by ';'). Any problem answers 422 (403 for rows "
            "outside the area) listing every {row, column, reason}, and nothing is imported."
        ),
        status_code=201,
    )
    async def import_merchants(
        self, request: Request[Any, Any, State], session: Session, principal: CurrentPrincipal
    ) -> Response[Any]:
        """Import every row or none."""
        declared = request.headers.get("content-type", "text/csv").split(";", 1)[0].strip().lower()
        if declared not in _CSV_TYPES:
            reason = f"{declared!r} is not accepted here; send the CSV as the body, as text/csv"
            errors = [FieldError(field="content-type", reason=reason)]
            raise ProblemError(415, "unsupported-media-type", reason, errors=errors)
        try:
            text = (await request.body()).decode("utf-8-sig")
        except UnicodeDecodeError as exc:
            raise field_error(400, "body", "the CSV is not UTF-8", code="invalid-request") from exc
        try:
            imported = await DirectoryService(session, principal).import_merchants(text)
        except ImportRejectedError as exc:
            return _import_problem(request, exc)
        return Response({"imported": imported}, status_code=201)

    @get("/merchants", summary="This authority's object directory (filter by platform, category, division)")
    async def merchants(
        self,
        session: Session,
        principal: CurrentPrincipal,
        platform_id: FromQuery[str | None] = None,
        category: FromQuery[str | None] = None,
        division_prefix: Annotated[str | None, Parameter(pattern=r"^[0-9]{1,6}$")] = None,
        limit: Annotated[int, Parameter(ge=1, le=1000)] = 200,
        offset: Annotated[int, Parameter(ge=0)] = 0,
    ) -> list[DirectoryMerchantView]:
        """The merchants a draw of this authority can take, by platform and shop."""
        rows = await DirectoryService(session, principal).merchants(
            platform_id=platform_id, category=category, division_prefix=division_prefix, limit=limit, offset=offset
        )
        return [
            DirectoryMerchantView(
                merchant_id=merchant.id,
                platform_id=entry.platform_id,
                shop_id=merchant.shop_id,
                shop_name=merchant.shop_name,
                kind=merchant.kind,
                division_code=entry.division_code,
                categories=[str(c) for c in entry.categories],
            )
            for entry, merchant in rows
        ]

    @post("/inspectors", summary="Add an inspector to the inspector directory")
    async def add_inspector(
        self, data: JSONBody[InspectorCreate], session: Session, principal: CurrentPrincipal
    ) -> InspectorView:
        """An officer or testing-institution staff member, drawable as an inspector."""
        row = await DirectoryService(session, principal).add_inspector(
            name=data.name, kind=data.kind, organisation=data.organisation, certificate_no=data.certificate_no
        )
        return _inspector_view(row)

    @get("/inspectors", summary="This authority's inspector directory")
    async def inspectors(self, session: Session, principal: CurrentPrincipal) -> list[InspectorView]:
        """The inspectors of this authority."""
        return [_inspector_view(row) for row in await DirectoryService(session, principal).inspectors()]


def _import_problem(request: Request[Any, Any, State], exc: ImportRejectedError) -> Response[Any]:
    """An RFC 9457 problem whose ``errors`` name each refused cell by row and column."""
    code = "outside-jurisdiction" if exc.status == 403 else "invalid-csv"  # noqa: PLR2004
    errors = [
        {"row": e.row, "column": e.column, "field": f"row {e.row}, {e.column}", "reason": e.reason}
        for e in exc.errors[:1000]
    ]
    first = exc.errors[0]
    body = {
        "type": f"urn:spotcheck:problem:{code}",
        "title": "CSV 导入被拒绝 (nothing was imported)",
        "status": exc.status,
        "detail": f"{len(exc.errors)} 处错误，未导入任何记录; first: row {first.row}, {first.column}: {first.reason}",
        "instance": request.url.path,
        "errors": errors,
    }
    return Response(msgspec.json.encode(body), status_code=exc.status, media_type=PROBLEM_MEDIA_TYPE)
