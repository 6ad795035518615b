"""案件详情 and 新建案件: a case opened and shown through the console, jurisdiction with its basis, escaping, CSRF.

Set-up (platform, merchant, manufacturer) goes through the JSON API with the officer's authority's token; the case
itself is opened through the console's form.
"""

from __future__ import annotations

import hashlib
import re
from typing import Any

HAZARD_SHOP = "<script>alert(1)</script>"
_FORM = re.compile(r"<form\b[^>]*>(.*?)</form>", re.DOTALL)


async def registry(console: Any, officer: Any, *, shop_name: str = "某某电器旗舰店") -> dict[str, str]:
    """A platform, a registered merchant on it and a manufacturer, through the JSON API; their ids."""
    gw = console.gateway
    platform = await gw.register_platform(officer.token, "zj-mall")
    merchant = await gw.post(
        "/v1/merchants",
        officer.token,
        {
            "platform_id": platform.id,
            "shop_id": "shop-1001",
            "shop_name": shop_name,
            "kind": "registered_entity",
            "legal_name": "杭州某某电器有限公司",
            "uscc": "91330100799655058B",
            "registration_division": "330106",
        },
    )
    maker = await gw.post(
        "/v1/manufacturers",
        officer.token,
        {"name": "佛山某某电器制造有限公司", "division_code": "440604", "contact_email": "qa@maker.example"},
    )
    return {"platform_id": platform.id, "merchant_id": merchant["id"], "manufacturer_id": maker["id"]}


def new_case_form(ids: dict[str, str], **changes: str) -> dict[str, str]:
    """The new-case form as an officer fills it in."""
    form = {
        "merchant_id": ids["merchant_id"],
        "manufacturer_id": ids["manufacturer_id"],
        "plan_reference": "浙市监抽〔2026〕12号",
        "product.sample_name": "电热水壶",
        "product.trademark": "美的",
        "product.spec_model": "MK-HJ1705",
        "product.production_date": "2026-09-01",
        "product.listing_id": "L-88",
    }
    form.update(changes)
    return form


async def open_case(console: Any, officer: Any, ids: dict[str, str]) -> str:
    """Open a case through the console's form; its id."""
    response = await officer.post("/console/cases/new", new_case_form(ids))
    assert response.status_code == 303, response.text
    location = response.headers["location"]
    assert location.startswith("/console/cases/case_"), location
    return str(location.split("?", 1)[0].rsplit("/", 1)[1])


def assert_every_form_has_csrf(html: str) -> None:
    forms = _FORM.findall(html)
    assert forms, "the page has no form"
    for body in forms:
        assert re.search(r'name="csrf_token" value="[^"]{20,}"', body), body[:300]


async def test_new_case_shows_jurisdiction_and_its_basis_before_and_after(console: Any) -> None:
    officer = await console.login("330000")
    ids = await registry(console, officer)

    blank = await officer.get("/console/cases/new")
    assert blank.status_code == 200
    assert "被抽检网络商品经营者" in blank.text
    assert_every_form_has_csrf(blank.text)

    chosen = await officer.get(f"/console/cases/new?merchant_id={ids['merchant_id']}")
    assert "330000" in chosen.text
    assert "本辖区内依法登记的网络商品经营者" in chosen.text
    assert "可以：属本部门辖区" in chosen.text
    fragment = await officer.get(f"/console/cases/new/jurisdiction?merchant_id={ids['merchant_id']}")
    assert fragment.status_code == 200
    assert 'id="jurisdiction"' in fragment.text
    assert "<html" not in fragment.text

    case_id = await open_case(console, officer, ids)
    detail = await officer.get(f"/console/cases/{case_id}?done=create")
    assert detail.status_code == 200
    text = detail.text
    assert "已完成：立案" in text
    assert "330000 · 二: 本辖区内依法登记的网络商品经营者" in text
    assert "电热水壶" in text
    assert "记录网络购样" in text  # the one action a planned case allows
    assert "发出检验结果通知" not in text
    assert_every_form_has_csrf(text)
    # The history names the officer, as the audit trail does.
    events = await console.gateway.get(f"/v1/cases/{case_id}/events", officer.token)
    assert events[0]["actor"].endswith(f"/officer:{officer.username}")


async def test_new_case_refused_fields_are_named_in_chinese_and_kept(console: Any) -> None:
    officer = await console.login("330000")
    ids = await registry(console, officer)
    changes = {
        "product.sample_name": "",
        "product.listing_url": "ftp://x",
        "product.batch_no": "B-7",
        "product.trademark": '"><script>alert(1)</script>',
    }
    form = new_case_form(ids, **changes)
    response = await officer.post("/console/cases/new", form)
    assert response.status_code == 400
    html = response.text
    assert re.search(r'id="new-product-sample_name-error">必填<', html)
    assert "应为以 http:// 或 https:// 开头的网址" in html or "至少 8 个字符" in html
    assert 'value="ftp://x"' in html  # what was typed stays
    assert 'value="B-7"' in html
    assert 'value="MK-HJ1705"' in html
    assert 'value="&#34;&gt;&lt;script&gt;alert(1)&lt;/script&gt;"' in html  # kept, and escaped
    assert "<script>alert(1)" not in html
    assert_every_form_has_csrf(html)


async def test_new_case_outside_jurisdiction_shows_the_apis_problem(console: Any) -> None:
    zj = await console.login("330000")
    ids = await registry(console, zj)
    gd = await console.login("440000")
    response = await gd.post("/console/cases/new", new_case_form(ids))
    assert response.status_code == 403
    assert "不在您所在部门的管辖范围内" in response.text
    assert 'value="电热水壶"' in response.text


async def test_case_detail_jurisdiction_matches_the_api(console: Any) -> None:
    zj = await console.login("330000")
    ids = await registry(console, zj)
    case_id = await open_case(console, zj, ids)
    national = await console.login("100000")  # the national administration sees every case, as in the API
    city = await console.login("330100")  # a city does not see the province's case, as in the API
    gd = await console.login("440000")

    assert (await national.get(f"/console/cases/{case_id}")).status_code == 200
    await console.gateway.get(f"/v1/cases/{case_id}", national.token)
    assert (await city.get(f"/console/cases/{case_id}")).status_code == 403
    await console.gateway.get(f"/v1/cases/{case_id}", city.token, expect=403)
    outside = await gd.get(f"/console/cases/{case_id}")
    assert outside.status_code == 403
    await console.gateway.get(f"/v1/cases/{case_id}", gd.token, expect=403)
    assert (await zj.get("/console/cases/case_NOPE")).status_code == 404

    # Acting on another province's case is refused the same way, and nothing changes.
    refused = await gd.post(f"/console/cases/{case_id}/record_purchase", {"buyer_name": "张三"})
    assert refused.status_code == 403
    case = await console.gateway.get(f"/v1/cases/{case_id}", zj.token)
    assert case["state"] == "planned"


async def test_a_merchant_named_like_a_script_is_shown_as_text(console: Any) -> None:
    officer = await console.login("330000")
    ids = await registry(console, officer, shop_name=HAZARD_SHOP)
    case_id = await open_case(console, officer, ids)
    for path in (f"/console/cases/{case_id}", "/console/cases/new"):
        html = (await officer.get(path)).text
        assert "&lt;script&gt;alert(1)&lt;/script&gt;" in html, path
        assert HAZARD_SHOP not in html, path


async def test_evidence_upload_preview_and_digest(console: Any) -> None:
    officer = await console.login("330000")
    ids = await registry(console, officer)
    case_id = await open_case(console, officer, ids)
    png = small_png()
    uploaded = await officer.post(
        f"/console/cases/{case_id}/evidence",
        {"step": "listing", "description": "商品页面截屏"},
        files={"file": ("listing.png", png, "image/png")},
    )
    assert uploaded.status_code == 303, uploaded.text
    html = (await officer.get(f"/console/cases/{case_id}?uploaded=1")).text
    digest = hashlib.sha256(png).hexdigest()
    assert digest in html
    assert f'<img src="/console/evidence/{digest}"' in html
    served = await officer.get(f"/console/evidence/{digest}")
    assert served.status_code == 200
    assert served.content == png
    assert served.headers["content-type"].startswith("image/png")
    # Another province sees neither the file nor the page.
    gd = await console.login("440000")
    assert (await gd.get(f"/console/evidence/{digest}")).status_code == 403

    # Above the API's 1 MB body limit: the form takes files up to its own bound.
    large = small_png() + b"\x00" * 1_500_000
    bigger = await officer.post(
        f"/console/cases/{case_id}/evidence",
        {"step": "purchase", "description": "大截屏"},
        files={"file": ("large.png", large, "image/png")},
    )
    assert bigger.status_code == 303, bigger.text[:500]

    empty = await officer.post(f"/console/cases/{case_id}/evidence", {"step": "listing"})
    assert empty.status_code == 400
    assert "请选择要上传的文件" in empty.text


def small_png(shade: int = 0) -> bytes:
    """A small real PNG (puremagic must recognise it); ``shade`` makes files with different bytes."""
    import struct
    import zlib

    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data) & 0xFFFFFFFF)

    raw = b"".join(b"\x00" + bytes([200, 30, (30 + shade) % 256]) * 16 for _ in range(16))
    header = struct.pack(">IIBBBBB", 16, 16, 8, 2, 0, 0, 0)
    return b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header) + chunk(b"IDAT", zlib.compress(raw)) + chunk(b"IEND", b"")


def test_a_fresh_action_form_is_rendered_once_and_as_the_macro_writes_it() -> None:
    """The page reuses a fresh form's markup: the same as the ``nodes`` macro writes, escaping included."""
    from spotcheck.gateway.console import case_detail
    from spotcheck.gateway.console.case_actions import ACTION_SPECS
    from spotcheck.gateway.console.forms import EvidenceChoice, FormContext, build_form
    from spotcheck.gateway.console.render import form_macro

    evidence = [EvidenceChoice(id="ev-1", label=HAZARD_SHOP, ref={"sha256": "0" * 64, "step": "other"})]
    citing = 0
    for name, spec in ACTION_SPECS.items():
        if spec.body is None:
            continue
        form = build_form(spec.body, FormContext(evidence=evidence))
        html = case_detail._fresh_form_html(name, form)
        assert str(html) == str(form_macro("nodes")(f"a-{name}", form.nodes, form))
        assert case_detail._fresh_form_html(name, build_form(spec.body, FormContext(evidence=evidence))) is html
        assert HAZARD_SHOP not in str(html)  # a label from the database is escaped in the cached markup too
        citing += "&lt;script&gt;" in str(html)
    assert citing  # some action cites the case's evidence, so the escaping above was tested
