"""``db backup`` and ``db restore``: the database and the delivered files, together.

Backup is online: SQLite's backup API copies a consistent snapshot of the database while the
bot keeps writing (WAL: readers never block the writer), then the files folder is copied.
In that order every file the backed-up database refers to is in the copy: the bot stores a
delivered file (atomically, content-addressed: bot/services/files.py) before it commits the
delivery row. A file stored after the snapshot may be copied too; nothing refers to it.

Restore is offline: it takes the run lock (bot/ops/lock.py), so it refuses while the bot
runs and the bot cannot start half-way through. What it replaces is moved aside into
``pre-restore-<time>/`` next to the database, never deleted.

A backup folder holds ``bot.db`` and ``files/``.
"""

from __future__ import annotations

import asyncio
import shutil
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

import aiosqlite

from bot.config import Settings
from bot.ops.database import database_version, latest_version
from bot.ops.errors import OpsError
from bot.ops.lock import RunLock, lock_path

DATABASE_NAME = "bot.db"
FILES_NAME = "files"
INCOMING_PREFIX = ".incoming-"  # a file being written by FileStore: not yet a stored file


@dataclass(frozen=True)
class Copied:
    """What a backup or a restore wrote."""

    database: Path
    version: int
    files_dir: Path
    files: int
    bytes: int
    moved_aside: Path | None = None


def timestamp(now: datetime | None = None) -> str:
    return (now or datetime.now(UTC)).strftime("%Y%m%dT%H%M%SZ")


def default_backup_dir(now: datetime | None = None) -> Path:
    return Path("backups") / timestamp(now)


def copy_files(source: Path, target: Path) -> tuple[int, int]:
    """Copy the files folder (missing: an empty one); returns (files, bytes)."""
    target.mkdir(parents=True, exist_ok=False)
    count = size = 0
    if not source.is_dir():
        return 0, 0
    for path in sorted(source.rglob("*")):
        if path.name.startswith(INCOMING_PREFIX) or not path.is_file():
            continue
        destination = target / path.relative_to(source)
        destination.parent.mkdir(parents=True, exist_ok=True)
        shutil.copy2(path, destination)
        count += 1
        size += destination.stat().st_size
    return count, size


async def backup(settings: Settings, folder: Path) -> Copied:
    """Snapshot the database (SQLite backup API) and copy FILES_DIR into ``folder``."""
    source_path = settings.database_path
    target, files_target = await asyncio.to_thread(_prepare, source_path, folder)
    try:
        source = await aiosqlite.connect(source_path)
        try:
            await source.execute("PRAGMA busy_timeout=5000")
            # the target's raw connection is used from the source's thread by backup()
            destination = await aiosqlite.connect(target, check_same_thread=False)
            try:
                await source.backup(destination)
            finally:
                await destination.close()
        finally:
            await source.close()
    except aiosqlite.Error as error:
        await asyncio.to_thread(target.unlink, missing_ok=True)
        raise OpsError(f"backup of {source_path} failed: {error}") from None
    version = await asyncio.to_thread(database_version, target)
    files, size = await asyncio.to_thread(copy_files, settings.files_dir, files_target)
    return Copied(target, version, files_target, files, size)


def _prepare(source: Path, folder: Path) -> tuple[Path, Path]:
    """Check the source database (one line for a missing or bad file) and make the folder."""
    database_version(source)
    target = folder / DATABASE_NAME
    files_target = folder / FILES_NAME
    if target.exists() or files_target.exists():
        raise OpsError(f"{folder} already holds a backup: choose another folder")
    try:
        folder.mkdir(parents=True, exist_ok=True)
    except OSError as error:
        raise OpsError(f"cannot create the backup folder {folder}: {error.strerror}") from None
    return target, files_target


def restore(settings: Settings, folder: Path, *, now: datetime | None = None) -> Copied:
    """Put a backup in place of the database and FILES_DIR; refuses while the bot runs."""
    source = folder / DATABASE_NAME
    version = database_version(source)
    latest = latest_version()
    if version > latest:
        raise OpsError(f"backup {source} is at version {version}, this code knows up to {latest}: upgrade the bot")
    files_source = folder / FILES_NAME
    if files_source.exists() and not files_source.is_dir():
        raise OpsError(f"{files_source} is not a folder")
    database = settings.database_path
    database.parent.mkdir(parents=True, exist_ok=True)
    with RunLock(lock_path(database)):
        aside = database.parent / f"pre-restore-{timestamp(now)}"
        moved = _move_aside(database, settings.files_dir, aside)
        incoming = database.with_name(database.name + ".restoring")
        shutil.copyfile(source, incoming)
        incoming.replace(database)
        files, size = copy_files(files_source, settings.files_dir)
    return Copied(database, version, settings.files_dir, files, size, aside if moved else None)


def _move_aside(database: Path, files_dir: Path, aside: Path) -> bool:
    """Move the current database (with its -wal and -shm: the -wal may hold committed
    pages) and files folder into ``aside``."""
    current = [database.with_name(database.name + suffix) for suffix in ("", "-wal", "-shm")]
    present = [path for path in current if path.exists()]
    if not present and not files_dir.exists():
        return False
    aside.mkdir(parents=True, exist_ok=False)
    for path in present:
        path.replace(aside / path.name)
    if files_dir.exists():
        shutil.move(files_dir, aside / FILES_NAME)
    return True
