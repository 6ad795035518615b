"""bench/bench_draws.py runs at a tiny size and bench/run.py reads its output (no figure is asserted)."""

from __future__ import annotations

import importlib.util
import subprocess
import sys
from pathlib import Path
from types import ModuleType

REPO = Path(__file__).resolve().parents[2]


def _runner() -> ModuleType:
    spec = importlib.util.spec_from_file_location("bench_run_for_draws", REPO / "bench" / "run.py")
    assert spec is not None
    assert spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # dataclasses look their module up while the class is made
    try:
        spec.loader.exec_module(module)
    finally:
        sys.modules.pop(spec.name, None)
    return module


def test_the_draw_benchmark_runs_and_its_ratio_line_is_read() -> None:
    completed = subprocess.run(  # noqa: S603 - our own script with fixed switches
        [
            sys.executable,
            str(REPO / "bench" / "bench_draws.py"),
            "--candidates",
            "20000",
            "--count",
            "100",
            "--rounds",
            "2",
        ],
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )

    assert completed.returncode == 0, completed.stderr
    outcome = _runner().parse_draws(completed.stdout)
    assert outcome.error is None, completed.stdout
    (figure,) = outcome.figures
    assert figure.goal == "<= 3"
    assert figure.baseline is not None
    assert figure.ours is not None
    assert figure.ratio > 0
    assert outcome.notes == ["20,000 candidates, draw 100; 2 paired rounds, median round (CPU time)"]
