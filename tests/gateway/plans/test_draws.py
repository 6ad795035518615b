"""Random draws through the API: the SDK's fixed vectors end to end, one draw per plan and scope, a second token's
beacon, the public list the SDK verifies (and every tampering it catches), and bad input."""

from __future__ import annotations

import copy
import json
from collections.abc import Callable
from typing import Any

import pytest
from sqlalchemy import select

from spotcheck.gateway.plans import draws as gateway_draws
from spotcheck.gateway.store.models import AuditRecord
from spotcheck.sdk import parse_draws, verify_draw, verify_draws

from .conftest import Bureau

# The fixed vectors of tests/sdk/test_draws.py (computed with the SDK, checked there against plain hashlib).
CANDIDATES = [f"m-{n:03d}" for n in range(1, 11)]
SECRET = bytes(range(32))
BEACON = "2026-12-07 上证指数收盘 3412.56"
COUNT = 3
CANDIDATES_SHA256 = "89b7dc3448cd720de854b15df624d090bbb72ad4f25173c63d0ffd8f763c5e26"
COMMITMENT = "630dcd2966c4336691125448bbb25b4ff412a49c732db2c8abc1b8581bd710dd"
SEED = "0901e83bfdff4ab582671326d48fe34d4fd65f010704b2f67ea926d90e8cc97f"
SELECTED = ["m-001", "m-002", "m-004"]
INSPECTORS = ["赵六", "张三", "钱七", "李四", "王五"]
INSPECTORS_SHA256 = "87c55213e276bf9cdfa13fff64a6d090b0ca9964c16f23ecb088e66ba0878af1"
INSPECTORS_SELECTED = ["钱七", "赵六"]
SCOPE = {"scope": {"platforms": ["zj-mall"], "categories": ["童装"]}, "count": COUNT}
PRODUCT = {"sample_name": "儿童外套", "trademark": "小熊", "spec_model": "XT-110"}


@pytest.fixture
def fixed_secret(monkeypatch: pytest.MonkeyPatch) -> None:
    """The gateway draws the SDK vectors' secret instead of a random one."""
    monkeypatch.setattr(gateway_draws, "new_secret", lambda: SECRET)


async def _public(bureau: Bureau) -> list[Any]:
    response = await bureau.gw.client.get("/public/draws.json")
    assert response.status_code == 200, response.text
    return parse_draws(response.content)


@pytest.mark.usefixtures("fixed_secret")
async def test_a_draw_end_to_end_gives_the_sdk_vectors_and_verifies(bureau: Bureau) -> None:
    gw = bureau.gw
    await bureau.directory(CANDIDATES)
    await bureau.inspectors(INSPECTORS)
    plan = await bureau.plan()

    draw = await gw.post(f"/v1/plans/{plan['id']}/draws", bureau.author, {**SCOPE, "inspector_count": 2})
    before = await _public(bureau)
    revealed = await gw.post(f"/v1/draws/{draw['id']}/reveal", bureau.officer, {"beacon": BEACON})

    assert (draw["candidates_sha256"], draw["commitment"], draw["secret"]) == (CANDIDATES_SHA256, COMMITMENT, None)
    assert draw["inspectors"]["candidates_sha256"] == INSPECTORS_SHA256
    assert draw["plan_number"] == plan["number"]
    assert [c.status for c in verify_draws(before)] == ["not_revealed"]
    assert (revealed["secret"], revealed["seed"], revealed["selected"]) == (SECRET.hex(), SEED, SELECTED)
    assert revealed["inspectors"]["selected"] == INSPECTORS_SELECTED
    records = await _public(bureau)
    assert [c.status for c in verify_draws(records)] == ["ok"]
    assert records[0]["candidates"] == CANDIDATES
    assert (await gw.get(f"/v1/plans/{plan['id']}", bureau.author))["state"] == "in_progress"
    # The officer opens cases for the selected merchants; a merchant the draw did not select is refused.
    origin = {"kind": "draw", "draw_id": draw["id"]}
    case = await gw.post("/v1/cases", bureau.author, {"merchant_id": "m-004", "origin": origin, "product": PRODUCT})
    assert (case["plan_id"], case["origin"], case["plan_reference"]) == (plan["id"], origin, plan["number"])
    refused = await gw.post(
        "/v1/cases", bureau.author, {"merchant_id": "m-003", "origin": origin, "product": PRODUCT}, expect=422
    )
    assert refused["errors"][0]["field"] == "merchant_id"
    page = await gw.client.get("/public/draws")
    assert page.status_code == 200
    assert plan["number"] in page.text
    assert SEED in page.text


async def test_a_second_draw_of_the_same_plan_and_scope_is_refused_and_audited(bureau: Bureau) -> None:
    gw = bureau.gw
    await bureau.directory(CANDIDATES)
    plan = await bureau.plan()
    first = await gw.post(f"/v1/plans/{plan['id']}/draws", bureau.author, SCOPE)

    refused = await gw.post(f"/v1/plans/{plan['id']}/draws", bureau.officer, SCOPE, expect=409)
    other_scope = {"scope": {"platforms": ["zj-mall"]}, "count": 2}
    await gw.post(f"/v1/plans/{plan['id']}/draws", bureau.author, other_scope)

    assert first["id"] in refused["detail"]
    async with gw.sessions() as session:
        audited = (await session.scalars(select(AuditRecord).where(AuditRecord.action == "draw.reroll_refused"))).all()
    assert [(row.subject, row.detail["earlier_draw"]) for row in audited] == [(plan["id"], first["id"])]
    # The commitment never revealed stays published as such.
    assert [c.status for c in verify_draws(await _public(bureau))] == ["not_revealed", "not_revealed"]


async def test_the_committing_token_cannot_enter_the_beacon_and_a_draw_reveals_once(bureau: Bureau) -> None:
    gw = bureau.gw
    await bureau.directory(CANDIDATES)
    plan = await bureau.plan()
    draw = await gw.post(f"/v1/plans/{plan['id']}/draws", bureau.author, SCOPE)

    same = await gw.post(f"/v1/draws/{draw['id']}/reveal", bureau.author, {"beacon": BEACON}, expect=403)
    await gw.post(f"/v1/draws/{draw['id']}/reveal", bureau.officer, {"beacon": BEACON})
    twice = await gw.post(f"/v1/draws/{draw['id']}/reveal", bureau.officer, {"beacon": "another"}, expect=409)

    assert same["type"].endswith("same-token")
    assert twice["type"].endswith("draw-revealed")
    await gw.get(f"/v1/draws/{draw['id']}", bureau.other_province, expect=403)
    await gw.post(f"/v1/draws/{draw['id']}/reveal", bureau.other_province, {"beacon": "x"}, expect=403)


def _flip(value: str) -> str:
    return ("1" if value[0] == "0" else "0") + value[1:]


TAMPERING: list[tuple[str, Callable[[Any], Any], str]] = [
    ("candidates", lambda ids: [*ids[:-1], "m-999"], "candidates_sha256"),
    ("candidates_sha256", _flip, "candidates_sha256"),
    ("count", lambda _: 2, "count"),
    ("commitment", _flip, "commitment"),
    ("beacon", lambda b: b + " ", "seed"),
    ("secret", _flip, "commitment"),
    ("seed", _flip, "seed"),
    ("selected", lambda ids: ids[::-1], "selected"),
    ("revealed_at", lambda _: "2000-01-01T00:00:00+08:00", "revealed_at"),
    ("inspectors.candidates_sha256", _flip, "inspectors.candidates_sha256"),
    ("inspectors.selected", lambda ids: ids[::-1], "inspectors.selected"),
]


@pytest.mark.usefixtures("fixed_secret")
async def test_tampering_with_any_published_field_fails_the_sdk_check_and_names_it(bureau: Bureau) -> None:
    gw = bureau.gw
    await bureau.directory(CANDIDATES)
    await bureau.inspectors(INSPECTORS)
    plan = await bureau.plan()
    draw = await gw.post(f"/v1/plans/{plan['id']}/draws", bureau.author, {**SCOPE, "inspector_count": 2})
    await gw.post(f"/v1/draws/{draw['id']}/reveal", bureau.officer, {"beacon": BEACON})
    (published,) = await _public(bureau)

    for path, change, reported in TAMPERING:
        record = copy.deepcopy(published)
        *parents, name = path.split(".")
        target = record
        for parent in parents:
            target = target[parent]
        target[name] = change(target[name])
        check = verify_draw(json.loads(json.dumps(record)))
        assert check.failed, path
        assert reported in [problem.field for problem in check.problems], (path, check.problems)


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"scope": {"platforms": ["zj-mall"]}, "count": 11}, "count"),
        ({"scope": {"platforms": ["zj-mall"]}, "count": 0}, "count"),
        ({"scope": {}, "count": 1}, "scope"),
        ({"scope": {"platforms": ["jd-mall"]}, "count": 1}, "scope"),
        ({"scope": {"platforms": ["zj-mall"]}, "count": 1, "inspector_count": 1}, "inspector_count"),
    ],
)
async def test_bad_draws_are_refused_naming_the_field(bureau: Bureau, body: dict[str, Any], field: str) -> None:
    await bureau.directory(CANDIDATES)
    plan = await bureau.plan()

    problem = await bureau.gw.post(f"/v1/plans/{plan['id']}/draws", bureau.author, body, expect=422)

    assert [error["field"] for error in problem["errors"]] == [field], problem
    assert await _public(bureau) == []


async def test_a_draft_plan_cannot_be_drawn(bureau: Bureau) -> None:
    await bureau.directory(CANDIDATES)
    draft = await bureau.plan(approve=False)
    await bureau.gw.post(f"/v1/plans/{draft['id']}/draws", bureau.author, SCOPE, expect=409)


@pytest.mark.slow
async def test_a_draw_of_1000_from_100000_candidates(bureau: Bureau) -> None:
    gw = bureau.gw
    ids = [f"m-{n:06d}" for n in range(100_000)]
    await bureau.directory(ids)
    plan = await bureau.plan()

    draw = await gw.post(
        f"/v1/plans/{plan['id']}/draws", bureau.author, {"scope": {"platforms": ["zj-mall"]}, "count": 1000}
    )
    revealed = await gw.post(f"/v1/draws/{draw['id']}/reveal", bureau.officer, {"beacon": BEACON})

    assert len(revealed["selected"]) == 1000
    assert len(set(revealed["selected"])) == 1000
    assert [c.status for c in verify_draws(await _public(bureau))] == ["ok"]
