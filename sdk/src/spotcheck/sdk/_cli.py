"""The ``spotcheck-sdk`` command: check a captured delivery by hand.

``spotcheck-sdk verify --body FILE --headers FILE [--secret KEY] [--now UNIX]`` verifies the signature of a saved
body against saved headers, decodes it, and prints the message as indented JSON (exit 0), or prints
``invalid: <reason>`` with the exact reason (exit 1). Usage errors (unreadable file, bad key) exit 2. The key
comes from ``--secret`` (repeatable, for rotation) or from ``SPOTCHECK_WEBHOOK_SECRET`` (keys separated by
whitespace); it is never printed. Prefer the environment variable: command lines are visible to other users.

``spotcheck-sdk log add|watch`` registers messages and checks the gateway's transparency log (``_logcli``).

``spotcheck-sdk draws verify URL|FILE`` recomputes a bureau's published random draws (``/public/draws.json``, or a
saved copy) and prints one line per draw: ``ok: ID``, ``not revealed: ID`` or ``FAILED: ID: field: reason``. Exit 0
when every revealed draw holds, 1 when any fails, 2 when the document cannot be had or is not a draws document.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import sys
from pathlib import Path
from typing import TYPE_CHECKING, Final, NoReturn

import msgspec

from spotcheck.schemas import ContractError, decode_message, encode_message
from spotcheck.sdk._draw_checks import DrawCheck, fetch_draws, parse_draws, verify_draws
from spotcheck.sdk._errors import SpotcheckError, VerificationError
from spotcheck.sdk._logcli import add_log_commands, run_log_command
from spotcheck.sdk._signing import Webhook

if TYPE_CHECKING:
    from collections.abc import Sequence

__all__ = ["main"]

SECRET_ENV: Final = "SPOTCHECK_WEBHOOK_SECRET"  # noqa: S105 - the variable's name, not a secret
_REQUEST_OR_STATUS_LINE: Final = re.compile(r"^(?:[A-Z]+ \S+ HTTP/\d(?:\.\d)?|HTTP/\d(?:\.\d)? \d{3}(?: .*)?)$")


class _UsageError(Exception):
    """Bad input to the command itself (not to the message): exit status 2."""


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="spotcheck-sdk", description="Tools for platforms that receive Spotcheck notices."
    )
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    verify = commands.add_parser(
        "verify",
        help="verify and decode a captured delivery",
        description=(
            "Verify a saved body against saved headers and print the decoded message as JSON (exit 0), "
            "or 'invalid: <reason>' (exit 1)."
        ),
    )
    verify.add_argument("--body", required=True, metavar="FILE", help="the raw body, byte for byte ('-': stdin)")
    verify.add_argument(
        "--headers", required=True, metavar="FILE", help="a JSON object of headers, or 'Name: value' lines"
    )
    verify.add_argument(
        "--secret",
        action="append",
        metavar="KEY",
        help=f"a whsec_ or whpk_ key; repeat while keys rotate (default: ${SECRET_ENV})",
    )
    verify.add_argument("--now", type=float, metavar="UNIX", help="check freshness as of this Unix time")
    verify.add_argument(
        "--tolerance", type=int, default=300, metavar="SECONDS", help="accepted clock skew (default: 300)"
    )
    _add_draws_command(commands)
    add_log_commands(commands)
    return parser


def _add_draws_command(commands: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    draws = commands.add_parser(
        "draws", help="check a bureau's random draws", description="Check a bureau's published random draws."
    )
    actions = draws.add_subparsers(dest="draws_command", required=True, metavar="ACTION")
    verify = actions.add_parser(
        "verify",
        help="recompute every published draw",
        description=(
            "Recompute every draw of a draws document and print one line per draw: 'ok', 'not revealed', or "
            "'FAILED' with the field and the reason (exit 1 when any fails)."
        ),
    )
    verify.add_argument("source", metavar="URL|FILE", help="the bureau's /public/draws.json, or a saved copy ('-')")


def _parse_headers(text: str) -> dict[str, str]:
    """Read headers as a JSON object or as ``Name: value`` lines; names are lower-cased, repeats joined by ``, ``.

    Blank lines, ``#`` comments and a leading HTTP request or status line are skipped, so a pasted capture works.

    Raises:
        _UsageError: the text is neither form.
    """
    pairs: list[tuple[str, str]] = []
    if text.lstrip().startswith(("{", "[")):
        try:
            document = json.loads(text)
        except json.JSONDecodeError as exc:
            raise _UsageError(f"headers file: not valid JSON ({exc.msg} at line {exc.lineno})") from None
        if not isinstance(document, dict):
            raise _UsageError("headers file: expected a JSON object")
        for name, value in document.items():
            # A timestamp written as a JSON number is still the header's text.
            if isinstance(value, int) and not isinstance(value, bool):
                pairs.append((name, str(value)))
            elif isinstance(value, str):
                pairs.append((name, value))
            else:
                raise _UsageError(f"headers file: the value of {name!r} must be a string")
    else:
        for number, line in enumerate(text.splitlines(), start=1):
            stripped = line.strip()
            if not stripped or stripped.startswith("#") or (not pairs and _REQUEST_OR_STATUS_LINE.match(stripped)):
                continue
            name, colon, value = stripped.partition(":")
            if not colon or not name.strip() or name != name.rstrip():
                raise _UsageError(f"headers file, line {number}: expected 'Name: value'")
            pairs.append((name, value.strip()))
    headers: dict[str, str] = {}
    for name, value in pairs:
        key = name.strip().lower()
        headers[key] = f"{headers[key]}, {value}" if key in headers else value
    return headers


def _read(path: str, what: str) -> bytes:
    if path == "-":
        return sys.stdin.buffer.read()
    try:
        return Path(path).read_bytes()
    except OSError as exc:
        raise _UsageError(f"cannot read the {what} file {path!r}: {exc.strerror}") from None


def _keys(given: list[str] | None) -> list[str]:
    keys = given or os.environ.get(SECRET_ENV, "").split()
    if not keys:
        raise _UsageError(f"no key: pass --secret or set {SECRET_ENV}")
    return keys


def _verify(args: argparse.Namespace) -> int:
    try:
        webhook = Webhook(_keys(args.secret), tolerance=args.tolerance)
    except (ValueError, TypeError) as exc:
        # Webhook's messages name a key by its position and never repeat it.
        raise _UsageError(str(exc)) from None
    body = _read(args.body, "body")
    try:
        text = _read(args.headers, "headers").decode("utf-8")
    except UnicodeDecodeError:
        raise _UsageError("headers file: not UTF-8 text") from None
    headers = _parse_headers(text)
    try:
        webhook.verify(body, headers, now=args.now)
        message = decode_message(body)
    except VerificationError as exc:
        _say(f"invalid: {exc.reason}")
        return 1
    except ContractError as exc:
        _say(f"invalid: {exc}")
        return 1
    _say(msgspec.json.format(encode_message(message, validate=False), indent=2).decode("utf-8"))
    return 0


def _verify_draws(args: argparse.Namespace) -> int:
    source: str = args.source
    try:
        if source.startswith(("http://", "https://")):
            records = fetch_draws(source)
        else:
            records = parse_draws(_read(source, "draws"))
    except (SpotcheckError, ValueError) as exc:
        raise _UsageError(f"draws: {exc}") from None
    if not records:
        _say("no draws published")
    checks = verify_draws(records)
    for position, check in enumerate(checks, start=1):
        _say(_draw_line(check, position))
    return 1 if any(check.failed for check in checks) else 0


def _draw_line(check: DrawCheck, position: int) -> str:
    # A published id is printed as is only when it cannot disturb the terminal or the one-line-per-draw output.
    label = check.draw_id or f"draw #{position}"
    if not label.isprintable():
        label = json.dumps(label)
    if check.status == "ok":
        return f"ok: {label}"
    if check.status == "not_revealed":
        return f"not revealed: {label} (committed, not revealed yet)"
    return f"FAILED: {label}: {check.reason}"


def _say(text: str) -> None:
    sys.stdout.write(text + "\n")


def _fail(parser: argparse.ArgumentParser, message: str) -> NoReturn:
    parser.exit(2, f"{parser.prog}: error: {message}\n")


def main(argv: Sequence[str] | None = None) -> int:
    """Run ``spotcheck-sdk``; return the exit status (0 valid, 1 invalid message or failed draw, 2 usage error)."""
    parser = _parser()
    args = parser.parse_args(argv)
    if args.command == "log":
        return run_log_command(args)
    try:
        return _verify_draws(args) if args.command == "draws" else _verify(args)
    except _UsageError as exc:
        _fail(parser, str(exc))
