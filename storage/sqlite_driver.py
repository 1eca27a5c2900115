"""aiosqlite for SQLAlchemy with one trip to the connection's thread per statement.

aiosqlite runs each sqlite3 call on the connection's own thread and hands the answer back to
the event loop. SQLAlchemy's adapter (sqlalchemy.dialects.sqlite.aiosqlite) makes a trip for
each step of a statement: open a cursor, execute, fetch the rows, close the cursor, so four
hand-offs between the two threads for a SELECT and three for an INSERT. A hand-off costs far
more CPU than the statement it carries (measured in docs/PERFORMANCE.md: ~40 µs of CPU against
~6 µs for a small indexed statement), and on a busy bot the threads also fight over the GIL.

`OneTripCursor` does the four steps in one function on the connection's thread and brings back
the description, rows, rowcount and lastrowid at once; what it returns is what the sqlite3
cursor would have. Everything else (connecting, commit, rollback, server-side cursors, error
translation) stays SQLAlchemy's. It uses aiosqlite's `Connection._execute` (the queue every
aiosqlite call goes through, as SQLAlchemy's own adapter does for `isolation_level`) and `_conn`;
the versions are pinned in pyproject.toml and tests/unit/test_sqlite_driver.py fails if a new
aiosqlite changes them.
"""

from __future__ import annotations

import collections
import sqlite3
from collections.abc import Iterator, Sequence
from typing import Any

import aiosqlite
from sqlalchemy.dialects.sqlite.aiosqlite import AsyncAdapt_aiosqlite_connection, AsyncAdapt_aiosqlite_dbapi
from sqlalchemy.util.concurrency import await_

_Outcome = tuple[Any, list[Any], int, Any]


def _run(conn: sqlite3.Connection, many: bool, operation: str, parameters: Any) -> _Outcome:
    """On the connection's thread: the whole statement, the cursor closed again."""
    cursor = conn.cursor()
    try:
        if many:
            cursor.executemany(operation, parameters)
        elif parameters is None:
            cursor.execute(operation)
        else:
            cursor.execute(operation, parameters)
        description = cursor.description
        rows = cursor.fetchall() if description else []
        return description, rows, cursor.rowcount, cursor.lastrowid
    finally:
        cursor.close()


class OneTripCursor:
    """A DBAPI cursor over aiosqlite whose statements each cost one trip to its thread."""

    __slots__ = ("_adapt_connection", "_connection", "_rows", "description", "rowcount", "lastrowid", "arraysize")
    server_side = False

    def __init__(self, adapt_connection: AsyncAdapt_aiosqlite_connection) -> None:
        self._adapt_connection = adapt_connection
        self._connection: aiosqlite.Connection = adapt_connection._connection
        self._rows: collections.deque[Any] = collections.deque()
        self.description: Any = None
        self.rowcount = -1
        self.lastrowid: Any = None
        self.arraysize = 1

    def _trip(self, many: bool, operation: str, parameters: Any) -> None:
        try:
            outcome: _Outcome = await_(self._connection._execute(
                _run, self._connection._conn, many, operation, parameters))
        except Exception as error:
            self._adapt_connection._handle_exception(error)
        self.description, rows, self.rowcount, self.lastrowid = outcome
        self._rows = collections.deque(rows)

    def execute(self, operation: str, parameters: Any = None) -> OneTripCursor:
        self._trip(False, operation, parameters)
        return self

    def executemany(self, operation: str, seq_of_parameters: Any) -> OneTripCursor:
        self._trip(True, operation, seq_of_parameters)
        return self

    async def _async_soft_close(self) -> None:
        """The sqlite3 cursor is closed already; the rows stay here (SQLAlchemy's asyncio result calls this)."""

    def close(self) -> None:
        self._rows.clear()

    def setinputsizes(self, *inputsizes: Any) -> None:
        pass

    def nextset(self) -> None:
        return None

    def __enter__(self) -> OneTripCursor:
        return self

    def __exit__(self, *exc: Any) -> None:
        self.close()

    def __iter__(self) -> Iterator[Any]:
        while self._rows:
            yield self._rows.popleft()

    def fetchone(self) -> Any:
        return self._rows.popleft() if self._rows else None

    def fetchmany(self, size: int | None = None) -> Sequence[Any]:
        rows = self._rows
        return [rows.popleft() for _ in range(min(size or self.arraysize, len(rows)))]

    def fetchall(self) -> Sequence[Any]:
        rows = list(self._rows)
        self._rows.clear()
        return rows


class OneTripConnection(AsyncAdapt_aiosqlite_connection):
    __slots__ = ()
    _cursor_cls = OneTripCursor  # type: ignore[assignment]


class OneTripDBAPI(AsyncAdapt_aiosqlite_dbapi):
    """The DBAPI module SQLAlchemy's aiosqlite dialect is given (`create_async_engine(module=…)`)."""

    def connect(self, *arg: Any, **kw: Any) -> OneTripConnection:
        adapted = super().connect(*arg, **kw)
        return OneTripConnection(self, adapted._connection)


def dbapi() -> OneTripDBAPI:
    return OneTripDBAPI(aiosqlite, sqlite3)
