"""The OpenAPI document: every operation described, request bodies with examples, portable patterns."""

from __future__ import annotations

import re
from typing import Any

from spotcheck.gateway.web.openapi import REQUEST_EXAMPLES


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


async def test_every_operation_is_described_and_every_body_has_an_example(gateway: Any) -> None:
    document = (await gateway.client.get("/schema/openapi.json")).json()
    assert document["openapi"].startswith("3.1")
    missing_examples = []
    for path, item in document["paths"].items():
        for method, operation in item.items():
            if method not in {"get", "post", "put", "patch", "delete"}:
                continue
            assert operation.get("summary") or operation.get("description"), f"{method} {path} undescribed"
            body = operation.get("requestBody")
            if body and path.startswith("/v1/"):
                examples = [m.get("examples") for m in body["content"].values()]
                if not all(examples):
                    missing_examples.append(f"{method} {path}")
    assert missing_examples == []
    assert {path for _, path in REQUEST_EXAMPLES} <= set(document["paths"])


async def test_patterns_are_ecma_regexes(gateway: Any) -> None:
    document = (await gateway.client.get("/schema/openapi.json")).json()
    patterns = _walk(document)
    assert patterns, "the document should carry the wire contract's patterns"
    for pattern in patterns:
        assert "\\Z" not in pattern, pattern
        re.compile(pattern)


async def test_examples_are_valid_requests(gateway: Any) -> None:
    """Each example must be accepted by validation (it may still fail on ids that do not exist: 404, not 400)."""
    token = await gateway.authority("330000", "浙江省市场监督管理局")
    for (method, path), (_, body) in REQUEST_EXAMPLES.items():
        if "{" in path or path.startswith("/v1/intake"):
            continue
        response = await gateway.client.request(method.upper(), path, json=body, headers=gateway.auth(token))
        assert response.status_code != 400, f"{path}: {response.text}"


async def test_error_answers_are_documented_as_problem_documents_and_match_them(gateway: Any) -> None:
    document = (await gateway.client.get("/schema/openapi.json")).json()
    problem_ref = {"$ref": "#/components/schemas/Problem"}
    for path, item in document["paths"].items():
        if not path.startswith("/v1/"):
            continue
        for method, operation in item.items():
            if method not in {"get", "post", "put", "patch", "delete"}:
                continue
            for status in ("4XX", "5XX"):
                content = operation["responses"][status]["content"]
                assert content == {"application/problem+json": {"schema": problem_ref}}, (method, path, status)
            if "400" in operation["responses"]:
                assert operation["responses"]["400"]["content"]["application/problem+json"]["schema"] == problem_ref
    schema = document["components"]["schemas"]["Problem"]
    token = await gateway.authority("330000", "浙江省市场监督管理局")
    answers = [
        await gateway.client.post("/v1/manufacturers", json={"name": 5}, headers=gateway.auth(token)),
        await gateway.client.get("/v1/cases", headers={"authorization": "Bearer sct_nope_nope"}),
        await gateway.client.get("/v1/cases/case_missing", headers=gateway.auth(token)),
    ]
    assert [a.status_code for a in answers] == [400, 401, 404]
    for answer in answers:
        assert answer.headers["content-type"].startswith("application/problem+json")
        body = answer.json()
        assert set(schema["required"]) <= set(body), body
        assert set(body) <= set(schema["properties"]), body
        kinds = {"string": str, "integer": int, "array": list, "object": dict}
        for name, value in body.items():
            assert isinstance(value, kinds[schema["properties"][name]["type"]]), (name, value)
