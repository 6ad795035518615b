"""Human-readable Chinese renderings of a notice, for e-mail and public announcements.

The machine-readable body travels unchanged beside the text (as an attachment or stored with the announcement);
the text only says what the message is, which case it concerns, and the duties the opinion ties to it.
"""

from __future__ import annotations

import contextlib
from datetime import datetime, timedelta, timezone
from typing import TYPE_CHECKING, Final

import msgspec

if TYPE_CHECKING:
    from spotcheck.adapters._base import OutgoingMessage

__all__ = [
    "CHINA_STANDARD_TIME",
    "announcement_text",
    "announcement_title",
    "email_subject",
    "email_text",
    "format_china_time",
    "title_of",
]

# Mainland China has kept UTC+8 without daylight saving since 1991, so a fixed offset needs no tz database.
CHINA_STANDARD_TIME: Final = timezone(timedelta(hours=8), "CST")

DEFAULT_AUTHORITY: Final = "市场监督管理部门"

# The message catalogue of DESIGN.md; an unknown type is shown by its code.
_TITLES: Final = {
    "sampling.notice": "抽样通知",
    "records.request": "交易记录协查",
    "merchant.identity_request": "经营者信息核验",
    "result.notice": "检验结果通知",
    "reinspection.decision": "复检受理/结论",
    "results.published": "抽检结果公布",
    "stop_sale.order": "责令停止销售",
    "delisting.order": "停止销售名单",
    "takedown.order": "删除、屏蔽、断开链接",
    "deadline.reminder": "逾期催办",
    "hazard.notification": "缺陷商品通报",
    "referral.notice": "提请屏蔽或停止接入",
    "case.transfer": "案件移交",
}

# The duty the opinion (工商消字〔2015〕189号) attaches to each notice, restated for readers without an integration.
_DUTIES: Final = {
    "sampling.notice": "请依法履行接受备份样品退货的义务。",
    "result.notice": (
        "对检验结果有异议的，可自收到本通知（或自官方网站公告通知）之日起十五日内，"
        "向组织实施抽检的市场监督管理部门提出书面复检申请并办理复检手续；逾期未申请的，视为放弃复检。"
    ),
    "stop_sale.order": "请立即停止销售该商品；消费者要求退货的，经营者应当负责退货。",
    "delisting.order": "请立即停止销售名单中同一商标、同一规格型号的商品。",
    "takedown.order": "请对不合格商品信息及相关虚拟店铺实施删除、屏蔽、断开链接等措施。",
}


def title_of(message_type: str) -> str:
    """The Chinese title of a message type, or the type itself when it is not in the catalogue."""
    return _TITLES.get(message_type, message_type)


def format_china_time(unix_seconds: float) -> str:
    """Format Unix seconds as ``YYYY-MM-DD HH:MM:SS`` in China Standard Time (Asia/Shanghai)."""
    return datetime.fromtimestamp(unix_seconds, CHINA_STANDARD_TIME).strftime("%Y-%m-%d %H:%M:%S")


def email_subject(message: OutgoingMessage) -> str:
    """The e-mail subject: the notice's title and the case id."""
    return f"【{title_of(message.message_type)}】网络交易商品质量抽检 案件 {message.case_id}"


def _facts(message: OutgoingMessage, *, attachment: str | None) -> list[str]:
    lines = [
        f"通知类型：{title_of(message.message_type)}（{message.message_type}）",
        f"案件编号：{message.case_id}",
        f"消息编号：{message.message_id}",
        f"发出时间：{format_china_time(message.timestamp)}（北京时间）",
    ]
    if attachment is not None:
        lines.append(f"通知全文：见附件 {attachment}（JSON 格式），内容以附件为准。")
    lines.extend(_deadlines(message))
    duty = _DUTIES.get(message.message_type)
    if duty is not None:
        lines.extend(["", duty])
    return lines


def _deadlines(message: OutgoingMessage) -> list[str]:
    """The answer deadline (and a reminder's own words) from the body, in Beijing time, never as RFC 3339."""
    try:
        data = msgspec.json.decode(message.body).get("data") or {}
    except (msgspec.DecodeError, AttributeError):
        return []
    lines: list[str] = []
    respond_by = data.get("respond_by")
    if isinstance(respond_by, str):
        with contextlib.suppress(ValueError):
            due = datetime.fromisoformat(respond_by).astimezone(CHINA_STANDARD_TIME)
            lines.append(f"答复期限：{due.strftime('%Y-%m-%d %H:%M')}（北京时间）")
    if isinstance(data.get("text"), str):
        lines.extend(["", data["text"]])
    return lines


def email_text(message: OutgoingMessage, *, attachment: str) -> str:
    """The plain-text body of the notice e-mail."""
    authority = message.authority or DEFAULT_AUTHORITY
    greeting = f"{message.recipient_name}：" if message.recipient_name else "您好："
    lines = [
        greeting,
        "",
        f"{authority}就网络交易商品质量抽查检验案件向您发出{title_of(message.message_type)}。",
        "",
        *_facts(message, attachment=attachment),
        "",
        "本邮件由系统自动发送，请勿直接回复。如需联系，请按通知全文所载联系方式办理。",
        "",
        authority,
    ]
    return "\n".join(lines) + "\n"


def announcement_title(message: OutgoingMessage) -> str:
    """The title of a public announcement standing in for a notice that could not be served."""
    addressee = message.recipient_name or "相关经营者"
    return f"关于{addressee}的{title_of(message.message_type)}公告（案件 {message.case_id}）"


def announcement_text(message: OutgoingMessage, *, reason: str) -> str:
    """The text of the public announcement (opinion 三(二): notice by the regulator's official website)."""
    authority = message.authority or DEFAULT_AUTHORITY
    addressee = message.recipient_name or "相关经营者"
    lines = [
        f"{addressee}：",
        "",
        (
            f"因{reason}无法通知，{authority}依据《工商总局关于加强和规范网络交易商品质量抽查检验的意见》"
            f"（工商消字〔2015〕189号）第三条第（二）项，现通过官方网站公告通知{title_of(message.message_type)}如下。"
        ),
        "",
        *_facts(message, attachment=None),
        "",
        authority,
    ]
    return "\n".join(lines) + "\n"
