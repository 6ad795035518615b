"""The reply client against the real gateway app (SQLite): acknowledge, chunked records, confirm, resume, refusals."""

from __future__ import annotations

import hashlib
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from litestar.testing import AsyncTestClient

from spotcheck.gateway.app import create_app
from spotcheck.gateway.demo import upload_sampling_evidence
from spotcheck.gateway.registry.service import create_token_for_authority
from spotcheck.gateway.settings import Settings
from spotcheck.schemas import LogEntry, TransactionRecord
from spotcheck.sdk import (
    AsyncGatewayClient,
    AuthenticationError,
    InvalidRequestError,
    UploadState,
    generate_keypair,
)

NOW = datetime.now(UTC)
SHA = hashlib.sha256(b"listing snapshot").hexdigest()
PLATFORM = "tmall-e2e"


class SimulatedCrashError(Exception):
    """Stands for the platform's process dying between two chunks."""


class Regulator:
    """Drives the gateway's regulator API with one authority's token."""

    def __init__(self, http: AsyncTestClient[Any], token: str) -> None:
        self.http = http
        self.headers = {"authorization": f"Bearer {token}"}

    async def post(self, path: str, body: dict[str, Any] | None = None) -> Any:
        response = await self.http.post(path, json=body or {}, headers=self.headers)
        assert response.status_code in {200, 201}, f"{path}: {response.status_code} {response.text}"
        return response.json()

    async def notice_id(self, case_id: str, message_type: str) -> str:
        response = await self.http.get(f"/v1/cases/{case_id}/messages", headers=self.headers)
        [notice] = [
            m for m in response.json() if m["message_type"] == message_type and m["recipient_kind"] == "platform"
        ]
        return str(notice["id"])


@pytest.fixture
async def gateway(tmp_path: Path) -> AsyncIterator[tuple[AsyncTestClient[Any], Regulator]]:
    settings = Settings().with_changes(
        {
            "store.data_dir": tmp_path,
            "store.database_url": f"sqlite+aiosqlite:///{tmp_path / 'gateway.db'}",
            "delivery.allow_private_endpoints": True,
            "worker.run": False,
            "log.json": True,
            "log.level": "WARNING",
            "http.public_base_url": "https://spotcheck.example.gov.cn",
        }
    )
    async with AsyncTestClient(app=create_app(settings)) as http:
        token, _ = await create_token_for_authority(
            settings,
            authority_code="330000",
            authority_name="浙江省市场监督管理局",
            level=None,
            scopes=["read", "write", "admin"],
            label="client e2e",
        )
        yield http, Regulator(http, token)


async def open_case_to_records_request(regulator: Regulator, public_key: str) -> tuple[str, str, str]:
    """Register the platform, open a case, sample it and ask for records; returns case and notice ids."""
    await regulator.post(
        "/v1/platforms",
        {
            "id": PLATFORM,
            "name": "天猫测试网络有限公司",
            "province_code": "330000",
            "contact": {"name": "合规部", "email": "compliance@tmall-e2e.example"},
            "adapter": "webhook",
            "endpoint_url": f"http://127.0.0.1:9/{PLATFORM}/spotcheck",
            "inbound_keys": [public_key],
        },
    )
    merchant = await regulator.post(
        "/v1/merchants",
        {
            "platform_id": PLATFORM,
            "shop_id": "shop-1001",
            "shop_name": "某某电器旗舰店",
            "kind": "registered_entity",
            "legal_name": "杭州某某电器有限公司",
            "uscc": "91330100799655058B",
            "registration_division": "330106",
        },
    )
    maker = await regulator.post("/v1/manufacturers", {"name": "慈溪某某电器厂", "division_code": "330282"})
    case = await regulator.post(
        "/v1/cases",
        {
            "merchant_id": merchant["id"],
            "manufacturer_id": maker["id"],
            "plan_reference": "浙市监抽〔2026〕12号",
            "product": {"sample_name": "电热水壶", "trademark": "美的", "spec_model": "MK-HJ1705"},
        },
    )
    case_id = case["id"]
    # Stored first: evidence is evidence (三(一)).
    captures, video = await upload_sampling_evidence(regulator.http, case_id, prefix="/v1", headers=regulator.headers)
    ordered_at = (NOW - timedelta(days=20)).isoformat()
    await regulator.post(
        f"/v1/cases/{case_id}/purchase",
        {
            "purchased_at": ordered_at,
            "buyer_account": "buyer_zj01",
            "buyer_name": "张三",
            "delivery_address": "杭州市西湖区某路1号",
            "orders": [
                {"order_no": "T2026001", "ordered_at": ordered_at, "amount_fen": 19900},
                {"order_no": "T2026002", "ordered_at": ordered_at, "amount_fen": 19900},
            ],
            "screenshots": captures,
        },
    )
    await regulator.post(
        f"/v1/cases/{case_id}/sealing",
        {
            "sealed_at": (NOW - timedelta(days=15)).isoformat(),
            "sample_seal_no": "FY-001",
            "backup_seal_no": "FY-002",
            "witnesses": ["买样人 张三", "承检机构 李四", "执法人员 王五"],
            "evidence": [video],
        },
    )
    await regulator.post(f"/v1/cases/{case_id}/sampling-notice")
    sampling_notice = await regulator.notice_id(case_id, "sampling.notice")
    await regulator.post(
        f"/v1/cases/{case_id}/records-request",
        {
            "order_nos": ["T2026001"],
            "records_from": (NOW - timedelta(days=30)).isoformat(),
            "records_until": NOW.isoformat(),
        },
    )
    return case_id, sampling_notice, await regulator.notice_id(case_id, "records.request")


async def test_a_platform_answers_a_records_request_through_the_client(
    gateway: tuple[AsyncTestClient[Any], Regulator],
) -> None:
    http, regulator = gateway
    secret_key, public_key = generate_keypair()
    case_id, sampling_notice, records_request = await open_case_to_records_request(regulator, public_key)
    client = AsyncGatewayClient(str(http.base_url), PLATFORM, secret_key, max_retries=0, http_client=http)

    ack = await client.acknowledge(sampling_notice, case_id, idempotency_key="ack-sampling-1")
    assert (ack.status, ack.type, ack.detail) == ("accepted", "notice.acknowledged", {"acknowledged": sampling_notice})
    assert ack.request_id
    # The key is the webhook-id the gateway dedupes on: a later call re-built under it (new body timestamp) is
    # refused as a conflict, so the first acknowledgement stands and nothing is applied twice.
    with pytest.raises(InvalidRequestError) as reused:
        await client.acknowledge(sampling_notice, case_id, idempotency_key="ack-sampling-1")
    assert (reused.value.http_status, reused.value.code) == (409, "idempotency-conflict")

    records = [
        TransactionRecord(
            order_no=f"T{i:07d}",
            shop_id="shop-1001",
            item_title="电热水壶",
            quantity=1,
            amount_fen=19900,
            status="completed",
            created_at=NOW - timedelta(days=10, minutes=i),
        )
        for i in range(7)
    ]
    logs = [LogEntry(at=NOW - timedelta(days=10), actor="system", action="order.pay", subject="T0000001")]

    # The first upload is interrupted after two chunks (the caller stops it); the state carries the progress.
    state = UploadState(upload_id="upl-e2e-1", case_id=case_id, in_reply_to=records_request, chunk_size=3)
    persisted: list[bytes] = []

    def stop_after_two(progress: UploadState) -> None:
        persisted.append(progress.to_json())
        if len(progress.accepted) == 2:
            raise SimulatedCrashError

    with pytest.raises(SimulatedCrashError):
        await client.provide_records(
            case_id, records_request, iter(records), iter(logs), state=state, on_progress=stop_after_two
        )
    resumed = UploadState.from_json(persisted[-1])
    receipt = await client.provide_records(case_id, records_request, records, logs, state=resumed)
    assert (receipt.chunk_count, receipt.skipped, len(receipt.sent), receipt.complete) == (3, 2, 1, True)
    # The set is complete; the request is answered once its order is confirmed too (三(一)).
    assert receipt.sent[0].detail == {
        "upload_id": "upl-e2e-1",
        "chunk": 2,
        "received": 3,
        "of": 3,
        "upload_complete": True,
        "complete": False,
        "missing": ["order:T2026001"],
    }

    # A fresh state for the same upload id resends every chunk; the gateway says it already had each one.
    replay = await client.provide_records(case_id, records_request, records, logs, chunk_size=3, upload_id="upl-e2e-1")
    assert replay.complete
    assert all(sent.detail["already_had"] for sent in replay.sent)

    confirmed = await client.confirm_order(
        case_id,
        records_request,
        order_no="T2026001",
        buyer_account="buyer_zj01",
        amount_fen=19900,
        paid_at=NOW - timedelta(days=20),
        shop_id="shop-1001",
        listing_snapshot_sha256=SHA,
    )
    assert confirmed.detail == {"confirmed_order": "T2026001", "missing": [], "complete": True}

    # Refusals come back typed: another upload's digest under a used id, and a key the gateway does not know.
    with pytest.raises(InvalidRequestError) as conflict:
        await client.provide_records(case_id, records_request, records[:2], [], chunk_size=3, upload_id="upl-e2e-1")
    assert conflict.value.http_status == 409
    assert conflict.value.code == "invalid-field"
    assert "$.data.upload_id" in (conflict.value.detail or "")
    assert conflict.value.request_id

    stranger = AsyncGatewayClient(str(http.base_url), PLATFORM, generate_keypair()[0], http_client=http)
    with pytest.raises(AuthenticationError) as refused:
        await stranger.acknowledge(sampling_notice, case_id)
    assert (refused.value.http_status, refused.value.code) == (401, "bad-signature")


async def order_stop_sale(regulator: Regulator, case_id: str) -> str:
    """Take a sampled case through a failing, hazardous result to the stop-sale order; returns the order's id."""
    await regulator.post(
        f"/v1/cases/{case_id}/result",
        {
            "received_at": NOW.isoformat(),
            "conclusion": "fail",
            "report_no": "ZJQI-2026-0456",
            "institution": "浙江省质检院",
            "failing_items": [
                {"item": "泄漏电流", "standard": "GB 4706.1-2005", "required": "≤0.75 mA", "measured": "2.1 mA"}
            ],
            "hazardous": True,
            "mandatory_standard_failed": True,
        },
    )
    await regulator.post(f"/v1/cases/{case_id}/result-notices")
    for role in ("merchant", "manufacturer"):  # 三(三): each party's written waiver, its statement in evidence
        statement = await regulator.http.post(
            f"/v1/cases/{case_id}/evidence",
            params={"step": "other", "description": f"{role} 书面放弃复检声明"},
            content=f"%PDF-1.4\n% {role} {case_id}\n%%EOF\n".encode(),
            headers={**regulator.headers, "content-type": "application/octet-stream"},
        )
        assert statement.status_code == 201, statement.text
        waiver = {"party_role": role, "waived_by": f"{role} 法定代表人", "statement_sha256": statement.json()["sha256"]}
        await regulator.post(f"/v1/cases/{case_id}/reinspection-waivers", waiver)
    await regulator.post(f"/v1/cases/{case_id}/finalize")
    await regulator.post(f"/v1/cases/{case_id}/publish")
    await regulator.post(f"/v1/cases/{case_id}/stop-sale", {"warning_measures": ["下架", "消费警示"]})
    return await regulator.notice_id(case_id, "stop_sale.order")


async def test_the_gateway_takes_records_unavailable_and_a_takedown_with_none_found(
    gateway: tuple[AsyncTestClient[Any], Regulator],
) -> None:
    """The client's wire format is what the gateway accepts (三(一), 四(二)); refusals name the field."""
    http, regulator = gateway
    secret_key, public_key = generate_keypair()
    case_id, _, records_request = await open_case_to_records_request(regulator, public_key)
    client = AsyncGatewayClient(str(http.base_url), PLATFORM, secret_key, max_retries=0, http_client=http)

    with pytest.raises(InvalidRequestError) as unrequested:
        await client.declare_records_unavailable(case_id, records_request, orders=["T2026009"], reason="平台无该订单")
    assert unrequested.value.http_status == 422
    assert "$.data.orders[0]" in (unrequested.value.detail or "")
    declared = await client.declare_records_unavailable(
        case_id, records_request, orders=["T2026001"], reason="订单已超过平台保存期限，记录已删除"
    )
    assert (declared.type, declared.detail) == (
        "records.unavailable",
        {"declared_unavailable": ["T2026001"], "missing": [], "complete": True},  # every order declared: no records due
    )

    stop_sale = await order_stop_sale(regulator, case_id)
    reported = await client.report_takedown(
        case_id, stop_sale, order_type="stop_sale.order", measures_taken=["stop_sale"], none_found=True
    )
    assert (reported.status, reported.type, reported.detail) == (
        "accepted",
        "takedown.reported",
        {"reported": stop_sale, "listings": 0},
    )
    case = (await http.get(f"/v1/cases/{case_id}", headers=regulator.headers)).json()
    [measure] = [m for m in case["measures"] if m["kind"] == "reported"]
    assert (measure["none_found"], measure["listings"], measure["shops"]) == (True, [], [])
