"""``db backup`` (online, while the bot writes) and ``db restore`` (refused while it runs)."""

from __future__ import annotations

import asyncio
import hashlib
import os
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path

import pytest

from bot import __main__ as cli_module
from bot.app import MarketBot
from bot.clock import FakeClock
from bot.config import Settings
from bot.db import Database
from bot.ops.database import latest_version
from bot.ops.lock import AlreadyRunning, RunLock, lock_path
from bot.services.container import Services
from bot.services.deliveries import IncomingFile
from tests.ids import WORKER
from tests.invariants import ledger_violations
from tests.ops.conftest import Cli, Paths, Result
from tests.services.helpers import DEFAULT_FILE, balance, deliver, delivered_contract, funded_contract, setup_guild

NET = 45000  # the default price, 50000 JPY, less the 10% fee


@asynccontextmanager
async def running(database: Path, files: Path, clock: FakeClock) -> AsyncIterator[Services]:
    """The services on a real database, as the bot holds them."""
    db = Database(database)
    await db.connect()
    try:
        await db.migrate()
        yield Services.build(db, clock, Settings(database_path=database, files_dir=files))
    finally:
        await db.close()


async def in_thread(cli: Cli, *argv: str) -> Result:
    """The command in another thread (it runs its own event loop), as a second process would
    while this test's loop keeps the database open."""
    return await asyncio.to_thread(cli, *argv)


async def test_backup_while_running_then_restore_elsewhere_and_finish(
    cli: Cli, paths: Paths, monkeypatch: pytest.MonkeyPatch
) -> None:
    clock = FakeClock()
    second_file = IncomingFile("logo-v2.png", b"\x89PNG the second logo", "image/png")
    async with running(paths.database, paths.files, clock) as services:
        await setup_guild(services)
        delivered = await delivered_contract(services)
        active = await funded_contract(services, job=None)
        # mid-lifecycle, the connection open and the last writes still in the -wal file
        assert paths.database.with_name("bot.db-wal").stat().st_size > 0
        result = await in_thread(cli, "db", "backup", "snapshot")
        # the bot goes on after the backup: none of this may reach the restored copy
        await services.deliveries.approve(delivered.guild_id, delivered.id, actor_id=delivered.client_id)
    assert result.code == 0, result.err
    assert result.out == (
        f"backed up {paths.database} (version {_version()}) to {Path('snapshot', 'bot.db')}, "
        f"1 file ({len(DEFAULT_FILE.data)} bytes) from {paths.files} to {Path('snapshot', 'files')}\n"
    )

    fresh = paths.root / "elsewhere"
    monkeypatch.setenv("DATABASE_URL", f"sqlite:///{fresh / 'bot.db'}")
    monkeypatch.setenv("FILES_DIR", str(fresh / "files"))
    restored = cli("db", "restore", "snapshot")
    assert restored.code == 0, restored.err
    assert restored.out == (
        f"restored {fresh / 'bot.db'} (version {_version()}) from snapshot, "
        f"1 file ({len(DEFAULT_FILE.data)} bytes) to {fresh / 'files'}\n"
    )

    async with running(fresh / "bot.db", fresh / "files", clock) as services:
        digest = hashlib.sha256(DEFAULT_FILE.data).hexdigest()
        assert await services.files.read(digest) == DEFAULT_FILE.data  # the delivered file came along
        assert await balance(services, f"owed:{WORKER}") == 0  # the approval came after the backup
        await services.deliveries.approve(delivered.guild_id, delivered.id, actor_id=delivered.client_id)
        active = await deliver(services, active, [second_file])
        await services.deliveries.approve(active.guild_id, active.id, actor_id=active.client_id)
        completed = await services.contracts.get(active.id)
        assert completed is not None and completed.status == "completed"
        assert await balance(services, f"owed:{WORKER}") == 2 * NET  # each contract paid once
        assert await ledger_violations(services.db) == []


async def test_restore_refuses_while_the_bot_runs(cli: Cli, paths: Paths) -> None:
    clock = FakeClock()
    async with running(paths.database, paths.files, clock) as services:
        await setup_guild(services)
    assert (await in_thread(cli, "db", "backup", "b")).code == 0
    before = paths.database.read_bytes()
    with RunLock(lock_path(paths.database)):  # what `python -m bot run` holds
        refused = await in_thread(cli, "db", "restore", "b")
    assert refused.code == 2
    assert refused.error_lines == [
        f"error: the bot is running on this database (pid {_pid()}, lock {lock_path(paths.database)})"
    ]
    assert paths.database.read_bytes() == before
    assert not list(paths.database.parent.glob("pre-restore-*"))


def test_run_holds_the_lock_until_it_ends(cli: Cli, paths: Paths, monkeypatch: pytest.MonkeyPatch) -> None:
    seen: list[str] = []

    async def start(self: MarketBot, token: str, *, reconnect: bool = True) -> None:
        try:
            RunLock(lock_path(paths.database)).acquire()
        except AlreadyRunning as error:
            seen.append(str(error))
        second = await asyncio.to_thread(cli, "run")  # a second bot on the same database
        seen.append(second.err)
        await self.close()

    monkeypatch.setattr(MarketBot, "start", start)
    monkeypatch.setattr(cli_module, "setup_logging", lambda **kwargs: None)  # keep pytest's handlers
    assert cli("run").code == 0
    assert seen[0].startswith("the bot is running on this database")
    assert seen[1] == f"error: {seen[0]}\n"
    with RunLock(lock_path(paths.database)):  # released on exit
        pass


def test_restore_keeps_what_it_replaces(cli: Cli, paths: Paths) -> None:
    assert cli("db", "upgrade").code == 0
    assert cli("db", "backup", "b").code == 0
    paths.files.mkdir()
    (paths.files / "old").write_bytes(b"old")
    old = paths.database.read_bytes()
    result = cli("db", "restore", "b")
    assert result.code == 0, result.err
    aside = next(paths.database.parent.glob("pre-restore-*"))
    assert result.out.endswith(f"; the previous ones are in {aside}\n")
    assert (aside / "bot.db").read_bytes() == old
    assert (aside / "files" / "old").read_bytes() == b"old"
    assert not (paths.files / "old").exists()


def test_backup_default_folder_and_refusals(cli: Cli, paths: Paths) -> None:
    assert cli("db", "backup").error_lines == [f"error: no database at {paths.database}"]
    assert cli("db", "upgrade").code == 0
    result = cli("db", "backup")
    assert result.code == 0, result.err
    (made,) = (paths.root / "backups").iterdir()
    assert (made / "bot.db").is_file() and (made / "files").is_dir()
    assert f"to {Path('backups') / made.name / 'bot.db'}, 0 files (0 bytes)" in result.out
    again = cli("db", "backup", str(made))
    assert again.error_lines == [f"error: {made} already holds a backup: choose another folder"]
    assert cli("db", "restore", "nowhere").error_lines == [f"error: no database at {Path('nowhere') / 'bot.db'}"]


def _version() -> int:
    return latest_version()


def _pid() -> int:
    return os.getpid()
