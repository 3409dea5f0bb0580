"""One aiosqlite connection, lock-guarded transactions, numbered migrations."""

from __future__ import annotations

import asyncio
import contextvars
import itertools
import logging
import re
import sqlite3
from collections.abc import AsyncIterator, Callable, Iterable
from contextlib import asynccontextmanager
from functools import partial
from pathlib import Path
from typing import Any

import aiosqlite

from bot.errors import WrongState

log = logging.getLogger(__name__)

MIGRATIONS_DIR = Path(__file__).resolve().parent.parent / "migrations"
_MIGRATION_NAME = re.compile(r"^(\d{4})_[a-z0-9_]+\.sql$")

Conn = aiosqlite.Connection
Row = aiosqlite.Row

_current: contextvars.ContextVar[Database | None] = contextvars.ContextVar("db_transaction", default=None)
# a queued write: SQL, parameters, and whether it must change exactly one row
Queued = tuple[str, tuple[Any, ...], bool]
_queued: contextvars.ContextVar[list[Queued] | None] = contextvars.ContextVar("db_queued", default=None)


class StaleWrite(Exception):
    """A queued guarded write (``expect_one``) changed no row: what the transaction read is
    no longer so. The transaction is rolled back."""


async def write_later(conn: Conn, sql: str, params: tuple[Any, ...], *, expect_one: bool = False) -> None:
    """A write whose result (row count, row id) nobody reads: inside
    :meth:`Database.transaction` it is queued and sent in front of the transaction's next
    statement (or its COMMIT), in the same round trip to the database thread; outside a
    transaction it is written at once. Called by repositories only: a service calls a named
    repository function, which knows whether its write may be queued.

    Queued writes run in the order they were queued and before any later statement of the
    transaction, so a later read sees them exactly as if they had been sent at once. An error
    in one surfaces at that later statement, as the same kind of error with the queued write's
    SQL in its message, and rolls the whole transaction back: queue only
    writes that can fail on a bug alone, never one whose failure is an answer (a unique key
    meaning "already done" is read from the row count of a statement sent at once).

    ``expect_one``: a guarded state change (``UPDATE ... WHERE id = ? AND status = ?``) that
    must change exactly one row, checked in the database thread when it runs: if it changed
    none, :class:`StaleWrite` rolls the whole transaction back (and the caller gets a
    ``WrongState``). Every transaction holds SQLite's write lock from its first statement and
    this process's transaction lock throughout, so a state read in the transaction cannot
    change before the write: the check costs no round trip and guards against a bug only.
    """
    queued = _queued.get()
    if queued is None:
        cur = await conn.execute(sql, params)
        if expect_one and cur.rowcount != 1:
            raise StaleWrite(sql)
    else:
        queued.append((sql, params, expect_one))


def _queued_write_failed(error: sqlite3.Error, sql: str) -> sqlite3.Error:
    """The error of a queued write, as the same kind of error (a caller catching
    ``IntegrityError`` still does) but naming that write's SQL: it surfaces at a later
    statement of the transaction, which is not the one that failed."""
    failed = type(error)(f"queued write failed: {error}: {sql}")
    for name in ("sqlite_errorcode", "sqlite_errorname"):
        if hasattr(error, name):
            setattr(failed, name, getattr(error, name))
    return failed


def _run_writes(raw: sqlite3.Connection, writes: list[Queued]) -> None:
    """In the database thread: the queued writes in order, a run of one statement as one
    ``executemany`` (a guarded run must change one row per parameter set)."""
    for (sql, expect_one), group in itertools.groupby(writes, key=lambda w: (w[0], w[2])):
        rows = [params for _, params, _ in group]
        try:
            cur = raw.executemany(sql, rows)
        except sqlite3.Error as error:
            raise _queued_write_failed(error, sql) from error
        if expect_one and cur.rowcount != len(rows):
            raise StaleWrite(sql)


class _Connection(aiosqlite.Connection):
    """aiosqlite's connection, pipelining a transaction's preliminaries with its next statement.

    :meth:`Database.transaction` marks a ``BEGIN IMMEDIATE`` as pending instead of sending it,
    and :func:`write_later` queues writes; the next call that goes to the database thread
    carries both in front of its own statement. A transaction so costs its reads, its checked
    writes and one COMMIT: the BEGIN and the audit, outbox and ledger rows add no round trip.
    The write lock is taken at that first statement instead of at the ``async with``: the
    asyncio lock around every transaction keeps this process's transactions apart, and
    ``busy_timeout`` covers another process (an ``sqlite3 .backup``).

    aiosqlite has no hook for this, so it overrides ``Connection._execute`` (the queue every
    public method goes through; aiosqlite is pinned below 0.23).
    """

    begin_pending = False
    queued: list[Queued] | None = None

    async def _execute(self, fn: Callable[..., Any], *args: Any, **kwargs: Any) -> Any:
        queued = self.queued
        if not self.begin_pending and not queued:
            return await super()._execute(fn, *args, **kwargs)  # type: ignore[no-untyped-call]
        begin, self.begin_pending = self.begin_pending, False
        writes = list(queued) if queued else []
        if queued:
            queued.clear()
        raw = self._conn
        call = partial(fn, *args, **kwargs)

        def pipelined() -> Any:
            if begin:
                raw.execute("BEGIN IMMEDIATE")
            _run_writes(raw, writes)
            return call()

        return await super()._execute(pipelined)  # type: ignore[no-untyped-call]


async def fetch_one(conn: Conn, sql: str, params: Iterable[Any] = ()) -> Row | None:
    """One row (or None) in a single round trip to the database thread."""
    rows = await conn.execute_fetchall(sql, tuple(params))
    return next(iter(rows), None)


class DatabaseTooNewError(RuntimeError):
    """The database was migrated by a newer version of the bot."""


def migration_files(directory: Path = MIGRATIONS_DIR) -> list[tuple[int, Path]]:
    found: list[tuple[int, Path]] = []
    for path in sorted(directory.glob("*.sql")):
        match = _MIGRATION_NAME.match(path.name)
        if match is None:
            raise RuntimeError(f"migration file name not of the form NNNN_name.sql: {path.name}")
        found.append((int(match.group(1)), path))
    numbers = [n for n, _ in found]
    if numbers != list(range(1, len(numbers) + 1)):
        raise RuntimeError(f"migrations must be numbered 1..n without gaps, found {numbers}")
    return found


class Database:
    """The bot's single connection. Writes go through :meth:`transaction`."""

    def __init__(self, path: Path | str) -> None:
        self.path = Path(path)
        self._conn: aiosqlite.Connection | None = None
        self._lock = asyncio.Lock()
        self.after_commit: list[Callable[[], None]] = []

    @property
    def conn(self) -> aiosqlite.Connection:
        if self._conn is None:
            raise RuntimeError("database is not connected")
        return self._conn

    async def connect(self) -> None:
        if str(self.path) != ":memory:":
            self.path.parent.mkdir(parents=True, exist_ok=True)
        path = str(self.path)

        def connector() -> sqlite3.Connection:
            return sqlite3.connect(path, isolation_level=None)

        conn = await _Connection(connector, 64)
        conn.row_factory = aiosqlite.Row
        try:
            for pragma in (
                "PRAGMA journal_mode=WAL",
                "PRAGMA foreign_keys=ON",
                "PRAGMA busy_timeout=5000",
                "PRAGMA synchronous=NORMAL",
            ):
                # Read and close each cursor: a pragma that returns a row (journal_mode) left
                # unfinished keeps a statement in progress, and a later COMMIT then fails.
                async with conn.execute(pragma) as cur:
                    await cur.fetchall()
        except BaseException:
            # A file that is not a database fails here: close, or aiosqlite's thread stays
            # alive and the process never exits.
            await conn.close()
            raise
        self._conn = conn

    async def close(self) -> None:
        """Close the connection once any open transaction (or read) of another task is done:
        a shutdown during a sweep lets the sweep's transaction commit or roll back first."""
        if _current.get() is self:
            raise RuntimeError("cannot close the database inside a transaction")
        async with self._lock:
            if self._conn is not None:
                await self._conn.close()
                self._conn = None

    @asynccontextmanager
    async def transaction(self) -> AsyncIterator[Conn]:
        """``BEGIN IMMEDIATE`` ... ``COMMIT``; rolled back on any exception. The BEGIN goes
        with the first statement, queued writes with the next one (:class:`_Connection`)."""
        if _current.get() is self:
            raise RuntimeError("nested transaction")
        async with self._lock:
            conn = self.conn
            assert isinstance(conn, _Connection)
            token = _current.set(self)
            queued: list[Queued] = []
            marker = _queued.set(queued)
            conn.begin_pending, conn.queued = True, queued
            try:
                yield conn
                if conn.begin_pending and not queued:
                    conn.begin_pending = False  # nothing was read or written: nothing to commit
                else:
                    await conn.execute("COMMIT")
            except BaseException as error:
                conn.begin_pending = False
                queued.clear()
                if conn.in_transaction:
                    try:
                        await conn.execute("ROLLBACK")
                    except sqlite3.OperationalError:
                        # a COMMIT whose wait was cancelled (a shutdown) still ran in the
                        # database thread: there is nothing left to roll back
                        if conn.in_transaction:
                            raise
                if isinstance(error, StaleWrite):
                    log.warning("a guarded write changed nothing, rolled back: %s", error)
                    raise WrongState() from error
                raise
            finally:
                conn.queued = None
                _queued.reset(marker)
                _current.reset(token)
        for callback in list(self.after_commit):
            callback()

    @asynccontextmanager
    async def read(self) -> AsyncIterator[Conn]:
        """A consistent read: waits for any open transaction of another task."""
        if _current.get() is self:
            yield self.conn
            return
        async with self._lock:
            yield self.conn

    async def fetchone(self, sql: str, params: Iterable[Any] = ()) -> Row | None:
        async with self.read() as conn:
            return await fetch_one(conn, sql, params)

    async def fetchall(self, sql: str, params: Iterable[Any] = ()) -> list[Row]:
        async with self.read() as conn:
            return list(await conn.execute_fetchall(sql, tuple(params)))

    # -- migrations -------------------------------------------------------------

    async def current_version(self) -> int:
        row = await self.fetchone("PRAGMA user_version")
        assert row is not None
        return int(row[0])

    async def migrate(self, directory: Path = MIGRATIONS_DIR) -> int:
        """Apply every migration newer than ``PRAGMA user_version``, each in one transaction."""
        files = migration_files(directory)
        latest = files[-1][0] if files else 0
        current = await self.current_version()
        if current > latest:
            raise DatabaseTooNewError(
                f"database {self.path} is at version {current}, this code knows up to {latest}: "
                "upgrade the bot"
            )
        async with self._lock:
            for number, path in files:
                if number <= current:
                    continue
                script = path.read_text(encoding="utf-8")
                log.info("applying migration %s", path.name)
                try:
                    await self.conn.executescript(
                        f"BEGIN IMMEDIATE;\n{script}\n;PRAGMA user_version = {number};\nCOMMIT;"
                    )
                except BaseException:
                    if self.conn.in_transaction:
                        await self.conn.execute("ROLLBACK")
                    raise
        return await self.current_version()
