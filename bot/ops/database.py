"""Looking at a database file without creating or changing it.

``python -m bot db current``, ``check``, ``db backup`` and ``db restore`` must never create
a database where there was none, nor print a traceback for a path that is a folder, an
unreadable file or not SQLite at all: each case is one :class:`OpsError` line. These are
synchronous on purpose: they run in the command-line process before any event loop (or in
a worker thread), never inside the bot's loop.
"""

from __future__ import annotations

import os
import sqlite3
from pathlib import Path

from bot.db import migration_files
from bot.ops.errors import OpsError

SQLITE_HEADER = b"SQLite format 3\x00"


class NoDatabase(OpsError):
    """There is no database file at the path (nothing was created)."""


def latest_version() -> int:
    return migration_files()[-1][0]


def database_version(path: Path) -> int:
    """``PRAGMA user_version`` read through a read-only connection (``mode=ro``: SQLite
    will not create the file). An empty file is a new database, version 0."""
    if not path.exists():
        raise NoDatabase(f"no database at {path}")
    if path.is_dir():
        raise OpsError(f"database {path} is a folder, not a file")
    try:
        with path.open("rb") as file:
            header = file.read(len(SQLITE_HEADER))
    except OSError as error:
        raise OpsError(f"cannot read database {path}: {error.strerror}") from None
    if header and header != SQLITE_HEADER:
        raise OpsError(f"{path} is not an SQLite database")
    try:
        conn = sqlite3.connect(f"{path.resolve().as_uri()}?mode=ro", uri=True, timeout=5)
    except sqlite3.Error as error:
        raise OpsError(f"cannot open database {path}: {error}") from None
    try:
        row = conn.execute("PRAGMA user_version").fetchone()
        # read the schema too: a damaged file often has a sound header and a broken first page
        conn.execute("SELECT count(*) FROM sqlite_master").fetchone()
    except sqlite3.Error as error:
        raise OpsError(f"database {path} cannot be read: {error}") from None
    finally:
        conn.close()
    return int(row[0])


def creatable_folder_problem(folder: Path, what: str) -> str | None:
    """Why ``folder`` (which may not exist yet) cannot be created and written, or None."""
    probe = folder
    while not probe.exists():
        if probe.parent == probe:
            break
        probe = probe.parent
    if probe != folder and not probe.is_dir():
        return f"{what} {folder} cannot be created: {probe} is a file, not a folder"
    if not probe.is_dir():
        return f"{what} {folder} is a file, not a folder"
    if not os.access(probe, os.W_OK | os.X_OK):
        if probe == folder:
            return f"{what} {folder} is not writable"
        return f"{what} {folder} cannot be created: {probe} is not writable"
    return None


def database_problems(path: Path) -> list[str]:
    """Why the bot could not open (or create) and migrate the database at ``path``."""
    if not path.exists():
        problem = creatable_folder_problem(path.parent, "the database's folder")
        return [problem] if problem else []
    try:
        version = database_version(path)
    except OpsError as error:
        return [str(error)]
    problems: list[str] = []
    latest = latest_version()
    if version > latest:
        problems.append(f"database {path} is at version {version}, this code knows up to {latest}: upgrade the bot")
    if not os.access(path, os.R_OK | os.W_OK):
        problems.append(f"database {path} is not writable")
    if not os.access(path.parent, os.W_OK | os.X_OK):
        problems.append(f"the database's folder {path.parent} is not writable (SQLite keeps its -wal file there)")
    return problems
