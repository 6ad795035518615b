"""Request and response bodies of the plans, directories and draws API."""

from __future__ import annotations

from datetime import date, datetime
from typing import Annotated, Any, Literal

import msgspec
from msgspec import Meta

from spotcheck.gateway.web.bodies import RequestBody
from spotcheck.schemas import Fen, Identifier, LongText, ShortText

__all__ = [
    "AddressIn",
    "BuyerAccount",
    "BuyerIn",
    "DrawCreate",
    "DrawScope",
    "InspectorCreate",
    "InspectorView",
    "PlanContent",
    "PlanCreate",
    "PlanView",
    "RevealBody",
]

ShortList = Annotated[list[ShortText], Meta(min_length=1, max_length=100)]


# Whitespace spelled out (the union of Python's and ECMA-262's \s, which differ), so the JSON Schema pattern and
# the server accept exactly the same prefixes.
_NO_SPACE_OR_BRACKETS = (
    r"^[^\t\n\v\f\r \x1c-\x1f\x85\u00a0\u1680\u2000-\u200a\u2028\u2029\u202f\u205f\u3000\ufeff〔〕]+\Z"
)


class BuyerAccount(RequestBody, kw_only=True, frozen=True):
    """A user name a buyer buys under on one platform (the opinion 三(一): 买样人的用户名)."""

    platform_id: Identifier
    user_name: ShortText


class BuyerIn(RequestBody, kw_only=True, frozen=True):
    """A buyer (买样人): an officer, a testing institution's staff member, or a consumer engaged for the plan."""

    name: ShortText
    kind: Literal["officer", "institution_staff", "consumer"]
    accounts: Annotated[list[BuyerAccount], Meta(max_length=50)] = msgspec.field(default_factory=list)


class AddressIn(RequestBody, kw_only=True, frozen=True):
    """A delivery address samples are sent to (收货地址)."""

    address: ShortText
    recipient: ShortText | None = None
    phone: Annotated[str, Meta(max_length=40)] | None = None


class PlanContent(RequestBody, kw_only=True, frozen=True):
    """What the 《流通领域商品质量抽查检验办法》 asks a 抽检实施方案 to state."""

    product_range: LongText
    varieties: ShortList
    quantities: ShortText
    test_basis: ShortList
    test_items: ShortList
    judgement_principles: LongText
    testing_institution: ShortText
    schedule_from: date
    schedule_until: date
    budget_fen: Fen

    def __post_init__(self) -> None:
        if self.schedule_until < self.schedule_from:
            raise ValueError("`schedule_until`: must not be before schedule_from")


class PlanCreate(RequestBody, kw_only=True, frozen=True):
    """A new plan in draft; its number (``<prefix>〔<year>〕<n>号``) is given when a supervisor approves it."""

    title: ShortText
    number_prefix: Annotated[str, Meta(min_length=1, max_length=16, pattern=_NO_SPACE_OR_BRACKETS)] = "市监抽"
    content: PlanContent
    buyers: Annotated[list[BuyerIn], Meta(min_length=1, max_length=50)]
    addresses: Annotated[list[AddressIn], Meta(min_length=1, max_length=50)]


class PlanView(msgspec.Struct, kw_only=True):
    """A plan as the regulator sees it."""

    id: str
    authority_id: str
    title: str
    state: str
    number: str | None
    content: dict[str, Any]
    buyers: list[Any]
    addresses: list[Any]
    approved_at: datetime | None
    started_at: datetime | None
    completed_at: datetime | None
    created_at: datetime


class DrawScope(RequestBody, kw_only=True, frozen=True):
    """Which merchants of the object directory a draw is among: at least one of the three criteria."""

    platforms: Annotated[list[Identifier], Meta(max_length=50)] = msgspec.field(default_factory=list)
    categories: Annotated[list[ShortText], Meta(max_length=50)] = msgspec.field(default_factory=list)
    division_prefix: Annotated[str, Meta(min_length=2, max_length=6, pattern=r"^[0-9]+\Z")] | None = None


class DrawCreate(RequestBody, kw_only=True, frozen=True):
    """Commit a draw: freeze the candidates the scope gives, publish the commitment."""

    scope: DrawScope
    count: Annotated[int, Meta(le=1_000_000)]
    inspector_count: Annotated[int, Meta(le=1000)] | None = None


class RevealBody(RequestBody, kw_only=True, frozen=True):
    """Reveal a draw with a beacon the bureau could not choose in advance."""

    beacon: Annotated[str, Meta(min_length=1, max_length=500)]
    beacon_source: Annotated[str, Meta(max_length=500)] | None = None


class InspectorCreate(RequestBody, kw_only=True, frozen=True):
    """An officer or testing-institution staff member for the inspector directory."""

    name: ShortText
    kind: Literal["officer", "institution_staff"]
    organisation: ShortText
    certificate_no: Annotated[str, Meta(max_length=64)] | None = None


class DirectoryMerchantView(msgspec.Struct, kw_only=True):
    """A merchant in the object directory (检查对象名录库)."""

    merchant_id: str
    platform_id: str | None
    shop_id: str
    shop_name: str
    kind: str
    division_code: str
    categories: list[str]


class InspectorView(msgspec.Struct, kw_only=True):
    """An inspector in the directory."""

    id: str
    name: str
    kind: str
    organisation: str
    certificate_no: str | None
    active: bool
