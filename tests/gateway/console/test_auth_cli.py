"""``spotcheck users create | disable | reset-password``: officers' accounts from the command line."""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest
from click.testing import CliRunner
from sqlalchemy import select

from spotcheck.gateway.cli import main
from spotcheck.gateway.console.accounts import AccountService, LoginOutcome
from spotcheck.gateway.runtime import Runtime
from spotcheck.gateway.settings import Settings
from spotcheck.gateway.store.models import AuditRecord
from spotcheck.gateway.store.models_console import OfficerAccount

PASSWORD = "correct-horse-battery"


@pytest.fixture
def cli_env(tmp_path: Path) -> dict[str, str]:
    return {"SPOTCHECK_DATA_DIR": str(tmp_path / "data"), "SPOTCHECK_LOG_LEVEL": "WARNING"}


def _login(env: dict[str, str], username: str, password: str) -> LoginOutcome:
    async def check() -> LoginOutcome:
        runtime = Runtime(Settings.from_env(env))
        await runtime.start()
        try:
            async with runtime.sessions() as session:
                return await AccountService(session, runtime.settings.console).verify_login(username, password)
        finally:
            await runtime.stop()

    return asyncio.run(check())


def _stored(env: dict[str, str]) -> tuple[list[OfficerAccount], list[tuple[str, str, str]]]:
    async def read() -> tuple[list[OfficerAccount], list[tuple[str, str, str]]]:
        runtime = Runtime(Settings.from_env(env))
        await runtime.start()
        try:
            async with runtime.sessions() as session:
                officers = list(await session.scalars(select(OfficerAccount)))
                audit = await session.execute(
                    select(AuditRecord.actor, AuditRecord.action, AuditRecord.subject).order_by(AuditRecord.seq)
                )
                return officers, [(actor, action, subject) for actor, action, subject in audit.all()]
        finally:
            await runtime.stop()

    return asyncio.run(read())


def test_users_create_disable_and_reset_password(cli_env: dict[str, str]) -> None:
    runner = CliRunner()
    authority = runner.invoke(
        main,
        ["tokens", "create", "--authority-code", "330100", "--authority-name", "杭州市市场监督管理局"],
        env=cli_env,
    )
    assert authority.exit_code == 0, authority.output

    created = runner.invoke(
        main,
        ["users", "create", "Zhang.San", "--authority-code", "330100", "--role", "supervisor", "--password-stdin"],
        input=PASSWORD + "\n",
        env=cli_env,
    )
    assert created.exit_code == 0, created.output
    assert created.stdout == ""  # a confirmation, on stderr
    assert "created zhang.san (supervisor)" in created.stderr
    assert PASSWORD not in created.output
    [officer], audit = _stored(cli_env)
    assert (officer.username, officer.role, officer.display_name, officer.disabled) == (
        "zhang.san",
        "supervisor",
        "zhang.san",
        False,
    )
    assert officer.password_hash.startswith("$argon2id$")
    assert PASSWORD not in officer.password_hash
    assert ("cli", "officer.created", "officer:zhang.san") in audit
    assert _login(cli_env, "zhang.san", PASSWORD).ok

    reset = runner.invoke(
        main, ["users", "reset-password", "zhang.san", "--password-stdin"], input="another-long-one\r\n", env=cli_env
    )
    assert reset.exit_code == 0, reset.output
    assert not _login(cli_env, "zhang.san", PASSWORD).ok
    assert _login(cli_env, "zhang.san", "another-long-one").ok

    disabled = runner.invoke(main, ["users", "disable", "zhang.san"], env=cli_env)
    assert disabled.exit_code == 0, disabled.output
    refused = _login(cli_env, "zhang.san", "another-long-one")
    assert (refused.ok, refused.refusal) == (False, "disabled")
    _, audit = _stored(cli_env)
    actions = [action for actor, action, _ in audit if actor == "cli" and action.startswith("officer.")]
    assert actions == ["officer.created", "officer.password_reset", "officer.disabled"]


@pytest.mark.parametrize(
    ("arguments", "stdin", "message"),
    [
        (["create", "wang.wu", "--authority-code", "330100", "--password-stdin"], "short\n", "密码至少 10 个字符"),
        (["create", "wang.wu", "--authority-code", "440000", "--password-stdin"], PASSWORD, "没有区划代码为 '440000'"),
        (["create", "王五", "--authority-code", "330100", "--password-stdin"], PASSWORD, "username: 用户名为"),
        (["create", "li.si", "--authority-code", "330100", "--password-stdin"], PASSWORD, "用户名 'li.si' 已被使用"),
        (
            ["create", "wang.wu", "--authority-code", "330100", "--display-name", "王\x00五", "--password-stdin"],
            PASSWORD,
            "display_name: 姓名应为 1–100 个可显示的字符",
        ),
        (["disable", "nobody"], "", "没有用户名为 'nobody' 的账户"),
        (["reset-password", "nobody", "--password-stdin"], PASSWORD, "没有用户名为 'nobody' 的账户"),
        (["reset-password", "li.si", "--password-stdin"], "\n", "password: 密码至少"),
    ],
)
def test_users_refuse_bad_input_naming_the_field(
    cli_env: dict[str, str], arguments: list[str], stdin: str, message: str
) -> None:
    runner = CliRunner()
    authority = ["tokens", "create", "--authority-code", "330100", "--authority-name", "杭州市市场监督管理局"]
    assert runner.invoke(main, authority, env=cli_env).exit_code == 0
    first = runner.invoke(
        main,
        ["users", "create", "li.si", "--authority-code", "330100", "--password-stdin"],
        input=PASSWORD,
        env=cli_env,
    )
    assert first.exit_code == 0, first.output

    result = runner.invoke(main, ["users", *arguments], input=stdin, env=cli_env)

    assert result.exit_code == 1, result.output
    assert message in result.output
    assert result.stdout == ""
