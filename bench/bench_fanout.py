"""Delivery fan-out: our DeliveryWorker on SQLite against a bare aiohttp client, to one local receiver.

Run: ``python bench/bench_fanout.py [--smoke | --quick | --full] [--messages N] [--concurrency C]``.

A receiver in its own process (pinned to its own core when there are two) answers 200 to every POST and checks
nothing. The baseline is a bare ``aiohttp`` client POSTing pre-signed bodies with the worker's concurrency: the
least any sender must do. Ours is :class:`~spotcheck.gateway.delivery.worker.DeliveryWorker` on the embedded
SQLite store doing all of its work per message: claim under a lease, sign, POST, record the attempt, mark
delivered, audit. It starts as ``spotcheck worker`` does, freezing the start-up heap out of the collector's sight.
Both send the same ~2 KB bodies; each side is warmed up first and timed from the moment the messages are
committed (ours) or the first POST starts (baseline) until the last answer is recorded.

Ours runs once per HTTP transport the adapters offer (``SPOTCHECK_HTTP_TRANSPORT``: ``aiohttp``, the default,
and ``httpx``), each against a baseline measured just before it. To tell the transports apart where nothing else
weighs in, the adapters' HTTP call alone also POSTs the pre-signed bodies on each: ``post_bounded`` on a client of
``make_http_client``, exactly as the webhook adapter sends (bounded answer, one deadline, no redirects). The
faster transport is named from that, and the worker's rate over it is printed: the share of the HTTP call's
throughput the worker keeps while it also claims, signs, records and audits. The per-endpoint rate limit (a
politeness cap of 50/s by default) is lifted: the figure is the pipeline's capacity.
"""

from __future__ import annotations

import asyncio
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import aiohttp
from _common import (
    Goal,
    Row,
    Sink,
    admin_token,
    api_client,
    bench_settings,
    enqueue_raw,
    finish,
    notice_body,
    pin_current_process,
    register_platform,
    sink_process,
    size_parser,
    split_cores,
)

from spotcheck.adapters import make_http_client
from spotcheck.adapters._base import MAX_EXCERPT_BYTES
from spotcheck.adapters._http import post_bounded
from spotcheck.gateway.runtime import Runtime, freeze_startup_heap
from spotcheck.gateway.scheduler import delivery_worker
from spotcheck.gateway.settings import Settings
from spotcheck.sdk import Webhook, new_message_id

NAME = "fanout"
GOAL = Goal(">=", 0.5)
# Quick runs 4,000 per side: the bare client does ~10,000 POSTs/s here, so 2,000 timed it over a fifth of a second,
# too short a window for a rate on a shared machine.
SIZES = {"smoke": 40, "quick": 4000, "full": 10000}
WARM_UP = 20
TRANSPORTS = ("aiohttp", "httpx")


Presigned = list[tuple[bytes, dict[str, str]]]


def presign(secret: str, count: int) -> Presigned:
    """``count`` notice bodies with their Standard Webhooks headers, signed before anything is timed."""
    signer = Webhook(secret)
    messages = []
    for index in range(count):
        body = notice_body(index)
        messages.append((body, {**signer.headers(new_message_id(), body), "content-type": "application/json"}))
    return messages


async def baseline(url: str, messages: Presigned, concurrency: int) -> float:
    """POSTs per second of a bare aiohttp client sending pre-signed ``messages`` (the first ones warm it up)."""
    gate = asyncio.Semaphore(concurrency)
    connector = aiohttp.TCPConnector(limit=concurrency)
    async with aiohttp.ClientSession(connector=connector) as session:

        async def post(body: bytes, headers: dict[str, str]) -> None:
            async with gate, session.post(url, data=body, headers=headers) as response:
                await response.read()
                if response.status != 200:
                    raise RuntimeError(f"receiver answered {response.status}")

        await asyncio.gather(*(post(*message) for message in messages[:WARM_UP]))
        started = time.perf_counter()
        await asyncio.gather(*(post(*message) for message in messages[WARM_UP:]))
        return (len(messages) - WARM_UP) / (time.perf_counter() - started)


async def client_alone(url: str, messages: Presigned, concurrency: int, transport: str) -> float:
    """POSTs per second of the adapters' HTTP call alone (``post_bounded`` on ``make_http_client``), on one transport.

    The same call, bound and deadline as :class:`~spotcheck.adapters.webhook.WebhookAdapter`'s: the most the
    worker could reach if claiming, signing and recording cost nothing.
    """
    client = make_http_client(transport=transport, allow_private=True)  # type: ignore[arg-type]
    gate = asyncio.Semaphore(concurrency)
    try:

        async def post(body: bytes, headers: dict[str, str]) -> None:
            async with gate:
                answer = await post_bounded(
                    client, url, content=body, headers=headers, timeout_s=10.0, max_body=MAX_EXCERPT_BYTES
                )
                if answer.status != 200:
                    raise RuntimeError(f"receiver answered {answer.status}")

        await asyncio.gather(*(post(*message) for message in messages[:WARM_UP]))
        started = time.perf_counter()
        await asyncio.gather(*(post(*message) for message in messages[WARM_UP:]))
        return (len(messages) - WARM_UP) / (time.perf_counter() - started)
    finally:
        await client.aclose()


async def ours(settings: Settings, platform_id: str, count: int) -> tuple[float, int]:
    """Deliveries per second of a DeliveryWorker draining ``count`` committed messages; and how many it did."""
    runtime = Runtime(settings)
    await runtime.start()
    # As ``spotcheck worker`` does once started: what start-up built is never walked by the collector again.
    freeze_startup_heap()
    worker = delivery_worker(runtime, worker_id=f"bench-{settings.delivery.http_transport}")
    stop = asyncio.Event()
    task = asyncio.create_task(worker.run(stop))
    try:
        # Warm-up: the adapter, its key material and the connection pool are built by the first deliveries.
        await enqueue_raw(runtime, platform_id, WARM_UP)
        runtime.wake_outbox()
        await _until(lambda: worker.delivered >= WARM_UP, task)
        await enqueue_raw(runtime, platform_id, count)
        started = time.perf_counter()
        runtime.wake_outbox()
        await _until(lambda: worker.delivered >= WARM_UP + count, task)
        elapsed = time.perf_counter() - started
        return count / elapsed, worker.delivered - WARM_UP
    finally:
        stop.set()
        runtime.wake_outbox()
        await asyncio.wait_for(task, 60)
        await runtime.stop()


async def _until(done: Any, task: asyncio.Task[None], limit_s: float = 600.0) -> None:
    deadline = time.monotonic() + limit_s
    while not done():
        if task.done():
            task.result()
            raise RuntimeError("the worker stopped before delivering everything")
        if time.monotonic() > deadline:
            raise RuntimeError(f"not delivered within {limit_s:g} s")
        await asyncio.sleep(0.002)


async def measure(sink: Sink, count: int, concurrency: int, batch: int, workdir: Path) -> dict[str, Any]:
    """Register a platform at the sink, then per transport: a baseline run and our run right after it."""
    settings = bench_settings(
        workdir,
        changes={
            "worker.concurrency": concurrency,
            "worker.batch": batch,
            "delivery.endpoint_rate_per_s": 1e9,
            "delivery.retry_jitter": 0.0,
        },
    )
    async with api_client(settings) as client:
        token = await admin_token(settings)
        platform = await register_platform(client, token, "fanout-mall", sink.url)
    # Every side runs on a frozen start-up heap, as a started worker does. Unfrozen, the gateway's start-up objects
    # (a few hundred thousand) were walked by each full collection during the sides timed before the worker froze
    # them: the bare client, which in a process of its own would carry none of them, was slowed at random.
    freeze_startup_heap()
    results: dict[str, Any] = {"transports": {}}
    for transport in TRANSPORTS:
        # Each transport's figures against a baseline measured right before them: drift hits both alike.
        base = await baseline(sink.url, presign(platform.notice_secret, count + WARM_UP), concurrency)
        alone = await client_alone(sink.url, presign(platform.notice_secret, count + WARM_UP), concurrency, transport)
        rate, delivered = await ours(settings.with_changes({"delivery.http_transport": transport}), platform.id, count)
        if delivered != count:
            raise RuntimeError(f"{transport}: delivered {delivered} of {count}")
        results["transports"][transport] = {"baseline": base, "client": alone, "ours": rate}
        print(f"  baseline, bare aiohttp client:          {base:9.0f} POSTs/s")
        print(f"  adapters' HTTP call, {transport:<7} transport:   {alone:9.0f} POSTs/s  (ratio {alone / base:.2f})")
        print(
            f"  DeliveryWorker, {transport:<7} transport:     {rate:9.0f} deliveries/s  (ratio {rate / base:.2f}; "
            f"{rate / alone:.2f} of the HTTP call alone)"
        )
    results["receiver_requests"] = sink.requests.value
    results["receiver_duplicates"] = sink.duplicates.value
    return results


def main(argv: list[str] | None = None) -> int:
    """Run the benchmark at the size asked for, print the figures, write the result; the exit status."""
    parser = size_parser(__doc__.splitlines()[0])
    parser.add_argument("--messages", type=int, help="messages per side (default by size: 40 / 4000 / 10000)")
    parser.add_argument("--concurrency", type=int, default=Settings().worker.concurrency, help="POSTs in flight")
    parser.add_argument("--batch", type=int, default=Settings().worker.batch, help="messages the worker claims")
    args = parser.parse_args(argv)
    count = args.messages or SIZES[args.size]

    server_core, receiver_core = split_cores()
    print(
        f"{count} messages per side, concurrency {args.concurrency}, worker batch {args.batch}; "
        f"receiver on core {receiver_core}, this process on core {server_core}"
    )
    with sink_process(core=receiver_core) as sink, tempfile.TemporaryDirectory(prefix="bench-fanout-") as tmp:
        if server_core is not None:
            pin_current_process([server_core])
        results = asyncio.run(measure(sink, count, args.concurrency, args.batch, Path(tmp)))

    default = Settings().delivery.http_transport
    rows = []
    for transport, figures in results["transports"].items():
        tag = f"{transport} transport" + (" (default)" if transport == default else "")
        rows.append(Row(f"SQLite worker, {tag}", "deliveries/s", figures["baseline"], figures["ours"], GOAL))
    for transport, figures in results["transports"].items():
        rows.append(Row(f"HTTP call alone, {transport} transport", "POSTs/s", figures["baseline"], figures["client"]))
    primary = next(row for row in rows if row.what.endswith("(default)"))
    client_ratio = {t: f["client"] / f["baseline"] for t, f in results["transports"].items()}
    fast = max(client_ratio, key=client_ratio.__getitem__)
    slow = min(client_ratio, key=client_ratio.__getitem__)
    verdict = (
        f"faster transport (HTTP call alone): {fast}, ratio {client_ratio[fast]:.2f} against {slow} "
        f"{client_ratio[slow]:.2f}"
    )
    print(verdict)
    notes = [
        verdict,
        "per-endpoint rate limit lifted (SPOTCHECK_ENDPOINT_RATE_PER_S=1e9): the figure is the pipeline's capacity",
    ]
    details = {"messages": count, "concurrency": args.concurrency, "batch": args.batch, **results}
    return finish(NAME, size=args.size, rows=rows, primary=primary, notes=notes, details=details)


if __name__ == "__main__":
    sys.exit(main())
