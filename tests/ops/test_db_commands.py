"""``db current`` / ``db upgrade`` never create what is not there and never print a
traceback; a corrupt file stops every command (and a started bot) in one line."""

from __future__ import annotations

import asyncio
import os
import sqlite3
import subprocess
import sys
import threading
from pathlib import Path

import pytest

from bot.db import Database
from bot.ops.database import latest_version
from tests.ops.conftest import Cli, Paths, subprocess_cli

RANDOM_BYTES = bytes(range(256)) * 64


def test_current_on_a_missing_database_creates_nothing(cli: Cli, paths: Paths) -> None:
    result = cli("db", "current")
    assert result.code == 2
    assert result.error_lines == [f"error: no database at {paths.database}"]
    assert not paths.database.parent.exists()


def test_current_after_upgrade(cli: Cli, paths: Paths) -> None:
    line = f"database {paths.database}: version {latest_version()} (latest {latest_version()})\n"
    assert cli("db", "upgrade").out == line
    assert cli("db", "current").out == line


def test_current_on_a_database_the_bot_has_open(cli: Cli, paths: Paths) -> None:
    """A WAL database in use (its -wal and -shm files present) is read without a lock wait."""
    assert cli("db", "upgrade").code == 0

    async def read_while_open() -> None:
        db = Database(paths.database)
        await db.connect()
        try:
            async with db.transaction() as conn:
                await conn.execute("INSERT INTO bot_state (key, value) VALUES ('x', 'y')")
            assert cli("db", "current").code == 0
        finally:
            await db.close()

    asyncio.run(read_while_open())


@pytest.mark.parametrize("command", ["current", "upgrade"])
def test_a_folder_where_the_database_should_be(cli: Cli, paths: Paths, command: str) -> None:
    paths.database.mkdir(parents=True)
    result = cli("db", command)
    assert result.code == 2
    assert result.error_lines == [f"error: database {paths.database} is a folder, not a file"]


@pytest.mark.parametrize("command", ["current", "upgrade"])
def test_random_bytes(cli: Cli, paths: Paths, command: str) -> None:
    paths.database.parent.mkdir()
    paths.database.write_bytes(RANDOM_BYTES)
    result = cli("db", command)
    assert result.code == 2
    assert result.error_lines == [f"error: {paths.database} is not an SQLite database"]
    assert paths.database.read_bytes() == RANDOM_BYTES


@pytest.mark.parametrize("command", ["current", "upgrade"])
def test_an_sqlite_header_over_garbage(cli: Cli, paths: Paths, command: str) -> None:
    paths.database.parent.mkdir()
    paths.database.write_bytes(b"SQLite format 3\x00" + RANDOM_BYTES)
    lines = cli("db", command).error_lines
    assert len(lines) == 1 and lines[0].startswith(f"error: database {paths.database} cannot be read: ")


def test_upgrade_where_the_folder_cannot_be_created(cli: Cli, paths: Paths) -> None:
    paths.database.parent.write_text("a file")
    result = cli("db", "upgrade")
    assert result.code == 2
    assert result.error_lines == [
        f"error: the database's folder {paths.database.parent} is a file, not a folder"
    ]


async def test_connect_closes_its_thread_when_a_pragma_fails(tmp_path: Path) -> None:
    """Random bytes fail at the first pragma: the connection's thread must not outlive it."""
    path = tmp_path / "bot.db"
    path.write_bytes(RANDOM_BYTES)
    before = set(threading.enumerate())
    db = Database(path)
    with pytest.raises(sqlite3.DatabaseError):
        await db.connect()
    leftover = [t for t in threading.enumerate() if t not in before and t.is_alive()]
    for thread in leftover:
        thread.join(timeout=5)
    assert not [t for t in leftover if t.is_alive()]
    assert db._conn is None


@pytest.mark.parametrize("argv", [("db", "current"), ("db", "upgrade"), ("check",), ("run",), ()])
def test_a_corrupt_database_in_a_real_process(paths: Paths, argv: tuple[str, ...]) -> None:
    """One line, a non-zero exit, no traceback and no hang (the timeout fails the test)."""
    paths.database.parent.mkdir()
    paths.database.write_bytes(RANDOM_BYTES)
    result = subprocess_cli(*argv, cwd=paths.root, timeout=60)
    assert result.code == 2
    assert result.error_lines == [f"error: {paths.database} is not an SQLite database"]


# A bot whose login succeeds (no network in tests) and whose database check passed before
# the file was damaged: setup_hook then opens the corrupt file.
PAST_THE_CHECK = """
import sys
import bot.__main__ as cli
from bot.app import MarketBot

async def start(self, token, *, reconnect=True):
    await self.setup_hook()

MarketBot.start = start
cli._check = lambda: cli._settings(require_token=True)
sys.exit(cli.main(["run"]))
"""


def test_a_started_bot_on_a_database_that_fails_at_open(paths: Paths) -> None:
    """One line, exit code 2, and the process ends (no aiosqlite thread left behind)."""
    paths.database.parent.mkdir()
    paths.database.write_bytes(RANDOM_BYTES)
    done = subprocess.run([sys.executable, "-c", PAST_THE_CHECK], cwd=paths.root, env=dict(os.environ),
                          capture_output=True, text=True, timeout=60, check=False)
    assert done.returncode == 2, done.stderr
    assert "Traceback" not in done.stderr
    assert done.stderr.splitlines()[-1] == f"error: database {paths.database}: file is not a database"


def test_the_installed_crowdwork_bot_script(paths: Paths) -> None:
    """``crowdwork-bot`` ([project.scripts]) is ``python -m bot``: main's return is the exit code."""
    script = Path(sys.executable).parent / "crowdwork-bot"
    assert script.is_file(), "reinstall the project (pip install -e .) to get the script"
    done = subprocess.run([str(script), "db", "current"], cwd=paths.root, env=dict(os.environ),
                          capture_output=True, text=True, timeout=60, check=False)
    assert done.returncode == 2
    assert done.stderr == f"error: no database at {paths.database}\n"
    done = subprocess.run([str(script), "check"], cwd=paths.root, env=dict(os.environ),
                          capture_output=True, text=True, timeout=60, check=False)
    assert done.returncode == 0 and done.stdout.startswith("OK: ")
