"""The receiver's dedupe stores: claim/complete/release semantics, expiry, LRU bound, persistence, races."""

from __future__ import annotations

import sqlite3
import subprocess
import sys
import textwrap
import threading
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from spotcheck.sdk import DedupeStore, MemoryDedupeStore, SqliteDedupeStore


class Clock:
    """A clock that moves only when told to."""

    def __init__(self, now: float = 1_700_000_000.0) -> None:
        self.now = now

    def __call__(self) -> float:
        return self.now


@pytest.fixture(params=["memory", "sqlite"])
def make_store(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Callable[..., Any]]:
    """Build stores of either kind with the given options; sqlite ones are closed afterwards."""
    opened: list[SqliteDedupeStore] = []

    def make(**options: Any) -> Any:
        if request.param == "memory":
            return MemoryDedupeStore(**options)
        store = SqliteDedupeStore(tmp_path / "dedupe.sqlite3", **options)
        opened.append(store)
        return store

    yield make
    for store in opened:
        store.close()


def test_both_stores_satisfy_the_protocol(make_store: Callable[..., Any]) -> None:
    assert isinstance(make_store(), DedupeStore)


def test_a_claim_is_exclusive_until_released(make_store: Callable[..., Any]) -> None:
    store = make_store()

    assert store.claim("msg_1") is True
    assert store.claim("msg_1") is False
    assert store.is_complete("msg_1") is False
    store.release("msg_1")
    assert store.claim("msg_1") is True


def test_a_completed_id_stays_complete_and_release_does_not_undo_it(make_store: Callable[..., Any]) -> None:
    store = make_store()

    assert store.claim("msg_1") is True
    store.complete("msg_1")
    store.release("msg_1")

    assert store.claim("msg_1") is False
    assert store.is_complete("msg_1") is True
    assert store.is_complete("msg_2") is False


def test_releasing_an_unknown_id_is_harmless(make_store: Callable[..., Any]) -> None:
    store = make_store()
    store.release("msg_never_seen")
    assert store.claim("msg_never_seen") is True


def test_a_claim_expires_after_its_lease_so_a_crashed_run_is_retried(make_store: Callable[..., Any]) -> None:
    clock = Clock()
    store = make_store(lease=60, clock=clock)

    assert store.claim("msg_1") is True
    clock.now += 59
    assert store.claim("msg_1") is False
    clock.now += 1
    assert store.claim("msg_1") is True


def test_a_completion_is_forgotten_after_its_ttl(make_store: Callable[..., Any]) -> None:
    clock = Clock()
    store = make_store(ttl=3600, clock=clock)
    store.claim("msg_1")
    store.complete("msg_1")

    clock.now += 3599
    assert store.is_complete("msg_1") is True
    assert store.claim("msg_1") is False
    clock.now += 1
    assert store.is_complete("msg_1") is False
    assert store.claim("msg_1") is True


@pytest.mark.parametrize("option", [{"ttl": 0}, {"lease": -1}, {"ttl": True}, {"lease": "60"}])
def test_bounds_must_be_positive_seconds(make_store: Callable[..., Any], option: dict[str, Any]) -> None:
    with pytest.raises(ValueError, match="positive number of seconds"):
        make_store(**option)


def test_concurrent_claims_from_many_threads_have_one_winner(make_store: Callable[..., Any]) -> None:
    store = make_store()
    barrier = threading.Barrier(16)
    wins: list[bool] = []
    lock = threading.Lock()

    def claim() -> None:
        barrier.wait()
        won = store.claim("msg_1")
        with lock:
            wins.append(won)

    threads = [threading.Thread(target=claim) for _ in range(16)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    assert sorted(wins) == [False] * 15 + [True]


# MemoryDedupeStore


def test_the_memory_store_forgets_the_least_recently_used_id_beyond_its_bound() -> None:
    store = MemoryDedupeStore(max_entries=2)
    store.claim("msg_a")
    store.complete("msg_a")
    store.claim("msg_b")
    store.complete("msg_b")
    store.claim("msg_a")  # touching msg_a makes msg_b the least recently used

    store.claim("msg_c")

    assert len(store) == 2
    assert store.is_complete("msg_a") is True
    assert store.is_complete("msg_b") is False
    assert "2/2" in repr(store)


@pytest.mark.parametrize("bound", [0, -5, True])
def test_the_memory_store_bound_must_be_a_positive_integer(bound: Any) -> None:
    with pytest.raises(ValueError, match="max_entries"):
        MemoryDedupeStore(max_entries=bound)


# SqliteDedupeStore


def test_the_sqlite_store_remembers_across_instances(tmp_path: Path) -> None:
    path = tmp_path / "dedupe.sqlite3"
    with SqliteDedupeStore(path) as first:
        assert first.claim("msg_done") is True
        first.complete("msg_done")
        assert first.claim("msg_running") is True

    with SqliteDedupeStore(path) as second:
        assert second.is_complete("msg_done") is True
        assert second.claim("msg_done") is False
        assert second.claim("msg_running") is False  # still leased: the first run may be alive elsewhere
        assert second.claim("msg_new") is True


def test_the_sqlite_store_uses_wal(tmp_path: Path) -> None:
    path = tmp_path / "dedupe.sqlite3"
    with SqliteDedupeStore(path):
        pass
    connection = sqlite3.connect(path)
    try:
        assert connection.execute("PRAGMA journal_mode").fetchone() == ("wal",)
    finally:
        connection.close()


def test_purge_deletes_expired_rows_only(tmp_path: Path) -> None:
    clock = Clock()
    with SqliteDedupeStore(tmp_path / "dedupe.sqlite3", ttl=100, lease=10, clock=clock) as store:
        store.claim("msg_done_old")
        store.complete("msg_done_old")
        store.claim("msg_claim_old")
        clock.now += 50
        store.claim("msg_done_new")
        store.complete("msg_done_new")
        clock.now += 50

        assert store.purge() == 2
        assert store.is_complete("msg_done_new") is True
        assert store.claim("msg_claim_old") is True


def test_claims_purge_expired_rows_as_they_go(tmp_path: Path) -> None:
    path = tmp_path / "dedupe.sqlite3"
    clock = Clock()
    with SqliteDedupeStore(path, ttl=10, clock=clock) as store:
        for number in range(1023):
            store.claim(f"msg_{number}")
            store.complete(f"msg_{number}")
        clock.now += 10
        store.claim("msg_last")  # the 1024th claim sweeps

    connection = sqlite3.connect(path)
    try:
        assert connection.execute("SELECT message_id FROM spotcheck_dedupe").fetchall() == [("msg_last",)]
    finally:
        connection.close()


def test_concurrent_processes_claim_each_id_exactly_once(tmp_path: Path) -> None:
    path = tmp_path / "dedupe.sqlite3"
    script = textwrap.dedent(
        """
        import sys
        from spotcheck.sdk import SqliteDedupeStore

        with SqliteDedupeStore(sys.argv[1]) as store:
            won = [f"msg_{n}" for n in range(100) if store.claim(f"msg_{n}")]
        print(" ".join(won))
        """
    )
    processes = [
        subprocess.Popen(  # noqa: S603 - this interpreter with fixed code
            [sys.executable, "-c", script, str(path)], stdout=subprocess.PIPE, text=True
        )
        for _ in range(3)
    ]
    outputs = [process.communicate(timeout=60)[0] for process in processes]

    assert [process.returncode for process in processes] == [0, 0, 0]
    won = [name for output in outputs for name in output.split()]
    assert sorted(won) == sorted(f"msg_{n}" for n in range(100))
