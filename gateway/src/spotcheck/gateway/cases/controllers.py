"""Case endpoints: open a case and drive it through its lifecycle.

Each handler parses the request, calls one service method, which authorises, acts and commits, and renders.
"""

from __future__ import annotations

from typing import Annotated, Any

import msgspec
from litestar import Controller, get, post
from litestar.di import NamedDependency, Provide
from litestar.params import FromPath, FromQuery, JSONBody, Parameter

from spotcheck.gateway.cases.measures import MeasuresService
from spotcheck.gateway.cases.queries import CaseQueries
from spotcheck.gateway.cases.records import BackupOutcomeRecord, BackupShippedRecord
from spotcheck.gateway.cases.results import ResultsService
from spotcheck.gateway.cases.sampling import SamplingService
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
    WaiverBody,
)
from spotcheck.gateway.deadlines.service import Waiver
from spotcheck.gateway.delivery.schemas import MessageView
from spotcheck.gateway.store.models import CaseEvent
from spotcheck.gateway.store.statuses import CaseState
from spotcheck.gateway.web.deps import CurrentPrincipal, RuntimeDep, Session, provide_principal, provide_runtime
from spotcheck.gateway.web.problems import ProblemError

__all__ = ["CaseController"]


async def provide_queries(session: Session, principal: CurrentPrincipal, runtime: RuntimeDep) -> CaseQueries:
    """The read side, for the request's regulator."""
    return CaseQueries(session, principal, runtime)


async def provide_sampling(session: Session, principal: CurrentPrincipal, runtime: RuntimeDep) -> SamplingService:
    """Opening and sampling, for the request's regulator."""
    return SamplingService(session, principal, runtime)


async def provide_results(session: Session, principal: CurrentPrincipal, runtime: RuntimeDep) -> ResultsService:
    """Results to publication, for the request's regulator."""
    return ResultsService(session, principal, runtime)


async def provide_measures(session: Session, principal: CurrentPrincipal, runtime: RuntimeDep) -> MeasuresService:
    """Measures and closing, for the request's regulator."""
    return MeasuresService(session, principal, runtime)


Queries = NamedDependency[CaseQueries]
"""The read side of the request (provided by the controller)."""
Sampling = NamedDependency[SamplingService]
"""Opening and sampling (provided by the controller)."""
Results = NamedDependency[ResultsService]
"""Results to publication (provided by the controller)."""
Measures = NamedDependency[MeasuresService]
"""Measures and closing (provided by the controller)."""


def _event_view(row: CaseEvent) -> dict[str, Any]:
    return {
        "action": row.action,
        "from": row.from_state,
        "to": row.to_state,
        "actor": row.actor,
        "detail": row.detail,
        "at": row.at,
    }


class CaseController(Controller):
    """Cases and their lifecycle actions; an action the current state does not allow answers 409 naming the allowed."""

    path = "/v1/cases"
    tags = ["cases"]  # noqa: RUF012 - Litestar reads it as a class attribute
    # Litestar answers 500 for an invalid body field that shares a dependency's name (TakedownBody.measures
    # would): the services' names end in _service, which no body field does.
    dependencies = {  # noqa: RUF012 - Litestar reads it as a class attribute
        "principal": Provide(provide_principal),
        "runtime": Provide(provide_runtime),
        "queries_service": Provide(provide_queries),
        "sampling_service": Provide(provide_sampling),
        "results_service": Provide(provide_results),
        "measures_service": Provide(provide_measures),
    }
    security = [{"regulatorToken": []}]  # noqa: RUF012

    @post("/", summary="Open a case from a sampling plan")
    async def create(self, data: JSONBody[CaseCreate], sampling_service: Sampling) -> CaseView:
        """Open a case; the jurisdiction and its basis in the opinion's 二 are decided and recorded."""
        detail = await sampling_service.create(
            merchant_id=data.merchant_id,
            manufacturer_id=data.manufacturer_id,
            plan_reference=data.plan_reference,
            product=data.product,
            plan_id=data.plan_id,
            origin=msgspec.to_builtins(data.origin) if data.origin is not None else None,
        )
        return CaseView.of(detail)

    @get("/", summary="List cases this authority may see")
    async def list_cases(
        self,
        queries_service: Queries,
        in_state: FromQuery[CaseState | None] = None,
        limit: Annotated[int, Parameter(ge=1, le=200)] = 50,
    ) -> list[CaseView]:
        """Cases in this authority's jurisdiction, newest first (at most ``limit``, 1 to 200)."""
        details = await queries_service.cases(in_state=in_state, limit=limit)
        return [CaseView.of(d) for d in details]

    @get("/{case_id:str}", summary="One case with its deadlines and allowed actions")
    async def get_case(self, case_id: FromPath[str], queries_service: Queries) -> CaseView:
        """A case (403 outside the jurisdiction)."""
        return CaseView.of(await queries_service.detail(case_id))

    @get("/{case_id:str}/events", summary="The case's history")
    async def events(self, case_id: FromPath[str], queries_service: Queries) -> list[dict[str, Any]]:
        """Every step taken on the case, in order: who, what, from which state to which."""
        return [_event_view(r) for r in await queries_service.events(case_id)]

    @get("/{case_id:str}/messages", summary="Notices sent on the case and their delivery")
    async def messages(self, case_id: FromPath[str], queries_service: Queries) -> list[MessageView]:
        """Who was told what, when, and whether it arrived."""
        return [MessageView.of(r) for r in await queries_service.messages(case_id)]

    @post("/{case_id:str}/purchase", summary="Record the purchase of sample and backup sample (三(一))")
    async def purchase(
        self, case_id: FromPath[str], data: JSONBody[PurchaseRecord], sampling_service: Sampling
    ) -> CaseView:
        """Record the online purchase with its evidence."""
        return CaseView.of(await sampling_service.record_purchase(case_id, data))

    @post("/{case_id:str}/sealing", summary="Record unpacking and sealing (三(一))")
    async def sealing(
        self, case_id: FromPath[str], data: JSONBody[SealingRecord], sampling_service: Sampling
    ) -> CaseView:
        """Record the joint unpacking and sealing."""
        return CaseView.of(await sampling_service.record_sealing(case_id, data))

    @post("/{case_id:str}/backup-sample/shipped", summary="Record the backup sample shipped back (三(一))")
    async def backup_shipped(
        self, case_id: FromPath[str], data: JSONBody[BackupShippedRecord], sampling_service: Sampling
    ) -> CaseView:
        """Record when the backup sample was shipped back to the merchant, once the result is final."""
        detail = await sampling_service.record_backup_shipped(
            case_id,
            shipped_at=data.shipped_at,
            carrier=data.carrier,
            waybill_no=data.waybill_no,
            evidence=data.evidence,
        )
        return CaseView.of(detail)

    @post("/{case_id:str}/backup-sample/outcome", summary="Record the merchant accepting or refusing the backup sample")
    async def backup_outcome(
        self, case_id: FromPath[str], data: JSONBody[BackupOutcomeRecord], sampling_service: Sampling
    ) -> CaseView:
        """Accepted, or refused: a refusal is recorded as a breach of the duty the sampling notice stated (三(一))."""
        detail = await sampling_service.record_backup_outcome(
            case_id, outcome=data.outcome, at=data.at, note=data.note, evidence=data.evidence
        )
        return CaseView.of(detail)

    @get("/{case_id:str}/backup-sample", summary="The backup sample's return (三(一))")
    async def backup_sample(self, case_id: FromPath[str], sampling_service: Sampling) -> dict[str, Any]:
        """Shipped when, accepted or refused, and the breach a refusal is recorded as; 404 when none recorded."""
        row = await sampling_service.backup_return(case_id)
        if row is None:
            raise ProblemError(404, "not-found", f"no backup sample return recorded on case {case_id}")
        return {
            "case_id": row.case_id,
            "shipped_at": row.shipped_at,
            "carrier": row.carrier,
            "waybill_no": row.waybill_no,
            "outcome": row.outcome,
            "outcome_at": row.outcome_at,
            "note": row.note,
            "evidence": row.evidence,
            "breach": row.breach,
        }

    @post("/{case_id:str}/sampling-notice", summary="Notify the merchant and the platform of the sampling (三(一))")
    async def sampling_notice(self, case_id: FromPath[str], sampling_service: Sampling) -> CaseView:
        """Send the sampling notice with order numbers and the backup-return duty."""
        return CaseView.of(await sampling_service.send_sampling_notice(case_id))

    @post("/{case_id:str}/records-request", summary="Ask the platform for order confirmation, records and logs")
    async def records_request(
        self, case_id: FromPath[str], data: JSONBody[RecordsRequestBody], sampling_service: Sampling
    ) -> CaseView:
        """Request transaction records and logs within the platform SLA."""
        detail = await sampling_service.request_records(
            case_id,
            order_nos=data.order_nos,
            records_from=data.records_from,
            records_until=data.records_until,
            items=data.items,
            working_days=data.working_days,
        )
        return CaseView.of(detail)

    @post("/{case_id:str}/identity-request", summary="Ask the platform for the merchant's identity (五(一))")
    async def identity_request(
        self, case_id: FromPath[str], data: JSONBody[IdentityRequestBody], sampling_service: Sampling
    ) -> CaseView:
        """Request the merchant's real name, address and contact."""
        return CaseView.of(await sampling_service.request_merchant_identity(case_id, working_days=data.working_days))

    @post("/{case_id:str}/result", summary="Record the test result (starts the 5-working-day clock)")
    async def result(self, case_id: FromPath[str], data: JSONBody[ResultRecord], results_service: Results) -> CaseView:
        """Record the testing institution's result."""
        return CaseView.of(await results_service.record_result(case_id, data))

    @post("/{case_id:str}/result-notices", summary="Notify merchant, manufacturer, platform or announce (三(二))")
    async def result_notices(self, case_id: FromPath[str], results_service: Results) -> CaseView:
        """Send the result notices and open the re-inspection window when failing."""
        return CaseView.of(await results_service.send_result_notices(case_id))

    @post("/{case_id:str}/reinspection-applications", summary="Record a written re-inspection application (三(三))")
    async def reinspection_application(
        self, case_id: FromPath[str], data: JSONBody[ReinspectionApplicationRecord], results_service: Results
    ) -> CaseView:
        """Record an application received directly; refused after the window."""
        return CaseView.of(await results_service.apply_reinspection(case_id, data))

    @post(
        "/{case_id:str}/reinspection-applications/{application_id:str}/decision",
        summary="Accept or reject an application",
    )
    async def reinspection_decision(
        self,
        case_id: FromPath[str],
        application_id: FromPath[str],
        data: JSONBody[ReinspectionDecisionBody],
        results_service: Results,
    ) -> CaseView:
        """Decide an application; accepted applications put the case into re-inspection."""
        detail = await results_service.decide_reinspection(
            case_id, application_id, decision=data.decision, reason=data.reason
        )
        return CaseView.of(detail)

    @post("/{case_id:str}/reinspection-outcome", summary="Record the re-inspection result (final)")
    async def reinspection_outcome(
        self, case_id: FromPath[str], data: JSONBody[ReinspectionOutcomeBody], results_service: Results
    ) -> CaseView:
        """Record the re-inspection outcome; the result is then final."""
        detail = await results_service.record_reinspection_outcome(
            case_id,
            outcome=data.outcome,
            report_no=data.report_no,
            conclusion=data.conclusion,
            failing_items=data.failing_items,
        )
        return CaseView.of(detail)

    @post("/{case_id:str}/finalize", summary="Make the result final")
    async def finalize(
        self, case_id: FromPath[str], data: JSONBody[FinalizeBody], results_service: Results
    ) -> CaseView:
        """Finalize after the window, or on a written waiver."""
        return CaseView.of(await results_service.finalize(case_id))

    @post("/{case_id:str}/reinspection-waivers", summary="Record a party's written waiver of re-inspection (三(三))")
    async def reinspection_waiver(
        self, case_id: FromPath[str], data: JSONBody[WaiverBody], results_service: Results
    ) -> CaseView:
        """Close one party's window on its written statement (an evidence file or a relayed reply)."""
        waiver = Waiver(
            party_role=data.party_role,
            waived_by=data.waived_by,
            statement_sha256=data.statement_sha256,
            relayed_reply_id=data.relayed_reply_id,
            note=data.note or "",
        )
        return CaseView.of(await results_service.waive_reinspection(case_id, waiver))

    @post("/{case_id:str}/publish", summary="Publish the result (四(一))")
    async def publish(self, case_id: FromPath[str], data: JSONBody[PublishBody], results_service: Results) -> CaseView:
        """Publish the result and tell the platform."""
        return CaseView.of(await results_service.publish(case_id, note=data.note))

    @post("/{case_id:str}/stop-sale", summary="Order the merchant to stop selling (四(二))")
    async def stop_sale(
        self, case_id: FromPath[str], data: JSONBody[StopSaleBody], measures_service: Measures
    ) -> CaseView:
        """Order the stop of sales; hazardous products are notified to the manufacturer's authority."""
        detail = await measures_service.order_stop_sale(case_id, warning_measures=data.warning_measures)
        return CaseView.of(detail)

    @post("/{case_id:str}/hazard-notification", summary="Send the hazard 通报 once its authority has a channel")
    async def hazard_notification(self, case_id: FromPath[str], measures_service: Measures) -> CaseView:
        """Send the open 通报 (四(二)) to the manufacturer's authority through the channel now registered."""
        return CaseView.of(await measures_service.notify_hazard_authority(case_id))

    @post("/{case_id:str}/delisting", summary="Order every platform to stop trading a listed product (四(二))")
    async def delisting(
        self, case_id: FromPath[str], data: JSONBody[DelistingBody], measures_service: Measures
    ) -> CaseView:
        """Send the delisting order to every registered platform."""
        detail = await measures_service.order_delisting(case_id, mandatory_standard=data.mandatory_standard)
        return CaseView.of(detail)

    @post("/{case_id:str}/takedown", summary="Order deletion, blocking or disconnection (四(二))")
    async def takedown(
        self, case_id: FromPath[str], data: JSONBody[TakedownBody], measures_service: Measures
    ) -> CaseView:
        """Order the platform to take down an unreachable merchant's listings and shop."""
        detail = await measures_service.order_takedown(case_id, measures=data.measures, include_shop=data.include_shop)
        return CaseView.of(detail)

    @post("/{case_id:str}/referral", summary="Refer a website to the telecom authority (四(二))")
    async def referral(
        self, case_id: FromPath[str], data: JSONBody[ReferralBody], measures_service: Measures
    ) -> CaseView:
        """Ask the telecom authority to block a non-platform website."""
        detail = await measures_service.refer_to_telecom(
            case_id, telecom_authority=data.telecom_authority, telecom_email=data.telecom_email, measure=data.measure
        )
        return CaseView.of(detail)

    @post("/{case_id:str}/transfer", summary="Transfer a platform operator's violation (四(三))")
    async def transfer(
        self, case_id: FromPath[str], data: JSONBody[TransferBody], measures_service: Measures
    ) -> CaseView:
        """Transfer to the authority where the platform is located."""
        detail = await measures_service.transfer_violation(case_id, violation=data.violation)
        return CaseView.of(detail)

    @post("/{case_id:str}/close", summary="Close the case")
    async def close(self, case_id: FromPath[str], data: JSONBody[CloseBody], measures_service: Measures) -> CaseView:
        """Close the case."""
        return CaseView.of(await measures_service.close(case_id, note=data.note))
