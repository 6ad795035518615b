"""Penalty decisions after a case (行政处罚, 四(三)): recorded by officers, published, linked from the merchant."""

from __future__ import annotations

import csv
import io
from typing import Any

import pytest

from spotcheck.gateway.public.penalties import PENALTY_CSV_COLUMNS
from spotcheck.schemas import uscc_check_character

from .conftest import Bureau

pytestmark = pytest.mark.postgres

USCC = "91330106" + "MA2B3C4D5"  # 17 characters; the check character is appended below
VALID_USCC = USCC + uscc_check_character(USCC)
WRONG_CHECK = USCC + ("0" if VALID_USCC[-1] != "0" else "1")


def _decision(**changes: Any) -> dict[str, Any]:
    body: dict[str, Any] = {
        "decision_no": "杭市监处罚〔2026〕12号",
        "decided_on": "2026-03-20",
        "party": {"name": "杭州某某电器有限公司", "uscc": VALID_USCC, "legal_representative": "李某"},
        "violation_type": "销售不合格产品",
        "facts": "当事人在网店销售经抽检泄漏电流项目不合格的电热水壶。",
        "legal_basis": "《中华人民共和国产品质量法》第四十九条",
        "content": "没收违法所得 398 元，罚款 5000 元",
        "fine_fen": 500_000,
        "confiscated_fen": 39_800,
    }
    body.update(changes)
    return body


async def _failing_case(bureau: Bureau, publish_case: Any, shop: str = "shop-p") -> str:
    case_id: str = await publish_case(bureau.gw, bureau.token, bureau.platform_id, shop=shop)
    return case_id


async def test_penalty_is_published_in_html_json_and_csv_per_clause_4_3(bureau: Bureau, publish_case: Any) -> None:
    """四(三): the decision is published with the credit publicity summary's fields, as HTML, JSON and CSV."""
    case_id = await _failing_case(bureau, publish_case)
    recorded = await bureau.gw.post(f"/v1/cases/{case_id}/penalties", bureau.token, _decision())
    assert recorded["public_url"] == f"https://spotcheck.example.gov.cn/public/penalties/{recorded['id']}"
    assert recorded["authority_name"] == "浙江省市场监督管理局"

    listed = (await bureau.gw.client.get("/public/penalties.json")).json()
    assert listed["total"] == 1
    item = listed["items"][0]
    assert (item["decision_no"], item["party_uscc"], item["violation_type"]) == (
        "杭市监处罚〔2026〕12号",
        VALID_USCC,
        "销售不合格产品",
    )
    assert (item["fine_yuan"], item["confiscated_yuan"], item["decided_on"]) == ("5000.00", "398.00", "2026-03-20")

    exported = await bureau.gw.client.get("/public/penalties.csv")
    assert exported.headers["content-type"].startswith("text/csv")
    assert exported.content.startswith("\ufeff".encode())
    rows = list(csv.reader(io.StringIO(exported.content.decode("utf-8-sig"))))
    assert tuple(rows[0]) == PENALTY_CSV_COLUMNS
    assert rows[0][:1] == ["行政处罚决定书文号"]
    row = dict(zip(rows[0], rows[1], strict=True))
    assert row["统一社会信用代码"] == VALID_USCC
    assert row["作出行政处罚决定机关名称"] == "浙江省市场监督管理局"
    assert row["作出行政处罚决定日期"] == "2026-03-20"
    assert row["行政处罚内容"] == "没收违法所得 398 元，罚款 5000 元"

    page = await bureau.gw.client.get("/public/penalties")
    assert "杭市监处罚〔2026〕12号" in page.text
    one = await bureau.gw.client.get(f"/public/penalties/{recorded['id']}")
    assert one.status_code == 200
    assert "产品质量法" in one.text


async def test_merchant_record_links_its_penalties_per_clause_4_3(bureau: Bureau, publish_case: Any) -> None:
    """四(三): the merchant's record lists the decisions filed under it, each with its public address."""
    case_id = await _failing_case(bureau, publish_case)
    recorded = await bureau.gw.post(f"/v1/cases/{case_id}/penalties", bureau.token, _decision())
    case = await bureau.gw.get(f"/v1/cases/{case_id}", bureau.token)
    record = await bureau.gw.get(f"/v1/merchants/{case['merchant_id']}", bureau.token)
    assert [p["decision_no"] for p in record["penalties"]] == ["杭市监处罚〔2026〕12号"]
    assert record["penalties"][0]["url"] == recorded["public_url"]


async def test_invalid_uscc_is_refused_naming_the_field_per_clause_4_3(bureau: Bureau, publish_case: Any) -> None:
    """四(三): a USCC with a wrong GB 32100 check character is refused, naming party.uscc, in Chinese."""
    case_id = await _failing_case(bureau, publish_case)
    body = _decision(party={"name": "杭州某某电器有限公司", "uscc": WRONG_CHECK})
    response = await bureau.gw.client.post(
        f"/v1/cases/{case_id}/penalties", json=body, headers=bureau.gw.auth(bureau.token)
    )
    assert response.status_code in {400, 422}
    problem = response.json()
    assert "uscc" in problem["errors"][0]["field"]
    assert "统一社会信用代码" in problem["errors"][0]["reason"]
    assert (await bureau.gw.client.get("/public/penalties.json")).json()["total"] == 0


async def test_penalty_refusals_name_the_field_per_clause_4_3(bureau: Bureau, publish_case: Any) -> None:
    """四(三): a future date, a duplicate decision number and a party contradicting the case are refused (422)."""
    case_id = await _failing_case(bureau, publish_case)
    future = await bureau.gw.post(
        f"/v1/cases/{case_id}/penalties", bureau.token, _decision(decided_on="2999-01-01"), expect=422
    )
    assert future["errors"][0]["field"] == "decided_on"
    await bureau.gw.post(f"/v1/cases/{case_id}/penalties", bureau.token, _decision())
    again = await bureau.gw.post(f"/v1/cases/{case_id}/penalties", bureau.token, _decision(), expect=422)
    assert again["errors"][0]["field"] == "decision_no"
    assert "已登记" in again["errors"][0]["reason"]
    maker = await bureau.gw.post(
        f"/v1/cases/{case_id}/penalties",
        bureau.token,
        _decision(
            decision_no="杭市监处罚〔2026〕13号", party={"role": "manufacturer", "name": "某", "uscc": VALID_USCC}
        ),
    )
    assert maker["merchant_id"] is None


async def test_penalty_needs_a_final_failing_result_per_clause_4_3(bureau: Bureau, publish_case: Any) -> None:
    """四(三): before the result is final, or for a passing result, no decision is recorded (409)."""
    open_case = await publish_case(bureau.gw, bureau.token, bureau.platform_id, shop="shop-o", publish=False)
    early = await bureau.gw.post(f"/v1/cases/{open_case}/penalties", bureau.token, _decision(), expect=409)
    assert early["type"].endswith("no-final-failing-result")
    passing = await publish_case(bureau.gw, bureau.token, bureau.platform_id, shop="shop-ok", failing=False)
    await bureau.gw.post(f"/v1/cases/{passing}/penalties", bureau.token, _decision(), expect=409)


async def test_penalty_text_is_escaped_and_csv_cells_defused_per_clause_4_3(bureau: Bureau, publish_case: Any) -> None:
    """四(三): markup in free text is shown as text; a cell starting with = is not run as a formula."""
    case_id = await _failing_case(bureau, publish_case)
    recorded = await bureau.gw.post(
        f"/v1/cases/{case_id}/penalties",
        bureau.token,
        _decision(content="<img src=x onerror=alert(1)>", violation_type='=HYPERLINK("http://x")'),
    )
    page = await bureau.gw.client.get(f"/public/penalties/{recorded['id']}")
    assert "<img src=x" not in page.text
    assert "&lt;img src=x onerror=alert(1)&gt;" in page.text
    rows = list(
        csv.reader(io.StringIO((await bureau.gw.client.get("/public/penalties.csv")).content.decode("utf-8-sig")))
    )
    assert rows[1][PENALTY_CSV_COLUMNS.index("违法行为类型")] == '\'=HYPERLINK("http://x")'


async def test_penalties_need_the_write_scope_and_the_jurisdiction_per_clause_4_3(
    bureau: Bureau, publish_case: Any
) -> None:
    """四(三): a read-only token and another province's bureau cannot record a decision on this case."""
    case_id = await _failing_case(bureau, publish_case)
    reader = await bureau.gw.authority("330000", "浙江省市场监督管理局", scopes=("read",))
    await bureau.gw.post(f"/v1/cases/{case_id}/penalties", reader, _decision(), expect=403)
    other = await bureau.gw.authority("320000", "江苏省市场监督管理局")
    await bureau.gw.post(f"/v1/cases/{case_id}/penalties", other, _decision(), expect=403)
