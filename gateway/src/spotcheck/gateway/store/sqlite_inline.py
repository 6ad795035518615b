"""SQLite on the event loop: the ``aiosqlite`` interface SQLAlchemy drives, without aiosqlite's thread.

aiosqlite runs every call (cursor, execute, fetch, close) on a thread of its own and wakes the event loop for
each answer. A statement of the gateway takes a few microseconds inside SQLite, but four thread round trips cost
hundreds (measured here: ``SELECT 1`` through SQLAlchemy 430 µs of CPU with aiosqlite, 1.4 µs on sqlite3 itself),
so on the embedded default a transaction's cost was almost all hand-offs. These classes give SQLAlchemy's aiosqlite
dialect the same coroutine interface over a plain :mod:`sqlite3` connection, running each call at once.

One thing may not run inline: waiting for a lock another connection holds (another process's writer, or a second
engine in this one). SQLite's own busy handler would sleep inside the call, blocking the event loop and, with it,
the very transaction that holds the lock. So the connection's ``busy_timeout`` is 0 and a statement refused with
``SQLITE_BUSY`` is retried after an ``asyncio.sleep`` (backing off to :data:`_MAX_BACKOFF_S`) until the
configured timeout: the wait yields to the loop like aiosqlite's did.

Only the attributes SQLAlchemy's dialect uses are provided (``sqlalchemy.dialects.sqlite.aiosqlite`` and
``sqlalchemy.connectors.asyncio``); a test runs the gateway's stores against this module.
"""

from __future__ import annotations

import asyncio
import sqlite3
import time
from collections.abc import Callable, Iterable, Sequence
from typing import Any, Final, Self, TypeVar

__all__ = ["BUSY_TIMEOUT_S", "InlineConnection", "InlineCursor", "connect"]

BUSY_TIMEOUT_S: Final = 30.0
"""How long a statement waits for a lock another connection holds before failing with "database is locked"."""

_T = TypeVar("_T")
_FIRST_BACKOFF_S: Final = 0.001
_MAX_BACKOFF_S: Final = 0.05


def _is_busy(error: sqlite3.OperationalError) -> bool:
    code = getattr(error, "sqlite_errorcode", None)
    if code is not None:
        return code & 0xFF in (sqlite3.SQLITE_BUSY, sqlite3.SQLITE_LOCKED)
    return "locked" in str(error) or "busy" in str(error)


async def _patiently(call: Callable[[], _T], timeout_s: float) -> _T:
    """``call()``, retried after a sleep while SQLite answers that another connection holds the lock."""
    deadline = time.monotonic() + timeout_s
    backoff = _FIRST_BACKOFF_S
    while True:
        try:
            return call()
        except sqlite3.OperationalError as error:
            if not _is_busy(error) or time.monotonic() >= deadline:
                raise
        await asyncio.sleep(backoff)
        backoff = min(backoff * 2, _MAX_BACKOFF_S)


class InlineCursor:
    """An aiosqlite-style cursor over a :class:`sqlite3.Cursor`: each coroutine runs its call at once."""

    def __init__(self, cursor: sqlite3.Cursor, timeout_s: float) -> None:
        self._cursor = cursor
        self._timeout_s = timeout_s

    async def __aenter__(self) -> Self:
        return self

    async def __aexit__(self, *_exc: object) -> None:
        self._cursor.close()

    async def execute(self, sql: str, parameters: Sequence[Any] | dict[str, Any] = ()) -> Self:
        """Run one statement (retried while another connection holds the lock)."""
        await _patiently(lambda: self._cursor.execute(sql, parameters), self._timeout_s)
        return self

    async def executemany(self, sql: str, parameters: Iterable[Sequence[Any] | dict[str, Any]]) -> Self:
        """Run one statement for each set of parameters."""
        rows = list(parameters)  # a retry must see them all again
        await _patiently(lambda: self._cursor.executemany(sql, rows), self._timeout_s)
        return self

    async def fetchone(self) -> Any:
        """The next row, or None."""
        return self._cursor.fetchone()

    async def fetchmany(self, size: int | None = None) -> list[Any]:
        """Up to ``size`` rows (the cursor's ``arraysize`` by default)."""
        return self._cursor.fetchmany(self._cursor.arraysize if size is None else size)

    async def fetchall(self) -> list[Any]:
        """Every remaining row."""
        return self._cursor.fetchall()

    async def close(self) -> None:
        """Close the cursor."""
        self._cursor.close()

    @property
    def description(self) -> Any:
        """The columns of the last query (DB-API)."""
        return self._cursor.description

    @property
    def rowcount(self) -> int:
        """Rows the last statement changed (DB-API)."""
        return self._cursor.rowcount

    @property
    def lastrowid(self) -> int | None:
        """The rowid of the last inserted row (DB-API)."""
        return self._cursor.lastrowid

    @property
    def arraysize(self) -> int:
        """Rows :meth:`fetchmany` returns by default (DB-API)."""
        return self._cursor.arraysize

    @arraysize.setter
    def arraysize(self, value: int) -> None:
        self._cursor.arraysize = value


class _ImmediateQueue:
    """Stands in for aiosqlite's queue to its thread: SQLAlchemy sets ``isolation_level`` through it."""

    def put_nowait(self, item: tuple[asyncio.Future[Any] | None, Callable[[], Any]]) -> None:
        future, function = item
        try:
            result = function()
        except Exception as error:  # noqa: BLE001 - handed to the awaiting caller, as aiosqlite does
            if future is not None:
                future.set_exception(error)
            return
        if future is not None:
            future.set_result(result)


class _CursorOpening:
    """What ``cursor()`` returns: the cursor itself once entered.

    Like aiosqlite, a closed connection refuses when the cursor is entered, inside the awaited call, so that
    SQLAlchemy maps the refusal to its OperationalError.
    """

    def __init__(self, connection: InlineConnection) -> None:
        self._connection = connection

    async def __aenter__(self) -> InlineCursor:
        return InlineCursor(self._connection._open().cursor(), self._connection._timeout_s)  # noqa: SLF001


class InlineConnection:
    """An aiosqlite-style connection over a :class:`sqlite3.Connection`, for SQLAlchemy's aiosqlite dialect."""

    def __init__(self, connection: sqlite3.Connection, timeout_s: float = BUSY_TIMEOUT_S) -> None:
        self._conn: sqlite3.Connection | None = connection
        self._tx = _ImmediateQueue()
        self._timeout_s = timeout_s

    @property
    def _connection(self) -> sqlite3.Connection | None:
        # SQLAlchemy's dialect reads it to tell an open connection from a closed one.
        return self._conn

    def _open(self) -> sqlite3.Connection:
        if self._conn is None:
            raise ValueError("Connection closed")  # the message the dialect maps to OperationalError
        return self._conn

    @property
    def isolation_level(self) -> str | None:
        """The driver's transaction mode (the gateway sets None and issues its own BEGIN)."""
        return self._open().isolation_level

    def cursor(self) -> _CursorOpening:
        """A new cursor, opened when entered (``async with`` or awaiting ``__aenter__``, as SQLAlchemy does)."""
        return _CursorOpening(self)

    async def execute(self, sql: str, parameters: Sequence[Any] | dict[str, Any] = ()) -> InlineCursor:
        """Run one statement on a new cursor."""
        cursor = await self.cursor().__aenter__()
        return await cursor.execute(sql, parameters)

    async def commit(self) -> None:
        """Commit the transaction (retried while a checkpoint of another connection holds the lock)."""
        connection = self._open()
        await _patiently(connection.commit, self._timeout_s)

    async def rollback(self) -> None:
        """Roll the transaction back."""
        self._open().rollback()

    async def create_function(self, *args: Any, **kwargs: Any) -> None:
        """Register a user function (DB-API extension)."""
        self._open().create_function(*args, **kwargs)

    async def close(self) -> None:
        """Close the connection; closing twice is harmless."""
        if self._conn is not None:
            connection, self._conn = self._conn, None
            connection.close()

    def stop(self) -> None:
        """Close at once (SQLAlchemy's terminate)."""
        if self._conn is not None:
            connection, self._conn = self._conn, None
            connection.close()


async def connect(database: str, **kwargs: Any) -> InlineConnection:
    """Open ``database`` (the arguments SQLAlchemy's dialect derives from the URL) as an :class:`InlineConnection`.

    SQLite's own busy handler is turned off: waiting for a lock is the connection's cooperative retry instead.
    """
    kwargs["check_same_thread"] = False  # the pool may close it from another thread at interpreter exit
    kwargs.pop("timeout", None)
    connection = sqlite3.connect(database, timeout=0, **kwargs)
    return InlineConnection(connection)
