"""The OpenAPI document is the contract: Schemathesis checks the in-process gateway against it.

Every documented operation is exercised with requests generated from the document — valid ones
(positive data must be accepted) and invalid ones (negative data must be refused) — and every answer is checked:
never a 5xx, a documented status, content type and headers, a body matching the documented schema.
Path parameters point at real records created for the run, so the generated requests get past the 404s.
"""

from __future__ import annotations

import asyncio
import struct
import tempfile
import zlib
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any, Final

import pytest
import schemathesis
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from litestar import Litestar
from litestar.testing import TestClient
from schemathesis import GenerationMode
from schemathesis.checks import CHECKS, load_all_checks

from spotcheck.gateway.app import create_app
from spotcheck.gateway.registry.service import create_token_for_authority
from spotcheck.gateway.settings import Settings

EXAMPLES_PER_OPERATION = 4
HTTP_METHODS = ("get", "post", "put", "patch", "delete")

load_all_checks()
# Moments the gateway keeps lie in the years 1970-2999 (a date at either end of Python's calendar overflows once
# converted, so it is refused with a documented 400 naming the field), and a recorded moment has happened: schema-valid
# data is drawn from that span, as a real client's would be.
_PAST: Final = st.datetimes(
    min_value=datetime(1970, 1, 1),  # noqa: DTZ001 - hypothesis bounds are naive; timezones= makes them UTC
    max_value=datetime(2026, 1, 1),  # noqa: DTZ001
    timezones=st.just(UTC),
)
schemathesis.openapi.format("date-time", _PAST.map(lambda moment: moment.isoformat()))
schemathesis.openapi.format("date", _PAST.map(lambda moment: moment.date().isoformat()))
# Every built-in check (the CLI's `--checks all`). use_after_free, ensure_resource_availability and
# object_level_authorization look at a recorded sequence of calls; one call per case gives them nothing to judge.
CHECKS_RUN = [check for check in CHECKS.get_all() if callable(check) and not isinstance(check, type)]
CHECKS_BY_NAME = {check.__name__: check for check in CHECKS_RUN}

_CROSS_FIELD = "a rule across fields (answered 400 naming the field) that JSON Schema in the document does not state"
_RAW_BODY = "the handler reads the body itself: a generated file or CSV is not one it can accept"
_SIGNED = "a schema-valid reply is still refused (401) without a signature by the platform's key"
EXCLUDED: dict[str, dict[str, str]] = {
    # positive_data_acceptance: a schema-valid request must be accepted; these operations refuse some on purpose.
    "POST /v1/merchants": {"positive_data_acceptance": _CROSS_FIELD + ": website when not on a registered platform"},
    "POST /v1/platforms": {"positive_data_acceptance": _CROSS_FIELD + ": adapter_config by adapter"},
    "POST /v1/platforms/{platform_id}/keys": {"positive_data_acceptance": _CROSS_FIELD + ": key for inbound"},
    "POST /v1/cases": {"positive_data_acceptance": _CROSS_FIELD + ": plan_id or plan_reference"},
    "POST /v1/cases/{case_id}/result": {"positive_data_acceptance": _CROSS_FIELD + ": failing_items when failed"},
    "POST /v1/cases/{case_id}/sealing": {"positive_data_acceptance": _CROSS_FIELD + ": two different seal numbers"},
    "POST /v1/cases/{case_id}/records-request": {"positive_data_acceptance": _CROSS_FIELD + ": from before until"},
    "POST /v1/deliveries/replay": {"positive_data_acceptance": _CROSS_FIELD + ": a platform, a range, or both"},
    "POST /v1/plans": {"positive_data_acceptance": _CROSS_FIELD + ": schedule_until not before schedule_from"},
    "POST /v1/warnings": {
        "positive_data_acceptance": _CROSS_FIELD + ": case_ids or hazard_listing_ids, naming published records"
    },
    "POST /v1/cases/{case_id}/penalties": {
        "positive_data_acceptance": "party.uscc must carry its GB 32100-2015 check character, which no pattern states"
    },
    "GET /public/log/proof": {"positive_data_acceptance": _CROSS_FIELD + ": index or leaf_hash"},
    "GET /public/log/leaves": {"positive_data_acceptance": _CROSS_FIELD + ": end above start, within the log"},
    "GET /public/log/consistency": {"positive_data_acceptance": _CROSS_FIELD + ": sizes within the signed log"},
    "POST /v1/cases/{case_id}/purchase": {"positive_data_acceptance": "digests must name stored evidence (三(一))"},
    "POST /v1/intake/{platform_id}": {"positive_data_acceptance": _SIGNED},
    "POST /v1/cases/{case_id}/evidence": {"positive_data_acceptance": _RAW_BODY},
    "POST /v1/directory/merchants/import": {"positive_data_acceptance": _RAW_BODY},
}
"""Checks left out for an operation, each with the reason it cannot hold there."""


async def _token(settings: Settings) -> str:
    token, _ = await create_token_for_authority(
        settings,
        authority_code="100000",
        authority_name="国家市场监督管理总局",
        level=None,
        scopes=["read", "write", "admin", "supervise"],
        label="contract",
    )
    return token


def _png() -> bytes:
    """A valid 1x1 PNG (a screen capture)."""

    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))

    header = chunk(b"IHDR", struct.pack(">IIBBBBB", 1, 1, 8, 2, 0, 0, 0))
    pixels = chunk(b"IDAT", zlib.compress(b"\x00\xff\x00\x00"))
    return b"\x89PNG\r\n\x1a\n" + header + pixels + chunk(b"IEND", b"")


def _seed(app: Litestar, token: str) -> dict[str, str]:
    """A platform, a merchant, a case and its first message: the ids the path parameters take."""
    auth = {"authorization": f"Bearer {token}"}
    with TestClient(app=app) as client:

        def post(path: str, body: dict[str, Any] | None = None) -> Any:
            response = client.post(path, json=body or {}, headers=auth)
            assert response.status_code in {200, 201}, f"{path}: {response.text}"
            return response.json()

        platform = post(
            "/v1/platforms",
            {
                "id": "contract-mall",
                "name": "契约测试商城",
                "province_code": "330000",
                "contact": {"name": "合规部"},
                "endpoint_url": "http://127.0.0.1:9/hook",
                "inbound_keys": ["whsec_" + "QUFBQUFBQUFBQUFBQUFBQUFBQUFBQUFBQUFBQUFBQUE="],
            },
        )
        merchant = post(
            "/v1/merchants",
            {"platform_id": platform["id"], "shop_id": "shop-1", "shop_name": "店", "kind": "natural_person"},
        )
        product = {"sample_name": "电热水壶", "trademark": "美的", "spec_model": "MK-1"}
        case = post("/v1/cases", {"merchant_id": merchant["id"], "plan_reference": "抽〔2026〕1号", "product": product})
        at = (datetime.now(UTC) - timedelta(days=2)).isoformat()
        order = {"order_no": "T1", "ordered_at": at, "amount_fen": 100}
        purchase = {"purchased_at": at, "buyer_account": "b", "buyer_name": "张三", "delivery_address": "杭州"}
        # The purchase names screen captures already in the case's evidence (三(一)).
        capture = client.post(
            f"/v1/cases/{case['id']}/evidence",
            params={"step": "purchase", "description": "交易过程截屏"},
            content=_png(),
            headers={**auth, "content-type": "application/octet-stream"},
        )
        assert capture.status_code == 201, capture.text
        screenshots = {kind: [capture.json()["sha256"]] for kind in ("merchant", "product", "transaction")}
        post(f"/v1/cases/{case['id']}/purchase", {**purchase, "orders": [order], "screenshots": screenshots})
        messages = client.get(f"/v1/cases/{case['id']}/messages", headers=auth).json()
        return {
            "case_id": case["id"],
            "merchant_id": merchant["id"],
            "platform_id": platform["id"],
            "message_id": messages[0]["id"] if messages else "msg_00000000000000000000000000",
        }


@pytest.fixture(scope="module")
def gateway(tmp_path_factory: pytest.TempPathFactory) -> tuple[Litestar, str, dict[str, str]]:
    """The gateway (no worker) on a fresh SQLite file, an admin token, and the records the path parameters name."""
    data_dir: Path = tmp_path_factory.mktemp("contract")
    settings_ = Settings().with_changes(
        {
            "store.data_dir": data_dir,
            "store.database_url": "",
            "delivery.allow_private_endpoints": True,
            "worker.run": False,
            "log.level": "CRITICAL",
        }
    )
    token = asyncio.run(_token(settings_))
    app = create_app(settings_)
    return app, token, _seed(app, token)


SEEDED: Final = frozenset({"case_id", "merchant_id", "platform_id", "message_id"})
"""Path parameters filled with real records by :func:`_seed`."""


def _documented_operations() -> list[tuple[str, dict[str, Any]]]:
    """``METHOD /path`` and the definition of every operation the application factory documents (at collection)."""
    unused = Path(tempfile.gettempdir()) / "spotcheck-openapi-never-written"
    app = create_app(Settings().with_changes({"store.data_dir": unused, "worker.run": False, "log.level": "WARNING"}))
    paths: dict[str, dict[str, Any]] = app.openapi_schema.to_schema()["paths"]
    return [
        (f"{method.upper()} {path}", spec)
        for path, item in paths.items()
        for method, spec in item.items()
        if method in HTTP_METHODS
    ]


@pytest.fixture(scope="module")
def contract(gateway: tuple[Litestar, str, dict[str, str]]) -> Any:
    """The gateway's own document, loaded by Schemathesis from the ASGI app, with the admin token as its auth."""
    app, token, _ = gateway
    schema = schemathesis.openapi.from_asgi("/schema/openapi.json", app)

    class AdminToken:
        """The token of a national authority with every scope (``ignored_auth`` also sends none and a bad one)."""

        def get(self, case: Any, ctx: Any) -> str:
            return token

        def set(self, case: Any, data: str, ctx: Any) -> None:
            case.headers = {**(case.headers or {}), "Authorization": f"Bearer {data}"}

    schema.auth()(AdminToken)
    return schema


def _can_be_invalid(spec: dict[str, Any], fixed: set[str]) -> bool:
    """Whether the document constrains any input that is generated (a body, a query, a constrained path value)."""
    if spec.get("requestBody"):
        return True
    for parameter in spec.get("parameters", []):
        schema = parameter.get("schema", {})
        if parameter["in"] != "path" or (parameter["name"] not in fixed and schema != {"type": "string"}):
            return True
    return False


def _cases() -> list[Any]:
    """Every operation with valid data, and with invalid data where the document constrains something to break."""
    cases: list[Any] = []
    for label, spec in _documented_operations():
        cases.append(pytest.param(label, GenerationMode.POSITIVE, id=f"positive-{label}"))
        if _can_be_invalid(spec, set(SEEDED)):
            cases.append(pytest.param(label, GenerationMode.NEGATIVE, id=f"negative-{label}"))
    return cases


@pytest.mark.parametrize(("label", "mode"), _cases())
def test_the_gateway_keeps_its_documented_contract(
    contract: Any, gateway: tuple[Litestar, str, dict[str, str]], label: str, mode: GenerationMode
) -> None:
    _, _, ids = gateway
    assert set(ids) == SEEDED  # the cases were chosen at collection knowing these are real records
    operation = contract.find_operation_by_label(label)
    assert operation is not None, label
    names = {p.name for p in operation.path_parameters}
    strategy = operation.as_strategy(
        generation_mode=mode,
        auth_storage=contract.auth,
        path_parameters={name: value for name, value in ids.items() if name in names} or None,
    )
    excluded = [CHECKS_BY_NAME[name] for name in EXCLUDED.get(label, {})]

    @settings(
        max_examples=EXAMPLES_PER_OPERATION,
        derandomize=True,
        deadline=None,
        database=None,
        suppress_health_check=list(HealthCheck),
    )
    @given(case=strategy)
    def probe(case: Any) -> None:
        case.call_and_validate(checks=CHECKS_RUN, excluded_checks=excluded)

    probe()
