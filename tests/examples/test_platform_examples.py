"""Each platform example, driven by its framework's test client: a signed delisting order reaches the catalogue."""

from __future__ import annotations

import os
import subprocess
import sys
import uuid
from collections.abc import Callable
from pathlib import Path
from types import ModuleType

import httpx

from spotcheck.sdk import generate_secret

EXPECTED_LISTINGS = ["item-620000001", "item-620000002"]  # 暖暖 110cm, and its alias NuanNuan written "110 CM"

Sign = Callable[..., dict[str, str]]


def test_flask_example(load_example: Callable[[str], ModuleType], delisting_body: bytes, sign: Sign) -> None:
    example = load_example("platform_flask.py")
    client = example.app.test_client()

    ok = client.post("/webhooks/spotcheck", data=delisting_body, headers=sign(delisting_body, "msg_1"))
    again = client.post("/webhooks/spotcheck", data=delisting_body, headers=sign(delisting_body, "msg_1"))
    forged = client.post(
        "/webhooks/spotcheck", data=delisting_body, headers=sign(delisting_body, "msg_2", key=generate_secret())
    )
    wrong_method = client.get("/webhooks/spotcheck")

    assert (ok.status_code, ok.get_json()) == (200, {"status": "processed"})
    assert again.get_json() == {"status": "duplicate"}
    assert forged.status_code == 401
    assert wrong_method.status_code == 405
    assert example.delisted == EXPECTED_LISTINGS


async def test_fastapi_example(load_example: Callable[[str], ModuleType], delisting_body: bytes, sign: Sign) -> None:
    # httpx's ASGI transport rather than Starlette's TestClient, which warns unless the httpx2 fork is installed.
    example = load_example("platform_fastapi.py")
    transport = httpx.ASGITransport(app=example.app)
    async with httpx.AsyncClient(transport=transport, base_url="http://platform") as client:
        ok = await client.post("/webhooks/spotcheck/", content=delisting_body, headers=sign(delisting_body, "msg_1"))
        forged = await client.post(
            "/webhooks/spotcheck/", content=delisting_body, headers=sign(delisting_body, "msg_2", key=generate_secret())
        )
        redirected = await client.post(
            "/webhooks/spotcheck", content=delisting_body, headers=sign(delisting_body, "m3")
        )

    assert (ok.status_code, ok.json()) == (200, {"status": "processed"})
    assert forged.status_code == 401
    assert redirected.status_code == 307  # why the registered URL ends with a slash: the gateway never follows
    assert example.delisted == EXPECTED_LISTINGS


def test_litestar_example(load_example: Callable[[str], ModuleType], delisting_body: bytes, sign: Sign) -> None:
    from litestar.testing import TestClient

    example = load_example("platform_litestar.py")
    with TestClient(app=example.app) as client:
        ok = client.post("/webhooks/spotcheck", content=delisting_body, headers=sign(delisting_body, "msg_1"))
        forged = client.post(
            "/webhooks/spotcheck", content=delisting_body, headers=sign(delisting_body, "msg_2", key=generate_secret())
        )
        too_big = client.post(
            "/webhooks/spotcheck",
            content=b" " * (2 * 1024 * 1024),
            headers={"content-type": "application/json"},
        )

    assert (ok.status_code, ok.json()) == (200, {"status": "processed"})
    assert forged.status_code == 401
    assert too_big.status_code == 413
    assert example.delisted == EXPECTED_LISTINGS


def test_django_example(django_example: ModuleType, delisting_body: bytes, sign: Sign) -> None:
    from django.test import Client

    client = Client(enforce_csrf_checks=True)  # the view must be exempt, as the gateway sends no CSRF token
    msg_id = f"msg_{uuid.uuid4().hex}"  # the module lives for the session: keep ids unique
    django_example.delisted.clear()

    ok = client.post(
        "/webhooks/spotcheck",
        data=delisting_body,
        content_type="application/json",
        headers=sign(delisting_body, msg_id),
    )
    forged = client.post(
        "/webhooks/spotcheck",
        data=delisting_body,
        content_type="application/json",
        headers=sign(delisting_body, f"{msg_id}_2", key=generate_secret()),
    )
    wrong_method = client.get("/webhooks/spotcheck")

    assert (ok.status_code, ok.json()) == (200, {"status": "processed"})
    assert forged.status_code == 401
    assert forged.json()["type"] == "urn:spotcheck:problem:bad-signature"
    assert wrong_method.status_code == 405
    assert django_example.delisted == EXPECTED_LISTINGS


def test_the_django_example_runs_management_commands(examples_dir: Path) -> None:
    env = {key: value for key, value in os.environ.items() if not key.startswith("SPOTCHECK_")}
    env["SPOTCHECK_WEBHOOK_SECRET"] = generate_secret()
    result = subprocess.run(  # noqa: S603 - this interpreter running the example with fixed arguments
        [sys.executable, str(examples_dir / "platform_django" / "app.py"), "check"],
        capture_output=True,
        text=True,
        env=env,
        timeout=60,
        check=False,
    )
    assert result.returncode == 0, result.stderr
    assert "System check identified no issues" in result.stdout
