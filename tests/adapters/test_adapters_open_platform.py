from __future__ import annotations

import hashlib
import hmac
from collections.abc import AsyncIterator
from typing import Any
from urllib.parse import parse_qsl

import httpx
import pytest
import respx

from spotcheck.adapters import (
    AdapterConfigError,
    AdapterContext,
    OpenPlatformAdapter,
    make_http_client,
    top_signature,
)

from .conftest import fixed_clock, make_message

URL = "https://93.184.215.14/router/rest"
SECRET = "helloworld"
BASE: dict[str, Any] = {
    "url": URL,
    "app_key": "12345678",
    "app_secret": SECRET,
    "methods": {"takedown.order": "alibaba.regulator.takedown.notify", "result.notice": "alibaba.regulator.result"},
}

# Known-answer vectors, computed outside Python (coreutils md5sum, openssl dgst -hmac) over the TOP concatenation
# "app_key12345678fieldsnum_iid,title,priceformatjsonmethodtaobao.item.getnum_iid11223344session6101"
# "sign_methodmd5timestamp2024-01-02 03:04:05v2.0".
VECTOR_PARAMS = {
    "method": "taobao.item.get",
    "app_key": "12345678",
    "session": "6101",
    "timestamp": "2024-01-02 03:04:05",
    "format": "json",
    "v": "2.0",
    "sign_method": "md5",
    "fields": "num_iid,title,price",
    "num_iid": "11223344",
    "partner_id": "",  # empty values are left out of the signature
    "sign": "IGNORED",  # and so is sign itself
}


@pytest.mark.parametrize(
    ("method", "expected"),
    [
        ("md5", "0FB2A62E8D606BD20932C4D94D1A5953"),
        ("hmac", "4EF801F9E4B1C9CA5F183E7EEE8FD6F5"),
        ("hmac-sha256", "AFC1B1A20990660975F532E21C3AC4DA8B2843A9E6AADC0DC08F778AC1837770"),
    ],
)
def test_top_signature_known_vectors(method: Any, expected: str) -> None:
    assert top_signature(VECTOR_PARAMS, SECRET, method) == expected


def test_top_signature_sorts_by_byte_order_and_signs_utf8() -> None:
    params = {"b": "2", "a": "1", "B": "3", "title": "儿童玩具"}
    joined = "B3a1b2title儿童玩具"  # upper case sorts first in byte order
    expected = hashlib.md5((SECRET + joined + SECRET).encode(), usedforsecurity=False).hexdigest().upper()
    assert top_signature(params, SECRET, "md5") == expected


@pytest.fixture
async def client() -> AsyncIterator[httpx.AsyncClient]:
    async with make_http_client(transport="httpx") as http_client:
        yield http_client


def adapter_for(client: httpx.AsyncClient, **overrides: Any) -> OpenPlatformAdapter:
    return OpenPlatformAdapter({**BASE, **overrides}, context=AdapterContext(http_client=client, clock=fixed_clock))


def independent_sign(params: dict[str, str], secret: str, method: str) -> str:
    joined = "".join(k + v for k, v in sorted(params.items()) if k != "sign" and v)
    if method == "md5":
        return hashlib.md5((secret + joined + secret).encode(), usedforsecurity=False).hexdigest().upper()
    algorithm = hashlib.md5 if method == "hmac" else hashlib.sha256
    return hmac.new(secret.encode(), joined.encode(), algorithm).hexdigest().upper()


@pytest.mark.parametrize("sign_method", ["md5", "hmac", "hmac-sha256"])
async def test_request_is_a_signed_top_call(client: httpx.AsyncClient, sign_method: str) -> None:
    adapter = adapter_for(
        client, sign_method=sign_method, session="tok-1", message_params={"out_request_id": "message_id"}
    )
    message = make_message()
    with respx.mock() as router:
        route = router.post(URL).mock(
            return_value=httpx.Response(
                200, json={"alibaba_regulator_takedown_notify_response": {"result": True, "request_id": "abc123"}}
            )
        )
        outcome = await adapter.deliver(message)
    assert (outcome.status, outcome.remote_reference) == ("delivered", "abc123")
    request = route.calls.last.request
    assert request.headers["content-type"].startswith("application/x-www-form-urlencoded")
    params = dict(parse_qsl(request.content.decode(), keep_blank_values=True))
    assert params == {
        "app_key": "12345678",
        "method": "alibaba.regulator.takedown.notify",
        "timestamp": "2023-11-15 06:13:20",  # Asia/Shanghai
        "v": "2.0",
        "sign_method": sign_method,
        "format": "json",
        "session": "tok-1",
        "out_request_id": message.message_id,
        "param_json": message.body.decode(),
        "sign": params["sign"],
    }
    assert params["sign"] == independent_sign(params, SECRET, sign_method)


async def test_pdd_style_parameter_names(client: httpx.AsyncClient) -> None:
    adapter = adapter_for(
        client,
        param_names={
            "app_key": "client_id",
            "method": "type",
            "v": "version",
            "format": "data_type",
            "sign_method": "",
        },
        timestamp_format="unix",
        payload_param="notice",
        extra_params={"channel": "regulator"},
        session="atk",
    )
    with respx.mock() as router:
        route = router.post(URL).mock(return_value=httpx.Response(200, json={"notify_response": {"ok": 1}}))
        await adapter.deliver(make_message())
    params = dict(parse_qsl(route.calls.last.request.content.decode()))
    assert set(params) == {
        "client_id",
        "type",
        "timestamp",
        "version",
        "data_type",
        "session",
        "channel",
        "notice",
        "sign",
    }
    assert params["timestamp"] == "1700000000"
    assert params["sign"] == independent_sign(params, SECRET, "md5")


@pytest.mark.parametrize(
    ("answer", "status", "fragment"),
    [
        ({"error_response": {"code": 7, "msg": "App Call Limited", "request_id": "r1"}}, "throttled", "App Call"),
        (
            {"error_response": {"code": 15, "msg": "Remote service error", "sub_code": "isp.top-remote-timeout"}},
            "retry",
            "isp.top-remote-timeout",
        ),
        (
            {"error_response": {"code": 15, "sub_code": "isv.invalid-parameter", "sub_msg": "非法参数"}},
            "rejected",
            "非法参数",
        ),
        ({"error_response": {"code": 25, "msg": "Invalid signature"}}, "rejected", "Invalid signature"),
        ({"error_response": {"error_code": 10019, "error_msg": "access_token已过期"}}, "rejected", "10019"),
        ({"error_response": "oops"}, "rejected", "error without details"),
    ],
)
async def test_error_response_classification(
    client: httpx.AsyncClient, answer: dict[str, Any], status: str, fragment: str
) -> None:
    with respx.mock() as router:
        router.post(URL).mock(return_value=httpx.Response(200, json=answer))
        outcome = await adapter_for(client).deliver(make_message())
    assert outcome.status == status
    assert outcome.http_status == 200
    assert outcome.error is not None
    assert fragment in outcome.error


async def test_code_path_rules(client: httpx.AsyncClient) -> None:
    adapter = adapter_for(
        client,
        response={"code_path": "result.code", "success_codes": ["0", "true"], "throttle_codes": ["1001"]},
    )
    answers = [
        ({"result": {"code": 0, "message": "ok"}, "request_id": "q"}, "delivered"),
        ({"result": {"code": True}}, "delivered"),
        ({"result": {"code": "1001", "message": "too fast"}}, "throttled"),
        ({"result": {"code": 2001, "message": "listing not found"}}, "rejected"),
        ({"result": {}}, "retry"),
    ]
    for answer, status in answers:
        with respx.mock() as router:
            router.post(URL).mock(return_value=httpx.Response(200, json=answer))
            outcome = await adapter.deliver(make_message())
        assert outcome.status == status, answer


@pytest.mark.parametrize(
    ("response", "status"),
    [
        (httpx.Response(200, content=b"<html>gateway page</html>"), "retry"),
        (httpx.Response(200, json=["not", "an", "object"]), "retry"),
        (httpx.Response(200, content=b'{"a": "' + b"x" * 5000 + b'"}'), "retry"),
        (httpx.Response(503, headers={"retry-after": "9"}), "throttled"),
        (httpx.Response(410), "gone"),
        (httpx.Response(500), "retry"),
    ],
)
async def test_http_level_and_garbage_answers(client: httpx.AsyncClient, response: httpx.Response, status: str) -> None:
    with respx.mock() as router:
        router.post(URL).mock(return_value=response)
        outcome = await adapter_for(client, max_response_bytes=1024).deliver(make_message())
    assert outcome.status == status


async def test_transport_failure_and_unmapped_types(client: httpx.AsyncClient) -> None:
    adapter = adapter_for(client)
    with respx.mock(assert_all_called=False) as router:
        route = router.post(URL).mock(side_effect=httpx.ConnectError("refused"))
        refused = await adapter.deliver(make_message())
        unmapped = await adapter.deliver(make_message(message_type="sampling.notice"))
    assert refused.status == "retry"
    assert unmapped.status == "rejected"
    assert unmapped.error is not None
    assert "sampling.notice" in unmapped.error
    assert route.call_count == 1


@pytest.mark.parametrize(
    ("overrides", "field"),
    [
        ({"url": "ftp://x"}, "url"),
        ({"app_key": ""}, "app_key"),
        ({"app_secret": 5}, "app_secret"),
        ({"methods": {}}, "methods"),
        ({"methods": {"takedown.order": ""}}, "methods"),
        ({"sign_method": "sha1"}, "sign_method"),
        ({"param_names": {"app_id": "x"}}, "param_names"),
        ({"param_names": {"sign": ""}}, "param_names"),
        ({"payload_param": "method"}, "payload_param"),
        ({"extra_params": {"app_key": "x"}}, "extra_params"),
        ({"message_params": {"id": "subject"}}, "message_params"),
        ({"timestamp_format": "iso"}, "timestamp_format"),
        ({"timeout_s": -1}, "timeout_s"),
        ({"max_response_bytes": 10}, "max_response_bytes"),
        ({"response": {"code_path": "a..b"}}, "response.code_path"),
        ({"response": {"code_path": "code", "success_codes": []}}, "response.success_codes"),
        ({"response": {"retry_codes": [""]}}, "response.retry_codes"),
        ({"response": {"codes": []}}, "response.codes"),
        ({"secret": "x"}, "secret"),
    ],
)
def test_config_errors_name_the_field(overrides: dict[str, Any], field: str) -> None:
    with pytest.raises(AdapterConfigError) as error:
        OpenPlatformAdapter.validate_config({**BASE, **overrides})
    assert error.value.field == field
    assert SECRET not in str(error.value)
