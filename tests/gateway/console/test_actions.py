"""Case actions through the console: the API's own bodies and services, Chinese field messages, the API's problems.

Also the form layer on its own (``console/forms.py``): a urlencoded form becomes the same msgspec body the JSON API
decodes, each refused input is named in Chinese and what was typed is kept.
"""

from __future__ import annotations

import hashlib
import re
import typing
from typing import Any

import msgspec
from litestar.handlers import HTTPRouteHandler

from spotcheck.gateway.cases.controllers import CaseController
from spotcheck.gateway.cases.lifecycle import ACTIONS
from spotcheck.gateway.cases.schemas import CaseCreate, RecordsRequestBody, ResultRecord, TakedownBody
from spotcheck.gateway.console.case_actions import ACTION_SPECS
from spotcheck.gateway.console.forms import EvidenceChoice, FormContext, build_form, parse_form
from tests.gateway.console.test_case_detail import open_case, registry, small_png

RESULT = {
    "received_at": "2026-12-01T10:00",
    "conclusion": "fail",
    "report_no": "R-2026-88",
    "institution": "浙江省质检院",
}


# ---- the form layer -----------------------------------------------------------------------------------------------


def test_a_bad_field_is_named_in_chinese_and_what_was_typed_stays() -> None:
    typed = {**{k: [v] for k, v in RESULT.items()}, "report_no": [""], "institution": ["质检院" * 100]}
    form = parse_form(ResultRecord, typed)
    assert not form.ok
    assert form.parsed is None
    assert form.errors["report_no"] == "必填"
    assert form.errors["institution"] == "不能超过 200 个字符"
    assert form.value("institution") == "质检院" * 100
    assert form.value("received_at") == "2026-12-01T10:00"


def test_the_bodys_own_rules_run_and_speak_chinese() -> None:
    form = parse_form(ResultRecord, {k: [v] for k, v in RESULT.items()})
    assert form.errors == {"failing_items": "检验结论为不合格时，须至少填写一个不合格项目"}


def test_a_moment_at_the_end_of_the_calendar_is_refused_by_the_form() -> None:
    """Year 1 or 9999 would overflow once stored (a 500): the form names the field, as the API does."""
    typed = {k: [v] for k, v in RESULT.items()} | {
        "conclusion": ["pass"],
        "received_at": ["0001-01-01T00:00"],
    }
    form = parse_form(ResultRecord, typed)
    assert not form.ok
    assert form.parsed is None
    assert "超出可处理的年份范围" in form.errors["received_at"]


def test_a_valid_form_decodes_to_the_apis_body_in_beijing_time() -> None:
    typed = {k: [v] for k, v in RESULT.items()} | {
        "failing_items[1].item": ["泄漏电流"],
        "failing_items[1].standard": ["GB 4706.1-2005"],
        "failing_items[1].required": ["≤0.75 mA"],
        "failing_items[1].measured": ["2.1 mA"],
        "hazardous": ["on"],
    }
    form = parse_form(ResultRecord, typed)
    assert form.ok, form.errors
    body = form.parsed
    assert isinstance(body, ResultRecord)
    assert body.received_at.isoformat() == "2026-12-01T10:00:00+08:00"
    assert [i.item for i in body.failing_items] == ["泄漏电流"]  # the blank first row is skipped
    assert body.hazardous is True
    assert body.mandatory_standard_failed is False
    # The same JSON through the API's decoder gives the same body.
    api = msgspec.convert(msgspec.to_builtins(body), type=ResultRecord, strict=False)
    assert api == body


def test_errors_in_repeated_rows_point_at_the_row_typed() -> None:
    typed = {k: [v] for k, v in RESULT.items()} | {"failing_items[1].item": ["泄漏电流"]}
    form = parse_form(ResultRecord, typed)
    assert form.errors["failing_items[1].standard"] == "必填"
    assert "failing_items[0].standard" not in form.errors


def test_lists_checkboxes_numbers_and_nested_fields() -> None:
    form = parse_form(TakedownBody, {"include_shop": []})
    assert form.errors["measures"] == "至少填写 1 项"
    form = parse_form(TakedownBody, {"measures": ["delete", "nuke"]})
    assert form.errors["measures"] == "第 2 项「nuke」不是可选的值"
    form = parse_form(RecordsRequestBody, {"order_nos": ["T1\nbad no\n"], "records_from": ["2026-12-01T10:00"]})
    assert form.errors["order_nos"] == "第 2 项只能由字母、数字和 . _ : - 组成"
    assert form.errors["records_until"] == "必填"
    created = parse_form(CaseCreate, {"merchant_id": ["m1"], "product.sample_name": ["电热水壶"]})
    assert created.errors["product.trademark"] == "必填"
    assert created.errors["product.spec_model"] == "必填"


def test_defaults_fill_a_fresh_form_and_evidence_is_chosen_not_typed() -> None:
    fresh = build_form(RecordsRequestBody)
    assert fresh.lines("items") == "订单电子单据确认\n交易记录\n操作日志"
    ref = {"sha256": "ab" * 32, "media_type": "video/mp4", "size_bytes": 9, "step": "sealing", "description": "录像"}
    context = FormContext(evidence=[EvidenceChoice(id="evd_1", label="封样 · 录像", ref=ref)])
    form = build_form(ACTION_SPECS["record_sealing"].body, context)
    evidence = next(n for n in form.nodes if n.name == "evidence")
    assert evidence.widget == "evidence"  # type: ignore[union-attr]
    assert evidence.choices == (("evd_1", "封样 · 录像"),)  # type: ignore[union-attr]


def test_every_lifecycle_action_has_a_console_form() -> None:
    """An action added to the lifecycle without a console form would be offered to officers as API-only."""
    assert set(ACTIONS) == set(ACTION_SPECS)
    assert all(spec.title and not spec.title.isascii() for spec in ACTION_SPECS.values())


def test_every_console_action_takes_the_apis_body() -> None:
    """The console's body for each action is the one the API endpoint declares, so validation cannot drift."""
    api_bodies: set[Any] = set()
    for value in vars(CaseController).values():
        if isinstance(value, HTTPRouteHandler):
            hints = typing.get_type_hints(value.fn, include_extras=True)
            if "data" in hints:
                api_bodies.add(typing.get_args(hints["data"])[0])
    for spec in ACTION_SPECS.values():
        assert spec.name in ACTIONS, spec.name
        if spec.body is not None:
            assert spec.body in api_bodies, spec.name


# ---- actions through the console ------------------------------------------------------------------------------------


async def test_an_action_with_a_bad_field_keeps_the_form_and_names_the_field(console: Any) -> None:
    officer = await console.login("330000")
    case_id = await open_case(console, officer, await registry(console, officer))
    response = await officer.post(
        f"/console/cases/{case_id}/record_purchase",
        {"purchased_at": "2026-13-45T99:00", "buyer_name": "张三", "orders[0].order_no": "T 1"},
    )
    assert response.status_code == 400
    html = response.text
    assert "日期时间格式不正确" in html
    assert re.search(r'id="a-record_purchase-buyer_account-error">必填<', html)
    assert "只能由字母、数字和 . _ : - 组成" in html
    assert 'value="张三"' in html
    assert 'value="T 1"' in html
    case = await console.gateway.get(f"/v1/cases/{case_id}", officer.token)
    assert case["state"] == "planned"


async def test_a_refused_action_shows_the_apis_problem_in_an_officers_words(console: Any) -> None:
    officer = await console.login("330000")
    case_id = await open_case(console, officer, await registry(console, officer))
    response = await officer.post(f"/console/cases/{case_id}/send_result_notices", {})
    assert response.status_code == 409
    assert "案件当前所处的阶段不允许这一操作" in response.text
    # The API refuses the same request with the same problem.
    api = await console.gateway.client.post(
        f"/v1/cases/{case_id}/result-notices", headers=console.gateway.auth(officer.token)
    )
    assert api.status_code == 409
    assert api.json()["type"].endswith("illegal-transition")
    unknown = await officer.post(f"/console/cases/{case_id}/launch_rockets", {})
    assert unknown.status_code == 404


async def test_an_action_does_what_the_api_does_under_the_officers_name(console: Any) -> None:
    officer = await console.login("330000")
    case_id = await open_case(console, officer, await registry(console, officer))
    shots = {}
    for kind, colour in (("merchant", 1), ("product", 2), ("transaction", 3)):
        png = small_png(colour)
        uploaded = await officer.post(
            f"/console/cases/{case_id}/evidence",
            {"step": "purchase", "description": f"{kind} 截屏"},
            files={"file": (f"{kind}.png", png, "image/png")},
        )
        assert uploaded.status_code == 303, uploaded.text[:300]
        shots[kind] = hashlib.sha256(png).hexdigest()
    form = {
        "purchased_at": "2026-11-10T10:00",
        "buyer_account": "buyer_zj01",
        "buyer_name": "张三",
        "delivery_address": "杭州市西湖区某路1号",
        "orders[0].order_no": "T2026001",
        "orders[0].ordered_at": "2026-11-10T09:58",
        "orders[0].amount_fen": "19900",
    } | {f"screenshots.{kind}": digest for kind, digest in shots.items()}
    response = await officer.post(f"/console/cases/{case_id}/record_purchase", form)
    assert response.status_code == 303, response.text[-3000:]
    assert response.headers["location"] == f"/console/cases/{case_id}?done=record_purchase#timeline"

    case = await console.gateway.get(f"/v1/cases/{case_id}", officer.token)
    assert case["state"] == "purchased"
    assert case["purchase"]["purchased_at"] == "2026-11-10T10:00:00+08:00"  # typed in Beijing time
    assert case["purchase"]["orders"] == [
        {
            "order_no": "T2026001",
            "ordered_at": "2026-11-10T09:58:00+08:00",
            "amount_fen": 19900,
            "quantity": 1,
            "buyer_account": None,
        }
    ]
    events = await console.gateway.get(f"/v1/cases/{case_id}/events", officer.token)
    assert [e["action"] for e in events] == ["create", "record_purchase"]
    assert events[-1]["actor"].endswith(f"/officer:{officer.username}")
    page = await officer.get(f"/console/cases/{case_id}?done=record_purchase")
    assert "已完成：记录网络购样" in page.text
    assert "记录拆封与封样" in page.text  # the next step is offered now


async def test_a_post_without_the_csrf_token_is_refused(console: Any) -> None:
    officer = await console.login("330000")
    case_id = await open_case(console, officer, await registry(console, officer))
    response = await officer.post(f"/console/cases/{case_id}/close", {"note": "x"}, csrf=False)
    assert response.status_code == 403
    assert "安全令牌" in response.text
    wrong = await officer.post(f"/console/cases/{case_id}/close", {"note": "x", "csrf_token": "forged"})
    assert wrong.status_code == 403
