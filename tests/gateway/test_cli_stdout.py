"""Commands whose output is data print only the data on stdout; logs, hints and progress go to stderr.

Each command runs on a fresh data directory, so the first-run migration logs (the README's
``export SPOTCHECK_TOKEN=$(spotcheck tokens create …)`` once captured that log line with the token).
"""

from __future__ import annotations

import asyncio
import os
import re
import sys
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
import structlog
from click.testing import CliRunner
from litestar.testing import AsyncTestClient

from spotcheck.gateway.app import create_app
from spotcheck.gateway.cli import main
from spotcheck.gateway.settings import Settings

_TOKEN = re.compile(r"sct_[0-9a-z]+_[A-Za-z0-9_-]+")


def _one_token(stdout: str) -> None:
    assert _TOKEN.fullmatch(stdout.strip()), stdout


def _empty(stdout: str) -> None:
    assert stdout == "", stdout


def _audit_intact(stdout: str) -> None:
    assert len(stdout.splitlines()) == 1, stdout
    assert "intact" in stdout, stdout


def _signed_checkpoint(stdout: str) -> None:
    # The signed checkpoint itself (its form is the audit log's business): something, and no log event in it.
    assert stdout.strip(), stdout
    assert not any(line.startswith("{") and '"event"' in line for line in stdout.splitlines()), stdout


def _migrated(stdout: str) -> None:
    assert re.fullmatch(r"database at \w+ \(was empty\)\n", stdout), stdout


def _replayed(stdout: str) -> None:
    assert stdout == "replayed 0 dead letters\n", stdout


def _certificate_path(stdout: str) -> None:
    assert re.fullmatch(r"\S+/cert\.pem\n", stdout), stdout


DATA_COMMANDS: dict[str, tuple[list[str], Callable[[str], None]]] = {
    "tokens create": (
        ["tokens", "create", "--authority-code", "330000", "--authority-name", "浙江省局", "--scope", "read"],
        _one_token,
    ),
    "deadlines": (["deadlines", "--status", "overdue"], _empty),
    "deliveries list": (["deliveries", "list"], _empty),
    "deliveries replay": (["deliveries", "replay", "--platform", "demo-mall"], _replayed),
    "audit verify": (["audit", "verify"], _audit_intact),
    "audit checkpoint": (["audit", "checkpoint"], _signed_checkpoint),
    "migrate": (["migrate"], _migrated),
    "keys": (["keys", "--authority", "auth_test", "--name", "浙江省局", "--prefix", "浙市监"], _certificate_path),
}


@pytest.fixture
def unconfigured_logging() -> Iterator[None]:
    """structlog as a fresh process has it (printing to stdout), as every command starts."""
    structlog.reset_defaults()
    yield
    structlog.reset_defaults()


@pytest.mark.parametrize("name", sorted(DATA_COMMANDS))
@pytest.mark.usefixtures("unconfigured_logging")
def test_stdout_holds_only_the_data(name: str, tmp_path: Path) -> None:
    args, check = DATA_COMMANDS[name]
    env = {"SPOTCHECK_DATA_DIR": str(tmp_path / "fresh"), "SPOTCHECK_LOG_LEVEL": "INFO"}
    result = CliRunner().invoke(main, args, env=env)
    assert result.exit_code == 0, result.output
    check(result.stdout)
    assert "migrating database" not in result.stdout
    if name not in {"migrate", "keys"}:  # the migration was logged, and on stderr (keys touches no database)
        assert "migrating database" in result.stderr


def test_every_command_is_covered() -> None:
    """A new data-printing command is added to DATA_COMMANDS (or here, with the reason it prints no data)."""
    not_data = {"serve", "worker", "demo", "deliveries redeliver"}  # long-running, or a one-line confirmation
    not_data |= {"users create", "users disable", "users reset-password"}  # a confirmation on stderr, nothing on stdout
    names: set[str] = set()
    for name, command in main.commands.items():
        subcommands = getattr(command, "commands", None)
        names.update(f"{name} {sub}" for sub in subcommands) if subcommands else names.add(name)
    missing = names - not_data - set(DATA_COMMANDS)
    assert not missing, f"add {sorted(missing)} to DATA_COMMANDS (stdout holds only data) or to not_data"


@pytest.mark.slow
async def test_readme_token_capture_in_a_real_shell_gives_a_usable_token(tmp_path: Path) -> None:
    """The README's first command, as a shell runs it, in a process of its own on a fresh data directory."""
    data_dir = tmp_path / "var"
    spotcheck = Path(sys.executable).with_name("spotcheck")
    script = (
        f'export SPOTCHECK_TOKEN=$("{spotcheck}" tokens create --authority-code 330000 '
        "--authority-name 浙江省市场监督管理局 --scope read --scope write --scope admin) "
        '&& printf %s "$SPOTCHECK_TOKEN"'
    )
    env = {
        "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
        "HOME": str(tmp_path),
        "SPOTCHECK_DATA_DIR": str(data_dir),
        "SPOTCHECK_LOG_LEVEL": "INFO",
    }
    shell = await asyncio.create_subprocess_exec(
        "/bin/sh", "-c", script, env=env, stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE
    )
    out, err = await asyncio.wait_for(shell.communicate(), timeout=120)
    assert shell.returncode == 0, err.decode()
    token = out.decode()
    _one_token(token)
    assert "migrating database" in err.decode()

    settings = Settings().with_changes({"store.data_dir": data_dir, "worker.run": False, "log.level": "WARNING"})
    async with AsyncTestClient(app=create_app(settings)) as client:
        response = await client.get("/v1/deadlines", headers={"authorization": f"Bearer {token}"})
    assert response.status_code == 200, response.text
