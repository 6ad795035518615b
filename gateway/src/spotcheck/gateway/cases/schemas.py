"""Request and response bodies of the case API.

What the regulator records on a case (purchase, sealing, result, a written application) is defined once in
``records.py``, where the services take it from, and is re-exported here with the other bodies.
"""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any, Literal

import msgspec
from msgspec import Meta

from spotcheck.gateway.cases.queries import CaseDetail
from spotcheck.gateway.cases.records import (
    PurchaseRecord,
    ReinspectionApplicationRecord,
    ResultRecord,
    SealingRecord,
)
from spotcheck.gateway.deadlines.schemas import DeadlineView
from spotcheck.gateway.web.bodies import Email, RequestBody, WorkingDays
from spotcheck.schemas import FailingItem, Identifier, LongText, ProductRef, ShortText, Timestamp

__all__ = [
    "CaseCreate",
    "CaseView",
    "CloseBody",
    "DelistingBody",
    "DrawOrigin",
    "FinalizeBody",
    "IdentityRequestBody",
    "PublishBody",
    "PurchaseRecord",
    "RecordsRequestBody",
    "ReferralBody",
    "ReinspectionApplicationRecord",
    "ReinspectionDecisionBody",
    "ReinspectionOutcomeBody",
    "ResultRecord",
    "SealingRecord",
    "StopSaleBody",
    "TakedownBody",
    "TargetedOrigin",
    "TransferBody",
    "WaiverBody",
]


class DrawOrigin(RequestBody, kw_only=True, frozen=True, tag_field="kind", tag="draw"):
    """The case's merchant was selected by a revealed random draw of its plan (随机抽查)."""

    draw_id: Identifier


class TargetedOrigin(RequestBody, kw_only=True, frozen=True, tag_field="kind", tag="targeted"):
    """The merchant was selected on purpose (问题导向): many complaints, reports, enforcement findings.

    An inspection for one consumer complaint is not sampling (the opinion 四(三)): ``single_complaint`` is refused.
    """

    reason: Annotated[str, Meta(min_length=1, max_length=64)]
    reference: ShortText | None = None


class CaseCreate(RequestBody, kw_only=True, frozen=True):
    """Open a case from a sampling plan (抽检实施方案): ``plan_id``, or the legacy free-text ``plan_reference``."""

    merchant_id: Identifier
    manufacturer_id: Identifier | None = None
    plan_id: Identifier | None = None
    plan_reference: ShortText | None = None
    origin: DrawOrigin | TargetedOrigin | None = None
    product: ProductRef

    def __post_init__(self) -> None:
        if self.plan_id is None and self.plan_reference is None and not isinstance(self.origin, DrawOrigin):
            raise ValueError("`plan_id`: give the plan the case is opened from (or the legacy plan_reference)")


class RecordsRequestBody(RequestBody, kw_only=True, frozen=True):
    """Ask the platform to confirm orders and provide transaction records and logs."""

    order_nos: Annotated[list[Identifier], Meta(min_length=1, max_length=100)]
    records_from: Timestamp
    records_until: Timestamp
    items: Annotated[list[ShortText], Meta(min_length=1, max_length=20)] = msgspec.field(
        default_factory=lambda: ["订单电子单据确认", "交易记录", "操作日志"]
    )
    working_days: WorkingDays = 2

    def __post_init__(self) -> None:
        if self.records_until <= self.records_from:
            raise ValueError("`records_until`: must be after records_from")


class IdentityRequestBody(RequestBody, kw_only=True, frozen=True):
    """Ask the platform for the merchant's real name, address and effective contact (the opinion 五(一))."""

    working_days: WorkingDays = 2


class ReinspectionDecisionBody(RequestBody, kw_only=True, frozen=True):
    """Accept or reject an application."""

    decision: Literal["accepted", "rejected"]
    reason: LongText


class ReinspectionOutcomeBody(RequestBody, kw_only=True, frozen=True):
    """The re-inspection result, which is final."""

    outcome: Literal["upheld", "overturned"]
    report_no: ShortText
    conclusion: Literal["pass", "fail"]
    failing_items: list[FailingItem] = msgspec.field(default_factory=list)


class FinalizeBody(RequestBody, kw_only=True, frozen=True):
    """Make the result final once every party's window has lapsed or been waived in writing (三(三)).

    A waiver is recorded per party with its written statement (``POST /v1/cases/{id}/reinspection-waivers``);
    ``waived`` may only be false, because a flag is not the party's written statement.
    """

    waived: Literal[False] = False
    note: LongText | None = None


class WaiverBody(RequestBody, kw_only=True, frozen=True):
    """A party's written waiver of re-inspection (三(三) 放弃复检).

    The statement is an evidence file of this case (``statement_sha256``, uploaded to the case's evidence) or a
    reply a platform relayed on this case (``relayed_reply_id``); at least one is required.
    """

    party_role: Literal["merchant", "manufacturer"]
    waived_by: ShortText
    statement_sha256: Annotated[str, Meta(pattern=r"^[0-9a-f]{64}$")] | None = None
    relayed_reply_id: Identifier | None = None
    note: LongText | None = None


class PublishBody(RequestBody, kw_only=True, frozen=True):
    """Publish the result (the opinion 四(一))."""

    note: LongText | None = None


class StopSaleBody(RequestBody, kw_only=True, frozen=True):
    """Order the sampled merchant to stop selling (the opinion 四(二))."""

    warning_measures: list[ShortText] = msgspec.field(default_factory=list)


class DelistingBody(RequestBody, kw_only=True, frozen=True):
    """Publish the hazardous product on the stop-sale list and tell every platform (the opinion 四(二))."""

    mandatory_standard: ShortText


class TakedownBody(RequestBody, kw_only=True, frozen=True):
    """Have the platform delete, block or disconnect the listing and the merchant's virtual shop."""

    measures: Annotated[list[Literal["delete", "block", "disconnect"]], Meta(min_length=1, max_length=3)]
    include_shop: bool = True


class ReferralBody(RequestBody, kw_only=True, frozen=True):
    """Ask the telecom authority to block a non-platform website or stop its access service."""

    telecom_authority: ShortText
    telecom_email: Email
    measure: Literal["block", "stop_access"] = "block"


class TransferBody(RequestBody, kw_only=True, frozen=True):
    """Transfer a platform operator's violation to the authority where the platform is located (the opinion 四(三))."""

    violation: LongText


class CloseBody(RequestBody, kw_only=True, frozen=True):
    """Close the case."""

    note: LongText | None = None


class CaseView(msgspec.Struct, kw_only=True):
    """A case as the regulator sees it, with what may be done next."""

    id: str
    state: str
    allowed_actions: list[str]
    authority_id: str
    jurisdiction_division: str
    jurisdiction_basis: str
    platform_id: str | None
    merchant_id: str
    manufacturer_id: str | None
    plan_reference: str
    product: dict[str, Any]
    plan_id: str | None
    origin: dict[str, Any] | None
    purchase: dict[str, Any] | None
    sealing: dict[str, Any] | None
    order_confirmation: dict[str, Any] | None
    result: dict[str, Any] | None
    conclusion: str | None
    hazardous: bool
    reinspection_deadline: datetime | None
    measures: list[Any]
    created_at: datetime
    updated_at: datetime
    deadlines: list[DeadlineView] = msgspec.field(default_factory=list)

    @classmethod
    def of(cls, detail: CaseDetail) -> CaseView:
        """The view of a case as a service answered it."""
        case = detail.case
        return cls(
            id=case.id,
            state=case.state,
            allowed_actions=detail.allowed_actions,
            authority_id=case.authority_id,
            jurisdiction_division=case.jurisdiction_division,
            jurisdiction_basis=case.jurisdiction_basis,
            platform_id=case.platform_id,
            merchant_id=case.merchant_id,
            manufacturer_id=case.manufacturer_id,
            plan_reference=case.plan_reference,
            plan_id=case.plan_id,
            origin=case.origin,
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
            deadlines=[DeadlineView.of(d) for d in detail.deadlines],
        )
