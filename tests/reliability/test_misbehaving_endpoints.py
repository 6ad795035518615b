"""Platform endpoints that misbehave at the TCP and HTTP level, all at once, against one running delivery worker.

Each endpoint is a raw asyncio server: it hangs, resets the connection, closes without answering, answers just
under or just over the adapter's timeout, sends bytes that are not HTTP, a huge body, or a 200 whose body is
not what a receiver should send. The worker must keep running, classify every attempt (recorded in the
database) and deliver each notice once its endpoint recovers.
"""

from __future__ import annotations

import asyncio
import contextlib
import socket
import struct
import time
from collections import Counter
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import func, select

from spotcheck.adapters import MAX_EXCERPT_BYTES
from spotcheck.gateway.runtime import Runtime
from spotcheck.gateway.scheduler import delivery_worker
from spotcheck.gateway.store.models import DeliveryAttempt, OutboundMessage
from spotcheck.sdk import VerificationError, Webhook, generate_keypair

TIMEOUT_S = 1.5  # the adapter's whole-attempt budget for every endpoint below
FAST_SCHEDULE = (0.05, 0.05, 0.1, 0.1, 0.2, 0.2, 0.3, 0.3, 0.5, 0.5, 0.5, 0.5)
HUGE = 64 * 1024 * 1024  # declared body size of the huge answers; the worker must read only a bounded excerpt


@dataclass(frozen=True)
class Misbehaviour:
    """How an endpoint misbehaves, how often before it recovers, and what the worker must make of the first try."""

    mode: str
    times: int
    first_outcome: str
    first_http: int | None = None


MISBEHAVIOURS = [
    Misbehaviour("hang", 2, "retry"),
    Misbehaviour("reset_before_answer", 2, "retry"),
    Misbehaviour("reset_mid_answer", 2, "retry"),
    Misbehaviour("close_without_answer", 2, "retry"),
    Misbehaviour("slow_under_timeout", 1, "delivered", 204),
    Misbehaviour("slow_over_timeout", 2, "retry"),
    Misbehaviour("not_http", 2, "retry"),
    Misbehaviour("huge_body_500", 2, "retry", 500),
    Misbehaviour("huge_body_200", 1, "delivered", 200),
    Misbehaviour("invalid_body_200", 1, "delivered", 200),
]


async def _read_request(reader: asyncio.StreamReader) -> tuple[dict[str, str], bytes]:
    head = await reader.readuntil(b"\r\n\r\n")
    lines = head.decode("latin-1").split("\r\n")[1:]
    headers = {k.strip().lower(): v.strip() for k, _, v in (line.partition(":") for line in lines if line)}
    body = await reader.readexactly(int(headers.get("content-length", "0")))
    return headers, body


def _reset(writer: asyncio.StreamWriter) -> None:
    """Close with a TCP RST instead of a FIN (SO_LINGER with a zero timeout)."""
    sock = writer.get_extra_info("socket")
    if sock is not None:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
    writer.transport.abort()


@dataclass
class Endpoint:
    """A raw TCP platform endpoint that misbehaves ``times`` times, then verifies and accepts with 204."""

    behaviour: Misbehaviour
    secret: str = ""
    url: str = ""
    misbehaved: int = 0
    accepted: Counter[str] = field(default_factory=Counter)
    refused: int = 0
    connections: set[asyncio.StreamWriter] = field(default_factory=set)

    async def handle(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        """Serve one connection: one request, answered badly or well."""
        self.connections.add(writer)
        try:
            headers, body = await _read_request(reader)
            try:
                Webhook(self.secret).verify(body, headers)
            except VerificationError:
                self.refused += 1
                writer.write(b"HTTP/1.1 401 Unauthorized\r\nContent-Length: 0\r\nConnection: close\r\n\r\n")
                return
            if self.misbehaved < self.behaviour.times:
                self.misbehaved += 1
                if self.behaviour.first_outcome == "delivered":
                    self.accepted[headers["webhook-id"]] += 1  # taken in, however oddly it is answered
                await self.misbehave(reader, writer)
                return
            self.accepted[headers["webhook-id"]] += 1
            writer.write(b"HTTP/1.1 204 No Content\r\nConnection: close\r\n\r\n")
            await writer.drain()
        except (asyncio.IncompleteReadError, ConnectionError):
            pass  # the worker gave up on this attempt first: nothing to answer
        finally:
            self.connections.discard(writer)
            writer.transport.abort()

    async def misbehave(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        mode = self.behaviour.mode
        if mode == "hang":
            await reader.read()  # never answer; return only when the worker hangs up
        elif mode == "reset_before_answer":
            _reset(writer)
        elif mode == "reset_mid_answer":
            writer.write(b'HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: 100\r\n\r\n{"rec')
            await writer.drain()
            await asyncio.sleep(0.05)
            _reset(writer)
        elif mode == "close_without_answer":
            writer.close()
        elif mode in {"slow_under_timeout", "slow_over_timeout"}:
            with contextlib.suppress(TimeoutError):
                # Returns early only when the worker hangs up, i.e. after its own timeout.
                await asyncio.wait_for(reader.read(), TIMEOUT_S * (0.5 if mode == "slow_under_timeout" else 2.0))
            writer.write(b"HTTP/1.1 204 No Content\r\nConnection: close\r\n\r\n")
            await writer.drain()
        elif mode == "not_http":
            writer.write(b"\x00\xff\xfeSSH-2.0-OpenSSH_9.6\r\n\x1b[31m\x00garbage\xc3\x28\r\n\r\n")
            await writer.drain()
        elif mode in {"huge_body_500", "huge_body_200"}:
            status = b"500 Internal Server Error" if mode == "huge_body_500" else b"200 OK"
            writer.write(b"HTTP/1.1 " + status + b"\r\nContent-Type: text/plain\r\nContent-Length: %d\r\n\r\n" % HUGE)
            chunk = b"\x00\xffA" * 21_845 + b"Z"  # 64 KiB, control and invalid UTF-8 bytes included
            with contextlib.suppress(ConnectionError):
                for _ in range(HUGE // len(chunk)):
                    writer.write(chunk)
                    await writer.drain()
        elif mode == "invalid_body_200":
            writer.write(b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: 9\r\n\r\n{not json")
            await writer.drain()
        else:  # pragma: no cover - a typo in the table above
            raise AssertionError(mode)


@pytest.fixture
async def endpoints() -> AsyncIterator[list[Endpoint]]:
    """One running raw endpoint per misbehaviour."""
    made: list[Endpoint] = []
    servers: list[asyncio.Server] = []
    for behaviour in MISBEHAVIOURS:
        endpoint = Endpoint(behaviour)
        server = await asyncio.start_server(endpoint.handle, "127.0.0.1", 0)
        endpoint.url = f"http://127.0.0.1:{server.sockets[0].getsockname()[1]}/{behaviour.mode}"
        servers.append(server)
        made.append(endpoint)
    yield made
    for server in servers:
        server.close()
    for endpoint in made:
        for writer in list(endpoint.connections):
            writer.transport.abort()
    for server in servers:
        await server.wait_closed()
    await asyncio.sleep(0)  # let the aborted transports finish closing their sockets


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
async def store_url(
    request: pytest.FixtureRequest,
    tmp_path: Path,
    fresh_postgres: Callable[[], contextlib.AbstractAsyncContextManager[str]],
) -> AsyncIterator[str]:
    """The embedded SQLite store, then the real PostgreSQL (NUL bytes in answers matter there)."""
    if request.param == "sqlite":
        yield f"sqlite+aiosqlite:///{tmp_path / 'gateway.db'}"
    else:
        async with fresh_postgres() as url:
            yield url


async def _undelivered(gw: Any) -> int:
    async with gw.sessions() as session:
        count: int = await session.scalar(select(func.count()).where(OutboundMessage.status != "delivered"))
        return count


async def test_misbehaving_endpoints_are_classified_and_delivered_once_they_recover(
    open_gateway: Any, endpoints: list[Endpoint], store_url: str, tmp_path: Path, figures: Callable[[str], None]
) -> None:
    started = time.monotonic()
    async with open_gateway(tmp_path, store_url) as gw:
        token = await gw.authority("330000")
        message_of: dict[str, str] = {}
        for endpoint in endpoints:
            platform_id = endpoint.behaviour.mode.replace("_", "-")
            created = await gw.post(
                "/v1/platforms",
                token,
                {
                    "id": platform_id,
                    "name": f"{platform_id} 商城",
                    "province_code": "330000",
                    "contact": {"name": "合规部"},
                    "endpoint_url": endpoint.url,
                    "adapter_config": {"timeout_s": TIMEOUT_S},
                    "inbound_keys": [generate_keypair()[1]],
                },
            )
            endpoint.secret = created["outbound_signing_secret"]
            message_of[endpoint.behaviour.mode] = await gw.enqueue_raw(platform_id)

        settings = gw.settings.with_changes(
            {
                "delivery.retry_schedule": FAST_SCHEDULE,
                "delivery.retry_jitter": 0.0,
                "delivery.circuit_failures": 1000,
                "worker.concurrency": len(endpoints),
            }
        )
        runtime = Runtime(settings)
        worker = delivery_worker(runtime, worker_id="survivor")
        stop = asyncio.Event()
        task = asyncio.create_task(worker.run(stop))
        try:
            deadline = time.monotonic() + 60
            while (await _undelivered(gw)) and time.monotonic() < deadline:
                assert not task.done(), "the worker stopped"
                await asyncio.sleep(0.05)
            assert not task.done(), "the worker stopped"
        finally:
            stop.set()
            runtime.wake_outbox()
            await asyncio.wait_for(task, 30)  # a clean stop: run() returns without raising
            await runtime.stop()

        async with gw.sessions() as session:
            attempts = (await session.scalars(select(DeliveryAttempt).order_by(DeliveryAttempt.id))).all()
            statuses = dict((await session.execute(select(OutboundMessage.id, OutboundMessage.status))).all())

    by_message: dict[str, list[DeliveryAttempt]] = {}
    for attempt in attempts:
        by_message.setdefault(attempt.message_id, []).append(attempt)
    observed: dict[str, tuple[str, int | None, int, str]] = {}
    for endpoint in endpoints:
        mode = endpoint.behaviour.mode
        tries = by_message[message_of[mode]]
        observed[mode] = (tries[0].outcome, tries[0].http_status, len(tries), statuses[message_of[mode]])
    expected = {
        b.mode: (b.first_outcome, b.first_http, b.times + 1 if b.first_outcome != "delivered" else 1, "delivered")
        for b in MISBEHAVIOURS
    }
    figures(
        f"{len(attempts)} attempts; "
        + ", ".join(
            f"{mode}: {'/'.join(a.outcome for a in by_message[message_of[mode]])} "
            f"({(by_message[message_of[mode]][0].error or str(by_message[message_of[mode]][0].http_status))[:40]})"
            for mode in observed
        )
        + f"; {time.monotonic() - started:.1f}s"
    )
    assert observed == expected
    for endpoint in endpoints:
        # Exactly one verified arrival of the notice, under its own webhook-id; nothing unsigned.
        assert endpoint.accepted == Counter({message_of[endpoint.behaviour.mode]: 1})
        assert endpoint.refused == 0
    for attempt in attempts:
        assert len((attempt.response_excerpt or "").encode()) <= 4 * MAX_EXCERPT_BYTES  # bounded, decoded text
        if attempt.outcome != "delivered":
            assert attempt.error, attempt  # every failure says why
