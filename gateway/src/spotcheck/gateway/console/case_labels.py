"""The words the case pages use for the gateway's codes: actions, notices and replies, recipients, statuses."""

from __future__ import annotations

from typing import Final

from spotcheck.gateway.console.case_actions import ACTION_SPECS

__all__ = [
    "ACTION_LABELS",
    "DELIVERY_LABELS",
    "EVIDENCE_STEP_LABELS",
    "MEASURE_LABELS",
    "MESSAGE_LABELS",
    "OUTCOME_LABELS",
    "RECIPIENT_LABELS",
    "TIMELINE_LABELS",
    "VALUE_LABELS",
    "actor",
    "label",
    "party",
]

ACTION_LABELS: Final[dict[str, str]] = {
    "create": "立案",
    **{name: spec.title for name, spec in ACTION_SPECS.items()},
}
"""Each step of a case's history in Chinese."""

MESSAGE_LABELS: Final[dict[str, str]] = {
    "sampling.notice": "抽检告知书",
    "records.request": "交易记录协查函",
    "merchant.identity_request": "经营者身份信息协查函",
    "result.notice": "检验结果通知书",
    "reinspection.decision": "复检决定",
    "results.published": "抽检结果公布通知",
    "stop_sale.order": "责令停止销售通知",
    "delisting.order": "停止销售名单通知（下架令）",
    "takedown.order": "删除、屏蔽、断开链接通知",
    "referral.notice": "提请电信主管部门处置函",
    "hazard.notification": "危害通报",
    "case.transfer": "案件移送函",
    "deadline.reminder": "期限提醒",
    "notice.acknowledged": "签收回执",
    "order.confirmed": "订单确认",
    "records.provided": "交易记录与日志",
    "records.unavailable": "无法提供记录的说明",
    "merchant.identity": "经营者身份信息",
    "reinspection.applied": "复检申请（经平台转达）",
    "takedown.reported": "处置情况报告",
}
"""Notices out and replies in, by message type."""

RECIPIENT_LABELS: Final[dict[str, str]] = {
    "platform": "平台",
    "merchant": "经营者",
    "manufacturer": "生产者",
    "authority": "行政机关",
    "public": "公告",
}

DELIVERY_LABELS: Final[dict[str, str]] = {
    "pending": "待投递",
    "delivering": "投递中",
    "delivered": "已送达",
    "dead": "投递失败（死信）",
}
"""Where a notice stands in the outbox."""

OUTCOME_LABELS: Final[dict[str, str]] = {
    "delivered": "成功",
    "retry": "失败，将重试",
    "failed": "失败",
    "dead": "失败，已转死信",
    "timeout": "超时",
}
"""How one delivery attempt ended."""

EVIDENCE_STEP_LABELS: Final[dict[str, str]] = {
    "purchase": "购样",
    "listing": "商品页面",
    "unpacking": "拆封",
    "sealing": "封样",
    "other": "其他",
}

TIMELINE_LABELS: Final[dict[str, str]] = {
    "step": "办理",
    "notice": "发出通知",
    "delivered": "送达",
    "acknowledged": "签收",
    "reply": "收到回复",
    "evidence": "上传证据",
}
"""The kinds of entries on a case's timeline."""


MEASURE_LABELS: Final[dict[str, str]] = {
    "stop_sale": "责令停止销售",
    "delisting": "列入停止销售名单",
    "takedown": "删除、屏蔽、断开链接",
    "referral": "提请电信主管部门处置",
    "hazard_notification": "危害通报",
    "reported": "平台报告已处置",
}
"""The measures taken on a case (``case.measures[].kind``)."""


VALUE_LABELS: Final[dict[str, str]] = {
    "delete": "删除",
    "block": "屏蔽",
    "disconnect": "断开链接",
    "stop_sale": "停止销售",
    "stop_trading_service": "停止提供交易服务",
    "warning": "警示",
    "merchant": "经营者",
    "manufacturer": "生产者",
}
"""Codes platforms send in their replies (measures taken, roles), in Chinese."""


def party(code: str) -> str:
    """Who a deadline is on (``platform:demo-mall``, ``regulator``, ``merchant``), in Chinese."""
    kind, _, name = code.partition(":")
    words = {
        "platform": "平台",
        "regulator": "本部门",
        "merchant": "经营者",
        "manufacturer": "生产者",
        "authority": "行政机关",
    }
    return f"{words.get(kind, kind)} {name}".strip() if kind in words else code


def label(table: dict[str, str], code: str | None) -> str:
    """``code`` in Chinese from ``table``, or the code itself when the table does not know it."""
    if code is None:
        return "—"
    return table.get(code, code)


def actor(who: str) -> str:
    """Who did something, as the history records it (``authority:…/officer:zhang``), in an officer's words."""
    kind, _, name = who.rpartition("/")[2].partition(":")
    words = {"officer": "执法人员", "token": "API 令牌", "platform": "平台"}
    if kind in words and name:
        return f"{words[kind]} {name}"
    return "系统" if who == "gateway" else who
