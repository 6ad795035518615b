"""Document fixtures: one wire notice of every kind that has a document, and a development signing profile."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from spotcheck.gateway.documents.profile import AuthorityProfile
from spotcheck.gateway.documents.sign import create_development_pair
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
    ManufacturerRef,
    MerchantIdentityRequest,
    MerchantIdentityRequestData,
    MerchantRef,
    Message,
    OrderRef,
    PlatformRef,
    ProductRef,
    RecordsRequest,
    RecordsRequestData,
    ReferralNotice,
    ReferralNoticeData,
    ReinspectionDecision,
    ReinspectionDecisionData,
    ResultNotice,
    ResultNoticeData,
    SamplingNotice,
    SamplingNoticeData,
    StopSaleOrder,
    StopSaleOrderData,
    TakedownOrder,
    TakedownOrderData,
)

ISSUED = datetime(2026, 12, 7, 2, 30, tzinfo=UTC)
DUE = datetime(2026, 12, 14, 15, 59, tzinfo=UTC)
"""The answer deadline: 2026-12-14 23:59 in Beijing."""
DUE_BEIJING = "2026-12-14 23:59"
AUTHORITY = AuthorityRef(code="330000", name="浙江省市场监督管理局", level="provincial")
MERCHANT = MerchantRef(
    shop_id="shop-1001", shop_name="某某电器旗舰店", kind="registered_entity", legal_name="杭州某某电器有限公司"
)
PLATFORM = PlatformRef(platform_id="tmall-test", name="某某网络有限公司")
PRODUCT = ProductRef(sample_name="电热水壶", trademark="美的", spec_model="MK-HJ1705")
MAKER = ManufacturerRef(name="佛山某某电器制造有限公司")
ORDER = OrderRef(order_no="T2026001", ordered_at=ISSUED - timedelta(days=20), amount_fen=19900)
LEAKAGE = FailingItem(item="泄漏电流", standard="GB 4706.1-2005", required="≤0.75 mA", measured="2.1 mA")
TELECOM = AuthorityRef(code="330000", name="浙江省通信管理局", level="provincial")
FOSHAN = AuthorityRef(code="440604", name="佛山市禅城区市场监督管理局", level="county")
HEAD = {"case_id": "case_test_0001", "authority": AUTHORITY, "issued_at": ISSUED}


def every_notice() -> dict[str, Message]:
    """One notice per document kind (the 公告 is tested through a notice served by announcement)."""
    return {
        "sampling_notice": SamplingNotice(
            timestamp=ISSUED,
            data=SamplingNoticeData(
                **HEAD,
                platform=PLATFORM,
                merchant=MERCHANT,
                product=PRODUCT,
                orders=[ORDER],
                sample_seal_no="FY-001",
                backup_seal_no="FY-002",
                sealed_at=ISSUED - timedelta(days=15),
                backup_return_duty="被抽样网络商品经营者应当接受备份样品的退货。 The sampled merchant must accept it.",
                evidence=[
                    EvidenceRef(
                        sha256="ab" * 32, media_type="video/mp4", size_bytes=1, step="sealing", description="封样录像"
                    )
                ],
            ),
        ),
        "assistance_request": RecordsRequest(
            timestamp=ISSUED,
            data=RecordsRequestData(
                **HEAD,
                respond_by=DUE,
                shop_id="shop-1001",
                orders=["T2026001"],
                records_from=ISSUED - timedelta(days=30),
                records_until=ISSUED,
                needed=["order_documents", "transaction_records", "logs"],
                note="订单电子单据；交易记录",
            ),
        ),
        "identity_verification": MerchantIdentityRequest(
            timestamp=ISSUED,
            data=MerchantIdentityRequestData(
                **HEAD,
                respond_by=DUE,
                shop_id="shop-1001",
                shop_name="某某电器旗舰店",
                listing_ids=["L-88"],
                purpose="网络商品抽检结果通知",
            ),
        ),
        "result_notice": ResultNotice(
            timestamp=ISSUED,
            data=ResultNoticeData(
                **HEAD,
                addressee_role="merchant",
                merchant=MERCHANT,
                product=PRODUCT,
                conclusion="fail",
                report_no="ZJ-2026-0456",
                testing_institution="浙江省质检院",
                result_received_at=ISSUED - timedelta(days=1),
                failing_items=[LEAKAGE],
                manufacturer=MAKER,
                reinspection_deadline=DUE,
            ),
        ),
        "reinspection_accepted": ReinspectionDecision(
            timestamp=ISSUED,
            data=ReinspectionDecisionData(
                **HEAD, application_id="rei_0001", decision="accepted", reason="申请符合规定"
            ),
        ),
        "reinspection_rejected": ReinspectionDecision(
            timestamp=ISSUED,
            data=ReinspectionDecisionData(
                **HEAD, application_id="rei_0002", decision="rejected", reason="超过十五日申请期限"
            ),
        ),
        "stop_sale_order": StopSaleOrder(
            timestamp=ISSUED,
            data=StopSaleOrderData(
                **HEAD,
                respond_by=DUE,
                merchant=MERCHANT,
                product=PRODUCT,
                hazardous=True,
                consumer_returns_duty="消费者要求退货的，经营者应当负责退货。 Where consumers ask, take it back.",
                warning_measures=["在商品页面发布警示"],
                report_no="ZJ-2026-0456",
            ),
        ),
        "delisting_notice": DelistingOrder(
            timestamp=ISSUED,
            data=DelistingOrderData(
                **HEAD,
                respond_by=DUE,
                sample_name="电热水壶",
                trademark="美的",
                spec_model="MK-HJ1705",
                hazardous=True,
                mandatory_standard="GB 4706.1-2005",
                list_published_at=ISSUED,
                manufacturer=MAKER,
                known_listing_ids=["L-88"],
            ),
        ),
        "takedown_order": TakedownOrder(
            timestamp=ISSUED,
            data=TakedownOrderData(
                **HEAD,
                respond_by=DUE,
                merchant=MERCHANT,
                measures=["delete", "disconnect"],
                listing_ids=["L-88"],
                include_shop=True,
                reason="抽检不合格且经营者无法联系 (non-compliant, merchant unreachable)",
                report_no="ZJ-2026-0456",
            ),
        ),
        "referral_letter": ReferralNotice(
            timestamp=ISSUED,
            data=ReferralNoticeData(
                **HEAD,
                recipient=TELECOM,
                website_url="https://shop.example.cn",
                icp_filing="浙ICP备12345678号",
                requested_measure="block",
                reason="网络销售不合格商品 (selling non-compliant goods online)",
                report_no="ZJ-2026-0456",
            ),
        ),
        "hazard_letter": HazardNotification(
            timestamp=ISSUED,
            data=HazardNotificationData(
                **HEAD,
                recipient=FOSHAN,
                manufacturer=MAKER,
                product=PRODUCT,
                hazard_description="检验不合格且危及人身、财产安全 (endangers life or property)",
                failing_items=[LEAKAGE],
                measures_taken=["责令停止销售"],
                report_no="ZJ-2026-0456",
            ),
        ),
        "transfer_letter": CaseTransfer(
            timestamp=ISSUED,
            data=CaseTransferData(
                **HEAD,
                recipient=AuthorityRef(code="330100", name="杭州市市场监督管理局", level="municipal"),
                platform=PLATFORM,
                violation_description="未按要求停止提供交易服务",
            ),
        ),
    }


@dataclass(frozen=True)
class Samples:
    """The sample notices and the facts the tests look for in their documents."""

    authority: AuthorityRef = AUTHORITY
    issued: datetime = ISSUED
    due_beijing: str = DUE_BEIJING

    def notices(self) -> dict[str, Message]:
        """One notice per document kind."""
        return every_notice()


@pytest.fixture
def samples() -> Samples:
    """The sample notices (see :func:`every_notice`)."""
    return Samples()


@pytest.fixture
def profile(tmp_path: Path) -> AuthorityProfile:
    """A development profile (self-signed pair made on first use) with the prefix 浙市监."""
    folder = tmp_path / "documents" / "authorities" / "auth_zj"
    folder.mkdir(parents=True)
    (folder / "profile.json").write_text('{"prefix": "浙市监"}', encoding="utf-8")
    create_development_pair(folder, authority_name=AUTHORITY.name)
    return AuthorityProfile.for_authority(tmp_path, "auth_zj", AUTHORITY.name)
