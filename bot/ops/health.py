"""The heartbeat a running bot writes, and ``python -m bot health`` reading it.

The bot rewrites ``health.json`` (next to the database) when the gateway connects, resumes
or drops, after each sweep that finished, and when its outbox dispatcher stops (the database
refuses to record sends) or resumes. ``health`` is healthy only if the writer is alive,
connected, sending (its dispatcher not stopped) and swept recently: within three scheduler
ticks plus some slack (a sweep may be late or slow; three missed ticks are not). A file, not
a ``bot_state`` row: a container health check must answer even when the database is locked or broken, and it must
not write to it.

The write is small and synchronous (``os.replace`` of a temporary file, so a reader never
sees half of it); it never raises into the bot.
"""

from __future__ import annotations

import json
import logging
import os
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

from bot.clock import Clock
from bot.models.durations import format_duration
from bot.models.timeutil import from_iso, to_iso

log = logging.getLogger(__name__)

HEALTH_FILE = "health.json"
SLACK = timedelta(seconds=30)


def health_path(database_path: Path) -> Path:
    return database_path.parent / HEALTH_FILE


def write_atomic(path: Path, text: str) -> None:
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    tmp.write_text(text, encoding="utf-8")
    os.replace(tmp, path)


class Heartbeat:
    """What the bot tells ``health``: pid, gateway connected or not, last finished sweep."""

    def __init__(self, path: Path, clock: Clock) -> None:
        self.path = path
        self.clock = clock
        self.connected = False
        self.last_sweep: datetime | None = None
        self.dispatcher_state = "ok"

    def dispatcher(self, stopped: str | None) -> None:
        """The outbox dispatcher stopped (why) or, with None, sends again."""
        self.dispatcher_state = stopped or "ok"
        self._write()

    def gateway(self, connected: bool) -> None:
        self.connected = connected
        self._write()

    def swept(self) -> None:
        self.last_sweep = self.clock.now()
        self._write()

    def _write(self) -> None:
        state: dict[str, Any] = {
            "pid": os.getpid(),
            "connected": self.connected,
            "last_sweep_at": to_iso(self.last_sweep) if self.last_sweep else None,
            "dispatcher": self.dispatcher_state,
            "updated_at": to_iso(self.clock.now()),
        }
        try:
            write_atomic(self.path, json.dumps(state))
        except OSError as error:
            log.warning("could not write the heartbeat %s (%s): `health` will report the bot down", self.path, error)


@dataclass(frozen=True)
class Health:
    healthy: bool
    line: str


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True  # exists, owned by another user
    return True


def read_health(path: Path, *, tick: timedelta, now: datetime, slack: timedelta = SLACK) -> Health:
    try:
        state = json.loads(path.read_text(encoding="utf-8"))
        pid = int(state["pid"])
        connected = bool(state["connected"])
        last_sweep = from_iso(state["last_sweep_at"]) if state["last_sweep_at"] else None
        dispatcher = str(state.get("dispatcher", "ok"))  # absent in a file from an older bot
    except FileNotFoundError:
        return Health(False, f"unhealthy: no heartbeat at {path} (is the bot running?)")
    except (OSError, ValueError, KeyError, TypeError) as error:
        return Health(False, f"unhealthy: cannot read the heartbeat {path} ({type(error).__name__})")
    if not _alive(pid):
        return Health(False, f"unhealthy: the bot that wrote {path} (pid {pid}) is not running")
    if not connected:
        return Health(False, f"unhealthy: pid {pid} is not connected to Discord")
    if dispatcher != "ok":
        return Health(False, f"unhealthy: pid {pid}'s outbox dispatcher {dispatcher}")
    limit = 3 * tick + slack
    if last_sweep is None:
        return Health(False, f"unhealthy: pid {pid} is connected but has not finished a sweep yet")
    age = max(now - last_sweep, timedelta(0))
    if age > limit:
        return Health(
            False,
            f"unhealthy: pid {pid}'s last sweep finished {format_duration(age)} ago "
            f"(more than {format_duration(limit)})",
        )
    return Health(True, f"healthy: pid {pid} connected, last sweep {format_duration(age)} ago")
