"""``python -m bot health`` reads the heartbeat a running bot writes (bot/ops/health.py)."""

from __future__ import annotations

import json
import subprocess
import sys
from datetime import timedelta
from pathlib import Path

from bot.clock import Clock, FakeClock, SystemClock
from bot.ops.health import Heartbeat, health_path, read_health
from tests.ops.conftest import Cli, Paths

TICK = timedelta(seconds=60)


def beat(path: Path, clock: Clock, *, connected: bool = True, sweep: bool = True) -> Heartbeat:
    heartbeat = Heartbeat(path, clock)
    heartbeat.gateway(connected)
    if sweep:
        heartbeat.swept()
    return heartbeat


def test_healthy_while_connected_and_sweeping(tmp_path: Path) -> None:
    clock = FakeClock()
    path = tmp_path / "health.json"
    beat(path, clock)
    clock.advance(3 * TICK + timedelta(seconds=29))
    health = read_health(path, tick=TICK, now=clock.now())
    assert health.healthy
    assert health.line.startswith("healthy: pid ") and health.line.endswith("connected, last sweep 3m29s ago")


def test_a_late_sweep_is_unhealthy(tmp_path: Path) -> None:
    clock = FakeClock()
    path = tmp_path / "health.json"
    beat(path, clock)
    clock.advance(3 * TICK + timedelta(seconds=31))
    health = read_health(path, tick=TICK, now=clock.now())
    assert not health.healthy
    assert health.line.endswith("last sweep finished 3m31s ago (more than 3m30s)")


def test_disconnected_or_not_yet_swept(tmp_path: Path) -> None:
    clock = FakeClock()
    path = tmp_path / "health.json"
    heartbeat = beat(path, clock, sweep=False)
    assert read_health(path, tick=TICK, now=clock.now()).line.endswith("connected but has not finished a sweep yet")
    heartbeat.swept()
    heartbeat.gateway(False)
    health = read_health(path, tick=TICK, now=clock.now())
    assert not health.healthy and health.line.endswith("is not connected to Discord")


def test_a_writer_that_is_gone(tmp_path: Path) -> None:
    clock = FakeClock()
    path = tmp_path / "health.json"
    beat(path, clock)
    gone = subprocess.run([sys.executable, "-c", "import os; print(os.getpid())"], capture_output=True, text=True,
                          check=True)
    pid = int(gone.stdout)
    path.write_text(json.dumps({**json.loads(path.read_text()), "pid": pid}))
    health = read_health(path, tick=TICK, now=clock.now())
    assert not health.healthy
    assert health.line == f"unhealthy: the bot that wrote {path} (pid {pid}) is not running"


def test_no_or_a_broken_heartbeat(tmp_path: Path) -> None:
    path = tmp_path / "health.json"
    assert read_health(path, tick=TICK, now=FakeClock().now()).line == (
        f"unhealthy: no heartbeat at {path} (is the bot running?)"
    )
    path.write_text("{")
    assert read_health(path, tick=TICK, now=FakeClock().now()).line == (
        f"unhealthy: cannot read the heartbeat {path} (JSONDecodeError)"
    )


def test_the_command(cli: Cli, paths: Paths) -> None:
    """Exit 1 and one line without a running bot; exit 0 once the heartbeat is fresh."""
    result = cli("health")
    assert result.code == 1
    assert result.out == f"unhealthy: no heartbeat at {health_path(paths.database)} (is the bot running?)\n"
    paths.database.parent.mkdir()
    beat(health_path(paths.database), FakeClock())  # a sweep in January 2026: long ago
    assert cli("health").code == 1
    beat(health_path(paths.database), SystemClock())
    result = cli("health")
    assert result.code == 0, result.out
    assert result.out.startswith("healthy: pid ") and result.out.count("\n") == 1
