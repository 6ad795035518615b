"""``spotcheck serve --workers N`` (issue 16, item 5): several API processes on PostgreSQL, one on SQLite."""

from __future__ import annotations

import gc
import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest
from click.testing import CliRunner
from litestar.testing import AsyncTestClient

from spotcheck.gateway.app import create_app, served_app
from spotcheck.gateway.cli import main
from spotcheck.gateway.runtime import freeze_startup_heap
from spotcheck.gateway.settings import Settings

SPOTCHECK = Path(sys.executable).with_name("spotcheck")


def test_several_processes_on_sqlite_are_refused_with_the_reason(tmp_path: Path) -> None:
    result = CliRunner().invoke(
        main, ["serve", "--workers", "2"], env={"SPOTCHECK_DATA_DIR": str(tmp_path), "SPOTCHECK_DATABASE_URL": ""}
    )
    assert result.exit_code == 2
    assert "--workers" in result.output
    assert "SQLite admits one writer process" in result.output
    assert "SPOTCHECK_DATABASE_URL" in result.output


def test_workers_must_be_a_positive_count(tmp_path: Path) -> None:
    result = CliRunner().invoke(main, ["serve", "--workers", "0"], env={"SPOTCHECK_DATA_DIR": str(tmp_path)})
    assert result.exit_code == 2
    assert "--workers" in result.output


@pytest.mark.postgres
def test_two_api_processes_share_the_port_on_postgresql(postgres_url: str, tmp_path: Path) -> None:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    env = {
        **os.environ,
        "SPOTCHECK_DATABASE_URL": postgres_url,
        "SPOTCHECK_DATA_DIR": str(tmp_path),
        "SPOTCHECK_LOG_LEVEL": "WARNING",
    }
    log = tmp_path / "serve.log"
    with log.open("wb") as output:
        process = subprocess.Popen(  # noqa: S603 - our own entry point
            [str(SPOTCHECK), "serve", "--workers", "2", "--no-worker", "--port", str(port)],
            env=env,
            stdout=output,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
    try:
        deadline = time.monotonic() + 120  # three interpreters importing the gateway on a busy machine
        while True:
            assert process.poll() is None, log.read_text(errors="replace")
            try:
                ready = httpx.get(f"http://127.0.0.1:{port}/ready", timeout=2)
                if ready.status_code == 200:
                    break
            except httpx.HTTPError:
                pass
            assert time.monotonic() < deadline, "the processes did not answer within 120 s: " + log.read_text()
            time.sleep(0.2)
        assert ready.json() == {"status": "ready", "database": "postgresql"}
        # The supervisor and its two API processes.
        children = subprocess.run(  # noqa: S603
            ["/usr/bin/pgrep", "-P", str(process.pid)], capture_output=True, text=True, check=False
        ).stdout.split()
        assert len(children) >= 2, children
    finally:
        os.killpg(process.pid, signal.SIGTERM)
        process.wait(30)


async def test_the_served_app_freezes_its_start_up_heap(tmp_path: Path) -> None:
    """What a server process built to start is out of the cyclic collector's sight once it serves (p99 pauses)."""
    settings = Settings().with_changes({"store.data_dir": tmp_path, "store.database_url": "", "worker.run": False})
    assert freeze_startup_heap not in create_app(settings).on_startup  # tests' short-lived apps are never frozen
    gc.unfreeze()
    try:
        async with AsyncTestClient(app=served_app(settings)) as client:
            assert (await client.get("/health")).status_code == 200
            assert gc.get_freeze_count() > 10_000
    finally:
        gc.unfreeze()
