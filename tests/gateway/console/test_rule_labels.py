"""Deadlines' counting rules and bases are shown to officers in Chinese, whatever words the clocks store."""

from __future__ import annotations

import pytest

from spotcheck.gateway.console.attention import basis_label, rule_label


@pytest.mark.parametrize(
    ("rule", "shown"),
    [
        ("5 working days", "5 个工作日"),
        ("15 days", "15 日"),
        ("acknowledged within 2 h (立即)", "2 小时内签收（立即）"),
        ("carried out within 24 h (立即)", "24 小时内办结并报告（立即）"),
        ("15 days from receipt 2026-12-07 18:39", "自收到之日起 15 日（2026-12-07 18:39 收到）"),
        ("15 days from receipt (receipt pending)", "自收到之日起 15 日（尚未确认收到）"),
        ("某条新规则", "某条新规则"),
    ],
)
def test_rules_read_in_chinese(rule: str, shown: str) -> None:
    assert rule_label(rule) == shown


def test_the_platform_answer_basis_reads_in_chinese() -> None:
    stored = "工商消字〔2015〕189号 五(三); platform answer SLA"
    assert basis_label(stored) == "工商消字〔2015〕189号 五(三)；平台答复时限约定"
    assert basis_label("工商消字〔2015〕189号 三(三)") == "工商消字〔2015〕189号 三(三)"
