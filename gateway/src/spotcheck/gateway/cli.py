"""The ``spotcheck`` command: serve, migrate, tokens, deadlines and other operator tasks."""

from __future__ import annotations

import asyncio
import sys
from collections.abc import Awaitable, Callable
from typing import Any, TypeVar

import click

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
    try:
        ctx.obj = Settings.from_env()
    except ValueError as exc:
        raise click.UsageError(str(exc)) from exc


@main.command()
@click.option("--host", default=None, help="Interface to bind (default 127.0.0.1 or SPOTCHECK_HOST).")
@click.option("--port", type=int, default=None, help="Port to bind (default 8000 or SPOTCHECK_PORT).")
@click.option("--no-worker", is_flag=True, help="Do not run the delivery worker inside this process.")
@click.pass_obj
def serve(settings: Settings, host: str | None, port: int | None, no_worker: bool) -> None:
    """Run the gateway HTTP service (SQLite file under ./var unless SPOTCHECK_DATABASE_URL says otherwise)."""
    import uvicorn  # noqa: PLC0415 - only this command needs the server

    from spotcheck.gateway.app import create_app  # noqa: PLC0415

    changes: dict[str, Any] = {}
    if host:
        changes["host"] = host
    if port:
        changes["port"] = port
    if no_worker:
        changes["run_worker"] = False
    settings = settings.with_changes(**changes) if changes else settings
    click.echo(f"spotcheck gateway on http://{settings.host}:{settings.port}  (docs: /schema, health: /health)")
    uvicorn.run(create_app(settings), host=settings.host, port=settings.port, log_level="warning", access_log=False)


@main.command()
@click.pass_obj
def migrate(settings: Settings) -> None:
    """Create or upgrade the database schema to the newest migration."""
    from spotcheck.gateway.store import migrations  # noqa: PLC0415
    from spotcheck.gateway.store.engine import create_engine  # noqa: PLC0415

    async def _migrate() -> tuple[str | None, str]:
        engine = create_engine(settings.database_url)
        try:
            before = await migrations.current_revision(engine)
            await migrations.upgrade(engine)
            return before, migrations.head_revision()
        finally:
            await engine.dispose()

    before, after = _run(_migrate)
    click.echo(f"database at {after} (was {before or 'empty'})")


@main.command()
@click.option("--id", "worker_id", default=None, help="Worker name in leases and attempts (default host:pid).")
@click.pass_obj
def worker(settings: Settings, worker_id: str | None) -> None:
    """Run a delivery worker until SIGINT/SIGTERM (several may run against one PostgreSQL)."""
    import signal  # noqa: PLC0415

    from spotcheck.gateway.observability import configure_logging  # noqa: PLC0415
    from spotcheck.gateway.runtime import Runtime  # noqa: PLC0415
    from spotcheck.gateway.worker import DeliveryWorker  # noqa: PLC0415

    configure_logging(json=settings.log_json, level=settings.log_level)

    async def _work() -> None:
        runtime = Runtime(settings)
        await runtime.start()
        stop = asyncio.Event()
        loop = asyncio.get_running_loop()
        for sig in (signal.SIGINT, signal.SIGTERM):
            loop.add_signal_handler(sig, stop.set)
        try:
            await DeliveryWorker(runtime, worker_id=worker_id).run(stop)
        finally:
            await runtime.stop()

    _run(_work)


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
@click.option("--scope", "scopes", multiple=True, type=click.Choice(["read", "write", "admin"]), default=["read"])
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
    from spotcheck.gateway.access import create_token_for_authority  # noqa: PLC0415

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


@main.command()
@click.option("--status", type=click.Choice(["all", "overdue", "due-soon"]), default="all")
@click.pass_obj
def deadlines(settings: Settings, status: str) -> None:
    """List open deadlines, most urgent first."""
    from spotcheck.gateway.deadline_views import list_open_deadlines  # noqa: PLC0415

    rows = _run(lambda: list_open_deadlines(settings, status=status))
    if not rows:
        click.echo("no open deadlines" if status == "all" else f"no {status} deadlines")
        return
    for row in rows:
        flag = " (provisional)" if row.provisional else ""
        click.echo(f"{row.due_at.isoformat()}  {row.status:<9} {row.case_id}  {row.kind} [{row.party}]{flag}")


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
