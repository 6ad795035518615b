"""The words of the console's forms: Chinese labels of the request fields and choices, and refusals in Chinese.

msgspec and the request bodies' own rules refuse a value in English (``Expected `int` >= 1``, ``a failing result
names at least one failing item``); :func:`reason_zh` says the same to an officer. A reason it does not know
passes through unchanged, so nothing is hidden.
"""

from __future__ import annotations

import re
from typing import Final

__all__ = ["CHOICE_LABELS", "FIELD_LABELS", "KNOWN_REASONS", "REQUIRED", "reason_zh"]

REQUIRED: Final = "必填"
"""What a required field left blank is told."""

# Labels of the gateway's own request fields; the wire contract's fields carry theirs in their descriptions.
FIELD_LABELS: Final[dict[str, str]] = {
    "merchant_id": "被抽检网络商品经营者",
    "manufacturer_id": "标称生产者",
    "plan_id": "抽检计划",
    "plan_reference": "计划文号（旧式，无计划时填写）",
    "origin": "抽样方式",
    "product": "样品",
    "draw_id": "摇号批次",
    "reason": "理由",
    "reference": "依据（投诉汇总、举报编号等）",
    "purchased_at": "购样时间",
    "buyer_account": "买样账号",
    "buyer_name": "买样人姓名",
    "delivery_address": "收货地址",
    "orders": "订单",
    "evidence": "证据文件",
    "buyer_id": "买样人（计划登记编号）",
    "account": "买样账号（计划登记）",
    "address_id": "收货地址（计划登记编号）",
    "amount_fen": "支付金额（分）",
    "sealed_at": "封样时间",
    "sample_seal_no": "样品封条编号",
    "backup_seal_no": "备份样品封条编号",
    "witnesses": "见证人（每行一人，至少三人）",
    "received_at": "收到检验结果时间",
    "conclusion": "检验结论",
    "report_no": "检验报告编号",
    "institution": "承检机构",
    "failing_items": "不合格项目",
    "hazardous": "危及人身、财产安全",
    "mandatory_standard_failed": "不符合强制性标准",
    "applicant_role": "申请人身份",
    "applicant_name": "申请人名称",
    "applied_at": "申请时间",
    "document_sha256": "书面申请文件 SHA-256 摘要",
    "order_nos": "订单编号（每行一个）",
    "records_from": "记录起始时间",
    "records_until": "记录截止时间",
    "items": "协查事项（每行一项）",
    "working_days": "答复期限（工作日）",
    "decision": "决定",
    "outcome": "复检结果",
    "waived": "各方已书面放弃复检",
    "note": "备注",
    "warning_measures": "警示措施（每行一项）",
    "mandatory_standard": "不符合的强制性标准",
    "measures": "处置措施",
    "include_shop": "同时处置经营者的虚拟店铺",
    "telecom_authority": "电信主管部门",
    "telecom_email": "电信主管部门电子邮箱",
    "measure": "请求的措施",
    "violation": "平台经营者的违法行为",
    "application_id": "复检申请",
    "screenshots": "网络截屏（须为本案已上传的图片）",
    "screenshots.merchant": "经营者信息截屏",
    "screenshots.product": "商品信息截屏",
    "screenshots.transaction": "交易过程截屏",
    "party_role": "当事人",
    "waived_by": "书面声明签署人",
    "statement_sha256": "书面声明文件",
    "relayed_reply_id": "平台转达的回复编号",
}

CHOICE_LABELS: Final[dict[str, str]] = {
    "pass": "合格",
    "fail": "不合格",
    "accepted": "受理",
    "rejected": "不予受理",
    "upheld": "维持原检验结论",
    "overturned": "改变原检验结论",
    "delete": "删除",
    "block": "屏蔽",
    "disconnect": "断开链接",
    "stop_access": "停止接入服务",
    "merchant": "被抽检经营者",
    "manufacturer": "标称生产者",
    "purchase": "购样",
    "listing": "商品页面",
    "unpacking": "拆封",
    "sealing": "封样",
    "other": "其他",
    "draw": "随机抽查（摇号选定）",
    "targeted": "问题导向（有针对性选定）",
}

_TYPE_NAMES: Final = {
    "int": "整数",
    "float": "数字",
    "str": "文字",
    "bool": "是或否",
    "datetime": "日期时间",
    "date": "日期",
    "array": "列表",
    "object": "一组字段",
    "null": "空值",
}

_PATTERN_HINTS: Final = (
    ("A-Za-z0-9._:-", "只能由字母、数字和 . _ : - 组成"),
    ("[0-9a-f]{64}", "应为 64 位小写十六进制的 SHA-256 摘要"),
    ("@", "不是有效的电子邮箱地址"),
    ("https?://", "应为以 http:// 或 https:// 开头的网址"),
    ("https://", "应为以 https:// 开头的网址"),
    ("[0-9]{6}", "应为 6 位行政区划代码"),
    ("[0-9A-HJ-NPQRTUWXY]{2}", "应为 18 位统一社会信用代码"),
)

# What the bodies' own cross-field rules and the services' field problems say, in the officer's words.
KNOWN_REASONS: Final[dict[str, str]] = {
    "a failing result names at least one failing item": "检验结论为不合格时，须至少填写一个不合格项目",
    "a passing result cannot have failing items or hazards": "检验结论为合格时，不能填写不合格项目或勾选危害",
    "must be after records_from": "须晚于记录起始时间",
    "give the plan the case is opened from (or the legacy plan_reference)": "请选择抽检计划（或填写计划文号）",
    "must differ from sample_seal_no": "不能与样品封条编号相同",
    "a natural-person merchant must sell through a registered platform": "自然人经营者须通过已登记的平台经营",
    "not an application of this case": "不是本案件的复检申请",
    "expected 64 lowercase hex digits": "应为 64 位小写十六进制的 SHA-256 摘要",
}


def reason_zh(reason: str) -> str:  # noqa: PLR0911 - one return per kind of msgspec message
    """A decoder's or a service's reason for refusing a value, said in Chinese (unknown reasons pass through)."""
    if reason in KNOWN_REASONS or reason == REQUIRED:
        return KNOWN_REASONS.get(reason, reason)
    if m := re.match(r"^Expected `(\w+)`, got `(\w+)`$", reason):
        return f"应为{_TYPE_NAMES.get(m.group(1), m.group(1))}"
    if m := re.match(r"^Expected `(?:int|float)` (>=|<=|>|<) (\S+)$", reason):
        words = {">=": "不能小于", "<=": "不能大于", ">": "须大于", "<": "须小于"}
        return f"{words[m.group(1)]} {m.group(2)}"
    if m := re.match(r"^Expected `str` of length (>=|<=) (\d+)$", reason):
        if m.group(1) == ">=":
            return "不能为空" if m.group(2) == "1" else f"至少 {m.group(2)} 个字符"
        return f"不能超过 {m.group(2)} 个字符"
    if m := re.match(r"^Expected `(?:array|object)` of length (>=|<=) (\d+)$", reason):
        return f"至少填写 {m.group(2)} 项" if m.group(1) == ">=" else f"最多填写 {m.group(2)} 项"
    if m := re.match(r"^Expected `str` matching regex '(.*)'$", reason, re.DOTALL):
        return next((hint for marker, hint in _PATTERN_HINTS if marker in m.group(1)), "格式不正确")
    if m := re.match(r"^Invalid enum value '(.*)'$", reason, re.DOTALL):
        return f"「{m.group(1)}」不是可选的值"
    if reason.startswith("Invalid RFC3339 encoded datetime"):
        return "日期时间格式不正确（例如 2026-12-14 23:59）"
    if reason.startswith("Invalid RFC3339 encoded date"):
        return "日期格式不正确（例如 2026-12-14）"
    if reason == "Expected `datetime` with a timezone component":
        return "须注明时区"
    if m := re.match(r"^Object contains unknown field `([^`]+)`$", reason):
        return f"不接受字段 {m.group(1)}"
    return reason
