"""One aiosqlite connection, lock-guarded transactions, numbered migrations."""

from __future__ import annotations

import asyncio
import contextvars
import logging
import re
from collections.abc import AsyncIterator, Callable, Iterable
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

import aiosqlite

log = logging.getLogger(__name__)

MIGRATIONS_DIR = Path(__file__).resolve().parent.parent / "migrations"
_MIGRATION_NAME = re.compile(r"^(\d{4})_[a-z0-9_]+\.sql$")

Conn = aiosqlite.Connection
Row = aiosqlite.Row

_current: contextvars.ContextVar[Database | None] = contextvars.ContextVar("db_transaction", default=None)
_deferred: contextvars.ContextVar[list[tuple[str, tuple[Any, ...]]] | None] = contextvars.ContextVar(
    "db_deferred", default=None
)


async def write_later(conn: Conn, sql: str, params: tuple[Any, ...]) -> None:
    """An insert whose result nobody reads in the same transaction (audit events, outbox rows):
    inside :meth:`Database.transaction` it is queued and written just before COMMIT, batched
    with its like in one round trip; outside a transaction it is written at once."""
    pending = _deferred.get()
    if pending is None:
        await conn.execute(sql, params)
    else:
        pending.append((sql, params))


def _write_and_commit(raw: Any, batches: dict[str, list[tuple[Any, ...]]]) -> None:
    """Runs in aiosqlite's database thread: the queued inserts, then COMMIT."""
    for sql, rows in batches.items():
        raw.executemany(sql, rows)
    raw.execute("COMMIT")


async def _flush_and_commit(conn: Conn, pending: list[tuple[str, tuple[Any, ...]]]) -> None:
    """Write the queued inserts (one ``executemany`` per statement: the tables they go to are
    not read back in the transaction, so only the order within each statement matters) and
    commit, in ONE round trip to the database thread instead of one per statement.

    aiosqlite has no public call for "run these statements in the thread", so this uses its
    ``Connection._execute`` (the queue every public method goes through; aiosqlite is pinned
    below 0.23). An error anywhere leaves the transaction open for the caller's ROLLBACK.
    """
    batches: dict[str, list[tuple[Any, ...]]] = {}
    for sql, params in pending:
        batches.setdefault(sql, []).append(params)
    await conn._execute(_write_and_commit, conn._conn, batches)  # type: ignore[no-untyped-call]


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
        conn = await aiosqlite.connect(self.path, isolation_level=None)
        conn.row_factory = aiosqlite.Row
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
        self._conn = conn

    async def close(self) -> None:
        if self._conn is not None:
            await self._conn.close()
            self._conn = None

    @asynccontextmanager
    async def transaction(self) -> AsyncIterator[Conn]:
        """``BEGIN IMMEDIATE`` ... ``COMMIT``; rolled back on any exception."""
        if _current.get() is self:
            raise RuntimeError("nested transaction")
        async with self._lock:
            token = _current.set(self)
            pending: list[tuple[str, tuple[Any, ...]]] = []
            deferred = _deferred.set(pending)
            conn = self.conn
            await conn.execute("BEGIN IMMEDIATE")
            try:
                yield conn
                await _flush_and_commit(conn, pending)
            except BaseException:
                if conn.in_transaction:
                    await conn.execute("ROLLBACK")
                raise
            finally:
                _deferred.reset(deferred)
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
