"""Reliability fixtures: the gateway under test, a counting receiver, a private PostgreSQL cluster to crash,
and the gateway's own OpenAPI operations, which parametrize the fuzzer and the authorization matrix."""

from __future__ import annotations

import asyncio
import contextlib
import functools
import os
import shutil
import socket
import struct
import tempfile
import time
import uuid
import zlib
from collections import Counter
from collections.abc import AsyncIterator, Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import asyncpg  # type: ignore[import-untyped]
import pytest
import pytest_asyncio
from aiohttp import web
from litestar.testing import AsyncTestClient
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from spotcheck.gateway.access import create_token, level_of_code
from spotcheck.gateway.app import create_app
from spotcheck.gateway.settings import Settings
from spotcheck.gateway.store.engine import create_engine, session_factory
from spotcheck.gateway.store.models import Authority, OutboundMessage
from spotcheck.gateway.store.types import new_id
from spotcheck.sdk import VerificationError, Webhook, generate_keypair, new_message_id

IN_CI = os.environ.get("CI", "").lower() in {"1", "true", "yes"}
HTTP_METHODS = ("get", "post", "put", "patch", "delete")


def unavailable(reason: str) -> None:
    """Fail under CI (a missing dependency is a failure there), skip on a developer's machine."""
    if IN_CI:
        pytest.fail(reason + " (CI=true: a missing dependency is a failure, not a skip)")
    pytest.skip(reason)


def free_port() -> int:
    """A TCP port nobody listens on right now (the OS picks it)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


# ---- figures for docs/RELIABILITY.md --------------------------------------------------------------------------

FIGURES_KEY = "reliability figures"


@pytest.fixture
def figures(record_property: Callable[[str, object], None]) -> Callable[[str], None]:
    """``figures("...")`` records a line of measured figures; the session summary prints them (xdist too)."""

    def record(line: str) -> None:
        record_property(FIGURES_KEY, line)

    return record


def pytest_terminal_summary(terminalreporter: Any) -> None:
    """Print the figures the reliability tests recorded, one line per test, after the run."""
    lines = [
        f"{report.nodeid.rsplit('::', 1)[-1]}: {value}"
        for reports in terminalreporter.stats.values()
        for report in reports
        if getattr(report, "when", None) == "call"
        for key, value in getattr(report, "user_properties", [])
        if key == FIGURES_KEY
    ]
    if lines:
        terminalreporter.section(FIGURES_KEY)
        for line in lines:
            terminalreporter.write_line(line)


# ---- the OpenAPI document: every documented operation ---------------------------------------------------------


@dataclass(frozen=True)
class Operation:
    """One documented operation of the gateway's OpenAPI document."""

    method: str
    path: str
    spec: dict[str, Any] = field(compare=False, hash=False, repr=False)

    @property
    def key(self) -> str:
        """``"POST /v1/cases/{case_id}/purchase"``: how tables and test ids name the operation."""
        return f"{self.method.upper()} {self.path}"

    @property
    def regulator(self) -> bool:
        """Whether the operation asks for a regulator token."""
        return any("regulatorToken" in item for item in self.spec.get("security") or [])

    @property
    def success_status(self) -> int:
        """The 2xx status the document promises."""
        return min(int(code) for code in self.spec["responses"] if code.startswith("2"))

    @property
    def json_body(self) -> dict[str, Any] | None:
        """The JSON request-body schema, if the operation takes one."""
        content = self.spec.get("requestBody", {}).get("content", {})
        schema = content.get("application/json", {}).get("schema")
        return schema if isinstance(schema, dict) else None

    @property
    def parameters(self) -> list[dict[str, Any]]:
        """Path and query parameters as documented."""
        return list(self.spec.get("parameters") or [])

    @property
    def case_action(self) -> bool:
        """Whether the operation is a lifecycle action on one case (a POST under ``/v1/cases/{case_id}/``)."""
        return (
            self.method == "post"
            and self.path.startswith("/v1/cases/{case_id}/")
            and not self.path.endswith("/evidence")  # an upload, allowed in every state
        )

    @property
    def html(self) -> bool:
        """Whether the operation answers an HTML page (public pages answer their errors as pages too)."""
        for code, response in self.spec["responses"].items():
            if code.startswith("2") and any(m.startswith("text/html") for m in response.get("content", {})):
                return True
        return False


@functools.cache
def openapi_document() -> dict[str, Any]:
    """The OpenAPI document the application factory builds (the one served at ``/schema/openapi.json``)."""
    unused = Path(tempfile.gettempdir()) / "spotcheck-openapi-never-written"
    app = create_app(Settings().with_changes({"store.data_dir": unused, "worker.run": False, "log.level": "WARNING"}))
    document: dict[str, Any] = app.openapi_schema.to_schema()
    return document


def operations_of(document: dict[str, Any]) -> list[Operation]:
    """Every operation of ``document``, in document order."""
    return [
        Operation(method, path, spec)
        for path, item in document["paths"].items()
        for method, spec in item.items()
        if method in HTTP_METHODS
    ]


@pytest.fixture(scope="session")
def operations_in() -> Callable[[dict[str, Any]], list[Operation]]:
    """``operations_in(document)``: every operation of an OpenAPI document (e.g. the one a gateway serves)."""
    return operations_of


@pytest.fixture(scope="session")
def parametrized_operations() -> list[Operation]:
    """The operations tests were parametrized with (the document built when the tests were collected)."""
    return operations_of(openapi_document())


def pytest_generate_tests(metafunc: pytest.Metafunc) -> None:
    """Parametrize from the OpenAPI document, so that a new endpoint cannot escape the tests.

    ``operation``: every documented operation; ``regulator_operation``: those behind a regulator token;
    ``case_action``: the lifecycle actions on one case.
    """
    if "operation" in metafunc.fixturenames:
        ops = operations_of(openapi_document())
        metafunc.parametrize("operation", ops, ids=[op.key for op in ops])
    if "regulator_operation" in metafunc.fixturenames:
        ops = [op for op in operations_of(openapi_document()) if op.regulator]
        metafunc.parametrize("regulator_operation", ops, ids=[op.key for op in ops])
    if "case_action" in metafunc.fixturenames:
        ops = [op for op in operations_of(openapi_document()) if op.case_action]
        metafunc.parametrize("case_action", ops, ids=[op.key for op in ops])


# ---- the gateway under test ----------------------------------------------------------------------------------


@dataclass
class PlatformHandle:
    """A registered platform: its id, the key it signs replies with, and the secret its notices are signed with."""

    id: str
    reply_signer: Webhook
    notice_secret: str


def evidence_png(marker: str) -> bytes:
    """A valid 1x1 PNG screen capture; different markers give different files (and digests)."""

    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))

    header = chunk(b"IHDR", struct.pack(">IIBBBBB", 1, 1, 8, 2, 0, 0, 0))
    pixels = chunk(b"IDAT", zlib.compress(b"\x00\xff\x00\x00"))
    text = chunk(b"tEXt", b"Comment\x00" + marker.encode())
    return b"\x89PNG\r\n\x1a\n" + header + text + pixels + chunk(b"IEND", b"")


EVIDENCE_MP4 = struct.pack(">I", 24) + b"ftypisom\x00\x00\x02\x00isomiso2" + struct.pack(">I", 8) + b"free" + bytes(64)
"""A minimal MP4: the unpacking and sealing video (三(一))."""


@dataclass
class Gateway:
    """The gateway app behind a test client, with helpers to act as regulators and as platforms."""

    client: AsyncTestClient[Any]
    settings: Settings
    sessions: async_sessionmaker[AsyncSession]

    async def authority(self, code: str, *, scopes: tuple[str, ...] = ("read", "write", "admin")) -> str:
        """A token for the authority of ``code`` (created on first use) with ``scopes``."""
        async with self.sessions() as session, session.begin():
            authority = await session.scalar(select(Authority).where(Authority.division_code == code))
            if authority is None:
                authority = Authority(
                    id=new_id("auth"), name=f"{code} 市场监督管理局", level=level_of_code(code), division_code=code
                )
                session.add(authority)
                await session.flush()
            token, row = create_token(authority.id, list(scopes))
            session.add(row)
        return token

    @staticmethod
    def auth(token: str | None) -> dict[str, str]:
        """The authorization header for ``token`` (none for None)."""
        return {"authorization": f"Bearer {token}"} if token else {}

    async def post(self, path: str, token: str, body: dict[str, Any] | None = None, *, expect: int = 201) -> Any:
        """POST JSON as a regulator and insist on ``expect``."""
        response = await self.client.post(path, json=body or {}, headers=self.auth(token))
        assert response.status_code == expect, f"{path}: {response.status_code} {response.text}"
        return response.json()

    async def get(self, path: str, token: str, *, expect: int = 200) -> Any:
        """GET as a regulator and insist on ``expect``."""
        response = await self.client.get(path, headers=self.auth(token))
        assert response.status_code == expect, f"{path}: {response.status_code} {response.text}"
        return response.json()

    async def sampling_evidence(self, token: str, case_id: str) -> tuple[dict[str, list[str]], list[dict[str, Any]]]:
        """Upload the purchase's screen captures and the sealing video (三(一)).

        Returns the purchase's ``screenshots`` and the sealing's ``evidence``.
        """

        async def upload(content: bytes, step: str, description: str) -> dict[str, Any]:
            response = await self.client.post(
                f"/v1/cases/{case_id}/evidence",
                params={"step": step, "description": description},
                content=content,
                headers={**self.auth(token), "content-type": "application/octet-stream"},
            )
            assert response.status_code in {200, 201}, response.text
            fields = ("sha256", "media_type", "size_bytes", "step", "description")
            return {key: response.json()[key] for key in fields}

        captures = {
            kind: [(await upload(evidence_png(f"{case_id}-{kind}"), "listing", f"{kind} 截屏"))["sha256"]]
            for kind in ("merchant", "product", "transaction")
        }
        return captures, [await upload(EVIDENCE_MP4, "sealing", "拆包查验及封样全程录像")]

    async def register_platform(
        self, token: str, platform_id: str, *, province: str = "330000", endpoint_url: str | None = None
    ) -> PlatformHandle:
        """Register a webhook platform that signs its replies with a fresh Ed25519 key."""
        secret_key, public_key = generate_keypair()
        created = await self.post(
            "/v1/platforms",
            token,
            {
                "id": platform_id,
                "name": f"{platform_id} 网络有限公司",
                "province_code": province,
                "contact": {"name": "合规部"},
                "endpoint_url": endpoint_url or f"http://127.0.0.1:9/{platform_id}",
                "inbound_keys": [public_key],
            },
        )
        return PlatformHandle(platform_id, Webhook(secret_key), created["outbound_signing_secret"])

    async def enqueue_raw(self, platform_id: str, body: bytes = b'{"type":"sampling.notice"}') -> str:
        """Put one opaque notice for a platform straight into the outbox (the worker never decodes it)."""
        msg_id = new_message_id()
        async with self.sessions() as session, session.begin():
            session.add(
                OutboundMessage(
                    id=msg_id,
                    case_id=None,
                    message_type="sampling.notice",
                    recipient_kind="platform",
                    recipient_id=platform_id,
                    recipient_name=platform_id,
                    adapter="webhook",
                    destination={"platform_id": platform_id},
                    body=body,
                    timestamp=int(time.time()),
                )
            )
        return msg_id


@contextlib.asynccontextmanager
async def _open_gateway(
    data_dir: Path, database_url: str | None = None, changes: dict[str, Any] | None = None
) -> AsyncIterator[Gateway]:
    """The gateway app (no in-process worker) on ``database_url`` (an SQLite file in ``data_dir`` by default)."""
    settings = (
        Settings()
        .with_changes(
            {
                "store.data_dir": data_dir,
                "store.database_url": database_url or f"sqlite+aiosqlite:///{data_dir / 'gateway.db'}",
                "delivery.allow_private_endpoints": True,
                "worker.run": False,
                "log.level": "ERROR",
                "http.public_base_url": "https://spotcheck.example.gov.cn",
            }
        )
        .with_changes(changes or {})
    )
    app = create_app(settings)
    async with AsyncTestClient(app=app) as client:
        engine = create_engine(settings.store.url)
        try:
            yield Gateway(client=client, settings=settings, sessions=session_factory(engine))
            # Every request gave its connection back: one stranded session stalls an SQLite gateway for good.
            assert app.state.runtime.engine.pool.checkedout() == 0, "a request left its database session open"
        finally:
            await engine.dispose()


@pytest.fixture
def open_gateway() -> Callable[..., contextlib.AbstractAsyncContextManager[Gateway]]:
    """``async with open_gateway(data_dir, database_url=None, **settings) as gw``: a gateway app under test."""
    return _open_gateway


@pytest_asyncio.fixture(scope="module", loop_scope="module")
async def module_gateway(tmp_path_factory: pytest.TempPathFactory) -> AsyncIterator[Gateway]:
    """One gateway on SQLite shared by a module's tests (they run on the module's event loop)."""
    async with _open_gateway(tmp_path_factory.mktemp("gateway")) as gateway:
        yield gateway


# ---- a platform endpoint that counts notices by webhook-id ----------------------------------------------------


@dataclass
class Receiver:
    """A platform's notice endpoint: verifies each signature and counts accepted notices by ``webhook-id``."""

    url: str = ""
    secret: str = ""
    accepted: Counter[str] = field(default_factory=Counter)
    bodies: dict[str, bytes] = field(default_factory=dict)
    refused: int = 0
    arrivals: asyncio.Queue[str] = field(default_factory=asyncio.Queue)

    async def handle(self, request: web.Request) -> web.Response:
        """Answer 204 to a verified notice (401 otherwise); the first arrival of each id is queued."""
        body = await request.read()
        try:
            Webhook(self.secret).verify(body, request.headers)
        except VerificationError as exc:
            self.refused += 1
            return web.Response(status=401, text=exc.reason)
        msg_id = request.headers["webhook-id"]
        if msg_id not in self.accepted:
            self.bodies[msg_id] = body
            self.arrivals.put_nowait(msg_id)
        self.accepted[msg_id] += 1
        return web.Response(status=204)


@pytest.fixture
async def receiver() -> AsyncIterator[Receiver]:
    """A running :class:`Receiver` on a free local port (learns its secret when the platform is registered)."""
    spec = Receiver()
    app = web.Application()
    app.router.add_post("/notices", spec.handle)
    runner = web.AppRunner(app, handle_signals=False, access_log=None)
    await runner.setup()
    port = free_port()
    await web.TCPSite(runner, "127.0.0.1", port).start()
    spec.url = f"http://127.0.0.1:{port}/notices"
    yield spec
    await runner.cleanup()


# ---- a database on the shared PostgreSQL server, for synchronous module fixtures -----------------------------

PG_HOST = os.environ.get("SPOTCHECK_TEST_PG_HOST", "127.0.0.1")
PG_PORT = int(os.environ.get("SPOTCHECK_TEST_PG_PORT", "5432"))
PG_USER = os.environ.get("SPOTCHECK_TEST_PG_USER", "postgres")
PG_ADMIN_DB = os.environ.get("SPOTCHECK_TEST_PG_DB", "test")


async def _on_shared_server(statement: str) -> None:
    try:
        admin = await asyncpg.connect(host=PG_HOST, port=PG_PORT, user=PG_USER, database=PG_ADMIN_DB, timeout=5)
    except (OSError, asyncpg.PostgresError) as exc:
        unavailable(f"PostgreSQL at {PG_HOST}:{PG_PORT} is required: {type(exc).__name__}: {exc}")
        raise  # unreachable: unavailable() always raises
    try:
        await admin.execute(statement)
    finally:
        await admin.close()


@contextlib.contextmanager
def shared_postgres_database() -> Iterator[str]:
    """A fresh database on the shared test server (same settings as ``fresh_postgres``), dropped afterwards.

    For synchronous, module-scoped fixtures, which cannot use the asynchronous ``fresh_postgres``.
    """
    name = f"spotcheck_r_{uuid.uuid4().hex[:12]}"
    asyncio.run(_on_shared_server(f'CREATE DATABASE "{name}"'))
    try:
        yield f"postgresql+asyncpg://{PG_USER}@{PG_HOST}:{PG_PORT}/{name}"
    finally:
        asyncio.run(_on_shared_server(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))


@pytest.fixture(scope="session")
def postgres_database() -> Callable[[], contextlib.AbstractContextManager[str]]:
    """``with postgres_database() as url``: a fresh database on the shared server (synchronous fixtures)."""
    return shared_postgres_database


# ---- a private PostgreSQL cluster the tests may crash ---------------------------------------------------------


@dataclass
class PrivatePostgres:
    """A throw-away PostgreSQL cluster on its own port; nobody else uses it, so it can be crashed at will."""

    bindir: Path
    root: Path
    port: int
    as_postgres_user: bool
    crashes: int = 0

    @property
    def data(self) -> Path:
        """The cluster's data directory."""
        return self.root / "data"

    @property
    def log(self) -> Path:
        """The server log (read it when a test fails)."""
        return self.root / "postgres.log"

    def url(self, database: str = "spotcheck") -> str:
        """SQLAlchemy URL of ``database`` on this cluster (trust authentication, user postgres)."""
        return f"postgresql+asyncpg://postgres@127.0.0.1:{self.port}/{database}"

    async def _run(self, tool: str, *args: str) -> None:
        command = [str(self.bindir / tool), *args]
        if self.as_postgres_user:
            # PostgreSQL refuses to run as root: run its tools as the postgres OS user.
            command = ["runuser", "-u", "postgres", "--", *command]
        process = await asyncio.create_subprocess_exec(
            *command, stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.STDOUT
        )
        output, _ = await asyncio.wait_for(process.communicate(), 90)
        if process.returncode != 0:
            log = self.log.read_text(errors="replace")[-2000:] if self.log.exists() else ""
            raise RuntimeError(f"{tool} {' '.join(args)} failed: {output.decode(errors='replace')}\n{log}")

    async def init(self) -> None:
        """Create the cluster (no fsync: a crashed server keeps what reached the OS, which is all we test)."""
        await self._run("initdb", "-D", str(self.data), "-U", "postgres", "-A", "trust", "--no-sync", "-E", "UTF8")

    async def start(self) -> None:
        """Start the server and wait until it accepts connections."""
        options = (
            f"-p {self.port} -c listen_addresses=127.0.0.1 -c unix_socket_directories={self.data} "
            "-c fsync=off -c full_page_writes=off -c max_connections=100"
        )
        await self._run("pg_ctl", "-D", str(self.data), "-l", str(self.log), "-w", "-t", "60", "-o", options, "start")

    async def crash(self) -> None:
        """Stop the server the hard way (``-m immediate``): connections die, recovery runs at the next start."""
        await self._run("pg_ctl", "-D", str(self.data), "-m", "immediate", "-w", "stop")
        self.crashes += 1

    async def stop(self) -> None:
        """Stop the server cleanly if it runs."""
        with contextlib.suppress(RuntimeError):
            await self._run("pg_ctl", "-D", str(self.data), "-m", "fast", "-w", "stop")


def _postgres_bindir() -> Path | None:
    versions = Path("/usr/lib/postgresql").glob("*/bin/initdb")
    found = sorted((p for p in versions if p.parts[-3].isdigit()), key=lambda p: int(p.parts[-3]))
    if found:
        return found[-1].parent
    initdb = shutil.which("initdb")
    return Path(initdb).parent if initdb else None


@pytest.fixture
async def private_postgres() -> AsyncIterator[PrivatePostgres]:
    """A private cluster with an empty ``spotcheck`` database; stopped and deleted afterwards.

    Its folder is made with :func:`tempfile.mkdtemp` rather than in ``tmp_path``: the postgres OS user must be able
    to reach it, and pytest's temporary root is private to the user running the tests.
    """
    bindir = _postgres_bindir()
    if bindir is None or not (bindir / "pg_ctl").exists():
        unavailable("the PostgreSQL server binaries (initdb, pg_ctl) are required for the restart test")
        raise AssertionError  # unreachable: unavailable() always raises
    as_postgres = os.geteuid() == 0
    root = Path(tempfile.mkdtemp(prefix="spotcheck-pg-"))
    if as_postgres:
        shutil.chown(root, user="postgres", group="postgres")
    cluster = PrivatePostgres(bindir=bindir, root=root, port=free_port(), as_postgres_user=as_postgres)
    try:
        await cluster.init()
        await cluster.start()
        admin = await asyncpg.connect(host="127.0.0.1", port=cluster.port, user="postgres", database="postgres")
        try:
            await admin.execute("CREATE DATABASE spotcheck")
        finally:
            await admin.close()
        yield cluster
    finally:
        await cluster.stop()
        shutil.rmtree(root, ignore_errors=True)
