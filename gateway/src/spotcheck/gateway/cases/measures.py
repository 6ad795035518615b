"""Measures after a failing result: stop-sale, the stop-sale list, takedown, referral, transfer; closing (四)."""

from __future__ import annotations

from typing import Literal

from sqlalchemy import select

from spotcheck.gateway.cases import notices
from spotcheck.gateway.cases.lifecycle import CaseState
from spotcheck.gateway.cases.queries import CaseDetail
from spotcheck.gateway.cases.refs import authority_ref
from spotcheck.gateway.cases.service import CaseService
from spotcheck.gateway.store.models import Authority, Case, Manufacturer, Platform
from spotcheck.gateway.store.statuses import RecipientKind
from spotcheck.gateway.store.types import utcnow
from spotcheck.gateway.web.problems import ProblemError
from spotcheck.schemas import AuthorityRef

__all__ = ["MeasuresService"]

_BEFORE_FINAL = frozenset({CaseState.RESULT_RECEIVED, CaseState.RESULT_NOTIFIED})
_NO_CONTACT = "no registered contact"


def _not_failing(what: str) -> ProblemError:
    return ProblemError(409, "not-failing", f"{what} applies to a non-compliant product only (四(二))")


class MeasuresService(CaseService):
    """What the opinion orders against a non-compliant product and those who sell it, and closing the case."""

    async def order_stop_sale(self, case_id: str, *, warning_measures: list[str], working_days: int) -> CaseDetail:
        """Order the sampled merchant to stop selling; a hazardous product's manufacturer's authority is told.

        Before the result is final only a hazardous product may be ordered off sale (四(二) 第二款); the case then
        keeps its state, since the result may still be re-inspected.
        """
        case = await self._open(case_id)
        if case.conclusion != "fail":
            raise _not_failing("a stop-sale order")
        state = CaseState(case.state)
        before_final = state in _BEFORE_FINAL
        if before_final and not case.hazardous:
            raise ProblemError(
                409,
                "not-final",
                "before the result is final a stop-sale order is only for hazardous products (四(二) 第二款)",
                allowed=["finalize"],
            )
        merchant, platform, manufacturer = await self._parties(case)
        authority = await self._authority()
        self._step(
            case, "order_stop_sale", {"hazardous": case.hazardous}, to=state if before_final else CaseState.MEASURES
        )
        clock = self._platform_clock(working_days)
        message = notices.stop_sale_order(case, authority, merchant, clock.due_at, list(warning_measures))
        if platform is not None:
            await self._send_for_answer(case, message, platform, clock)
        if merchant.contact_email:
            recipient = notices.email_recipient(
                RecipientKind.MERCHANT, merchant.id, merchant.shop_name, merchant.contact_email
            )
            await self._send(case, message, recipient)
        elif platform is None:
            reason = "经营者无法联系 (unreachable)"
            await self._send(
                case, message, notices.announcement(RecipientKind.MERCHANT, merchant.id, merchant.shop_name, reason)
            )
        case.measures = [*case.measures, {"kind": "stop_sale", "at": utcnow().isoformat()}]
        if case.hazardous and manufacturer is not None:
            await self._notify_hazard(case, manufacturer, authority)
        return await self._commit(case)

    async def _notify_hazard(self, case: Case, manufacturer: Manufacturer, authority: Authority) -> None:
        # 四(二): 及时通报商品标称生产者所在地有关行政部门 - the nearest registered authority of that place.
        division = manufacturer.division_code
        if division is None:
            return
        province = division[:2] + "0000"
        target = await self.session.scalar(
            select(Authority)
            .where(Authority.division_code.in_([division, division[:4] + "00", province]))
            .order_by(Authority.division_code.desc())
        )
        addressee = (
            authority_ref(target)
            if target
            else AuthorityRef(code=province, name=f"{province} 市场监督管理部门", level="provincial")
        )
        if target is not None and target.contact_email:
            recipient = notices.email_recipient(RecipientKind.AUTHORITY, target.id, target.name, target.contact_email)
        else:
            recipient = notices.announcement(RecipientKind.AUTHORITY, addressee.code, addressee.name, _NO_CONTACT)
        await self._send(case, notices.hazard_notification(case, authority, addressee, manufacturer), recipient)

    async def order_delisting(self, case_id: str, *, mandatory_standard: str, working_days: int) -> CaseDetail:
        """Put the product on the stop-sale list and order every registered platform to stop trading it."""
        case = await self._open(case_id)
        if not (case.conclusion == "fail" and case.hazardous and case.mandatory_standard_failed):
            raise ProblemError(
                409,
                "not-listable",
                "the stop-sale list is for products that endanger life or property "
                "AND fail a mandatory standard (四(二))",
            )
        _, _, manufacturer = await self._parties(case)
        authority = await self._authority()
        self._step(case, "order_delisting", {"mandatory_standard": mandatory_standard})
        platforms = (
            await self.session.scalars(select(Platform).where(Platform.disabled_at.is_(None)).order_by(Platform.id))
        ).all()
        clock = self._platform_clock(working_days)
        for platform in platforms:
            message = notices.delisting_order(case, authority, manufacturer, platform, clock.due_at, mandatory_standard)
            await self._send_for_answer(case, message, platform, clock)
        case.measures = [
            *case.measures,
            {"kind": "delisting", "platforms": [p.id for p in platforms], "at": utcnow().isoformat()},
        ]
        return await self._commit(case)

    async def order_takedown(
        self,
        case_id: str,
        *,
        measures: list[Literal["delete", "block", "disconnect"]],
        include_shop: bool,
        working_days: int,
    ) -> CaseDetail:
        """Have the platform delete, block or disconnect the listing and shop of an unreachable merchant."""
        case = await self._open(case_id)
        if case.conclusion != "fail":
            raise _not_failing("a takedown order")
        merchant, platform = await self._platform_parties(case, "takedown order")
        if merchant.unreachable_since is None:
            raise ProblemError(
                409,
                "merchant-reachable",
                "a takedown order is for a merchant that cannot be contacted (四(二)); "
                "mark the merchant unreachable first or order a stop-sale",
                allowed=["order_stop_sale"],
            )
        authority = await self._authority()
        self._step(case, "order_takedown", {"measures": list(measures)})
        clock = self._platform_clock(working_days)
        message = notices.takedown_order(case, authority, merchant, clock.due_at, list(measures), include_shop)
        await self._send_for_answer(case, message, platform, clock)
        case.measures = [*case.measures, {"kind": "takedown", "measures": list(measures), "at": utcnow().isoformat()}]
        return await self._commit(case)

    async def refer_to_telecom(
        self, case_id: str, *, telecom_authority: str, telecom_email: str, measure: Literal["block", "stop_access"]
    ) -> CaseDetail:
        """Ask the telecom authority to block a non-platform website (四(二), last paragraph)."""
        case = await self._open(case_id)
        merchant, platform, _ = await self._parties(case)
        if platform is not None:
            raise ProblemError(
                409, "platform-case", "referral to the telecom authority is for non-platform websites; order a takedown"
            )
        if case.conclusion != "fail":
            raise _not_failing("a referral")
        authority = await self._authority()
        self._step(case, "refer_to_telecom", {"telecom_authority": telecom_authority})
        province = (merchant.registration_division or authority.division_code)[:2] + "0000"
        addressee = AuthorityRef(code=province, name=telecom_authority, level="provincial")
        recipient = notices.email_recipient(RecipientKind.AUTHORITY, province, telecom_authority, telecom_email)
        await self._send(case, notices.referral_notice(case, authority, merchant, addressee, measure), recipient)
        case.measures = [*case.measures, {"kind": "referral", "to": telecom_authority, "at": utcnow().isoformat()}]
        return await self._commit(case)

    async def transfer_violation(self, case_id: str, *, violation: str) -> CaseDetail:
        """Transfer a platform operator's violation to the authority where the platform is located (四(三))."""
        case = await self._open(case_id)
        _, platform = await self._platform_parties(case, "transfer")
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
        self._step(case, "transfer_violation", {"to": target.id})
        recipient = (
            notices.email_recipient(RecipientKind.AUTHORITY, target.id, target.name, target.contact_email)
            if target.contact_email
            else notices.announcement(RecipientKind.AUTHORITY, target.id, target.name, _NO_CONTACT)
        )
        await self._send(case, notices.case_transfer(case, authority, target, platform, violation), recipient)
        return await self._commit(case)

    async def close(self, case_id: str, *, note: str | None) -> CaseDetail:
        """Close the case; open platform clocks stay visible as history."""
        case = await self._open(case_id)
        self._step(case, "close", {"note": note} if note else {})
        case.closed_at = utcnow()
        return await self._commit(case)
