"""The demo is the end-to-end test: gateway, worker and an SDK-built platform over real HTTP."""

from __future__ import annotations

import socket
from pathlib import Path

from spotcheck.gateway.demo import run_demo


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
