"""Fixtures of the schema tests: one realistic message of every type, with Chinese data."""

from __future__ import annotations

from datetime import date, datetime, timedelta, timezone

import pytest

from spotcheck.schemas import (
    MESSAGE_TYPES,
    AuthorityRef,
    CaseTransfer,
    CaseTransferData,
    DeadlineReminder,
    DeadlineReminderData,
    DelistingOrder,
    DelistingOrderData,
    EvidenceRef,
    FailingItem,
    HazardNotification,
    HazardNotificationData,
    LogEntry,
    ManufacturerRef,
    MerchantIdentity,
    MerchantIdentityData,
    MerchantIdentityRequest,
    MerchantIdentityRequestData,
    MerchantRef,
    Message,
    NoticeAcknowledged,
    NoticeAcknowledgedData,
    OrderConfirmed,
    OrderConfirmedData,
    OrderRef,
    PlatformRef,
    ProductRef,
    RecordsProvided,
    RecordsProvidedData,
    RecordsRequest,
    RecordsRequestData,
    RecordsUnavailable,
    RecordsUnavailableData,
    ReferralNotice,
    ReferralNoticeData,
    ReinspectionApplied,
    ReinspectionAppliedData,
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
    TakedownReported,
    TakedownReportedData,
    TransactionRecord,
    chunk_digest,
    set_digest,
    uscc_check_character,
)

CST = timezone(timedelta(hours=8))
SHA_A = "9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08"
SHA_B = "60303ae22b998861bce3b28f33eec1be758a213c86c93c076dbe9f558c11c752"
ALIBABA_USCC = "91330100799655058B"  # published: Alibaba (China)
TENCENT_USCC = "9144030071526726XG"  # published: Tencent Technology (Shenzhen)
# The case's parties are fictional; their codes get a correct check character from the published algorithm.
PLATFORM_USCC = "91330110MA2H12345" + uscc_check_character("91330110MA2H12345")
MERCHANT_USCC = "91330782MA2EC1234" + uscc_check_character("91330782MA2EC1234")
CASE_ID = "ZJ-2025-0001"
NOTICE_ID = "msg_2KWPBgLlAfxdpx2AI54pPJ85f4W"


def at(day: int, hour: int = 10, minute: int = 0) -> datetime:
    """A time in November 2025, China Standard Time."""
    return datetime(2025, 11, day, hour, minute, tzinfo=CST)


ZJ_AMR = AuthorityRef(code="330000", name="浙江省市场监督管理局", level="provincial")
GD_AMR = AuthorityRef(code="440300", name="深圳市市场监督管理局", level="municipal")
PLATFORM = PlatformRef(platform_id="tmall", name="浙江天猫网络有限公司", uscc=PLATFORM_USCC)
MERCHANT = MerchantRef(
    shop_id="shop-10086",
    shop_name="暖暖童装旗舰店",
    kind="registered_entity",
    legal_name="义乌市暖暖服饰有限公司",
    uscc=MERCHANT_USCC,
    registration_division="330782",
    address="浙江省义乌市稠城街道工人北路1号",
    contact="0579-85550000",
)
MANUFACTURER = ManufacturerRef(
    name="广东小白兔制衣厂", address="广东省东莞市虎门镇龙眼工业区", uscc=None, division="441900"
)
PRODUCT = ProductRef(
    sample_name="儿童羽绒服",
    trademark="暖暖",
    spec_model="110cm",
    production_date=date(2025, 9, 1),
    batch_no="B20250901",
    listing_id="item-620000001",
    listing_url="https://detail.tmall.com/item.htm?id=620000001",
)
FAILING = FailingItem(item="含绒量", standard="GB/T 14272-2021", required="≥50%", measured="32.5%")
RECORD = TransactionRecord(
    order_no="T20251101-0001",
    shop_id="shop-10086",
    item_title="暖暖儿童羽绒服 冬季加厚 110cm",
    quantity=2,
    amount_fen=39800,
    status="completed",
    created_at=at(1, 9),
    listing_id="item-620000001",
    buyer_account="买样人***01",
    paid_at=at(1, 9, 5),
    shipped_at=at(2, 14),
    logistics_no="SF1234567890",
)
LOG = LogEntry(
    at=at(1, 9, 5),
    actor="buyer:买样人***01",
    action="order.pay",
    subject="T20251101-0001",
    source_ip="203.0.113.7",
    detail="支付宝付款成功",
)


def build_samples() -> dict[str, Message]:
    """Return one realistic message per type, keyed by type string."""
    digest = chunk_digest([RECORD], [LOG])
    messages: list[Message] = [
        SamplingNotice(
            timestamp=at(5),
            data=SamplingNoticeData(
                case_id=CASE_ID,
                authority=ZJ_AMR,
                issued_at=at(5),
                respond_by=at(7, 17),
                platform=PLATFORM,
                merchant=MERCHANT,
                product=PRODUCT,
                orders=[OrderRef(order_no="T20251101-0001", ordered_at=at(1, 9), amount_fen=39800, quantity=2)],
                sample_seal_no="ZJ-SEAL-0001",
                backup_seal_no="ZJ-SEAL-0002",
                sealed_at=at(4, 15),
                backup_return_duty="被抽样经营者应当接受备份样品的退货，并在检验结论作出后按约定办理退款。",
                testing_institution="浙江省质量检测科学研究院",
                evidence=[
                    EvidenceRef(
                        sha256=SHA_A,
                        media_type="video/mp4",
                        size_bytes=52_428_800,
                        step="unpacking",
                        description="拆包查验录像",
                    ),
                    EvidenceRef(
                        sha256=SHA_B,
                        media_type="image/png",
                        size_bytes=204_800,
                        step="purchase",
                        description="下单页面截图",
                    ),
                ],
            ),
        ),
        RecordsRequest(
            timestamp=at(5),
            data=RecordsRequestData(
                case_id=CASE_ID,
                authority=ZJ_AMR,
                issued_at=at(5),
                respond_by=at(7, 17),
                shop_id="shop-10086",
                orders=["T20251101-0001"],
                records_from=at(1, 0),
                records_until=at(5, 0),
                needed=["order_documents", "transaction_records", "logs"],
                note="请确认订单电子单据并提供上述期间的交易记录及日志。",
            ),
        ),
        MerchantIdentityRequest(
            timestamp=at(5),
            data=MerchantIdentityRequestData(
                case_id=CASE_ID,
                authority=ZJ_AMR,
                issued_at=at(5),
                shop_id="shop-10086",
                shop_name="暖暖童装旗舰店",
                listing_ids=["item-620000001"],
                purpose="核实被抽样经营者的真实名称、地址和有效联系方式。",
            ),
        ),
        ResultNotice(
            timestamp=at(20),
            data=ResultNoticeData(
                case_id=CASE_ID,
                authority=ZJ_AMR,
                issued_at=at(5),
                addressee_role="platform",
                merchant=MERCHANT,
                product=PRODUCT,
                conclusion="fail",
                report_no="ZJQI-2025-W-0123",
                testing_institution="浙江省质量检测科学研究院",
                result_received_at=at(18),
                failing_items=[FAILING],
                manufacturer=MANUFACTURER,
                reinspection_deadline=at(25, 23, 59),
                report_sha256=SHA_A,
            ),
        ),
        ReinspectionDecision(
            timestamp=at(27),
            data=ReinspectionDecisionData(
                case_id=CASE_ID,
                authority=ZJ_AMR,
                issued_at=at(5),
                application_id="RI-2025-0007",
                decision="accepted",
                reason="申请在法定期限内提出，材料齐全，予以受理。",
            ),
        ),
        ResultsPublished(
            timestamp=at(28),
            data=ResultsPublishedData(
                case_id=CASE_ID,
                authority=ZJ_AMR,
                issued_at=at(5),
                sample_name="儿童羽绒服",
                merchant_name="义乌市暖暖服饰有限公司",
                trademark="暖暖",
                manufacturer_name="广东小白兔制衣厂",
                spec_model="110cm",
                production_date=date(2025, 9, 1),
                main_failing_items=["含绒量"],
                conclusion="fail",
                platform_name="浙江天猫网络有限公司",
                published_url="https://zjamr.zj.gov.cn/art/2025/11/28/art_1228969894_0001.html",
                published_at=at(28, 9),
                shop_id="shop-10086",
                report_no="ZJQI-2025-W-0123",
            ),
        ),
        StopSaleOrder(
            timestamp=at(28),
            data=StopSaleOrderData(
                case_id=CASE_ID,
                authority=ZJ_AMR,
                issued_at=at(5),
                respond_by=at(30, 17),
                merchant=MERCHANT,
                product=PRODUCT,
                hazardous=False,
                consumer_returns_duty="消费者要求退货的，经营者应当负责退货。",
                report_no="ZJQI-2025-W-0123",
            ),
        ),
        DelistingOrder(
            timestamp=at(28),
            data=DelistingOrderData(
                case_id=CASE_ID,
                authority=ZJ_AMR,
                issued_at=at(5),
                respond_by=at(30, 17),
                sample_name="儿童电动玩具车",
                trademark="乐乐",
                spec_model="LL-6688",
                hazardous=True,
                mandatory_standard="GB 6675.2-2014",
                list_published_at=at(28, 9),
                manufacturer=MANUFACTURER,
                list_url="https://zjamr.zj.gov.cn/art/2025/11/28/art_1228969894_0002.html",
                known_listing_ids=["item-630000001", "item-630000002"],
            ),
        ),
        TakedownOrder(
            timestamp=at(28),
            data=TakedownOrderData(
                case_id=CASE_ID,
                authority=ZJ_AMR,
                issued_at=at(5),
                respond_by=at(30, 17),
                merchant=MERCHANT,
                measures=["delete", "block"],
                listing_ids=["item-620000001"],
                include_shop=True,
                reason="经营者登记地址查无此人，电话无法接通，商品含绒量不合格。",
            ),
        ),
        DeadlineReminder(
            timestamp=at(30),
            data=DeadlineReminderData(
                case_id=CASE_ID,
                authority=ZJ_AMR,
                issued_at=at(30),
                order_id=NOTICE_ID,
                order_type="takedown.order",
                due="report",
                due_at=at(29, 23, 59),
                lapse=1,
                text="请立即报告删除、屏蔽、断开链接等措施的执行情况（北京时间 2026-12-22 23:59 前）。",
            ),
        ),
        HazardNotification(
            timestamp=at(28),
            data=HazardNotificationData(
                case_id=CASE_ID,
                authority=ZJ_AMR,
                issued_at=at(5),
                recipient=AuthorityRef(code="441900", name="东莞市市场监督管理局", level="municipal"),
                manufacturer=MANUFACTURER,
                product=PRODUCT,
                hazard_description="充电器温升超标，存在起火危险。",
                failing_items=[FAILING],
                measures_taken=["责令停止销售", "发布消费警示"],
            ),
        ),
        ReferralNotice(
            timestamp=at(28),
            data=ReferralNoticeData(
                case_id=CASE_ID,
                authority=ZJ_AMR,
                issued_at=at(5),
                recipient=AuthorityRef(code="330000", name="浙江省通信管理局", level="provincial"),
                website_url="http://www.nuannuan-shop.example.cn/",
                icp_filing="浙ICP备12345678号-1",
                requested_measure="block",
                reason="该网站销售经检验不合格的儿童羽绒服，经营者无法联系。",
            ),
        ),
        CaseTransfer(
            timestamp=at(28),
            data=CaseTransferData(
                case_id=CASE_ID,
                authority=ZJ_AMR,
                issued_at=at(5),
                recipient=GD_AMR,
                platform=PlatformRef(platform_id="jd", name="北京京东叁佰陆拾度电子商务有限公司"),
                violation_description="第三方交易平台经营者拒绝提供交易记录及日志。",
                evidence=[
                    EvidenceRef(
                        sha256=SHA_B,
                        media_type="application/pdf",
                        size_bytes=1024,
                        step="other",
                        description="协查函送达回证",
                    )
                ],
            ),
        ),
        NoticeAcknowledged(
            timestamp=at(5, 10, 1),
            data=NoticeAcknowledgedData(
                case_id=CASE_ID, in_reply_to=NOTICE_ID, platform_id="tmall", received_at=at(5, 10, 1)
            ),
        ),
        OrderConfirmed(
            timestamp=at(6),
            data=OrderConfirmedData(
                case_id=CASE_ID,
                in_reply_to=NOTICE_ID,
                platform_id="tmall",
                order_no="T20251101-0001",
                buyer_account="买样人***01",
                amount_fen=39800,
                paid_at=at(1, 9, 5),
                shipped_at=at(2, 14),
                shop_id="shop-10086",
                listing_snapshot_sha256=SHA_B,
                listing_id="item-620000001",
            ),
        ),
        RecordsProvided(
            timestamp=at(6),
            data=RecordsProvidedData(
                case_id=CASE_ID,
                in_reply_to=NOTICE_ID,
                platform_id="tmall",
                upload_id="up-0001",
                chunk_index=0,
                chunk_count=1,
                chunk_sha256=digest,
                set_sha256=set_digest([digest]),
                records=[RECORD],
                logs=[LOG],
            ),
        ),
        RecordsUnavailable(
            timestamp=at(6),
            data=RecordsUnavailableData(
                case_id=CASE_ID,
                in_reply_to=NOTICE_ID,
                platform_id="tmall",
                orders=["T202611020001"],
                reason="该订单已超过平台保存期限，无法提供。",
            ),
        ),
        MerchantIdentity(
            timestamp=at(6),
            data=MerchantIdentityData(
                case_id=CASE_ID,
                in_reply_to=NOTICE_ID,
                platform_id="tmall",
                shop_id="shop-10086",
                legal_name="义乌市暖暖服饰有限公司",
                address="浙江省义乌市稠城街道工人北路1号",
                contact="0579-85550000",
                uscc=MERCHANT_USCC,
            ),
        ),
        TakedownReported(
            timestamp=at(29),
            data=TakedownReportedData(
                case_id=CASE_ID,
                in_reply_to=NOTICE_ID,
                platform_id="tmall",
                order_type="takedown.order",
                measures_taken=["delete", "block"],
                listing_ids=["item-620000001"],
                shop_ids=["shop-10086"],
                effective_at=at(29, 9, 30),
                evidence_sha256=[SHA_A],
            ),
        ),
        ReinspectionApplied(
            timestamp=at(22),
            data=ReinspectionAppliedData(
                case_id=CASE_ID,
                in_reply_to=NOTICE_ID,
                platform_id="tmall",
                applicant_role="merchant",
                applicant_name="义乌市暖暖服饰有限公司",
                applied_at=at(22, 9),
                application_sha256=SHA_A,
                reason="对含绒量检测方法有异议，申请以备份样品复检。",
                applicant_uscc=MERCHANT_USCC,
                result_received_at=at(20, 11),
            ),
        ),
    ]
    samples = {str(type(m).__struct_config__.tag): m for m in messages}
    assert set(samples) == set(MESSAGE_TYPES)
    return samples


@pytest.fixture(scope="session")
def samples() -> dict[str, Message]:
    """One realistic message per type, keyed by type string."""
    return build_samples()
