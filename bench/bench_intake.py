"""The reply intake under load against a bare Litestar endpoint on the same server stack, on SQLite and PostgreSQL.

Run: ``python bench/bench_intake.py [--smoke | --quick | --full] [--db sqlite|postgres|both]
[--loadgen auto|wrk|python] [--no-install] [--pg-admin DSN]``.

Ours is ``POST /v1/intake/{platform}`` of a real gateway (``spotcheck serve --no-worker``: uvicorn, one worker):
verify the Ed25519 signature over the raw bytes, deduplicate by ``webhook-id``, decode and validate the
``notice.acknowledged`` reply, apply it to its notice, store it verbatim and append the audit record, in one
transaction, answer 200. The baseline is a bare Litestar app served the same way (same uvicorn, same options, one
worker) whose route reads the body and answers a small JSON object. Both servers are pinned to one core and the
load generator to the other (``taskset``) when there are two.

The load generator is Debian's ``wrk`` (installed with ``apt-get`` when missing and this runs as root, unless
``--no-install``), with a Lua script that cycles through a file of distinct replies pre-signed just before the
run: every request carries its own ``webhook-id`` and a signature inside the 300 s window, so each is a new
message the gateway must store (the pool is sized above what the gateway can take in the run; should it wrap,
the repeats are answered as duplicates and the count is printed). Without wrk an asyncio/aiohttp generator in its
own process sends the same pool over as many connections. Requests/s and p99 latency of both are printed with
their ratios (goals: ≥ 0.6× the requests/s, p99 ≤ 2× the p99).
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import multiprocessing
import os
import shutil
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import TYPE_CHECKING, Any

import aiohttp
from _common import (
    BENCH_DIR,
    SPOTCHECK_CLI,
    BenchError,
    Goal,
    Row,
    add_postgres_option,
    admin_token,
    api_client,
    bench_settings,
    call,
    finish,
    free_port,
    fresh_postgres,
    gateway_env,
    percentile,
    pin_current_process,
    register_platform,
    server_process,
    size_parser,
    split_cores,
    taskset,
)
from sqlalchemy import func, select

from spotcheck.gateway.store.engine import create_engine, session_factory
from spotcheck.gateway.store.models import Case, InboundMessage, OutboundMessage
from spotcheck.schemas import NoticeAcknowledged, NoticeAcknowledgedData, encode_message
from spotcheck.sdk import Webhook, new_message_id, public_key_of

if TYPE_CHECKING:
    from collections.abc import AsyncIterator

NAME = "intake"
RPS_GOAL = Goal(">=", 0.6)
P99_GOAL = Goal("<=", 2.0)
PROCESSES_GOAL = Goal(">=", 1.7)
SIZES: dict[str, dict[str, int]] = {
    "smoke": {"seconds": 1, "connections": 8},
    "quick": {"seconds": 5, "connections": 32},
    "full": {"seconds": 15, "connections": 64},
}
POOL_PER_SECOND = 1500  # distinct replies signed per second of load: above what the gateway stores here
WARM_UP = 50

WRK_SCRIPT = r"""
-- Cycle through pre-signed requests, one distinct reply per request; count wrap-arounds.
local registry = {}
local next_id = 0
function setup(thread)
  thread:set("id", next_id)
  next_id = next_id + 1
  table.insert(registry, thread)
end

local prepared = {}
local count, position = 0, 0
wraps = 0

function init(args)
  local path, file, threads = args[1], args[2], tonumber(args[3])
  local line_no = 0
  for line in io.lines(file) do
    if line_no % threads == id then
      local wid, ts, sig, body = line:match("^([^\t]*)\t([^\t]*)\t([^\t]*)\t(.*)$")
      count = count + 1
      prepared[count] = wrk.format("POST", path, {
        ["Content-Type"] = "application/json",
        ["webhook-id"] = wid,
        ["webhook-timestamp"] = ts,
        ["webhook-signature"] = sig,
      }, body)
    end
    line_no = line_no + 1
  end
end

function request()
  position = position + 1
  if position > count then
    position = 1
    wraps = wraps + 1
  end
  return prepared[position]
end

function done(summary, latency, requests)
  local total_wraps = 0
  for _, thread in ipairs(registry) do
    total_wraps = total_wraps + (thread:get("wraps") or 0)
  end
  local e = summary.errors
  io.write(string.format(
    'WRKJSON {"requests": %d, "duration_us": %d, "status_errors": %d, "socket_errors": %d, ' ..
    '"p50_us": %d, "p99_us": %d, "wraps": %d}\n',
    summary.requests, summary.duration, e.status, e.connect + e.read + e.write + e.timeout,
    latency:percentile(50), latency:percentile(99), total_wraps))
end
"""


@dataclass(frozen=True)
class Load:
    """What one load run measured."""

    requests: int
    seconds: float
    p50_ms: float
    p99_ms: float
    errors: int
    wraps: int

    @property
    def rps(self) -> float:
        """Requests per second."""
        return self.requests / self.seconds if self.seconds else 0.0


# ---- the pool of pre-signed replies -----------------------------------------------------------------------------


@dataclass(frozen=True)
class Target:
    """What the replies answer: the platform, its reply key, and the notice on the case."""

    platform_id: str
    secret_key: str
    case_id: str
    notice_id: str


def write_pool(target: Target, count: int, path: Path) -> None:
    """Write ``count`` distinct signed ``notice.acknowledged`` replies, one per line: id, timestamp, signature, body."""
    signer = Webhook(target.secret_key)
    now = datetime.now(UTC)
    lines = []
    for index in range(count):
        received = now - timedelta(microseconds=index)
        body = encode_message(
            NoticeAcknowledged(
                timestamp=received,
                data=NoticeAcknowledgedData(
                    case_id=target.case_id,
                    in_reply_to=target.notice_id,
                    platform_id=target.platform_id,
                    received_at=received,
                ),
            )
        )
        headers = signer.headers(new_message_id(), body)
        lines.append(
            f"{headers['webhook-id']}\t{headers['webhook-timestamp']}\t{headers['webhook-signature']}\t{body.decode()}"
        )
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")


def read_pool(path: Path) -> list[tuple[dict[str, str], bytes]]:
    """The (headers, body) pairs of a pool file written by :func:`write_pool`."""
    requests = []
    for line in path.read_text(encoding="utf-8").splitlines():
        message_id, timestamp, signature, body = line.split("\t", 3)
        headers = {
            "content-type": "application/json",
            "webhook-id": message_id,
            "webhook-timestamp": timestamp,
            "webhook-signature": signature,
        }
        requests.append((headers, body.encode()))
    return requests


# ---- load generators ---------------------------------------------------------------------------------------------


def ensure_wrk(*, install: bool) -> str | None:
    """The path of ``wrk``; installed with apt-get first when missing, allowed, and running as root."""
    found = shutil.which("wrk")
    if found or not install or not hasattr(os, "geteuid") or os.geteuid() != 0 or shutil.which("apt-get") is None:
        return found
    print("wrk is missing: installing it with `apt-get install -y wrk` (running as root)", flush=True)
    environment = {**os.environ, "DEBIAN_FRONTEND": "noninteractive"}
    apt = shutil.which("apt-get") or "apt-get"
    install_wrk = [apt, "install", "-y", "-q", "wrk"]
    subprocess.run(install_wrk, env=environment, check=False, capture_output=True, timeout=600)  # noqa: S603
    if shutil.which("wrk") is None:  # a fresh machine may not have the package lists yet
        subprocess.run([apt, "update", "-q"], env=environment, check=False, capture_output=True, timeout=600)  # noqa: S603
        subprocess.run(install_wrk, env=environment, check=False, capture_output=True, timeout=600)  # noqa: S603
    return shutil.which("wrk")


def run_wrk(wrk: str, url: str, path: str, pool: Path, seconds: int, connections: int, core: int | None) -> Load:
    """Load ``url + path`` with wrk for ``seconds``, cycling through the pool; what wrk measured."""
    script = pool.with_suffix(".lua")
    script.write_text(WRK_SCRIPT, encoding="utf-8")
    command = [
        *taskset(core),
        wrk,
        "-t1",
        f"-c{connections}",
        f"-d{seconds}s",
        "--timeout",
        "10s",
        "-s",
        str(script),
        url + path,
        "--",
        path,
        str(pool),
        "1",
    ]
    completed = subprocess.run(command, capture_output=True, text=True, check=False, timeout=seconds + 120)  # noqa: S603
    line = next((x for x in completed.stdout.splitlines() if x.startswith("WRKJSON ")), None)
    if completed.returncode != 0 or line is None:
        raise BenchError(f"wrk failed ({completed.returncode}): {completed.stdout[-800:]} {completed.stderr[-800:]}")
    figures = json.loads(line.removeprefix("WRKJSON "))
    return Load(
        requests=figures["requests"],
        seconds=figures["duration_us"] / 1e6,
        p50_ms=figures["p50_us"] / 1000,
        p99_ms=figures["p99_us"] / 1000,
        errors=figures["status_errors"] + figures["socket_errors"],
        wraps=figures["wraps"],
    )


def _python_load_main(conn: Any, url: str, pool: str, seconds: int, connections: int, core: int | None) -> None:
    if core is not None:
        pin_current_process([core])
    conn.send(asyncio.run(_python_load(url, Path(pool), seconds, connections)))


async def _python_load(url: str, pool: Path, seconds: int, connections: int) -> dict[str, Any]:
    requests = read_pool(pool)
    latencies: list[float] = []
    errors = 0
    position = 0
    wraps = 0
    connector = aiohttp.TCPConnector(limit=connections)
    async with aiohttp.ClientSession(connector=connector) as session:
        deadline = time.perf_counter() + seconds

        async def client() -> None:
            nonlocal position, wraps, errors
            while time.perf_counter() < deadline:
                if position >= len(requests):
                    position, wraps = 0, wraps + 1
                headers, body = requests[position]
                position += 1
                sent = time.perf_counter()
                try:
                    async with session.post(url, data=body, headers=headers) as response:
                        await response.read()
                        ok = 200 <= response.status < 300
                except aiohttp.ClientError:
                    ok = False
                latencies.append(time.perf_counter() - sent)
                errors += not ok

        started = time.perf_counter()
        await asyncio.gather(*(client() for _ in range(connections)))
        elapsed = time.perf_counter() - started
    return {
        "requests": len(latencies),
        "seconds": elapsed,
        "p50_ms": percentile(latencies, 50) * 1000,
        "p99_ms": percentile(latencies, 99) * 1000,
        "errors": errors,
        "wraps": wraps,
    }


def run_python(url: str, path: str, pool: Path, seconds: int, connections: int, core: int | None) -> Load:
    """Load ``url + path`` from an asyncio/aiohttp generator in its own process; what it measured."""
    context = multiprocessing.get_context("spawn")
    parent, child = context.Pipe()
    process = context.Process(
        target=_python_load_main, args=(child, url + path, str(pool), seconds, connections, core), daemon=True
    )
    process.start()
    try:
        if not parent.poll(seconds + 120):
            raise BenchError("the load generator did not finish")
        return Load(**parent.recv())
    finally:
        process.join(10)
        if process.is_alive():
            process.kill()


async def warm_up(url: str, requests: list[tuple[dict[str, str], bytes]]) -> None:
    """Send a few requests one by one so both servers start measured runs warm (imports, caches, pools)."""
    async with aiohttp.ClientSession() as session:
        for headers, body in requests:
            async with session.post(url, data=body, headers=headers) as response:
                await response.read()
                if response.status != 200:
                    raise BenchError(f"warm-up request answered {response.status}: {(await response.text())[:300]}")


# ---- one database ------------------------------------------------------------------------------------------------


@contextlib.asynccontextmanager
async def database(kind: str, admin_dsn: str, workdir: Path) -> AsyncIterator[str]:
    """The URL of an empty database of ``kind``: an SQLite file in ``workdir`` or a fresh PostgreSQL database."""
    if kind == "sqlite":
        yield f"sqlite+aiosqlite:///{workdir / 'spotcheck.db'}"
    else:
        async with fresh_postgres(admin_dsn) as url:
            yield url


async def prepare(settings: Any) -> Target:
    """A platform with an Ed25519 reply key, a case of its merchant, and a notice on that case it can acknowledge.

    The notice is written straight into the outbox (it is never delivered: the benchmark runs no worker), so the
    benchmark measures the intake alone, whatever steps the case lifecycle asks for before a notice goes out.
    """
    async with api_client(settings) as client:
        token = await admin_token(settings)
        platform = await register_platform(client, token, "intake-mall", "http://127.0.0.1:9/unused")
        merchant = await call(
            client,
            "/v1/merchants",
            token,
            {"platform_id": platform.id, "shop_id": "shop-intake", "shop_name": "基准旗舰店", "kind": "natural_person"},
        )
        product = {"sample_name": "电热水壶", "trademark": "美的", "spec_model": "MK-HJ1705"}
        case = await call(
            client,
            "/v1/cases",
            token,
            {"merchant_id": merchant["id"], "product": product, "plan_reference": "浙市监抽〔2026〕12号"},
        )
    notice_id = new_message_id()
    engine = create_engine(settings.store.url)
    try:
        async with session_factory(engine)() as session, session.begin():
            opened = await session.get(Case, case["id"])
            if opened is None:
                raise BenchError(f"the case {case['id']} just opened is not in the store")
            session.add(
                OutboundMessage(
                    id=notice_id,
                    case_id=case["id"],
                    **opened.scope(),
                    message_type="sampling.notice",
                    recipient_kind="platform",
                    recipient_id=platform.id,
                    recipient_name="基准商城",
                    adapter="webhook",
                    destination={"platform_id": platform.id},
                    body=b"{}",
                    timestamp=int(time.time()),
                    status="delivered",
                )
            )
    finally:
        await engine.dispose()
    return Target(platform.id, platform.reply_secret_key, case["id"], notice_id)


async def stored_replies(database_url: str) -> int:
    """How many platform replies the gateway has stored."""
    engine = create_engine(database_url)
    try:
        async with session_factory(engine)() as session:
            return int(await session.scalar(select(func.count()).select_from(InboundMessage)) or 0)
    finally:
        await engine.dispose()


@dataclass(frozen=True)
class Plan:
    """How load is applied: duration, connections, generator (a wrk path or ``python``) and the cores used."""

    seconds: int
    connections: int
    loadgen: str  # wrk path or "python"
    server_core: int | None
    load_core: int | None
    processes: bool = False  # also compare 2 API processes with 1 (PostgreSQL)


def load(plan: Plan, base: str, path: str, pool: Path) -> Load:
    """Apply the planned load to ``base + path`` with the pool's requests."""
    if plan.loadgen == "python":
        return run_python(base, path, pool, plan.seconds, plan.connections, plan.load_core)
    return run_wrk(plan.loadgen, base, path, pool, plan.seconds, plan.connections, plan.load_core)


async def measure_database(kind: str, plan: Plan, admin_dsn: str, workdir: Path) -> dict[str, Any]:
    """The bare endpoint, then the gateway intake, under the same load, on one database."""
    async with database(kind, admin_dsn, workdir) as url:
        settings = bench_settings(workdir, url)
        target = await prepare(settings)
        path = f"/v1/intake/{target.platform_id}"
        warm = workdir / "warm.tsv"
        pool = workdir / "pool.tsv"
        port = free_port()
        bare_command = [sys.executable, str(BENCH_DIR / "_common.py"), "bare-server", "--port", str(port)]
        with server_process(bare_command, port=port, core=plan.server_core, log=workdir / "bare.log") as base:
            await asyncio.to_thread(write_pool, target, WARM_UP, warm)
            await warm_up(base + path, read_pool(warm))
            await asyncio.to_thread(write_pool, target, 2000, pool)
            bare = await asyncio.to_thread(load, plan, base, path, pool)

        ours, stored = await measure_gateway(plan, url, workdir, target, workers=1, core=plan.server_core)
        result: dict[str, Any] = {
            "bare": bare,
            "ours": ours,
            "stored": stored,
            "verify_us": signature_check_us(target, read_pool(pool)[:300], plan.server_core),
        }
        if kind == "postgres" and plan.processes:
            # Several API processes need several cores: both runs of this pair are left unpinned, so the ratio
            # compares like with like (the load generator shares the machine with them).
            one, _ = await measure_gateway(plan, url, workdir, target, workers=1, core=None)
            two, _ = await measure_gateway(plan, url, workdir, target, workers=2, core=None)
            result["processes"] = {"one": one, "two": two}
    return result


async def measure_gateway(
    plan: Plan, url: str, workdir: Path, target: Target, *, workers: int, core: int | None
) -> tuple[Load, int]:
    """The gateway intake served by ``workers`` processes under the planned load; what was measured and stored."""
    path = f"/v1/intake/{target.platform_id}"
    warm = workdir / "warm.tsv"
    pool = workdir / "pool.tsv"
    port = free_port()
    env = gateway_env(workdir, url, SPOTCHECK_PORT=str(port), SPOTCHECK_RUN_WORKER="false")
    command = [SPOTCHECK_CLI, "serve", "--no-worker", "--workers", str(workers)]
    with server_process(command, port=port, env=env, core=core, log=workdir / f"gw-{workers}.log") as base:
        await asyncio.to_thread(write_pool, target, WARM_UP * workers, warm)
        await warm_up(base + path, read_pool(warm))
        before = await stored_replies(url)
        # Signed right before the run, so every signature is inside the gateway's 300 s window throughout.
        await asyncio.to_thread(write_pool, target, max(500, POOL_PER_SECOND * workers * plan.seconds), pool)
        ours = await asyncio.to_thread(load, plan, base, path, pool)
    return ours, await stored_replies(url) - before


def signature_check_us(target: Target, requests: list[tuple[dict[str, str], bytes]], core: int | None) -> float:
    """Microseconds the intake's signature check alone takes per reply, on the server's core, after the runs.

    The verifier is the SDK's, with the platform's Ed25519 key, as the gateway builds it; the median of five passes.
    """
    verifier = Webhook(public_key_of(target.secret_key))
    before = os.sched_getaffinity(0) if hasattr(os, "sched_getaffinity") else None
    if core is not None:
        pin_current_process([core])
    try:
        passes = []
        for _ in range(5):
            started = time.perf_counter()
            for headers, body in requests:
                verifier.verify(body, headers)
            passes.append((time.perf_counter() - started) / len(requests))
    finally:
        if before is not None:
            pin_current_process(sorted(before))
    return sorted(passes)[2] * 1e6


def report(kind: str, result: dict[str, Any], rows: list[Row], details: dict[str, Any], warnings: list[str]) -> None:
    """Print one database's figures and add its rows, details and warnings."""
    bare, ours = result["bare"], result["ours"]
    print(f"  {kind}:")
    for label, figures in (("bare Litestar endpoint", bare), ("gateway intake", ours)):
        print(
            f"    {label:<24} {figures.rps:9.1f} req/s  p50 {figures.p50_ms:8.2f} ms  "
            f"p99 {figures.p99_ms:8.2f} ms  non-2xx/errors {figures.errors}"
        )
    print(f"    replies stored: {result['stored']}; pool wrap-arounds (duplicates sent): {ours.wraps}")
    if ours.errors or ours.wraps:
        warnings.append(f"{kind}: {ours.errors} non-2xx/errors, {ours.wraps} pool wrap-arounds")
    # The bare server is saturated on its core, so 1/rps is its whole cost per request; the signature check is
    # work the intake cannot skip. Together they bound what any intake that checks signatures can reach here.
    bare_us, verify_us = 1e6 / bare.rps, result["verify_us"]
    ceiling = bare_us / (bare_us + verify_us)
    print(
        f"    Ed25519 check of one reply alone {verify_us:.0f} us; the bare endpoint's whole request {bare_us:.0f} us: "
        f"an intake that only checked signatures could reach {ceiling:.2f}x"
    )
    rows.append(Row(f"throughput, {kind}", "req/s", bare.rps, ours.rps, RPS_GOAL))
    rows.append(Row(f"p99 latency, {kind}", "ms", bare.p99_ms, ours.p99_ms, P99_GOAL))
    if "processes" in result:
        one, two = result["processes"]["one"], result["processes"]["two"]
        print(
            f"    intake, 1 process (unpinned) {one.rps:9.1f} req/s; 2 processes {two.rps:9.1f} req/s "
            f"on {os.cpu_count()} cores shared with the load generator"
        )
        rows.append(Row("2 API processes vs 1, postgres", "req/s", one.rps, two.rps, PROCESSES_GOAL))
        details["processes"] = {"one": one.__dict__, "two": two.__dict__}
    details[kind] = {
        "bare": bare.__dict__,
        "ours": ours.__dict__,
        "stored": result["stored"],
        "signature_check_us": round(verify_us, 1),
        "ceiling_with_signature_check": round(ceiling, 3),
    }


def main(argv: list[str] | None = None) -> int:
    """Run the benchmark at the size asked for, print the figures, write the result; the exit status."""
    parser = size_parser(__doc__.splitlines()[0])
    add_postgres_option(parser)
    parser.add_argument("--db", choices=["sqlite", "postgres", "both"], default="both")
    parser.add_argument("--loadgen", choices=["auto", "wrk", "python"], default="auto")
    parser.add_argument("--no-install", action="store_true", help="never apt-get install wrk")
    parser.add_argument("--seconds", type=int, help="seconds of load per side (default by size: 1 / 5 / 15)")
    parser.add_argument("--connections", type=int, help="connections (default by size: 8 / 32 / 64)")
    parser.add_argument(
        "--no-processes", action="store_true", help="skip the 2-processes-vs-1 comparison on PostgreSQL"
    )
    args = parser.parse_args(argv)
    size = SIZES[args.size]
    seconds, connections = args.seconds or size["seconds"], args.connections or size["connections"]

    loadgen = "python"
    reason = "asyncio/aiohttp generator in its own process (--loadgen python)"
    if args.loadgen != "python":
        wrk = ensure_wrk(install=not args.no_install and args.size != "smoke")
        if wrk:
            loadgen, reason = wrk, "wrk with a Lua script cycling through pre-signed distinct replies"
        elif args.loadgen == "wrk":
            print("wrk is not installed and could not be installed", file=sys.stderr)
            return 2
        else:
            reason = "wrk is not installed: asyncio/aiohttp generator in its own process"
    server_core, load_core = split_cores()
    plan = Plan(seconds, connections, loadgen, server_core, load_core, processes=not args.no_processes)
    print(
        f"{seconds} s of load per side, {connections} connections; load generator: {reason}; "
        f"server on core {server_core}, load on core {load_core}"
    )

    rows: list[Row] = []
    details: dict[str, Any] = {"seconds": seconds, "connections": connections, "loadgen": reason}
    warnings: list[str] = []
    kinds = ["sqlite", "postgres"] if args.db == "both" else [args.db]
    try:
        for kind in kinds:
            with tempfile.TemporaryDirectory(prefix=f"bench-intake-{kind}-") as tmp:
                result = asyncio.run(measure_database(kind, plan, args.pg_admin, Path(tmp)))
            report(kind, result, rows, details, warnings)
    except BenchError as exc:
        print(f"intake benchmark failed: {exc}", file=sys.stderr)
        return 2
    for row in rows:
        print(f"  {row.what}: ratio {row.ratio:.2f} (goal {row.goal})")
    primary = min((row for row in rows if row.what.startswith("throughput")), key=lambda row: row.ratio)
    notes = [f"load generator: {reason}", *warnings]
    return finish(NAME, size=args.size, rows=rows, primary=primary, notes=notes, details=details)


if __name__ == "__main__":
    sys.exit(main())
