"""Idempotency stores for the receiver: at most one successful run of a handler per ``webhook-id``.

The gateway delivers every notice at least once and keeps its ``webhook-id`` across retries, so a receiver sees
the same message again whenever an answer was lost or late. A :class:`DedupeStore` remembers which ids were
processed, and also which are being processed right now, so two concurrent deliveries of one id never both run
the handler. Two stores come with the SDK: :class:`MemoryDedupeStore` (one process) and
:class:`SqliteDedupeStore` (a file shared by every process on one host).
"""

from __future__ import annotations

import os
import sqlite3
import threading
import time
from collections import OrderedDict
from typing import TYPE_CHECKING, Final, Protocol, Self, runtime_checkable

if TYPE_CHECKING:
    from collections.abc import Callable
    from types import TracebackType

__all__ = ["DedupeStore", "MemoryDedupeStore", "SqliteDedupeStore"]

DEFAULT_TTL: Final = 7 * 24 * 3600.0
"""How long, in seconds, a processed id is remembered: longer than any gateway retry schedule."""

DEFAULT_LEASE: Final = 600.0
"""How long, in seconds, a claim blocks other deliveries of its id; after that a crashed run is retried."""

# A purge of expired rows runs on every this-many claims, so the file stays bounded without a cron job.
_PURGE_EVERY: Final = 1024
_BUSY_TIMEOUT_MS: Final = 5000


def _check_seconds(name: str, value: float) -> float:
    if isinstance(value, bool) or not isinstance(value, int | float) or not value > 0:
        raise ValueError(f"{name} must be a positive number of seconds")
    return float(value)


@runtime_checkable
class DedupeStore(Protocol):
    """Where a :class:`~spotcheck.sdk.Receiver` records which ``webhook-id`` values it has processed.

    An id is in one of three states: unknown, *claimed* (a delivery is running its handler) or *complete*
    (its handler succeeded). The receiver calls :meth:`claim` before the handler, then :meth:`complete` when the
    handler returned or :meth:`release` when it raised, so that the gateway's retry runs it again. When
    :meth:`claim` refuses, :meth:`is_complete` tells a duplicate (answered 200) from a delivery still running
    elsewhere (answered 409, so the gateway tries again later).

    Methods are synchronous and may block briefly (a file or network round trip): the asynchronous
    :meth:`Receiver.handle <spotcheck.sdk.Receiver.handle>` calls a store other than :class:`MemoryDedupeStore`
    from a worker thread, so a store must be safe to call from several threads at once.

    A store shared by several hosts can sit on Redis (``redis-py``); ``SET NX`` makes the claim atomic and the
    key's expiry gives both the lease of a claim and the lifetime of a completion::

        class RedisDedupeStore:
            def __init__(self, client: redis.Redis, *, ttl: int = 7 * 24 * 3600, lease: int = 600) -> None:
                self._redis, self._ttl, self._lease = client, ttl, lease

            def _key(self, message_id: str) -> str:
                return f"spotcheck:dedupe:{message_id}"

            def claim(self, message_id: str) -> bool:
                return bool(self._redis.set(self._key(message_id), "claimed", nx=True, ex=self._lease))

            def complete(self, message_id: str) -> None:
                self._redis.set(self._key(message_id), "done", ex=self._ttl)

            def release(self, message_id: str) -> None:
                # Delete a claim only, never a completion, in one atomic step.
                self._redis.eval(
                    "if redis.call('get', KEYS[1]) == 'claimed' then return redis.call('del', KEYS[1]) end return 0",
                    1,
                    self._key(message_id),
                )

            def is_complete(self, message_id: str) -> bool:
                return self._redis.get(self._key(message_id)) == b"done"
    """

    def claim(self, message_id: str) -> bool:
        """Take ``message_id`` for processing: ``True`` when the caller may run the handler now.

        ``False`` when the id is complete, or claimed by another delivery whose lease has not run out.
        Exactly one of several concurrent callers for one id gets ``True``.
        """
        ...

    def complete(self, message_id: str) -> None:
        """Record that ``message_id`` was processed: later claims of it fail until the store forgets it."""
        ...

    def release(self, message_id: str) -> None:
        """Drop the claim on ``message_id`` so a retry can run it; a completed id stays complete."""
        ...

    def is_complete(self, message_id: str) -> bool:
        """Whether ``message_id`` was processed (and not yet forgotten)."""
        ...


class MemoryDedupeStore:
    """A :class:`DedupeStore` in this process's memory: least recently used ids go first, entries expire.

    Dedupes within one process only; use :class:`SqliteDedupeStore` (or a shared store) when several worker
    processes receive for one endpoint. Thread-safe.

    Args:
        max_entries: how many ids to hold at most; beyond it the least recently used is forgotten.
        ttl: seconds a completed id is remembered.
        lease: seconds a claim holds before another delivery of the id may take it over.
        clock: a monotonic clock in seconds, replaceable in tests.

    Raises:
        ValueError: a bound is not positive.
    """

    __slots__ = ("_clock", "_entries", "_lease", "_lock", "_max_entries", "_ttl")

    def __init__(
        self,
        max_entries: int = 100_000,
        *,
        ttl: float = DEFAULT_TTL,
        lease: float = DEFAULT_LEASE,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        if isinstance(max_entries, bool) or not isinstance(max_entries, int) or max_entries < 1:
            raise ValueError("max_entries must be a positive integer")
        self._max_entries = max_entries
        self._ttl = _check_seconds("ttl", ttl)
        self._lease = _check_seconds("lease", lease)
        self._clock = clock
        self._lock = threading.Lock()
        # message id → (complete?, when it was claimed or completed); order is least recently used first
        self._entries: OrderedDict[str, tuple[bool, float]] = OrderedDict()

    def __len__(self) -> int:
        """Number of ids held, expired ones included until they are touched or pushed out."""
        return len(self._entries)

    def __repr__(self) -> str:
        return f"<MemoryDedupeStore {len(self._entries)}/{self._max_entries} ids ttl={self._ttl:g}s>"

    def _live(self, message_id: str, now: float) -> tuple[bool, float] | None:
        entry = self._entries.get(message_id)
        if entry is None:
            return None
        done, since = entry
        if now - since >= (self._ttl if done else self._lease):
            del self._entries[message_id]
            return None
        return entry

    def _put(self, message_id: str, done: bool, now: float) -> None:
        self._entries[message_id] = (done, now)
        self._entries.move_to_end(message_id)
        while len(self._entries) > self._max_entries:
            self._entries.popitem(last=False)

    def claim(self, message_id: str) -> bool:
        """See :meth:`DedupeStore.claim`."""
        with self._lock:
            now = self._clock()
            if self._live(message_id, now) is not None:
                self._entries.move_to_end(message_id)
                return False
            self._put(message_id, False, now)
            return True

    def complete(self, message_id: str) -> None:
        """See :meth:`DedupeStore.complete`."""
        with self._lock:
            self._put(message_id, True, self._clock())

    def release(self, message_id: str) -> None:
        """See :meth:`DedupeStore.release`."""
        with self._lock:
            entry = self._entries.get(message_id)
            if entry is not None and not entry[0]:
                del self._entries[message_id]

    def is_complete(self, message_id: str) -> bool:
        """See :meth:`DedupeStore.is_complete`."""
        with self._lock:
            entry = self._live(message_id, self._clock())
            return entry is not None and entry[0]


_SCHEMA: Final = """
CREATE TABLE IF NOT EXISTS spotcheck_dedupe (
    message_id TEXT PRIMARY KEY,
    done INTEGER NOT NULL,
    touched_at REAL NOT NULL
) WITHOUT ROWID
"""


class SqliteDedupeStore:
    """A :class:`DedupeStore` in an SQLite file, shared by every process and thread that opens the same path.

    The file runs in WAL mode. A claim is one ``INSERT OR IGNORE`` inside an immediate transaction (after
    dropping an expired row of the id), so of several processes racing for one id exactly one wins. Completed
    ids are kept ``ttl`` seconds, claims ``lease`` seconds; expired rows are purged as claims go by, or by
    :meth:`purge`. Survives restarts: a new instance on the same path sees every earlier completion.

    Args:
        path: the database file (created with its table when missing).
        ttl: seconds a completed id is remembered.
        lease: seconds a claim holds before another delivery of the id may take it over (a crashed run).
        clock: wall-clock seconds shared across processes, replaceable in tests.

    Raises:
        ValueError: ``ttl`` or ``lease`` is not positive.
        sqlite3.Error: the file cannot be opened or initialised.
    """

    __slots__ = ("_claims", "_clock", "_connection", "_lease", "_lock", "_path", "_ttl")

    def __init__(
        self,
        path: str | os.PathLike[str],
        *,
        ttl: float = DEFAULT_TTL,
        lease: float = DEFAULT_LEASE,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self._ttl = _check_seconds("ttl", ttl)
        self._lease = _check_seconds("lease", lease)
        self._clock = clock
        self._path = os.fspath(path)
        self._lock = threading.Lock()
        self._claims = 0
        # One connection per instance, guarded by the lock; transactions are explicit (isolation_level=None).
        self._connection = sqlite3.connect(
            self._path, timeout=_BUSY_TIMEOUT_MS / 1000, isolation_level=None, check_same_thread=False
        )
        try:
            self._connection.execute(f"PRAGMA busy_timeout = {_BUSY_TIMEOUT_MS}")
            self._connection.execute("PRAGMA journal_mode = WAL")
            self._connection.execute("PRAGMA synchronous = NORMAL")
            self._connection.execute(_SCHEMA)
        except sqlite3.Error:
            self._connection.close()
            raise

    def __repr__(self) -> str:
        return f"<SqliteDedupeStore {self._path!r} ttl={self._ttl:g}s lease={self._lease:g}s>"

    def __enter__(self) -> Self:
        return self

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, traceback: TracebackType | None
    ) -> None:
        self.close()

    def close(self) -> None:
        """Close the connection; the file and its contents stay."""
        with self._lock:
            self._connection.close()

    def claim(self, message_id: str) -> bool:
        """See :meth:`DedupeStore.claim`."""
        with self._lock:
            now = self._clock()
            self._claims += 1
            cursor = self._connection.cursor()
            cursor.execute("BEGIN IMMEDIATE")
            try:
                cursor.execute(
                    "DELETE FROM spotcheck_dedupe WHERE message_id = ? "
                    "AND touched_at <= CASE done WHEN 1 THEN ? ELSE ? END",
                    (message_id, now - self._ttl, now - self._lease),
                )
                cursor.execute(
                    "INSERT OR IGNORE INTO spotcheck_dedupe (message_id, done, touched_at) VALUES (?, 0, ?)",
                    (message_id, now),
                )
                claimed = cursor.rowcount == 1
                if self._claims % _PURGE_EVERY == 0:
                    self._purge(cursor, now)
                cursor.execute("COMMIT")
            except BaseException:
                cursor.execute("ROLLBACK")
                raise
            return claimed

    def complete(self, message_id: str) -> None:
        """See :meth:`DedupeStore.complete`."""
        with self._lock:
            self._connection.execute(
                "INSERT INTO spotcheck_dedupe (message_id, done, touched_at) VALUES (?, 1, ?) "
                "ON CONFLICT (message_id) DO UPDATE SET done = 1, touched_at = excluded.touched_at",
                (message_id, self._clock()),
            )

    def release(self, message_id: str) -> None:
        """See :meth:`DedupeStore.release`."""
        with self._lock:
            self._connection.execute("DELETE FROM spotcheck_dedupe WHERE message_id = ? AND done = 0", (message_id,))

    def is_complete(self, message_id: str) -> bool:
        """See :meth:`DedupeStore.is_complete`."""
        with self._lock:
            row = self._connection.execute(
                "SELECT 1 FROM spotcheck_dedupe WHERE message_id = ? AND done = 1 AND touched_at > ?",
                (message_id, self._clock() - self._ttl),
            ).fetchone()
            return row is not None

    def purge(self) -> int:
        """Delete expired completions and claims now; return how many rows went."""
        with self._lock:
            return self._purge(self._connection.cursor(), self._clock())

    def _purge(self, cursor: sqlite3.Cursor, now: float) -> int:
        cursor.execute(
            "DELETE FROM spotcheck_dedupe WHERE touched_at <= CASE done WHEN 1 THEN ? ELSE ? END",
            (now - self._ttl, now - self._lease),
        )
        return cursor.rowcount
