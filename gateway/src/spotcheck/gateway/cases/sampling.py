"""Opening a case and sampling: purchase, sealing, the sampling notice, records and identity requests.

The opinion 三(一) and 五(一); who opens the case is decided by `jurisdiction_for` (二).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import datetime
from typing import Any, Final, Literal

import msgspec
from sqlalchemy import select

from spotcheck.gateway.cases import notices
from spotcheck.gateway.cases.jurisdiction import jurisdiction_for
from spotcheck.gateway.cases.lifecycle import CaseState
from spotcheck.gateway.cases.queries import CaseDetail
from spotcheck.gateway.cases.records import PurchaseRecord, SealingRecord
from spotcheck.gateway.cases.service import CaseService
from spotcheck.gateway.legal import basis
from spotcheck.gateway.plans.service import check_purchase, get_plan_for_case, resolve_case_origin
from spotcheck.gateway.store.models import Case, Manufacturer, Merchant, OperationalEvent, OutboundMessage, Platform
from spotcheck.gateway.store.models_public import EvidenceFile
from spotcheck.gateway.store.models_sanctions import BackupSampleReturn
from spotcheck.gateway.store.types import new_id, utcnow
from spotcheck.gateway.web.problems import ProblemError, field_error
from spotcheck.schemas import ProductRef

__all__ = ["BACKUP_RETURN_DUTY", "SamplingService"]

BACKUP_RETURN_DUTY: Final = "接受备份样品退货的义务"
"""The merchant's duty the sampling notice states (三(一)): to accept the return of the backup sample."""

# The backup sample goes back once no re-inspection can need it: the result is final (三(一), 三(三)).
_BACKUP_RETURN_STATES: Final = frozenset({CaseState.FINAL, CaseState.PUBLISHED, CaseState.MEASURES})


class SamplingService(CaseService):
    """From the sampling plan to the sampling notice, and the requests a platform answers along the way."""

    async def create(
        self,
        *,
        merchant_id: str,
        manufacturer_id: str | None,
        plan_reference: str | None,
        product: ProductRef,
        plan_id: str | None = None,
        origin: dict[str, Any] | None = None,
    ) -> CaseDetail:
        """Open a case; the jurisdiction is decided from the merchant and platform and recorded with its basis.

        With ``plan_id`` (or a draw ``origin``) the case is opened from that plan and ``plan_reference`` is the
        plan's number; ``origin`` records a draw or a targeted selection (a single complaint is refused, 四(三)).
        """
        self.principal.require_scope("write")
        plan, origin = await resolve_case_origin(
            self.session, self.principal, merchant_id=merchant_id, plan_id=plan_id, origin=origin
        )
        merchant = await self._get(Merchant, merchant_id, "merchant_id")
        platform = await self.session.get(Platform, merchant.platform_id) if merchant.platform_id else None
        if manufacturer_id is not None:
            await self._get(Manufacturer, manufacturer_id, "manufacturer_id")
        division, basis = jurisdiction_for(merchant, platform, self.principal)
        # Sampling is organised by the provincial authority; a lower one acts only when entrusted (the opinion 二).
        if not self.principal.can_act_in(division):
            raise ProblemError(
                403,
                "outside-jurisdiction",
                f"sampling this merchant falls to the authority of division {division} ({basis}); "
                "this authority neither covers it nor holds an entrustment for it",
            )
        case = Case(
            id=new_id("case"),
            authority_id=self.principal.authority_id,
            jurisdiction_division=division,
            jurisdiction_basis=basis,
            state=CaseState.PLANNED,
            platform_id=platform.id if platform else None,
            merchant_id=merchant.id,
            manufacturer_id=manufacturer_id,
            plan_reference=(plan.number or "") if plan is not None else (plan_reference or ""),
            plan_id=plan.id if plan is not None else None,
            origin=origin,
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
        await self.session.flush()  # the history entry refers to the case
        self._record(
            case,
            "create",
            "",
            {"basis": basis, "division": division, "plan_id": case.plan_id, "origin": origin},
            {"division": division, "basis": basis, "merchant_id": merchant.id, "plan_id": case.plan_id},
        )
        return await self._commit(case)

    async def record_purchase(self, case_id: str, purchase: PurchaseRecord) -> CaseDetail:
        """Record the online purchase of sample and backup sample with its evidence (三(一))."""
        case = await self._open(case_id)
        self._happened(
            {"purchased_at": purchase.purchased_at}
            | {f"orders[{i}].ordered_at": order.ordered_at for i, order in enumerate(purchase.orders)}
        )
        plan = await get_plan_for_case(self.session, case.plan_id) if case.plan_id else None
        if plan is not None:
            check_purchase(plan, buyer_id=purchase.buyer_id, account=purchase.account, address_id=purchase.address_id)
        captures = purchase.screenshots
        stored = await self._stored_evidence(
            case,
            {
                **{f"screenshots.merchant[{i}]": d for i, d in enumerate(captures.merchant)},
                **{f"screenshots.product[{i}]": d for i, d in enumerate(captures.product)},
                **{f"screenshots.transaction[{i}]": d for i, d in enumerate(captures.transaction)},
                **{f"evidence[{i}].sha256": ref.sha256 for i, ref in enumerate(purchase.evidence)},
            },
        )
        for field, row in stored.items():
            if field.startswith("screenshots.") and not row.media_type.startswith("image/"):
                raise field_error(
                    422, field, f"证据 {row.sha256} 是 {row.media_type}，网络截屏应为图片", code="not-a-capture"
                )
        self._step(case, "record_purchase", {"orders": [o.order_no for o in purchase.orders]})
        case.purchase = msgspec.to_builtins(purchase)
        return await self._commit(case)

    async def record_sealing(self, case_id: str, sealing: SealingRecord) -> CaseDetail:
        """Record the joint unpacking and separate sealing of sample and backup sample (三(一))."""
        case = await self._open(case_id)
        self._happened({"sealed_at": sealing.sealed_at})
        if sealing.sample_seal_no == sealing.backup_seal_no:
            raise field_error(400, "backup_seal_no", "must differ from sample_seal_no")
        stored = await self._stored_evidence(
            case, {f"evidence[{i}].sha256": ref.sha256 for i, ref in enumerate(sealing.evidence)}
        )
        if not any(row.media_type.startswith("video/") for row in stored.values()):
            raise field_error(
                422, "evidence", "须包含拆包查验、封样的全程录像（视频证据，三(一)）", code="sealing-video-missing"
            )
        self._step(case, "record_sealing", {"sample_seal_no": sealing.sample_seal_no})
        case.sealing = msgspec.to_builtins(sealing)
        return await self._commit(case)

    async def send_sampling_notice(self, case_id: str) -> CaseDetail:
        """Notify the merchant (through the platform, and directly when an e-mail is known) and the platform."""
        case = await self._open(case_id)
        merchant, platform, _ = await self._parties(case)
        authority = await self._authority()
        self._step(case, "send_sampling_notice", {})
        message = notices.sampling_notice(case, authority, merchant, platform)
        await self._tell_merchant(case, merchant, platform, message, "经营者无法联系 (unreachable)")
        return await self._commit(case)

    async def request_records(
        self,
        case_id: str,
        *,
        order_nos: list[str],
        records_from: datetime,
        records_until: datetime,
        items: list[str],
        working_days: int,
    ) -> CaseDetail:
        """Ask the platform to confirm the orders' e-documents and provide records and logs (三(一))."""
        case = await self._open(case_id)
        merchant, platform = await self._platform_parties(case, "records request")
        authority = await self._authority()
        self._step(case, "request_records", {"orders": list(order_nos)})
        clock = self._platform_clock(working_days)
        message = notices.records_request(
            case,
            authority,
            merchant,
            clock.due_at,
            order_nos=list(order_nos),
            records_from=records_from,
            records_until=records_until,
            items=items,
        )
        await self._send_for_answer(case, message, platform, clock)
        return await self._commit(case)

    async def request_merchant_identity(self, case_id: str, *, working_days: int) -> CaseDetail:
        """Ask the platform for the merchant's real name, address and effective contact (五(一))."""
        case = await self._open(case_id)
        merchant, platform = await self._platform_parties(case, "identity request")
        authority = await self._authority()
        self._step(case, "request_merchant_identity", {})
        clock = self._platform_clock(working_days)
        await self._send_for_answer(
            case, notices.identity_request(case, authority, merchant, clock.due_at), platform, clock
        )
        return await self._commit(case)

    # ---- evidence of this case (三(一)) ---------------------------------------------------------------------------

    async def _stored_evidence(self, case: Case, digests: Mapping[str, str]) -> dict[str, EvidenceFile]:
        """The case's evidence file behind each digest, by the field naming it; 422 naming field and digest if none."""
        wanted = set(digests.values())
        rows = (
            (
                await self.session.scalars(
                    select(EvidenceFile).where(EvidenceFile.case_id == case.id, EvidenceFile.sha256.in_(wanted))
                )
            ).all()
            if wanted
            else []
        )
        by_digest = {row.sha256: row for row in rows}
        found: dict[str, EvidenceFile] = {}
        for field, digest in digests.items():
            row = by_digest.get(digest)
            if row is None:
                raise field_error(
                    422,
                    field,
                    f"证据 {digest} 不在本案证据库中：请先上传（POST /v1/cases/{case.id}/evidence）",
                    code="evidence-not-found",
                )
            found[field] = row
        return found

    # ---- the backup sample's return (三(一)) ------------------------------------------------------------------

    async def record_backup_shipped(
        self,
        case_id: str,
        *,
        shipped_at: datetime,
        carrier: str | None,
        waybill_no: str | None,
        evidence: Sequence[str],
    ) -> CaseDetail:
        """Record that the backup sample was shipped back to the merchant, once the result is final (三(一))."""
        case = await self._open(case_id)
        state = CaseState(case.state)
        if state not in _BACKUP_RETURN_STATES:
            raise ProblemError(
                409,
                "backup-not-returnable",
                "备份样品在检验结果成为最终结果后退还（复检可能需要备份样品，三(一)、三(三)）",
                allowed=["finalize"] if state == CaseState.RESULT_NOTIFIED else [],
            )
        if await self._backup_return(case) is not None:
            raise ProblemError(409, "backup-already-shipped", "备份样品的退还已经登记")
        if shipped_at > utcnow():
            raise field_error(422, "shipped_at", "寄回时间不能晚于现在")
        await self._stored_evidence(case, {f"evidence[{i}]": digest for i, digest in enumerate(evidence)})
        self.session.add(
            BackupSampleReturn(
                id=new_id("bsr"),
                case_id=case.id,
                shipped_at=shipped_at,
                carrier=carrier,
                waybill_no=waybill_no,
                evidence=list(evidence),
                recorded_by=self.principal.actor,
            )
        )
        detail = {"shipped_at": shipped_at.isoformat(), "waybill_no": waybill_no}
        self._record(case, "record_backup_shipped", case.state, detail, detail)
        return await self._commit(case)

    async def record_backup_outcome(
        self,
        case_id: str,
        *,
        outcome: Literal["accepted", "refused"],
        at: datetime,
        note: str | None,
        evidence: Sequence[str],
    ) -> CaseDetail:
        """Record whether the merchant accepted the returned backup sample; a refusal is recorded as a breach.

        The sampling notice stated the merchant's duty to accept the return (三(一)); a refusal names that notice.
        """
        case = await self._open(case_id)
        row = await self._backup_return(case)
        if row is None:
            raise ProblemError(409, "backup-not-shipped", "先登记备份样品的寄回（POST …/backup-sample/shipped）")
        if row.outcome is not None:
            raise ProblemError(409, "backup-outcome-recorded", f"备份样品退还的结果已登记：{row.outcome}")
        if at < row.shipped_at or at > utcnow():
            raise field_error(422, "at", "签收或拒收时间应在寄回之后、现在之前")
        await self._stored_evidence(case, {f"evidence[{i}]": digest for i, digest in enumerate(evidence)})
        row.outcome, row.outcome_at, row.note = outcome, at, note
        row.evidence = [*row.evidence, *evidence]
        detail: dict[str, Any] = {"outcome": outcome, "at": at.isoformat()}
        if outcome == "refused":
            notice = await self.session.scalar(
                select(OutboundMessage.id)
                .where(OutboundMessage.case_id == case.id, OutboundMessage.message_type == "sampling.notice")
                .order_by(OutboundMessage.created_at)
                .limit(1)
            )
            row.breach = {
                "duty": BACKUP_RETURN_DUTY,
                "basis": basis("三(一)"),
                "stated_in": notice,
                "at": at.isoformat(),
            }
            detail["breach"] = row.breach
            self.session.add(
                OperationalEvent(
                    id=new_id("evt"),
                    kind="merchant.duty_breached",
                    case_id=case.id,
                    platform_id=case.platform_id,
                    detail={"merchant_id": case.merchant_id, **row.breach},
                )
            )
        self._record(case, "record_backup_outcome", case.state, detail, detail)
        return await self._commit(case)

    async def backup_return(self, case_id: str) -> BackupSampleReturn | None:
        """The backup sample's return on a case the principal may see, or None when none was recorded."""
        return await self._backup_return(await self.load(case_id))

    async def _backup_return(self, case: Case) -> BackupSampleReturn | None:
        found: BackupSampleReturn | None = await self.session.scalar(
            select(BackupSampleReturn).where(BackupSampleReturn.case_id == case.id)
        )
        return found
