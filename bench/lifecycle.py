"""Lifecycle throughput through the services vs. SQLite's raw ceiling on the same machine.

    .venv/bin/python bench/lifecycle.py [--lifecycles 300]

Prints complete lifecycles per second (post, apply, offer, accept, deposit, confirm,
deliver, approve, rate x2), state transitions per second, the raw ceiling (single-row
INSERT transactions per second through the same aiosqlite connection and pragmas) and the
ratio transitions/raw. Target: ratio >= 0.33 (a transition costs at most three raw
transactions).
"""

from __future__ import annotations

import argparse
import asyncio
import platform
import tempfile
import time
from pathlib import Path

from bot.clock import FakeClock
from bot.config import Settings
from bot.db import Database
from bot.services.container import Services
from bot.services.deliveries import IncomingFile

GUILD = 1
MODERATOR = 9
# transitions in one lifecycle (each a guarded state change in its own transaction)
STEPS = ("post", "apply", "offer", "accept", "deposit", "confirm", "deliver", "approve", "rate", "rate")


async def raw_ceiling(path: Path, seconds: float) -> float:
    db = Database(path)
    await db.connect()
    await db.conn.execute("CREATE TABLE IF NOT EXISTS raw (id INTEGER PRIMARY KEY, v TEXT NOT NULL)")
    count = 0
    start = time.perf_counter()
    while time.perf_counter() - start < seconds:
        async with db.transaction() as conn:
            await conn.execute("INSERT INTO raw (v) VALUES (?)", ("x",))
        count += 1
    elapsed = time.perf_counter() - start
    await db.close()
    return count / elapsed


async def lifecycles(path: Path, files: Path, n: int) -> tuple[float, float]:
    db = Database(path)
    await db.connect()
    await db.migrate()
    clock = FakeClock()
    settings = Settings(files_dir=files, policy_defaults={
        **Settings().policy_defaults, "post_cooldown": "0s", "apply_cooldown": "0s",
        "max_open_jobs": "10000", "max_open_applications": "10000"})
    s = Services.build(db, clock, settings)
    await s.guilds.setup(GUILD, actor_id=1, jobs_channel_id=2, mod_channel_id=3, moderator_role_id=4)
    start = time.perf_counter()
    for i in range(n):
        client, worker = 1000 + 2 * i, 1001 + 2 * i
        job = await s.jobs.post(GUILD, client, title=f"Job {i}", description="Make a thing", budget=10000,
                                deadline="7d")
        await s.jobs.apply(GUILD, job.id, worker, proposal="I can", price=9000)
        view = await s.contracts.offer(GUILD, client, job.id, worker)
        cid = view.contract.id
        await s.contracts.accept(GUILD, cid, actor_id=worker)
        await s.escrow.deposit(GUILD, cid, actor_id=client)
        await s.escrow.confirm(GUILD, cid, moderator_id=MODERATOR)
        await s.deliveries.deliver(GUILD, cid, actor_id=worker, files=[IncomingFile("a.txt", f"work {i}".encode())])
        await s.deliveries.approve(GUILD, cid, actor_id=client)
        await s.reputation.rate(GUILD, cid, rater_id=client, stars=5)
        await s.reputation.rate(GUILD, cid, rater_id=worker, stars=5)
    elapsed = time.perf_counter() - start
    await db.close()
    return n / elapsed, n * len(STEPS) / elapsed


async def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--lifecycles", type=int, default=300)
    parser.add_argument("--raw-seconds", type=float, default=3.0)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        raw = await raw_ceiling(Path(tmp) / "raw.db", args.raw_seconds)
        per_s, transitions = await lifecycles(Path(tmp) / "bot.db", Path(tmp) / "files", args.lifecycles)
    print(f"machine: {platform.machine()} {platform.processor() or ''} python {platform.python_version()}")
    print(f"raw ceiling (single-row INSERT transactions, same connection and pragmas): {raw:,.0f} tx/s")
    print(f"complete lifecycles: {per_s:,.1f} /s ({len(STEPS)} transitions each)")
    print(f"state transitions: {transitions:,.0f} /s")
    ratio = transitions / raw
    print(f"ratio transitions/raw: {ratio:.2f} (target >= 0.33) {'OK' if ratio >= 0.33 else 'MISSED'}")


if __name__ == "__main__":
    asyncio.run(main())
