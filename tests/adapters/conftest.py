"""Shared fixtures for the adapter tests: messages, a fixed clock, and real local servers."""

from __future__ import annotations

import asyncio
import socket
import struct
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator
from dataclasses import dataclass, field

import msgspec
import pytest
from aiohttp import web

from spotcheck.adapters import OutgoingMessage, reset_memory_mailboxes

NOW = 1_700_000_000.0  # 2023-11-14 22:13:20 UTC, 2023-11-15 06:13:20 in Beijing


def fixed_clock() -> float:
    return NOW


def make_message(**overrides: object) -> OutgoingMessage:
    body = msgspec.json.encode(
        {
            "type": "takedown.order",
            "timestamp": "2023-11-15T06:13:20+08:00",
            "data": {"case_id": "SC-2023-0001", "listing": "儿童玩具 A-1"},
        }
    )
    fields: dict[str, object] = {
        "message_id": "msg_01HF0000000000000000000000",
        "message_type": "takedown.order",
        "body": body,
        "timestamp": int(NOW) - 60,
        "case_id": "SC-2023-0001",
        "attempt": 1,
        "recipient_name": "某某电商平台",
        "authority": "浙江省市场监督管理局",
    }
    fields.update(overrides)
    return OutgoingMessage(**fields)  # type: ignore[arg-type]


@pytest.fixture
def message() -> OutgoingMessage:
    return make_message()


@pytest.fixture(autouse=True)
def _fresh_mailboxes() -> Iterator[None]:
    reset_memory_mailboxes()
    yield
    reset_memory_mailboxes()


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


@dataclass
class Received:
    path: str
    headers: dict[str, str]
    body: bytes


@dataclass
class Receiver:
    """A real aiohttp web server on 127.0.0.1 that records requests and answers per path."""

    base_url: str
    requests: list[Received] = field(default_factory=list)
    release: asyncio.Event = field(default_factory=asyncio.Event)


@pytest.fixture
async def receiver() -> AsyncIterator[Receiver]:
    holder: list[Receiver] = []

    async def record(request: web.Request) -> None:
        holder[0].requests.append(Received(request.path, dict(request.headers), await request.read()))

    async def ok(request: web.Request) -> web.Response:
        await record(request)
        return web.json_response({"received": True}, headers={"x-request-id": "req-42"})

    async def status(request: web.Request) -> web.Response:
        await record(request)
        code = int(request.match_info["code"])
        headers = {"retry-after": request.query["retry_after"]} if "retry_after" in request.query else {}
        return web.Response(status=code, text=f"answer {code}", headers=headers)

    async def slow(request: web.Request) -> web.Response:
        await record(request)
        await holder[0].release.wait()
        return web.Response(text="late")

    async def big(request: web.Request) -> web.Response:
        await record(request)
        return web.Response(body="合规".encode() * 10_000, content_type="text/plain", charset="utf-8")

    async def control(request: web.Request) -> web.Response:
        await record(request)
        return web.Response(body=b"\x1b[31mred\x00\xff\xfe tail", content_type="application/octet-stream")

    app = web.Application()
    app.add_routes(
        [
            web.post("/ok", ok),
            web.post("/status/{code}", status),
            web.post("/slow", slow),
            web.post("/big", big),
            web.post("/control", control),
        ]
    )
    runner = web.AppRunner(app)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    host, port = runner.addresses[0][:2]
    state = Receiver(base_url=f"http://{host}:{port}")
    holder.append(state)
    try:
        yield state
    finally:
        state.release.set()
        await runner.cleanup()


RawHandler = Callable[[asyncio.StreamReader, asyncio.StreamWriter], Awaitable[None]]


@pytest.fixture
async def raw_server() -> AsyncIterator[Callable[[RawHandler], Awaitable[str]]]:
    """Start a bare TCP server with a given connection handler; returns its http:// base URL."""
    servers: list[asyncio.Server] = []

    async def start(handler: RawHandler) -> str:
        server = await asyncio.start_server(handler, "127.0.0.1", 0)
        servers.append(server)
        port = server.sockets[0].getsockname()[1]
        return f"http://127.0.0.1:{port}"

    try:
        yield start
    finally:
        for server in servers:
            server.close()
            await server.wait_closed()


async def read_request_head(reader: asyncio.StreamReader) -> None:
    await reader.readuntil(b"\r\n\r\n")


async def reset_connection(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
    """Read the request head, then abort with a TCP RST (SO_LINGER 0)."""
    await read_request_head(reader)
    sock = writer.get_extra_info("socket")
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
    writer.transport.abort()


async def garbage_answer(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
    """Answer with bytes that are not HTTP at all."""
    await read_request_head(reader)
    writer.write(b"\x00\x01garbage that is not HTTP\r\n\r\n")
    await writer.drain()
    writer.close()


async def close_without_answer(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
    """Read the request head and close cleanly without a byte of answer."""
    await read_request_head(reader)
    writer.close()
