"""Opening a case and sampling: purchase, sealing, the sampling notice, records and identity requests.

The opinion 三(一) and 五(一); who opens the case is decided by `jurisdiction_for` (二).
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

import msgspec

from spotcheck.gateway.cases import notices
from spotcheck.gateway.cases.jurisdiction import jurisdiction_for
from spotcheck.gateway.cases.lifecycle import CaseState
from spotcheck.gateway.cases.queries import CaseDetail
from spotcheck.gateway.cases.records import PurchaseRecord, SealingRecord
from spotcheck.gateway.cases.service import CaseService
from spotcheck.gateway.plans.service import check_purchase, get_plan_for_case, resolve_case_origin
from spotcheck.gateway.store.models import Case, Manufacturer, Merchant, Platform
from spotcheck.gateway.store.types import new_id
from spotcheck.gateway.web.problems import ProblemError, field_error
from spotcheck.schemas import ProductRef

__all__ = ["SamplingService"]


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
        plan = await get_plan_for_case(self.session, case.plan_id) if case.plan_id else None
        if plan is not None:
            check_purchase(plan, buyer_id=purchase.buyer_id, account=purchase.account, address_id=purchase.address_id)
        self._step(case, "record_purchase", {"orders": [o.order_no for o in purchase.orders]})
        case.purchase = msgspec.to_builtins(purchase)
        return await self._commit(case)

    async def record_sealing(self, case_id: str, sealing: SealingRecord) -> CaseDetail:
        """Record the joint unpacking and separate sealing of sample and backup sample (三(一))."""
        case = await self._open(case_id)
        if sealing.sample_seal_no == sealing.backup_seal_no:
            raise field_error(400, "backup_seal_no", "must differ from sample_seal_no")
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
