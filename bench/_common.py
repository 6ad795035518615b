"""Shared helpers of the benchmark scripts: sizes, result files, local receivers and servers, gateway set-up.

Every benchmark measures its baseline in the same run and reports a ratio, never an absolute pass or fail:
the machines are shared and noisy. Each script writes ``bench/results/<name>.json`` (see :func:`finish`) and
ends with the line ``<name> ratio: X.XX (goal >= G)`` that ``bench/run.py`` and the smoke tests read.

Run as a script, this module serves the bare Litestar baseline app of the intake benchmark::

    python bench/_common.py bare-server --port 8123
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import logging
import math
import multiprocessing
import os
import shutil
import signal
import socket
import subprocess
import sys
import time
import uuid
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal

if TYPE_CHECKING:
    from collections.abc import AsyncIterator, Iterator, Sequence
    from multiprocessing.connection import Connection

    import httpx
    from litestar import Litestar

    from spotcheck.gateway.runtime import Runtime

BENCH_DIR = Path(__file__).resolve().parent
REPO = BENCH_DIR.parent
# Where result files go: bench/results/ (gitignored) unless SPOTCHECK_BENCH_RESULTS names another folder.
RESULTS_DIR = Path(os.environ.get("SPOTCHECK_BENCH_RESULTS") or BENCH_DIR / "results")
SPOTCHECK_CLI = str(Path(sys.executable).with_name("spotcheck"))
PG_ADMIN_DEFAULT = "postgresql://postgres@127.0.0.1:5432/postgres"
AUTHORITY_CODE = "330000"

# httpx logs every request at INFO, and the app's logging set-up lets INFO through: that would be timed too.
logging.getLogger("httpx").setLevel(logging.WARNING)


class BenchError(RuntimeError):
    """A benchmark could not set itself up or run; the message says what to fix."""


# ---- sizes, goals, results ------------------------------------------------------------------------------------


def size_parser(description: str) -> argparse.ArgumentParser:
    """An argument parser with the shared ``--smoke`` / ``--quick`` (default) / ``--full`` switch."""
    parser = argparse.ArgumentParser(description=description)
    group = parser.add_mutually_exclusive_group()
    group.add_argument("--smoke", dest="size", action="store_const", const="smoke", help="tiny: proves it runs")
    group.add_argument("--quick", dest="size", action="store_const", const="quick", help="the default size")
    group.add_argument("--full", dest="size", action="store_const", const="full", help="the large size")
    parser.set_defaults(size="quick")
    return parser


@dataclass(frozen=True)
class Goal:
    """A goal on a ratio (ours / baseline): at least (``>=``) or at most (``<=``) ``value``."""

    op: Literal[">=", "<="]
    value: float

    def met(self, ratio: float) -> bool:
        """Whether ``ratio`` meets the goal."""
        return ratio >= self.value if self.op == ">=" else ratio <= self.value

    def __str__(self) -> str:
        return f"{self.op} {self.value:g}"


@dataclass(frozen=True)
class Row:
    """One measured figure: the baseline's, ours, their ratio (ours / baseline) and the goal on it."""

    what: str
    unit: str
    baseline: float
    ours: float
    goal: Goal | None = None

    @property
    def ratio(self) -> float:
        """Ours divided by the baseline's (NaN when the baseline is zero)."""
        return self.ours / self.baseline if self.baseline else math.nan

    def as_json(self) -> dict[str, Any]:
        """The row as written to the result file."""
        return {
            "what": self.what,
            "unit": self.unit,
            "baseline": self.baseline,
            "ours": self.ours,
            "ratio": self.ratio,
            "goal": str(self.goal) if self.goal else None,
            "met": self.goal.met(self.ratio) if self.goal else None,
        }


def ratio_line(name: str, ratio: float, goal: Goal) -> str:
    """The closing line every benchmark prints: ``<name> ratio: X.XX (goal >= G)``."""
    return f"{name} ratio: {ratio:.2f} (goal {goal})"


def finish(
    name: str,
    *,
    size: str,
    rows: Sequence[Row],
    primary: Row,
    notes: Sequence[str] = (),
    details: dict[str, Any] | None = None,
) -> int:
    """Write ``bench/results/<name>.json`` and print the closing ratio line of ``primary``; returns 0."""
    assert primary.goal is not None, "the primary row carries the goal"
    RESULTS_DIR.mkdir(parents=True, exist_ok=True)
    document = {
        "name": name,
        "size": size,
        "finished_at": datetime.now(UTC).isoformat(timespec="seconds"),
        "ratio": primary.ratio,
        "goal": str(primary.goal),
        "met": primary.goal.met(primary.ratio),
        "rows": [row.as_json() for row in rows],
        "notes": list(notes),
        "details": details or {},
    }
    (RESULTS_DIR / f"{name}.json").write_text(json.dumps(document, indent=2, ensure_ascii=False) + "\n")
    print(ratio_line(name, primary.ratio, primary.goal), flush=True)
    return 0


def percentile(values: Sequence[float], q: float) -> float:
    """The ``q``-th percentile (0-100) of ``values``, linearly interpolated between closest ranks."""
    if not values:
        return math.nan
    ordered = sorted(values)
    position = (len(ordered) - 1) * q / 100.0
    low = math.floor(position)
    high = min(low + 1, len(ordered) - 1)
    return ordered[low] + (ordered[high] - ordered[low]) * (position - low)


# ---- processes, cores, ports ----------------------------------------------------------------------------------


def cores() -> list[int]:
    """The CPU cores this process may run on."""
    try:
        return sorted(os.sched_getaffinity(0))
    except AttributeError:  # not Linux
        return list(range(os.cpu_count() or 1))


def pin_current_process(allowed: Sequence[int]) -> None:
    """Restrict this process to ``allowed`` cores where the platform supports it (silently a no-op elsewhere)."""
    with contextlib.suppress(AttributeError, OSError):
        os.sched_setaffinity(0, set(allowed))


def taskset(core: int | None) -> list[str]:
    """A ``taskset -c <core>`` command prefix, or nothing when there is no core to pin to or no taskset."""
    if core is None or shutil.which("taskset") is None:
        return []
    return ["taskset", "-c", str(core)]


def split_cores() -> tuple[int | None, int | None]:
    """Two distinct cores (server, load) when this process may use at least two; else (None, None)."""
    available = cores()
    if len(available) < 2:
        return None, None
    return available[0], available[-1]


def free_port() -> int:
    """A TCP port on 127.0.0.1 that was free a moment ago."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


# ---- the sink: a receiver in its own process that verifies nothing -----------------------------------------------


@dataclass
class Sink:
    """A local receiver running in another process: its URL and the counters it shares with this one."""

    url: str
    requests: Any  # multiprocessing RawValue("q"): requests answered
    duplicates: Any  # multiprocessing RawValue("q"): requests whose webhook-id it had already seen


def _sink_main(conn: Connection, latency_s: float, core: int | None, requests: Any, duplicates: Any) -> None:
    if core is not None:
        pin_current_process([core])
    asyncio.run(_sink_serve(conn, latency_s, requests, duplicates))


async def _sink_serve(conn: Connection, latency_s: float, requests: Any, duplicates: Any) -> None:
    from aiohttp import web

    seen: set[str] = set()

    async def handle(request: web.Request) -> web.Response:
        await request.read()
        message_id = request.headers.get("webhook-id", "")
        requests.value += 1  # this process is the only writer
        if message_id in seen:
            duplicates.value += 1
        seen.add(message_id)
        if latency_s:
            await asyncio.sleep(latency_s)
        return web.Response(status=200, text="ok")

    app = web.Application()
    app.router.add_post("/{tail:.*}", handle)
    runner = web.AppRunner(app, handle_signals=False, access_log=None)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0, backlog=2048)
    await site.start()
    stop = asyncio.Event()
    asyncio.get_running_loop().add_signal_handler(signal.SIGTERM, stop.set)
    conn.send(runner.addresses[0][1])
    await stop.wait()
    await runner.cleanup()


@contextlib.contextmanager
def sink_process(*, latency_s: float = 0.0, core: int | None = None) -> Iterator[Sink]:
    """Run an aiohttp receiver in its own process that answers 200 to every POST after ``latency_s``.

    It checks no signature (it stands for the fastest possible platform) and counts requests and repeated
    ``webhook-id`` values in shared memory. ``core`` pins it to one CPU core.
    """
    # Forked before any event loop or thread exists, the child skips re-importing the gateway (seconds).
    context = (
        multiprocessing.get_context("fork")
        if "fork" in multiprocessing.get_all_start_methods()
        else multiprocessing.get_context("spawn")
    )
    parent, child = context.Pipe()
    requests = context.RawValue("q", 0)
    duplicates = context.RawValue("q", 0)
    process = context.Process(
        target=_sink_main, args=(child, latency_s, core, requests, duplicates), name="bench-sink", daemon=True
    )
    process.start()
    try:
        if not parent.poll(60):
            raise BenchError("the receiver process did not start within 60 s")
        port = parent.recv()
        yield Sink(url=f"http://127.0.0.1:{port}/hook", requests=requests, duplicates=duplicates)
    finally:
        process.terminate()
        process.join(10)
        if process.is_alive():
            process.kill()
            process.join(5)


# ---- servers in their own process -----------------------------------------------------------------------------


@contextlib.contextmanager
def server_process(
    command: Sequence[str], *, port: int, env: dict[str, str] | None = None, core: int | None = None, log: Path
) -> Iterator[str]:
    """Start ``command`` (a server listening on ``port``), wait until ``/health`` answers, yield its base URL.

    ``core`` pins it with taskset; its output goes to ``log``, which is quoted if it does not come up.
    """
    import httpx

    base = f"http://127.0.0.1:{port}"
    with log.open("wb") as output:
        process = subprocess.Popen(  # noqa: S603 - our own interpreter's scripts, fixed arguments
            [*taskset(core), *command],
            env={**os.environ, **(env or {})},
            stdout=output,
            stderr=subprocess.STDOUT,
            cwd=REPO,
        )
    try:
        deadline = time.monotonic() + 60
        while True:
            if process.poll() is not None:
                raise BenchError(f"server exited with {process.returncode}: {_tail(log)}")
            try:
                if httpx.get(f"{base}/health", timeout=2).status_code == 200:
                    break
            except httpx.HTTPError:
                pass
            if time.monotonic() > deadline:
                raise BenchError(f"server did not answer /health within 60 s: {_tail(log)}")
            time.sleep(0.1)
        yield base
    finally:
        process.terminate()
        try:
            process.wait(15)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(5)


def _tail(log: Path, chars: int = 2000) -> str:
    try:
        return log.read_text(errors="replace")[-chars:]
    except OSError:
        return "(no output)"


def gateway_env(data_dir: Path, database_url: str, **extra: str) -> dict[str, str]:
    """``SPOTCHECK_*`` variables for a gateway process on this data folder and database (loopback allowed)."""
    return {
        "SPOTCHECK_DATA_DIR": str(data_dir),
        "SPOTCHECK_DATABASE_URL": database_url,
        "SPOTCHECK_ALLOW_PRIVATE_ENDPOINTS": "true",
        "SPOTCHECK_LOG_LEVEL": "WARNING",
        **extra,
    }


def bare_app() -> Litestar:
    """The intake baseline: a Litestar app whose POST route reads the body and answers a small JSON object."""
    from litestar import Litestar, Request, get, post

    @get("/health")
    async def health() -> dict[str, str]:
        return {"status": "ok"}

    @post("/v1/intake/{platform_id:str}", status_code=200)
    async def intake(platform_id: str, request: Request[Any, Any, Any]) -> dict[str, Any]:
        body = await request.body()
        return {"status": "accepted", "platform": platform_id, "bytes": len(body)}

    return Litestar(route_handlers=[health, intake], debug=False)


def serve_bare(port: int) -> None:
    """Serve :func:`bare_app` exactly as ``spotcheck serve`` serves the gateway (uvicorn, one worker)."""
    import uvicorn

    uvicorn.run(bare_app(), host="127.0.0.1", port=port, log_level="warning", access_log=False)


# ---- the gateway: settings, a regulator token, a platform, a case ------------------------------------------------


def bench_settings(data_dir: Path, database_url: str = "", changes: dict[str, Any] | None = None) -> Any:
    """Gateway settings for a benchmark: quiet logs, loopback endpoints allowed, no in-process worker."""
    from spotcheck.gateway.settings import Settings

    base = Settings().with_changes(
        {
            "store.data_dir": data_dir,
            "store.database_url": database_url,
            "delivery.allow_private_endpoints": True,
            "worker.run": False,
            "log.level": "WARNING",
        }
    )
    return base.with_changes(changes) if changes else base


@contextlib.asynccontextmanager
async def api_client(settings: Any) -> AsyncIterator[httpx.AsyncClient]:
    """The gateway app in this process, for set-up only: a test client (the app runs on its own event loop)."""
    from litestar.testing import AsyncTestClient

    from spotcheck.gateway.app import create_app

    async with AsyncTestClient(app=create_app(settings)) as client:
        yield client


async def admin_token(settings: Any) -> str:
    """A regulator token with every scope, for a provincial authority created on the spot (database migrated)."""
    from sqlalchemy import select

    from spotcheck.gateway.access import create_token
    from spotcheck.gateway.store.engine import create_engine, session_factory
    from spotcheck.gateway.store.models import Authority
    from spotcheck.gateway.store.types import new_id

    engine = create_engine(settings.store.url)
    try:
        async with session_factory(engine)() as session, session.begin():
            authority = await session.scalar(select(Authority).where(Authority.division_code == AUTHORITY_CODE))
            if authority is None:
                authority = Authority(
                    id=new_id("auth"), name="浙江省市场监督管理局", level="provincial", division_code=AUTHORITY_CODE
                )
                session.add(authority)
                await session.flush()
            token, row = create_token(authority.id, ["read", "write", "admin"], label="bench")
            session.add(row)
    finally:
        await engine.dispose()
    return token


async def call(client: httpx.AsyncClient, path: str, token: str, body: dict[str, Any] | None = None) -> Any:
    """POST ``body`` to the gateway API as the regulator; a non-2xx answer raises :class:`BenchError`."""
    response = await client.post(path, json=body or {}, headers={"authorization": f"Bearer {token}"})
    if response.status_code >= 300:
        raise BenchError(f"POST {path}: {response.status_code} {response.text[:500]}")
    return response.json()


@dataclass
class PlatformSetup:
    """A platform registered for a benchmark: its id, the secret notices come signed with, its reply key."""

    id: str
    notice_secret: str
    reply_secret_key: str
    reply_public_key: str


async def register_platform(
    client: httpx.AsyncClient, token: str, platform_id: str, endpoint_url: str, *, timeout_s: float = 10.0
) -> PlatformSetup:
    """Register a webhook platform at ``endpoint_url`` that signs its replies with a new Ed25519 key."""
    from spotcheck.sdk import generate_keypair

    secret_key, public_key = generate_keypair()
    created = await call(
        client,
        "/v1/platforms",
        token,
        {
            "id": platform_id,
            "name": f"{platform_id} 网络有限公司",
            "province_code": AUTHORITY_CODE,
            "contact": {"name": "合规部", "email": f"compliance@{platform_id}.example"},
            "adapter": "webhook",
            "endpoint_url": endpoint_url,
            "adapter_config": {"timeout_s": timeout_s},
            "inbound_keys": [public_key],
        },
    )
    return PlatformSetup(platform_id, created["outbound_signing_secret"], secret_key, public_key)


async def open_case(
    client: httpx.AsyncClient, token: str, platform_id: str, *, shop: str, until: Literal["notified", "published"]
) -> str:
    """Open a failing case on ``platform_id`` and drive it through the API to sampling-notified or published.

    The merchant has no e-mail address and the case no manufacturer, so every notice goes to the platform alone.
    """
    at = (datetime.now(UTC) - timedelta(days=20)).isoformat()
    merchant = await call(
        client,
        "/v1/merchants",
        token,
        {
            "platform_id": platform_id,
            "shop_id": shop,
            "shop_name": f"{shop} 旗舰店",
            "kind": "registered_entity",
            "legal_name": "杭州某某电器有限公司",
            "registration_division": "330106",
        },
    )
    product = {"sample_name": "电热水壶", "trademark": "美的", "spec_model": "MK-HJ1705", "listing_id": f"L-{shop}"}
    # A failing result is notified to the labelled manufacturer too (三(二)): the case names one.
    maker = await call(client, "/v1/manufacturers", token, {"name": "慈溪某某电器厂", "division_code": "330282"})
    case_id: str = (
        await call(
            client,
            "/v1/cases",
            token,
            {
                "merchant_id": merchant["id"],
                "manufacturer_id": maker["id"],
                "product": product,
                "plan_reference": "浙市监抽〔2026〕12号",
            },
        )
    )["id"]
    # The purchase and sealing cite evidence stored in the case first (三(一)).
    from spotcheck.gateway.demo import upload_sampling_evidence

    auth = {"authorization": f"Bearer {token}"}
    captures, video = await upload_sampling_evidence(client, case_id, prefix="/v1", headers=auth)
    await call(
        client,
        f"/v1/cases/{case_id}/purchase",
        token,
        {
            "purchased_at": at,
            "buyer_account": "buyer_zj01",
            "buyer_name": "张三",
            "delivery_address": "杭州市西湖区某路1号",
            "orders": [{"order_no": f"T-{shop}", "ordered_at": at, "amount_fen": 19900}],
            "screenshots": captures,
        },
    )
    await call(
        client,
        f"/v1/cases/{case_id}/sealing",
        token,
        {
            "sealed_at": at,
            "sample_seal_no": "FY-001",
            "backup_seal_no": "FY-002",
            "witnesses": ["买样人 张三", "承检机构 李四", "执法人员 王五"],
            "evidence": [video],
        },
    )
    await call(client, f"/v1/cases/{case_id}/sampling-notice", token)
    if until == "notified":
        return case_id
    failing = {"item": "泄漏电流", "standard": "GB 4706.1-2005", "required": "≤0.75 mA", "measured": "2.1 mA"}
    await call(
        client,
        f"/v1/cases/{case_id}/result",
        token,
        {
            "received_at": datetime.now(UTC).isoformat(),
            "conclusion": "fail",
            "report_no": f"R-{shop}",
            "institution": "浙江省质量检测科学研究院",
            "failing_items": [failing],
        },
    )
    await call(client, f"/v1/cases/{case_id}/result-notices", token)
    for role in ("merchant", "manufacturer"):  # 三(三): each party waives in writing, on a statement it signed
        statement = await client.post(
            f"/v1/cases/{case_id}/evidence",
            params={"step": "other", "description": f"{role} 书面放弃复检"},
            content=f"%PDF-1.4\n% {role} {case_id}\n%%EOF\n".encode(),
            headers={"authorization": f"Bearer {token}", "content-type": "application/octet-stream"},
        )
        if statement.status_code >= 300:
            raise BenchError(f"waiver statement: {statement.status_code} {statement.text[:500]}")
        waiver = {"party_role": role, "waived_by": f"{role} 法定代表人", "statement_sha256": statement.json()["sha256"]}
        await call(client, f"/v1/cases/{case_id}/reinspection-waivers", token, waiver)
    await call(client, f"/v1/cases/{case_id}/finalize", token)
    await call(client, f"/v1/cases/{case_id}/publish", token)
    return case_id


def notice_body(index: int) -> bytes:
    """An opaque notice body of realistic size (about 2 KB, Chinese text) for the outbox; nobody decodes it."""
    document = {
        "type": "sampling.notice",
        "timestamp": "2026-03-02T10:00:00+08:00",
        "data": {
            "case_id": f"case_bench_{index:08d}",
            "authority": {"code": AUTHORITY_CODE, "name": "浙江省市场监督管理局", "level": "provincial"},
            "note": "被抽样经营者应当接受备份样品的退货，并在检验结论作出后按约定办理退款。" * 16,
        },
    }
    return json.dumps(document, ensure_ascii=False, separators=(",", ":")).encode()


async def enqueue_raw(runtime: Runtime, platform_id: str, count: int, *, notify: bool = False) -> list[str]:
    """Put ``count`` opaque messages for a platform into the outbox in one transaction; returns their ids.

    With ``notify`` the transaction also wakes the workers as the API does (on PostgreSQL a ``NOTIFY`` at
    commit, so listening workers in other processes wake).
    """
    from spotcheck.gateway.delivery.queue import notify_committed
    from spotcheck.gateway.store.models import OutboundMessage
    from spotcheck.sdk import new_message_id

    ids = [new_message_id() for _ in range(count)]
    now = int(time.time())
    async with runtime.sessions() as session, session.begin():
        session.add_all(
            OutboundMessage(
                id=message_id,
                case_id=None,
                message_type="sampling.notice",
                recipient_kind="platform",
                recipient_id=platform_id,
                recipient_name=f"{platform_id} 网络有限公司",
                adapter="webhook",
                destination={"platform_id": platform_id},
                body=notice_body(index),
                timestamp=now,
                status="pending",
            )
            for index, message_id in enumerate(ids)
        )
        if notify:
            await notify_committed(session)
    return ids


# ---- PostgreSQL -----------------------------------------------------------------------------------------------


def add_postgres_option(parser: argparse.ArgumentParser) -> None:
    """Add ``--pg-admin``: the DSN of a database on the server where fresh databases are created and dropped."""
    parser.add_argument(
        "--pg-admin",
        default=os.environ.get("SPOTCHECK_BENCH_PG_ADMIN", PG_ADMIN_DEFAULT),
        help=f"admin DSN (default $SPOTCHECK_BENCH_PG_ADMIN or {PG_ADMIN_DEFAULT})",
    )


@contextlib.asynccontextmanager
async def fresh_postgres(admin_dsn: str) -> AsyncIterator[str]:
    """Create an empty database on the server of ``admin_dsn``, yield its SQLAlchemy URL, then drop it.

    Raises:
        BenchError: the server cannot be reached.
    """
    import asyncpg  # type: ignore[import-untyped]
    from sqlalchemy.engine import make_url

    name = f"spotcheck_bench_{uuid.uuid4().hex[:12]}"
    try:
        admin = await asyncpg.connect(admin_dsn, timeout=5)
    except (OSError, asyncpg.PostgresError) as exc:
        raise BenchError(f"PostgreSQL unreachable at {_safe_dsn(admin_dsn)}: {type(exc).__name__}: {exc}") from exc
    try:
        await admin.execute(f'CREATE DATABASE "{name}"')
    finally:
        await admin.close()
    url = make_url(admin_dsn).set(drivername="postgresql+asyncpg", database=name)
    try:
        yield url.render_as_string(hide_password=False)
    finally:
        admin = await asyncpg.connect(admin_dsn, timeout=5)
        try:
            await admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        finally:
            await admin.close()


def _safe_dsn(dsn: str) -> str:
    from sqlalchemy.engine import make_url

    return make_url(dsn).render_as_string(hide_password=True)


def main(argv: list[str] | None = None) -> int:
    """``bare-server --port N``: serve the intake benchmark's bare baseline app."""
    parser = argparse.ArgumentParser(description="benchmark helper processes")
    commands = parser.add_subparsers(dest="command", required=True)
    bare = commands.add_parser("bare-server", help="serve the bare Litestar baseline of the intake benchmark")
    bare.add_argument("--port", type=int, required=True)
    args = parser.parse_args(argv)
    if args.command == "bare-server":
        serve_bare(args.port)
    return 0


if __name__ == "__main__":
    sys.exit(main())
