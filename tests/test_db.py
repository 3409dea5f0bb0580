from __future__ import annotations

import asyncio
import re
import shutil
import sqlite3
import threading
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import aiosqlite
import pytest

from bot.db import MIGRATIONS_DIR, Database, DatabaseTooNewError, migration_files, write_later
from bot.errors import WrongState

REAL = migration_files()
LATEST = REAL[-1][0]


def tables_created_by(paths: list[Path]) -> set[str]:
    pattern = re.compile(r"CREATE\s+TABLE\s+(?:IF\s+NOT\s+EXISTS\s+)?(\w+)", re.IGNORECASE)
    return {name for path in paths for name in pattern.findall(path.read_text(encoding="utf-8"))}


async def tables(db: Database) -> set[str]:
    rows = await db.fetchall("SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%'")
    return {row["name"] for row in rows}


@pytest.fixture
async def fresh(tmp_path: Path) -> AsyncIterator[Database]:
    database = Database(tmp_path / "fresh.db")
    await database.connect()
    yield database
    await database.close()


def copy_migrations(target: Path, upto: int) -> Path:
    target.mkdir(exist_ok=True)
    for number, path in REAL:
        if number <= upto:
            shutil.copy(path, target / path.name)
    return target


async def test_migrate_an_empty_database_to_the_latest(fresh: Database) -> None:
    assert await fresh.current_version() == 0
    assert await fresh.migrate() == LATEST
    assert await fresh.current_version() == LATEST
    assert await tables(fresh) == tables_created_by([path for _, path in REAL])


async def test_migrate_twice_is_a_no_op(fresh: Database) -> None:
    await fresh.migrate()
    before = await tables(fresh)
    assert await fresh.migrate() == LATEST
    assert await tables(fresh) == before


def test_real_migrations_are_numbered_without_gaps() -> None:
    assert [n for n, _ in REAL] == list(range(1, len(REAL) + 1))
    assert all(path.parent == MIGRATIONS_DIR for _, path in REAL)


def test_bad_migration_directories_are_refused(tmp_path: Path) -> None:
    (tmp_path / "0001_a.sql").write_text("SELECT 1;")
    (tmp_path / "0003_gap.sql").write_text("SELECT 1;")
    with pytest.raises(RuntimeError, match="without gaps"):
        migration_files(tmp_path)
    (tmp_path / "0003_gap.sql").unlink()
    (tmp_path / "2-bad name.sql").write_text("SELECT 1;")
    with pytest.raises(RuntimeError, match="NNNN_name"):
        migration_files(tmp_path)


async def test_a_database_newer_than_the_code_is_refused(fresh: Database) -> None:
    await fresh.migrate()
    await fresh.conn.execute(f"PRAGMA user_version = {LATEST + 1}")
    with pytest.raises(DatabaseTooNewError, match="upgrade"):
        await fresh.migrate()
    assert await fresh.current_version() == LATEST + 1


@pytest.mark.parametrize("previous", range(1, LATEST))
async def test_each_real_migration_applies_on_the_previous_version(
    fresh: Database, tmp_path: Path, previous: int
) -> None:
    directory = copy_migrations(tmp_path / "migrations", previous)
    assert await fresh.migrate(directory) == previous
    copy_migrations(directory, LATEST)
    assert await fresh.migrate(directory) == LATEST
    assert await tables(fresh) == tables_created_by([path for _, path in REAL])


async def test_a_new_migration_keeps_the_data(fresh: Database, tmp_path: Path) -> None:
    directory = copy_migrations(tmp_path / "migrations", LATEST)
    await fresh.migrate(directory)
    async with fresh.transaction() as conn:
        await conn.execute("INSERT INTO user_locales (user_id, locale, updated_at) VALUES (1, 'ja', 'x')")
    (directory / f"{LATEST + 1:04d}_add_note.sql").write_text(
        "ALTER TABLE user_locales ADD COLUMN note TEXT NOT NULL DEFAULT 'n';\n"
        "CREATE TABLE extra (id INTEGER PRIMARY KEY);\n",
        encoding="utf-8",
    )
    assert await fresh.migrate(directory) == LATEST + 1
    row = await fresh.fetchone("SELECT locale, note FROM user_locales WHERE user_id = 1")
    assert row is not None and (row["locale"], row["note"]) == ("ja", "n")
    assert "extra" in await tables(fresh)


async def test_a_failing_migration_rolls_back(fresh: Database, tmp_path: Path) -> None:
    directory = copy_migrations(tmp_path / "migrations", LATEST)
    await fresh.migrate(directory)
    (directory / f"{LATEST + 1:04d}_broken.sql").write_text(
        "CREATE TABLE half_done (id INTEGER PRIMARY KEY);\n"
        "ALTER TABLE user_locales ADD COLUMN note TEXT;\n"
        "INSERT INTO no_such_table VALUES (1);\n",
        encoding="utf-8",
    )
    with pytest.raises(sqlite3.OperationalError, match="no_such_table"):
        await fresh.migrate(directory)
    assert await fresh.current_version() == LATEST
    assert "half_done" not in await tables(fresh)
    columns = {row["name"] for row in await fresh.fetchall("PRAGMA table_info(user_locales)")}
    assert "note" not in columns
    assert not fresh.conn.in_transaction
    async with fresh.transaction() as conn:  # still usable
        await conn.execute("INSERT INTO user_locales (user_id, locale, updated_at) VALUES (1, 'en', 'x')")


async def test_pragmas(db: Database) -> None:
    assert (await db.fetchone("PRAGMA foreign_keys"))[0] == 1  # type: ignore[index]
    assert (await db.fetchone("PRAGMA journal_mode"))[0] == "wal"  # type: ignore[index]
    assert (await db.fetchone("PRAGMA busy_timeout"))[0] >= 1000  # type: ignore[index]


async def test_foreign_keys_are_enforced(db: Database) -> None:
    with pytest.raises(sqlite3.IntegrityError):
        async with db.transaction() as conn:
            await conn.execute(
                "INSERT INTO applications (job_id, guild_id, worker_id, proposal, price, status, created_at,"
                " updated_at) VALUES (999, 1, 2, 'p', 100, 'pending', 'x', 'x')"
            )


async def test_transaction_commits_and_runs_after_commit(db: Database) -> None:
    calls: list[str] = []
    db.after_commit.append(lambda: calls.append("kick"))
    async with db.transaction() as conn:
        await conn.execute("INSERT INTO user_locales (user_id, locale, updated_at) VALUES (1, 'ja', 'x')")
    assert calls == ["kick"]
    assert await db.fetchone("SELECT 1 FROM user_locales WHERE user_id = 1") is not None


async def test_transaction_rolls_back_on_exception(db: Database) -> None:
    calls: list[str] = []
    db.after_commit.append(lambda: calls.append("kick"))

    class BoomError(Exception):
        pass

    with pytest.raises(BoomError):
        async with db.transaction() as conn:
            await conn.execute("INSERT INTO user_locales (user_id, locale, updated_at) VALUES (1, 'ja', 'x')")
            raise BoomError
    assert await db.fetchone("SELECT 1 FROM user_locales WHERE user_id = 1") is None
    assert calls == []
    assert not db.conn.in_transaction


async def test_nested_transaction_is_refused(db: Database) -> None:
    async with db.transaction():
        with pytest.raises(RuntimeError, match="nested"):
            async with db.transaction():
                pass


async def test_concurrent_transactions_are_serialized(db: Database) -> None:
    async with db.transaction() as conn:
        await conn.execute("INSERT INTO bot_state (key, value) VALUES ('counter', '0')")
    inside = 0
    overlaps = 0

    async def increment() -> None:
        nonlocal inside, overlaps
        async with db.transaction() as conn:
            inside += 1
            overlaps += inside > 1
            async with conn.execute("SELECT value FROM bot_state WHERE key = 'counter'") as cur:
                row = await cur.fetchone()
            assert row is not None
            await asyncio.sleep(0)  # give the others every chance to interleave
            await conn.execute("UPDATE bot_state SET value = ? WHERE key = 'counter'", (str(int(row[0]) + 1),))
            inside -= 1

    await asyncio.gather(*(increment() for _ in range(20)))
    assert overlaps == 0
    row = await db.fetchone("SELECT value FROM bot_state WHERE key = 'counter'")
    assert row is not None and row[0] == "20"


async def test_a_read_waits_for_an_open_transaction(db: Database) -> None:
    started = asyncio.Event()
    release = asyncio.Event()

    async def writer() -> None:
        async with db.transaction() as conn:
            await conn.execute("INSERT INTO user_locales (user_id, locale, updated_at) VALUES (7, 'ja', 'x')")
            started.set()
            await release.wait()

    task = asyncio.create_task(writer())
    await started.wait()
    read = asyncio.create_task(db.fetchone("SELECT locale FROM user_locales WHERE user_id = 7"))
    await asyncio.sleep(0.01)
    assert not read.done()
    release.set()
    await task
    row = await read
    assert row is not None and row["locale"] == "ja"


async def test_connect_leaves_no_statement_in_progress(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    # An unread pragma cursor kept alive (here by keeping every future, as SimCord's
    # settlement tracking does) kept its statement in progress, and the migration's
    # COMMIT then failed with "SQL statements in progress".
    loop = asyncio.get_running_loop()
    kept: list[asyncio.Future[object]] = []
    create_future = loop.create_future

    def keep_future() -> asyncio.Future[object]:
        future = create_future()
        kept.append(future)
        return future

    monkeypatch.setattr(loop, "create_future", keep_future)
    database = Database(tmp_path / "kept.db")
    await database.connect()
    try:
        assert await database.migrate() == LATEST
    finally:
        await database.close()
    assert kept


# -- the pipelined transaction: BEGIN and queued writes go with the next statement --------


class Trips:
    """Counts the calls that go to the database thread."""

    def __init__(self, monkeypatch: pytest.MonkeyPatch) -> None:
        self.count = 0
        original = aiosqlite.Connection._execute

        async def counted(conn: aiosqlite.Connection, fn: Any, *args: Any, **kwargs: Any) -> Any:
            self.count += 1
            return await original(conn, fn, *args, **kwargs)

        monkeypatch.setattr(aiosqlite.Connection, "_execute", counted)


LOCALE = "INSERT INTO user_locales (user_id, locale, updated_at) VALUES (?, ?, 'x')"


async def test_a_queued_write_is_seen_by_the_next_read_of_the_transaction(
    db: Database, monkeypatch: pytest.MonkeyPatch
) -> None:
    trips = Trips(monkeypatch)
    async with db.transaction() as conn:
        await write_later(conn, LOCALE, (1, "ja"))
        await write_later(conn, LOCALE, (2, "en"))
        await write_later(conn, "UPDATE user_locales SET locale = 'ko' WHERE user_id = ?", (2,))
        assert trips.count == 0  # nothing sent yet, not even the BEGIN
        rows = await conn.execute_fetchall("SELECT user_id, locale FROM user_locales ORDER BY user_id")
        assert [tuple(r) for r in rows] == [(1, "ja"), (2, "ko")]  # in the order queued
        assert trips.count == 1  # BEGIN, the three writes and the read in one round trip
    assert trips.count == 2  # and the COMMIT
    assert not db.conn.in_transaction
    assert len(await db.fetchall("SELECT * FROM user_locales")) == 2


async def test_queued_writes_commit_with_the_commit(db: Database, monkeypatch: pytest.MonkeyPatch) -> None:
    trips = Trips(monkeypatch)
    async with db.transaction() as conn:
        await write_later(conn, LOCALE, (3, "ja"))
    assert trips.count == 1  # BEGIN, the write and COMMIT together
    row = await db.fetchone("SELECT locale FROM user_locales WHERE user_id = 3")
    assert row is not None and row["locale"] == "ja"


async def test_a_transaction_that_sends_nothing_costs_nothing(db: Database, monkeypatch: pytest.MonkeyPatch) -> None:
    trips = Trips(monkeypatch)
    async with db.transaction():
        pass
    assert trips.count == 0
    assert not db.conn.in_transaction


async def test_a_failing_queued_write_rolls_back_the_whole_transaction(db: Database) -> None:
    with pytest.raises(sqlite3.IntegrityError):
        async with db.transaction() as conn:
            await conn.execute(LOCALE, (4, "ja"))
            await write_later(conn, LOCALE, (4, "en"))  # the same primary key: fails when sent
            await conn.execute("SELECT 1")
    assert not db.conn.in_transaction
    assert await db.fetchone("SELECT 1 FROM user_locales WHERE user_id = 4") is None


async def test_a_failing_queued_write_is_reported_with_its_own_sql(db: Database) -> None:
    """It fails at the transaction's next statement (here a read), but the error names the
    queued write, not that read."""
    with pytest.raises(sqlite3.IntegrityError) as raised:
        async with db.transaction() as conn:
            await conn.execute(LOCALE, (11, "ja"))
            await write_later(conn, LOCALE, (11, "en"))
            await conn.execute("SELECT locale FROM user_locales WHERE user_id = 11")
    message = str(raised.value)
    assert LOCALE in message
    assert "UNIQUE constraint failed: user_locales.user_id" in message
    assert "SELECT locale" not in message
    assert isinstance(raised.value.__cause__, sqlite3.IntegrityError)
    assert not db.conn.in_transaction
    assert await db.fetchone("SELECT 1 FROM user_locales WHERE user_id = 11") is None


async def test_queued_writes_are_dropped_when_the_transaction_fails_before_sending(db: Database) -> None:
    class BoomError(Exception):
        pass

    with pytest.raises(BoomError):
        async with db.transaction() as conn:
            await write_later(conn, LOCALE, (5, "ja"))
            raise BoomError
    async with db.transaction() as conn:  # the next transaction starts clean
        await conn.execute(LOCALE, (6, "en"))
    assert [r["user_id"] for r in await db.fetchall("SELECT user_id FROM user_locales")] == [6]


async def test_write_later_outside_a_transaction_writes_at_once(db: Database) -> None:
    await write_later(db.conn, LOCALE, (7, "ja"))
    assert await db.fetchone("SELECT 1 FROM user_locales WHERE user_id = 7") is not None


# -- closing -------------------------------------------------------------------------------


async def test_close_waits_for_an_open_transaction_to_commit(tmp_path: Path) -> None:
    """A SIGTERM during a sweep: the connection is closed after the transaction, not in it."""
    db = Database(tmp_path / "close.db")
    await db.connect()
    await db.migrate()
    written = asyncio.Event()
    finish = asyncio.Event()

    async def sweep() -> None:
        async with db.transaction() as conn:
            await conn.execute(LOCALE, (8, "ja"))
            written.set()
            await finish.wait()
            await conn.execute(LOCALE, (9, "en"))

    sweeping = asyncio.create_task(sweep())
    await written.wait()
    closing = asyncio.create_task(db.close())
    for _ in range(20):
        await asyncio.sleep(0)
    assert not closing.done()
    assert db.conn.in_transaction

    finish.set()
    await asyncio.wait_for(asyncio.gather(sweeping, closing), timeout=5)
    with pytest.raises(RuntimeError, match="not connected"):
        db.conn  # noqa: B018

    reopened = Database(tmp_path / "close.db")
    await reopened.connect()
    try:
        rows = await reopened.fetchall("SELECT user_id FROM user_locales ORDER BY user_id")
        assert [r["user_id"] for r in rows] == [8, 9]
    finally:
        await reopened.close()


async def test_close_inside_a_transaction_is_refused(db: Database) -> None:
    with pytest.raises(RuntimeError, match="inside a transaction"):
        async with db.transaction() as conn:
            await conn.execute(LOCALE, (10, "ja"))
            await db.close()
    assert await db.fetchone("SELECT 1 FROM user_locales WHERE user_id = 10") is None


async def test_a_queued_guarded_write_that_changes_nothing_rolls_back_with_wrong_state(db: Database) -> None:
    async with db.transaction() as conn:
        await conn.execute(LOCALE, (8, "ja"))
    with pytest.raises(WrongState):
        async with db.transaction() as conn:
            await write_later(conn, LOCALE, (9, "en"))
            await write_later(conn, "UPDATE user_locales SET locale = 'ko' WHERE user_id = ? AND locale = ?",
                              (8, "en"), expect_one=True)  # it is 'ja': the guard fails
    assert not db.conn.in_transaction
    assert await db.fetchone("SELECT 1 FROM user_locales WHERE user_id = 9") is None  # rolled back with it
    row = await db.fetchone("SELECT locale FROM user_locales WHERE user_id = 8")
    assert row is not None and row["locale"] == "ja"


async def test_a_queued_guarded_write_that_changes_its_row_commits(db: Database) -> None:
    async with db.transaction() as conn:
        await conn.execute(LOCALE, (10, "ja"))
    async with db.transaction() as conn:
        await write_later(conn, "UPDATE user_locales SET locale = 'en' WHERE user_id = ? AND locale = ?",
                          (10, "ja"), expect_one=True)
    row = await db.fetchone("SELECT locale FROM user_locales WHERE user_id = 10")
    assert row is not None and row["locale"] == "en"


async def test_a_commit_cancelled_under_way_ends_as_a_cancellation(db: Database) -> None:
    """SIGTERM cancels a task whose COMMIT is already queued to the database thread: the COMMIT
    still runs there, so the rollback finds no transaction. The task ends cancelled (no
    "cannot rollback" error) and the connection stays usable."""
    gate = threading.Event()
    await db.conn.create_function("wait_gate", 0, lambda: gate.wait(5))
    committing = asyncio.Event()

    async def write() -> None:
        async with db.transaction() as conn:
            await conn.execute("INSERT INTO bot_state (key, value) VALUES ('k', 'v')")
            # the database thread is busy: the COMMIT queues behind this
            blocker = asyncio.ensure_future(conn.execute("SELECT wait_gate()"))
            await asyncio.sleep(0)
            committing.set()
        await blocker

    task = asyncio.create_task(write())
    await committing.wait()
    await asyncio.sleep(0.01)  # the task now awaits its COMMIT
    task.cancel()
    await asyncio.sleep(0.01)
    gate.set()
    with pytest.raises(asyncio.CancelledError):
        await task
    assert [tuple(r) for r in await db.fetchall("SELECT key, value FROM bot_state")] == [("k", "v")]
    async with db.transaction() as conn:
        await conn.execute("DELETE FROM bot_state")
