"""Request and response bodies of the registry API."""

from __future__ import annotations

from typing import Annotated, Any, Literal

import msgspec
from msgspec import Meta

from spotcheck.gateway.legal import basis
from spotcheck.gateway.web.bodies import Email, RequestBody, Url, check_uscc_field
from spotcheck.schemas import (
    USCC,
    DivisionCode,
    Identifier,
    LongText,
    ShortText,
)

__all__ = [
    "AuthorityChannelSet",
    "AuthorityChannelView",
    "AuthorityCreate",
    "AuthorityView",
    "ContactPoint",
    "EntrustmentCreate",
    "ManufacturerCreate",
    "MerchantCreate",
    "PlatformCreate",
    "PlatformCreated",
    "PlatformKeyRotate",
]


class AuthorityCreate(RequestBody, kw_only=True, frozen=True):
    """Register an authority (admin)."""

    name: ShortText
    division_code: DivisionCode
    level: Literal["national", "provincial", "municipal", "county"] | None = None
    parent_id: Identifier | None = None
    contact_email: Email | None = None


class AuthorityChannelSet(RequestBody, kw_only=True, frozen=True):
    """How other authorities reach this one (the hazard 通报 of 四(二)) and its orders' answer hours.

    Give ``webhook_url`` (a public ``https://`` Standard Webhooks endpoint; a new one gets a signing secret shown
    once), ``email``, or both. The hours replace the gateway's defaults (acknowledged within 2 h, carried out
    within 24 h) for this authority's stop-sale, delisting and takedown orders.
    """

    webhook_url: Url | None = None
    email: Email | None = None
    order_acknowledge_hours: Annotated[int, Meta(ge=1, le=72)] | None = None
    order_effect_hours: Annotated[int, Meta(ge=1, le=168)] | None = None


class AuthorityChannelView(msgspec.Struct, kw_only=True):
    """An authority's channel as set; ``webhook_signing_secret`` appears once, when a new endpoint was set."""

    authority_id: str
    webhook_url: str | None
    email: str | None
    order_acknowledge_hours: int | None
    order_effect_hours: int | None
    webhook_signing_secret: str | None = None


class AuthorityView(msgspec.Struct, kw_only=True):
    """An authority as listed."""

    id: str
    name: str
    level: str
    division_code: str
    parent_id: str | None


class EntrustmentCreate(RequestBody, kw_only=True, frozen=True):
    """A higher authority entrusts a lower one with sampling in a division (the opinion's 二)."""

    agent_authority_id: Identifier
    division_code: DivisionCode
    note: LongText | None = None


class ContactPoint(RequestBody, kw_only=True, frozen=True):
    """Who at the platform answers the regulator."""

    name: ShortText
    email: Email | None = None
    phone: Annotated[str, Meta(max_length=40)] | None = None


class PlatformCreate(RequestBody, kw_only=True, frozen=True):
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


class PlatformKeyRotate(RequestBody, kw_only=True, frozen=True):
    """Rotate a key: ``inbound`` registers the platform's new key; ``outbound`` makes the gateway a new secret.

    The old key keeps working for ``overlap_hours`` so nothing signed in between is refused.
    """

    direction: Literal["inbound", "outbound"]
    key: Annotated[str, Meta(max_length=200)] | None = None
    overlap_hours: Annotated[int, Meta(ge=0, le=24 * 30)] = 24


class MerchantCreate(RequestBody, kw_only=True, frozen=True):
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
            raise ValueError(f"`registration_division`: required for a registered entity (jurisdiction, {basis('二')})")
        if self.platform_id is None and self.website is None:
            raise ValueError("`website`: required when the merchant is not on a registered platform")


class ManufacturerCreate(RequestBody, kw_only=True, frozen=True):
    """Register a labelled manufacturer."""

    name: ShortText
    uscc: USCC | None = None
    address: ShortText | None = None
    division_code: DivisionCode | None = None
    contact_email: Email | None = None

    def __post_init__(self) -> None:
        check_uscc_field("uscc", self.uscc)
