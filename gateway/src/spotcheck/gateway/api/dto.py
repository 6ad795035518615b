"""Request and response bodies of the regulator API.

Requests reject unknown fields by name (``forbid_unknown_fields``) and reuse the wire contract's value types,
so a bad division code or USCC is refused at the edge with the field's path.
"""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any, Literal

import msgspec
from msgspec import Meta

from spotcheck.schemas import (
    USCC,
    DivisionCode,
    EvidenceRef,
    FailingItem,
    Identifier,
    LongText,
    OrderRef,
    ProductRef,
    Sha256Hex,
    ShortText,
    Timestamp,
    is_valid_uscc,
)

__all__ = [
    "AuthorityCreate",
    "AuthorityView",
    "CaseCreate",
    "CaseView",
    "CloseBody",
    "DeadlineView",
    "DelistingBody",
    "EntrustmentCreate",
    "FinalizeBody",
    "IdentityRequestBody",
    "ManufacturerCreate",
    "MerchantCreate",
    "MessageView",
    "PlatformCreate",
    "PlatformCreated",
    "PlatformKeyRotate",
    "PublishBody",
    "PurchaseRecord",
    "RecordsRequestBody",
    "ReferralBody",
    "ReinspectionApplicationRecord",
    "ReinspectionDecisionBody",
    "ReinspectionOutcomeBody",
    "ReplayBody",
    "ResultRecord",
    "SealingRecord",
    "StopSaleBody",
    "TakedownBody",
    "TransferBody",
]

Email = Annotated[str, Meta(max_length=254, pattern=r"^[^@\s]+@[^@\s]+\.[^@\s]+$")]
WorkingDays = Annotated[int, Meta(ge=1, le=30, description="platform answer SLA in working days")]
Url = Annotated[str, Meta(max_length=1000, pattern=r"^https?://")]


def check_uscc_field(field: str, value: str | None) -> None:
    """Refuse a USCC whose GB 32100-2015 check character is wrong, naming the field."""
    if value is not None and not is_valid_uscc(value):
        raise ValueError(f"`{field}`: not a valid unified social credit code (GB 32100-2015 check character)")


class _Request(msgspec.Struct, kw_only=True, forbid_unknown_fields=True, frozen=True):
    """Base of request bodies: keyword-only, immutable, unknown fields refused."""


class AuthorityCreate(_Request, kw_only=True, frozen=True):
    """Register an authority (admin)."""

    name: ShortText
    division_code: DivisionCode
    level: Literal["national", "provincial", "municipal", "county"] | None = None
    parent_id: Identifier | None = None
    contact_email: Email | None = None


class AuthorityView(msgspec.Struct, kw_only=True):
    """An authority as listed."""

    id: str
    name: str
    level: str
    division_code: str
    parent_id: str | None


class EntrustmentCreate(_Request, kw_only=True, frozen=True):
    """A higher authority entrusts a lower one with sampling in a division (seed 二)."""

    agent_authority_id: Identifier
    division_code: DivisionCode
    note: LongText | None = None


class ContactPoint(_Request, kw_only=True, frozen=True):
    """Who at the platform answers the regulator."""

    name: ShortText
    email: Email | None = None
    phone: Annotated[str, Meta(max_length=40)] | None = None


class PlatformCreate(_Request, kw_only=True, frozen=True):
    """Register a platform operator and how notices reach it.

    ``inbound_keys`` are the keys the platform signs its replies with: ``whpk_`` Ed25519 public keys (preferred)
    or a ``whsec_`` shared secret. The gateway answers with the secret it signs notices with, shown once.
    """

    id: Annotated[str, Meta(min_length=2, max_length=64, pattern=r"^[a-z0-9][a-z0-9-]*$")]
    name: ShortText
    uscc: USCC | None = None
    province_code: DivisionCode
    contact: ContactPoint
    adapter: Annotated[str, Meta(min_length=1, max_length=64)] = "webhook"
    endpoint_url: Url | None = None
    adapter_config: dict[str, Any] = msgspec.field(default_factory=dict)
    inbound_keys: Annotated[list[Annotated[str, Meta(max_length=200)]], Meta(min_length=1, max_length=4)]

    def __post_init__(self) -> None:
        check_uscc_field("uscc", self.uscc)


class PlatformCreated(msgspec.Struct, kw_only=True):
    """A registered platform and, once, the secret the gateway signs its notices with."""

    id: str
    name: str
    province_code: str
    adapter: str
    outbound_signing_secret: str
    inbound_key_ids: list[str]


class PlatformKeyRotate(_Request, kw_only=True, frozen=True):
    """Rotate a key: ``inbound`` registers the platform's new key; ``outbound`` makes the gateway a new secret.

    The old key keeps working for ``overlap_hours`` so nothing signed in between is refused.
    """

    direction: Literal["inbound", "outbound"]
    key: Annotated[str, Meta(max_length=200)] | None = None
    overlap_hours: Annotated[int, Meta(ge=0, le=24 * 30)] = 24


class MerchantCreate(_Request, kw_only=True, frozen=True):
    """Register a sampled merchant: a shop on a platform or an independent website."""

    platform_id: Identifier | None = None
    shop_id: Identifier
    shop_name: ShortText
    kind: Literal["natural_person", "registered_entity", "platform_self_operated"]
    legal_name: ShortText | None = None
    uscc: USCC | None = None
    registration_division: DivisionCode | None = None
    address: ShortText | None = None
    contact_email: Email | None = None
    contact_phone: Annotated[str, Meta(max_length=40)] | None = None
    website: Url | None = None
    icp_filing: Annotated[str, Meta(max_length=64)] | None = None

    def __post_init__(self) -> None:
        check_uscc_field("uscc", self.uscc)
        if self.kind == "registered_entity" and self.registration_division is None:
            raise ValueError("`registration_division`: required for a registered entity (seed 二 jurisdiction)")
        if self.platform_id is None and self.website is None:
            raise ValueError("`website`: required when the merchant is not on a registered platform")


class ManufacturerCreate(_Request, kw_only=True, frozen=True):
    """Register a labelled manufacturer."""

    name: ShortText
    uscc: USCC | None = None
    address: ShortText | None = None
    division_code: DivisionCode | None = None
    contact_email: Email | None = None

    def __post_init__(self) -> None:
        check_uscc_field("uscc", self.uscc)


class CaseCreate(_Request, kw_only=True, frozen=True):
    """Open a case from a sampling plan (抽检实施方案)."""

    merchant_id: Identifier
    manufacturer_id: Identifier | None = None
    plan_reference: ShortText
    product: ProductRef


class PurchaseRecord(_Request, kw_only=True, frozen=True):
    """The sample and backup sample bought online, with the evidence of the whole purchase (seed 三(一))."""

    purchased_at: Timestamp
    buyer_account: ShortText
    buyer_name: ShortText
    delivery_address: ShortText
    orders: Annotated[list[OrderRef], Meta(min_length=1, max_length=20)]
    evidence: list[EvidenceRef] = msgspec.field(default_factory=list)


class SealingRecord(_Request, kw_only=True, frozen=True):
    """Joint unpacking and sealing of sample and backup sample, video-recorded (seed 三(一))."""

    sealed_at: Timestamp
    sample_seal_no: ShortText
    backup_seal_no: ShortText
    witnesses: Annotated[list[ShortText], Meta(min_length=3, max_length=10)]
    evidence: Annotated[list[EvidenceRef], Meta(min_length=1)]


class RecordsRequestBody(_Request, kw_only=True, frozen=True):
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


class IdentityRequestBody(_Request, kw_only=True, frozen=True):
    """Ask the platform for the merchant's real name, address and effective contact (seed 五(一))."""

    working_days: WorkingDays = 2


class ResultRecord(_Request, kw_only=True, frozen=True):
    """The testing institution's result."""

    received_at: Timestamp
    conclusion: Literal["pass", "fail"]
    report_no: ShortText
    institution: ShortText
    failing_items: list[FailingItem] = msgspec.field(default_factory=list)
    hazardous: bool = False
    mandatory_standard_failed: bool = False

    def __post_init__(self) -> None:
        if self.conclusion == "fail" and not self.failing_items:
            raise ValueError("`failing_items`: a failing result names at least one failing item")
        if self.conclusion == "pass" and (self.failing_items or self.hazardous or self.mandatory_standard_failed):
            raise ValueError("`conclusion`: a passing result cannot have failing items or hazards")


class ReinspectionApplicationRecord(_Request, kw_only=True, frozen=True):
    """A written re-inspection application received directly by the authority."""

    applicant_role: Literal["merchant", "manufacturer"]
    applicant_name: ShortText
    applied_at: Timestamp
    document_sha256: Sha256Hex
    reason: LongText


class ReinspectionDecisionBody(_Request, kw_only=True, frozen=True):
    """Accept or reject an application."""

    decision: Literal["accepted", "rejected"]
    reason: LongText


class ReinspectionOutcomeBody(_Request, kw_only=True, frozen=True):
    """The re-inspection result, which is final."""

    outcome: Literal["upheld", "overturned"]
    report_no: ShortText
    conclusion: Literal["pass", "fail"]
    failing_items: list[FailingItem] = msgspec.field(default_factory=list)


class FinalizeBody(_Request, kw_only=True, frozen=True):
    """Make the result final: after the window, or earlier when every party waived re-inspection in writing."""

    waived: bool = False
    note: LongText | None = None


class PublishBody(_Request, kw_only=True, frozen=True):
    """Publish the result (seed 四(一))."""

    note: LongText | None = None


class StopSaleBody(_Request, kw_only=True, frozen=True):
    """Order the sampled merchant to stop selling (seed 四(二))."""

    warning_measures: list[ShortText] = msgspec.field(default_factory=list)
    working_days: WorkingDays = 2


class DelistingBody(_Request, kw_only=True, frozen=True):
    """Publish the hazardous product on the stop-sale list and tell every platform (seed 四(二))."""

    mandatory_standard: ShortText
    working_days: WorkingDays = 2


class TakedownBody(_Request, kw_only=True, frozen=True):
    """Have the platform delete, block or disconnect the listing and the merchant's virtual shop."""

    measures: Annotated[list[Literal["delete", "block", "disconnect"]], Meta(min_length=1, max_length=3)]
    include_shop: bool = True
    working_days: WorkingDays = 2


class ReferralBody(_Request, kw_only=True, frozen=True):
    """Ask the telecom authority to block a non-platform website or stop its access service."""

    telecom_authority: ShortText
    telecom_email: Email
    measure: Literal["block", "stop_access"] = "block"


class TransferBody(_Request, kw_only=True, frozen=True):
    """Transfer a platform operator's violation to the authority where the platform is located (seed 四(三))."""

    violation: LongText


class CloseBody(_Request, kw_only=True, frozen=True):
    """Close the case."""

    note: LongText | None = None


class ReplayBody(_Request, kw_only=True, frozen=True):
    """Which dead letters to replay: those of one platform, or of a creation-time range, or both."""

    platform_id: Identifier | None = None
    since: Timestamp | None = None
    until: Timestamp | None = None

    def __post_init__(self) -> None:
        if self.platform_id is None and self.since is None and self.until is None:
            raise ValueError("`platform_id`: give a platform, a time range, or both")


class DeadlineView(msgspec.Struct, kw_only=True):
    """An open or met clock on a case."""

    id: str
    case_id: str
    kind: str
    party: str
    due_at: datetime
    provisional: bool
    rule: str
    basis: str
    status: str
    urgency: Literal["ok", "due_soon", "overdue", "met"]
    message_id: str | None = None


class MessageView(msgspec.Struct, kw_only=True):
    """An outbound message and where its delivery stands."""

    id: str
    message_type: str
    recipient_kind: str
    recipient_id: str
    recipient_name: str
    adapter: str
    status: str
    attempt_count: int
    created_at: datetime
    delivered_at: datetime | None
    acknowledged_at: datetime | None
    answered_at: datetime | None
    respond_by: datetime | None


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
