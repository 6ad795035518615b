"""The demo is the end-to-end test: gateway, worker and an SDK-built platform over real HTTP."""

from __future__ import annotations

import re
import socket
from pathlib import Path

from spotcheck.gateway.console.accounts import AccountService
from spotcheck.gateway.demo import run_demo
from spotcheck.gateway.runtime import Runtime
from spotcheck.gateway.settings import Settings


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


async def test_demo_runs_a_failing_case_to_delisting_and_takedown(tmp_path: Path) -> None:
    lines: list[str] = []
    code = await run_demo(tmp_path / "demo", port=_free_port(), keep_running=False, echo=lines.append)
    output = "\n".join(lines)
    assert code == 0, output
    assert "every notice delivered and every reply recorded" in output
    for message_type in (
        "sampling.notice",
        "records.request",
        "result.notice",
        "results.published",
        "stop_sale.order",
        "delisting.order",
        "merchant.identity_request",
        "takedown.order",
    ):
        assert message_type in output, message_type
    # The delisting order reached the platform's matcher: three spellings of the listed model, not the other one.
    assert "matcher found ['L-1001', 'L-2002', 'L-3003']" in output
    assert "via announcement" in output  # the manufacturer without contact was notified by public announcement
    assert "is closed" in output
    # The demo starts from an approved plan and a random draw revealed with a second officer's beacon (一公开).
    assert "approved by a supervisor" in output
    assert "revealed with a second officer's beacon" in output
    # It ends with the console's address and a login that works on the demo's database (its password shown once).
    found = re.search(r"The regulator console \(监管工作台\): (http://127\.0\.0\.1:\d+/console/cases/\S+)", output)
    assert found, output
    login = re.search(r"log in as (demo) / (\S+)", output)
    assert login, output
    runtime = Runtime(Settings().with_changes({"store.data_dir": tmp_path / "demo"}))
    try:
        async with runtime.sessions() as session:
            outcome = await AccountService(session, runtime.settings.console).verify_login(*login.groups())
    finally:
        await runtime.stop()
    assert outcome.ok
    assert outcome.officer is not None
    assert outcome.officer.role == "admin"
