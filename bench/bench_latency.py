"""Order issued → platform handler called, through a real gateway process, against one bare signed POST.

Run: ``python bench/bench_latency.py [--smoke | --quick | --full] [--orders K]``.

The gateway runs for real: ``spotcheck serve`` (uvicorn) in its own process on a free port, on SQLite, with its
in-process delivery worker. The platform is a receiver built with the public SDK (``spotcheck.sdk.Receiver``,
verifying every signature, deduplicating, decoding into typed notices) served by aiohttp in this process. A
failing case is driven through the API to published; then ``K`` stop-sale orders are issued with
``POST /v1/cases/{id}/stop-sale``, each of which commits its outbox row and wakes the worker. Ours is the time
from that API call returning to the handler running for the order it caused (0 when the handler ran first).
The baseline is one bare signed POST of the same order body to the same receiver, timed from send to answer.
The two alternate, one each per round, so that machine noise hits both alike. A worker that polled instead of
waking would add up to its poll interval (1 s) to ours.
"""

from __future__ import annotations

import asyncio
import sys
import tempfile
import time
from pathlib import Path
from typing import TYPE_CHECKING, Any

import aiohttp
from _common import (
    SPOTCHECK_CLI,
    BenchError,
    Goal,
    Row,
    admin_token,
    api_client,
    bench_settings,
    finish,
    free_port,
    gateway_env,
    open_case,
    percentile,
    register_platform,
    server_process,
    size_parser,
)
from aiohttp import web
from sqlalchemy import func, select

from spotcheck.gateway.store.engine import create_engine, session_factory
from spotcheck.gateway.store.models import OutboundMessage
from spotcheck.sdk import Delivery, Receiver, Webhook, new_message_id

if TYPE_CHECKING:
    from spotcheck.schemas import Notice

NAME = "latency"
GOAL = Goal("<=", 10.0)
SIZES = {"smoke": 5, "quick": 50, "full": 300}
WARM_UP = 3
ARRIVAL_TIMEOUT_S = 30.0


class Platform:
    """The benchmark's platform: an SDK receiver behind aiohttp that timestamps every handler call."""

    def __init__(self) -> None:
        self.receiver: Receiver | None = None
        self.orders: asyncio.Queue[tuple[str, float, bytes]] = asyncio.Queue()
        self.baseline_ids: set[str] = set()
        self.handled = 0
        self.url = ""
        self._runner: web.AppRunner | None = None

    def use_key(self, secret: str) -> None:
        """Verify with the secret the gateway signs notices with (known once the platform is registered)."""
        receiver = Receiver(secret)

        @receiver.on_any
        async def record(notice: Notice, delivery: Delivery) -> None:
            now = time.perf_counter()
            self.handled += 1
            if delivery.message_type == "stop_sale.order" and delivery.message_id not in self.baseline_ids:
                self.orders.put_nowait((delivery.message_id, now, delivery.body))

        self.receiver = receiver

    async def handle(self, request: web.Request) -> web.Response:
        """Hand the raw request to the SDK receiver and answer what it says."""
        if self.receiver is None:
            return web.Response(status=503, text="not ready")
        answer = await self.receiver.handle(await request.read(), request.headers)
        return web.Response(status=answer.status, body=answer.body, headers=dict(answer.headers))

    async def start(self) -> None:
        """Serve on a free loopback port; :attr:`url` is then the endpoint to register."""
        app = web.Application()
        app.router.add_post("/spotcheck", self.handle)
        self._runner = web.AppRunner(app, handle_signals=False, access_log=None)
        await self._runner.setup()
        site = web.TCPSite(self._runner, "127.0.0.1", 0)
        await site.start()
        self.url = f"http://127.0.0.1:{self._runner.addresses[0][1]}/spotcheck"

    async def stop(self) -> None:
        """Stop serving."""
        if self._runner is not None:
            await self._runner.cleanup()


async def wait_delivered(database_url: str, limit_s: float = 60.0) -> None:
    """Wait until the outbox holds nothing undelivered (the set-up notices reached the platform)."""
    engine = create_engine(database_url)
    sessions = session_factory(engine)
    try:
        deadline = time.monotonic() + limit_s
        while True:
            async with sessions() as session:
                waiting = await session.scalar(
                    select(func.count()).select_from(OutboundMessage).where(OutboundMessage.status != "delivered")
                )
            if not waiting:
                return
            if time.monotonic() > deadline:
                raise BenchError(f"{waiting} set-up notices still undelivered after {limit_s:g} s")
            await asyncio.sleep(0.05)
    finally:
        await engine.dispose()


async def measure(count: int, workdir: Path) -> dict[str, Any]:
    """Set up platform and case in-process, start the real gateway, and time ``count`` rounds."""
    platform = Platform()
    await platform.start()
    try:
        settings = bench_settings(workdir)
        async with api_client(settings) as client:
            token = await admin_token(settings)
            registered = await register_platform(client, token, "latency-mall", platform.url)
            case_id = await open_case(client, token, registered.id, shop="shop-latency", until="published")
        platform.use_key(registered.notice_secret)
        port = free_port()
        env = gateway_env(workdir, settings.store.url, SPOTCHECK_RUN_WORKER="true", SPOTCHECK_PORT=str(port))
        command = [SPOTCHECK_CLI, "serve"]
        with server_process(command, port=port, env=env, log=workdir / "gateway.log") as base:
            await wait_delivered(settings.store.url)
            return await rounds(platform, base, token, case_id, registered.notice_secret, count)
    finally:
        await platform.stop()


async def rounds(platform: Platform, base: str, token: str, case_id: str, secret: str, count: int) -> dict[str, Any]:
    """Alternate one bare signed POST and one stop-sale order ``count`` times (after a warm-up); the timings."""
    ours: list[float] = []
    total: list[float] = []
    bare: list[float] = []
    early = 0
    signer = Webhook(secret)
    async with aiohttp.ClientSession() as session:

        async def issue_order() -> tuple[float, float, bytes]:
            sent = time.perf_counter()
            async with session.post(
                f"{base}/v1/cases/{case_id}/stop-sale",
                json={"warning_measures": ["下架并发布消费警示"]},
                headers={"authorization": f"Bearer {token}"},
            ) as response:
                text = await response.text()
                returned = time.perf_counter()
                if response.status != 201:
                    raise BenchError(f"stop-sale answered {response.status}: {text[:300]}")
            _, arrived, body = await asyncio.wait_for(platform.orders.get(), ARRIVAL_TIMEOUT_S)
            return arrived - returned, arrived - sent, body

        body = b""
        for _ in range(WARM_UP):
            _, _, body = await issue_order()
        # The baseline POSTs the same order body, pre-signed under fresh ids the receiver has not seen.
        presigned = []
        for _ in range(count + WARM_UP):
            message_id = new_message_id()
            platform.baseline_ids.add(message_id)
            presigned.append({**signer.headers(message_id, body), "content-type": "application/json"})

        async def bare_post(headers: dict[str, str]) -> float:
            sent = time.perf_counter()
            async with session.post(platform.url, data=body, headers=headers) as response:
                await response.read()
                if response.status != 200:
                    raise BenchError(f"receiver answered the bare POST with {response.status}")
            return time.perf_counter() - sent

        for headers in presigned[:WARM_UP]:
            await bare_post(headers)
        for headers in presigned[WARM_UP:]:
            bare.append(await bare_post(headers))
            after_return, after_send, _ = await issue_order()
            early += after_return < 0
            ours.append(max(0.0, after_return))
            total.append(after_send)
    return {"ours": ours, "total": total, "baseline": bare, "early": early, "handled": platform.handled}


def main(argv: list[str] | None = None) -> int:
    """Run the benchmark at the size asked for, print the figures, write the result; the exit status."""
    parser = size_parser(__doc__.splitlines()[0])
    parser.add_argument("--orders", type=int, help="orders (and bare POSTs) timed (default by size: 5 / 50 / 300)")
    args = parser.parse_args(argv)
    count = args.orders or SIZES[args.size]
    print(f"{count} stop-sale orders through the API and {count} bare signed POSTs, alternating")
    with tempfile.TemporaryDirectory(prefix="bench-latency-") as tmp:
        results = asyncio.run(measure(count, Path(tmp)))
    ms = 1000.0
    p50 = Row("p50 latency", "ms", percentile(results["baseline"], 50) * ms, percentile(results["ours"], 50) * ms, GOAL)
    p99 = Row("p99 latency", "ms", percentile(results["baseline"], 99) * ms, percentile(results["ours"], 99) * ms, GOAL)
    api_p50 = percentile(results["total"], 50) * ms
    print(f"  bare signed POST round trip:          p50 {p50.baseline:8.2f} ms   p99 {p99.baseline:8.2f} ms")
    print(f"  API answered -> handler called:       p50 {p50.ours:8.2f} ms   p99 {p99.ours:8.2f} ms")
    print(
        f"  (API call sent -> handler called:     p50 {api_p50:8.2f} ms; handler before the answer: {results['early']})"
    )
    print(f"  p99 ratio: {p99.ratio:.2f}")
    notes = [
        f"the handler ran before the API answer arrived in {results['early']} of {count} rounds (counted as 0 ms)",
        f"API call sent -> handler called, p50 {api_p50:.2f} ms",
    ]
    details = {"orders": count, **results}
    return finish(NAME, size=args.size, rows=[p50, p99], primary=p50, notes=notes, details=details)


if __name__ == "__main__":
    sys.exit(main())
