"""Import cost of ``spotcheck.sdk`` against ``import httpx``, each in fresh interpreters, in the same run.

Run: ``python bench/bench_sdk_import.py [--quick] [--runs N]``.

Each run starts a new interpreter with ``-X importtime`` and imports one module; the figure is the sum of the
cumulative times of the imports made by that statement (interpreter start-up excluded), as the interpreter
itself reports them. Runs alternate between the two modules so that machine noise hits both alike; the
median of each counts. The wall-clock time of the whole interpreter run is printed too, for reference.
Finally the modules ``spotcheck.sdk`` loads that ``httpx`` does not are listed by cost, which is where to
look when the ratio misses. The goal (≤ 1.5× ``httpx``) is printed, never asserted.
"""

from __future__ import annotations

import argparse
import statistics
import subprocess
import sys
import time
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from collections.abc import Callable

GOAL = 1.5
MARK = "spotcheck-bench-import-mark"
SDK = "spotcheck.sdk"
BASELINE = "httpx"
HTTPX_CLI = "httpx._main"


class ImportRun:
    """One fresh interpreter's import of one module, as ``-X importtime`` reports it."""

    def __init__(self, module: str) -> None:
        code = f"import sys; sys.stderr.write({MARK!r} + '\\n'); import {module}"
        started = time.perf_counter()
        completed = subprocess.run(  # noqa: S603 - our own interpreter, a fixed statement
            [sys.executable, "-X", "importtime", "-c", code], capture_output=True, text=True, check=True
        )
        self.wall = time.perf_counter() - started
        lines = completed.stderr.splitlines()
        total_us = 0
        self.own: dict[str, float] = {}
        self.cumulative: dict[str, float] = {}
        for line in lines[lines.index(MARK) + 1 :]:
            if not line.startswith("import time:"):
                continue
            own, cumulative, raw_name = line.removeprefix("import time:").split("|", 2)
            if not own.strip().isdigit():
                continue  # the header line
            name = raw_name[1:]  # one space follows the bar; further spaces mark nesting
            self.own[name.strip()] = int(own) / 1e6
            self.cumulative[name.strip()] = int(cumulative) / 1e6
            if not name.startswith(" "):  # imported by the statement itself, not by another module
                total_us += int(cumulative)
        self.seconds = total_us / 1e6
        # httpx imports its command line (rich, click, pygments) whenever they are installed.
        self.httpx_cli = self.cumulative.get(HTTPX_CLI, 0.0)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="5 runs per module")
    parser.add_argument("--runs", type=int, default=21, help="fresh interpreters per module")
    parser.add_argument("--top", type=int, default=12, help="how many extra modules to list")
    args = parser.parse_args(argv)
    runs = 5 if args.quick else args.runs

    # One untimed run each, so both start with warm bytecode caches.
    ImportRun(SDK)
    ImportRun(BASELINE)
    results: dict[str, list[ImportRun]] = {SDK: [], BASELINE: []}
    for _ in range(runs):
        for module in (BASELINE, SDK):
            results[module].append(ImportRun(module))

    def median(module: str, figure: Callable[[ImportRun], float]) -> float:
        return statistics.median(figure(run) for run in results[module])

    sdk_import, httpx_import = median(SDK, lambda r: r.seconds), median(BASELINE, lambda r: r.seconds)
    print(f"{runs} fresh interpreters per module, medians (-X importtime, start-up excluded; wall for reference)")
    for module, seconds in ((BASELINE, httpx_import), (SDK, sdk_import)):
        wall = median(module, lambda r: r.wall)
        print(f"  import {module:<14} {seconds * 1e3:8.1f} ms   (wall {wall * 1e3:7.1f} ms)")
    baseline_modules = {name for run in results[BASELINE] for name in run.own}
    extra: dict[str, list[float]] = {}
    for run in results[SDK]:
        for name, own in run.own.items():
            if name not in baseline_modules:
                extra.setdefault(name, []).append(own)
    costs = sorted(((statistics.median(v), k) for k, v in extra.items()), reverse=True)[: args.top]
    if costs:
        print(f"  what {SDK} loads beyond {BASELINE} (self time, median):")
        for own, name in costs:
            print(f"    {own * 1e3:7.2f} ms  {name}")
    cli = median(BASELINE, lambda r: r.httpx_cli)
    if cli:
        # Both sides pay for httpx's CLI here; where it is not installed the baseline is much cheaper.
        without = (sdk_import - median(SDK, lambda r: r.httpx_cli)) / (httpx_import - cli)
        print(f"  note: this httpx also imports its CLI ({HTTPX_CLI}: {cli * 1e3:.1f} ms, rich/click installed);")
        print(f"        without it on both sides the ratio would be {without:.2f}")
    print(f"sdk import ratio: {sdk_import / httpx_import:.2f} (goal <= {GOAL})")
    return 0


if __name__ == "__main__":
    sys.exit(main())
