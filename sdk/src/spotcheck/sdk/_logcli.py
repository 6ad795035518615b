"""``spotcheck-sdk log``: keep a gateway's transparency log honest from the platform's side.

``spotcheck-sdk log add --state FILE --direction in|out --webhook-id ID --timestamp TS --body-file FILE`` registers
a message as pending in the state file. The direction is the gateway's, as in the leaf: ``out`` for a notice the
gateway sent this platform, ``in`` for a reply this platform sent the gateway. ``spotcheck-sdk log watch URL --state
FILE`` then checks the gateway's log (see ``spotcheck.sdk._logwatch``) and saves the new state; run it from cron.

Exit status of ``watch``: 0 the log is consistent with what was kept and holds every message that is due; 1 the
log misbehaved (``fork:``, ``rollback:``, ``invalid:`` or ``missing:`` lines say how, naming each missing
webhook-id); 2 a usage error, or the log could not be checked (no answer, an unexpected status), so nothing was
learnt and nothing saved.
"""

from __future__ import annotations

import base64
import sys
import textwrap
import time
from pathlib import Path
from typing import TYPE_CHECKING, Final

import msgspec

from spotcheck.sdk._errors import APIError, LogInconsistencyError, LogVerificationError
from spotcheck.sdk._logstate import PendingMessage, WatchState, update_watch_state
from spotcheck.sdk._note import parse_verifier_key

if TYPE_CHECKING:
    import argparse

    from spotcheck.sdk._logwatch import WatchReport

__all__ = ["add_log_commands", "run_log_command"]

_PROG: Final = "spotcheck-sdk"


def add_log_commands(commands: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """Add ``log add`` and ``log watch`` to the ``spotcheck-sdk`` command's subcommands."""
    log = commands.add_parser(
        "log",
        help="check the gateway's transparency log",
        description="Register messages and check that the gateway's transparency log holds them, unforked.",
    )
    actions = log.add_subparsers(dest="log_command", required=True, metavar="ACTION")
    add = actions.add_parser(
        "add",
        help="register a message the log must come to hold",
        description="Register a message sent or received, to be proven in the log by the next 'log watch'.",
    )
    add.add_argument("--state", required=True, metavar="FILE", help="the watch state file (created if missing)")
    add.add_argument(
        "--direction", required=True, choices=("in", "out"), help="in: a reply we sent; out: a notice we received"
    )
    add.add_argument("--webhook-id", required=True, metavar="ID", help="the webhook-id header, exactly")
    add.add_argument("--timestamp", required=True, metavar="TS", help="the webhook-timestamp header, exactly")
    add.add_argument("--body-file", required=True, metavar="FILE", help="the exact body bytes ('-': stdin)")
    watch = actions.add_parser(
        "watch",
        help="verify the log's checkpoint and prove the pending messages",
        description=(
            "Verify the gateway's signed checkpoint with the pinned key, prove it consistent with the last one kept "
            "and prove each pending message included. Exit 0 when all holds, 1 when the log misbehaved, 2 when it "
            "could not be checked."
        ),
    )
    watch.add_argument("url", metavar="URL", help="the gateway's base URL, e.g. https://gateway.example")
    watch.add_argument("--state", required=True, metavar="FILE", help="the watch state file (created if missing)")
    watch.add_argument(
        "--key",
        metavar="KEY",
        help="the verifier key to pin, from the regulator (default: the gateway's, on first use)",
    )
    watch.add_argument(
        "--grace",
        type=float,
        default=0.0,
        metavar="SECONDS",
        help="a message registered less than this long ago may be absent from the log yet (default: 0)",
    )
    watch.add_argument("--timeout", type=float, default=10.0, metavar="SECONDS", help="per request (default: 10)")


def run_log_command(args: argparse.Namespace) -> int:
    """Run ``log add`` or ``log watch``; return the exit status (see the module documentation)."""
    try:
        return _watch(args) if args.log_command == "watch" else _add(args)
    except _UsageError as exc:
        sys.stderr.write(f"{_PROG}: error: {exc}\n")
        return 2


class _UsageError(Exception):
    """Bad input to the command itself: exit status 2."""


def _add(args: argparse.Namespace) -> int:
    body = _read_body(args.body_file)
    added: list[PendingMessage] = []

    def register(state: WatchState) -> WatchState:
        state, message = state.with_message(args.direction, args.webhook_id, args.timestamp, body)
        added.append(message)
        return state

    try:
        update_watch_state(args.state, register)
    except (ValueError, OSError) as exc:
        raise _UsageError(str(exc)) from None
    _say(f"pending: {_describe(added[0])}, leaf {added[0].leaf_hash}")
    return 0


def _watch(args: argparse.Namespace) -> int:
    if not args.url.startswith(("https://", "http://")):
        raise _UsageError("URL must start with https:// or http://")
    state = _load(args.state)
    if args.key is not None:
        try:
            parse_verifier_key(args.key)
        except LogVerificationError as exc:
            raise _UsageError(f"--key: {exc.reason}") from None
        if state.verifier_key not in (None, args.key):
            raise _UsageError(f"--key differs from the key pinned in {args.state}")
        state = msgspec.structs.replace(state, verifier_key=args.key)
    # httpx is imported here, not by `spotcheck-sdk verify` or `log add`.
    from spotcheck.sdk._logwatch import LogWatcher  # noqa: PLC0415

    with LogWatcher(args.url, timeout=args.timeout) as watcher:
        try:
            report = watcher.check(state, grace=args.grace)
        except LogInconsistencyError as exc:
            _say(exc.reason)
            # The kept note stays in the state file; together with this one it shows what the log signed.
            _say("the contradicting checkpoint, as signed and served:")
            sys.stdout.write(textwrap.indent(exc.served_note, "    "))
            return 1
        except LogVerificationError as exc:
            _say(f"invalid: {exc.reason}")
            return 1
        except APIError as exc:
            raise _UsageError(f"could not check the log: {exc}") from None
    try:
        update_watch_state(args.state, report.apply)
    except (ValueError, OSError) as exc:
        raise _UsageError(f"the log verified, but the state was not saved: {exc}") from None
    _report(report)
    return 1 if report.missing else 0


def _report(report: WatchReport) -> None:
    checkpoint = report.checkpoint
    if report.key_pinned:
        _say(f"pinned: {report.verifier_key} (first use: compare it with the key the regulator publishes)")
    root = base64.b64encode(checkpoint.root_hash).decode("ascii")
    head = f"{checkpoint.origin} at {checkpoint.size} leaves, root {root}"
    if report.kept_size is None:
        _say(f"ok: {head} (first checkpoint kept)")
    else:
        _say(f"ok: {head}, consistent with the {report.kept_size} leaves kept")
    now = time.time()
    for message in report.proven:
        _say(f"included: {_describe(message)}")
    for message in report.waiting:
        _say(f"waiting: {_describe(message)}, registered {int(now - message.added_at)} s ago")
    for missing in report.missing:
        _say(f"missing: {_describe(missing.message)}: {missing.reason}")


def _describe(message: PendingMessage) -> str:
    return f"webhook-id {message.webhook_id} ({message.direction}, timestamp {message.timestamp})"


def _load(path: str) -> WatchState:
    try:
        return WatchState.load(path)
    except (ValueError, OSError) as exc:
        raise _UsageError(str(exc)) from None


def _read_body(path: str) -> bytes:
    if path == "-":
        return sys.stdin.buffer.read()
    try:
        return Path(path).read_bytes()
    except OSError as exc:
        raise _UsageError(f"cannot read the body file {path!r}: {exc.strerror}") from None


def _say(text: str) -> None:
    sys.stdout.write(text + "\n")
