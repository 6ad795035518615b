"""The directories: merchants imported from CSV all or nothing, with errors by row and column; inspectors."""

from __future__ import annotations

from typing import Any

from sqlalchemy import func, select

from spotcheck.gateway.store.models_plans import MerchantDirectoryEntry

from .conftest import Bureau

HEADER = "platform_id,shop_id,shop_name,kind,legal_name,uscc,division_code,categories\r\n"
GOOD = [
    "zj-mall,kids-001,小熊童装旗舰店,registered_entity,杭州小熊服饰有限公司,91330100799655058B,330106,童装;婴幼儿服装",
    "zj-mall,kids-002,王小明的童装店,natural_person,王小明,,330108,童装",
]


async def _import(bureau: Bureau, text: str, token: str | None = None) -> Any:
    headers = {**bureau.gw.auth(token or bureau.author), "content-type": "text/csv"}
    return await bureau.gw.client.post(
        "/v1/directory/merchants/import", content=("\ufeff" + text).encode(), headers=headers
    )


async def _entries(bureau: Bureau) -> int:
    async with bureau.gw.sessions() as session:
        return int(await session.scalar(select(func.count()).select_from(MerchantDirectoryEntry)) or 0)


async def test_a_valid_csv_is_imported_and_a_second_import_updates(bureau: Bureau) -> None:
    first = await _import(bureau, HEADER + "\r\n".join(GOOD) + "\r\n")
    again = await _import(bureau, HEADER + GOOD[0].replace("童装;婴幼儿服装", "童鞋") + "\r\n")

    assert (first.status_code, first.json()) == (201, {"imported": 2})
    assert again.status_code == 201, again.text
    assert await _entries(bureau) == 2


async def test_the_object_directory_is_listed_and_filtered(bureau: Bureau) -> None:
    await _import(bureau, HEADER + "\r\n".join(GOOD) + "\r\n")
    auth = bureau.gw.auth(bureau.author)

    everything = await bureau.gw.client.get("/v1/directory/merchants", headers=auth)
    babies = await bureau.gw.client.get("/v1/directory/merchants?category=婴幼儿服装", headers=auth)
    xihu = await bureau.gw.client.get("/v1/directory/merchants?division_prefix=330108", headers=auth)
    paged = await bureau.gw.client.get("/v1/directory/merchants?limit=1&offset=1", headers=auth)
    bad = await bureau.gw.client.get("/v1/directory/merchants?division_prefix=33x", headers=auth)

    assert [m["shop_id"] for m in everything.json()] == ["kids-001", "kids-002"]
    assert everything.json()[0]["categories"] == ["童装", "婴幼儿服装"]
    assert [m["shop_id"] for m in babies.json()] == ["kids-001"]
    assert [m["shop_id"] for m in xihu.json()] == ["kids-002"]
    assert [m["shop_id"] for m in paged.json()] == ["kids-002"]
    assert bad.status_code == 400


async def test_bad_rows_are_named_by_row_and_column_and_nothing_is_imported(bureau: Bureau) -> None:
    rows = [
        GOOD[0],
        GOOD[1].replace("330108", "33010"),
        "zj-mall,kids-003,某店,registered_entity,某公司,91330100799655058A,330106,童装",
        "nowhere-mall,kids-004,某店,alien,,,330106,童装",
        GOOD[0],
    ]

    response = await _import(bureau, HEADER + "\r\n".join(rows) + "\r\n")

    assert response.status_code == 422, response.text
    assert response.headers["content-type"].startswith("application/problem+json")
    cells = {(e["row"], e["column"]) for e in response.json()["errors"]}
    assert cells == {(3, "division_code"), (4, "uscc"), (5, "platform_id"), (5, "kind"), (6, "shop_id")}
    assert await _entries(bureau) == 0


async def test_a_missing_column_and_rows_outside_the_area_are_refused(bureau: Bureau) -> None:
    missing = await _import(bureau, "platform_id,shop_id,shop_name,kind\r\nzj-mall,a,b,natural_person\r\n")
    outside = await _import(bureau, HEADER + GOOD[0].replace("330106", "440106") + "\r\n")
    not_csv = await bureau.gw.client.post(
        "/v1/directory/merchants/import",
        content=b"{}",
        headers={**bureau.gw.auth(bureau.author), "content-type": "application/json"},
    )

    assert missing.status_code == 422
    assert missing.json()["errors"] == [
        {
            "row": 1,
            "column": "division_code",
            "field": "row 1, division_code",
            "reason": missing.json()["errors"][0]["reason"],
        }
    ]
    assert outside.status_code == 403
    assert outside.json()["errors"][0]["column"] == "division_code"
    assert not_csv.status_code == 415
    assert await _entries(bureau) == 0


async def test_inspectors_are_added_and_listed_per_authority(bureau: Bureau) -> None:
    gw = bureau.gw
    body = {"name": "赵六", "kind": "officer", "organisation": "浙江省市场监督管理局", "certificate_no": "ZJ-0001"}
    added = await gw.post("/v1/directory/inspectors", bureau.author, body)
    await gw.post("/v1/directory/inspectors", bureau.other_province, {**body, "name": "孙七"})

    listed = await gw.get("/v1/directory/inspectors", bureau.officer)

    assert [i["id"] for i in listed] == [added["id"]]
    assert listed[0]["kind"] == "officer"
    bad = await gw.post("/v1/directory/inspectors", bureau.author, {**body, "kind": "volunteer"}, expect=400)
    assert bad["errors"][0]["field"].endswith("kind")


async def test_a_shop_registered_in_another_area_is_not_taken_over_by_an_import(bureau: Bureau) -> None:
    """Guangdong may not rewrite Zhejiang's merchant, nor move its entry and registration into Guangdong."""
    await _import(bureau, HEADER + GOOD[0] + "\r\n")
    guangdong = await bureau.gw.authority("440000", "广东省市场监督管理局")
    hijack = GOOD[0].replace("小熊童装旗舰店", "改名的店").replace("杭州小熊服饰有限公司", "广州冒名有限公司")
    hijack = hijack.replace("91330100799655058B", "").replace("330106", "440105")

    refused = await _import(bureau, HEADER + hijack + "\r\n", token=guangdong)
    listed = await bureau.gw.client.get("/v1/directory/merchants", headers=bureau.gw.auth(bureau.author))
    theirs = await bureau.gw.client.get("/v1/directory/merchants", headers=bureau.gw.auth(guangdong))

    assert refused.status_code == 403, refused.text
    assert [(e["row"], e["column"]) for e in refused.json()["errors"]] == [(2, "shop_id")]
    assert refused.json()["errors"][0]["reason"].startswith("outside this authority's area")
    assert [(m["shop_id"], m["shop_name"], m["division_code"]) for m in listed.json()] == [
        ("kids-001", "小熊童装旗舰店", "330106")
    ]
    assert theirs.json() == []


async def test_an_authority_updates_entries_in_its_own_area(bureau: Bureau) -> None:
    """A city's entry may be refreshed by its province, which covers the city's area."""
    hangzhou = await bureau.gw.authority("330100", "杭州市市场监督管理局")
    made = await _import(bureau, HEADER + GOOD[0] + "\r\n", token=hangzhou)
    refreshed = await _import(bureau, HEADER + GOOD[0].replace("小熊童装旗舰店", "小熊童装官方店") + "\r\n")

    assert (made.status_code, refreshed.status_code) == (201, 201), refreshed.text
    listed = await bureau.gw.client.get("/v1/directory/merchants", headers=bureau.gw.auth(bureau.author))
    assert [m["shop_name"] for m in listed.json()] == ["小熊童装官方店"]


async def test_a_shop_with_neither_registration_nor_entry_belongs_to_its_platforms_province(bureau: Bureau) -> None:
    """A natural person's shop registered through the API has no registration and no entry: its platform's province
    answers for it, so another province cannot import it into its own area."""
    shop = {"platform_id": "zj-mall", "shop_id": "kids-002", "shop_name": "王小明的童装店", "kind": "natural_person"}
    await bureau.gw.post("/v1/merchants", bureau.author, shop)
    guangdong = await bureau.gw.authority("440000", "广东省市场监督管理局")
    row = "zj-mall,kids-002,某店,registered_entity,广州某公司,,440105,童装"

    refused = await _import(bureau, HEADER + row + "\r\n", token=guangdong)
    own = await _import(bureau, HEADER + GOOD[1] + "\r\n")

    assert refused.status_code == 403, refused.text
    assert [(e["row"], e["column"]) for e in refused.json()["errors"]] == [(2, "shop_id")]
    assert own.status_code == 201, own.text
