"""Parts shared by many messages: who acts, which merchant, product, order and evidence a case is about."""

from datetime import date
from typing import Annotated, Literal

from msgspec import Meta, Struct

from spotcheck.schemas._types import (
    USCC,
    DivisionCode,
    Fen,
    Identifier,
    LongText,
    Sha256Hex,
    ShortText,
    Timestamp,
    WebUrl,
    check_uscc_field,
    describe,
)

__all__ = [
    "AuthorityLevel",
    "AuthorityRef",
    "DocumentKind",
    "DocumentRef",
    "EvidenceRef",
    "FailingItem",
    "LogEntry",
    "ManufacturerRef",
    "MerchantKind",
    "MerchantRef",
    "OrderRef",
    "PlatformRef",
    "ProductRef",
    "TransactionRecord",
]

AuthorityLevel = Literal["national", "provincial", "municipal", "county"]
"""The administrative level of a market regulation authority."""

MerchantKind = Literal["natural_person", "registered_entity", "platform_self_operated"]
"""How a merchant trades on a platform; it decides which authority has jurisdiction (seed 二)."""

_MEDIA_TYPE = Meta(max_length=127, pattern=r"^[a-z0-9][a-z0-9!#$&^_.+-]*/[a-z0-9][a-z0-9!#$&^_.+-]*\Z")


class AuthorityRef(Struct, kw_only=True, frozen=True):
    """市场监督管理部门 — A market regulation authority: who issues a notice, or to whom one is sent."""

    code: Annotated[DivisionCode, describe("行政区划代码", "administrative division code of its jurisdiction")]
    name: Annotated[ShortText, describe("机关名称", "official name, e.g. 浙江省市场监督管理局")]
    level: Annotated[AuthorityLevel, describe("层级", "administrative level")]


class PlatformRef(Struct, kw_only=True, frozen=True):
    """第三方交易平台经营者 — A third-party trading platform operator."""

    platform_id: Annotated[Identifier, describe("平台编号", "platform id registered with the gateway")]
    name: Annotated[ShortText, describe("平台经营者名称", "name of the platform operator")]
    uscc: Annotated[USCC | None, describe("统一社会信用代码", "unified social credit code of the operator")] = None

    def __post_init__(self) -> None:
        if self.uscc is not None:
            check_uscc_field("uscc", self.uscc)


class MerchantRef(Struct, kw_only=True, frozen=True):
    """网络商品经营者 — A merchant and the shop it trades through on the platform."""

    shop_id: Annotated[Identifier, describe("店铺编号", "shop id on the platform")]
    shop_name: Annotated[ShortText, describe("店铺名称", "shop name as displayed")]
    kind: Annotated[MerchantKind, describe("经营者类型", "natural person, registered entity or self-operated")]
    legal_name: Annotated[ShortText | None, describe("真实名称", "legal name of the merchant")] = None
    uscc: Annotated[USCC | None, describe("统一社会信用代码", "unified social credit code")] = None
    registration_division: Annotated[
        DivisionCode | None, describe("登记地行政区划代码", "division code where the merchant is registered")
    ] = None
    address: Annotated[ShortText | None, describe("地址", "address of the merchant")] = None
    contact: Annotated[ShortText | None, describe("有效联系方式", "effective contact (phone or e-mail)")] = None

    def __post_init__(self) -> None:
        if self.uscc is not None:
            check_uscc_field("uscc", self.uscc)


class ManufacturerRef(Struct, kw_only=True, frozen=True):
    """标称生产者 — The manufacturer named on the product's label."""

    name: Annotated[ShortText, describe("标称生产者名称", "manufacturer name as labelled")]
    address: Annotated[ShortText | None, describe("标称生产者地址", "manufacturer address as labelled")] = None
    uscc: Annotated[USCC | None, describe("统一社会信用代码", "unified social credit code")] = None
    division: Annotated[
        DivisionCode | None, describe("所在地行政区划代码", "division code of the manufacturer's locality")
    ] = None

    def __post_init__(self) -> None:
        if self.uscc is not None:
            check_uscc_field("uscc", self.uscc)


class ProductRef(Struct, kw_only=True, frozen=True):
    """样品 — The sampled product as labelled and as listed on the platform."""

    sample_name: Annotated[ShortText, describe("样品名称", "sample name")]
    trademark: Annotated[ShortText, describe("标称商标", "trademark as labelled; '/' when none is labelled")]
    spec_model: Annotated[ShortText, describe("规格型号", "specification or model as labelled")]
    production_date: Annotated[date | None, describe("生产日期", "production date as labelled")] = None
    batch_no: Annotated[ShortText | None, describe("批号", "batch number as labelled")] = None
    listing_id: Annotated[Identifier | None, describe("商品编号", "listing id on the platform")] = None
    listing_url: Annotated[WebUrl | None, describe("商品链接", "listing URL on the platform")] = None


class OrderRef(Struct, kw_only=True, frozen=True):
    """订单 — An order through which a sample (or backup sample) was bought."""

    order_no: Annotated[Identifier, describe("订单编号", "order number on the platform")]
    ordered_at: Annotated[Timestamp, describe("下单时间", "when the order was placed")]
    amount_fen: Annotated[Fen, describe("订单金额（分）", "amount paid, in fen")]
    quantity: Annotated[int, describe("数量", "number of items bought"), Meta(ge=1, le=100_000)] = 1
    buyer_account: Annotated[ShortText | None, describe("买样人用户名", "account of the sample buyer")] = None


class EvidenceRef(Struct, kw_only=True, frozen=True):
    """证据 — A content-addressed evidence file (screenshot, video) recorded during the case."""

    sha256: Annotated[Sha256Hex, describe("文件SHA-256摘要", "SHA-256 of the file's bytes")]
    media_type: Annotated[str, describe("媒体类型", "IANA media type, e.g. video/mp4"), _MEDIA_TYPE]
    size_bytes: Annotated[int, describe("文件大小（字节）", "file size in bytes"), Meta(ge=0, le=1 << 40)]
    step: Annotated[
        Literal["purchase", "listing", "unpacking", "sealing", "other"],
        describe("取证环节", "step of the case the evidence records"),
    ]
    description: Annotated[ShortText, describe("说明", "what the file shows")]


DocumentKind = Literal[
    "sampling_notice",
    "sampling_record",
    "assistance_request",
    "identity_verification",
    "result_notice",
    "reinspection_accepted",
    "reinspection_rejected",
    "stop_sale_order",
    "delisting_notice",
    "takedown_order",
    "public_notice",
    "referral_letter",
    "hazard_letter",
    "transfer_letter",
]
"""文书种类: the official documents of the opinion's 参考式样 a notice can carry, one per template."""


class DocumentRef(Struct, kw_only=True, frozen=True):
    """文书 — A numbered, signed PDF the notice serves: fetch it from ``url`` and check its SHA-256."""

    kind: Annotated[DocumentKind, describe("文书种类", "which official document")]
    number: Annotated[ShortText, describe("文号", "document number, e.g. 浙市监网抽通〔2026〕12号")]
    sha256: Annotated[Sha256Hex, describe("文件SHA-256摘要", "SHA-256 of the PDF's bytes")]
    media_type: Annotated[str, describe("媒体类型", "IANA media type: application/pdf"), _MEDIA_TYPE]
    url: Annotated[WebUrl, describe("获取地址", "where the addressee fetches it (a platform signs the request)")]


class FailingItem(Struct, kw_only=True, frozen=True):
    """不合格项目 — One test item that failed: what the standard requires and what was measured."""

    item: Annotated[ShortText, describe("检验项目", "test item, e.g. 纤维含量")]
    standard: Annotated[ShortText, describe("依据标准", "standard tested against, e.g. GB 18401-2010")]
    required: Annotated[ShortText, describe("标准要求", "required value or range, with unit")]
    measured: Annotated[ShortText, describe("实测结果", "measured value, with unit")]


class TransactionRecord(Struct, kw_only=True, frozen=True):
    """交易记录 — One order as the platform recorded it."""

    order_no: Annotated[Identifier, describe("订单编号", "order number")]
    shop_id: Annotated[Identifier, describe("店铺编号", "shop id")]
    item_title: Annotated[ShortText, describe("商品标题", "listing title at the time of the order")]
    quantity: Annotated[int, describe("数量", "number of items"), Meta(ge=1, le=1_000_000)]
    amount_fen: Annotated[Fen, describe("金额（分）", "amount in fen")]
    status: Annotated[Identifier, describe("订单状态", "platform order status, e.g. completed or refunded")]
    created_at: Annotated[Timestamp, describe("创建时间", "when the order was created")]
    listing_id: Annotated[Identifier | None, describe("商品编号", "listing id")] = None
    buyer_account: Annotated[ShortText | None, describe("买家账号", "buyer account, masked as the platform does")] = (
        None
    )
    paid_at: Annotated[Timestamp | None, describe("付款时间", "when it was paid")] = None
    shipped_at: Annotated[Timestamp | None, describe("发货时间", "when it was shipped")] = None
    logistics_no: Annotated[ShortText | None, describe("物流单号", "carrier tracking number")] = None


class LogEntry(Struct, kw_only=True, frozen=True):
    """操作日志 — One entry of the platform's logs about an order, a listing or a shop."""

    at: Annotated[Timestamp, describe("发生时间", "when it happened")]
    actor: Annotated[ShortText, describe("操作者", "account or system component that acted")]
    action: Annotated[Identifier, describe("操作", "what was done, e.g. listing.update or order.pay")]
    subject: Annotated[Identifier | None, describe("对象", "order number, listing id or shop id acted on")] = None
    source_ip: Annotated[ShortText | None, describe("来源IP", "source address, as logged")] = None
    detail: Annotated[LongText | None, describe("详情", "further detail, as logged")] = None
