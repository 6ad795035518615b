"""Moments in the regulator API are RFC 3339 strings with an offset; numbers, bare dates and naive times are refused.

Bodies are decoded strictly (``web/bodies.py``) and query moments through ``RequestTimestamp``; each refusal is a 400
naming the field, with the reason in Chinese. The table below lists every moment of every /v1 request, and a test
reads the app's routes to keep the table complete.
"""

from __future__ import annotations

import copy
import re
from datetime import UTC, date, datetime, timedelta, timezone
from typing import Any

import pytest
from litestar import Litestar
from msgspec import inspect

from spotcheck.gateway.web.openapi import REQUEST_EXAMPLES
from spotcheck.gateway.web.timestamps import RequestTimestamp, decode_timestamp, is_request_timestamp

# ---- the decoder of query moments ---------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("2026-12-14T23:59:00+08:00", datetime(2026, 12, 14, 23, 59, tzinfo=timezone(timedelta(hours=8)))),
        ("2026-12-14T15:59:00Z", datetime(2026, 12, 14, 15, 59, tzinfo=UTC)),
        ("2026-12-14T15:59:00.123456+00:00", datetime(2026, 12, 14, 15, 59, 0, 123456, tzinfo=UTC)),
    ],
)
def test_rfc3339_strings_with_an_offset_are_read(text: str, expected: datetime) -> None:
    moment = decode_timestamp(RequestTimestamp, text)
    assert isinstance(moment, RequestTimestamp)
    assert moment == expected
    assert moment.utcoffset() == expected.utcoffset()


@pytest.mark.parametrize("value", [0, 0.5, 1765728000, True, None, ["2026-12-14T23:59:00+08:00"]])
def test_anything_but_a_string_is_refused(value: object) -> None:
    with pytest.raises(TypeError, match="RFC 3339"):
        decode_timestamp(RequestTimestamp, value)


@pytest.mark.parametrize(
    ("text", "why"),
    [
        ("0.5", "不接受数字"),
        ("1765728000", "不接受数字"),
        ("2026-12-14", "只写日期"),
        ("2026-12-14T23:59:00", "缺少时区偏移"),
        ("14/12/2026 23:59", "不是完整的日期时间"),
        ("", "不是完整的日期时间"),
        ("now", "不是完整的日期时间"),
    ],
)
def test_strings_that_are_not_rfc3339_date_times_with_an_offset_are_refused(text: str, why: str) -> None:
    with pytest.raises(ValueError, match="RFC 3339") as refused:
        decode_timestamp(RequestTimestamp, text)
    assert why in str(refused.value)


def test_only_the_request_type_is_decoded_this_way() -> None:
    assert is_request_timestamp(RequestTimestamp)
    assert not is_request_timestamp(datetime)


# ---- every moment of every /v1 request ------------------------------------------------------------------------------

BODY_MOMENTS: list[tuple[str, str]] = [
    ("/v1/cases/{case_id}/purchase", "purchased_at"),
    ("/v1/cases/{case_id}/purchase", "orders[0].ordered_at"),
    ("/v1/cases/{case_id}/sealing", "sealed_at"),
    ("/v1/cases/{case_id}/result", "received_at"),
    ("/v1/cases/{case_id}/records-request", "records_from"),
    ("/v1/cases/{case_id}/records-request", "records_until"),
    ("/v1/cases/{case_id}/reinspection-applications", "applied_at"),
    ("/v1/cases/{case_id}/backup-sample/shipped", "shipped_at"),
    ("/v1/cases/{case_id}/backup-sample/outcome", "at"),
    ("/v1/deliveries/replay", "since"),
    ("/v1/deliveries/replay", "until"),
]
"""(POST route, the field as the problem names it): each body's moments."""

QUERY_MOMENTS: list[tuple[str, str]] = [("/v1/deliveries", "since"), ("/v1/deliveries", "until")]
"""(GET route, query parameter)."""

REFUSED: list[tuple[Any, str]] = [
    (1765728000, "不接受数字"),
    (1765728000.5, "不接受数字"),
    ("1765728000", "不是完整的日期时间"),
    ("2026-12-14", "只写日期"),
    ("2026-12-14T23:59:00", "缺少时区偏移"),
    (True, "不是字符串"),
    # The ends of Python's range overflow once converted to UTC or Beijing time: refused, never a 500.
    ("9999-12-31T23:59:59Z", "超出可处理的年份范围"),
    ("0001-01-01T00:00:00+14:00", "超出可处理的年份范围"),
]
"""A body moment's wrong forms and the words of the reason each must give."""

QUERY_REFUSED: list[tuple[str, str]] = [
    ("1765728000", "不接受数字"),
    ("1765728000.5", "不接受数字"),
    ("2026-12-14", "只写日期"),
    ("2026-12-14T23:59:00", "缺少时区偏移"),
    ("now", "不是完整的日期时间"),
    ("9999-12-31T23:59:59-12:00", "超出可处理的年份范围"),
    ("0001-01-01T00:00:00+14:00", "超出可处理的年份范围"),
]
"""A query moment's wrong forms (text, as every query value is) and the words of the reason."""

_STEP = re.compile(r"([^.\[\]]+)|\[(\d+)\]")
_UNKNOWN_CASE = "case_01M9000000000000000000000"


def _steps(field: str) -> list[str | int]:
    return [name if name else int(index) for name, index in _STEP.findall(field)]


def _get(body: Any, field: str) -> Any:
    for step in _steps(field):
        body = body[step]
    return body


def _has(body: Any, field: str) -> bool:
    try:
        _get(body, field)
    except KeyError:
        return False
    return True


def _set(body: Any, field: str, value: Any) -> Any:
    changed = copy.deepcopy(body)
    *parents, last = _steps(field)
    target = changed
    for step in parents:
        target = target[step]
    target[last] = value
    return changed


def _example(route: str) -> dict[str, Any]:
    """The documented example of the route's body: valid, so only the moment under test is wrong."""
    return copy.deepcopy(REQUEST_EXAMPLES[("post", route)][1])


def _in_utc(text: str) -> str:
    """The same instant written with ``Z``."""
    moment = datetime.fromisoformat(text).astimezone(UTC)
    return moment.strftime("%Y-%m-%dT%H:%M:%S") + "Z"


async def _admin(gw: Any) -> str:
    token: str = await gw.authority("100000", "国家市场监督管理总局", scopes=("read", "write", "admin", "supervise"))
    return token


def _assert_refused(response: Any, field: str, why: str) -> None:
    assert response.status_code == 400, response.text
    problem = response.json()
    assert problem["type"] == "urn:spotcheck:problem:invalid-request"
    assert [error["field"] for error in problem["errors"]] == [field], problem
    reason = problem["errors"][0]["reason"]
    assert why in reason, reason
    assert "RFC 3339" in reason and "2026-12-14T23:59:00+08:00" in reason, reason
    assert problem["detail"] == f"{field}: {reason}"


@pytest.mark.parametrize(("route", "field"), BODY_MOMENTS, ids=[f"{r} {f}" for r, f in BODY_MOMENTS])
async def test_a_body_moment_is_an_rfc3339_string_with_an_offset_and_nothing_else(
    gateway: Any, route: str, field: str
) -> None:
    gw = gateway
    token = await _admin(gw)
    path, example = route.format(case_id=_UNKNOWN_CASE), _example(route)
    for value, why in REFUSED:
        response = await gw.client.post(path, json=_set(example, field, value), headers=gw.auth(token))
        if why.startswith("超出") and field.startswith("records_"):
            # The request's own check that the span ends after it starts may answer first, naming either end.
            assert response.status_code == 400, response.text
            assert {e["field"] for e in response.json()["errors"]} <= {"records_from", "records_until"}
            continue
        _assert_refused(response, field, why)
    # The case does not exist: a valid body gets to the handler, which says so; a replay of nothing replays nothing.
    expected = 202 if route == "/v1/deliveries/replay" else 404
    written = _get(example, field) if _has(example, field) else "2026-12-14T23:59:00+08:00"
    for moment in (written, _in_utc(written)):
        response = await gw.client.post(path, json=_set(example, field, moment), headers=gw.auth(token))
        assert response.status_code == expected, f"{moment}: {response.text}"


@pytest.mark.parametrize(("route", "name"), QUERY_MOMENTS, ids=[f"{r} {n}" for r, n in QUERY_MOMENTS])
async def test_a_query_moment_is_an_rfc3339_string_with_an_offset_and_nothing_else(
    gateway: Any, route: str, name: str
) -> None:
    gw = gateway
    token = await _admin(gw)
    for text, why in QUERY_REFUSED:
        response = await gw.client.get(route, params={name: text}, headers=gw.auth(token))
        _assert_refused(response, name, why)
    for text in ("2026-12-14T23:59:00+08:00", "2026-12-14T15:59:00Z"):
        response = await gw.client.get(route, params={name: text}, headers=gw.auth(token))
        assert response.status_code == 200, f"{text}: {response.text}"


async def _case_awaiting_purchase(gw: Any, publish_case: Any, name: str) -> tuple[str, str, dict[str, Any]]:
    """A Zhejiang token, a case ready for its purchase, and the documented purchase body with the case's captures."""
    token = await gw.authority("330000", "浙江省市场监督管理局")
    platform = await gw.register_platform(token, f"{name}-mall")
    case_id = await publish_case(gw, token, platform.id, shop=f"{name}-shop", publish=False)
    screenshots, _ = await gw.sampling_evidence(token, case_id)
    return token, case_id, _set(_example("/v1/cases/{case_id}/purchase"), "screenshots", screenshots)


async def test_a_moment_written_with_z_reaches_the_case_as_the_same_instant(gateway: Any, publish_case: Any) -> None:
    gw = gateway
    token, case_id, body = await _case_awaiting_purchase(gw, publish_case, "z")
    body = _set(_set(body, "purchased_at", "2026-10-08T02:15:00Z"), "orders", body["orders"][:1])
    case = await gw.post(f"/v1/cases/{case_id}/purchase", token, body)
    stored = datetime.fromisoformat(case["purchase"]["purchased_at"])
    assert stored == datetime(2026, 10, 8, 10, 15, tzinfo=timezone(timedelta(hours=8)))


async def test_a_recorded_moment_in_the_future_is_refused_naming_it(gateway: Any, publish_case: Any) -> None:
    """A purchase, a sealing or a result has happened: a later moment is a typing error that clocks would count from."""
    gw = gateway
    token, case_id, body = await _case_awaiting_purchase(gw, publish_case, "f")
    tomorrow = (datetime.now(UTC) + timedelta(days=1)).isoformat()
    for field in ("purchased_at", "orders[1].ordered_at"):
        response = await gw.client.post(
            f"/v1/cases/{case_id}/purchase", json=_set(body, field, tomorrow), headers=gw.auth(token)
        )
        assert response.status_code == 422, response.text
        assert [error["field"] for error in response.json()["errors"]] == [field]
        assert "不能晚于现在" in response.json()["errors"][0]["reason"]
    assert (await gw.post(f"/v1/cases/{case_id}/purchase", token, body))["state"] == "purchased"


# ---- the table is complete: the app's own routes ------------------------------------------------------------------


def _moments(kind: inspect.Type, path: str, seen: frozenset[type]) -> list[tuple[str, inspect.Type]]:
    """Every date and date-time in ``kind``, each with the field path a problem names it by."""
    while isinstance(kind, inspect.Metadata):
        kind = kind.type
    if isinstance(kind, inspect.DateTimeType | inspect.DateType | inspect.CustomType):
        return [(path, kind)]
    return [found for inner in _inside(kind, path, seen) for found in _moments(*inner)]


def _inside(kind: inspect.Type, path: str, seen: frozenset[type]) -> list[tuple[inspect.Type, str, frozenset[type]]]:
    """The types ``kind`` holds, each with its path (a list's items as its first)."""
    if isinstance(kind, inspect.StructType | inspect.DataclassType):
        if kind.cls in seen:
            return []
        return [(f.type, f"{path}.{f.encode_name}".lstrip("."), seen | {kind.cls}) for f in kind.fields]
    if isinstance(kind, inspect.UnionType):
        return [(member, path, seen) for member in kind.types]
    if isinstance(kind, inspect.ListType | inspect.SetType | inspect.FrozenSetType | inspect.VarTupleType):
        return [(kind.item_type, f"{path}[0]", seen)]
    if isinstance(kind, inspect.DictType):
        return [(kind.value_type, f"{path}[key]", seen)]
    return []


def _v1_operations(app: Litestar) -> list[tuple[str, str, dict[str, Any]]]:
    return [
        (method, re.sub(r":\w+}", "}", route.path), dict(handler.parsed_fn_signature.parameters))
        for route in app.routes
        if route.path.startswith("/v1/")
        for handler in getattr(route, "route_handlers", [])
        for method in sorted(handler.http_methods - {"OPTIONS", "HEAD"})
    ]


async def test_every_moment_of_every_v1_request_is_in_the_table(gateway: Any) -> None:
    app = gateway.client.app
    body_moments, query_moments = set(), set()
    for method, path, parameters in _v1_operations(app):
        for name, parameter in parameters.items():
            if name == "data":
                for field, kind in _moments(inspect.type_info(parameter.annotation), "", frozenset()):
                    if isinstance(kind, inspect.DateTimeType):
                        # Strict decoding refuses numbers and bare dates; the offset is the type's to require.
                        assert kind.tz is True, f"{method} {path} {field}: a body moment must require an offset"
                        body_moments.add((method, path, field))
                    else:
                        assert isinstance(kind, inspect.DateType), f"{method} {path} {field}: {kind}"
                continue
            kinds = [parameter.annotation, *(inner.annotation for inner in parameter.inner_types)]
            if RequestTimestamp in kinds:
                query_moments.add((method, path, name))
            else:
                assert not any(isinstance(k, type) and issubclass(k, date) for k in kinds), (
                    f"{method} {path} {name}: a moment outside a body must be a RequestTimestamp"
                )
    assert body_moments == {("POST", route, field) for route, field in BODY_MOMENTS}
    assert query_moments == {("GET", route, name) for route, name in QUERY_MOMENTS}
