"""The gateway benchmark scripts run end to end at a tiny size, and bench/run.py turns outputs into the report.

No figure is asserted: the machines are shared and noisy, and the ratios are for people to read. What must hold
is that each script exits 0, writes its result file and ends with its ``<name> ratio: X.XX (goal …)`` line.
The four scripts are started together when the first of them is needed, so the file takes about as long as
the slowest one.
"""

from __future__ import annotations

import contextlib
import importlib.util
import json
import os
import re
import subprocess
import sys
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from types import ModuleType
from typing import Any

import pytest

REPO = Path(__file__).resolve().parents[2]
BENCH = REPO / "bench"
# Read at import, as tests/conftest.py does, before the autouse fixture clears SPOTCHECK_* for each test.
PG_ADMIN = "postgresql://{user}@{host}:{port}/{db}".format(
    user=os.environ.get("SPOTCHECK_TEST_PG_USER", "postgres"),
    host=os.environ.get("SPOTCHECK_TEST_PG_HOST", "127.0.0.1"),
    port=os.environ.get("SPOTCHECK_TEST_PG_PORT", "5432"),
    db=os.environ.get("SPOTCHECK_TEST_PG_DB", "test"),
)
SCRIPTS: dict[str, list[str]] = {
    "fanout": ["bench_fanout.py", "--smoke"],
    "latency": ["bench_latency.py", "--smoke"],
    # The intake's PostgreSQL leg is the same code as its SQLite leg; bench_workers covers PostgreSQL here.
    "intake": ["bench_intake.py", "--smoke", "--db", "sqlite", "--no-install"],
    "workers": ["bench_workers.py", "--smoke", "--pg-admin", PG_ADMIN],
}
TIMEOUT_S = 280

pytestmark = [pytest.mark.slow, pytest.mark.xdist_group("bench")]


@dataclass
class Finished:
    """A benchmark script's exit status, output and result file."""

    returncode: int
    stdout: str
    stderr: str
    result: dict[str, Any] | None


class Runs:
    """Benchmark scripts started together in the background; :meth:`wait` collects one."""

    def __init__(self, names: list[str], results: Path, pycache: Path) -> None:
        env = {k: v for k, v in os.environ.items() if not k.startswith("SPOTCHECK_")}
        env["SPOTCHECK_BENCH_RESULTS"] = str(results)
        if env.pop("PYTHONDONTWRITEBYTECODE", None):
            # Every server and worker is a fresh interpreter: share compiled bytecode, outside the tree.
            env["PYTHONPYCACHEPREFIX"] = str(pycache)
        self.results = results
        self.processes = {
            name: subprocess.Popen(  # noqa: S603 - our own scripts, fixed arguments
                [sys.executable, str(BENCH / SCRIPTS[name][0]), *SCRIPTS[name][1:]],
                cwd=REPO,
                env=env,
                stdout=subprocess.PIPE,
                stderr=subprocess.PIPE,
                text=True,
            )
            for name in names
        }

    def wait(self, name: str) -> Finished:
        process = self.processes[name]
        try:
            stdout, stderr = process.communicate(timeout=TIMEOUT_S)
        except subprocess.TimeoutExpired:
            process.kill()
            stdout, stderr = process.communicate()
            pytest.fail(f"{name} did not finish in {TIMEOUT_S} s:\n{stdout[-2000:]}\n{stderr[-2000:]}")
        path = self.results / f"{name}.json"
        result = json.loads(path.read_text()) if path.exists() else None
        return Finished(process.returncode, stdout, stderr, result)

    def close(self) -> None:
        for process in self.processes.values():
            if process.poll() is None:
                process.kill()
            # communicate() also closes the pipes; a finished process's pipes would otherwise leak.
            process.communicate()


@pytest.fixture(scope="module")
def runs(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Runs]:
    """Start the scripts of every selected smoke test in this module at once."""
    selected = {item.name for item in request.session.items if getattr(item, "module", None) is request.module}
    names = [name for name in SCRIPTS if f"test_{name}_smoke" in selected]
    started = Runs(names, tmp_path_factory.mktemp("bench-results"), tmp_path_factory.mktemp("pycache"))
    yield started
    started.close()


def assert_finished(name: str, run: Finished) -> None:
    lines = [line for line in run.stdout.splitlines() if line.strip()]
    detail = f"exit {run.returncode}\n--- stdout\n{run.stdout[-3000:]}\n--- stderr\n{run.stderr[-3000:]}"
    assert run.returncode == 0, detail
    assert lines, detail
    assert re.fullmatch(rf"{name} ratio: -?[0-9]+\.[0-9]{{2}} \(goal (>=|<=) [0-9.]+\)", lines[-1]), detail
    assert run.result is not None, detail
    assert run.result["name"] == name
    assert run.result["size"] == "smoke"
    assert run.result["rows"], run.result
    for row in run.result["rows"]:
        assert row["baseline"] > 0, row
        assert row["ours"] > 0 or row["unit"] == "ms", row


@pytest.mark.bench_smoke
def test_fanout_smoke(runs: Runs) -> None:
    run = runs.wait("fanout")
    assert_finished("fanout", run)
    assert [row["what"] for row in run.result["rows"]] == [  # type: ignore[index]
        "SQLite worker, aiohttp transport (default)",
        "SQLite worker, httpx transport",
        "HTTP call alone, aiohttp transport",
        "HTTP call alone, httpx transport",
    ]
    assert "faster transport (HTTP call alone):" in run.stdout


@pytest.mark.bench_smoke
def test_latency_smoke(runs: Runs) -> None:
    run = runs.wait("latency")
    assert_finished("latency", run)
    assert [row["what"] for row in run.result["rows"]] == ["p50 latency", "p99 latency"]  # type: ignore[index]
    assert len(run.result["details"]["ours"]) == 5  # type: ignore[index]


@pytest.mark.bench_smoke
def test_intake_smoke(runs: Runs) -> None:
    run = runs.wait("intake")
    assert_finished("intake", run)
    assert [row["what"] for row in run.result["rows"]] == ["throughput, sqlite", "p99 latency, sqlite"]  # type: ignore[index]
    # Every request of the run was a distinct, valid reply, and the gateway stored them.
    assert run.result["details"]["sqlite"]["stored"] > 0  # type: ignore[index]
    assert run.result["details"]["sqlite"]["ours"]["errors"] == 0  # type: ignore[index]


@pytest.mark.bench_smoke
@pytest.mark.postgres
async def test_workers_smoke(
    runs: Runs, fresh_postgres: Callable[[], contextlib.AbstractAsyncContextManager[str]]
) -> None:
    # Reaching the server the project's way: a failure under CI=true, a skip on a laptop without PostgreSQL.
    async with fresh_postgres():
        pass
    run = runs.wait("workers")
    assert_finished("workers", run)
    rounds = run.result["details"]["rounds"]  # type: ignore[index]
    assert [r["workers"] for r in rounds] == [1, 2]
    assert all(r["claimed_twice"] == 0 for r in rounds)
    assert run.result["details"]["duplicates"] == 0  # type: ignore[index]


# ---- bench/run.py --------------------------------------------------------------------------------------------------


def _load_runner() -> ModuleType:
    spec = importlib.util.spec_from_file_location("spotcheck_bench_run", BENCH / "run.py")
    assert spec is not None
    assert spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # dataclasses resolve their module by name
    try:
        spec.loader.exec_module(module)
    except BaseException:
        sys.modules.pop(spec.name, None)
        raise
    return module


@pytest.fixture
def runner() -> Iterator[ModuleType]:
    module = _load_runner()
    yield module
    sys.modules.pop(module.__name__, None)


MATCHER_OUTPUT = """\
100,000 listings (5,123 distinct written brand+model pairs), 50 brands, 2,000 catalogue models, 1,000 orders
build + match (CPU time, best of rounds):
  baseline (exact dict, pre-normalised keys):    2,000,000 listings/s (0.050 s)
  ListingMatcher (raw text):                     1,200,000 listings/s (0.083 s)
generated set: recall 100.0000% (9,000/9,000), precision 100.0000%
variant set: recall 100.00% (40/40), false matches 0/20
matcher ratio: 0.60 (goal >= 0.5)
"""
VERIFY_OUTPUT = """\
body 2,512 bytes, 14 headers; 2,000 ops x 3 rounds per side, best round
  standardwebhooks verify + json.loads:     40.00 us/op
  spotcheck Webhook.verify + decode_notice:    16.00 us/op (typed, validated)
sdk verify+decode ratio: 0.40 (goal <= 0.5)
"""
IMPORT_OUTPUT = """\
5 fresh interpreters per module, medians (-X importtime, start-up excluded; wall for reference)
  import httpx             100.0 ms   (wall   150.0 ms)
  import spotcheck.sdk     130.0 ms   (wall   190.0 ms)
sdk import ratio: 1.30 (goal <= 1.5)
"""


def test_runner_reads_every_output_format(runner: ModuleType, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    matcher = runner.parse_matcher(MATCHER_OUTPUT)
    assert [(f.baseline, f.ours, f.ratio, f.goal) for f in matcher.figures] == [(2_000_000, 1_200_000, 0.6, ">= 0.5")]
    assert matcher.notes == [
        "generated set: recall 100.0000% (9,000/9,000), precision 100.0000%",
        "variant set: recall 100.00% (40/40), false matches 0/20",
    ]
    verify = runner.parse_sdk_verify(VERIFY_OUTPUT)
    assert [(f.baseline, f.ours, f.ratio, f.goal) for f in verify.figures] == [(40.0, 16.0, 0.4, "<= 0.5")]
    imported = runner.parse_sdk_import(IMPORT_OUTPUT)
    assert [(f.baseline, f.ours, f.ratio) for f in imported.figures] == [(100.0, 130.0, 1.3)]
    assert runner.parse_sdk_verify("crashed before printing anything").error == "no ratio line in the output"

    monkeypatch.setattr(runner, "RESULTS_DIR", tmp_path)
    rows = [
        {"what": "requests/s, sqlite", "unit": "req/s", "baseline": 1e3, "ours": 700.0, "ratio": 0.7, "goal": ">= 0.6"},
        {"what": "p99 latency, sqlite", "unit": "ms", "baseline": 10.0, "ours": 30.0, "ratio": 3.0, "goal": "<= 2"},
    ]
    (tmp_path / "intake.json").write_text(json.dumps({"ratio": 3.0, "rows": rows, "notes": ["load generator: wrk"]}))
    intake = runner.parse_result_file("intake", "", 0.0)
    assert [(f.what, f.ratio) for f in intake.figures] == [("requests/s, sqlite", 0.7), ("p99 latency, sqlite", 3.0)]
    assert intake.notes == ["load generator: wrk"]


def test_runner_matches_figures_by_name_and_compares_transports(runner: ModuleType) -> None:
    def outcome(*figures: tuple[str, float, float]) -> Any:
        return runner.Outcome([runner.Figure(w, "deliveries/s", b, o, o / b, ">= 0.5") for w, b, o in figures])

    aio, hx = "SQLite worker, aiohttp transport (default)", "SQLite worker, httpx transport"
    runs = [outcome((aio, 100, 60), (hx, 100, 40)), outcome((hx, 100, 45), (aio, 100, 70)), outcome((aio, 100, 65))]
    rows = runner.aggregate(runs)
    assert [(r.what, r.ours, r.ratios) for r in rows] == [(aio, 65, [0.6, 0.7, 0.65]), (hx, 42.5, [0.4, 0.45])]
    assert runner.transport_note(rows) == [
        "SQLite worker: aiohttp is the faster transport over these runs (median ratio and rate)"
    ]
    close = runner.aggregate([outcome((aio, 100, 60), (hx, 100, 58))])
    assert runner.transport_note(close)[0].startswith("SQLite worker: no clear winner between the transports")


def test_runner_writes_medians_and_names_missing_scripts(
    runner: ModuleType, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    scripts = tmp_path / "bench"
    scripts.mkdir()
    # A stand-in matcher whose ratio changes run by run: 0.4, 0.6, 0.8 (median 0.6).
    (scripts / "bench_matcher.py").write_text(
        "import pathlib\n"
        "counter = pathlib.Path(__file__).with_name('count')\n"
        "n = int(counter.read_text()) if counter.exists() else 0\n"
        "counter.write_text(str(n + 1))\n"
        "print(f'  baseline (exact dict, pre-normalised keys): 1,000 listings/s')\n"
        "print(f'  ListingMatcher (raw text): {400 + 200 * n} listings/s')\n"
        "print(f'matcher ratio: {0.4 + 0.2 * n:.2f} (goal >= 0.5)')\n"
    )
    monkeypatch.setattr(runner, "BENCH_DIR", scripts)
    monkeypatch.setattr(runner, "RESULTS_DIR", tmp_path / "results")
    output = tmp_path / "PERFORMANCE.md"
    status = runner.main(["--smoke", "--repeat", "3", "--only", "matcher", "sdk_import", "--output", str(output)])
    assert status == 0
    document = output.read_text()
    assert "| Listing matcher | listings/s, build + match | 0.60 | ≥ 0.5× | yes |" in document
    assert "| listings/s, build + match (listings/s) | 1,000 | 600.0 | 0.60 | ≥ 0.5× | yes | 0.40, 0.60, 0.80 |" in (
        document
    )
    assert "not run: bench/bench_sdk_import.py is missing" in document
    assert "- command: `python bench/run.py --smoke --repeat 3 --only matcher sdk_import --output" in document
    assert "Webhook ingest" not in document  # not chosen, so not reported as missing either
