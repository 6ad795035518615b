"""bench/bench_console.py runs end to end at a tiny size on SQLite and writes its result file (no figure asserted)."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]

pytestmark = [pytest.mark.slow, pytest.mark.bench_smoke]


def test_the_console_benchmark_runs_and_reports_its_ratios(tmp_path: Path) -> None:
    env = {key: value for key, value in os.environ.items() if not key.startswith("SPOTCHECK_")}
    env["SPOTCHECK_BENCH_RESULTS"] = str(tmp_path)
    completed = subprocess.run(  # noqa: S603 - our own script with fixed switches
        [sys.executable, str(REPO / "bench" / "bench_console.py"), "--smoke", "--db", "sqlite"],
        cwd=REPO,
        env=env,
        capture_output=True,
        text=True,
        timeout=280,
        check=False,
    )

    detail = f"--- stdout\n{completed.stdout[-3000:]}\n--- stderr\n{completed.stderr[-3000:]}"
    assert completed.returncode == 0, detail
    lines = [line for line in completed.stdout.splitlines() if line.strip()]
    assert re.fullmatch(r"console ratio: [0-9]+\.[0-9]{2} \(goal <= 3\)", lines[-1]), detail
    assert lines[0].startswith("200 cases (400 answer clocks), 2,000 notices on SQLite; 5 paired rounds"), detail
    result = json.loads((tmp_path / "console.json").read_text())
    assert result["name"] == "console"
    assert result["size"] == "smoke"
    dashboard = result["rows"][-1]
    assert dashboard["goal"] == "<= 3"
    assert dashboard["baseline"] > 0
    assert dashboard["ours"] > 0
    assert len(result["details"]["dashboard_ms"]) == 5
    if result["details"]["detail_page_available"]:
        # The case detail page against the JSON API's answer for the same case, printed before the last line.
        page_row = result["rows"][0]
        assert page_row["goal"] == "<= 1.5"
        assert any(re.fullmatch(r"console-detail ratio: [0-9]+\.[0-9]{2} \(goal <= 1.5\)", line) for line in lines)
    else:
        assert "case detail page not available" in " ".join(result["notes"])
