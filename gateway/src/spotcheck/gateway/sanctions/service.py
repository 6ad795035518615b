"""What follows a failing case: the hazard list, consumer warnings and penalty decisions (四(二), 四(三), 六(二)).

* :func:`publish_hazard_listing` is the hook the delisting order calls inside its own unit of work: the product
  goes on the public list (``/public/hazard-list``) and an announcement addressed to the offline merchants of the
  bureau's jurisdiction (辖区内线下经营者) tells them to stop selling the same trademark and spec/model. The case's
  action commits both with the delisting orders it sends to every registered platform.
* :class:`WarningService` publishes consumer warnings (消费警示) tied to published results or list entries.
* :class:`PenaltyService` records administrative penalty decisions after a case and lists them for the merchant's
  record; they are published on ``/public/penalties`` for the enterprise credit record (四(三)).

Commands audit and commit; refusals are problems naming the field, in Chinese, before anything is written.
"""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, timedelta, timezone
from typing import Any, Final, Literal

import msgspec
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from spotcheck.gateway.access import Principal
from spotcheck.gateway.audit.service import append_audit
from spotcheck.gateway.cases.service import CaseService
from spotcheck.gateway.legal import basis
from spotcheck.gateway.runtime import Runtime
from spotcheck.gateway.store.models import Authority, Case, Manufacturer, Merchant
from spotcheck.gateway.store.models_public import Announcement
from spotcheck.gateway.store.models_sanctions import ConsumerWarning, HazardListing, PenaltyDecision
from spotcheck.gateway.store.statuses import CaseState
from spotcheck.gateway.store.types import new_id, utcnow
from spotcheck.gateway.web.problems import ProblemError, field_error
from spotcheck.schemas import is_valid_uscc

__all__ = [
    "OFFLINE_MERCHANTS",
    "PenaltyParty",
    "PenaltyService",
    "WarningService",
    "hazard_listing_url",
    "penalties_of_merchant",
    "publish_hazard_listing",
]

OFFLINE_MERCHANTS: Final = "辖区内线下经营者"
"""The addressee of the list's announcement: offline merchants in the bureau's jurisdiction (四(二))."""

_CHINA: Final = timezone(timedelta(hours=8))
_AFTER_RESULT: Final = frozenset({CaseState.FINAL, CaseState.PUBLISHED, CaseState.MEASURES, CaseState.CLOSED})


def _refused(status: int, field: str, reason: str, code: str = "invalid-field") -> ProblemError:
    return field_error(status, field, reason, code=code)


# ---- the hazard list (名单, 四(二)) ----------------------------------------------------------------------------


async def publish_hazard_listing(
    service: CaseService, case: Case, manufacturer: Manufacturer | None, mandatory_standard: str
) -> HazardListing:
    """Put the case's product on the public hazard list and announce it to the jurisdiction's offline merchants.

    Called by the delisting order after it has ordered every registered platform (its ``measures`` entry lists
    them) and before its commit, so the entry, the announcement and the orders exist together or not at all. A
    second delisting order of the same case keeps the first entry and publishes nothing new.
    """
    session = service.session
    existing = await session.scalar(select(HazardListing).where(HazardListing.case_id == case.id))
    if existing is not None:
        return existing
    authority = await session.get(Authority, case.authority_id)
    assert authority is not None  # noqa: S101 - a case's authority is a foreign key
    now = utcnow()
    delisting: dict[str, Any] = next((m for m in reversed(case.measures) if m.get("kind") == "delisting"), {})
    listing = HazardListing(
        id=new_id("haz"),
        case_id=case.id,
        authority_id=authority.id,
        authority_name=authority.name,
        jurisdiction_division=authority.division_code,
        product=case.sample_name,
        trademark=case.trademark,
        spec_model=case.spec_model,
        manufacturer_name=manufacturer.name if manufacturer is not None else None,
        failing_items=list((case.result or {}).get("failing_items", [])),
        mandatory_standard=mandatory_standard,
        basis=f"不符合强制性标准 {mandatory_standard}，有危及人身、财产安全危险（{basis('四(二)')}）",
        platforms=list(delisting.get("platforms", [])),
        listed_by=service.principal.actor,
        listed_at=now,
    )
    announcement = _offline_announcement(listing, hazard_listing_url(service.runtime, listing.id))
    listing.announcement_id = announcement.id
    session.add_all([listing, announcement])
    await session.flush()
    await append_audit(
        session,
        actor=service.principal.actor,
        action="hazard_list.published",
        subject=case.id,
        detail={
            "listing": listing.id,
            "trademark": listing.trademark,
            "spec_model": listing.spec_model,
            "mandatory_standard": mandatory_standard,
            "platforms": listing.platforms,
            "announcement": announcement.id,
            "announcement_sha256": announcement.body_sha256,
        },
    )
    return listing


def hazard_listing_url(runtime: Runtime, listing_id: str) -> str:
    """Where the public reads a hazard-list entry (the delisting orders and the announcement point there)."""
    return f"{runtime.settings.http.public_base_url.rstrip('/')}/public/hazard-list/{listing_id}"


def _offline_announcement(listing: HazardListing, url: str) -> Announcement:
    document = {
        "type": "hazard_list.published",
        "timestamp": listing.listed_at.isoformat(),
        "data": {
            "listing_id": listing.id,
            "case_id": listing.case_id,
            "addressee": OFFLINE_MERCHANTS,
            "jurisdiction_division": listing.jurisdiction_division,
            "authority": listing.authority_name,
            "product": listing.product,
            "trademark": listing.trademark,
            "spec_model": listing.spec_model,
            "manufacturer": listing.manufacturer_name,
            "failing_items": [item.get("item") for item in listing.failing_items],
            "mandatory_standard": listing.mandatory_standard,
            "basis": basis("四(二)"),
            "list_url": url,
        },
    }
    body = msgspec.json.encode(document)
    text = (
        f"{OFFLINE_MERCHANTS}：\n\n"
        f"{listing.authority_name}依据《工商总局关于加强和规范网络交易商品质量抽查检验的意见》（{basis('四(二)')}），"
        f"公布有危及人身、财产安全危险且不符合强制性标准（{listing.mandatory_standard}）的商品名单："
        f"商品名称 {listing.product}，商标 {listing.trademark}，规格型号 {listing.spec_model}"
        f"{'，标称生产者 ' + listing.manufacturer_name if listing.manufacturer_name else ''}。\n"
        f"本辖区内线下经营者应当立即停止销售该名单中同一商标（{listing.trademark}）的同一规格型号"
        f"（{listing.spec_model}）的商品。\n名单：{url}\n\n{listing.authority_name}\n"
    )
    return Announcement(
        id=new_id("ann"),
        message_id=f"hazard-list:{listing.id}",
        case_id=listing.case_id,
        message_type="hazard_list.published",
        feed="hazard-list",
        title=f"关于停止销售名单商品的公告（{listing.trademark} {listing.spec_model}）",
        text=text,
        body=body,
        body_sha256=hashlib.sha256(body).hexdigest(),
        authority=listing.authority_name,
        recipient_name=OFFLINE_MERCHANTS,
        published_at=listing.listed_at,
    )


# ---- consumer warnings (消费警示, 一 and 六(二)) ------------------------------------------------------------------


class WarningService:
    """Consumer warnings published by one regulator inside one database session."""

    def __init__(self, session: AsyncSession, principal: Principal, runtime: Runtime) -> None:
        self.session = session
        self.principal = principal
        self.runtime = runtime

    async def publish(
        self, *, title: str, body: str, case_ids: Sequence[str], hazard_listing_ids: Sequence[str]
    ) -> ConsumerWarning:
        """Publish a warning tied to published results (``case_ids``) and/or list entries; audited, commits.

        Raises:
            ProblemError: 403 without the write scope or for a case outside the jurisdiction; 422 naming the
                field when nothing is tied, a case is unknown or unpublished, or a list entry is unknown.
        """
        self.principal.require_scope("write")
        if not case_ids and not hazard_listing_ids:
            reason = "消费警示须关联至少一项已公布的抽检结果或名单条目（case_ids 或 hazard_listing_ids）"
            raise _refused(422, "case_ids", reason)
        cases = CaseService(self.session, self.principal, self.runtime)
        for index, case_id in enumerate(dict.fromkeys(case_ids)):
            try:
                case = await cases.load(case_id)
            except ProblemError as exc:
                if exc.status_code == 404:  # noqa: PLR2004 - not found names the field
                    raise _refused(422, f"case_ids[{index}]", f"没有该案件：{case_id}") from exc
                raise
            if case.published_at is None:
                raise _refused(422, f"case_ids[{index}]", f"案件 {case_id} 的抽检结果尚未公布")
        for index, listing_id in enumerate(dict.fromkeys(hazard_listing_ids)):
            if await self.session.get(HazardListing, listing_id) is None:
                raise _refused(422, f"hazard_listing_ids[{index}]", f"名单中没有该条目：{listing_id}")
        authority = await self.session.get(Authority, self.principal.authority_id)
        assert authority is not None  # noqa: S101 - the token was resolved through it
        row = ConsumerWarning(
            id=new_id("warn"),
            authority_id=authority.id,
            authority_name=authority.name,
            title=title,
            body=body,
            case_ids=list(dict.fromkeys(case_ids)),
            hazard_listing_ids=list(dict.fromkeys(hazard_listing_ids)),
            published_by=self.principal.actor,
            published_at=utcnow(),
        )
        self.session.add(row)
        await self.session.flush()
        await append_audit(
            self.session,
            actor=self.principal.actor,
            action="warning.published",
            subject=row.id,
            detail={
                "title": title,
                "body_sha256": hashlib.sha256(body.encode()).hexdigest(),
                "case_ids": row.case_ids,
                "hazard_listing_ids": row.hazard_listing_ids,
            },
        )
        await self.session.commit()
        return row


# ---- penalty decisions (行政处罚, 四(三)) -------------------------------------------------------------------------


@dataclass(frozen=True)
class PenaltyParty:
    """The party a penalty decision is against (行政处罚当事人).

    Attributes:
        role: ``merchant`` (the sampled merchant) or ``manufacturer`` (the labelled manufacturer).
        name: the party's registered name.
        uscc: its unified social credit code (GB 32100-2015, check character verified).
        legal_representative: 法定代表人（负责人）, when known.
    """

    role: Literal["merchant", "manufacturer"]
    name: str
    uscc: str
    legal_representative: str | None = None


class PenaltyService:
    """Administrative penalty decisions recorded by one regulator inside one database session."""

    def __init__(self, session: AsyncSession, principal: Principal, runtime: Runtime) -> None:
        self.session = session
        self.principal = principal
        self.runtime = runtime

    async def record(
        self,
        case_id: str,
        *,
        decision_no: str,
        decided_on: date,
        party: PenaltyParty,
        violation_type: str,
        facts: str,
        legal_basis: str,
        content: str,
        fine_fen: int | None,
        confiscated_fen: int | None,
        authority_name: str | None,
    ) -> PenaltyDecision:
        """Record and publish a penalty decision after a failing case's result became final; audited, commits.

        Raises:
            ProblemError: 404/403 for the case; 409 when the case has no final failing result; 422 naming the
                field for an invalid USCC, a party that does not match the case, a decision date in the future,
                or a decision number already recorded.
        """
        case = await CaseService(self.session, self.principal, self.runtime).load(case_id)
        self.principal.require_scope("write")
        if case.conclusion != "fail" or CaseState(case.state) not in _AFTER_RESULT:
            raise ProblemError(
                409,
                "no-final-failing-result",
                "行政处罚决定在抽检结果为不合格且已成为最终结果后录入（四(三)）",
                allowed=["finalize"] if CaseState(case.state) == CaseState.RESULT_NOTIFIED else [],
            )
        if not is_valid_uscc(party.uscc):
            raise _refused(422, "party.uscc", "统一社会信用代码无效（GB 32100-2015 校验码不符）")
        if decided_on > utcnow().astimezone(_CHINA).date():
            raise _refused(422, "decided_on", "作出行政处罚决定日期不能晚于今天")
        merchant_id = await self._check_party(case, party)
        taken = await self.session.scalar(select(PenaltyDecision.id).where(PenaltyDecision.decision_no == decision_no))
        if taken is not None:
            raise _refused(422, "decision_no", f"行政处罚决定书文号已登记：{decision_no}", code="duplicate")
        authority = await self.session.get(Authority, self.principal.authority_id)
        assert authority is not None  # noqa: S101 - the token was resolved through it
        row = PenaltyDecision(
            id=new_id("pen"),
            case_id=case.id,
            merchant_id=merchant_id,
            decision_no=decision_no,
            decided_on=decided_on,
            party_role=party.role,
            party_name=party.name,
            party_uscc=party.uscc,
            legal_representative=party.legal_representative,
            violation_type=violation_type,
            facts=facts,
            legal_basis=legal_basis,
            content=content,
            fine_fen=fine_fen,
            confiscated_fen=confiscated_fen,
            authority_id=authority.id,
            authority_name=authority_name or authority.name,
            recorded_by=self.principal.actor,
            published_at=utcnow(),
        )
        self.session.add(row)
        await self.session.flush()
        await append_audit(
            self.session,
            actor=self.principal.actor,
            action="case.record_penalty",
            subject=case.id,
            detail={"penalty": row.id, "decision_no": decision_no, "party_uscc": party.uscc, "role": party.role},
        )
        await self.session.commit()
        return row

    async def _check_party(self, case: Case, party: PenaltyParty) -> str | None:
        """The merchant id the decision is filed under; 422 when the party contradicts the case's records."""
        if party.role == "merchant":
            merchant = await self.session.get(Merchant, case.merchant_id)
            assert merchant is not None  # noqa: S101 - a case's merchant is a foreign key
            if merchant.uscc is not None and merchant.uscc != party.uscc:
                raise _refused(422, "party.uscc", "与被抽样经营者登记的统一社会信用代码不一致")
            return merchant.id
        if case.manufacturer_id is None:
            raise _refused(422, "party.role", "本案没有登记标称生产者")
        manufacturer = await self.session.get(Manufacturer, case.manufacturer_id)
        if manufacturer is not None and manufacturer.uscc is not None and manufacturer.uscc != party.uscc:
            raise _refused(422, "party.uscc", "与标称生产者登记的统一社会信用代码不一致")
        return None

    async def for_case(self, case_id: str) -> Sequence[PenaltyDecision]:
        """The decisions recorded on a case the principal may see, oldest first."""
        await CaseService(self.session, self.principal, self.runtime).load(case_id)
        rows = await self.session.scalars(
            select(PenaltyDecision).where(PenaltyDecision.case_id == case_id).order_by(PenaltyDecision.published_at)
        )
        return rows.all()


async def penalties_of_merchant(session: AsyncSession, merchant_id: str) -> list[dict[str, Any]]:
    """The penalty decisions filed under a merchant, newest first, as links for the merchant's record."""
    rows = await session.scalars(
        select(PenaltyDecision)
        .where(PenaltyDecision.merchant_id == merchant_id)
        .order_by(PenaltyDecision.decided_on.desc(), PenaltyDecision.id.desc())
    )
    return [
        {
            "id": row.id,
            "decision_no": row.decision_no,
            "decided_on": row.decided_on.isoformat(),
            "case_id": row.case_id,
            "url": f"/public/penalties/{row.id}",
        }
        for row in rows
    ]
