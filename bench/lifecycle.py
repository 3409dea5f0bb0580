"""Lifecycle throughput through the services vs. SQLite's raw ceiling on the same machine.

    .venv/bin/python bench/lifecycle.py [--lifecycles 300] [--profile]

Prints complete lifecycles per second (post, apply, offer, accept, deposit, confirm,
deliver, approve, rate x2), state transitions per second, the raw ceiling (single-row
INSERT transactions per second through the same aiosqlite connection and pragmas) and the
ratio transitions/raw. Target: ratio >= 0.33 (a transition costs at most three raw
transactions).

Then, per step, the round trips to aiosqlite's database thread (each ``await`` on the
connection is one hop: queue the call, wake the thread, resolve the future on the loop)
and the time per step, measured on separate lifecycles after the timed run. A raw
transaction is three hops (BEGIN IMMEDIATE, INSERT, COMMIT). ``--profile`` adds a cProfile
of the timed run (top functions by own time).
"""

from __future__ import annotations

import argparse
import asyncio
import cProfile
import io
import pstats
import sqlite3
import tempfile
import time
from collections import defaultdict
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

import aiosqlite
from _common import loadavg, print_machine

from bot.clock import FakeClock
from bot.config import Settings
from bot.db import Database
from bot.services.container import Services
from bot.services.deliveries import IncomingFile

GUILD = 1
MODERATOR = 9
# transitions in one lifecycle (each a guarded state change in its own transaction)
STEPS = ("post", "apply", "offer", "accept", "deposit", "confirm", "deliver", "approve", "rate", "rate")


class HopCounter:
    """Counts calls that cross to aiosqlite's thread (``Connection._execute``)."""

    def __init__(self, trace: list[str] | None = None) -> None:
        self.count = 0
        self.trace = trace
        self._original = aiosqlite.Connection._execute

    def __enter__(self) -> HopCounter:
        original, counter = self._original, self

        async def counted(conn: aiosqlite.Connection, fn: Any, *args: Any, **kwargs: Any) -> Any:
            counter.count += 1
            if counter.trace is not None:
                name = getattr(fn, "__name__", repr(fn))
                sql = " ".join(str(args[0]).split()) if args and isinstance(args[0], str) else ""
                counter.trace.append(f"{name}: {sql[:110]}")
            return await original(conn, fn, *args, **kwargs)

        aiosqlite.Connection._execute = counted  # type: ignore[method-assign]
        return self

    def __exit__(self, *exc: object) -> None:
        aiosqlite.Connection._execute = self._original  # type: ignore[method-assign]


PRAGMAS = ("PRAGMA journal_mode=WAL", "PRAGMA foreign_keys=ON", "PRAGMA busy_timeout=5000", "PRAGMA synchronous=NORMAL")
RAW_TABLE = "CREATE TABLE IF NOT EXISTS raw (id INTEGER PRIMARY KEY, v TEXT NOT NULL)"


async def raw_ceiling(path: Path, seconds: float) -> float:
    """SQLite's ceiling as an asyncio program reaches it: a plain aiosqlite connection (the
    bot's pragmas), each single-row INSERT transaction sent the ordinary way, BEGIN
    IMMEDIATE, INSERT and COMMIT as three calls. The reference of the target."""
    conn = await aiosqlite.connect(path, isolation_level=None)
    for pragma in PRAGMAS:
        async with conn.execute(pragma) as cur:
            await cur.fetchall()
    await conn.execute(RAW_TABLE)
    count = 0
    start = time.perf_counter()
    while time.perf_counter() - start < seconds:
        await conn.execute("BEGIN IMMEDIATE")
        await conn.execute("INSERT INTO raw (v) VALUES (?)", ("x",))
        await conn.execute("COMMIT")
        count += 1
    elapsed = time.perf_counter() - start
    await conn.close()
    return count / elapsed


async def pipelined_ceiling(path: Path, seconds: float) -> float:
    """The same transaction through the bot's ``Database.transaction()``, which sends the
    BEGIN with the INSERT: two round trips instead of three."""
    db = Database(path)
    await db.connect()
    await db.conn.execute(RAW_TABLE)
    count = 0
    start = time.perf_counter()
    while time.perf_counter() - start < seconds:
        async with db.transaction() as conn:
            await conn.execute("INSERT INTO raw (v) VALUES (?)", ("x",))
        count += 1
    elapsed = time.perf_counter() - start
    await db.close()
    return count / elapsed


def thread_ceiling(path: Path, seconds: float) -> float:
    """SQLite alone, no event loop: the same transactions from one thread with ``sqlite3``."""
    conn = sqlite3.connect(path, isolation_level=None)
    for pragma in PRAGMAS:
        conn.execute(pragma).fetchall()
    conn.execute(RAW_TABLE)
    count = 0
    start = time.perf_counter()
    while time.perf_counter() - start < seconds:
        conn.execute("BEGIN IMMEDIATE")
        conn.execute("INSERT INTO raw (v) VALUES (?)", ("x",))
        conn.execute("COMMIT")
        count += 1
    elapsed = time.perf_counter() - start
    conn.close()
    return count / elapsed


async def open_services(path: Path, files: Path) -> Services:
    db = Database(path)
    await db.connect()
    await db.migrate()
    clock = FakeClock()
    settings = Settings(
        files_dir=files,
        policy_defaults={
            **Settings().policy_defaults,
            "post_cooldown": "0s",
            "apply_cooldown": "0s",
            "max_open_jobs": "10000",
            "max_open_applications": "10000",
        },
    )
    s = Services.build(db, clock, settings)
    await s.guilds.setup(GUILD, actor_id=1, jobs_channel_id=2, mod_channel_id=3, moderator_role_id=4)
    return s


Step = Callable[[str, Awaitable[Any]], Awaitable[Any]]


async def plain(_name: str, call: Awaitable[Any]) -> Any:
    return await call


async def one_lifecycle(s: Services, i: int, step: Step = plain) -> None:
    client, worker = 1000 + 2 * i, 1001 + 2 * i
    job = await step(
        "post", s.jobs.post(GUILD, client, title=f"Job {i}", description="Make a thing", budget=10000, deadline="7d")
    )
    await step("apply", s.jobs.apply(GUILD, job.id, worker, proposal="I can", price=9000))
    view = await step("offer", s.contracts.offer(GUILD, client, job.id, worker))
    cid = view.contract.id
    await step("accept", s.contracts.accept(GUILD, cid, actor_id=worker))
    await step("deposit", s.escrow.deposit(GUILD, cid, actor_id=client))
    await step("confirm", s.escrow.confirm(GUILD, cid, moderator_id=MODERATOR))
    await step(
        "deliver",
        s.deliveries.deliver(GUILD, cid, actor_id=worker, files=[IncomingFile("a.txt", f"work {i}".encode())]),
    )
    await step("approve", s.deliveries.approve(GUILD, cid, actor_id=client))
    await step("rate", s.reputation.rate(GUILD, cid, rater_id=client, stars=5))
    await step("rate", s.reputation.rate(GUILD, cid, rater_id=worker, stars=5))


async def lifecycles(s: Services, n: int, first: int = 0) -> tuple[float, float]:
    start = time.perf_counter()
    for i in range(first, first + n):
        await one_lifecycle(s, i)
    elapsed = time.perf_counter() - start
    return n / elapsed, n * len(STEPS) / elapsed


async def per_step(s: Services, n: int, first: int) -> dict[str, tuple[float, float]]:
    """name -> (round trips per call, ms per call), over ``n`` lifecycles."""
    hops: dict[str, int] = defaultdict(int)
    seconds: dict[str, float] = defaultdict(float)
    calls: dict[str, int] = defaultdict(int)
    with HopCounter() as counter:

        async def step(name: str, call: Awaitable[Any]) -> Any:
            before, start = counter.count, time.perf_counter()
            result = await call
            seconds[name] += time.perf_counter() - start
            hops[name] += counter.count - before
            calls[name] += 1
            return result

        for i in range(first, first + n):
            await one_lifecycle(s, i, step)
    return {name: (hops[name] / calls[name], seconds[name] / calls[name] * 1000) for name in calls}


async def trace_lifecycle(s: Services, first: int) -> dict[str, list[str]]:
    """The statements each step sends to the database thread, one lifecycle."""
    traces: dict[str, list[str]] = defaultdict(list)
    lines: list[str] = []
    with HopCounter(lines):

        async def step(name: str, call: Awaitable[Any]) -> Any:
            lines.clear()
            result = await call
            traces[name if name not in traces else name + " (2)"] = list(lines)
            return result

        await one_lifecycle(s, first, step)
    return traces


async def pipelined_hops(path: Path) -> int:
    db = Database(path)
    await db.connect()
    with HopCounter() as counter:
        async with db.transaction() as conn:
            await conn.execute("INSERT INTO raw (v) VALUES (?)", ("x",))
    await db.close()
    return counter.count


async def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--lifecycles", type=int, default=300)
    parser.add_argument("--raw-seconds", type=float, default=3.0)
    parser.add_argument("--profile", action="store_true", help="cProfile the timed lifecycles")
    parser.add_argument("--trace", action="store_true", help="print each step's round trips (the SQL sent)")
    args = parser.parse_args()
    print_machine("at start")
    profile = cProfile.Profile() if args.profile else None
    with tempfile.TemporaryDirectory() as tmp:
        raw = await raw_ceiling(Path(tmp) / "raw.db", args.raw_seconds)
        pipelined = await pipelined_ceiling(Path(tmp) / "pipelined.db", args.raw_seconds)
        hops_pipelined = await pipelined_hops(Path(tmp) / "pipelined.db")
        alone = thread_ceiling(Path(tmp) / "alone.db", args.raw_seconds)
        s = await open_services(Path(tmp) / "bot.db", Path(tmp) / "files")
        await lifecycles(s, 10, first=10**6)  # warm-up (imports, caches), not timed
        if profile is not None:
            profile.enable()
        per_s, transitions = await lifecycles(s, args.lifecycles)
        if profile is not None:
            profile.disable()
        steps = await per_step(s, 50, first=2 * 10**6)
        traces = await trace_lifecycle(s, 3 * 10**6) if args.trace else {}
        await s.db.close()
    print(
        f"raw ceiling (single-row INSERT transactions, plain aiosqlite, same pragmas): {raw:,.0f} tx/s"
        f" (3 round trips each, {1000 / raw / 3:.3f} ms per round trip)"
    )
    print(
        f"  for reference: the same through the bot's Database.transaction(): {pipelined:,.0f} tx/s"
        f" ({hops_pipelined} round trips); sqlite3 alone in one thread, no event loop: {alone:,.0f} tx/s"
    )
    print(f"complete lifecycles: {per_s:,.1f} /s ({len(STEPS)} transitions each)")
    print(f"state transitions: {transitions:,.0f} /s ({1000 / transitions:.2f} ms each)")
    ratio = transitions / raw
    print(f"ratio transitions/raw: {ratio:.2f} (target >= 0.33) {'OK' if ratio >= 0.33 else 'MISSED'}")
    print(
        f"  for reference: transitions/pipelined {transitions / pipelined:.2f},"
        f" transitions/alone {transitions / alone:.2f}"
    )
    print("\nper step (50 lifecycles after the timed run): round trips to the database thread, ms per call")
    total_hops = total_ms = 0.0
    for name in dict.fromkeys(STEPS):
        hops, ms = steps[name]
        weight = STEPS.count(name)
        total_hops += hops * weight
        total_ms += ms * weight
        print(f"  {name:<8} {hops:5.1f} round trips  {ms:6.2f} ms")
    print(
        f"  {'mean':<8} {total_hops / len(STEPS):5.1f} round trips  {total_ms / len(STEPS):6.2f} ms"
        f"  (a raw transaction: 3 round trips, {1000 / raw:.2f} ms)"
    )
    print(f"load average at end: {loadavg()}")
    if traces:
        print("\nround trips of one lifecycle, per step:")
        for name, lines in traces.items():
            print(f"  {name} ({len(lines)}):")
            for line in lines:
                print(f"      {line}")
    if profile is not None:
        out = io.StringIO()
        stats = pstats.Stats(profile, stream=out)
        stats.sort_stats("tottime").print_stats(25)
        print(
            "\ncProfile of the timed run, by own time (the event loop's select() is the wait for the database thread):"
        )
        print(out.getvalue())


if __name__ == "__main__":
    asyncio.run(main())
