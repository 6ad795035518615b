"""Case endpoints: open a case and drive it through its lifecycle."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any, TypeVar

from litestar import Controller, get, post
from litestar.di import Provide
from litestar.params import FromPath, FromQuery, JSONBody
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from spotcheck.gateway.cases.lifecycle import CaseState, allowed_actions
from spotcheck.gateway.cases.schemas import (
    CaseCreate,
    CaseView,
    CloseBody,
    DelistingBody,
    FinalizeBody,
    IdentityRequestBody,
    PublishBody,
    PurchaseRecord,
    RecordsRequestBody,
    ReferralBody,
    ReinspectionApplicationRecord,
    ReinspectionDecisionBody,
    ReinspectionOutcomeBody,
    ResultRecord,
    SealingRecord,
    StopSaleBody,
    TakedownBody,
    TransferBody,
)
from spotcheck.gateway.cases.service import CaseService
from spotcheck.gateway.deadlines.service import deadline_view
from spotcheck.gateway.delivery.schemas import MessageView
from spotcheck.gateway.runtime import Runtime
from spotcheck.gateway.store.models import Case, CaseEvent, Deadline, OutboundMessage
from spotcheck.gateway.store.types import utcnow
from spotcheck.gateway.web.deps import CurrentPrincipal, RuntimeDep, Session, provide_principal, provide_runtime

__all__ = ["CaseController"]

T = TypeVar("T")


async def _view(session: AsyncSession, case: Case, runtime: Runtime) -> CaseView:
    deadlines = (
        await session.scalars(select(Deadline).where(Deadline.case_id == case.id).order_by(Deadline.due_at))
    ).all()
    now = utcnow()
    return CaseView(
        id=case.id,
        state=case.state,
        allowed_actions=allowed_actions(CaseState(case.state)),
        authority_id=case.authority_id,
        jurisdiction_division=case.jurisdiction_division,
        jurisdiction_basis=case.jurisdiction_basis,
        platform_id=case.platform_id,
        merchant_id=case.merchant_id,
        manufacturer_id=case.manufacturer_id,
        plan_reference=case.plan_reference,
        product={
            "sample_name": case.sample_name,
            "trademark": case.trademark,
            "spec_model": case.spec_model,
            "production_date": case.production_date.isoformat() if case.production_date else None,
            "batch_no": case.batch_no,
            "listing_id": case.listing_id,
            "listing_url": case.listing_url,
        },
        purchase=case.purchase,
        sealing=case.sealing,
        order_confirmation=case.order_confirmation,
        result=case.result,
        conclusion=case.conclusion,
        hazardous=case.hazardous,
        reinspection_deadline=case.reinspection_deadline,
        measures=case.measures,
        created_at=case.created_at,
        updated_at=case.updated_at,
        deadlines=[deadline_view(d, now, runtime.calendar) for d in deadlines],
    )


class CaseController(Controller):
    """Cases and their lifecycle actions; an action the current state does not allow answers 409 naming the allowed."""

    path = "/v1/cases"
    tags = ["cases"]  # noqa: RUF012 - Litestar reads it as a class attribute
    dependencies = {"principal": Provide(provide_principal), "runtime": Provide(provide_runtime)}  # noqa: RUF012
    security = [{"regulatorToken": []}]  # noqa: RUF012

    async def _act(
        self,
        session: Session,
        principal: CurrentPrincipal,
        runtime: RuntimeDep,
        case_id: FromPath[str],
        action: Callable[[CaseService, Case], Awaitable[Any]],
    ) -> CaseView:
        service = CaseService(session, principal, runtime)
        case = await service.load(case_id)
        await action(service, case)
        await session.commit()
        if service.enqueued:
            runtime.wake_outbox()
        return await _view(session, case, runtime)

    @post("/", summary="Open a case from a sampling plan")
    async def create(
        self, data: JSONBody[CaseCreate], session: Session, principal: CurrentPrincipal, runtime: RuntimeDep
    ) -> CaseView:
        """Open a case; the jurisdiction and its basis in seed 二 are decided and recorded."""
        case = await CaseService(session, principal, runtime).create(data)
        await session.commit()
        return await _view(session, case, runtime)

    @get("/", summary="List cases this authority may see")
    async def list_cases(
        self,
        session: Session,
        principal: CurrentPrincipal,
        runtime: RuntimeDep,
        in_state: FromQuery[str | None] = None,
        limit: FromQuery[int] = 50,
    ) -> list[CaseView]:
        """Cases in this authority's jurisdiction, newest first."""
        query = select(Case).order_by(Case.id.desc()).limit(max(1, min(limit, 200)))
        if in_state:
            query = query.where(Case.state == in_state)
        rows = (await session.scalars(query)).all()
        return [await _view(session, c, runtime) for c in rows if principal.can_access_case(c)]

    @get("/{case_id:str}", summary="One case with its deadlines and allowed actions")
    async def get_case(
        self, case_id: FromPath[str], session: Session, principal: CurrentPrincipal, runtime: RuntimeDep
    ) -> CaseView:
        """A case (403 outside the jurisdiction)."""
        case = await CaseService(session, principal, runtime).load(case_id)
        return await _view(session, case, runtime)

    @get("/{case_id:str}/events", summary="The case's history")
    async def events(
        self, case_id: FromPath[str], session: Session, principal: CurrentPrincipal, runtime: RuntimeDep
    ) -> list[dict[str, Any]]:
        """Every step taken on the case, in order: who, what, from which state to which."""
        await CaseService(session, principal, runtime).load(case_id)
        rows = await session.scalars(select(CaseEvent).where(CaseEvent.case_id == case_id).order_by(CaseEvent.id))
        return [
            {
                "action": r.action,
                "from": r.from_state,
                "to": r.to_state,
                "actor": r.actor,
                "detail": r.detail,
                "at": r.at,
            }
            for r in rows
        ]

    @get("/{case_id:str}/messages", summary="Notices sent on the case and their delivery")
    async def messages(
        self, case_id: FromPath[str], session: Session, principal: CurrentPrincipal, runtime: RuntimeDep
    ) -> list[MessageView]:
        """Who was told what, when, and whether it arrived."""
        await CaseService(session, principal, runtime).load(case_id)
        rows = await session.scalars(
            select(OutboundMessage).where(OutboundMessage.case_id == case_id).order_by(OutboundMessage.id)
        )
        return [
            MessageView(
                id=r.id,
                message_type=r.message_type,
                recipient_kind=r.recipient_kind,
                recipient_id=r.recipient_id,
                recipient_name=r.recipient_name,
                adapter=r.adapter,
                status=r.status,
                attempt_count=r.attempt_count,
                created_at=r.created_at,
                delivered_at=r.delivered_at,
                acknowledged_at=r.acknowledged_at,
                answered_at=r.answered_at,
                respond_by=r.respond_by,
            )
            for r in rows
        ]

    @post("/{case_id:str}/purchase", summary="Record the purchase of sample and backup sample (三(一))")
    async def purchase(
        self,
        case_id: FromPath[str],
        data: JSONBody[PurchaseRecord],
        session: Session,
        principal: CurrentPrincipal,
        runtime: RuntimeDep,
    ) -> CaseView:
        """Record the online purchase with its evidence."""
        return await self._act(session, principal, runtime, case_id, lambda s, c: s.record_purchase(c, data))

    @post("/{case_id:str}/sealing", summary="Record unpacking and sealing (三(一))")
    async def sealing(
        self,
        case_id: FromPath[str],
        data: JSONBody[SealingRecord],
        session: Session,
        principal: CurrentPrincipal,
        runtime: RuntimeDep,
    ) -> CaseView:
        """Record the joint unpacking and sealing."""
        return await self._act(session, principal, runtime, case_id, lambda s, c: s.record_sealing(c, data))

    @post("/{case_id:str}/sampling-notice", summary="Notify the merchant and the platform of the sampling (三(一))")
    async def sampling_notice(
        self, case_id: FromPath[str], session: Session, principal: CurrentPrincipal, runtime: RuntimeDep
    ) -> CaseView:
        """Send the sampling notice with order numbers and the backup-return duty."""
        return await self._act(session, principal, runtime, case_id, lambda s, c: s.send_sampling_notice(c))

    @post("/{case_id:str}/records-request", summary="Ask the platform for order confirmation, records and logs")
    async def records_request(
        self,
        case_id: FromPath[str],
        data: JSONBody[RecordsRequestBody],
        session: Session,
        principal: CurrentPrincipal,
        runtime: RuntimeDep,
    ) -> CaseView:
        """Request transaction records and logs within the platform SLA."""
        return await self._act(session, principal, runtime, case_id, lambda s, c: s.request_records(c, data))

    @post("/{case_id:str}/identity-request", summary="Ask the platform for the merchant's identity (五(一))")
    async def identity_request(
        self,
        case_id: FromPath[str],
        data: JSONBody[IdentityRequestBody],
        session: Session,
        principal: CurrentPrincipal,
        runtime: RuntimeDep,
    ) -> CaseView:
        """Request the merchant's real name, address and contact."""
        return await self._act(session, principal, runtime, case_id, lambda s, c: s.request_merchant_identity(c, data))

    @post("/{case_id:str}/result", summary="Record the test result (starts the 5-working-day clock)")
    async def result(
        self,
        case_id: FromPath[str],
        data: JSONBody[ResultRecord],
        session: Session,
        principal: CurrentPrincipal,
        runtime: RuntimeDep,
    ) -> CaseView:
        """Record the testing institution's result."""
        return await self._act(session, principal, runtime, case_id, lambda s, c: s.record_result(c, data))

    @post("/{case_id:str}/result-notices", summary="Notify merchant, manufacturer, platform or announce (三(二))")
    async def result_notices(
        self, case_id: FromPath[str], session: Session, principal: CurrentPrincipal, runtime: RuntimeDep
    ) -> CaseView:
        """Send the result notices and open the re-inspection window when failing."""
        return await self._act(session, principal, runtime, case_id, lambda s, c: s.send_result_notices(c))

    @post("/{case_id:str}/reinspection-applications", summary="Record a written re-inspection application (三(三))")
    async def reinspection_application(
        self,
        case_id: FromPath[str],
        data: JSONBody[ReinspectionApplicationRecord],
        session: Session,
        principal: CurrentPrincipal,
        runtime: RuntimeDep,
    ) -> CaseView:
        """Record an application received directly; refused after the window."""
        return await self._act(
            session, principal, runtime, case_id, lambda s, c: s.apply_reinspection(c, data, via="direct")
        )

    @post(
        "/{case_id:str}/reinspection-applications/{application_id:str}/decision",
        summary="Accept or reject an application",
    )
    async def reinspection_decision(
        self,
        case_id: FromPath[str],
        application_id: FromPath[str],
        data: JSONBody[ReinspectionDecisionBody],
        session: Session,
        principal: CurrentPrincipal,
        runtime: RuntimeDep,
    ) -> CaseView:
        """Decide an application; accepted applications put the case into re-inspection."""
        return await self._act(
            session, principal, runtime, case_id, lambda s, c: s.decide_reinspection(c, application_id, data)
        )

    @post("/{case_id:str}/reinspection-outcome", summary="Record the re-inspection result (final)")
    async def reinspection_outcome(
        self,
        case_id: FromPath[str],
        data: JSONBody[ReinspectionOutcomeBody],
        session: Session,
        principal: CurrentPrincipal,
        runtime: RuntimeDep,
    ) -> CaseView:
        """Record the re-inspection outcome; the result is then final."""
        return await self._act(
            session, principal, runtime, case_id, lambda s, c: s.record_reinspection_outcome(c, data)
        )

    @post("/{case_id:str}/finalize", summary="Make the result final")
    async def finalize(
        self,
        case_id: FromPath[str],
        data: JSONBody[FinalizeBody],
        session: Session,
        principal: CurrentPrincipal,
        runtime: RuntimeDep,
    ) -> CaseView:
        """Finalize after the window, or on a written waiver."""
        return await self._act(session, principal, runtime, case_id, lambda s, c: s.finalize(c, data))

    @post("/{case_id:str}/publish", summary="Publish the result (四(一))")
    async def publish(
        self,
        case_id: FromPath[str],
        data: JSONBody[PublishBody],
        session: Session,
        principal: CurrentPrincipal,
        runtime: RuntimeDep,
    ) -> CaseView:
        """Publish the result and tell the platform."""
        return await self._act(session, principal, runtime, case_id, lambda s, c: s.publish(c, data))

    @post("/{case_id:str}/stop-sale", summary="Order the merchant to stop selling (四(二))")
    async def stop_sale(
        self,
        case_id: FromPath[str],
        data: JSONBody[StopSaleBody],
        session: Session,
        principal: CurrentPrincipal,
        runtime: RuntimeDep,
    ) -> CaseView:
        """Order the stop of sales; hazardous products are notified to the manufacturer's authority."""
        return await self._act(session, principal, runtime, case_id, lambda s, c: s.order_stop_sale(c, data))

    @post("/{case_id:str}/delisting", summary="Order every platform to stop trading a listed product (四(二))")
    async def delisting(
        self,
        case_id: FromPath[str],
        data: JSONBody[DelistingBody],
        session: Session,
        principal: CurrentPrincipal,
        runtime: RuntimeDep,
    ) -> CaseView:
        """Send the delisting order to every registered platform."""
        return await self._act(session, principal, runtime, case_id, lambda s, c: s.order_delisting(c, data))

    @post("/{case_id:str}/takedown", summary="Order deletion, blocking or disconnection (四(二))")
    async def takedown(
        self,
        case_id: FromPath[str],
        data: JSONBody[TakedownBody],
        session: Session,
        principal: CurrentPrincipal,
        runtime: RuntimeDep,
    ) -> CaseView:
        """Order the platform to take down an unreachable merchant's listings and shop."""
        return await self._act(session, principal, runtime, case_id, lambda s, c: s.order_takedown(c, data))

    @post("/{case_id:str}/referral", summary="Refer a website to the telecom authority (四(二))")
    async def referral(
        self,
        case_id: FromPath[str],
        data: JSONBody[ReferralBody],
        session: Session,
        principal: CurrentPrincipal,
        runtime: RuntimeDep,
    ) -> CaseView:
        """Ask the telecom authority to block a non-platform website."""
        return await self._act(session, principal, runtime, case_id, lambda s, c: s.refer_to_telecom(c, data))

    @post("/{case_id:str}/transfer", summary="Transfer a platform operator's violation (四(三))")
    async def transfer(
        self,
        case_id: FromPath[str],
        data: JSONBody[TransferBody],
        session: Session,
        principal: CurrentPrincipal,
        runtime: RuntimeDep,
    ) -> CaseView:
        """Transfer to the authority where the platform is located."""
        return await self._act(session, principal, runtime, case_id, lambda s, c: s.transfer_violation(c, data))

    @post("/{case_id:str}/close", summary="Close the case")
    async def close(
        self,
        case_id: FromPath[str],
        data: JSONBody[CloseBody],
        session: Session,
        principal: CurrentPrincipal,
        runtime: RuntimeDep,
    ) -> CaseView:
        """Close the case."""
        return await self._act(session, principal, runtime, case_id, lambda s, c: s.close(c, data))
