r"""Realistic request examples for the OpenAPI document, and portable regular expressions.

The wire contract's patterns end in Python's ``\Z`` (``$`` would accept a trailing newline in Python); OpenAPI
and JSON Schema consumers use ECMA-262 regular expressions, where ``$`` already means the very end, so the
published document says ``$``.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping
from typing import Any

import msgspec
from litestar.openapi.spec import (
    Example,
    OpenAPI,
    OpenAPIResponse,
    OpenAPIType,
    Operation,
    Parameter,
    Reference,
    Schema,
)

from spotcheck.gateway.web.responses import document_responses
from spotcheck.gateway.web.timestamps import json_schema_hook

__all__ = ["REQUEST_EXAMPLES", "polish_openapi"]

_EVIDENCE = {
    "sha256": "9f2b5c1e0d4a7b3c8e6f1a2d5c7b9e0f3a4d6c8b1e2f5a7c9d0b3e6f8a1c4d7b",
    "media_type": "video/mp4",
    "size_bytes": 52_428_800,
    "step": "sealing",
    "description": "拆包查验及封样全程录像",
}
_FAILING_ITEM = {"item": "泄漏电流", "standard": "GB 4706.1-2005", "required": "≤0.75 mA", "measured": "2.1 mA"}

REQUEST_EXAMPLES: dict[tuple[str, str], tuple[str, dict[str, Any]]] = {
    ("post", "/v1/authorities"): (
        "杭州市市场监督管理局",
        {
            "name": "杭州市市场监督管理局",
            "division_code": "330100",
            "level": "municipal",
            "contact_email": "ccjc@hzamr.gov.cn",
        },
    ),
    ("post", "/v1/entrustments"): (
        "省局委托市局实施抽检",
        {
            "agent_authority_id": "auth_01M8HCN9PJB87RZ1RV5YWR49RT",
            "division_code": "330100",
            "note": "委托杭州市局实施2026年第二批网络商品抽检",
        },
    ),
    ("post", "/v1/platforms"): (
        "a webhook platform with an Ed25519 reply key",
        {
            "id": "demo-mall",
            "name": "某某网络有限公司",
            "uscc": "91330100799655058B",
            "province_code": "330000",
            "contact": {"name": "平台合规部", "email": "compliance@mall.example", "phone": "0571-00000000"},
            "adapter": "webhook",
            "endpoint_url": "https://open.mall.example/spotcheck/notices",
            "inbound_keys": ["whpk_q6Wn4eFz0b2n0f7e5jPx2yH8m1sR9tV3kL6cD4aB7uE="],
        },
    ),
    ("post", "/v1/platforms/{platform_id}/keys"): (
        "rotate the gateway's signing secret, 24 h overlap",
        {"direction": "outbound", "overlap_hours": 24},
    ),
    ("post", "/v1/merchants"): (
        "a registered company's shop on a platform",
        {
            "platform_id": "demo-mall",
            "shop_id": "shop-1001",
            "shop_name": "某某电器旗舰店",
            "kind": "registered_entity",
            "legal_name": "杭州某某电器有限公司",
            "uscc": "91330100799655058B",
            "registration_division": "330106",
            "address": "杭州市西湖区某路1号",
            "contact_email": "service@shop.example",
        },
    ),
    ("post", "/v1/manufacturers"): (
        "the labelled manufacturer",
        {"name": "佛山某某电器制造有限公司", "division_code": "440604", "contact_email": "qa@maker.example"},
    ),
    ("post", "/v1/cases"): (
        "open a case from the sampling plan",
        {
            "merchant_id": "mer_01M8HCN9PJB87RZ1RV5YWR49RT",
            "manufacturer_id": "mfr_01M8HCN9PJB87RZ1RV5YWR49RV",
            "plan_reference": "浙市监抽〔2026〕12号",
            "product": {
                "sample_name": "电热水壶",
                "trademark": "美的",
                "spec_model": "MK-HJ1705",
                "production_date": "2026-08-01",
                "listing_id": "L-88",
                "listing_url": "https://item.mall.example/L-88",
            },
        },
    ),
    ("post", "/v1/cases/{case_id}/purchase"): (
        "sample and backup sample bought online",
        {
            "purchased_at": "2026-10-08T10:15:00+08:00",
            "buyer_account": "buyer_zj01",
            "buyer_name": "张三",
            "delivery_address": "杭州市西湖区某路1号",
            "orders": [
                {"order_no": "T2026001", "ordered_at": "2026-10-08T10:15:00+08:00", "amount_fen": 19900},
                {"order_no": "T2026002", "ordered_at": "2026-10-08T10:16:00+08:00", "amount_fen": 19900},
            ],
            "screenshots": {
                "merchant": ["1c4d7b9f2b5c1e0d4a7b3c8e6f1a2d5c7b9e0f3a4d6c8b1e2f5a7c9d0b3e6f8a"],
                "product": ["2d5c7b9e0f3a4d6c8b1e2f5a7c9d0b3e6f8a1c4d7b9f2b5c1e0d4a7b3c8e6f1a"],
                "transaction": ["3a4d6c8b1e2f5a7c9d0b3e6f8a1c4d7b9f2b5c1e0d4a7b3c8e6f1a2d5c7b9e0f"],
            },
        },
    ),
    ("post", "/v1/cases/{case_id}/backup-sample/shipped"): (
        "the backup sample shipped back to the merchant",
        {"shipped_at": "2026-11-02T10:00:00+08:00", "carrier": "顺丰速运", "waybill_no": "SF1234567890"},
    ),
    ("post", "/v1/cases/{case_id}/backup-sample/outcome"): (
        "the merchant refused the returned backup sample",
        {"outcome": "refused", "at": "2026-11-04T15:30:00+08:00", "note": "经营者拒收退回的备份样品"},
    ),
    ("post", "/v1/cases/{case_id}/penalties"): (
        "an administrative penalty decision after the case",
        {
            "decision_no": "杭市监处罚〔2026〕12号",
            "decided_on": "2026-11-20",
            "party": {"role": "merchant", "name": "杭州某某电器有限公司", "uscc": "91330100799655058B"},
            "violation_type": "销售不合格产品",
            "facts": "当事人在网店销售经抽检泄漏电流项目不合格的电热水壶。",
            "legal_basis": "《中华人民共和国产品质量法》第四十九条",
            "content": "没收违法所得 398 元，罚款 5000 元",
            "fine_fen": 500000,
            "confiscated_fen": 39800,
        },
    ),
    ("post", "/v1/warnings"): (
        "a consumer warning tied to a published result",
        {
            "title": "谨慎选购电热水壶",
            "body": "近期抽检发现部分电热水壶泄漏电流不合格，请认准合格产品。",
            "case_ids": ["case_01M8HCN9PJB87RZ1RV5YWR49RW"],
        },
    ),
    ("post", "/v1/cases/{case_id}/sealing"): (
        "joint unpacking and sealing",
        {
            "sealed_at": "2026-10-12T14:00:00+08:00",
            "sample_seal_no": "ZJ-FY-0001",
            "backup_seal_no": "ZJ-FY-0002",
            "witnesses": ["买样人 张三", "承检机构 李四", "执法人员 王五"],
            "evidence": [_EVIDENCE],
        },
    ),
    ("post", "/v1/cases/{case_id}/records-request"): (
        "confirm the order, send records and logs",
        {
            "order_nos": ["T2026001"],
            "records_from": "2026-07-01T00:00:00+08:00",
            "records_until": "2026-10-31T23:59:59+08:00",
            "working_days": 2,
        },
    ),
    ("post", "/v1/cases/{case_id}/identity-request"): ("real name, address, contact", {"working_days": 2}),
    ("post", "/v1/cases/{case_id}/result"): (
        "a failing, hazardous result",
        {
            "received_at": "2026-11-02T09:30:00+08:00",
            "conclusion": "fail",
            "report_no": "ZJQI-2026-0456",
            "institution": "浙江省质量科学研究院",
            "failing_items": [_FAILING_ITEM],
            "hazardous": True,
            "mandatory_standard_failed": True,
        },
    ),
    ("post", "/v1/cases/{case_id}/reinspection-applications"): (
        "a written application received directly",
        {
            "applicant_role": "manufacturer",
            "applicant_name": "佛山某某电器制造有限公司",
            "applied_at": "2026-11-10T16:00:00+08:00",
            "document_sha256": _EVIDENCE["sha256"],
            "reason": "对泄漏电流检测条件有异议，申请复检",
        },
    ),
    ("post", "/v1/cases/{case_id}/reinspection-applications/{application_id}/decision"): (
        "accept",
        {"decision": "accepted", "reason": "申请在期限内且手续齐全"},
    ),
    ("post", "/v1/cases/{case_id}/reinspection-outcome"): (
        "the re-inspection upholds the result",
        {"outcome": "upheld", "report_no": "ZJQI-2026-0456-R", "conclusion": "fail", "failing_items": [_FAILING_ITEM]},
    ),
    ("put", "/v1/authorities/{authority_id}/channel"): (
        "an e-mail channel and the authority's order hours",
        {"email": "tongbao@nbamr.example.gov.cn", "order_acknowledge_hours": 2, "order_effect_hours": 24},
    ),
    ("post", "/v1/cases/{case_id}/reinspection-waivers"): (
        "the merchant's written waiver",
        {
            "party_role": "merchant",
            "waived_by": "杭州某某电器有限公司 法定代表人",
            "statement_sha256": _EVIDENCE["sha256"],
            "note": "书面放弃复检声明已上传",
        },
    ),
    ("post", "/v1/cases/{case_id}/finalize"): ("every window closed", {"note": "各方书面放弃复检"}),
    ("post", "/v1/cases/{case_id}/publish"): ("publish", {"note": "2026年第二批网络商品抽检结果"}),
    ("post", "/v1/cases/{case_id}/stop-sale"): (
        "stop selling, warn consumers",
        {"warning_measures": ["立即下架", "发布消费警示"]},
    ),
    ("post", "/v1/cases/{case_id}/delisting"): (
        "list the hazardous product",
        {"mandatory_standard": "GB 4706.1-2005"},
    ),
    ("post", "/v1/cases/{case_id}/takedown"): (
        "delete and block listing and shop",
        {"measures": ["delete", "block"], "include_shop": True},
    ),
    ("post", "/v1/cases/{case_id}/referral"): (
        "an independent website",
        {"telecom_authority": "浙江省通信管理局", "telecom_email": "wlaq@zjca.example", "measure": "block"},
    ),
    ("post", "/v1/cases/{case_id}/transfer"): (
        "a platform operator's violation",
        {"violation": "平台经营者拒绝提供交易记录，违反工商消字〔2015〕189号 五(三)"},
    ),
    ("post", "/v1/cases/{case_id}/close"): ("close", {"note": "措施已执行，平台已报告"}),
    ("post", "/v1/deliveries/replay"): (
        "a platform's dead letters since a date",
        {"platform_id": "demo-mall", "since": "2026-11-01T00:00:00+08:00"},
    ),
    ("post", "/v1/intake/{platform_id}"): (
        "notice.acknowledged (signed with the webhook-* headers)",
        {
            "type": "notice.acknowledged",
            "timestamp": "2026-11-02T10:00:00+08:00",
            "data": {
                "case_id": "case_01M8HCN9PJB87RZ1RV5YWR49RT",
                "in_reply_to": "msg_01M8HCN9PJB87RZ1RV5YWR49RS",
                "platform_id": "demo-mall",
                "received_at": "2026-11-02T09:59:58+08:00",
            },
        },
    ),
    ("post", "/v1/plans"): (
        "2026年第四季度儿童服装网络抽检实施方案",
        {
            "title": "2026年第四季度儿童服装网络抽检",
            "number_prefix": "浙市监抽",
            "content": {
                "product_range": "网络交易平台销售的儿童服装",
                "varieties": ["婴幼儿服装", "儿童外套"],
                "quantities": "每批次2件（样品1件、备份样品1件）",
                "test_basis": ["GB 31701-2015"],
                "test_items": ["甲醛含量", "pH值", "绳带"],
                "judgement_principles": "依据标准逐项判定，任一项不合格即判定为不合格",
                "testing_institution": "浙江省质量检验检测研究院",
                "schedule_from": "2026-10-01",
                "schedule_until": "2026-12-31",
                "budget_fen": 5_000_000,
            },
            "buyers": [
                {
                    "name": "张三",
                    "kind": "officer",
                    "accounts": [{"platform_id": "demo-mall", "user_name": "zj_buyer01"}],
                }
            ],
            "addresses": [{"address": "杭州市西湖区文三路1号", "recipient": "张三"}],
        },
    ),
    ("post", "/v1/plans/{plan_id}/draws"): (
        "从名录库中随机抽取3户童装经营者和2名检查人员",
        {"scope": {"platforms": ["demo-mall"], "categories": ["童装"], "division_prefix": "3301"}, "count": 3}
        | {"inspector_count": 2},
    ),
    ("post", "/v1/draws/{draw_id}/reveal"): (
        "第二名执法人员录入的信标",
        {"beacon": "2026-12-07 上证指数收盘 3412.56", "beacon_source": "上海证券交易所收盘指数"},
    ),
    ("post", "/v1/directory/inspectors"): (
        "执法检查人员",
        {"name": "赵六", "kind": "officer", "organisation": "浙江省市场监督管理局", "certificate_no": "ZJ-0001"},
    ),
}
"""One example request body per operation, keyed by (method, path template)."""


def _portable_patterns(node: object, seen: set[int]) -> None:
    """Walk the live spec objects (dataclasses, dicts, lists) and rewrite Python-only end anchors."""
    if id(node) in seen:
        return
    seen.add(id(node))
    if isinstance(node, Schema) and node.pattern and node.pattern.endswith("\\Z"):
        node.pattern = node.pattern[:-2] + "$"
    if dataclasses.is_dataclass(node) and not isinstance(node, type):
        for f in dataclasses.fields(node):
            _portable_patterns(getattr(node, f.name), seen)
    elif isinstance(node, dict):
        for value in node.values():
            _portable_patterns(value, seen)
    elif isinstance(node, list | tuple):
        for value in node:
            _portable_patterns(value, seen)


def _structs_by_name() -> dict[str, type[msgspec.Struct]]:
    """Every msgspec Struct class loaded, by the name Litestar gives its component."""
    found: dict[str, type[msgspec.Struct]] = {}
    pending: list[type[msgspec.Struct]] = [msgspec.Struct]
    while pending:
        cls = pending.pop()
        for sub in cls.__subclasses__():
            found.setdefault(sub.__name__, sub)
            pending.append(sub)
    return found


def _request_components(openapi: OpenAPI, schemas: Mapping[str, Schema | Reference]) -> set[str]:
    """Names of the components a request body refers to, directly or through other components."""
    names: set[str] = set()

    def visit(node: object) -> None:
        if isinstance(node, Reference):
            name = node.ref.rsplit("/", 1)[-1]
            if name not in names and name in schemas:
                names.add(name)
                visit(schemas[name])
        elif dataclasses.is_dataclass(node) and not isinstance(node, type):
            for f in dataclasses.fields(node):
                visit(getattr(node, f.name))
        elif isinstance(node, dict):
            for value in node.values():
                visit(value)
        elif isinstance(node, list | tuple):
            for value in node:
                visit(value)

    for item in (openapi.paths or {}).values():
        for method in ("get", "put", "post", "delete", "patch"):
            operation: Operation | None = getattr(item, method)
            if operation is not None and operation.request_body is not None:
                visit(operation.request_body)
    return names


def _string_items(items: dict[str, Any]) -> Schema | None:
    """The string constraints msgspec declares on a list's items (Litestar leaves them out)."""
    if items.get("type") != "string" or not ({"minLength", "maxLength", "pattern"} & items.keys()):
        return None
    pattern = items.get("pattern")  # made portable with the others by _portable_patterns
    return Schema(
        type=OpenAPIType.STRING,
        min_length=items.get("minLength"),
        max_length=items.get("maxLength"),
        pattern=pattern,
    )


def _exact_request_bodies(openapi: OpenAPI) -> None:
    """Say in the document what the decoder enforces: no unknown fields, and the constraints on list items."""
    if openapi.components is None or not openapi.components.schemas:
        return
    schemas = openapi.components.schemas
    structs = _structs_by_name()
    for name in _request_components(openapi, schemas):
        component, cls = schemas[name], structs.get(name)
        if not isinstance(component, Schema) or cls is None or component.properties is None:
            continue
        if cls.__struct_config__.forbid_unknown_fields:
            component.additional_properties = False
        _, definitions = msgspec.json.schema_components([cls], schema_hook=json_schema_hook)
        for field, spec in definitions.get(name, {}).get("properties", {}).items():
            prop = component.properties.get(field)
            if isinstance(prop, Schema):
                _restore_string_constraints(prop, spec)
                _restore_number_bounds(prop, spec)


def _restore_string_constraints(prop: Schema, spec: dict[str, Any]) -> None:
    """Copy msgspec's string constraints onto list items and nullable strings, where Litestar drops them."""
    items = _string_items(spec.get("items", {}))
    if isinstance(prop.items, Schema) and items is not None:
        prop.items = items
    branches = spec.get("anyOf", [])
    strings = [b for b in branches if _string_items(b) is not None]
    if prop.one_of and len(strings) == 1 and {"type": "null"} in branches:
        constrained = _string_items(strings[0])
        prop.one_of = [constrained if _is_plain_string(b) else b for b in prop.one_of]  # type: ignore[misc]


_BOUNDS = {
    "minimum": "minimum",
    "maximum": "maximum",
    "exclusiveMinimum": "exclusive_minimum",
    "exclusiveMaximum": "exclusive_maximum",
}


def _restore_number_bounds(prop: Schema, spec: dict[str, Any]) -> None:
    """Copy msgspec's numeric bounds where Litestar drops them (it skips a bound of 0, e.g. ``ge=0``).

    On a nullable number the bounds go on the property itself: JSON Schema applies them to numbers only.
    """
    numbers = [spec, *(b for b in spec.get("anyOf", []) if b.get("type") in {"integer", "number"})]
    for source in numbers:
        for keyword, attribute in _BOUNDS.items():
            if keyword in source and getattr(prop, attribute) is None:
                setattr(prop, attribute, source[keyword])


def _is_plain_string(branch: Schema | Reference) -> bool:
    return isinstance(branch, Schema) and branch.type == OpenAPIType.STRING and not branch.enum and not branch.const


# Parameters the handlers read as optional strings and check themselves: required, or with their pattern.
_REQUIRED_QUERY = {
    "/public/log/consistency": {"first", "second"},
    "/public/log/leaves": {"start", "end"},
    "/public/log/proof": {"tree_size"},
}
_PATH_PATTERNS = {"sha256": "^[0-9a-f]{64}$"}


def _exact_parameters(openapi: OpenAPI) -> None:
    """Say which query parameters the server requires and which path values it accepts."""
    for path, item in (openapi.paths or {}).items():
        for method in ("get", "put", "post", "delete", "patch"):
            operation: Operation | None = getattr(item, method)
            for parameter in (operation.parameters or []) if operation is not None else []:
                if not isinstance(parameter, Parameter):
                    continue
                if parameter.param_in == "query" and parameter.name in _REQUIRED_QUERY.get(path, set()):
                    parameter.required = True
                    parameter.schema = Schema(type=OpenAPIType.STRING, pattern="^[0-9]+$")
                pattern = _PATH_PATTERNS.get(parameter.name)
                if parameter.param_in == "path" and pattern and isinstance(parameter.schema, Schema):
                    parameter.schema.pattern = pattern


# Handlers that answer pre-encoded JSON bytes, which Litestar documents as a string.
_JSON_BYTES_RESPONSES = {
    "/public/draws.json": Schema(
        type=OpenAPIType.OBJECT,
        required=["draws"],
        properties={"draws": Schema(type=OpenAPIType.ARRAY, items=Schema(type=OpenAPIType.OBJECT))},
    ),
}


def _json_bytes_responses(openapi: OpenAPI) -> None:
    for path, schema in _JSON_BYTES_RESPONSES.items():
        item = (openapi.paths or {}).get(path)
        success = item.get.responses.get("200") if item and item.get and item.get.responses else None
        if isinstance(success, OpenAPIResponse) and success.content:
            for media in success.content.values():
                media.schema = schema


def polish_openapi(openapi: OpenAPI) -> OpenAPI:
    """Make patterns ECMA-262 portable, document problem answers and attach a request example to every body."""
    _exact_request_bodies(openapi)
    _exact_parameters(openapi)
    _json_bytes_responses(openapi)
    _portable_patterns(openapi, set())
    document_responses(openapi)  # every refusal, and the bodies the raw-body handlers read (web/responses.py)
    for path, item in (openapi.paths or {}).items():
        for method, operation in (("post", item.post), ("put", item.put)):
            example = REQUEST_EXAMPLES.get((method, path))
            if operation is None or example is None:
                continue
            body = operation.request_body
            if body is None or isinstance(body, Reference) or not body.content:
                continue
            summary, value = example
            for media in body.content.values():
                media.examples = {"example": Example(summary=summary, value=value)}
    return openapi
