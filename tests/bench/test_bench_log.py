"""bench/bench_log.py runs at a tiny size and bench/run.py reads both of its figures (no figure is asserted)."""

from __future__ import annotations

import importlib.util
import subprocess
import sys
from pathlib import Path
from types import ModuleType

REPO = Path(__file__).resolve().parents[2]


def _runner() -> ModuleType:
    spec = importlib.util.spec_from_file_location("bench_run_for_log", REPO / "bench" / "run.py")
    assert spec is not None
    assert spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # dataclasses look their module up while the class is made
    try:
        spec.loader.exec_module(module)
    finally:
        sys.modules.pop(spec.name, None)
    return module


def test_the_log_benchmark_runs_and_both_ratio_lines_are_read() -> None:
    completed = subprocess.run(  # noqa: S603 - our own script with fixed switches
        [sys.executable, str(REPO / "bench" / "bench_log.py"), "--smoke", "--leaves", "300", "--sequence", "200"],
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )

    assert completed.returncode == 0, completed.stderr
    outcome = _runner().parse_log(completed.stdout)
    assert outcome.error is None, completed.stdout
    proof, sequencer = outcome.figures
    assert (proof.goal, sequencer.goal) == ("<= 20", ">= 1")
    assert all(f.baseline and f.ours and f.ratio > 0 for f in outcome.figures)
    assert outcome.notes == ["log of 300 leaves; 50 proofs; sequencer over 200 leaves"]
