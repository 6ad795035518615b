"""The official documents (文书) of the opinion's 参考式样, and which notice carries which of them.

Each kind has its title, the code its 文号 carries after the authority's prefix (``浙市监`` + ``网抽通`` →
``浙市监网抽通〔2026〕12号``), the clause of the opinion it rests on, its template, and the fields of the notice
its template cannot do without (a missing one is refused naming the field, before any number is taken).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Final

from spotcheck.gateway.legal import basis
from spotcheck.schemas import DocumentKind, Message, ReinspectionDecision, message_type_of

__all__ = ["KINDS", "PUBLIC_NOTICE", "DocumentSpec", "kinds_for"]


@dataclass(frozen=True)
class DocumentSpec:
    """What one kind of document is: title, 文号 code, legal basis, template and the notice fields it needs."""

    kind: DocumentKind
    title: str
    code: str
    clause: str
    requires: tuple[str, ...] = ()

    @property
    def basis(self) -> str:
        """The legal basis the document states, e.g. ``工商消字〔2015〕189号 三(一)``."""
        return basis(self.clause)

    @property
    def template(self) -> str:
        """The Jinja2 template that lays out its body."""
        return f"{self.kind}.html"


_SPECS: Final = (
    DocumentSpec("sampling_notice", "网络商品质量抽检通知书", "网抽通", "三(一)", ("orders", "sample_seal_no")),
    DocumentSpec("sampling_record", "买样及封样记录", "网抽记", "三(一)", ("orders", "sealed_at")),
    DocumentSpec("assistance_request", "协助调查通知书", "协查", "三(一)", ("respond_by",)),
    DocumentSpec("identity_verification", "经营者身份信息核验通知书", "核验", "五(一)", ("respond_by",)),
    DocumentSpec("result_notice", "检验结果通知书", "检结", "三(二)", ("report_no", "conclusion")),
    DocumentSpec("reinspection_accepted", "复检申请受理通知书", "复受", "三(三)"),
    DocumentSpec("reinspection_rejected", "复检申请不予受理通知书", "复不受", "三(三)", ("reason",)),
    DocumentSpec("stop_sale_order", "责令停止销售通知书", "责停", "四(二)", ("report_no", "respond_by")),
    DocumentSpec("delisting_notice", "停止销售名单通知", "停售", "四(二)", ("respond_by",)),
    DocumentSpec("takedown_order", "删除、屏蔽、断开链接通知书", "断链", "四(二)", ("respond_by",)),
    DocumentSpec("public_notice", "公告", "公告", "三(二)"),
    DocumentSpec("referral_letter", "提请函", "提请", "四(二)", ("report_no",)),
    DocumentSpec("hazard_letter", "通报函", "通报", "四(二)", ("report_no",)),
    DocumentSpec("transfer_letter", "移送函", "移送", "四(三)", ("violation_description",)),
)

KINDS: Final[dict[str, DocumentSpec]] = {spec.kind: spec for spec in _SPECS}
"""Every kind of document, by its ``kind`` (the wire contract's ``DocumentKind``)."""

PUBLIC_NOTICE: Final = KINDS["public_notice"]
"""公告: added to a notice served by announcement on the regulator's site (公告送达, 三(二))."""

_BY_MESSAGE: Final[dict[str, tuple[DocumentSpec, ...]]] = {
    "sampling.notice": (KINDS["sampling_notice"], KINDS["sampling_record"]),
    "records.request": (KINDS["assistance_request"],),
    "merchant.identity_request": (KINDS["identity_verification"],),
    "result.notice": (KINDS["result_notice"],),
    "stop_sale.order": (KINDS["stop_sale_order"],),
    "delisting.order": (KINDS["delisting_notice"],),
    "takedown.order": (KINDS["takedown_order"],),
    "referral.notice": (KINDS["referral_letter"],),
    "hazard.notification": (KINDS["hazard_letter"],),
    "case.transfer": (KINDS["transfer_letter"],),
}


def kinds_for(message: Message, *, by_announcement: bool = False) -> tuple[DocumentSpec, ...]:
    """The documents a notice carries: none for a message without one (e.g. the publication feed).

    A re-inspection decision has a document when it accepts or rejects an application; a notice served by
    announcement also carries the 公告 itself.
    """
    if isinstance(message, ReinspectionDecision):
        decision = message.data.decision
        specs: tuple[DocumentSpec, ...] = (
            (KINDS[f"reinspection_{decision}"],) if decision in {"accepted", "rejected"} else ()
        )
    else:
        specs = _BY_MESSAGE.get(message_type_of(message), ())
    if by_announcement and specs:
        specs = (*specs, PUBLIC_NOTICE)
    return specs
