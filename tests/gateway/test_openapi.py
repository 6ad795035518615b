"""The OpenAPI document: every operation described, its refusals exact, raw bodies documented, portable patterns."""

from __future__ import annotations

import asyncio
import re
from collections.abc import Iterator
from typing import Any

import pytest
from litestar.testing import TestClient

from spotcheck.gateway.app import create_app
from spotcheck.gateway.evidence.store import ACCEPTED_MEDIA_TYPES
from spotcheck.gateway.plans.directory import COLUMNS
from spotcheck.gateway.registry.service import create_token_for_authority
from spotcheck.gateway.settings import Settings
from spotcheck.gateway.web.openapi import REQUEST_EXAMPLES
from spotcheck.gateway.web.refusals import OPERATION_ERRORS
from spotcheck.schemas import REPLY_TYPES

METHODS = ("get", "post", "put", "patch", "delete")
RAW_BODIES = {
    ("post", "/v1/intake/{platform_id}"),
    ("post", "/v1/cases/{case_id}/evidence"),
    ("post", "/v1/directory/merchants/import"),
}
MAX_REQUEST_BYTES = 4096


def _walk(node: Any) -> list[str]:
    found: list[str] = []
    if isinstance(node, dict):
        for key, value in node.items():
            if key == "pattern" and isinstance(value, str):
                found.append(value)
            else:
                found.extend(_walk(value))
    elif isinstance(node, list):
        for value in node:
            found.extend(_walk(value))
    return found


def _operations(document: dict[str, Any]) -> Iterator[tuple[str, str, dict[str, Any]]]:
    for path, item in document["paths"].items():
        for method, operation in item.items():
            if method in METHODS:
                yield method, path, operation


@pytest.fixture(scope="module")
def served(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[TestClient[Any], dict[str, Any], str]]:
    """A gateway on a fresh SQLite file with a small body limit, its document, and a token with every scope."""
    settings = Settings().with_changes(
        {
            "store.data_dir": tmp_path_factory.mktemp("openapi"),
            "store.database_url": "",
            "delivery.allow_private_endpoints": True,
            "http.max_request_bytes": MAX_REQUEST_BYTES,
            "worker.run": False,
            "log.level": "CRITICAL",
        }
    )
    token, _ = asyncio.run(
        create_token_for_authority(
            settings,
            authority_code="100000",
            authority_name="国家市场监督管理总局",
            level=None,
            scopes=["read", "write", "admin", "supervise"],
            label="openapi",
        )
    )
    with TestClient(app=create_app(settings)) as client:
        yield client, client.get("/schema/openapi.json").json(), token


def test_every_operation_is_described_and_every_json_body_has_an_example(served: Any) -> None:
    _, document, _ = served
    assert document["openapi"].startswith("3.1")
    missing_examples = []
    for method, path, operation in _operations(document):
        assert operation.get("summary") or operation.get("description"), f"{method} {path} undescribed"
        json_body = operation.get("requestBody", {}).get("content", {}).get("application/json")
        if path.startswith("/v1/") and json_body is not None and not json_body.get("examples"):
            missing_examples.append(f"{method} {path}")
    assert missing_examples == []
    assert {path for _, path in REQUEST_EXAMPLES} <= set(document["paths"])


def test_patterns_are_ecma_regexes(served: Any) -> None:
    _, document, _ = served
    patterns = _walk(document)
    assert patterns, "the document should carry the wire contract's patterns"
    for pattern in patterns:
        assert "\\Z" not in pattern, pattern
        re.compile(pattern)


def test_examples_are_valid_requests(served: Any) -> None:
    """Each example must be accepted by validation (it may still fail on ids that do not exist: 404, not 400)."""
    client, _, token = served
    for (method, path), (_, body) in REQUEST_EXAMPLES.items():
        if "{" in path or path.startswith("/v1/intake"):
            continue
        response = client.request(method.upper(), path, json=body, headers={"authorization": f"Bearer {token}"})
        assert response.status_code != 400, f"{path}: {response.text}"


def test_every_api_operation_lists_its_exact_refusals_as_problem_documents(served: Any) -> None:
    _, document, _ = served
    problem = {"application/problem+json": {"schema": {"$ref": "#/components/schemas/Problem"}}}
    api = {(method, path) for method, path, _ in _operations(document) if path.startswith("/v1/")}
    assert len(api) > 70
    # One entry per operation, and none for an operation that no longer exists.
    assert api == {key for key in OPERATION_ERRORS if key[1].startswith("/v1/")}
    assert {key for key in OPERATION_ERRORS if key[1] not in document["paths"]} == set()
    for method, path, operation in _operations(document):
        if not path.startswith("/v1/"):
            continue
        responses = operation["responses"]
        assert not {"4XX", "default"} & set(responses), (method, path)
        refusals = {status for status in responses if status.startswith(("4", "5"))}
        assert "5XX" in refusals, (method, path)
        for status in refusals:
            assert responses[status]["content"] == problem, (method, path, status)
            assert responses[status]["description"], (method, path, status)
        if operation.get("security"):
            assert "401" in refusals, (method, path)
            assert responses["401"]["headers"]["www-authenticate"]["required"] is True
        if "application/json" in operation.get("requestBody", {}).get("content", {}):
            assert {"400", "413", "415"} <= refusals, (method, path)


def test_the_problem_schema_matches_the_answers(served: Any) -> None:
    client, document, token = served
    schema = document["components"]["schemas"]["Problem"]
    auth = {"authorization": f"Bearer {token}"}
    answers = [
        client.post("/v1/manufacturers", json={"name": 5}, headers=auth),
        client.get("/v1/cases", headers={"authorization": "Bearer sct_nope_nope"}),
        client.get("/v1/cases/case_missing", headers=auth),
        client.post("/v1/directory/merchants/import", content="platform_id\n", headers=auth),
    ]
    assert [a.status_code for a in answers] == [400, 401, 404, 422]
    kinds = {"string": str, "integer": int, "array": list, "object": dict}
    for answer in answers:
        assert answer.headers["content-type"].startswith("application/problem+json")
        body = answer.json()
        assert set(schema["required"]) <= set(body), body
        assert set(body) <= set(schema["properties"]), body
        for name, value in body.items():
            assert isinstance(value, kinds[schema["properties"][name]["type"]]), (name, value)
        for error in body.get("errors", []):
            items = schema["properties"]["errors"]["items"]
            assert set(items["required"]) <= set(error) <= set(items["properties"]), error


def test_the_raw_body_operations_document_their_bodies(served: Any) -> None:
    _, document, _ = served
    schemas = document["components"]["schemas"]
    for method, path in RAW_BODIES:
        assert document["paths"][path][method]["requestBody"]["required"] is True, path
    intake = document["paths"]["/v1/intake/{platform_id}"]["post"]
    reply = intake["requestBody"]["content"]["application/json"]["schema"]
    assert reply["discriminator"]["propertyName"] == "type"
    assert set(reply["discriminator"]["mapping"]) == set(REPLY_TYPES)
    for ref in reply["discriminator"]["mapping"].values():
        name = ref.rsplit("/", 1)[-1]
        assert schemas[name]["properties"]["type"]["enum"][0] in REPLY_TYPES, name
    headers = {p["name"]: p for p in intake["parameters"] if p["in"] == "header"}
    assert set(headers) == {"webhook-id", "webhook-timestamp", "webhook-signature"}
    assert all(p["required"] for p in headers.values())
    upload = document["paths"]["/v1/cases/{case_id}/evidence"]["post"]["requestBody"]["content"]
    assert set(upload) == set(ACCEPTED_MEDIA_TYPES) | {"application/octet-stream"}
    csv = document["paths"]["/v1/directory/merchants/import"]["post"]["requestBody"]
    assert set(csv["content"]) == {"text/csv", "text/plain", "application/octet-stream"}
    assert f"`{','.join(COLUMNS)}`" in csv["description"]
    for column in COLUMNS:
        assert f"`{column}`" in csv["content"]["text/csv"]["schema"]["description"], column


def _fill(path: str, value: str) -> str:
    return re.sub(r"\{[^}]+\}", value, path)


def _required_query(operation: dict[str, Any]) -> str:
    """A valid value of each required query parameter (its first enumerated value, else a number)."""
    values = {
        p["name"]: (p["schema"].get("enum") or ["1"])[0]
        for p in operation.get("parameters", [])
        if p["in"] == "query" and p.get("required")
    }
    return "?" + "&".join(f"{name}={value}" for name, value in values.items()) if values else ""


def _samples(method: str, path: str, operation: dict[str, Any], token: str) -> Iterator[tuple[str, dict[str, Any]]]:
    """Bad requests for one operation: without a token, with unknown ids, with a bad body, too large, not JSON."""
    auth = {"authorization": f"Bearer {token}"}
    example = REQUEST_EXAMPLES.get((method, path))
    body: dict[str, Any] = {"json": example[1]} if example else {}
    url = _fill(path, "unknown-0") + _required_query(operation)
    yield "no token", {"url": url, **body}
    yield "unknown ids", {"url": url, "headers": auth, **body}
    content = operation.get("requestBody", {}).get("content", {})
    if content:
        yield "bad body", {"url": url, "headers": auth, "json": {"no_such_field": [1]}}
        yield "broken JSON", {"url": url, "headers": {**auth, "content-type": "application/json"}, "content": b"{"}
        yield "not JSON", {"url": url, "headers": {**auth, "content-type": "text/html"}, "content": b"<p>"}
        yield "too large", {"url": url, "headers": auth, "json": {"note": "x" * MAX_REQUEST_BYTES}}
    if any(p["in"] == "query" for p in operation.get("parameters", [])):
        yield "bad query", {"url": _fill(path, "unknown-0") + "?limit=x&status=x&step=x&since=x", "headers": auth}


def test_sample_bad_requests_are_answered_with_documented_statuses(served: Any) -> None:
    """No token, unknown ids, bad, broken, foreign and oversized bodies, bad queries: each answer is documented."""
    client, document, token = served
    undocumented: list[str] = []
    seen: dict[str, set[int]] = {}
    for method, path, operation in _operations(document):
        if not path.startswith("/v1/"):
            continue
        documented = set(operation["responses"])
        for label, request in _samples(method, path, operation, token):
            url = request.pop("url")
            answer = client.request(method.upper(), url, **request)
            seen.setdefault(label, set()).add(answer.status_code)
            if str(answer.status_code) not in documented or answer.status_code >= 500:
                undocumented.append(f"{label}: {method.upper()} {path} answered {answer.status_code}: {answer.text}")
            if label == "no token" and operation.get("security"):
                assert answer.status_code == 401, (method, path, answer.text)
    assert undocumented == []
    # The table reached what it was meant to: a refusal of each kind.
    assert {401} == seen["no token"] - {404}  # the signed platform routes answer 404 for an unknown platform
    assert {400, 404} <= seen["unknown ids"]
    assert {400, 413, 415} <= seen["too large"] | seen["not JSON"] | seen["bad body"]


def test_a_signed_platform_request_without_its_headers_is_refused_as_documented(served: Any) -> None:
    client, document, token = served
    auth = {"authorization": f"Bearer {token}"}
    platform = {
        "id": "openapi-mall",
        "name": "文档测试商城",
        "province_code": "330000",
        "contact": {"name": "合规部"},
        "endpoint_url": "http://127.0.0.1:9/hook",
        "inbound_keys": ["whsec_" + "QUFBQUFBQUFBQUFBQUFBQUFBQUFBQUFBQUFBQUFBQUE="],
    }
    assert client.post("/v1/platforms", json=platform, headers=auth).status_code == 201
    intake = document["paths"]["/v1/intake/{platform_id}"]["post"]["responses"]
    fetch = document["paths"]["/v1/platforms/{platform_id}/documents/{document_id}"]["get"]["responses"]
    answers = {
        "unsigned reply": (client.post("/v1/intake/openapi-mall", json={"type": "notice.acknowledged"}), intake),
        "reply as text": (
            client.post("/v1/intake/openapi-mall", content=b"{}", headers={"content-type": "text/plain"}),
            intake,
        ),
        "unsigned fetch": (client.get("/v1/platforms/openapi-mall/documents/doc_x"), fetch),
    }
    assert {label: a.status_code for label, (a, _) in answers.items()} == {
        "unsigned reply": 401,
        "reply as text": 415,
        "unsigned fetch": 401,
    }
    for answer, responses in answers.values():
        assert str(answer.status_code) in responses


def test_the_evidence_upload_and_csv_import_refuse_as_documented(served: Any) -> None:
    client, document, token = served
    auth = {"authorization": f"Bearer {token}"}
    upload = document["paths"]["/v1/cases/{case_id}/evidence"]["post"]["responses"]
    csv = document["paths"]["/v1/directory/merchants/import"]["post"]["responses"]
    answers = [
        (client.post("/v1/cases/case_x/evidence?step=other", content=b"x", headers=auth), upload, 404),
        (client.post("/v1/cases/case_x/evidence?step=nope", content=b"x", headers=auth), upload, 400),
        (
            client.post(
                "/v1/cases/case_x/evidence?step=other", content=b"x", headers={**auth, "content-type": "text/html"}
            ),
            upload,
            415,
        ),
        (client.post("/v1/directory/merchants/import", content=b"\xff\xfe", headers=auth), csv, 400),
        (client.post("/v1/directory/merchants/import", content=b"a" * (MAX_REQUEST_BYTES + 1), headers=auth), csv, 413),
        (
            client.post(
                "/v1/directory/merchants/import", content=b"a", headers={**auth, "content-type": "application/json"}
            ),
            csv,
            415,
        ),
        (client.post("/v1/directory/merchants/import", content=",".join(COLUMNS), headers=auth), csv, 422),
    ]
    assert [a.status_code for a, _, _ in answers] == [status for _, _, status in answers]
    for answer, responses, status in answers:
        assert str(status) in responses, (status, answer.text)


async def test_a_value_the_store_cannot_keep_is_answered_as_documented(gateway: Any) -> None:
    """U+0000 in a path or query value: 400 on PostgreSQL (it cannot store it), 404 or 200 on SQLite; documented."""
    document = (await gateway.client.get("/schema/openapi.json")).json()
    token = await gateway.authority("330000", "浙江省市场监督管理局")
    requests = [
        ("get", "/v1/cases/{case_id}", "/v1/cases/case%00x", "case_id"),
        ("post", "/v1/merchants/{merchant_id}/unreachable", "/v1/merchants/m%00/unreachable", "merchant_id"),
        ("get", "/v1/cases", "/v1/cases?in_state=%00", "in_state"),
        ("get", "/public/documents/{document_id}", "/public/documents/doc%00", "document_id"),
    ]
    for method, path, url, carrier in requests:
        answer = await gateway.client.request(method.upper(), url, headers=gateway.auth(token))
        assert answer.status_code < 500, (url, answer.text)
        assert str(answer.status_code) in document["paths"][path][method]["responses"], (url, answer.text)
        if answer.status_code == 400 and answer.headers["content-type"].startswith("application/problem+json"):
            # The refusal names the parameter that carried the NUL, not the body the request did not have.
            assert [error["field"] for error in answer.json()["errors"]] == [carrier], answer.text
