"""Every kind of document renders to an A4 PDF with real text, signed by the authority, as a person and pyHanko see."""

from __future__ import annotations

import io
import re
import shutil
import subprocess
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from asn1crypto import pem, x509
from pyhanko.pdf_utils.reader import PdfFileReader
from pyhanko.sign.validation import validate_pdf_signature
from pyhanko_certvalidator import ValidationContext

from spotcheck.gateway.delivery.service import Recipient
from spotcheck.gateway.documents.kinds import KINDS, PUBLIC_NOTICE, DocumentSpec, kinds_for
from spotcheck.gateway.documents.profile import AuthorityProfile
from spotcheck.gateway.documents.service import ProducedPdf, addressee_of, produce_pdf
from spotcheck.gateway.documents.templates import DocumentPage, notice_fields
from spotcheck.schemas import Message, message_type_of

ARTIFACTS = Path(__file__).resolve().parents[3] / "test-artifacts"

# What each kind must show besides its title, number and authority: the parties it names.
PARTIES: dict[str, tuple[str, ...]] = {
    "sampling_notice": ("杭州某某电器有限公司", "某某电器旗舰店", "T2026001", "FY-002", "接受备份样品的退货"),
    "sampling_record": ("杭州某某电器有限公司", "T2026001", "199.00", "FY-001"),
    "assistance_request": ("shop-1001", "T2026001"),
    "identity_verification": ("某某电器旗舰店", "shop-1001"),
    "result_notice": ("杭州某某电器有限公司", "佛山某某电器制造有限公司", "ZJ-2026-0456", "泄漏电流", "不合格", "复检"),
    "reinspection_accepted": ("rei_0001", "予以受理"),
    "reinspection_rejected": ("rei_0002", "不予受理", "超过十五日申请期限", "行政复议"),
    "stop_sale_order": ("杭州某某电器有限公司", "立即停止销售", "负责退货", "ZJ-2026-0456"),
    "delisting_notice": ("GB4706.1-2005", "美的", "MK-HJ1705", "佛山某某电器制造有限公司"),
    "takedown_order": ("杭州某某电器有限公司", "删除、断开链接", "虚拟店铺"),
    "public_notice": ("杭州某某电器有限公司", "检验结果通知书", "公告通知"),
    "referral_letter": ("浙江省通信管理局", "https://shop.example.cn", "屏蔽"),
    "hazard_letter": ("佛山市禅城区市场监督管理局", "佛山某某电器制造有限公司", "泄漏电流"),
    "transfer_letter": ("杭州市市场监督管理局", "某某网络有限公司", "未按要求停止提供交易服务"),
}
DEADLINE_KINDS = {
    "assistance_request",
    "identity_verification",
    "result_notice",
    "stop_sale_order",
    "delisting_notice",
    "takedown_order",
    "public_notice",
}


AUTHORITY = "浙江省市场监督管理局"
DUE_BEIJING = "2026-12-14 23:59"
ISSUED = datetime(2026, 12, 7, 2, 30, tzinfo=UTC)


def _notice_of(samples: Any, kind: str) -> Message:
    notices = samples.notices()
    if kind == "sampling_record":
        return notices["sampling_notice"]
    if kind == "public_notice":
        return notices["result_notice"]
    return notices[kind]


def _produce(spec: DocumentSpec, message: Message, profile: AuthorityProfile, seq: int = 7) -> tuple[str, ProducedPdf]:
    number = f"{profile.prefix}{spec.code}〔2026〕{seq}号"
    served = [{"title": "检验结果通知书", "number": "浙市监检结〔2026〕3号"}] if spec is PUBLIC_NOTICE else []
    platform = Recipient("platform", "tmall-test", "某某网络有限公司", "webhook", {"platform_id": "tmall-test"})
    addressee = addressee_of(message, platform)
    page = DocumentPage(
        spec=spec,
        authority=AUTHORITY,
        number=number,
        addressee=addressee,
        case_id="case_test_0001",
        message_type=message_type_of(message),
        issued_at=ISSUED,
        seal=profile.seal,
        served=served,
    )
    return number, produce_pdf(page, notice_fields(message.data), profile)


def _poppler(tool: str, *args: str) -> str:
    """Run a poppler-utils tool (Debian's ``poppler-utils``, installed by ``make browser-deps``)."""
    executable = shutil.which(tool)
    assert executable is not None, f"{tool} is missing: apt-get install poppler-utils"
    done = subprocess.run([executable, *args], capture_output=True, check=True)  # noqa: S603 - fixed arguments
    return done.stdout.decode("utf-8")


def _text(pdf: bytes, tmp_path: Path) -> str:
    path = tmp_path / "document.pdf"
    path.write_bytes(pdf)
    return re.sub(r"\s+", "", _poppler("pdftotext", "-enc", "UTF-8", str(path), "-"))


def _trust(profile_dir: Path) -> ValidationContext:
    certificate = x509.Certificate.load(pem.unarmor((profile_dir / "cert.pem").read_bytes())[2])
    return ValidationContext(trust_roots=[certificate])


def test_the_message_kinds_map_onto_every_document_kind(samples: Any) -> None:
    notices = samples.notices()
    made = {spec.kind for message in notices.values() for spec in kinds_for(message, by_announcement=True)}
    assert made == set(KINDS)
    assert [s.kind for s in kinds_for(notices["sampling_notice"])] == ["sampling_notice", "sampling_record"]


@pytest.mark.parametrize("kind", sorted(KINDS))
def test_every_kind_renders_with_its_number_parties_basis_and_deadline_in_beijing_time(
    kind: str, profile: AuthorityProfile, tmp_path: Path, samples: Any
) -> None:
    spec = KINDS[kind]
    number, produced = _produce(spec, _notice_of(samples, kind), profile)
    assert produced.pdf.startswith(b"%PDF-")
    text = _text(produced.pdf, tmp_path)
    assert number in text
    assert re.sub(r"\s+", "", spec.title) in text
    assert "浙江省市场监督管理局" in text
    assert spec.basis.replace(" ", "") in text
    assert "2026年12月7日" in text  # the date under the signature, in Beijing
    for party in PARTIES[kind]:
        assert party in text, (kind, party)
    if kind in DEADLINE_KINDS:
        assert DUE_BEIJING.replace(" ", "") in text, kind


def test_the_signature_validates_and_fails_after_one_byte_changes(
    profile: AuthorityProfile, tmp_path: Path, samples: Any
) -> None:
    _, produced = _produce(KINDS["result_notice"], _notice_of(samples, "result_notice"), profile)
    trust = _trust(tmp_path / "documents" / "authorities" / "auth_zj")
    signature = PdfFileReader(io.BytesIO(produced.pdf)).embedded_signatures[0]
    status = validate_pdf_signature(signature, trust)
    assert (status.intact, status.valid, status.trusted, status.bottom_line) == (True, True, True, True)
    assert "浙江省市场监督管理局" in status.signing_cert.subject.human_friendly
    assert signature.sig_object["/SubFilter"] == "/ETSI.CAdES.detached"  # PAdES
    assert "浙江省市场监督管理局" in produced.signer

    tampered = bytearray(produced.pdf)
    where = produced.pdf.index(b"WeasyPrint")  # inside the signed byte range (the document's /Producer)
    tampered[where] ^= 0x01
    broken = PdfFileReader(io.BytesIO(bytes(tampered))).embedded_signatures[0]
    after = validate_pdf_signature(broken, trust)
    assert (after.intact, after.bottom_line) == (False, False)


def test_a_seal_image_is_placed_in_the_signature_block(profile: AuthorityProfile, tmp_path: Path, samples: Any) -> None:
    folder = tmp_path / "documents" / "authorities" / "auth_zj"
    shutil.copy(Path(__file__).parent / "seal.png", folder / "seal.png")
    sealed = AuthorityProfile.for_authority(tmp_path, "auth_zj", AUTHORITY)
    assert sealed.seal is not None and sealed.seal.startswith("data:image/png;base64,")
    _, produced = _produce(KINDS["takedown_order"], _notice_of(samples, "takedown_order"), sealed)
    path = tmp_path / "sealed.pdf"
    path.write_bytes(produced.pdf)
    images = _poppler("pdfimages", "-list", str(path))
    kinds = [line.split()[2] for line in images.strip().splitlines()[2:]]
    assert kinds == ["image", "smask"]  # the seal, with its transparency

    ARTIFACTS.mkdir(exist_ok=True)
    # A person looks at this page: GB/T 9704 layout, red masthead, 文号, title, body, seal over the signature.
    png = str(ARTIFACTS / "document-page")
    _poppler("pdftoppm", "-png", "-r", "80", "-f", "1", "-l", "1", "-singlefile", str(path), png)
    assert (ARTIFACTS / "document-page.png").stat().st_size > 10_000
