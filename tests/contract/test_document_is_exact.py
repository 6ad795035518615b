"""The disagreements Schemathesis found between the document and the server, pinned one by one."""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any

import pytest
from litestar.testing import TestClient

from spotcheck.gateway.app import create_app
from spotcheck.gateway.registry.service import create_token_for_authority
from spotcheck.gateway.settings import Settings


@pytest.fixture(scope="module")
def served(tmp_path_factory: pytest.TempPathFactory) -> Any:
    """The document as served, an admin client, on a fresh SQLite file."""
    data_dir: Path = tmp_path_factory.mktemp("document")
    settings = Settings().with_changes({"store.data_dir": data_dir, "worker.run": False, "log.level": "CRITICAL"})
    token, _ = asyncio.run(
        create_token_for_authority(
            settings,
            authority_code="100000",
            authority_name="国家市场监督管理总局",
            level=None,
            scopes=["read", "write", "admin"],
            label="document",
        )
    )
    with TestClient(app=create_app(settings)) as client:
        client.headers["authorization"] = f"Bearer {token}"
        yield client, client.get("/schema/openapi.json").json()


def test_every_request_body_refuses_unknown_fields_in_the_document(served: Any) -> None:
    # The bodies themselves forbid unknown fields; the wire contract's nested records (ProductRef, OrderRef, …)
    # tolerate them for schema evolution, and the document leaves those open, as the server does.
    _, document = served
    schemas = document["components"]["schemas"]
    bodies = {
        content["schema"]["$ref"].rsplit("/", 1)[-1]
        for item in document["paths"].values()
        for operation in item.values()
        if isinstance(operation, dict) and "requestBody" in operation
        for content in operation["requestBody"]["content"].values()
        if "$ref" in content["schema"]
    }
    assert len(bodies) > 20
    assert {name for name in bodies if schemas[name].get("additionalProperties") is not False} == set()
    assert "additionalProperties" not in schemas["ProductRef"]


def test_list_items_and_nullable_strings_carry_their_constraints(served: Any) -> None:
    _, document = served
    schemas = document["components"]["schemas"]
    assert schemas["SealingRecord"]["properties"]["witnesses"]["items"]["minLength"] == 1
    assert schemas["RecordsRequestBody"]["properties"]["order_nos"]["items"]["minLength"] == 1
    buyer = schemas["OrderRef"]["properties"]["buyer_account"]["oneOf"]
    assert any(branch.get("minLength") == 1 for branch in buyer)


def test_public_pages_document_their_404_and_400(served: Any) -> None:
    _, document = served
    result = document["paths"]["/public/results/{case_id}"]["get"]["responses"]
    assert "text/html" in result["404"]["content"]
    checkpoint = document["paths"]["/public/log/checkpoint"]["get"]["responses"]
    assert "application/problem+json" in checkpoint["404"]["content"]
    leaves = document["paths"]["/public/log/leaves"]["get"]
    assert all(p["required"] for p in leaves["parameters"])
    assert "application/problem+json" in leaves["responses"]["400"]["content"]


def test_a_405_names_the_allowed_methods(served: Any) -> None:
    client, _ = served
    response = client.delete("/v1/cases")
    assert response.status_code == 405
    assert set(response.headers["allow"].replace(" ", "").split(",")) >= {"GET", "POST"}


@pytest.mark.parametrize(
    ("method", "path", "kwargs"),
    [
        ("GET", "/v1/deliveries", {"params": {"until": "0.5"}}),
        ("POST", "/v1/deliveries/replay", {"json": {"until": 0}}),
    ],
    ids=["query", "body"],
)
def test_a_number_is_not_a_timestamp(served: Any, method: str, path: str, kwargs: dict[str, Any]) -> None:
    client, _ = served
    response = client.request(method, path, **kwargs)
    assert response.status_code == 400
    assert response.json()["errors"][0]["field"] == "until"
