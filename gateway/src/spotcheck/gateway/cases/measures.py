"""Measures after a failing result: stop-sale, the stop-sale list, takedown, referral, transfer; closing (四)."""

from __future__ import annotations

from datetime import timedelta
from typing import Literal

from sqlalchemy import select

from spotcheck.gateway import workdays as clocks
from spotcheck.gateway.cases import notices
from spotcheck.gateway.cases.lifecycle import CaseState
from spotcheck.gateway.cases.queries import CaseDetail
from spotcheck.gateway.cases.refs import authority_ref
from spotcheck.gateway.cases.service import CaseService
from spotcheck.gateway.legal import basis
from spotcheck.gateway.sanctions.service import hazard_listing_url, publish_hazard_listing
from spotcheck.gateway.store.models import Authority, Case, Deadline, Manufacturer, Platform
from spotcheck.gateway.store.models_duties import AuthorityChannel
from spotcheck.gateway.store.statuses import DeadlineKind, DeadlineStatus, RecipientKind
from spotcheck.gateway.store.types import utcnow
from spotcheck.gateway.web.problems import ProblemError
from spotcheck.schemas import AuthorityRef, Message

__all__ = ["MeasuresService"]

_BEFORE_FINAL = frozenset({CaseState.RESULT_RECEIVED, CaseState.RESULT_NOTIFIED})
_NO_CONTACT = "no registered contact"
HAZARD_TASK = "通报未送达"
"""The open task a hazardous case carries while its 通报 (四(二)) has no channel to go through."""
_WARNING = "警示消费者 (warn consumers)"


def _not_failing(what: str) -> ProblemError:
    return ProblemError(409, "not-failing", f"{what} applies to a non-compliant product only (四(二))")


class MeasuresService(CaseService):
    """What the opinion orders against a non-compliant product and those who sell it, and closing the case."""

    async def order_stop_sale(
        self, case_id: str, *, warning_measures: list[str], working_days: int | None = None
    ) -> CaseDetail:
        """Order the sampled merchant to stop selling (立即, 四(二)); a hazardous product's authority is told.

        Before the result is final only a hazardous product may be ordered off sale, with a warning (四(二) 第二款);
        the case then keeps its state, since the result may still be re-inspected. A platform must acknowledge
        the order and report it carried out within the ordering authority's hours. ``working_days`` is accepted
        from callers not yet updated and not used: 立即 is counted in hours.
        """
        del working_days
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
        measures = list(warning_measures)
        if case.hazardous and not measures:
            measures = [_WARNING]  # 四(二): 采取警示、停止销售等措施
        ack, effect = await self._order_clocks(authority)
        message = notices.stop_sale_order(case, authority, merchant, effect.due_at, measures)
        if platform is not None:
            await self._send_order(case, message, platform, ack, effect)
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
        if case.hazardous:
            await self._notify_hazard(case, manufacturer, authority)
        return await self._commit(case)

    async def notify_hazard_authority(self, case_id: str) -> CaseDetail:
        """Send the 通报 of a hazardous case again, once its authority has a channel (the open task is met)."""
        case = await self._open(case_id)
        _, _, manufacturer = await self._parties(case)
        authority = await self._authority()
        if await self._hazard_task(case) is None:
            raise ProblemError(409, "no-open-task", f"this case has no open task {HAZARD_TASK}")
        self._step(case, "notify_hazard_authority", {})
        await self._notify_hazard(case, manufacturer, authority)
        return await self._commit(case)

    async def _order_clocks(self, authority: Authority) -> tuple[clocks.Deadline, clocks.Deadline]:
        """The acknowledgement and effect clocks of a 立即 order, in the ordering authority's hours (四(二))."""
        defaults = self.runtime.settings.deadlines
        channel = await self.session.get(AuthorityChannel, authority.id)
        ack_hours = (channel.order_acknowledge_hours if channel else None) or defaults.order_acknowledge_hours
        effect_hours = (channel.order_effect_hours if channel else None) or defaults.order_effect_hours
        now = utcnow()

        def clock(hours: int, what: str) -> clocks.Deadline:
            return clocks.Deadline(
                due_at=now + timedelta(hours=hours),
                provisional=False,
                rule=f"{what} {hours} h (立即)",
                basis=basis("四(二)"),
            )

        return clock(ack_hours, "acknowledged within"), clock(effect_hours, "carried out within")

    async def _send_order(
        self, case: Case, message: Message, platform: Platform, ack: clocks.Deadline, effect: clocks.Deadline
    ) -> None:
        row = await self._send_for_answer(case, message, platform, effect)
        self._add_deadline(case, DeadlineKind.PLATFORM_ACKNOWLEDGEMENT, f"platform:{platform.id}", ack, row.id)

    async def _hazard_task(self, case: Case) -> Deadline | None:
        return await self.session.scalar(
            select(Deadline).where(
                Deadline.case_id == case.id,
                Deadline.kind == DeadlineKind.HAZARD_NOTIFICATION,
                Deadline.status == DeadlineStatus.OPEN,
            )
        )

    async def _notify_hazard(self, case: Case, manufacturer: Manufacturer | None, authority: Authority) -> None:
        """及时通报商品标称生产者所在地有关行政部门 (四(二)) through its channel, or leave the open task 通报未送达."""
        target = await self._manufacturer_authority(manufacturer)
        if target is not None and target.id == authority.id:
            # This authority is itself the authority of the manufacturer's place: it knows; nothing to send.
            case.measures = [*case.measures, {"kind": "hazard_notification", "to": authority.id, "internal": True}]
            return
        recipients = (
            notices.authority_recipients(target, await self.session.get(AuthorityChannel, target.id)) if target else []
        )
        task = await self._hazard_task(case)
        if not recipients or manufacturer is None or target is None:
            if manufacturer is None or manufacturer.division_code is None:
                reason = "标称生产者或其所在地不详 (the manufacturer or its location is unknown)"
            elif target is None:
                reason = f"生产者所在地 {manufacturer.division_code} 没有已登记的行政部门 (no authority registered)"
            else:
                reason = f"{target.name} 没有登记联系渠道 (no webhook or e-mail registered)"
            case.measures = [
                *case.measures,
                {"kind": "hazard_notification", "status": HAZARD_TASK, "reason": reason, "at": utcnow().isoformat()},
            ]
            if task is None:
                party = (
                    f"authority:{target.id}"
                    if target
                    else f"division:{manufacturer.division_code if manufacturer else '-'}"
                )
                now = utcnow()
                self._add_deadline(
                    case,
                    DeadlineKind.HAZARD_NOTIFICATION,
                    party,
                    clocks.Deadline(due_at=now, provisional=False, rule=HAZARD_TASK, basis=basis("四(二)")),
                )
            return
        message = notices.hazard_notification(case, authority, authority_ref(target), manufacturer)
        for recipient in recipients:
            await self._send(case, message, recipient)
        case.measures = [
            *case.measures,
            {
                "kind": "hazard_notification",
                "to": target.id,
                "via": [r.adapter for r in recipients],
                "at": utcnow().isoformat(),
            },
        ]
        if task is not None:
            task.status = DeadlineStatus.MET
            task.met_at = utcnow()

    async def _manufacturer_authority(self, manufacturer: Manufacturer | None) -> Authority | None:
        """The nearest registered authority of the manufacturer's place: county, city, then province."""
        if manufacturer is None or manufacturer.division_code is None:
            return None
        division = manufacturer.division_code
        return await self.session.scalar(
            select(Authority)
            .where(Authority.division_code.in_([division, division[:4] + "00", division[:2] + "0000"]))
            .order_by(Authority.division_code.desc())
        )

    async def order_delisting(
        self, case_id: str, *, mandatory_standard: str, working_days: int | None = None
    ) -> CaseDetail:
        """Put the product on the stop-sale list and order every registered platform to stop trading it (立即).

        ``working_days`` is accepted from callers not yet updated and not used: 立即 is counted in hours.
        """
        del working_days
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
        case.measures = [
            *case.measures,
            {"kind": "delisting", "platforms": [p.id for p in platforms], "at": utcnow().isoformat()},
        ]
        # The list entry first (and the announcement to offline merchants), so every order can point at it.
        listing = await publish_hazard_listing(self, case, manufacturer, mandatory_standard)
        entry = notices.ListEntry(url=hazard_listing_url(self.runtime, listing.id), published_at=listing.listed_at)
        ack, effect = await self._order_clocks(authority)
        for platform in platforms:
            message = notices.delisting_order(
                case, authority, manufacturer, platform, effect.due_at, mandatory_standard, entry
            )
            await self._send_order(case, message, platform, ack, effect)
        return await self._commit(case)

    async def order_takedown(
        self,
        case_id: str,
        *,
        measures: list[Literal["delete", "block", "disconnect"]],
        include_shop: bool,
        working_days: int | None = None,
    ) -> CaseDetail:
        """Have the platform delete, block or disconnect the listing and shop of an unreachable merchant (立即).

        ``working_days`` is accepted from callers not yet updated and not used: 立即 is counted in hours.
        """
        del working_days
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
        ack, effect = await self._order_clocks(authority)
        message = notices.takedown_order(case, authority, merchant, effect.due_at, list(measures), include_shop)
        await self._send_order(case, message, platform, ack, effect)
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
