"""The ``spotcheck`` command and the JSON logs (request ids in, secrets out)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner

from spotcheck.gateway.cli import main


@pytest.fixture
def cli_env(tmp_path: Path) -> dict[str, str]:
    return {"SPOTCHECK_DATA_DIR": str(tmp_path / "data"), "SPOTCHECK_LOG_LEVEL": "WARNING"}


def test_migrate_tokens_deadlines_and_deliveries(cli_env: dict[str, str]) -> None:
    runner = CliRunner()
    migrated = runner.invoke(main, ["migrate"], env=cli_env)
    assert migrated.exit_code == 0, migrated.output
    assert "was empty" in migrated.output
    again = runner.invoke(main, ["migrate"], env=cli_env)
    assert "was empty" not in again.output

    created = runner.invoke(
        main,
        [
            "tokens",
            "create",
            "--authority-code",
            "330000",
            "--authority-name",
            "浙江省市场监督管理局",
            "--scope",
            "write",
            "--label",
            "ops",
        ],
        env=cli_env,
    )
    assert created.exit_code == 0, created.output
    token = created.stdout.strip().splitlines()[-1]
    assert token.startswith("sct_")
    # The database keeps only its hash.
    database = (Path(cli_env["SPOTCHECK_DATA_DIR"]) / "spotcheck.db").read_bytes()
    assert token.split("_", 2)[2].encode() not in database

    unknown = runner.invoke(main, ["tokens", "create", "--authority-code", "440000"], env=cli_env)
    assert unknown.exit_code == 2
    assert "authority-name" in unknown.output
    bad = runner.invoke(main, ["tokens", "create", "--authority-code", "33"], env=cli_env)
    assert bad.exit_code == 2
    assert "6-digit" in bad.output

    listed = runner.invoke(main, ["deadlines", "--status", "overdue"], env=cli_env)
    assert listed.exit_code == 0
    assert "no overdue deadlines" in listed.output
    deliveries = runner.invoke(main, ["deliveries", "list"], env=cli_env)
    assert deliveries.exit_code == 0
    replay = runner.invoke(main, ["deliveries", "replay"], env=cli_env)
    assert replay.exit_code == 2
    replay = runner.invoke(main, ["deliveries", "replay", "--since", "2026-11-01"], env=cli_env)
    assert replay.exit_code == 2
    assert "offset" in replay.output
    replay = runner.invoke(main, ["deliveries", "replay", "--since", "2026-11-01T00:00:00+08:00"], env=cli_env)
    assert replay.exit_code == 0, replay.output
    assert "replayed 0 dead letters" in replay.output
    missing = runner.invoke(main, ["deliveries", "redeliver", "msg_nope"], env=cli_env)
    assert missing.exit_code == 1


def test_bad_settings_are_usage_errors(cli_env: dict[str, str]) -> None:
    result = CliRunner().invoke(main, ["migrate"], env={**cli_env, "SPOTCHECK_PORT": "eighty"})
    assert result.exit_code == 2
    assert "SPOTCHECK_PORT" in result.output


@pytest.mark.postgres
async def test_logs_are_json_with_request_ids_and_no_secrets(gateway: Any, capsys: pytest.CaptureFixture[str]) -> None:
    gw = gateway
    token = await gw.authority("330000", "浙江省市场监督管理局")
    structlog_level = gw.settings.log.level
    assert structlog_level == "WARNING"
    from spotcheck.gateway.observability import configure_logging

    configure_logging(json=True, level="INFO")
    platform = await gw.register_platform(token, "tmall-test")
    await gw.client.get("/v1/cases", headers={**gw.auth(token), "x-request-id": "trace-42"})
    err = capsys.readouterr().err
    lines = [json.loads(line) for line in err.splitlines() if line.startswith("{")]
    requests = [line for line in lines if line.get("event") == "request"]
    assert any(line.get("request_id") == "trace-42" and line["route"] == "/v1/cases" for line in requests)
    assert all("request_id" in line for line in requests)
    assert platform.notice_secret not in err
    assert token not in err
    assert "whsec_" not in err
