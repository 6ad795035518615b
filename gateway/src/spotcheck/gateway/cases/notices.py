"""The notices and orders a case sends, built from its rows, and who receives them through which adapter.

Each builder returns one wire-contract message; the services decide when to send it and to whom.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any, Literal

import msgspec

from spotcheck.gateway.cases.refs import authority_ref, manufacturer_ref, merchant_ref, platform_ref, product_ref
from spotcheck.gateway.delivery.service import Recipient
from spotcheck.gateway.legal import basis
from spotcheck.gateway.store.models import Authority, Case, Manufacturer, Merchant, Platform
from spotcheck.gateway.store.models_duties import AuthorityChannel
from spotcheck.gateway.store.statuses import RecipientKind
from spotcheck.gateway.store.types import utcnow
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

__all__ = [
    "BACKUP_RETURN_DUTY",
    "CONSUMER_RETURNS_DUTY",
    "ListEntry",
    "announcement",
    "authority_recipients",
    "case_transfer",
    "delisting_order",
    "email_recipient",
    "hazard_notification",
    "identity_request",
    "manufacturer_recipient",
    "platform_recipient",
    "records_request",
    "referral_notice",
    "reinspection_decision",
    "result_notice",
    "results_published",
    "sampling_notice",
    "stop_sale_order",
    "takedown_order",
]

BACKUP_RETURN_DUTY = (
    f"被抽样网络商品经营者应当接受备份样品的退货（{basis('三(一)')}）。"
    " The sampled merchant must accept the return of the backup sample."
)
"""The sampled merchant's duty to take the backup sample back, stated in every sampling notice."""

CONSUMER_RETURNS_DUTY = (
    f"消费者要求退货的，经营者应当负责退货（{basis('四(二)')}）。"
    " Where consumers ask to return the product, the merchant must take it back."
)
"""The merchant's duty to take back what consumers return, stated in every stop-sale order."""


# ---- recipients -------------------------------------------------------------------------------------------------


def platform_recipient(platform: Platform) -> Recipient:
    """The platform operator, through its registered adapter."""
    return Recipient(RecipientKind.PLATFORM, platform.id, platform.name, platform.adapter, {"platform_id": platform.id})


def email_recipient(kind: RecipientKind, ident: str, name: str, email: str) -> Recipient:
    """A party without an integration, by e-mail."""
    return Recipient(kind, ident, name, "smtp", {"to": email})


def announcement(kind: RecipientKind, ident: str, name: str, reason: str) -> Recipient:
    """A party that cannot be reached, by public announcement on the regulator's site (三(二))."""
    return Recipient(kind, ident, name, "announcement", {"reason": reason})


def authority_recipients(authority: Authority, channel: AuthorityChannel | None) -> list[Recipient]:
    """Every real channel another authority is reached through: its webhook, its e-mail; empty when it has none.

    Never an announcement: a 通报 to an authority (四(二)) is not served by publishing it on our own site.
    """
    recipients: list[Recipient] = []
    if channel is not None and channel.webhook_config is not None:
        config = msgspec.json.decode(channel.webhook_config)
        recipients.append(Recipient(RecipientKind.AUTHORITY, authority.id, authority.name, "webhook", config))
    email = (channel.email if channel is not None else None) or authority.contact_email
    if email:
        recipients.append(email_recipient(RecipientKind.AUTHORITY, authority.id, authority.name, email))
    return recipients


def manufacturer_recipient(manufacturer: Manufacturer) -> Recipient:
    """The labelled manufacturer: by e-mail when a contact is known, else by announcement (三(二))."""
    if manufacturer.contact_email:
        return email_recipient(
            RecipientKind.MANUFACTURER, manufacturer.id, manufacturer.name, manufacturer.contact_email
        )
    return announcement(
        RecipientKind.MANUFACTURER, manufacturer.id, manufacturer.name, "生产者联系方式不详 (no contact)"
    )


# ---- the common part --------------------------------------------------------------------------------------------


def _header(case: Case, authority: Authority, respond_by: datetime | None = None) -> dict[str, Any]:
    return {"case_id": case.id, "authority": authority_ref(authority), "issued_at": utcnow(), "respond_by": respond_by}


def _report_no(case: Case) -> str | None:
    return (case.result or {}).get("report_no")


def _failing_items(case: Case) -> list[FailingItem]:
    return msgspec.convert((case.result or {}).get("failing_items", []), list[FailingItem])


# ---- sampling ---------------------------------------------------------------------------------------------------


def sampling_notice(case: Case, authority: Authority, merchant: Merchant, platform: Platform | None) -> SamplingNotice:
    """三(一): the orders bought, the seals, the evidence, and the duty to accept the backup sample's return."""
    assert case.purchase is not None  # noqa: S101 - the lifecycle sends it only after purchase and sealing
    assert case.sealing is not None  # noqa: S101
    evidence = case.purchase.get("evidence", []) + case.sealing.get("evidence", [])
    return SamplingNotice(
        timestamp=utcnow(),
        data=SamplingNoticeData(
            **_header(case, authority),
            platform=platform_ref(platform) if platform else None,
            merchant=merchant_ref(merchant),
            product=product_ref(case),
            orders=msgspec.convert(case.purchase["orders"], list[OrderRef]),
            sample_seal_no=case.sealing["sample_seal_no"],
            backup_seal_no=case.sealing["backup_seal_no"],
            sealed_at=msgspec.convert(case.sealing["sealed_at"], datetime),
            backup_return_duty=BACKUP_RETURN_DUTY,
            evidence=msgspec.convert(evidence, list[EvidenceRef]),
        ),
    )


def records_request(
    case: Case,
    authority: Authority,
    merchant: Merchant,
    respond_by: datetime,
    *,
    order_nos: list[str],
    records_from: datetime,
    records_until: datetime,
    items: list[str],
) -> RecordsRequest:
    """三(一): confirm the orders' e-documents and provide the transaction records and logs."""
    return RecordsRequest(
        timestamp=utcnow(),
        data=RecordsRequestData(
            **_header(case, authority, respond_by),
            shop_id=merchant.shop_id,
            orders=order_nos,
            records_from=records_from,
            records_until=records_until,
            needed=["order_documents", "transaction_records", "logs"],
            note="；".join(items),
        ),
    )


def identity_request(
    case: Case, authority: Authority, merchant: Merchant, respond_by: datetime
) -> MerchantIdentityRequest:
    """五(一): the merchant's real name, address and effective contact."""
    return MerchantIdentityRequest(
        timestamp=utcnow(),
        data=MerchantIdentityRequestData(
            **_header(case, authority, respond_by),
            shop_id=merchant.shop_id,
            shop_name=merchant.shop_name,
            listing_ids=[case.listing_id] if case.listing_id else [],
            purpose="网络商品抽检结果通知及后处理需要 (to notify the result and apply measures)",
        ),
    )


# ---- results ----------------------------------------------------------------------------------------------------


def result_notice(
    case: Case,
    authority: Authority,
    merchant: Merchant,
    manufacturer: Manufacturer | None,
    role: Literal["merchant", "manufacturer", "platform"],
    *,
    reinspection_deadline: datetime | None,
    at: datetime,
) -> ResultNotice:
    """三(二): the conclusion, failing items and report, to one addressee, with the re-inspection window's end."""
    assert case.result is not None  # noqa: S101 - the lifecycle sends it only after the result
    assert case.result_received_at is not None  # noqa: S101
    return ResultNotice(
        timestamp=at,
        data=ResultNoticeData(
            **_header(case, authority),
            addressee_role=role,
            merchant=merchant_ref(merchant),
            product=product_ref(case),
            conclusion=case.result["conclusion"],
            report_no=case.result["report_no"],
            testing_institution=case.result["institution"],
            result_received_at=case.result_received_at,
            failing_items=_failing_items(case),
            manufacturer=manufacturer_ref(manufacturer) if manufacturer else None,
            reinspection_deadline=reinspection_deadline,
        ),
    )


def reinspection_decision(
    case: Case, authority: Authority, application_id: str, decision: str, reason: str, report_no: str | None
) -> ReinspectionDecision:
    """三(三): an application accepted or rejected, or the re-inspection's outcome."""
    return ReinspectionDecision(
        timestamp=utcnow(),
        data=ReinspectionDecisionData(
            **_header(case, authority),
            application_id=application_id,
            decision=decision,  # type: ignore[arg-type]
            reason=reason,
            reinspection_report_no=report_no,
        ),
    )


def results_published(
    case: Case,
    authority: Authority,
    merchant: Merchant,
    manufacturer: Manufacturer | None,
    platform: Platform,
    *,
    published_url: str,
    at: datetime,
) -> ResultsPublished:
    """四(一): the published result with the fields the opinion lists."""
    failing_items = (case.result or {}).get("failing_items", []) if case.conclusion == "fail" else []
    return ResultsPublished(
        timestamp=at,
        data=ResultsPublishedData(
            **_header(case, authority),
            sample_name=case.sample_name,
            merchant_name=merchant.legal_name or merchant.shop_name,
            trademark=case.trademark,
            manufacturer_name=manufacturer.name if manufacturer else "/",
            spec_model=case.spec_model,
            production_date=case.production_date,
            main_failing_items=[item["item"] for item in failing_items],
            conclusion=case.conclusion or "pass",  # type: ignore[arg-type]
            platform_name=platform.name,
            published_url=published_url,
            published_at=at,
            shop_id=merchant.shop_id,
            report_no=_report_no(case),
        ),
    )


# ---- measures ---------------------------------------------------------------------------------------------------


def stop_sale_order(
    case: Case, authority: Authority, merchant: Merchant, respond_by: datetime, warning_measures: list[str]
) -> StopSaleOrder:
    """四(二): the sampled merchant stops selling and takes back what consumers return."""
    return StopSaleOrder(
        timestamp=utcnow(),
        data=StopSaleOrderData(
            **_header(case, authority, respond_by),
            merchant=merchant_ref(merchant),
            product=product_ref(case),
            hazardous=case.hazardous,
            consumer_returns_duty=CONSUMER_RETURNS_DUTY,
            warning_measures=warning_measures,
            report_no=_report_no(case),
        ),
    )


def hazard_notification(
    case: Case, authority: Authority, recipient: AuthorityRef, manufacturer: Manufacturer
) -> HazardNotification:
    """四(二): the labelled manufacturer's authority is told of a hazardous product and the stop-sale."""
    return HazardNotification(
        timestamp=utcnow(),
        data=HazardNotificationData(
            **_header(case, authority),
            recipient=recipient,
            manufacturer=manufacturer_ref(manufacturer),
            product=product_ref(case),
            hazard_description="检验不合格且危及人身、财产安全 (endangers life or property)",
            failing_items=_failing_items(case),
            measures_taken=["责令停止销售 (stop-sale ordered)"],
            report_no=_report_no(case),
        ),
    )


@dataclass(frozen=True)
class ListEntry:
    """The published hazard-list entry a delisting order carries out: its address and when it was published."""

    url: str
    published_at: datetime


def delisting_order(
    case: Case,
    authority: Authority,
    manufacturer: Manufacturer | None,
    platform: Platform,
    respond_by: datetime,
    mandatory_standard: str,
    entry: ListEntry,
) -> DelistingOrder:
    """四(二): every merchant on ``platform`` stops selling the same trademark and spec/model on the list ``entry``."""
    return DelistingOrder(
        timestamp=utcnow(),
        data=DelistingOrderData(
            **_header(case, authority, respond_by),
            sample_name=case.sample_name,
            trademark=case.trademark,
            spec_model=case.spec_model,
            hazardous=True,
            mandatory_standard=mandatory_standard,
            list_published_at=entry.published_at,
            list_url=entry.url,
            manufacturer=manufacturer_ref(manufacturer) if manufacturer else None,
            # Only the sampled platform knows the sampled listing; the others search by trademark and model.
            known_listing_ids=[case.listing_id] if case.listing_id and platform.id == case.platform_id else [],
        ),
    )


def takedown_order(
    case: Case,
    authority: Authority,
    merchant: Merchant,
    respond_by: datetime,
    measures: list[Literal["delete", "block", "disconnect"]],
    include_shop: bool,
) -> TakedownOrder:
    """四(二): delete, block or disconnect an unreachable merchant's listing and virtual shop."""
    return TakedownOrder(
        timestamp=utcnow(),
        data=TakedownOrderData(
            **_header(case, authority, respond_by),
            merchant=merchant_ref(merchant),
            measures=measures,
            listing_ids=[case.listing_id] if case.listing_id else [],
            include_shop=include_shop,
            reason="抽检不合格且经营者无法联系 (non-compliant, merchant unreachable)",
            report_no=_report_no(case),
        ),
    )


def referral_notice(
    case: Case,
    authority: Authority,
    merchant: Merchant,
    recipient: AuthorityRef,
    measure: Literal["block", "stop_access"],
) -> ReferralNotice:
    """四(二), last paragraph: the telecom authority blocks a non-platform website or stops its access."""
    return ReferralNotice(
        timestamp=utcnow(),
        data=ReferralNoticeData(
            **_header(case, authority),
            recipient=recipient,
            website_url=merchant.website or case.listing_url or "https://invalid.example",
            icp_filing=merchant.icp_filing,
            requested_measure=measure,
            reason="网络销售不合格商品 (selling non-compliant goods online)",
            report_no=_report_no(case),
        ),
    )


def case_transfer(
    case: Case, authority: Authority, target: Authority, platform: Platform, violation: str
) -> CaseTransfer:
    """四(三): a platform operator's violation, to the authority where the platform is located."""
    return CaseTransfer(
        timestamp=utcnow(),
        data=CaseTransferData(
            **_header(case, authority),
            recipient=authority_ref(target),
            platform=platform_ref(platform),
            violation_description=violation,
        ),
    )
