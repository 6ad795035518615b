"""Two delivery workers against one, sharing the outbox on the real PostgreSQL.

Run: ``python bench/bench_workers.py [--smoke | --quick | --full] [--messages N] [--pg-admin DSN]``.

A fresh database is created on the server (``--pg-admin``, default ``postgres@127.0.0.1:5432``) and dropped at
the end. The receiver runs in its own process and answers 200 after 50 ms, like a platform doing real work. Each
worker is its own ``spotcheck worker`` process. Two workers are started and left idle on ``LISTEN``; ``N``
messages are committed in one transaction with the ``pg_notify`` the API issues, and the round is timed from that
commit until the database shows all ``N`` delivered. Then one worker is stopped and the other delivers ``N`` new
messages alone: the baseline. The ratio is the two-worker throughput over the one-worker one (goal ≥ 1.8×).

Nothing may be claimed twice: with a healthy receiver every message must have exactly one delivery attempt,
and the receiver must have seen every ``webhook-id`` once. Both are checked and printed; a violation fails.

Each worker claims ``--batch`` messages at a time with ``--concurrency`` in flight (default 10 and 10): with a
50 ms receiver one worker is then bound by latency, not by this machine's two cores, so the ratio measures how
well ``FOR UPDATE SKIP LOCKED`` shares the outbox. The per-endpoint rate limit is lifted for the same reason.
"""

from __future__ import annotations

import asyncio
import os
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

from _common import (
    SPOTCHECK_CLI,
    BenchError,
    Goal,
    Row,
    Sink,
    add_postgres_option,
    admin_token,
    api_client,
    bench_settings,
    enqueue_raw,
    finish,
    fresh_postgres,
    gateway_env,
    register_platform,
    sink_process,
    size_parser,
)
from sqlalchemy import func, select

from spotcheck.gateway.runtime import Runtime
from spotcheck.gateway.store.models import DeliveryAttempt, OutboundMessage

NAME = "workers"
GOAL = Goal(">=", 1.8)
SIZES = {"smoke": 40, "quick": 300, "full": 2000}
RECEIVER_LATENCY_S = 0.05
START_LIMIT_S = 90.0


def start_workers(count: int, env: dict[str, str], workdir: Path) -> list[subprocess.Popen[bytes]]:
    """Start ``count`` ``spotcheck worker`` processes and return once each has logged that it started."""
    processes = []
    logs = []
    for index in range(count):
        log = workdir / f"worker-{index}.log"
        logs.append(log)
        with log.open("wb") as output:
            processes.append(
                subprocess.Popen(  # noqa: S603 - our own CLI, fixed arguments
                    [SPOTCHECK_CLI, "worker", "--id", f"worker-{index}"],
                    env=env,
                    stdout=output,
                    stderr=subprocess.STDOUT,
                )
            )
    deadline = time.monotonic() + START_LIMIT_S
    for process, log in zip(processes, logs, strict=True):
        while "worker started" not in log.read_text(errors="replace"):
            if process.poll() is not None or time.monotonic() > deadline:
                stop_workers(processes)
                raise BenchError(f"worker did not start: {log.read_text(errors='replace')[-1500:]}")
            time.sleep(0.05)
    # LISTEN is set up by a task started with the worker: give it a moment to reach the server.
    time.sleep(0.5)
    return processes


def cpu_seconds(processes: list[subprocess.Popen[bytes]]) -> float:
    """User + system CPU time the processes have used so far (0 where /proc cannot tell)."""
    total = 0.0
    ticks = os.sysconf("SC_CLK_TCK") if hasattr(os, "sysconf") else 100
    for process in processes:
        try:
            fields = Path(f"/proc/{process.pid}/stat").read_text().rsplit(")", 1)[1].split()
        except (OSError, IndexError):
            continue
        total += (int(fields[11]) + int(fields[12])) / ticks  # utime and stime, after the name
    return total


def stop_workers(processes: list[subprocess.Popen[bytes]]) -> None:
    """Stop the worker processes with SIGTERM (they finish deliveries in flight), killing any that hang."""
    for process in processes:
        if process.poll() is None:
            process.send_signal(signal.SIGTERM)
    for process in processes:
        try:
            process.wait(30)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(5)


async def delivered_count(runtime: Runtime) -> int:
    """How many outbound messages are delivered."""
    async with runtime.sessions() as session:
        return int(await session.scalar(select(func.count()).where(OutboundMessage.status == "delivered")) or 0)


async def one_round(
    runtime: Runtime, sink: Sink, platform_id: str, processes: list[subprocess.Popen[bytes]], count: int
) -> dict[str, Any]:
    """Deliver ``count`` messages with the running worker processes; throughput and the double-claim checks."""
    workers = len(processes)
    before = await delivered_count(runtime)
    answered = int(sink.requests.value)
    cpu_before = cpu_seconds(processes)
    ids = await enqueue_raw(runtime, platform_id, count, notify=True)
    started = time.perf_counter()
    deadline = time.monotonic() + 600
    # Watch the receiver's shared counter (free) first, then the database for the last records.
    while sink.requests.value < answered + count and time.monotonic() < deadline:  # noqa: ASYNC110 - shared memory
        await asyncio.sleep(0.005)
    while (delivered := await delivered_count(runtime) - before) < count:
        if time.monotonic() > deadline:
            raise BenchError(f"{workers} worker(s) delivered {delivered} of {count} in 600 s")
        await asyncio.sleep(0.01)
    elapsed = time.perf_counter() - started
    cpu = cpu_seconds(processes) - cpu_before
    async with runtime.sessions() as session:
        per_message = (
            await session.execute(
                select(DeliveryAttempt.message_id, func.count(), func.min(DeliveryAttempt.worker))
                .where(DeliveryAttempt.message_id.in_(ids))
                .group_by(DeliveryAttempt.message_id)
            )
        ).all()
    attempts = {message_id: int(n) for message_id, n, _ in per_message}
    by_worker: dict[str, int] = {}
    for _, _, worker in per_message:
        by_worker[worker] = by_worker.get(worker, 0) + 1
    return {
        "workers": workers,
        "rate": count / elapsed,
        "seconds": elapsed,
        "worker_cpu_ms_per_delivery": cpu * 1000 / count,
        "worker_cores_busy": cpu / elapsed,
        "messages_attempted": len(attempts),
        "claimed_twice": sum(1 for n in attempts.values() if n != 1),
        "by_worker": by_worker,
    }


async def measure(sink: Sink, admin_dsn: str, count: int, batch: int, concurrency: int, workdir: Path) -> Any:
    """On a fresh database: a platform at the sink, then the two-worker round and the one-worker round."""
    async with fresh_postgres(admin_dsn) as url:
        settings = bench_settings(workdir, url)
        async with api_client(settings) as client:
            token = await admin_token(settings)
            platform = await register_platform(client, token, "workers-mall", sink.url)
        env = gateway_env(
            workdir,
            url,
            SPOTCHECK_LOG_LEVEL="INFO",  # the worker announces itself at INFO; nothing else is logged per message
            SPOTCHECK_WORKER_BATCH=str(batch),
            SPOTCHECK_WORKER_CONCURRENCY=str(concurrency),
            SPOTCHECK_ENDPOINT_RATE_PER_S="1000000000",
        )
        runtime = Runtime(settings)
        processes = await asyncio.to_thread(start_workers, 2, env, workdir)
        try:
            # Two workers first; then one of them goes on alone (a start-up saved; the pair starts the colder).
            two = await one_round(runtime, sink, platform.id, processes, count)
            await asyncio.to_thread(stop_workers, processes[1:])
            one = await one_round(runtime, sink, platform.id, processes[:1], count)
        finally:
            await asyncio.to_thread(stop_workers, processes)
            await runtime.stop()
    return one, two


def main(argv: list[str] | None = None) -> int:
    """Run the benchmark at the size asked for, print the figures, write the result; the exit status."""
    parser = size_parser(__doc__.splitlines()[0])
    add_postgres_option(parser)
    parser.add_argument("--messages", type=int, help="messages per round (default by size: 40 / 300 / 2000)")
    parser.add_argument("--batch", type=int, default=10, help="messages each worker claims at a time")
    parser.add_argument("--concurrency", type=int, default=10, help="deliveries in flight per worker")
    args = parser.parse_args(argv)
    count = args.messages or SIZES[args.size]
    print(
        f"{count} messages per round, receiver answering after {RECEIVER_LATENCY_S * 1000:.0f} ms, "
        f"batch {args.batch}, concurrency {args.concurrency} per worker"
    )
    try:
        with sink_process(latency_s=RECEIVER_LATENCY_S) as sink, tempfile.TemporaryDirectory(prefix="bench-wk-") as tmp:
            one, two = asyncio.run(measure(sink, args.pg_admin, count, args.batch, args.concurrency, Path(tmp)))
            duplicates = int(sink.duplicates.value)
            received = int(sink.requests.value)
    except BenchError as exc:
        print(f"workers benchmark failed: {exc}", file=sys.stderr)
        return 2
    for figures in (one, two):
        shares = ", ".join(f"{name}: {n}" for name, n in sorted(figures["by_worker"].items()))
        print(
            f"  {figures['workers']} worker(s): {figures['rate']:8.1f} deliveries/s ({figures['seconds']:.2f} s; "
            f"{shares}); worker CPU {figures['worker_cpu_ms_per_delivery']:.1f} ms/delivery, "
            f"{figures['worker_cores_busy']:.2f} cores busy; attempted more than once: {figures['claimed_twice']}"
        )
    claimed_twice = one["claimed_twice"] + two["claimed_twice"]
    print(f"  receiver: {received} requests, repeated webhook-ids: {duplicates}")
    row = Row("PostgreSQL, 2 workers vs 1", "deliveries/s", one["rate"], two["rate"], GOAL)
    notes = [
        (
            f"receiver answers after {RECEIVER_LATENCY_S * 1000:.0f} ms; batch {args.batch}, concurrency "
            f"{args.concurrency} per worker; per-endpoint rate limit lifted"
        ),
        f"messages claimed twice (attempts != 1): {claimed_twice}; repeated webhook-ids at the receiver: {duplicates}",
    ]
    details = {"messages": count, "rounds": [one, two], "receiver_requests": received, "duplicates": duplicates}
    failed = bool(claimed_twice or duplicates or received != 2 * count)
    if failed:
        print(f"FAILED: a delivery was claimed twice or lost ({received} requests for {2 * count} messages)")
    status = finish(NAME, size=args.size, rows=[row], primary=row, notes=notes, details=details)
    return 1 if failed else status


if __name__ == "__main__":
    sys.exit(main())
