"""Every ``spotcheck …`` command docs/OPERATIONS.md shows exists, with the options it is shown with."""

from __future__ import annotations

import re
import shlex
from pathlib import Path

import click
import pytest
from click.testing import CliRunner

from spotcheck.gateway.cli import main

DOC = Path(__file__).resolve().parents[2] / "docs" / "OPERATIONS.md"
# `spotcheck` where a shell command starts (line start, `$(`, a pipe or `;`/`&&`, a path like .venv/bin/) and a
# sub-command in lower case follows: not `spotcheck-sdk`, not a database named spotcheck, not prose (`spotcheck …`).
_COMMAND = re.compile(r"(?:^|\$\(|[|;&]\s*|/)spotcheck\s+([a-z][^\s`#|;)]*(?:[ \t]+[^\s`#|;)]+)*)")


def _shown_commands() -> list[str]:
    """Each ``spotcheck`` invocation in the document's shell blocks and inline code, as written."""
    text = DOC.read_text("utf-8")
    lines = [line for block in re.findall(r"```sh\n(.*?)```", text, flags=re.DOTALL) for line in block.splitlines()]
    lines += re.findall(r"`(spotcheck [^`\n]*)`", text)
    found: list[str] = []
    for line in lines:
        command = line.split(" #", 1)[0].strip()  # drop a trailing shell comment
        found.extend(match.group(1).strip() for match in _COMMAND.finditer(command))
    return found


def _resolve(words: list[str]) -> tuple[list[str], click.Command, list[str]]:
    """Walk the command tree along ``words``: the path taken, the command reached, and the words left over."""
    command: click.Command = main
    path: list[str] = []
    rest = list(words)
    while isinstance(command, click.Group) and rest and not rest[0].startswith("-"):
        sub = command.commands.get(rest[0])
        assert sub is not None, f"`spotcheck {' '.join([*path, rest[0]])}` is not a command"
        command, path = sub, [*path, rest.pop(0)]
    return path, command, rest


SHOWN = _shown_commands()


def test_the_document_shows_the_operator_commands() -> None:
    named = {" ".join(_resolve(shlex.split(line))[0]) for line in SHOWN}
    assert {"migrate", "serve", "worker", "tokens create", "audit verify", "deliveries replay"} <= named


@pytest.mark.parametrize("line", SHOWN)
def test_each_shown_command_has_help_and_takes_its_options(line: str) -> None:
    path, command, rest = _resolve(shlex.split(line))
    assert path, f"`spotcheck {line}` names no command"
    assert not isinstance(command, click.Group), f"`spotcheck {line}` stops at a group"
    helped = CliRunner().invoke(main, [*path, "--help"])
    assert helped.exit_code == 0, helped.output
    options = {name for param in command.params for name in getattr(param, "opts", [])}
    shown = {word.split("=", 1)[0] for word in rest if word.startswith("--")}
    assert shown <= options, f"`spotcheck {line}`: {sorted(shown - options)} not options of {' '.join(path)}"


def test_a_command_that_does_not_exist_is_caught() -> None:
    with pytest.raises(AssertionError, match="is not a command"):
        _resolve(shlex.split("tokens rotate --now"))
    assert _COMMAND.findall("createdb --owner spotcheck spotcheck") == []
    captured = _COMMAND.findall("export T=$(.venv/bin/spotcheck tokens create --scope read)")
    assert captured == ["tokens create --scope read"]
