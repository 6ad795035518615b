"""The router: adapters found by entry point only, none special-cased; held messages; routes cached and dropped."""

from __future__ import annotations

import ast
import asyncio
import importlib
import os
import sys
from pathlib import Path
from typing import Any

import pytest
from litestar.testing import AsyncTestClient
from sqlalchemy import update

from spotcheck.adapters import (
    AdapterNotFoundError,
    InMemoryAnnouncementSink,
    MemoryAdapter,
    OutgoingMessage,
    SmtpAdapter,
    available_adapters,
    memory_mailbox,
)
from spotcheck.gateway.app import create_app
from spotcheck.gateway.delivery.routing import ROUTE_TTL_S, Held, Routed, Router
from spotcheck.gateway.runtime import Runtime
from spotcheck.gateway.scheduler import delivery_worker
from spotcheck.gateway.settings import Settings
from spotcheck.gateway.store.models import OutboundMessage, Platform
from spotcheck.gateway.store.types import utcnow

from .conftest import claimed

DELIVERY_PACKAGE = Path(importlib.import_module("spotcheck.gateway.delivery").__file__ or "").parent
SMTP_URL = "smtp://relay.amr.example:2525?from=noreply@amr.zj.gov.cn&security=none"


class FakeClock:
    def __init__(self) -> None:
        self.now = 100.0

    def __call__(self) -> float:
        return self.now


def router_for(runtime: Runtime, settings: dict[str, Any] | None = None) -> tuple[Router, InMemoryAnnouncementSink]:
    sink = InMemoryAnnouncementSink()
    router = Router(
        sessions=runtime.sessions,
        master_key=runtime.master_key,
        settings=runtime.settings.with_changes(settings) if settings else runtime.settings,
        announcement_sink=sink,
    )
    return router, sink


def message_for(item: Any) -> OutgoingMessage:
    return OutgoingMessage(message_id=item.id, message_type=item.message_type, body=item.body, timestamp=1, case_id="")


def test_no_adapter_name_is_spelled_in_the_delivery_package_or_the_scheduler() -> None:
    names = set(available_adapters())
    for path in [*DELIVERY_PACKAGE.glob("*.py"), DELIVERY_PACKAGE.parent / "scheduler.py"]:
        literals = {node.value for node in ast.walk(ast.parse(path.read_text())) if isinstance(node, ast.Constant)}
        assert not names & literals, f"{path.name} special-cases {names & literals}"


@pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)
async def test_a_third_party_adapter_serves_a_party_through_its_entry_point(runtime: Runtime, fax_adapter: str) -> None:
    router, _ = router_for(runtime)
    try:
        item = claimed(adapter=fax_adapter, destination={"number": "0571-8888"})
        route = await router.route(item)
        assert isinstance(route, Routed)
        outcome = await route.adapter.deliver(message_for(item))
        assert outcome.remote_reference == "fax-1"
        sent = sys.modules[type(route.adapter).__module__].SENT
        assert sent == [("0571-8888", item.id)]
        assert (await router.route(claimed(adapter=fax_adapter, destination={"number": "0571-8888"}))) == route
        refused = await router.route(claimed(adapter=fax_adapter, destination={}))
        assert isinstance(refused, Held)
        assert "number" in refused.reason  # an unusable destination waits for the operator, named
    finally:
        await router.aclose()


@pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)
async def test_the_memory_adapter_serves_a_merchant_like_any_other(runtime: Runtime) -> None:
    router, _ = router_for(runtime)
    try:
        item = claimed(recipient_kind="merchant", adapter="memory", destination={"mailbox": "routing-test"})
        route = await router.route(item)
        assert isinstance(route, Routed)
        assert isinstance(route.adapter, MemoryAdapter)
        await route.adapter.deliver(message_for(item))
        assert [m.message_id for m in memory_mailbox("routing-test").attempts] == [item.id]
    finally:
        await router.aclose()


@pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)
async def test_an_adapter_configured_by_a_url_waits_for_its_setting(runtime: Runtime) -> None:
    item = claimed(adapter="smtp", destination={"to": "quality@maker.example.cn"})
    unconfigured, _ = router_for(runtime)
    configured, _ = router_for(runtime, {"delivery.adapter_urls": {"smtp": SMTP_URL}})
    try:
        held = await unconfigured.route(item)
        assert held == Held("smtp notices wait: SPOTCHECK_SMTP_URL is not configured")
        route = await configured.route(item)
        assert isinstance(route, Routed)
        assert isinstance(route.adapter, SmtpAdapter)
        assert route.adapter.config.to == ["quality@maker.example.cn"]
        assert route.adapter.config.port == 2525
        assert await configured.route(claimed(adapter="smtp", destination={"to": "quality@maker.example.cn"})) == route
    finally:
        await unconfigured.aclose()
        await configured.aclose()
    assert Settings.from_env({"SPOTCHECK_SMTP_URL": SMTP_URL}).delivery.adapter_urls == {"smtp": SMTP_URL}


@pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)
async def test_a_missing_adapter_holds_its_messages_and_the_announcement_adapter_uses_the_sink_lent(
    runtime: Runtime,
) -> None:
    router, sink = router_for(runtime)
    try:
        missing = await router.route(claimed(adapter="carrier-pigeon"))
        assert isinstance(missing, Held)
        assert "not found: misspelled or not installed" in missing.reason
        item = claimed(recipient_kind="public", adapter="announcement", destination={"reason": "经营者地址不详"})
        route = await router.route(item)
        assert isinstance(route, Routed)
        outcome = await route.adapter.deliver(message_for(item))
        assert outcome.delivered
        assert [a.message_id for a in sink.announcements.values()] == [item.id]
    finally:
        await router.aclose()


async def test_a_platform_route_is_reused_for_a_moment_and_dropped_at_once_when_forgotten(
    gateway: Any, receiver: Any
) -> None:
    platform_id = await gateway.receiver_platform(receiver)
    runtime = Runtime(gateway.settings)
    clock = FakeClock()
    router = Router(
        sessions=runtime.sessions,
        master_key=runtime.master_key,
        settings=runtime.settings,
        announcement_sink=InMemoryAnnouncementSink(),
        clock=clock,
    )
    item = claimed(recipient_kind="platform", recipient_id=platform_id, adapter="webhook")
    try:
        first = await router.route(item)
        assert isinstance(first, Routed)
        async with gateway.sessions() as session, session.begin():
            await session.execute(
                update(Platform).where(Platform.id == platform_id).values(disabled_at=utcnow(), disabled_reason="410")
            )
        assert await router.route(item) == first  # another worker's disabling is seen within the TTL...
        clock.now += ROUTE_TTL_S
        assert await router.route(item) == Held(f"platform {platform_id} endpoint is disabled: 410")  # ...here
        async with gateway.sessions() as session, session.begin():
            await session.execute(
                update(Platform).where(Platform.id == platform_id).values(disabled_at=None, disabled_reason=None)
            )
        again = await router.route(item)
        assert isinstance(again, Routed)
        async with gateway.sessions() as session, session.begin():
            await session.execute(update(Platform).where(Platform.id == platform_id).values(disabled_at=utcnow()))
        router.forget(platform_id)  # this worker's own 410: no waiting for the TTL
        assert isinstance(await router.route(item), Held)
        assert await router.route(claimed(recipient_kind="platform", recipient_id="nobody")) == Held(
            "platform nobody is not registered"
        )
    finally:
        await router.aclose()
        await runtime.stop()


async def _refer_to_missing_adapters(gateway: Any) -> None:
    async with gateway.sessions() as session, session.begin():
        session.add(Platform(id="pigeon-mall", name="信鸽商城", province_code="330000", adapter="carrier-pigeon"))
        session.add(
            OutboundMessage(
                id="msg_fax_1",
                case_id=None,
                message_type="result.notice",
                recipient_kind="manufacturer",
                recipient_id="mfr-1",
                recipient_name="某厂",
                adapter="telex",
                destination={},
                body=b"{}",
                timestamp=1,
            )
        )


async def test_a_missing_adapter_stops_the_worker_at_start_naming_it_and_its_users(gateway: Any) -> None:
    await _refer_to_missing_adapters(gateway)
    runtime = Runtime(gateway.settings)
    worker = delivery_worker(runtime)
    try:
        with pytest.raises(AdapterNotFoundError) as refused:
            await worker.preflight()
        message = str(refused.value)
        assert "'carrier-pigeon' not found: misspelled or not installed" in message
        assert "platform pigeon-mall" in message
        with pytest.raises(AdapterNotFoundError, match="carrier-pigeon"):
            await asyncio.wait_for(worker.run(), 10)  # run() refuses to start as well, and cleans up
    finally:
        await runtime.stop()
    async with gateway.sessions() as session, session.begin():
        await session.execute(update(Platform).values(adapter="webhook"))
    runtime = Runtime(gateway.settings)
    try:
        with pytest.raises(AdapterNotFoundError, match=r"'telex' not found.*used by undelivered messages"):
            await delivery_worker(runtime).preflight()
    finally:
        await runtime.stop()


async def test_a_missing_adapter_fails_the_start_of_serve_and_of_the_worker_command(gateway: Any) -> None:
    await _refer_to_missing_adapters(gateway)
    app = create_app(gateway.settings.with_changes({"worker.run": True}))
    with pytest.raises(BaseExceptionGroup) as refused:  # the test client's task group wraps the start-up error
        async with AsyncTestClient(app=app):
            pass
    assert refused.group_contains(AdapterNotFoundError, match="carrier-pigeon")
    env = {
        **os.environ,
        "SPOTCHECK_DATA_DIR": str(gateway.settings.store.data_dir),
        "SPOTCHECK_DATABASE_URL": gateway.settings.store.url,
    }
    spotcheck = str(Path(sys.executable).with_name("spotcheck"))
    process = await asyncio.create_subprocess_exec(
        spotcheck, "worker", env=env, stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE
    )
    _, stderr = await asyncio.wait_for(process.communicate(), 60)
    assert process.returncode == 1
    assert "Error: adapter 'carrier-pigeon' not found: misspelled or not installed" in stderr.decode()
