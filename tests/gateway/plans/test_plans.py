"""Plans through the API: lifecycle and approval rules, numbers, cases opened from a plan, the expense ledger."""

from __future__ import annotations

import asyncio
import io
from datetime import UTC, datetime
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from openpyxl import load_workbook

from spotcheck.gateway.legal import basis

from .conftest import Bureau, plan_body

YEAR = datetime.now(UTC).astimezone(ZoneInfo("Asia/Shanghai")).year
PRODUCT = {"sample_name": "儿童外套", "trademark": "小熊", "spec_model": "XT-110"}


async def _merchant(bureau: Bureau, shop: str = "kids-1") -> str:
    body = {"platform_id": "zj-mall", "shop_id": shop, "shop_name": f"{shop} 童装店", "kind": "registered_entity"}
    body |= {"legal_name": "杭州某某服饰有限公司", "registration_division": "330106"}
    return str((await bureau.gw.post("/v1/merchants", bureau.author, body))["id"])


async def test_a_plan_goes_from_draft_to_completed_with_a_gap_free_number(bureau: Bureau) -> None:
    gw = bureau.gw
    draft = await bureau.plan(approve=False)
    assert (draft["state"], draft["number"]) == ("draft", None)
    assert [b["id"] for b in draft["buyers"]] == ["B1", "B2"]
    assert draft["addresses"][0]["id"] == "A1"

    approved = await gw.post(f"/v1/plans/{draft['id']}/approve", bureau.supervisor)
    second = await bureau.plan()

    assert (approved["state"], approved["number"]) == ("approved", f"浙市监抽〔{YEAR}〕1号")
    assert second["number"] == f"浙市监抽〔{YEAR}〕2号"
    again = await gw.post(f"/v1/plans/{draft['id']}/approve", bureau.supervisor, expect=409)
    assert again["type"].endswith("illegal-plan-state")
    assert (await gw.post(f"/v1/plans/{draft['id']}/start", bureau.author))["state"] == "in_progress"
    assert (await gw.post(f"/v1/plans/{draft['id']}/complete", bureau.author))["state"] == "completed"
    await gw.post(f"/v1/plans/{draft['id']}/complete", bureau.author, expect=409)
    listed = await gw.get("/v1/plans", bureau.officer)
    assert {p["id"] for p in listed} == {draft["id"], second["id"]}


async def test_approval_needs_the_supervise_scope_and_another_token(bureau: Bureau) -> None:
    gw = bureau.gw
    draft = await bureau.plan(approve=False)
    both = await gw.authority("330000", "浙江省市场监督管理局", scopes=("read", "write", "supervise"))
    own = await gw.post("/v1/plans", both, plan_body())

    no_scope = await gw.post(f"/v1/plans/{draft['id']}/approve", bureau.author, expect=403)
    same_token = await gw.post(f"/v1/plans/{own['id']}/approve", both, expect=403)

    assert no_scope["type"].endswith("insufficient-scope")
    assert same_token["type"].endswith("same-token")
    assert (await gw.post(f"/v1/plans/{own['id']}/approve", bureau.supervisor))["state"] == "approved"
    # A refused approval used no number: the next one is still 1 (gap-free).
    assert (await gw.get(f"/v1/plans/{own['id']}", bureau.officer))["number"] == f"浙市监抽〔{YEAR}〕1号"


@pytest.mark.parametrize(
    ("change", "field"),
    [
        ({"buyers": []}, "buyers"),
        ({"addresses": []}, "addresses"),
        ({"buyers": [{"name": "王五", "kind": "x"}]}, "kind"),
    ],
)
async def test_a_plan_without_buyers_or_addresses_is_refused_naming_the_field(
    bureau: Bureau, change: dict[str, Any], field: str
) -> None:
    problem = await bureau.gw.post("/v1/plans", bureau.author, plan_body(**change), expect=400)
    assert any(field in error["field"] for error in problem["errors"]), problem


async def test_a_case_opened_from_a_plan_carries_its_number_and_origin(bureau: Bureau) -> None:
    gw = bureau.gw
    plan = await bureau.plan()
    merchant_id = await _merchant(bureau)
    origin = {"kind": "targeted", "reason": "consumer_complaints", "reference": "12315 投诉汇总 2026-10"}

    case = await gw.post(
        "/v1/cases",
        bureau.author,
        {"merchant_id": merchant_id, "plan_id": plan["id"], "origin": origin, "product": PRODUCT},
    )

    assert (case["plan_id"], case["plan_reference"], case["origin"]) == (plan["id"], plan["number"], origin)
    assert (await gw.get(f"/v1/plans/{plan['id']}", bureau.author))["state"] == "in_progress"
    legacy = await gw.post(
        "/v1/cases", bureau.author, {"merchant_id": merchant_id, "plan_reference": "抽〔2026〕1号", "product": PRODUCT}
    )
    assert (legacy["plan_id"], legacy["origin"], legacy["plan_reference"]) == (None, None, "抽〔2026〕1号")


async def test_a_draft_plan_opens_no_case(bureau: Bureau) -> None:
    draft = await bureau.plan(approve=False)
    body = {"merchant_id": await _merchant(bureau), "plan_id": draft["id"], "product": PRODUCT}
    await bureau.gw.post("/v1/cases", bureau.author, body, expect=409)


async def test_an_inspection_for_one_complaint_is_refused_naming_the_clause(bureau: Bureau) -> None:
    plan = await bureau.plan()
    origin = {"kind": "targeted", "reason": "single_complaint", "reference": "投诉 2026-001"}
    body = {"merchant_id": await _merchant(bureau), "plan_id": plan["id"], "origin": origin, "product": PRODUCT}

    problem = await bureau.gw.post("/v1/cases", bureau.author, body, expect=422)

    assert basis("四(三)") in problem["detail"]
    assert problem["errors"][0]["field"] == "origin.reason"
    assert "投诉处理" in problem["detail"]
    unknown = {**body, "origin": {"kind": "targeted", "reason": "hunch"}}
    refused = await bureau.gw.post("/v1/cases", bureau.author, unknown, expect=422)
    assert refused["errors"][0]["field"] == "origin.reason"


async def test_the_expense_ledger_lists_purchases_as_json_csv_and_xlsx(bureau: Bureau) -> None:
    gw = bureau.gw
    plan = await bureau.plan()
    case = await gw.post(
        "/v1/cases", bureau.author, {"merchant_id": await _merchant(bureau), "plan_id": plan["id"], "product": PRODUCT}
    )
    at = "2026-11-02T10:00:00+08:00"
    order = {"order_no": "T-0001", "ordered_at": at, "amount_fen": 12900}
    purchase = {"purchased_at": at, "buyer_account": "zjsj_buyer01", "buyer_name": "张三"}
    purchase |= {"delivery_address": "杭州市西湖区文三路1号", "orders": [order]}
    purchase["screenshots"] = (await gw.sampling_evidence(bureau.author, case["id"]))[0]
    bad = await gw.post(f"/v1/cases/{case['id']}/purchase", bureau.author, {**purchase, "buyer_id": "B9"}, expect=422)
    assert bad["errors"][0]["field"] == "buyer_id"
    purchase |= {"buyer_id": "B1", "account": "zjsj_buyer01", "address_id": "A1", "amount_fen": 25800}
    await gw.post(f"/v1/cases/{case['id']}/purchase", bureau.author, purchase)

    ledger = await gw.get(f"/v1/plans/{plan['id']}/expenses", bureau.officer)
    csv_response = await gw.client.get(f"/v1/plans/{plan['id']}/expenses.csv", headers=gw.auth(bureau.officer))
    xlsx_response = await gw.client.get(f"/v1/plans/{plan['id']}/expenses.xlsx", headers=gw.auth(bureau.officer))

    assert ledger["total_fen"] == 25800
    line = ledger["lines"][0]
    assert (line["buyer_name"], line["buyer_kind"], line["account"], line["amount_yuan"]) == (
        "张三",
        "执法人员",
        "zjsj_buyer01",
        "258.00",
    )
    assert csv_response.content.startswith(b"\xef\xbb\xbf")
    text = csv_response.content.decode("utf-8-sig")
    assert "买样人" in text.splitlines()[0]
    assert "张三" in text
    assert "258.00" in text
    sheet = load_workbook(io.BytesIO(xlsx_response.content)).active
    assert sheet is not None
    rows = list(sheet.iter_rows(values_only=True))
    assert rows[1][3] == "买样人"
    assert rows[2][0] == case["id"]
    assert rows[2][3] == "张三"
    assert rows[-1][0] == "合计"
    assert rows[-1][-1] == pytest.approx(258.0)


async def test_another_province_can_neither_see_nor_act_on_a_plan(bureau: Bureau) -> None:
    gw, other = bureau.gw, bureau.other_province
    plan = await bureau.plan()
    draft = await bureau.plan(approve=False)

    for path in (f"/v1/plans/{plan['id']}", f"/v1/plans/{plan['id']}/expenses", f"/v1/plans/{plan['id']}/draws"):
        await gw.get(path, other, expect=403)
    await gw.post(f"/v1/plans/{draft['id']}/approve", other, expect=403)
    await gw.post(f"/v1/plans/{plan['id']}/complete", other, expect=403)
    body = {"scope": {"platforms": ["zj-mall"]}, "count": 1}
    await gw.post(f"/v1/plans/{plan['id']}/draws", other, body, expect=403)
    assert await gw.get("/v1/plans", other) == []
    await gw.get("/v1/plans/plan_unknown", other, expect=404)


async def test_concurrent_approvals_take_consecutive_numbers(bureau: Bureau) -> None:
    gw = bureau.gw
    drafts = [await bureau.plan(approve=False) for _ in range(6)]

    async def approve(plan: dict[str, Any]) -> Any:
        return await gw.client.post(f"/v1/plans/{plan['id']}/approve", headers=gw.auth(bureau.supervisor))

    # PostgreSQL runs the approvals at once (the counter row serialises them); SQLite takes one writer at a time.
    if "postgresql" in gw.settings.store.url:
        answers = await asyncio.gather(*(approve(plan) for plan in drafts))
    else:
        answers = [await approve(plan) for plan in drafts]

    assert [a.status_code for a in answers] == [201] * 6, [a.text for a in answers]
    numbers = sorted(int(a.json()["number"].split("〕")[1].removesuffix("号")) for a in answers)
    assert numbers == [1, 2, 3, 4, 5, 6]
