"""The message catalog: one Struct per Standard Webhooks event type, tagged on ``type``.

Each message is an envelope ``{"type", "timestamp", "data"}``; its ``data`` Struct is named ``<Message>Data``.
Unknown fields are ignored and every field added after the first release has a default, so an older
decoder accepts a newer message and the other way round. Validators that a :class:`msgspec.Meta` cannot
express live in ``__post_init__`` and raise :class:`FieldValueError`, which the codec turns into a
:class:`ContractError` naming the exact field.
"""

from datetime import date
from typing import Annotated, Literal, TypeAlias

from msgspec import Meta, Struct

from spotcheck.schemas._common import (
    AuthorityRef,
    DocumentRef,
    EvidenceRef,
    FailingItem,
    LogEntry,
    ManufacturerRef,
    MerchantRef,
    OrderRef,
    PlatformRef,
    ProductRef,
    TransactionRecord,
)
from spotcheck.schemas._errors import FieldValueError
from spotcheck.schemas._types import (
    USCC,
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
    "CaseTransfer",
    "CaseTransferData",
    "Conclusion",
    "DeadlineReminder",
    "DeadlineReminderData",
    "DelistingOrder",
    "DelistingOrderData",
    "HazardNotification",
    "HazardNotificationData",
    "MerchantIdentity",
    "MerchantIdentityData",
    "MerchantIdentityRequest",
    "MerchantIdentityRequestData",
    "Message",
    "Notice",
    "NoticeAcknowledged",
    "NoticeAcknowledgedData",
    "NoticeData",
    "OrderConfirmed",
    "OrderConfirmedData",
    "RecordsNeeded",
    "RecordsProvided",
    "RecordsProvidedData",
    "RecordsRequest",
    "RecordsRequestData",
    "RecordsUnavailable",
    "RecordsUnavailableData",
    "ReferralNotice",
    "ReferralNoticeData",
    "ReinspectionApplied",
    "ReinspectionAppliedData",
    "ReinspectionDecision",
    "ReinspectionDecisionData",
    "Reply",
    "ReplyData",
    "ReportedMeasure",
    "ResultNotice",
    "ResultNoticeData",
    "ResultsPublished",
    "ResultsPublishedData",
    "SamplingNotice",
    "SamplingNoticeData",
    "StopSaleOrder",
    "StopSaleOrderData",
    "TakedownMeasure",
    "TakedownOrder",
    "TakedownOrderData",
    "TakedownReported",
    "TakedownReportedData",
]

Conclusion = Literal["pass", "fail"]
"""综合判定结论: the overall conclusion of a test report."""

TakedownMeasure = Literal["delete", "block", "disconnect"]
"""删除、屏蔽、断开链接: what a takedown order asks of the platform (seed 四(二))."""

ReportedMeasure = Literal["delete", "block", "disconnect", "stop_sale", "stop_trading_service", "warning"]
"""A measure the platform reports as carried out, for any of the three kinds of order."""

_MAX_ORDERS = Meta(min_length=1, max_length=50)
_MAX_EVIDENCE = Meta(max_length=500)
_MAX_ITEMS = Meta(max_length=200)
_MAX_IDS = Meta(max_length=10_000)


def _require_unique(field: str, values: list[str]) -> None:
    """Raise FieldValueError naming ``field`` when ``values`` repeats an entry."""
    seen: set[str] = set()
    for index, value in enumerate(values):
        if value in seen:
            raise FieldValueError(f"{field}[{index}]", f"{value!r} is listed twice")
        seen.add(value)


class NoticeData(Struct, kw_only=True, frozen=True):
    """The fields every notice's ``data`` starts with: which case, which authority, when, and the answer's due time."""

    case_id: Annotated[Identifier, describe("案件编号", "case id assigned by the gateway")]
    authority: Annotated[AuthorityRef, describe("发出机关", "authority issuing the notice")]
    issued_at: Annotated[Timestamp, describe("发出时间", "when the authority issued it")]
    respond_by: Annotated[
        Timestamp | None, describe("答复期限", "when the addressee must have answered; null when no answer is due")
    ] = None
    documents: Annotated[
        list[DocumentRef],
        describe(
            "文书", "the numbered, signed documents this notice serves (added after 0.2.0: older notices carry none)"
        ),
        Meta(max_length=20),
    ] = []

    # Subclasses call this as NoticeData.__post_init__(self): cheaper than super() on every decode.
    def __post_init__(self) -> None:
        if self.respond_by is not None and self.respond_by <= self.issued_at:
            raise FieldValueError("respond_by", "must be later than issued_at")


class ReplyData(Struct, kw_only=True, frozen=True):
    """The fields every reply's ``data`` starts with: which case, which notice it answers, which platform."""

    case_id: Annotated[Identifier, describe("案件编号", "case id of the notice answered")]
    in_reply_to: Annotated[Identifier, describe("所答复通知编号", "webhook-id of the notice answered")]
    platform_id: Annotated[Identifier, describe("平台编号", "platform id registered with the gateway")]


class _Envelope(Struct, tag_field="type", kw_only=True, frozen=True):
    """Standard Webhooks body: ``type`` is the tag, ``timestamp`` when the message was created."""

    timestamp: Annotated[Timestamp, describe("消息时间", "when the message was created (RFC 3339 with offset)")]


# Gateway → platform


class SamplingNoticeData(NoticeData, kw_only=True, frozen=True):
    """抽样通知内容 — A sample and backup sample were bought, unpacked and sealed (seed 三(一))."""

    platform: Annotated[
        PlatformRef | None,
        describe("第三方交易平台", "platform the sample was bought on; null for an independent website"),
    ] = None
    merchant: Annotated[MerchantRef, describe("被抽样经营者", "sampled merchant and shop")]
    product: Annotated[ProductRef, describe("样品", "sampled product")]
    orders: Annotated[list[OrderRef], describe("订单", "orders of the sample and backup sample"), _MAX_ORDERS]
    sample_seal_no: Annotated[Identifier, describe("样品封条编号", "seal number of the sample")]
    backup_seal_no: Annotated[Identifier, describe("备份样品封条编号", "seal number of the backup sample")]
    sealed_at: Annotated[Timestamp, describe("封样时间", "when both were sealed")]
    backup_return_duty: Annotated[
        LongText, describe("备份样品退货义务", "the merchant's duty to accept the return of the backup sample")
    ]
    testing_institution: Annotated[ShortText | None, describe("承检机构", "testing institution")] = None
    evidence: Annotated[
        list[EvidenceRef], describe("取证记录", "screenshots and videos of purchase, unpacking, sealing"), _MAX_EVIDENCE
    ] = []

    def __post_init__(self) -> None:
        NoticeData.__post_init__(self)
        if self.backup_seal_no == self.sample_seal_no:
            raise FieldValueError("backup_seal_no", "must differ from sample_seal_no")


class SamplingNotice(_Envelope, tag="sampling.notice", kw_only=True, frozen=True):
    """抽样通知 — Tells the platform (and through it the merchant) that a sample was taken (seed 三(一))."""

    data: Annotated[SamplingNoticeData, describe("抽样通知内容", "the sampling notice")]


RecordsNeeded = Literal[
    "order_documents", "transaction_records", "payment_records", "logistics_records", "listing_snapshots", "logs"
]
"""What a records request can ask for: order e-documents, records of several kinds, listing snapshots, logs."""


class RecordsRequestData(NoticeData, kw_only=True, frozen=True):
    """交易记录协查内容 — Which orders to confirm and which records and logs to provide (seed 三(一))."""

    shop_id: Annotated[Identifier, describe("店铺编号", "shop whose records are requested")]
    orders: Annotated[
        list[Identifier], describe("待确认订单编号", "order numbers whose e-documents to confirm"), _MAX_ORDERS
    ]
    records_from: Annotated[Timestamp, describe("记录起始时间", "start of the time range for records and logs")]
    records_until: Annotated[Timestamp, describe("记录截止时间", "end of the time range for records and logs")]
    needed: Annotated[
        list[RecordsNeeded], describe("所需材料", "what the platform must provide"), Meta(min_length=1, max_length=6)
    ]
    note: Annotated[LongText | None, describe("说明", "further explanation of the request")] = None

    def __post_init__(self) -> None:
        NoticeData.__post_init__(self)
        if self.records_until < self.records_from:
            raise FieldValueError("records_until", "must not be earlier than records_from")
        _require_unique("needed", list(self.needed))


class RecordsRequest(_Envelope, tag="records.request", kw_only=True, frozen=True):
    """交易记录协查 — Asks the platform to confirm order documents and provide records and logs (seed 三(一))."""

    data: Annotated[RecordsRequestData, describe("协查内容", "the records request")]


class MerchantIdentityRequestData(NoticeData, kw_only=True, frozen=True):
    """经营者信息核验内容 — Which shop's merchant to identify (seed 五(一))."""

    shop_id: Annotated[Identifier, describe("店铺编号", "shop id on the platform")]
    shop_name: Annotated[ShortText, describe("店铺名称", "shop name as displayed")]
    listing_ids: Annotated[list[Identifier], describe("相关商品编号", "listings concerned"), _MAX_ITEMS] = []
    purpose: Annotated[LongText | None, describe("核验事由", "why the identity is needed")] = None


class MerchantIdentityRequest(_Envelope, tag="merchant.identity_request", kw_only=True, frozen=True):
    """经营者信息核验 — Asks the merchant's real name, address and effective contact (seed 五(一))."""

    data: Annotated[MerchantIdentityRequestData, describe("核验内容", "the identity request")]


class ResultNoticeData(NoticeData, kw_only=True, frozen=True):
    """检验结果通知内容 — The test result of a sample, addressed to one party (seed 三(二))."""

    addressee_role: Annotated[
        Literal["merchant", "manufacturer", "platform"], describe("受通知方", "who this notice is addressed to")
    ]
    merchant: Annotated[MerchantRef, describe("被抽样经营者", "sampled merchant and shop")]
    product: Annotated[ProductRef, describe("样品", "sampled product")]
    conclusion: Annotated[Conclusion, describe("检验结论", "overall conclusion")]
    report_no: Annotated[Identifier, describe("检验报告编号", "test report number")]
    testing_institution: Annotated[ShortText, describe("承检机构", "testing institution")]
    result_received_at: Annotated[Timestamp, describe("收到检验结果时间", "when the authority received the result")]
    failing_items: Annotated[
        list[FailingItem], describe("不合格项目", "failing items; empty when the sample passed"), _MAX_ITEMS
    ] = []
    manufacturer: Annotated[ManufacturerRef | None, describe("标称生产者", "manufacturer as labelled")] = None
    reinspection_deadline: Annotated[
        Timestamp | None, describe("复检申请截止时间", "end of the re-inspection application window")
    ] = None
    report_sha256: Annotated[Sha256Hex | None, describe("检验报告SHA-256", "SHA-256 of the report file")] = None

    def __post_init__(self) -> None:
        NoticeData.__post_init__(self)
        if self.conclusion == "fail":
            if not self.failing_items:
                raise FieldValueError("failing_items", "a failing result names at least one failing item")
            if self.reinspection_deadline is None:
                raise FieldValueError("reinspection_deadline", "a failing result states the re-inspection window")
        elif self.failing_items:
            raise FieldValueError("failing_items", "a passing result has no failing items")
        if self.addressee_role == "manufacturer" and self.manufacturer is None:
            raise FieldValueError("manufacturer", "required when the notice is addressed to the manufacturer")


class ResultNotice(_Envelope, tag="result.notice", kw_only=True, frozen=True):
    """检验结果通知 — Tells merchant, manufacturer or platform the test result (seed 三(二))."""

    data: Annotated[ResultNoticeData, describe("结果通知内容", "the result notice")]


class ReinspectionDecisionData(NoticeData, kw_only=True, frozen=True):
    """复检受理/结论内容 — Whether a re-inspection was accepted, and its outcome (seed 三(三))."""

    application_id: Annotated[Identifier, describe("复检申请编号", "the re-inspection application decided")]
    decision: Annotated[
        Literal["accepted", "rejected", "upheld", "overturned"],
        describe("决定", "accepted or rejected; then upheld or overturned by the re-inspection"),
    ]
    reason: Annotated[LongText, describe("理由", "reason for the decision")]
    reinspection_report_no: Annotated[
        Identifier | None, describe("复检报告编号", "report number of the re-inspection")
    ] = None


class ReinspectionDecision(_Envelope, tag="reinspection.decision", kw_only=True, frozen=True):
    """复检受理/结论 — Decides on a re-inspection application (seed 三(三))."""

    data: Annotated[ReinspectionDecisionData, describe("复检决定内容", "the re-inspection decision")]


class ResultsPublishedData(NoticeData, kw_only=True, frozen=True):
    """抽检结果公布内容 — The published result entry, field by field as seed 四(一) lists them."""

    sample_name: Annotated[ShortText, describe("样品名称", "sample name")]
    merchant_name: Annotated[ShortText, describe("被抽检网络商品经营者", "sampled merchant")]
    trademark: Annotated[ShortText, describe("标称商标", "trademark as labelled")]
    manufacturer_name: Annotated[ShortText, describe("标称生产者名称", "manufacturer as labelled")]
    spec_model: Annotated[ShortText, describe("规格型号", "specification or model")]
    production_date: Annotated[date | None, describe("生产日期", "production date as labelled")]
    main_failing_items: Annotated[
        list[ShortText], describe("主要不合格项目", "main failing items; empty when the sample passed"), _MAX_ITEMS
    ]
    conclusion: Annotated[Conclusion, describe("综合判定结论", "overall conclusion")]
    platform_name: Annotated[ShortText, describe("第三方交易平台经营者名称", "platform operator name")]
    published_url: Annotated[WebUrl, describe("公布网址", "where the authority published the result")]
    published_at: Annotated[Timestamp, describe("公布时间", "when it was published")]
    shop_id: Annotated[Identifier | None, describe("店铺编号", "shop id on the platform")] = None
    report_no: Annotated[Identifier | None, describe("检验报告编号", "test report number")] = None

    def __post_init__(self) -> None:
        NoticeData.__post_init__(self)
        if self.conclusion == "fail" and not self.main_failing_items:
            raise FieldValueError("main_failing_items", "a failing result names at least one failing item")


class ResultsPublished(_Envelope, tag="results.published", kw_only=True, frozen=True):
    """抽检结果公布 — Tells the platform a result was published (seed 四(一))."""

    data: Annotated[ResultsPublishedData, describe("公布内容", "the published result")]


class StopSaleOrderData(NoticeData, kw_only=True, frozen=True):
    """责令停止销售内容 — The sampled merchant must stop selling the product (seed 四(二)).

    ``respond_by`` is required: when the merchant's compliance must be reported.
    """

    merchant: Annotated[MerchantRef, describe("被抽样经营者", "merchant ordered to stop selling")]
    product: Annotated[ProductRef, describe("不合格商品", "non-compliant product")]
    hazardous: Annotated[bool, describe("危及人身财产安全", "the defect endangers life or property")]
    consumer_returns_duty: Annotated[
        LongText, describe("消费者退货义务", "the merchant's duty to take back goods consumers return")
    ]
    warning_measures: Annotated[
        list[ShortText], describe("警示措施", "warnings the merchant must give; used when hazardous"), _MAX_ITEMS
    ] = []
    report_no: Annotated[Identifier | None, describe("检验报告编号", "test report number")] = None

    def __post_init__(self) -> None:
        NoticeData.__post_init__(self)
        if self.respond_by is None:
            raise FieldValueError("respond_by", "a stop-sale order states when compliance must be reported")


class StopSaleOrder(_Envelope, tag="stop_sale.order", kw_only=True, frozen=True):
    """责令停止销售 — Orders the sampled merchant to stop selling (seed 四(二))."""

    data: Annotated[StopSaleOrderData, describe("停止销售令内容", "the stop-sale order")]


class DelistingOrderData(NoticeData, kw_only=True, frozen=True):
    """停止销售名单内容 — A list entry: nobody on the platform may sell this trademark + spec/model (seed 四(二))."""

    sample_name: Annotated[ShortText, describe("商品名称", "product name")]
    trademark: Annotated[ShortText, describe("商标", "trademark of the list entry")]
    spec_model: Annotated[ShortText, describe("规格型号", "specification or model of the list entry")]
    hazardous: Annotated[bool, describe("危及人身财产安全", "endangers life or property; always true for a list entry")]
    mandatory_standard: Annotated[
        ShortText, describe("违反的强制性标准", "mandatory standard violated, e.g. GB 6675.2-2014")
    ]
    list_published_at: Annotated[Timestamp, describe("名单公布时间", "when the authority published the list")]
    manufacturer: Annotated[ManufacturerRef | None, describe("标称生产者", "manufacturer as labelled")] = None
    list_url: Annotated[WebUrl | None, describe("名单网址", "where the list is published")] = None
    known_listing_ids: Annotated[
        list[Identifier], describe("已知商品编号", "listings the authority already found; not exhaustive"), _MAX_IDS
    ] = []

    def __post_init__(self) -> None:
        NoticeData.__post_init__(self)
        if not self.hazardous:
            raise FieldValueError("hazardous", "only hazardous products are put on the stop-sale list")


class DelistingOrder(_Envelope, tag="delisting.order", kw_only=True, frozen=True):
    """停止销售名单 — Every merchant stops selling; the platform stops its trading service for it (seed 四(二))."""

    data: Annotated[DelistingOrderData, describe("名单内容", "the list entry")]


class TakedownOrderData(NoticeData, kw_only=True, frozen=True):
    """删除、屏蔽、断开链接内容 — The merchant cannot be reached; which listings and shop to act on (seed 四(二))."""

    merchant: Annotated[MerchantRef, describe("无法联系的经营者", "merchant that cannot be reached")]
    measures: Annotated[
        list[TakedownMeasure], describe("措施", "delete, block or disconnect"), Meta(min_length=1, max_length=3)
    ]
    listing_ids: Annotated[list[Identifier], describe("商品编号", "listings to act on"), _MAX_IDS]
    include_shop: Annotated[bool, describe("含虚拟店铺", "apply the measures to the virtual shop itself")]
    reason: Annotated[LongText, describe("事由", "non-compliance found and why the merchant is unreachable")]
    report_no: Annotated[Identifier | None, describe("检验报告编号", "test report number")] = None

    def __post_init__(self) -> None:
        NoticeData.__post_init__(self)
        _require_unique("measures", list(self.measures))
        if not self.listing_ids and not self.include_shop:
            raise FieldValueError("listing_ids", "name at least one listing or include the shop")


class TakedownOrder(_Envelope, tag="takedown.order", kw_only=True, frozen=True):
    """删除、屏蔽、断开链接 — Orders the platform to delete, block or disconnect (seed 四(二))."""

    data: Annotated[TakedownOrderData, describe("措施令内容", "the takedown order")]


class DeadlineReminderData(NoticeData, kw_only=True, frozen=True):
    """催办内容 — An order's answer deadline lapsed: which order, what was due, by when (seed 五(三))."""

    order_id: Annotated[Identifier, describe("所催办命令编号", "webhook-id of the order whose deadline lapsed")]
    order_type: Annotated[
        Literal["stop_sale.order", "delisting.order", "takedown.order", "records.request", "merchant.identity_request"],
        describe("所催办命令类型", "type of the order or request"),
    ]
    due: Annotated[
        Literal["acknowledgement", "report"],
        describe("逾期事项", "what was due: the acknowledgement or the report of the measures carried out"),
    ]
    due_at: Annotated[Timestamp, describe("原期限", "the deadline that lapsed")]
    lapse: Annotated[
        int,
        describe("第几次逾期", "1 for the first reminder; 2 when the delay is recorded as a finding"),
        Meta(ge=1, le=2),
    ]
    text: Annotated[LongText, describe("催办说明", "the reminder in Chinese, times in Beijing time")]


class DeadlineReminder(_Envelope, tag="deadline.reminder", kw_only=True, frozen=True):
    """催办 — Reminds the platform that an order's deadline lapsed; a second lapse is a 拖延 finding (seed 五(三))."""

    data: Annotated[DeadlineReminderData, describe("催办内容", "the reminder")]


# Authority → authority (delivered by e-mail or other adapters)


class HazardNotificationData(NoticeData, kw_only=True, frozen=True):
    """缺陷商品通报内容 — A hazardous product, reported to the manufacturer's local authority (seed 四(二))."""

    recipient: Annotated[AuthorityRef, describe("被通报机关", "authority of the manufacturer's locality")]
    manufacturer: Annotated[ManufacturerRef, describe("标称生产者", "manufacturer as labelled")]
    product: Annotated[ProductRef, describe("缺陷商品", "hazardous product")]
    hazard_description: Annotated[LongText, describe("危险情形", "how the product endangers life or property")]
    failing_items: Annotated[list[FailingItem], describe("不合格项目", "failing items"), _MAX_ITEMS] = []
    measures_taken: Annotated[
        list[ShortText], describe("已采取措施", "warnings and stop-sale measures already ordered"), _MAX_ITEMS
    ] = []
    report_no: Annotated[Identifier | None, describe("检验报告编号", "test report number")] = None


class HazardNotification(_Envelope, tag="hazard.notification", kw_only=True, frozen=True):
    """通报标称生产者所在地有关行政部门 — Informs the manufacturer's local authority (seed 四(二))."""

    data: Annotated[HazardNotificationData, describe("通报内容", "the hazard notification")]


class ReferralNoticeData(NoticeData, kw_only=True, frozen=True):
    """提请屏蔽或停止接入内容 — A website outside any platform, referred to the telecom authority (seed 四(二))."""

    recipient: Annotated[AuthorityRef, describe("通信管理部门", "communications administration of the website")]
    website_url: Annotated[WebUrl, describe("网站地址", "the website selling the product")]
    icp_filing: Annotated[ShortText | None, describe("ICP备案/许可证号", "ICP filing or licence number")]
    requested_measure: Annotated[
        Literal["block", "stop_access"], describe("提请措施", "temporary blocking or stopping access service")
    ]
    reason: Annotated[LongText, describe("事由", "the unlawful sale to be stopped")]
    report_no: Annotated[Identifier | None, describe("检验报告编号", "test report number")] = None


class ReferralNotice(_Envelope, tag="referral.notice", kw_only=True, frozen=True):
    """提请通信管理部门屏蔽或停止接入 — Asks the telecom authority to block a website (seed 四(二))."""

    data: Annotated[ReferralNoticeData, describe("提请内容", "the referral")]


class CaseTransferData(NoticeData, kw_only=True, frozen=True):
    """案件移交内容 — A platform's violation, handed to the authority where the platform is (seed 四(三))."""

    recipient: Annotated[AuthorityRef, describe("接收机关", "authority of the platform operator's locality")]
    platform: Annotated[PlatformRef, describe("涉案平台", "platform operator concerned")]
    violation_description: Annotated[LongText, describe("违法行为", "the violation found")]
    evidence: Annotated[list[EvidenceRef], describe("证据", "evidence files"), _MAX_EVIDENCE] = []


class CaseTransfer(_Envelope, tag="case.transfer", kw_only=True, frozen=True):
    """移交平台所在地工商部门 — Transfers a platform's violation to the competent authority (seed 四(三))."""

    data: Annotated[CaseTransferData, describe("移交内容", "the case transfer")]


# Platform → gateway


class NoticeAcknowledgedData(ReplyData, kw_only=True, frozen=True):
    """签收内容 — When the platform received the notice."""

    received_at: Annotated[Timestamp, describe("签收时间", "when the platform received the notice")]


class NoticeAcknowledged(_Envelope, tag="notice.acknowledged", kw_only=True, frozen=True):
    """签收 — The platform acknowledges a notice."""

    data: Annotated[NoticeAcknowledgedData, describe("签收内容", "the acknowledgement")]


class OrderConfirmedData(ReplyData, kw_only=True, frozen=True):
    """订单确认内容 — The platform confirms an order's e-documents (seed 三(一))."""

    order_no: Annotated[Identifier, describe("订单编号", "order number")]
    buyer_account: Annotated[ShortText, describe("买家账号", "buyer account that placed it")]
    amount_fen: Annotated[Fen, describe("金额（分）", "amount paid, in fen")]
    paid_at: Annotated[Timestamp, describe("付款时间", "when it was paid")]
    shipped_at: Annotated[Timestamp | None, describe("发货时间", "when it was shipped; null if not shipped")]
    shop_id: Annotated[Identifier, describe("店铺编号", "shop that sold it")]
    listing_snapshot_sha256: Annotated[
        Sha256Hex,
        describe(
            "商品快照SHA-256",
            "SHA-256 of the listing snapshot at order time: of the file's bytes, or, for a JSON snapshot, of "
            "its RFC 8785 (JCS) canonical form as the platform stored it",
        ),
    ]
    listing_id: Annotated[Identifier | None, describe("商品编号", "listing ordered")] = None
    discrepancy: Annotated[
        LongText | None, describe("差异说明", "where the platform's records differ from the notice")
    ] = None


class OrderConfirmed(_Envelope, tag="order.confirmed", kw_only=True, frozen=True):
    """订单确认 — Confirms one order of a sample (seed 三(一))."""

    data: Annotated[OrderConfirmedData, describe("订单确认内容", "the order confirmation")]


class RecordsProvidedData(ReplyData, kw_only=True, frozen=True):
    """交易记录及日志内容 — One chunk of a record set, hashed so that a sender in any language can compute it.

    ``chunk_sha256`` is the lower-case hex SHA-256 of the RFC 8785 (JSON Canonicalization Scheme) form of
    ``{"logs": <logs>, "records": <records>}`` with both arrays exactly as they are sent in this message
    (optional members left out stay out, timestamps are the strings sent, unknown members count; an array
    left out counts as ``[]``). ``set_sha256`` is the SHA-256 of the concatenated ``chunk_sha256`` hex strings
    in ``chunk_index`` order. Digests computed by earlier SDK releases are the same bytes and verify
    unchanged; see :func:`chunk_digest` and :func:`set_digest`.
    """

    upload_id: Annotated[Identifier, describe("上传编号", "id shared by every chunk of one record set")]
    chunk_index: Annotated[int, describe("分片序号", "0-based index of this chunk"), Meta(ge=0, le=99_999)]
    chunk_count: Annotated[int, describe("分片总数", "number of chunks in the set"), Meta(ge=1, le=100_000)]
    chunk_sha256: Annotated[
        Sha256Hex,
        describe(
            "分片摘要",
            'SHA-256 (lower-case hex) of the RFC 8785 JSON Canonicalization Scheme (JCS) form of {"logs": logs, '
            '"records": records}, both arrays exactly as sent in this message: omitted members stay omitted, '
            "timestamps are the strings sent, unknown members are included, a missing array counts as []. "
            "Earlier SDK releases computed the same bytes, so their digests verify unchanged",
        ),
    ]
    set_sha256: Annotated[
        Sha256Hex,
        describe(
            "整体摘要",
            "SHA-256 (lower-case hex) of the ASCII concatenation of every chunk_sha256 in chunk_index order",
        ),
    ]
    records: Annotated[
        list[TransactionRecord], describe("交易记录", "transaction records in this chunk"), Meta(max_length=5_000)
    ] = []
    logs: Annotated[list[LogEntry], describe("日志", "log entries in this chunk"), Meta(max_length=20_000)] = []

    def __post_init__(self) -> None:
        if self.chunk_index >= self.chunk_count:
            raise FieldValueError("chunk_index", f"must be below chunk_count ({self.chunk_count})")


class RecordsProvided(_Envelope, tag="records.provided", kw_only=True, frozen=True):
    """交易记录及日志 — One chunk of the records and logs asked for (seed 三(一)); chunks are resumable."""

    data: Annotated[RecordsProvidedData, describe("记录分片", "the chunk")]


class RecordsUnavailableData(ReplyData, kw_only=True, frozen=True):
    """无法提供说明内容 — Orders of a records request the platform declares it cannot confirm, and why (seed 三(一))."""

    orders: Annotated[
        list[Identifier], describe("无法提供的订单", "order numbers of the request it cannot provide"), _MAX_ORDERS
    ]
    reason: Annotated[LongText, describe("原因", "why the platform cannot provide them")]

    def __post_init__(self) -> None:
        _require_unique("orders", list(self.orders))


class RecordsUnavailable(_Envelope, tag="records.unavailable", kw_only=True, frozen=True):
    """无法提供说明 — Declares, with a reason, the requested orders the platform cannot provide (seed 三(一))."""

    data: Annotated[RecordsUnavailableData, describe("无法提供说明", "the declaration")]


class MerchantIdentityData(ReplyData, kw_only=True, frozen=True):
    """经营者身份内容 — The merchant's real name, address and contact, or the platform's declared inability.

    With ``unable`` false, ``legal_name``, ``address``, ``contact`` and either ``uscc`` or ``id_type`` are
    required. With ``unable`` true, ``unable_reason`` is required and the platform bears the liability (seed 五(一)).
    """

    shop_id: Annotated[Identifier, describe("店铺编号", "shop the identity belongs to")]
    legal_name: Annotated[ShortText | None, describe("真实名称", "legal name")] = None
    address: Annotated[ShortText | None, describe("地址", "address")] = None
    contact: Annotated[ShortText | None, describe("有效联系方式", "effective contact (phone or e-mail)")] = None
    uscc: Annotated[USCC | None, describe("统一社会信用代码", "unified social credit code, for entities")] = None
    id_type: Annotated[
        Literal["resident_id_card", "passport", "hk_macao_permit", "taiwan_permit", "foreign_permanent_residence"]
        | None,
        describe("身份证件类型", "identity document type, for natural persons"),
    ] = None
    id_number: Annotated[ShortText | None, describe("身份证件号码", "identity document number")] = None
    unable: Annotated[bool, describe("无法提供", "the platform cannot provide the identity")] = False
    unable_reason: Annotated[LongText | None, describe("无法提供原因", "why it cannot")] = None

    def __post_init__(self) -> None:
        check_uscc_field("uscc", self.uscc)
        if self.unable:
            if self.unable_reason is None:
                raise FieldValueError("unable_reason", "required when unable is true")
            return
        for field in ("legal_name", "address", "contact"):
            if getattr(self, field) is None:
                raise FieldValueError(field, "required unless unable is true")
        if self.uscc is None and self.id_type is None:
            raise FieldValueError("uscc", "give uscc (entity) or id_type (natural person)")
        if self.id_type is not None and self.id_number is None:
            raise FieldValueError("id_number", "required with id_type")


class MerchantIdentity(_Envelope, tag="merchant.identity", kw_only=True, frozen=True):
    """经营者真实名称、地址、有效联系方式 — Answers a merchant identity request (seed 五(一))."""

    data: Annotated[MerchantIdentityData, describe("经营者身份", "the identity or the inability")]


class TakedownReportedData(ReplyData, kw_only=True, frozen=True):
    """措施执行报告内容 — What the platform did for an order, on which listings and shops, and since when."""

    order_type: Annotated[
        Literal["stop_sale.order", "delisting.order", "takedown.order"],
        describe("所执行命令类型", "type of the order carried out (in_reply_to names the notice)"),
    ]
    measures_taken: Annotated[
        list[ReportedMeasure], describe("已采取措施", "measures carried out"), Meta(min_length=1, max_length=6)
    ]
    listing_ids: Annotated[list[Identifier], describe("受影响商品编号", "listings affected"), _MAX_IDS]
    shop_ids: Annotated[list[Identifier], describe("受影响店铺编号", "shops affected"), _MAX_IDS]
    effective_at: Annotated[Timestamp, describe("生效时间", "when the measures took effect")]
    evidence_sha256: Annotated[
        list[Sha256Hex], describe("证据摘要", "SHA-256 of evidence files (screenshots, logs)"), _MAX_EVIDENCE
    ] = []
    note: Annotated[LongText | None, describe("说明", "further explanation")] = None
    none_found: Annotated[
        bool,
        describe("未发现", "no listing or shop of the order was found; listing_ids and shop_ids are then empty"),
    ] = False

    def __post_init__(self) -> None:
        _require_unique("measures_taken", list(self.measures_taken))
        if self.none_found and (self.listing_ids or self.shop_ids):
            raise FieldValueError("none_found", "must be false when listing_ids or shop_ids name what was acted on")


class TakedownReported(_Envelope, tag="takedown.reported", kw_only=True, frozen=True):
    """措施执行报告 — Reports how an order (stop-sale, delisting, takedown) was carried out."""

    data: Annotated[TakedownReportedData, describe("执行报告", "the report")]


class ReinspectionAppliedData(ReplyData, kw_only=True, frozen=True):
    """复检申请内容 — A merchant's or manufacturer's written re-inspection application, relayed (seed 三(三))."""

    applicant_role: Annotated[Literal["merchant", "manufacturer"], describe("申请人身份", "who applies")]
    applicant_name: Annotated[ShortText, describe("申请人名称", "applicant's name")]
    applied_at: Annotated[Timestamp, describe("申请时间", "when the application was made")]
    application_sha256: Annotated[Sha256Hex, describe("书面申请SHA-256", "SHA-256 of the written application")]
    reason: Annotated[LongText, describe("异议理由", "why the applicant disputes the result")]
    applicant_uscc: Annotated[USCC | None, describe("申请人统一社会信用代码", "applicant's credit code")] = None
    result_received_at: Annotated[
        Timestamp | None, describe("收到结果通知时间", "when the applicant received the result notice")
    ] = None

    def __post_init__(self) -> None:
        check_uscc_field("applicant_uscc", self.applicant_uscc)


class ReinspectionApplied(_Envelope, tag="reinspection.applied", kw_only=True, frozen=True):
    """复检申请 — Relays a written re-inspection application within the window (seed 三(三))."""

    data: Annotated[ReinspectionAppliedData, describe("复检申请", "the application")]


Notice: TypeAlias = (
    SamplingNotice
    | RecordsRequest
    | MerchantIdentityRequest
    | ResultNotice
    | ReinspectionDecision
    | ResultsPublished
    | StopSaleOrder
    | DelistingOrder
    | TakedownOrder
    | DeadlineReminder
    | HazardNotification
    | ReferralNotice
    | CaseTransfer
)
"""Every message the gateway sends: to platforms, and to other authorities."""

Reply: TypeAlias = (
    NoticeAcknowledged
    | OrderConfirmed
    | RecordsProvided
    | RecordsUnavailable
    | MerchantIdentity
    | TakedownReported
    | ReinspectionApplied
)
"""Every message a platform sends to the gateway."""

Message: TypeAlias = Notice | Reply
"""Every message of the contract, in either direction."""
