"""The case API's edge: bodies are refused with 400 naming the field, whatever the field is called."""

from __future__ import annotations

from typing import Any

import pytest

pytestmark = pytest.mark.postgres


@pytest.mark.parametrize(
    ("action", "body", "field"),
    [
        ("takedown", {"measures": None}, "measures"),
        ("stop-sale", {"warning_measures": None}, "warning_measures"),
        ("result", {"received_at": None}, "received_at"),
        ("records-request", {"order_nos": None}, "order_nos"),
    ],
)
async def test_an_invalid_body_field_answers_400_naming_it(
    gateway: Any, action: str, body: dict[str, Any], field: str
) -> None:
    # A body field sharing the name of an injected dependency once answered 500 instead.
    token = await gateway.authority("330000", "浙江省市场监督管理局")
    response = await gateway.client.post(f"/v1/cases/case_missing/{action}", json=body, headers=gateway.auth(token))
    assert response.status_code == 400, response.text
    assert field in [error["field"] for error in response.json()["errors"]]
