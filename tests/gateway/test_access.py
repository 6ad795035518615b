"""Tokens, scopes, jurisdiction (opinion 二), entrustment, SSRF checks and secrets at rest."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest
from sqlalchemy import select, text

from spotcheck.gateway.store.models import ApiToken, Case, OperationalEvent, Platform, PlatformKey
from spotcheck.gateway.store.types import utcnow

pytestmark = pytest.mark.postgres

PRODUCT = {"sample_name": "儿童服装", "trademark": "巴拉巴拉", "spec_model": "110cm"}


async def merchant(gw: Any, token: str, platform_id: str | None, **fields: Any) -> str:
    body = {"platform_id": platform_id, "shop_id": fields.pop("shop_id", "shop-1"), "shop_name": "某店", **fields}
    return str((await gw.post("/v1/merchants", token, body))["id"])


async def test_missing_malformed_and_unknown_tokens_answer_401(gateway: Any) -> None:
    gw = gateway
    for headers in (
        {},
        {"authorization": "Basic abc"},
        {"authorization": "Bearer sct_nope_nope"},
        {"authorization": "Bearer " + "x" * 500},
    ):
        response = await gw.client.get("/v1/cases", headers=headers)
        assert response.status_code == 401, headers
        assert response.json()["type"] == "urn:spotcheck:problem:unauthenticated"
        assert response.headers["www-authenticate"].startswith("Bearer")


async def test_a_request_without_a_token_is_told_to_authenticate_before_its_body_is_read(gateway: Any) -> None:
    # Litestar validates a body before the handler's dependencies: without the app's guard these answered 400,
    # telling a caller with no credentials what was wrong with its body.
    gw = gateway
    for content, media_type in (
        (b'{"bogus": 1}', "application/json"),
        (b"{not json", "application/json"),
        (b'{"merchant_id": 7, "product": {}}', "application/json"),
        (b"raw", "text/plain"),
    ):
        for headers in ({}, {"authorization": "Basic abc"}, {"authorization": "Bearer "}):
            response = await gw.client.post(
                "/v1/cases", content=content, headers={"content-type": media_type, **headers}
            )
            assert response.status_code == 401, (content, headers, response.text)
            assert response.json()["type"] == "urn:spotcheck:problem:unauthenticated"
            assert response.headers["www-authenticate"] == 'Bearer realm="spotcheck"'
    zj = await gw.authority("330000", "浙江省市场监督管理局")
    # With a token, the body is read and refused by name; routes without a token (intake, public, console) as before.
    refused = await gw.client.post(
        "/v1/cases", content=b'{"bogus": 1}', headers={**gw.auth(zj), "content-type": "application/json"}
    )
    assert refused.status_code == 400
    assert "bogus" in refused.text
    # OPTIONS carries no credentials (a CORS preflight): Litestar answers it with the allowed methods, not 401.
    options = await gw.client.options("/v1/cases")
    assert options.status_code == 204, options.text
    assert "POST" in options.headers["allow"]
    assert (await gw.client.get("/public/announcements")).status_code == 200
    assert (
        await gw.client.post("/v1/intake/nobody", content=b"{}", headers={"content-type": "application/json"})
    ).status_code == 404


async def test_refused_requests_give_their_database_connection_back(gateway: Any) -> None:
    # A dependency that fails after the session was opened (the principal: 401) must not strand the session's
    # connection: a stream of bad tokens would otherwise drain the pool until the garbage collector ran.
    gw = gateway
    pool = gw.client.app.state.runtime.engine.pool
    zj = await gw.authority("330000", "浙江省市场监督管理局", scopes=("read",))
    for _ in range(30):
        assert (await gw.client.get("/v1/cases", headers={"authorization": "Bearer sct_nope_nope"})).status_code == 401
        assert pool.checkedout() == 0
    assert (await gw.client.post("/v1/authorities", json={}, headers=gw.auth(zj))).status_code in {400, 403}
    assert pool.checkedout() == 0
    assert (await gw.client.get("/v1/cases", headers=gw.auth(zj))).status_code == 200
    assert pool.checkedout() == 0


async def test_tokens_are_stored_hashed_and_revocation_and_expiry_hold(gateway: Any) -> None:
    gw = gateway
    token = await gw.authority("330000", "浙江省市场监督管理局")
    assert (await gw.client.get("/v1/cases", headers=gw.auth(token))).status_code == 200
    token_id, secret = token.removeprefix("sct_").split("_", 1)
    async with gw.sessions() as session, session.begin():
        row = await session.get(ApiToken, token_id)
        assert row is not None
        assert secret not in row.secret_sha256
        assert len(row.secret_sha256) == 64
        row.expires_at = utcnow() - timedelta(seconds=1)
    assert (await gw.client.get("/v1/cases", headers=gw.auth(token))).status_code == 401
    wrong = f"sct_{token_id}_{'A' * len(secret)}"
    assert (await gw.client.get("/v1/cases", headers=gw.auth(wrong))).status_code == 401


async def test_read_only_tokens_cannot_change_anything(gateway: Any) -> None:
    gw = gateway
    admin = await gw.authority("330000", "浙江省市场监督管理局")
    reader = await gw.authority("330000", "浙江省市场监督管理局", scopes=("read",))
    platform = await gw.register_platform(admin, "tmall-test")
    response = await gw.client.post(
        "/v1/merchants",
        json={"platform_id": platform.id, "shop_id": "s", "shop_name": "店", "kind": "natural_person"},
        headers=gw.auth(reader),
    )
    assert response.status_code == 403
    assert response.json()["type"] == "urn:spotcheck:problem:insufficient-scope"
    writer = await gw.authority("330000", "浙江省市场监督管理局", scopes=("read", "write"))
    response = await gw.client.post("/v1/platforms", json={}, headers=gw.auth(writer))
    assert response.status_code in {400, 403}


async def test_one_province_cannot_touch_another_provinces_cases(gateway: Any) -> None:
    gw = gateway
    zj = await gw.authority("330000", "浙江省市场监督管理局")
    gd = await gw.authority("440000", "广东省市场监督管理局")
    national = await gw.authority("100000", "国家市场监督管理总局")
    platform = await gw.register_platform(zj, "tmall-test")
    mid = await merchant(gw, zj, platform.id, kind="registered_entity", registration_division="330106")
    case = await gw.post("/v1/cases", zj, {"merchant_id": mid, "plan_reference": "p", "product": PRODUCT})

    assert (await gw.client.get(f"/v1/cases/{case['id']}", headers=gw.auth(gd))).status_code == 403
    purchase = await gw.client.post(f"/v1/cases/{case['id']}/purchase", json={}, headers=gw.auth(gd))
    assert purchase.status_code in {400, 403}  # body validation may answer first; never 2xx
    listed = await gw.get("/v1/cases", gd)
    assert listed == []
    assert (await gw.client.get(f"/v1/cases/{case['id']}", headers=gw.auth(national))).status_code == 200

    # Guangdong may not open a case on a merchant registered in Zhejiang, sold on a Zhejiang platform.
    refused = await gw.client.post(
        "/v1/cases", json={"merchant_id": mid, "plan_reference": "p", "product": PRODUCT}, headers=gw.auth(gd)
    )
    assert refused.status_code == 403
    assert "二" in refused.json()["detail"]


async def test_the_case_list_counts_only_visible_cases_and_refuses_bad_parameters(gateway: Any) -> None:
    """``limit`` counts the cases this authority may see: newer cases elsewhere never crowd its own out."""
    gw = gateway
    zj = await gw.authority("330000", "浙江省市场监督管理局")
    js = await gw.authority("320000", "江苏省市场监督管理局")
    zj_platform = await gw.register_platform(zj, "tmall-test")
    js_platform = await gw.register_platform(js, "js-mall", province="320000")
    mid = await merchant(gw, zj, zj_platform.id, kind="registered_entity", registration_division="330106")
    own = await gw.post("/v1/cases", zj, {"merchant_id": mid, "plan_reference": "p", "product": PRODUCT})
    for n in range(2):
        other = await merchant(
            gw, js, js_platform.id, shop_id=f"js-{n}", kind="registered_entity", registration_division="320106"
        )
        await gw.post("/v1/cases", js, {"merchant_id": other, "plan_reference": "p", "product": PRODUCT})

    async with gw.sessions() as session, session.begin():
        others = (await session.scalars(select(Case.id).where(Case.id != own["id"]).order_by(Case.id))).all()
        for index, case_id in enumerate([own["id"], *others]):  # the other province's events are the newest
            session.add(OperationalEvent(id=f"evt_{index:02d}", kind="delivery.exhausted", case_id=case_id, detail={}))

    newest = await gw.get("/v1/cases?limit=1", zj)
    events = await gw.get("/v1/events?limit=1", zj)
    assert [event["case_id"] for event in events] == [own["id"]]
    planned = await gw.get("/v1/cases?in_state=planned&limit=1", zj)
    refusals = {
        query: await gw.client.get(f"/v1/cases?{query}", headers=gw.auth(zj))
        for query in ("limit=0", "limit=201", "limit=x", "in_state=unknown")
    }

    assert [case["id"] for case in newest] == [own["id"]]
    assert [case["id"] for case in planned] == [own["id"]]
    for query, answer in refusals.items():
        assert answer.status_code == 400, (query, answer.text)
        assert query.split("=")[0] in answer.text, (query, answer.text)


async def test_list_limits_outside_their_range_are_refused_naming_the_parameter(gateway: Any) -> None:
    """A limit is checked, not quietly clamped: the caller learns the range instead of getting fewer rows."""
    gw = gateway
    admin = await gw.authority("100000", "国家市场监督管理总局")
    for route, top in (("/v1/events", 500), ("/v1/deliveries", 1000), ("/v1/cases", 200)):
        for limit in (0, top + 1):
            answer = await gw.client.get(f"{route}?limit={limit}", headers=gw.auth(admin))
            assert answer.status_code == 400, (route, limit, answer.text)
            assert [error["field"] for error in answer.json()["errors"]] == ["limit"], answer.text
        assert (await gw.client.get(f"{route}?limit={top}", headers=gw.auth(admin))).status_code == 200


async def test_jurisdiction_follows_registration_or_platform_province(gateway: Any) -> None:
    gw = gateway
    zj = await gw.authority("330000", "浙江省市场监督管理局")
    js = await gw.authority("320000", "江苏省市场监督管理局")
    platform = await gw.register_platform(zj, "tmall-test")  # platform located in Zhejiang
    # A natural person on a Zhejiang platform falls to Zhejiang (opinion 二).
    person = await merchant(gw, zj, platform.id, kind="natural_person", shop_id="p1")
    case = await gw.post("/v1/cases", zj, {"merchant_id": person, "plan_reference": "p", "product": PRODUCT})
    assert case["jurisdiction_division"] == "330000"
    assert "平台" in case["jurisdiction_basis"]
    # A company registered in Jiangsu selling on the Zhejiang platform: Jiangsu by registration...
    company = await merchant(
        gw, js, platform.id, kind="registered_entity", registration_division="320102", shop_id="c1"
    )
    by_home = await gw.post("/v1/cases", js, {"merchant_id": company, "plan_reference": "p", "product": PRODUCT})
    assert by_home["jurisdiction_division"] == "320000"
    assert "登记" in by_home["jurisdiction_basis"]
    # ...and Zhejiang, the platform's province, may also sample it (opinion 二: 也可以根据需要).
    by_platform = await gw.post("/v1/cases", zj, {"merchant_id": company, "plan_reference": "p", "product": PRODUCT})
    assert by_platform["jurisdiction_division"] == "330000"
    assert "platform province" in by_platform["jurisdiction_basis"]


async def test_a_higher_authority_can_entrust_a_lower_one(gateway: Any) -> None:
    gw = gateway
    zj = await gw.authority("330000", "浙江省市场监督管理局")
    hz = await gw.authority("330100", "杭州市市场监督管理局")
    platform = await gw.register_platform(zj, "tmall-test")
    company = await merchant(gw, zj, platform.id, kind="registered_entity", registration_division="330106")
    body = {"merchant_id": company, "plan_reference": "p", "product": PRODUCT}
    # Hangzhou covers 3301xx, but sampling a registered merchant is the province's unless entrusted.
    assert (await gw.client.post("/v1/cases", json=body, headers=gw.auth(hz))).status_code == 403
    authorities = await gw.get("/v1/authorities", zj)
    hz_id = next(a["id"] for a in authorities if a["division_code"] == "330100")
    outside = await gw.client.post(
        "/v1/entrustments", json={"agent_authority_id": hz_id, "division_code": "440100"}, headers=gw.auth(zj)
    )
    assert outside.status_code == 403
    await gw.post("/v1/entrustments", zj, {"agent_authority_id": hz_id, "division_code": "330000", "note": "委托实施"})
    case = await gw.post("/v1/cases", hz, body)
    assert case["jurisdiction_division"] == "330000"
    # The entrusting province still sees the case its agent opened.
    assert (await gw.client.get(f"/v1/cases/{case['id']}", headers=gw.auth(zj))).status_code == 200


async def test_endpoint_urls_resolving_to_private_addresses_are_refused(gateway: Any) -> None:
    gw = gateway
    gw.client.app.state.runtime.settings = gw.settings.with_changes({"delivery.allow_private_endpoints": False})
    zj = await gw.authority("330000", "浙江省市场监督管理局")
    for url in (
        "https://127.0.0.1/hook",
        "https://10.0.0.8/hook",
        "https://169.254.169.254/latest",
        "https://[::1]/hook",
        "http://93.184.216.34/hook",
    ):
        response = await gw.client.post(
            "/v1/platforms",
            json={
                "id": "evil",
                "name": "x",
                "province_code": "330000",
                "contact": {"name": "x"},
                "endpoint_url": url,
                "inbound_keys": ["whpk_" + "A" * 43 + "="],
            },
            headers=gw.auth(zj),
        )
        assert response.status_code == 400, url
        assert response.json()["errors"][0]["field"] == "endpoint_url"


async def test_signing_secrets_are_encrypted_at_rest_and_not_in_listings(gateway: Any) -> None:
    gw = gateway
    zj = await gw.authority("330000", "浙江省市场监督管理局")
    platform = await gw.register_platform(zj, "tmall-test")
    secret_body = platform.notice_secret.removeprefix("whsec_")
    async with gw.sessions() as session:
        keys = (await session.scalars(select(PlatformKey).where(PlatformKey.platform_id == platform.id))).all()
        dump = await session.execute(text("SELECT * FROM platform_keys"))
        raw = repr(dump.all())
        row = await session.get(Platform, platform.id)
    assert {k.direction for k in keys} == {"inbound", "outbound"}
    assert secret_body not in raw
    assert row is not None
    assert secret_body not in repr(row.adapter_config)
    listing = (await gw.client.get("/v1/platforms", headers=gw.auth(zj))).text
    assert "whsec_" not in listing


async def test_open_platform_app_secret_is_sealed(gateway: Any) -> None:
    gw = gateway
    zj = await gw.authority("330000", "浙江省市场监督管理局")
    await gw.post(
        "/v1/platforms",
        zj,
        {
            "id": "top-mall",
            "name": "开放平台商城",
            "province_code": "330000",
            "contact": {"name": "x"},
            "adapter": "open-platform",
            "inbound_keys": ["whpk_" + "A" * 43 + "="],
            "adapter_config": {
                "url": "http://127.0.0.1:9/router/rest",
                "app_key": "12345678",
                "app_secret": "very-secret-app-secret",
                "methods": {"takedown.order": "gov.takedown"},
            },
        },
    )
    async with gw.sessions() as session:
        row = await session.get(Platform, "top-mall")
    assert row is not None
    assert "very-secret-app-secret" not in repr(row.adapter_config)
    assert "app_secret" in row.adapter_config["__sealed__"]


async def test_unknown_adapters_and_bad_adapter_config_name_the_field(gateway: Any) -> None:
    gw = gateway
    zj = await gw.authority("330000", "浙江省市场监督管理局")
    base = {
        "id": "x-mall",
        "name": "x",
        "province_code": "330000",
        "contact": {"name": "x"},
        "inbound_keys": ["whpk_" + "A" * 43 + "="],
    }
    response = await gw.client.post("/v1/platforms", json={**base, "adapter": "webhok"}, headers=gw.auth(zj))
    assert response.status_code == 400
    assert "not found: misspelled or not installed" in response.json()["detail"]
    response = await gw.client.post(
        "/v1/platforms",
        json={**base, "adapter": "open-platform", "adapter_config": {"url": "http://127.0.0.1:9/"}},
        headers=gw.auth(zj),
    )
    assert response.status_code == 400
    assert response.json()["errors"][0]["field"].startswith("adapter_config.")
    response = await gw.client.post(
        "/v1/platforms",
        json={**base, "endpoint_url": "http://127.0.0.1:9/hook", "inbound_keys": ["whsk_secret-key-never"]},
        headers=gw.auth(zj),
    )
    assert response.status_code == 400
    assert response.json()["errors"][0]["field"] == "inbound_keys[0]"


async def test_unknown_request_fields_are_rejected_by_name(gateway: Any) -> None:
    gw = gateway
    zj = await gw.authority("330000", "浙江省市场监督管理局")
    response = await gw.client.post("/v1/manufacturers", json={"name": "厂", "colour": "red"}, headers=gw.auth(zj))
    assert response.status_code == 400
    problem = response.json()
    assert "colour" in problem["detail"]
    response = await gw.client.post(
        "/v1/manufacturers", json={"name": "厂", "uscc": "91330100799655058C"}, headers=gw.auth(zj)
    )
    assert response.status_code == 400
    assert response.json()["errors"][0]["field"] == "uscc"


async def test_unreadable_bodies_name_the_body_or_the_media_type(gateway: Any) -> None:
    gw = gateway
    zj = await gw.authority("330000", "浙江省市场监督管理局")

    async def send(body: bytes, content_type: str) -> Any:
        headers = {**gw.auth(zj), "content-type": content_type}
        return await gw.client.post("/v1/manufacturers", content=body, headers=headers)

    malformed = await send(b"{not json", "application/json")
    assert malformed.status_code == 400
    assert malformed.json()["type"] == "urn:spotcheck:problem:invalid-request"
    assert malformed.json()["errors"][0]["field"] == "body"
    assert "malformed" in malformed.json()["errors"][0]["reason"]

    empty = await send(b"", "application/json")
    assert empty.status_code == 400
    assert empty.json()["errors"] == [{"field": "body", "reason": "the body is empty; a JSON object is required"}]

    form = await send(b"name=x", "application/x-www-form-urlencoded")
    assert form.status_code == 415
    assert form.json()["errors"][0]["field"] == "content-type"
    assert "application/x-www-form-urlencoded" in form.json()["detail"]

    # A JSON body under a JSON-family media type is read as usual.
    accepted = await send('{"name": "某厂"}'.encode(), "application/merge-patch+json; charset=utf-8")
    assert accepted.status_code == 201, accepted.text
