"""The run lock: a file next to the database that a running bot holds locked.

``python -m bot run`` takes an exclusive ``flock`` on ``<database>.lock`` for as long as it
runs and writes its pid there; the kernel drops the lock when the process ends, however it
ends (a crash or ``kill -9`` leaves no stale lock, unlike a bare pid file). ``db restore``
takes the same lock, so it refuses while a bot runs, and a bot cannot start in the middle of
a restore. A second bot on the same database is refused too (two writers would each send
every notification).
"""

from __future__ import annotations

import contextlib
import fcntl
import os
from pathlib import Path
from types import TracebackType

from bot.ops.errors import OpsError


class AlreadyRunning(OpsError):
    """Another process holds the lock."""


def lock_path(database_path: Path) -> Path:
    return database_path.with_name(database_path.name + ".lock")


class RunLock:
    def __init__(self, path: Path) -> None:
        self.path = path
        self._fd: int | None = None

    def acquire(self) -> None:
        fd = os.open(self.path, os.O_RDWR | os.O_CREAT, 0o644)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            holder = os.read(fd, 32).decode("ascii", "replace").strip()
            os.close(fd)
            raise AlreadyRunning(
                f"the bot is running on this database (pid {holder or '?'}, lock {self.path})"
            ) from None
        except BaseException:
            os.close(fd)
            raise
        os.ftruncate(fd, 0)
        os.write(fd, f"{os.getpid()}\n".encode("ascii"))
        self._fd = fd

    def release(self) -> None:
        fd, self._fd = self._fd, None
        if fd is not None:
            with contextlib.suppress(OSError):
                os.ftruncate(fd, 0)
            fcntl.flock(fd, fcntl.LOCK_UN)
            os.close(fd)

    def __enter__(self) -> RunLock:
        self.acquire()
        return self

    def __exit__(self, kind: type[BaseException] | None, error: BaseException | None, tb: TracebackType | None) -> None:
        self.release()
