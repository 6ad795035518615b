"""The ``spotcheck`` command: serve, migrate, tokens, deadlines and other operator tasks.

Standard output carries only what a command answers (a token, a table, a signed checkpoint), so it can be
captured with ``$(spotcheck …)`` or piped; logs, progress bars and hints go to standard error.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import sys
from collections.abc import AsyncIterator, Awaitable, Callable
from datetime import datetime
from pathlib import Path
from typing import Any, TypeVar

import click
from sqlalchemy.ext.asyncio import AsyncSession

from spotcheck.gateway.settings import Settings

__all__ = ["main"]

T = TypeVar("T")


def _run(factory: Callable[[], Awaitable[T]]) -> T:
    async def _wrapped() -> T:
        return await factory()

    return asyncio.run(_wrapped())


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.pass_context
def main(ctx: click.Context) -> None:
    """Spotcheck gateway: online product quality sampling inspection (网络商品抽检)."""
    from spotcheck.gateway.observability import configure_logging  # noqa: PLC0415 - keeps --help fast

    try:
        settings = Settings.from_env()
    except ValueError as exc:
        raise click.UsageError(str(exc)) from exc
    # Before any command runs: an unconfigured structlog prints to stdout, and a first run logs its migration.
    configure_logging(json=settings.log.json, level=settings.log.level)
    ctx.obj = settings


@main.command()
@click.option("--host", default=None, help="Interface to bind (default 127.0.0.1 or SPOTCHECK_HOST).")
@click.option("--port", type=int, default=None, help="Port to bind (default 8000 or SPOTCHECK_PORT).")
@click.option("--no-worker", is_flag=True, help="Do not run the delivery worker inside this process.")
@click.option(
    "--workers",
    type=click.IntRange(1, 64),
    default=1,
    show_default=True,
    help="API processes sharing the port (PostgreSQL only: SQLite admits one writer process).",
)
@click.pass_obj
def serve(settings: Settings, host: str | None, port: int | None, no_worker: bool, workers: int) -> None:
    """Run the gateway HTTP service (SQLite file under ./var unless SPOTCHECK_DATABASE_URL says otherwise)."""
    import uvicorn  # noqa: PLC0415 - only this command needs the server

    from spotcheck.gateway.app import served_app  # noqa: PLC0415

    changes: dict[str, Any] = {}
    if host:
        changes["http.host"] = host
    if port:
        changes["http.port"] = port
    if no_worker:
        changes["worker.run"] = False
    settings = settings.with_changes(changes) if changes else settings
    if workers > 1 and settings.store.is_sqlite:
        raise click.UsageError(
            "--workers: SQLite admits one writer process, so the embedded store is served by one process; "
            "set SPOTCHECK_DATABASE_URL to a PostgreSQL database to run several"
        )
    click.echo(
        f"spotcheck gateway on http://{settings.http.host}:{settings.http.port}  (docs: /schema, health: /health)"
        + (f"  ({workers} processes)" if workers > 1 else ""),
        err=True,
    )
    if workers == 1:
        app = served_app(settings)
        uvicorn.run(app, host=settings.http.host, port=settings.http.port, log_level="warning", access_log=False)
        return
    # Each process builds its own app from the environment, so the command line's choices travel there; the schema
    # is migrated once here, before the processes start, instead of by all of them at once.
    _run(lambda: _migrate_store(settings))
    os.environ.update(
        {
            "SPOTCHECK_HOST": settings.http.host,
            "SPOTCHECK_PORT": str(settings.http.port),
            "SPOTCHECK_RUN_WORKER": "true" if settings.worker.run else "false",
        }
    )
    uvicorn.run(
        "spotcheck.gateway.app:served_app",
        factory=True,
        workers=workers,
        host=settings.http.host,
        port=settings.http.port,
        log_level="warning",
        access_log=False,
    )


async def _migrate_store(settings: Settings) -> tuple[str | None, str]:
    from spotcheck.gateway.store import migrations  # noqa: PLC0415
    from spotcheck.gateway.store.engine import create_engine  # noqa: PLC0415

    engine = create_engine(settings.store.url)
    try:
        before = await migrations.current_revision(engine)
        await migrations.upgrade(engine)
        return before, migrations.head_revision()
    finally:
        await engine.dispose()


@main.command()
@click.pass_obj
def migrate(settings: Settings) -> None:
    """Create or upgrade the database schema to the newest migration."""
    before, after = _run(lambda: _migrate_store(settings))
    click.echo(f"database at {after} (was {before or 'empty'})")


@main.command()
@click.option("--id", "worker_id", default=None, help="Worker name in leases and attempts (default host:pid).")
@click.pass_obj
def worker(settings: Settings, worker_id: str | None) -> None:
    """Run a delivery worker and the periodic jobs until SIGINT/SIGTERM (several may run against one PostgreSQL)."""
    import signal  # noqa: PLC0415

    from spotcheck.adapters import AdapterError  # noqa: PLC0415
    from spotcheck.gateway.runtime import Runtime, freeze_startup_heap  # noqa: PLC0415
    from spotcheck.gateway.scheduler import run_background  # noqa: PLC0415

    async def _work() -> None:
        runtime = Runtime(settings)
        await runtime.start()
        freeze_startup_heap()
        stop = asyncio.Event()
        loop = asyncio.get_running_loop()
        for sig in (signal.SIGINT, signal.SIGTERM):
            loop.add_signal_handler(sig, stop.set)
        try:
            await run_background(runtime, stop, worker_id=worker_id)
        finally:
            await runtime.stop()

    try:
        _run(_work)
    except AdapterError as exc:
        raise click.ClickException(str(exc)) from exc


@main.command()
@click.option("--port", type=int, default=8010, show_default=True, help="Port of the demo gateway.")
@click.option(
    "--data-dir",
    type=click.Path(path_type=Path),
    default=Path("var/demo"),
    show_default=True,
    help="Wiped and recreated: the demo always starts from a fresh SQLite file.",
)
@click.option("--exit", "exit_after", is_flag=True, help="Stop when the case is closed instead of serving on.")
def demo(port: int, data_dir: Path, exit_after: bool) -> None:
    """Run one failing case end to end against a demo platform built with the public SDK."""
    from spotcheck.gateway.demo import run_demo  # noqa: PLC0415

    try:
        code = asyncio.run(run_demo(data_dir, port=port, keep_running=not exit_after, echo=click.echo))
    except KeyboardInterrupt:
        code = 0
    sys.exit(code)


@main.group()
def deliveries() -> None:
    """Inspect deliveries, redeliver one, replay dead letters."""


def _parse_time(value: str | None, name: str) -> datetime | None:
    if value is None:
        return None
    try:
        parsed = datetime.fromisoformat(value)
    except ValueError:
        raise click.BadParameter(f"expected an ISO 8601 time, got {value!r}", param_hint=name) from None
    if parsed.tzinfo is None:
        raise click.BadParameter("give the UTC offset (e.g. 2026-10-01T00:00:00+08:00)", param_hint=name)
    return parsed


@deliveries.command("list")
@click.option("--status", type=click.Choice(["pending", "delivering", "delivered", "dead"]), default=None)
@click.option("--platform", "platform_id", default=None)
@click.option("--limit", type=int, default=50, show_default=True)
@click.pass_obj
def deliveries_list(settings: Settings, status: str | None, platform_id: str | None, limit: int) -> None:
    """List outbound messages, newest first."""
    from spotcheck.gateway.delivery.service import list_deliveries  # noqa: PLC0415

    async def _list() -> list[tuple[str, ...]]:
        async with _session(settings) as session:
            rows = await list_deliveries(session, status=status, platform_id=platform_id, limit=limit)
            return [
                (
                    r.id,
                    r.status,
                    str(r.attempt_count),
                    r.message_type,
                    f"{r.recipient_kind}:{r.recipient_id}",
                    (r.last_error or "")[:60],
                )
                for r in rows
            ]

    for row in _run(_list):
        click.echo("  ".join(row))


@deliveries.command("redeliver")
@click.argument("message_id")
@click.pass_obj
def deliveries_redeliver(settings: Settings, message_id: str) -> None:
    """Queue one message for delivery again (same webhook-id)."""
    from spotcheck.gateway.delivery.service import redeliver  # noqa: PLC0415

    async def _redeliver() -> bool:
        async with _session(settings) as session:
            return await redeliver(session, message_id, actor="cli") is not None

    if not _run(_redeliver):
        raise click.ClickException(f"no such message: {message_id}")
    click.echo(f"{message_id} queued")


@deliveries.command("replay")
@click.option("--platform", "platform_id", default=None, help="Only this platform's dead letters.")
@click.option("--since", default=None, help="Created at or after (ISO 8601 with offset).")
@click.option("--until", default=None, help="Created before (ISO 8601 with offset).")
@click.pass_obj
def deliveries_replay(settings: Settings, platform_id: str | None, since: str | None, until: str | None) -> None:
    """Replay dead letters of a platform and/or a time range, with a progress bar."""
    from rich.console import Console  # noqa: PLC0415
    from rich.progress import Progress  # noqa: PLC0415

    from spotcheck.gateway.delivery.service import dead_letters, replay_messages  # noqa: PLC0415

    if platform_id is None and since is None and until is None:
        raise click.UsageError("give --platform, --since/--until, or both")
    start, end = _parse_time(since, "--since"), _parse_time(until, "--until")

    async def _replay() -> int:
        async with _session(settings) as session:
            ids = await dead_letters(session, platform_id=platform_id, since=start, until=end)
        done = 0
        # The bar is a display, not the answer: stderr, so stdout holds only the count.
        with Progress(console=Console(stderr=True), transient=False) as progress:
            bar = progress.add_task("replaying dead letters", total=len(ids))
            for offset in range(0, len(ids), 200):
                batch = ids[offset : offset + 200]
                async with _session(settings) as session:
                    done += await replay_messages(session, batch, actor="cli")
                progress.advance(bar, len(batch))
        return done

    click.echo(f"replayed {_run(_replay)} dead letters")


@contextlib.asynccontextmanager
async def _session(settings: Settings) -> AsyncIterator[AsyncSession]:
    from spotcheck.gateway.runtime import Runtime  # noqa: PLC0415

    runtime = Runtime(settings)
    try:
        await runtime.start()
        async with runtime.sessions() as session:
            yield session
    finally:
        await runtime.stop()


@main.group()
def tokens() -> None:
    """Regulator API tokens (stored hashed; the secret is shown once)."""


@tokens.command("create")
@click.option("--authority-code", required=True, help="6-digit division code of the authority (e.g. 330000).")
@click.option("--authority-name", default=None, help="Name, when the authority is new (e.g. 浙江省市场监督管理局).")
@click.option(
    "--level",
    type=click.Choice(["national", "provincial", "municipal", "county"]),
    default=None,
    help="Level, when the authority is new (default from the code).",
)
@click.option(
    "--scope", "scopes", multiple=True, type=click.Choice(["read", "write", "admin", "supervise"]), default=["read"]
)
@click.option("--label", default="", help="What the token is for.")
@click.pass_obj
def tokens_create(
    settings: Settings,
    authority_code: str,
    authority_name: str | None,
    level: str | None,
    scopes: tuple[str, ...],
    label: str,
) -> None:
    """Create a token for an authority (creating the authority if needed) and print it once."""
    from spotcheck.gateway.registry.service import create_token_for_authority  # noqa: PLC0415

    try:
        token, authority_id = _run(
            lambda: create_token_for_authority(
                settings,
                authority_code=authority_code,
                authority_name=authority_name,
                level=level,
                scopes=list(scopes),
                label=label,
            )
        )
    except ValueError as exc:
        raise click.UsageError(str(exc)) from exc
    click.echo(f"authority: {authority_id}", err=True)
    click.echo("token (shown once, store it now):", err=True)
    click.echo(token)


@main.group()
def users() -> None:
    """Officers' console accounts (passwords stored as Argon2id hashes only)."""


def _read_password(from_stdin: bool) -> str:
    """The password from the first line of standard input, or typed twice at a hidden prompt."""
    if from_stdin:
        line = sys.stdin.readline()
        password = line[:-1] if line.endswith("\n") else line
        return password.removesuffix("\r")
    value: str = click.prompt("password", hide_input=True, confirmation_prompt=True, err=True)
    return value


async def _accounts(settings: Settings, change: Callable[[Any], Awaitable[Any]]) -> Any:
    """Run one account change in a migrated store."""
    from spotcheck.gateway.console.accounts import AccountService  # noqa: PLC0415

    async with _session(settings) as session:
        return await change(AccountService(session, settings.console))


def _account_change(settings: Settings, change: Callable[[Any], Awaitable[Any]]) -> Any:
    from spotcheck.gateway.console.accounts import AccountError  # noqa: PLC0415

    try:
        return _run(lambda: _accounts(settings, change))
    except AccountError as exc:
        raise click.ClickException(f"{exc.field}: {exc.reason}") from exc


@users.command("create")
@click.argument("username")
@click.option("--authority-code", required=True, help="6-digit division code of the officer's authority (e.g. 330100).")
@click.option(
    "--role",
    type=click.Choice(["officer", "supervisor", "admin"]),
    default="officer",
    show_default=True,
    help="officer: read, write; supervisor: also approves plans; admin: also manages platforms and keys.",
)
@click.option("--display-name", default=None, help="The officer's name as pages show it (default the username).")
@click.option("--password-stdin", is_flag=True, help="Read the password from the first line of standard input.")
@click.pass_obj
def users_create(
    settings: Settings, username: str, authority_code: str, role: str, display_name: str | None, password_stdin: bool
) -> None:
    """Create an officer who logs in to the console at /console/login."""
    password = _read_password(password_stdin)
    officer = _account_change(
        settings,
        lambda accounts: accounts.create(
            username, authority_code=authority_code, role=role, password=password, display_name=display_name
        ),
    )
    click.echo(f"created {officer.username} ({officer.role}) of authority {officer.authority_id}", err=True)


@users.command("disable")
@click.argument("username")
@click.pass_obj
def users_disable(settings: Settings, username: str) -> None:
    """Disable an officer's account and end their console sessions at once."""
    officer = _account_change(settings, lambda accounts: accounts.disable(username))
    click.echo(f"disabled {officer.username}; their sessions have ended", err=True)


@users.command("reset-password")
@click.argument("username")
@click.option("--password-stdin", is_flag=True, help="Read the new password from the first line of standard input.")
@click.pass_obj
def users_reset_password(settings: Settings, username: str, password_stdin: bool) -> None:
    """Set a new password, lift a lock-out and end the officer's sessions."""
    password = _read_password(password_stdin)
    officer = _account_change(settings, lambda accounts: accounts.reset_password(username, password))
    click.echo(f"password of {officer.username} reset; their sessions have ended", err=True)


@main.command()
@click.option("--status", type=click.Choice(["all", "overdue", "due-soon"]), default="all")
@click.pass_obj
def deadlines(settings: Settings, status: str) -> None:
    """List open deadlines, most urgent first."""
    from spotcheck.gateway.deadlines.service import list_open_deadlines  # noqa: PLC0415

    rows = _run(lambda: list_open_deadlines(settings, status=status))
    if not rows:
        # A hint, not a row: stdout stays empty so scripts can count lines.
        click.echo("no open deadlines" if status == "all" else f"no {status} deadlines", err=True)
        return
    for row in rows:
        flag = " (provisional)" if row.provisional else ""
        click.echo(f"{row.due_at.isoformat()}  {row.status:<9} {row.case_id}  {row.kind} [{row.party}]{flag}")


@main.group()
def audit() -> None:
    """The transparency log of the audit trail: verify it, integrate waiting leaves and sign a checkpoint."""


@audit.command("verify")
@click.pass_obj
def audit_verify(settings: Settings) -> None:
    """Recompute the log from the records and check every checkpoint; exit 1 naming the first bad leaf index."""
    from spotcheck.gateway.audit.service import verify_audit  # noqa: PLC0415

    report = _run(lambda: verify_audit(settings))
    click.echo(report.describe())
    if not report.ok:
        sys.exit(1)


@audit.command("checkpoint")
@click.pass_obj
def audit_checkpoint(settings: Settings) -> None:
    """Integrate every waiting leaf, sign the tree and print the signed note (exit 1: log broken or busy)."""
    from spotcheck.gateway.audit.sequencer import LogCorruptedError  # noqa: PLC0415
    from spotcheck.gateway.audit.service import sequence_now  # noqa: PLC0415

    try:
        head = _run(lambda: sequence_now(settings))
    except LogCorruptedError as exc:
        click.echo(f"no checkpoint signed: {exc}", err=True)
        sys.exit(1)
    if head is None:
        click.echo("no checkpoint signed: another process is integrating the log; try again", err=True)
        sys.exit(1)
    click.echo(head.note, nl=False)


@main.command()
@click.option("--authority", "authority_id", default="default", show_default=True, help="Authority id (or default).")
@click.option("--name", "authority_name", required=True, help="The authority's name as the certificate shows it.")
@click.option("--prefix", default=None, help="What every 文号 starts with, e.g. 浙市监 (浙市监网抽通〔2026〕12号).")
@click.option("--seal", type=click.Path(exists=True, dir_okay=False, path_type=Path), default=None, help="Seal PNG.")
@click.option("--replace", "replace_key", is_flag=True, help="Replace an existing key with a new development pair.")
@click.pass_obj
def keys(
    settings: Settings,
    authority_id: str,
    authority_name: str,
    prefix: str | None,
    seal: Path | None,
    replace_key: bool,
) -> None:
    """Create a self-signed development key and certificate that sign the authority's documents (文书)."""
    from spotcheck.gateway.documents.profile import write_profile  # noqa: PLC0415

    try:
        folder = write_profile(
            settings.store.data_dir,
            authority_id,
            authority_name=authority_name,
            prefix=prefix,
            seal=seal,
            replace_key=replace_key,
        )
    except ValueError as exc:
        raise click.UsageError(str(exc)) from exc
    click.echo("development pair (self-signed): replace key.pem and cert.pem with the bureau's own", err=True)
    click.echo(str(folder / "cert.pem"))


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
