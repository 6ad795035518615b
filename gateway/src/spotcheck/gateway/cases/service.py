"""Case lifecycle service.

Every action checks access and state, records history and audit, and writes the notices it causes into the
outbox, all in the caller's single transaction.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any, Literal

import msgspec
import structlog
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from spotcheck.gateway import workdays as clocks
from spotcheck.gateway.access import Principal
from spotcheck.gateway.audit.chain import append_audit
from spotcheck.gateway.cases.lifecycle import ACTIONS, CaseState, IllegalTransitionError, allowed_actions, next_state
from spotcheck.gateway.cases.refs import authority_ref, manufacturer_ref, merchant_ref, platform_ref, product_ref
from spotcheck.gateway.cases.schemas import (
    CaseCreate,
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
from spotcheck.gateway.delivery.outbox import Recipient, enqueue
from spotcheck.gateway.runtime import Runtime
from spotcheck.gateway.store.models import (
    Authority,
    Case,
    CaseEvent,
    Deadline,
    Manufacturer,
    Merchant,
    OutboundMessage,
    Platform,
    ReinspectionApplication,
)
from spotcheck.gateway.store.types import new_id, utcnow
from spotcheck.gateway.web.problems import ProblemError, field_error
from spotcheck.schemas import (
    AuthorityRef,
    CaseTransfer,
    CaseTransferData,
    DelistingOrder,
    DelistingOrderData,
    EvidenceRef,
    FailingItem,
    HazardNotification,
    HazardNotificationData,
    MerchantIdentityRequest,
    MerchantIdentityRequestData,
    Message,
    OrderRef,
    RecordsRequest,
    RecordsRequestData,
    ReferralNotice,
    ReferralNoticeData,
    ReinspectionDecision,
    ReinspectionDecisionData,
    ResultNotice,
    ResultNoticeData,
    ResultsPublished,
    ResultsPublishedData,
    SamplingNotice,
    SamplingNoticeData,
    StopSaleOrder,
    StopSaleOrderData,
    TakedownOrder,
    TakedownOrderData,
)

__all__ = ["CaseService", "jurisdiction_for"]

BACKUP_RETURN_DUTY = (
    "被抽样网络商品经营者应当接受备份样品的退货（工商消字〔2015〕189号 三(一)）。"
    " The sampled merchant must accept the return of the backup sample."
)
CONSUMER_RETURNS_DUTY = (
    "消费者要求退货的，经营者应当负责退货（工商消字〔2015〕189号 四(二)）。"
    " Where consumers ask to return the product, the merchant must take it back."
)
_PLATFORM_ANSWER_TYPES = frozenset(
    {"records.request", "merchant.identity_request", "stop_sale.order", "delisting.order", "takedown.order"}
)


def jurisdiction_for(merchant: Merchant, platform: Platform | None, principal: Principal) -> tuple[str, str]:
    """The province whose authority organises sampling of this merchant's goods, and the seed's basis (二).

    Registered merchants fall to the province of registration; natural persons selling on a platform and the
    platform's own goods fall to the province where the platform operator is located, which may also sample
    any other goods traded on its platform.
    """
    platform_province = platform.province_code[:2] + "0000" if platform is not None else None
    if merchant.kind == "registered_entity" and merchant.registration_division:
        home = merchant.registration_division[:2] + "0000"
        if principal.can_act_in(merchant.registration_division) or platform_province is None:
            return home, "二: 本辖区内依法登记的网络商品经营者 (province of registration)"
        if principal.can_act_in(platform_province):
            return platform_province, "二: 第三方交易平台经营者所在地省级部门根据需要抽检平台内商品 (platform province)"
        return home, "二: 本辖区内依法登记的网络商品经营者 (province of registration)"
    if platform_province is None:
        raise field_error(409, "merchant_id", "a natural-person merchant must sell through a registered platform")
    kind = (
        "第三方交易平台经营者自营商品"
        if merchant.kind == "platform_self_operated"
        else "自然人通过第三方交易平台经营的商品"
    )
    return platform_province, f"二: {kind} (platform province)"


def _platform_recipient(platform: Platform) -> Recipient:
    return Recipient("platform", platform.id, platform.name, platform.adapter, {"platform_id": platform.id})


def _email_recipient(kind: str, ident: str, name: str, email: str) -> Recipient:
    return Recipient(kind, ident, name, "smtp", {"to": email})


def _announcement(kind: str, ident: str, name: str, reason: str) -> Recipient:
    return Recipient(kind, ident, name, "announcement", {"reason": reason})


class CaseService:
    """Runs lifecycle actions for one authenticated regulator inside one database session."""

    def __init__(self, session: AsyncSession, principal: Principal, runtime: Runtime) -> None:
        self.session = session
        self.principal = principal
        self.runtime = runtime
        self.calendar = runtime.calendar
        self.enqueued: list[OutboundMessage] = []

    # ---- loading and guarding -------------------------------------------------------------------------

    async def _get(self, model: type[Any], ident: str, field: str) -> Any:
        row = await self.session.get(model, ident)
        if row is None:
            raise field_error(
                404, field, f"no such {model.__tablename__[:-1].replace('_', ' ')}: {ident}", code="not-found"
            )
        return row

    async def load(self, case_id: str) -> Case:
        """The case, if this principal may see it (404 when unknown, 403 when outside its jurisdiction)."""
        structlog.contextvars.bind_contextvars(case_id=case_id)
        case = await self.session.get(Case, case_id)
        if case is None:
            raise ProblemError(404, "not-found", f"no such case: {case_id}")
        if not self.principal.can_access_case(case):
            raise ProblemError(403, "outside-jurisdiction", f"case {case_id} is outside this authority's jurisdiction")
        return case

    async def _authority(self) -> Authority:
        authority = await self.session.get(Authority, self.principal.authority_id)
        assert authority is not None  # noqa: S101 - the token was resolved through it
        return authority

    async def _step(self, case: Case, action: str, detail: dict[str, Any], *, to: CaseState | None = None) -> None:
        self.principal.require_scope("write")
        state = CaseState(case.state)
        if state not in ACTIONS[action].sources:
            refusal = IllegalTransitionError(action, state, allowed_actions(state))
            raise ProblemError(409, "illegal-transition", str(refusal), allowed=refusal.allowed)
        target = to or next_state(state, action)
        case.state = target.value
        self.session.add(
            CaseEvent(
                case_id=case.id,
                action=action,
                from_state=state.value,
                to_state=target.value,
                actor=self.principal.actor,
                detail=detail,
            )
        )
        await append_audit(
            self.session,
            actor=self.principal.actor,
            action=f"case.{action}",
            subject=case.id,
            detail={"from": state.value, "to": target.value, **detail},
        )

    async def _send(
        self, case: Case, message: Message, recipient: Recipient, respond_by: datetime | None = None
    ) -> OutboundMessage:
        row = await enqueue(
            self.session,
            actor=self.principal.actor,
            case_id=case.id,
            message=message,
            recipient=recipient,
            respond_by=respond_by,
        )
        await self.session.flush()
        self.enqueued.append(row)
        return row

    def _add_deadline(
        self, case: Case, kind: str, party: str, clock: clocks.Deadline, message_id: str | None = None
    ) -> Deadline:
        row = Deadline(
            id=new_id("dl"),
            case_id=case.id,
            kind=kind,
            party=party,
            message_id=message_id,
            due_at=clock.due_at,
            provisional=clock.provisional,
            rule=clock.rule,
            basis=clock.basis,
            status="open",
        )
        self.session.add(row)
        return row

    async def _meet_deadlines(self, case: Case, kind: str) -> None:
        rows = await self.session.scalars(
            select(Deadline).where(Deadline.case_id == case.id, Deadline.kind == kind, Deadline.status == "open")
        )
        now = utcnow()
        for row in rows:
            row.status = "met" if now <= row.due_at else "met_late"
            row.met_at = now

    async def _parties(self, case: Case) -> tuple[Merchant, Platform | None, Manufacturer | None]:
        merchant = await self._get(Merchant, case.merchant_id, "merchant_id")
        platform = await self.session.get(Platform, case.platform_id) if case.platform_id else None
        manufacturer = await self.session.get(Manufacturer, case.manufacturer_id) if case.manufacturer_id else None
        return merchant, platform, manufacturer

    def _notice_base(self, case: Case, authority: Authority, respond_by: datetime | None = None) -> dict[str, Any]:
        return {
            "case_id": case.id,
            "authority": authority_ref(authority),
            "issued_at": utcnow(),
            "respond_by": respond_by,
        }

    def _platform_deadline(self, working_days: int) -> clocks.Deadline:
        return clocks.deadline_for_platform_answer(utcnow(), working_days, calendar=self.calendar)

    # ---- creating ---------------------------------------------------------------------------------------

    async def create(self, body: CaseCreate) -> Case:
        """Open a case; jurisdiction is decided from the merchant and platform and recorded with its basis."""
        self.principal.require_scope("write")
        merchant: Merchant = await self._get(Merchant, body.merchant_id, "merchant_id")
        platform = await self.session.get(Platform, merchant.platform_id) if merchant.platform_id else None
        if body.manufacturer_id is not None:
            await self._get(Manufacturer, body.manufacturer_id, "manufacturer_id")
        division, basis = jurisdiction_for(merchant, platform, self.principal)
        # Sampling is organised by the provincial authority; a lower one acts only when entrusted (seed 二).
        if not self.principal.can_act_in(division):
            raise ProblemError(
                403,
                "outside-jurisdiction",
                f"sampling this merchant falls to the authority of division {division} ({basis}); "
                "this authority neither covers it nor holds an entrustment for it",
            )
        product = body.product
        case = Case(
            id=new_id("case"),
            authority_id=self.principal.authority_id,
            jurisdiction_division=division,
            jurisdiction_basis=basis,
            state=CaseState.PLANNED.value,
            platform_id=platform.id if platform else None,
            merchant_id=merchant.id,
            manufacturer_id=body.manufacturer_id,
            plan_reference=body.plan_reference,
            sample_name=product.sample_name,
            trademark=product.trademark,
            spec_model=product.spec_model,
            production_date=product.production_date,
            batch_no=product.batch_no,
            listing_id=product.listing_id,
            listing_url=product.listing_url,
            measures=[],
        )
        self.session.add(case)
        await self.session.flush()
        self.session.add(
            CaseEvent(
                case_id=case.id,
                action="create",
                from_state="",
                to_state=case.state,
                actor=self.principal.actor,
                detail={"basis": basis, "division": division},
            )
        )
        await append_audit(
            self.session,
            actor=self.principal.actor,
            action="case.create",
            subject=case.id,
            detail={"division": division, "basis": basis, "merchant_id": merchant.id},
        )
        return case

    # ---- sampling ---------------------------------------------------------------------------------------

    async def record_purchase(self, case: Case, body: PurchaseRecord) -> None:
        """Record the online purchase of sample and backup sample with its evidence (三(一))."""
        case.purchase = msgspec.to_builtins(body)
        await self._step(case, "record_purchase", {"orders": [o.order_no for o in body.orders]})

    async def record_sealing(self, case: Case, body: SealingRecord) -> None:
        """Record the joint unpacking and separate sealing of sample and backup sample (三(一))."""
        if body.sample_seal_no == body.backup_seal_no:
            raise field_error(400, "backup_seal_no", "must differ from sample_seal_no")
        case.sealing = msgspec.to_builtins(body)
        await self._step(case, "record_sealing", {"sample_seal_no": body.sample_seal_no})

    async def send_sampling_notice(self, case: Case) -> list[OutboundMessage]:
        """Notify the merchant (through the platform, and directly when an e-mail is known) and the platform."""
        merchant, platform, _ = await self._parties(case)
        authority = await self._authority()
        await self._step(case, "send_sampling_notice", {})
        assert case.purchase is not None  # noqa: S101 - guaranteed by the state checked above
        assert case.sealing is not None  # noqa: S101
        orders = msgspec.convert(case.purchase["orders"], list[OrderRef])
        evidence = msgspec.convert(
            case.purchase.get("evidence", []) + case.sealing.get("evidence", []), list[EvidenceRef]
        )
        message = SamplingNotice(
            timestamp=utcnow(),
            data=SamplingNoticeData(
                **self._notice_base(case, authority),
                platform=platform_ref(platform) if platform else None,
                merchant=merchant_ref(merchant),
                product=product_ref(case),
                orders=orders,
                sample_seal_no=case.sealing["sample_seal_no"],
                backup_seal_no=case.sealing["backup_seal_no"],
                sealed_at=msgspec.convert(case.sealing["sealed_at"], datetime),
                backup_return_duty=BACKUP_RETURN_DUTY,
                evidence=evidence,
            ),
        )
        return await self._tell_merchant(case, merchant, platform, message, "经营者无法联系 (unreachable)")

    async def _tell_merchant(
        self, case: Case, merchant: Merchant, platform: Platform | None, message: Message, why_public: str
    ) -> list[OutboundMessage]:
        """Tell the merchant through the platform, by e-mail when known, and by announcement when unreachable."""
        sent: list[OutboundMessage] = []
        if platform is not None:
            sent.append(await self._send(case, message, _platform_recipient(platform)))
        if merchant.contact_email:
            recipient = _email_recipient("merchant", merchant.id, merchant.shop_name, merchant.contact_email)
            sent.append(await self._send(case, message, recipient))
        if merchant.unreachable_since is not None or (platform is None and not merchant.contact_email):
            sent.append(
                await self._send(case, message, _announcement("merchant", merchant.id, merchant.shop_name, why_public))
            )
        return sent

    async def request_records(self, case: Case, body: RecordsRequestBody) -> OutboundMessage:
        """Ask the platform to confirm the orders' e-documents and provide records and logs (三(一))."""
        merchant, platform = await self._platform_case(case, "records request")
        authority = await self._authority()
        await self._step(case, "request_records", {"orders": body.order_nos})
        clock = self._platform_deadline(body.working_days)
        message = RecordsRequest(
            timestamp=utcnow(),
            data=RecordsRequestData(
                **self._notice_base(case, authority, clock.due_at),
                shop_id=merchant.shop_id,
                orders=body.order_nos,
                records_from=body.records_from,
                records_until=body.records_until,
                needed=["order_documents", "transaction_records", "logs"],
                note="；".join(body.items),
            ),
        )
        row = await self._send(case, message, _platform_recipient(platform), clock.due_at)
        self._add_deadline(case, "platform_answer", f"platform:{platform.id}", clock, row.id)
        return row

    async def request_merchant_identity(self, case: Case, body: IdentityRequestBody) -> OutboundMessage:
        """Ask the platform for the merchant's real name, address and effective contact (五(一))."""
        merchant, platform = await self._platform_case(case, "identity request")
        authority = await self._authority()
        await self._step(case, "request_merchant_identity", {})
        clock = self._platform_deadline(body.working_days)
        message = MerchantIdentityRequest(
            timestamp=utcnow(),
            data=MerchantIdentityRequestData(
                **self._notice_base(case, authority, clock.due_at),
                shop_id=merchant.shop_id,
                shop_name=merchant.shop_name,
                listing_ids=[case.listing_id] if case.listing_id else [],
                purpose="网络商品抽检结果通知及后处理需要 (to notify the result and apply measures)",
            ),
        )
        row = await self._send(case, message, _platform_recipient(platform), clock.due_at)
        self._add_deadline(case, "platform_answer", f"platform:{platform.id}", clock, row.id)
        return row

    async def _platform_case(self, case: Case, what: str) -> tuple[Merchant, Platform]:
        merchant, platform, _ = await self._parties(case)
        if platform is None:
            raise ProblemError(409, "not-a-platform-case", f"a {what} goes to a platform; this case has none")
        return merchant, platform

    # ---- results ----------------------------------------------------------------------------------------

    async def record_result(self, case: Case, body: ResultRecord) -> None:
        """Record the test result; starts the five-working-day result notice clock (三(二))."""
        case.result = msgspec.to_builtins(body)
        case.conclusion = body.conclusion
        case.hazardous = body.hazardous
        case.mandatory_standard_failed = body.mandatory_standard_failed
        case.result_received_at = body.received_at
        await self._step(case, "record_result", {"conclusion": body.conclusion, "report_no": body.report_no})
        clock = clocks.deadline_for_result_notice(body.received_at, calendar=self.calendar)
        self._add_deadline(case, "result_notice", "regulator", clock)

    async def send_result_notices(self, case: Case) -> list[OutboundMessage]:
        """Notify the merchant, the labelled manufacturer when failing and the platform when bought through one.

        A merchant that cannot be reached is notified by public announcement on the official website (三(二)).
        """
        merchant, platform, manufacturer = await self._parties(case)
        authority = await self._authority()
        await self._step(case, "send_result_notices", {})
        assert case.result is not None  # noqa: S101 - guaranteed by the state checked above
        assert case.result_received_at is not None  # noqa: S101
        now = utcnow()
        window = clocks.deadline_for_reinspection_application(now, calendar=self.calendar)
        failing = case.conclusion == "fail"
        case.result_notified_at = now
        case.reinspection_deadline = window.due_at if failing else None
        sent: list[OutboundMessage] = []

        result = case.result
        received_at = case.result_received_at
        failing_items = msgspec.convert(result.get("failing_items", []), list[FailingItem])

        def notice(role: Literal["merchant", "manufacturer", "platform"]) -> ResultNotice:
            return ResultNotice(
                timestamp=now,
                data=ResultNoticeData(
                    **self._notice_base(case, authority),
                    addressee_role=role,
                    merchant=merchant_ref(merchant),
                    product=product_ref(case),
                    conclusion=result["conclusion"],
                    report_no=result["report_no"],
                    testing_institution=result["institution"],
                    result_received_at=received_at,
                    failing_items=failing_items,
                    manufacturer=manufacturer_ref(manufacturer) if manufacturer else None,
                    reinspection_deadline=window.due_at if failing else None,
                ),
            )

        sent.extend(
            await self._tell_merchant(case, merchant, platform, notice("merchant"), "经营者地址不详 (address unknown)")
        )
        if failing and manufacturer is not None:
            if manufacturer.contact_email:
                recipient = _email_recipient(
                    "manufacturer", manufacturer.id, manufacturer.name, manufacturer.contact_email
                )
            else:
                recipient = _announcement(
                    "manufacturer", manufacturer.id, manufacturer.name, "生产者联系方式不详 (no contact)"
                )
            sent.append(await self._send(case, notice("manufacturer"), recipient))
        if platform is not None:
            sent.append(await self._send(case, notice("platform"), _platform_recipient(platform)))
        await self._meet_deadlines(case, "result_notice")
        if failing:
            self._add_deadline(case, "reinspection_application", "merchant", window)
        return sent

    async def apply_reinspection(
        self, case: Case, body: ReinspectionApplicationRecord, *, via: str
    ) -> ReinspectionApplication:
        """Record a written re-inspection application received inside the fifteen-day window (三(三))."""
        if case.conclusion != "fail":
            raise ProblemError(409, "not-failing", "re-inspection applies to a failing result only")
        await self._step(case, "apply_reinspection", {"applicant": body.applicant_role})
        return await self.add_application(
            case, body.applicant_role, body.applicant_name, body.applied_at, body.document_sha256, body.reason, via=via
        )

    async def add_application(
        self, case: Case, role: str, name: str, applied_at: datetime, sha256: str | None, reason: str, *, via: str
    ) -> ReinspectionApplication:
        """Store an application after checking it is inside the window (used by the API and the intake)."""
        if case.reinspection_deadline is None or applied_at > case.reinspection_deadline:
            raise field_error(
                409,
                "applied_at",
                f"the re-inspection window ended at {case.reinspection_deadline}; the result is final (三(三))",
                code="window-closed",
            )
        row = ReinspectionApplication(
            id=new_id("rei"),
            case_id=case.id,
            applicant_role=role,
            applicant_name=name,
            applied_at=applied_at,
            received_via=via,
            document_sha256=sha256,
            reason=reason,
        )
        self.session.add(row)
        await self._meet_deadlines(case, "reinspection_application")
        return row

    async def decide_reinspection(self, case: Case, application_id: str, body: ReinspectionDecisionBody) -> None:
        """Accept (the case enters re-inspection) or reject an application; the applicant's platform is told."""
        application: ReinspectionApplication = await self._get(
            ReinspectionApplication, application_id, "application_id"
        )
        if application.case_id != case.id:
            raise field_error(404, "application_id", "not an application of this case", code="not-found")
        if application.decision is not None:
            raise ProblemError(
                409, "already-decided", f"application {application_id} was already {application.decision}"
            )
        to = CaseState.REINSPECTION if body.decision == "accepted" else None
        await self._step(case, "decide_reinspection", {"application": application_id, "decision": body.decision}, to=to)
        application.decision = body.decision
        application.decision_reason = body.reason
        application.decided_at = utcnow()
        await self._tell_reinspection(case, application, body.decision, body.reason, None)

    async def record_reinspection_outcome(self, case: Case, body: ReinspectionOutcomeBody) -> None:
        """Record the re-inspection result; it is final (三(三))."""
        application = await self.session.scalar(
            select(ReinspectionApplication).where(
                ReinspectionApplication.case_id == case.id, ReinspectionApplication.decision == "accepted"
            )
        )
        await self._step(case, "record_reinspection_outcome", {"outcome": body.outcome, "report_no": body.report_no})
        case.conclusion = body.conclusion
        result = dict(case.result or {})
        result["reinspection"] = msgspec.to_builtins(body)
        if body.outcome == "overturned":
            result.update(conclusion=body.conclusion, failing_items=msgspec.to_builtins(body.failing_items))
            if body.conclusion == "pass":
                case.hazardous = False
                case.mandatory_standard_failed = False
        case.result = result
        case.final_at = utcnow()
        if application is not None:
            application.decision = body.outcome
            await self._tell_reinspection(case, application, body.outcome, f"复检结论 {body.outcome}", body.report_no)

    async def _tell_reinspection(
        self, case: Case, application: ReinspectionApplication, decision: str, reason: str, report_no: str | None
    ) -> None:
        _, platform, _ = await self._parties(case)
        if platform is None:
            return
        authority = await self._authority()
        message = ReinspectionDecision(
            timestamp=utcnow(),
            data=ReinspectionDecisionData(
                **self._notice_base(case, authority),
                application_id=application.id,
                decision=decision,  # type: ignore[arg-type]
                reason=reason,
                reinspection_report_no=report_no,
            ),
        )
        await self._send(case, message, _platform_recipient(platform))

    async def finalize(self, case: Case, body: FinalizeBody, *, by_deadline: bool = False) -> None:
        """Make the result final once the window has passed with no application, or on a written waiver."""
        now = utcnow()
        pending = await self.session.scalar(
            select(ReinspectionApplication.id).where(
                ReinspectionApplication.case_id == case.id, ReinspectionApplication.decision.is_(None)
            )
        )
        if pending is not None:
            raise ProblemError(409, "application-pending", f"re-inspection application {pending} awaits a decision")
        window_open = case.reinspection_deadline is not None and now <= case.reinspection_deadline
        if window_open and not body.waived and not by_deadline:
            raise ProblemError(
                409,
                "window-open",
                f"the re-inspection window is open until {case.reinspection_deadline.isoformat()}; "  # type: ignore[union-attr]
                "finalize after it or record a written waiver (waived=true)",
            )
        await self._step(case, "finalize", {"waived": body.waived, "by_deadline": by_deadline})
        case.final_at = now
        await self._meet_deadlines(case, "reinspection_application")

    async def publish(self, case: Case, body: PublishBody) -> list[OutboundMessage]:
        """Publish the result with the fields seed 四(一) lists; the platform is told."""
        merchant, platform, manufacturer = await self._parties(case)
        authority = await self._authority()
        await self._step(case, "publish", {"note": body.note} if body.note else {})
        now = utcnow()
        case.published_at = now
        sent: list[OutboundMessage] = []
        if platform is not None:
            failing_items = (case.result or {}).get("failing_items", [])
            message = ResultsPublished(
                timestamp=now,
                data=ResultsPublishedData(
                    **self._notice_base(case, authority),
                    sample_name=case.sample_name,
                    merchant_name=merchant.legal_name or merchant.shop_name,
                    trademark=case.trademark,
                    manufacturer_name=manufacturer.name if manufacturer else "/",
                    spec_model=case.spec_model,
                    production_date=case.production_date,
                    main_failing_items=[item["item"] for item in failing_items] if case.conclusion == "fail" else [],
                    conclusion=case.conclusion or "pass",  # type: ignore[arg-type]
                    platform_name=platform.name,
                    published_url=self._public_url(f"/public/results/{case.id}"),
                    published_at=now,
                    shop_id=merchant.shop_id,
                    report_no=(case.result or {}).get("report_no"),
                ),
            )
            sent.append(await self._send(case, message, _platform_recipient(platform)))
        return sent

    def _public_url(self, path: str) -> str:
        return self.runtime.settings.public_base_url.rstrip("/") + path

    # ---- measures ---------------------------------------------------------------------------------------

    def _require_failing(self, what: str) -> None:
        raise ProblemError(409, "not-failing", f"{what} applies to a non-compliant product only (四(二))")

    async def order_stop_sale(self, case: Case, body: StopSaleBody) -> list[OutboundMessage]:
        """Order the sampled merchant to stop selling; hazardous products also go to the manufacturer's authority."""
        if case.conclusion != "fail":
            self._require_failing("a stop-sale order")
        state = CaseState(case.state)
        if state in {CaseState.RESULT_RECEIVED, CaseState.RESULT_NOTIFIED} and not case.hazardous:
            raise ProblemError(
                409,
                "not-final",
                "before the result is final a stop-sale order is only for hazardous products (四(二) 第二款)",
                allowed=["finalize"],
            )
        merchant, platform, manufacturer = await self._parties(case)
        authority = await self._authority()
        await self._step(
            case,
            "order_stop_sale",
            {"hazardous": case.hazardous},
            to=CaseState.MEASURES if state not in {CaseState.RESULT_RECEIVED, CaseState.RESULT_NOTIFIED} else state,
        )
        clock = self._platform_deadline(body.working_days)
        message = StopSaleOrder(
            timestamp=utcnow(),
            data=StopSaleOrderData(
                **self._notice_base(case, authority, clock.due_at),
                merchant=merchant_ref(merchant),
                product=product_ref(case),
                hazardous=case.hazardous,
                consumer_returns_duty=CONSUMER_RETURNS_DUTY,
                warning_measures=list(body.warning_measures),
                report_no=(case.result or {}).get("report_no"),
            ),
        )
        sent: list[OutboundMessage] = []
        if platform is not None:
            row = await self._send(case, message, _platform_recipient(platform), clock.due_at)
            self._add_deadline(case, "platform_answer", f"platform:{platform.id}", clock, row.id)
            sent.append(row)
        if merchant.contact_email:
            sent.append(
                await self._send(
                    case, message, _email_recipient("merchant", merchant.id, merchant.shop_name, merchant.contact_email)
                )
            )
        elif platform is None:
            sent.append(
                await self._send(
                    case,
                    message,
                    _announcement("merchant", merchant.id, merchant.shop_name, "经营者无法联系 (unreachable)"),
                )
            )
        case.measures = [*case.measures, {"kind": "stop_sale", "at": utcnow().isoformat()}]
        if case.hazardous and manufacturer is not None:
            sent.extend(await self._notify_hazard(case, manufacturer, authority))
        return sent

    async def _notify_hazard(
        self, case: Case, manufacturer: Manufacturer, authority: Authority
    ) -> list[OutboundMessage]:
        # 四(二): 及时通报商品标称生产者所在地有关行政部门.
        division = manufacturer.division_code
        if division is None:
            return []
        province = division[:2] + "0000"
        target = await self.session.scalar(
            select(Authority)
            .where(Authority.division_code.in_([division, division[:4] + "00", province]))
            .order_by(Authority.division_code.desc())
        )
        recipient_ref = (
            authority_ref(target)
            if target
            else AuthorityRef(code=province, name=f"{province} 市场监督管理部门", level="provincial")
        )
        message = HazardNotification(
            timestamp=utcnow(),
            data=HazardNotificationData(
                **self._notice_base(case, authority),
                recipient=recipient_ref,
                manufacturer=manufacturer_ref(manufacturer),
                product=product_ref(case),
                hazard_description="检验不合格且危及人身、财产安全 (endangers life or property)",
                failing_items=msgspec.convert((case.result or {}).get("failing_items", []), list[FailingItem]),
                measures_taken=["责令停止销售 (stop-sale ordered)"],
                report_no=(case.result or {}).get("report_no"),
            ),
        )
        if target is not None and target.contact_email:
            recipient = _email_recipient("authority", target.id, target.name, target.contact_email)
        else:
            recipient = _announcement("authority", recipient_ref.code, recipient_ref.name, "no registered contact")
        return [await self._send(case, message, recipient)]

    async def order_delisting(self, case: Case, body: DelistingBody) -> list[OutboundMessage]:
        """Put the product on the stop-sale list and order every registered platform to stop trading it."""
        if not (case.conclusion == "fail" and case.hazardous and case.mandatory_standard_failed):
            raise ProblemError(
                409,
                "not-listable",
                "the stop-sale list is for products that endanger life or property "
                "AND fail a mandatory standard (四(二))",
            )
        _, _, manufacturer = await self._parties(case)
        authority = await self._authority()
        await self._step(case, "order_delisting", {"mandatory_standard": body.mandatory_standard})
        platforms = (
            await self.session.scalars(select(Platform).where(Platform.disabled_at.is_(None)).order_by(Platform.id))
        ).all()
        sent: list[OutboundMessage] = []
        clock = self._platform_deadline(body.working_days)
        for platform in platforms:
            message = DelistingOrder(
                timestamp=utcnow(),
                data=DelistingOrderData(
                    **self._notice_base(case, authority, clock.due_at),
                    sample_name=case.sample_name,
                    trademark=case.trademark,
                    spec_model=case.spec_model,
                    hazardous=True,
                    mandatory_standard=body.mandatory_standard,
                    list_published_at=case.published_at or utcnow(),
                    manufacturer=manufacturer_ref(manufacturer) if manufacturer else None,
                    known_listing_ids=[case.listing_id] if case.listing_id and platform.id == case.platform_id else [],
                ),
            )
            row = await self._send(case, message, _platform_recipient(platform), clock.due_at)
            self._add_deadline(case, "platform_answer", f"platform:{platform.id}", clock, row.id)
            sent.append(row)
        case.measures = [
            *case.measures,
            {"kind": "delisting", "platforms": [p.id for p in platforms], "at": utcnow().isoformat()},
        ]
        return sent

    async def order_takedown(self, case: Case, body: TakedownBody) -> OutboundMessage:
        """Have the platform delete, block or disconnect the listing and shop of an unreachable merchant."""
        if case.conclusion != "fail":
            self._require_failing("a takedown order")
        merchant, platform = await self._platform_case(case, "takedown order")
        if merchant.unreachable_since is None:
            raise ProblemError(
                409,
                "merchant-reachable",
                "a takedown order is for a merchant that cannot be contacted (四(二)); "
                "mark the merchant unreachable first or order a stop-sale",
                allowed=["order_stop_sale"],
            )
        authority = await self._authority()
        await self._step(case, "order_takedown", {"measures": list(body.measures)})
        clock = self._platform_deadline(body.working_days)
        message = TakedownOrder(
            timestamp=utcnow(),
            data=TakedownOrderData(
                **self._notice_base(case, authority, clock.due_at),
                merchant=merchant_ref(merchant),
                measures=list(body.measures),
                listing_ids=[case.listing_id] if case.listing_id else [],
                include_shop=body.include_shop,
                reason="抽检不合格且经营者无法联系 (non-compliant, merchant unreachable)",
                report_no=(case.result or {}).get("report_no"),
            ),
        )
        row = await self._send(case, message, _platform_recipient(platform), clock.due_at)
        self._add_deadline(case, "platform_answer", f"platform:{platform.id}", clock, row.id)
        case.measures = [
            *case.measures,
            {"kind": "takedown", "measures": list(body.measures), "at": utcnow().isoformat()},
        ]
        return row

    async def refer_to_telecom(self, case: Case, body: ReferralBody) -> OutboundMessage:
        """Ask the telecom authority to block a non-platform website (四(二), last paragraph)."""
        merchant, platform, _ = await self._parties(case)
        if platform is not None:
            raise ProblemError(
                409, "platform-case", "referral to the telecom authority is for non-platform websites; order a takedown"
            )
        if case.conclusion != "fail":
            self._require_failing("a referral")
        authority = await self._authority()
        await self._step(case, "refer_to_telecom", {"telecom_authority": body.telecom_authority})
        province = (merchant.registration_division or authority.division_code)[:2] + "0000"
        message = ReferralNotice(
            timestamp=utcnow(),
            data=ReferralNoticeData(
                **self._notice_base(case, authority),
                recipient=AuthorityRef(code=province, name=body.telecom_authority, level="provincial"),
                website_url=merchant.website or case.listing_url or "https://invalid.example",
                icp_filing=merchant.icp_filing,
                requested_measure=body.measure,
                reason="网络销售不合格商品 (selling non-compliant goods online)",
                report_no=(case.result or {}).get("report_no"),
            ),
        )
        row = await self._send(
            case, message, _email_recipient("authority", province, body.telecom_authority, body.telecom_email)
        )
        case.measures = [*case.measures, {"kind": "referral", "to": body.telecom_authority, "at": utcnow().isoformat()}]
        return row

    async def transfer_violation(self, case: Case, body: TransferBody) -> OutboundMessage:
        """Transfer a platform operator's violation to the authority where the platform is located (四(三))."""
        _, platform = await self._platform_case(case, "transfer")
        authority = await self._authority()
        target = await self.session.scalar(
            select(Authority).where(Authority.division_code == platform.province_code[:2] + "0000")
        )
        if target is None:
            raise ProblemError(
                409, "no-authority", f"no authority registered for the platform's province {platform.province_code}"
            )
        if target.id == authority.id:
            raise ProblemError(
                409, "same-authority", "the platform is in this authority's own province; handle it here"
            )
        await self._step(case, "transfer_violation", {"to": target.id})
        message = CaseTransfer(
            timestamp=utcnow(),
            data=CaseTransferData(
                **self._notice_base(case, authority),
                recipient=authority_ref(target),
                platform=platform_ref(platform),
                violation_description=body.violation,
            ),
        )
        recipient = (
            _email_recipient("authority", target.id, target.name, target.contact_email)
            if target.contact_email
            else _announcement("authority", target.id, target.name, "no registered contact")
        )
        return await self._send(case, message, recipient)

    async def close(self, case: Case, body: CloseBody) -> None:
        """Close the case; open platform clocks stay visible as history."""
        await self._step(case, "close", {"note": body.note} if body.note else {})
        case.closed_at = utcnow()
