"""Evidence is evidence (三(一)): purchase and sealing name files that exist in this case's evidence store."""

from __future__ import annotations

from typing import Any

import pytest

from .conftest import Bureau

pytestmark = pytest.mark.postgres

AT = "2026-03-02T10:00:00+08:00"


def _purchase(screenshots: dict[str, list[str]], **changes: Any) -> dict[str, Any]:
    body: dict[str, Any] = {
        "purchased_at": AT,
        "buyer_account": "buyer",
        "buyer_name": "张三",
        "delivery_address": "杭州市西湖区某路1号",
        "orders": [{"order_no": "T-1", "ordered_at": AT, "amount_fen": 100}],
        "screenshots": screenshots,
    }
    body.update(changes)
    return body


def _sealing(evidence: list[Any]) -> dict[str, Any]:
    witnesses = ["买样人 张三", "承检机构 李四", "执法人员 王五"]
    return {
        "sealed_at": AT,
        "sample_seal_no": "FY-1",
        "backup_seal_no": "FY-2",
        "witnesses": witnesses,
        "evidence": evidence,
    }


async def _planned(bureau: Bureau, publish_case: Any, shop: str) -> str:
    case_id: str = await publish_case(bureau.gw, bureau.token, bureau.platform_id, shop=shop, publish=False)
    return case_id


async def test_purchase_needs_stored_screen_captures_per_clause_3_1(bureau: Bureau, publish_case: Any) -> None:
    """三(一): a capture digest not in this case's evidence is refused (422) naming the field and the digest."""
    case_id = await _planned(bureau, publish_case, "shop-e1")
    captures, _ = await bureau.gw.sampling_evidence(bureau.token, case_id)
    missing = "cd" * 32
    refused = await bureau.gw.post(
        f"/v1/cases/{case_id}/purchase", bureau.token, _purchase({**captures, "product": [missing]}), expect=422
    )
    assert refused["errors"][0]["field"] == "screenshots.product[0]"
    assert missing in refused["errors"][0]["reason"]
    assert "证据库" in refused["errors"][0]["reason"]
    # Another case's file is not this case's evidence.
    other = await _planned(bureau, publish_case, "shop-e2")
    foreign = await bureau.gw.upload_image(bureau.token, other, b"foreign", "listing", "他案截屏")
    refused = await bureau.gw.post(
        f"/v1/cases/{case_id}/purchase",
        bureau.token,
        _purchase({**captures, "merchant": [foreign["sha256"]]}),
        expect=422,
    )
    assert refused["errors"][0]["field"] == "screenshots.merchant[0]"
    case = await bureau.gw.post(f"/v1/cases/{case_id}/purchase", bureau.token, _purchase(captures), expect=201)
    assert case["state"] == "purchased"


async def test_purchase_names_merchant_product_and_transaction_captures_per_clause_3_1(
    bureau: Bureau, publish_case: Any
) -> None:
    """三(一): merchant, product and transaction captures are all required, and each must be an image."""
    case_id = await _planned(bureau, publish_case, "shop-e3")
    captures, video = await bureau.gw.sampling_evidence(bureau.token, case_id)
    without = {key: value for key, value in captures.items() if key != "transaction"}
    response = await bureau.gw.client.post(
        f"/v1/cases/{case_id}/purchase", json=_purchase(without), headers=bureau.gw.auth(bureau.token)
    )
    assert response.status_code == 400
    assert "transaction" in response.text
    not_image = await bureau.gw.post(
        f"/v1/cases/{case_id}/purchase",
        bureau.token,
        _purchase({**captures, "transaction": [video[0]["sha256"]]}),
        expect=422,
    )
    assert not_image["errors"][0]["field"] == "screenshots.transaction[0]"
    assert "图片" in not_image["errors"][0]["reason"]


async def test_purchase_evidence_refs_must_exist_per_clause_3_1(bureau: Bureau, publish_case: Any) -> None:
    """三(一): every listed evidence reference names a file of this case (422 naming evidence[i].sha256)."""
    case_id = await _planned(bureau, publish_case, "shop-e4")
    captures, _ = await bureau.gw.sampling_evidence(bureau.token, case_id)
    ghost = {"sha256": "ef" * 32, "media_type": "image/png", "size_bytes": 1, "step": "purchase", "description": "x"}
    refused = await bureau.gw.post(
        f"/v1/cases/{case_id}/purchase", bureau.token, _purchase(captures, evidence=[ghost]), expect=422
    )
    assert refused["errors"][0]["field"] == "evidence[0].sha256"


async def test_sealing_needs_the_stored_unpacking_video_per_clause_3_1(bureau: Bureau, publish_case: Any) -> None:
    """三(一): sealing names stored evidence, and one of it must be the unpacking and sealing video."""
    case_id = await _planned(bureau, publish_case, "shop-e5")
    captures, video = await bureau.gw.sampling_evidence(bureau.token, case_id)
    await bureau.gw.post(f"/v1/cases/{case_id}/purchase", bureau.token, _purchase(captures))
    photo = await bureau.gw.upload_image(bureau.token, case_id, b"seal", "sealing", "封条照片")
    no_video = await bureau.gw.post(f"/v1/cases/{case_id}/sealing", bureau.token, _sealing([photo]), expect=422)
    assert no_video["errors"][0]["field"] == "evidence"
    assert "录像" in no_video["errors"][0]["reason"]
    ghost = {**video[0], "sha256": "12" * 32}
    missing = await bureau.gw.post(f"/v1/cases/{case_id}/sealing", bureau.token, _sealing([ghost]), expect=422)
    assert missing["errors"][0]["field"] == "evidence[0].sha256"
    assert "12" * 32 in missing["errors"][0]["reason"]
    sealed = await bureau.gw.post(f"/v1/cases/{case_id}/sealing", bureau.token, _sealing([photo, *video]))
    assert sealed["state"] == "sealed"
