"""The public site: published results in HTML, JSON, Atom and CSV; announcements; no 5xx for any query."""

from __future__ import annotations

import asyncio
import csv
import hashlib
import io
import xml.etree.ElementTree as ET
from typing import Any

import msgspec
import pytest
from sqlalchemy import func, select

from spotcheck.adapters import AdapterContext, AnnouncementAdapter, OutgoingMessage
from spotcheck.gateway.public import announcement_sink, mask_personal_name
from spotcheck.gateway.store.models import AuditRecord
from spotcheck.gateway.store.models_public import Announcement

pytestmark = pytest.mark.postgres

ATOM = "{http://www.w3.org/2005/Atom}"
HOSTILE_TRADEMARK = "=HYPERLINK(\"x\")<script>alert('x')</script>"
SEED_FIELDS = (
    "样品名称",
    "被抽检网络商品经营者",
    "标称商标",
    "标称生产者名称",
    "规格型号",
    "生产日期",
    "主要不合格项目",
    "综合判定结论",
    "第三方交易平台经营者名称",
)
BAD_FILTERS = [
    "from=2026-02-30",
    "from=yesterday",
    "to=99999-01-01",
    "from=0001-01-01",
    "to=9999-12-31",
    "from=2026-03-10&to=2026-03-01",
    "trademark=%00",
    "manufacturer=a%0Ab",
    "platform=" + "x" * 101,
    "conclusion=maybe",
]
BAD_PAGING = [
    "page=0",
    "page=-1",
    "page=abc",
    "page=99999999999999999999",
    "per_page=101",
    "per_page=1e3",
    "per_page=%EF%BC%91",  # a full-width digit one
]
HARMLESS_QUERIES = ["trademark=%FF%FE", "trademark=%25", "unknown=1", "page=1&page=abc", "trademark=&platform="]


def parse_atom(body: bytes) -> ET.Element:
    return ET.fromstring(body)  # noqa: S314 - the gateway's own output, asserted well-formed


async def html(gw: Any, path: str, expect: int = 200) -> str:
    response = await gw.client.get(path)
    assert response.status_code == expect, f"{path}: {response.status_code}"
    assert response.headers["content-type"].startswith("text/html")
    assert "default-src 'none'" in response.headers["content-security-policy"]
    return str(response.text)


async def test_published_results_in_html_json_atom_and_csv(gateway: Any, publish_case: Any) -> None:
    gw = gateway
    zj = await gw.authority("330000", "浙江省市场监督管理局")
    tmall = await gw.register_platform(zj, "tmall-pub")
    jd = await gw.register_platform(zj, "jd-pub", province="330000")
    kettle = await publish_case(gw, zj, tmall.id, shop="shop-kettle")
    person = await publish_case(
        gw, zj, jd.id, shop="shop-person", failing=False, trademark=HOSTILE_TRADEMARK, natural_person=True
    )
    soymilk = await publish_case(gw, zj, tmall.id, shop="shop-soy", trademark="九阳", sample="豆浆机")
    unpublished = await publish_case(gw, zj, tmall.id, shop="shop-draft", publish=False)

    # The list: every seed field, newest first, nothing unpublished, natural persons masked, everything escaped.
    page = await html(gw, "/public/results")
    for label in SEED_FIELDS:
        assert label in page
    assert page.index(soymilk) < page.index(kettle)
    assert unpublished not in page
    assert "shop-person 旗舰店（经营者：王**）" in page
    assert "王小明" not in page
    assert "杭州市某路1号" not in page
    assert "<script>" not in page
    assert "&lt;script&gt;alert(&#39;x&#39;)&lt;/script&gt;" in page
    assert "共 3 条结果" in page

    async def found(query: str) -> list[str]:
        data = (await gw.client.get(f"/public/results.json?{query}")).json()
        return [item["case_id"] for item in data["items"]]

    assert await found("trademark=美的") == [kettle]
    assert await found("trademark=hyperlink") == [person]  # case-insensitive on every engine
    assert await found("trademark=_") == []  # LIKE wildcards are literal
    assert await found("manufacturer=佛山") == [soymilk, person, kettle]
    assert await found("platform=jd-pub 网络") == [person]
    assert await found("platform=tmall-pub") == [soymilk, kettle]
    assert await found("conclusion=fail") == [soymilk, kettle]
    assert await found("from=2000-01-01&to=2000-12-31") == []
    assert await found("from=2020-01-01") == [soymilk, person, kettle]

    # Pages of one: links to the neighbours, and an empty page past the end.
    second = await html(gw, "/public/results?per_page=1&page=2")
    assert person in second
    assert kettle not in second
    assert 'href="/public/results?per_page=1" rel="prev"' in second
    assert 'href="/public/results?per_page=1&amp;page=3" rel="next"' in second
    filtered = await html(gw, "/public/results?conclusion=fail&per_page=1")
    assert 'href="/public/results?conclusion=fail&amp;per_page=1&amp;page=2" rel="next"' in filtered
    assert "没有符合条件的抽检结果" in await html(gw, "/public/results?page=9")

    detail = await html(gw, f"/public/results/{kettle}")
    for text in ("电热水壶", "杭州某某电器有限公司", "佛山某某电器制造有限公司", "MK-HJ1705", "2026-01-05"):
        assert text in detail
    assert "泄漏电流" in detail
    assert "不合格" in detail
    assert "tmall-pub 网络有限公司" in detail
    assert "R-shop-kettle" in detail
    passing = await html(gw, f"/public/results/{person}")
    assert "合格" in passing
    assert "王**" in passing
    assert "王小明" not in passing
    assert "没有该抽检结果" in await html(gw, f"/public/results/{unpublished}", expect=404)
    assert "没有该抽检结果" in await html(gw, "/public/results/case_<script>", expect=404)
    assert (await gw.client.get("/public/results/..%2F..%2Fetc")).status_code == 404

    listing = (await gw.client.get("/public/results.json?per_page=2")).json()
    assert listing["total"] == 3
    assert listing["next"] == "https://spotcheck.example.gov.cn/public/results.json?per_page=2&page=2"
    first = listing["items"][0]
    assert first["main_failing_items"] == ["泄漏电流"]
    assert first["conclusion_label"] == "不合格"
    assert first["url"] == f"https://spotcheck.example.gov.cn/public/results/{soymilk}"
    [masked] = (await gw.client.get("/public/results.json?platform=jd-pub")).json()["items"]
    assert masked["merchant_name"] == "shop-person 旗舰店（经营者：王**）"
    assert masked["platform_name"] == "jd-pub 网络有限公司"

    atom = await gw.client.get("/public/results.atom")
    assert atom.headers["content-type"].startswith("application/atom+xml")
    feed = parse_atom(atom.content)
    entries = feed.findall(f"{ATOM}entry")
    assert [e.findtext(f"{ATOM}id") for e in entries] == [
        f"https://spotcheck.example.gov.cn/public/results/{case}" for case in (soymilk, person, kettle)
    ]
    assert entries[0].findtext(f"{ATOM}title") == "豆浆机（九阳 MK-HJ1705）抽检不合格"
    assert HOSTILE_TRADEMARK in (entries[1].findtext(f"{ATOM}summary") or "")
    assert len(parse_atom((await gw.client.get("/public/results.atom?trademark=九阳")).content)) > 0

    exported = await gw.client.get("/public/results.csv")
    assert exported.headers["content-type"].startswith("text/csv")
    assert "attachment" in exported.headers["content-disposition"]
    assert exported.content.startswith(b"\xef\xbb\xbf")
    rows = list(csv.reader(io.StringIO(exported.content.decode("utf-8-sig"))))
    assert tuple(rows[0][:9]) == SEED_FIELDS
    assert len(rows) == 4
    assert rows[1][:3] == ["豆浆机", "杭州某某电器有限公司", "九阳"]
    assert rows[1][6:9] == ["泄漏电流", "不合格", "tmall-pub 网络有限公司"]
    assert rows[2][2] == "'" + HOSTILE_TRADEMARK  # never a live spreadsheet formula
    assert rows[2][1] == "shop-person 旗舰店（经营者：王**）"
    only_fail = (await gw.client.get("/public/results.csv?conclusion=fail")).content.decode("utf-8-sig")
    assert len(only_fail.strip().splitlines()) == 3


async def test_malformed_queries_answer_400_never_5xx(gateway: Any) -> None:
    gw = gateway
    for query in BAD_FILTERS + BAD_PAGING:
        page = await gw.client.get(f"/public/results?{query}")
        assert page.status_code == 400, query
        assert page.headers["content-type"].startswith("text/html"), query
        assert "查询条件有误" in page.text
        # The feed and the export have no pages; they refuse bad filters only.
        data_paths = ("/public/results.json", "/public/results.csv", "/public/results.atom")
        for data_path in data_paths if query in BAD_FILTERS else data_paths[:1]:
            problem = await gw.client.get(f"{data_path}?{query}")
            assert problem.status_code == 400, (data_path, query)
            assert problem.json()["type"] == "urn:spotcheck:problem:invalid-query"
    for query in HARMLESS_QUERIES:
        for path in ("/public/results", "/public/results.json", "/public/results.csv", "/public/results.atom"):
            response = await gw.client.get(f"{path}?{query}")
            assert response.status_code == 200, (path, query)
    assert (await gw.client.get("/public/announcements?per_page=0")).status_code == 400
    assert (await gw.client.get("/public/announcements/ann_x")).status_code == 404
    assert (await gw.client.get("/public/", follow_redirects=False)).headers["location"] == "/public/results"
    assert (await gw.client.get("/public/static/site.css")).headers["content-type"].startswith("text/css")


def notice_body(case_id: str) -> bytes:
    """A notice as the gateway encodes it, with a natural-person merchant and the regulator's buyer in it."""
    return msgspec.json.encode(
        {
            "type": "result.notice",
            "timestamp": "2026-03-02T02:00:00Z",
            "data": {
                "case_id": case_id,
                "merchant": {
                    "shop_id": "shop-9",
                    "shop_name": "小王的店",
                    "kind": "natural_person",
                    "legal_name": "王小明",
                    "address": "杭州市某路1号",
                    "contact": "13800000000",
                },
                "orders": [{"order_no": "T-9", "buyer_account": "buyer_zj01", "amount_fen": 100}],
                "conclusion": "fail",
                "report_no": "ZJ-2026-0456",
            },
        }
    )


async def test_announcements_are_stored_once_audited_and_published_without_personal_data(gateway: Any) -> None:
    gw = gateway
    sink = announcement_sink(gw.sessions)
    context = AdapterContext(announcement_sink=sink, clock=lambda: 1772416800.0)  # 2026-03-02 10:00 Beijing
    adapter = AnnouncementAdapter({"reason": "经营者地址不详"}, context=context)
    case_id = "case_01J0000000000000000000000A"
    message = OutgoingMessage(
        message_id="msg_01J0000000000000000000000A",
        message_type="result.notice",
        body=notice_body(case_id),
        timestamp=1772416800,
        case_id=case_id,
        recipient_name="小王的店 <b>",
        authority="浙江省市场监督管理局",
    )
    first = await adapter.deliver(message)
    again = await adapter.deliver(message)
    assert (first.status, again.status) == ("delivered", "delivered")
    assert first.remote_reference == again.remote_reference
    assert first.remote_reference is not None
    assert first.remote_reference.startswith("ann_")

    # Two workers publishing the same new message at once still make one announcement.
    twin = adapter.build_announcement(
        msgspec.structs.replace(message, message_id="msg_01J0000000000000000000000B"), now=1772420400
    )
    ids = await asyncio.gather(sink.publish(twin), sink.publish(twin))
    assert ids[0] == ids[1]

    async with gw.sessions() as session:
        assert await session.scalar(select(func.count()).select_from(Announcement)) == 2
        audited = (
            await session.scalars(select(AuditRecord).where(AuditRecord.action == "announcement.published"))
        ).all()
    assert sorted(r.detail["message_id"] for r in audited) == [message.message_id, twin.message_id]
    assert {r.detail["body_sha256"] for r in audited} == {hashlib.sha256(message.body).hexdigest()}

    listing = await html(gw, "/public/announcements")
    assert "共 2 条公告" in listing
    assert "小王的店 &lt;b&gt;" in listing
    detail = await html(gw, f"/public/announcements/{first.remote_reference}")
    assert "因经营者地址不详无法通知" in detail
    assert hashlib.sha256(message.body).hexdigest() in detail
    assert "王**" in detail
    assert "ZJ-2026-0456" in detail
    for private in ("王小明", "杭州市某路1号", "13800000000", "buyer_zj01"):
        assert private not in detail
    assert "2026-03-02 10:00（北京时间）" in detail  # when it was published

    feed = parse_atom((await gw.client.get("/public/announcements.atom")).content)
    entries = feed.findall(f"{ATOM}entry")
    assert [e.findtext(f"{ATOM}id") for e in entries] == [
        f"https://spotcheck.example.gov.cn/public/announcements/{ids[0]}",
        f"https://spotcheck.example.gov.cn/public/announcements/{first.remote_reference}",
    ]
    assert "小王的店 <b>" in (entries[0].findtext(f"{ATOM}title") or "")
    second_page = await html(gw, "/public/announcements?per_page=1&page=2")
    assert first.remote_reference in second_page


@pytest.mark.parametrize(
    ("name", "masked"), [("王小明", "王**"), ("欧阳娜娜", "欧***"), ("王", "王*"), ("  李四 ", "李*"), ("", "")]
)
def test_natural_person_names_are_masked(name: str, masked: str) -> None:
    assert mask_personal_name(name) == masked
