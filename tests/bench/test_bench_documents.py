"""bench/bench_documents.py runs end to end at smoke size and writes its result file (no figure asserted)."""

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


def test_the_documents_benchmark_runs_and_reports_its_ratio(tmp_path: Path) -> None:
    env = {key: value for key, value in os.environ.items() if not key.startswith("SPOTCHECK_")}
    env["SPOTCHECK_BENCH_RESULTS"] = str(tmp_path)
    completed = subprocess.run(  # noqa: S603 - our own script with fixed switches
        [sys.executable, str(REPO / "bench" / "bench_documents.py"), "--smoke"],
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
    assert re.fullmatch(r"documents ratio: [0-9]+\.[0-9]{2} \(goal >= 0\.7\)", lines[-1]), detail
    assert lines[0].startswith("2 documents x 2 rounds on one core: WeasyPrint unsigned"), detail
    result = json.loads((tmp_path / "documents.json").read_text())
    assert (result["name"], result["size"], result["goal"]) == ("documents", "smoke", ">= 0.7")
    row = result["rows"][0]
    assert row["baseline"] > 0 and row["ours"] > 0
    assert len(result["details"]["ratios"]) == 2
