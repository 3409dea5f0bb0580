"""The timer sweep at 100,000 active contracts.

    .venv/bin/python bench/sweep.py [--contracts 100000] [--due 5000]

Seeds (bench/_common.py) a file-backed database with ``--contracts`` funded, active
contracts whose deadline reminder lies in the future (``timer_due_at`` = due_at - 1 day),
then through the services (``Services.build``, the bot's own ``TimerService``):

1. ``EXPLAIN QUERY PLAN`` of the due query (``repositories.contracts.due_for_timers``);
2. one ``timers.sweep(now)`` when nothing is due, timed (median and max of 20 runs, after
   one warm-up). Target <= 20 ms;
3. ``--due`` contracts made due for their "deadline in a day" reminder (``due_at`` moved to
   now + 12 h, ``timer_due_at`` to the epoch, as a state change would), then one sweep,
   timed: reminders processed per second (each: its key recorded in ``timer_fires``, the
   outbox row written, the next moment set, one transaction per contract). Discord I/O is
   excluded: the outbox rows are only written, nobody sends them. Target >= 2,000/s;
4. the round trips to the database thread per reminder, and a sweep right after (nothing
   due again: every reminder fired once).
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import tempfile
import time
from datetime import timedelta
from pathlib import Path

from _common import NOW, loadavg, print_machine, seed_and_report
from lifecycle import HopCounter

from bot.clock import FakeClock
from bot.config import Settings
from bot.db import Database
from bot.models.timeutil import to_iso
from bot.repositories.contracts import TIMER_NOW
from bot.services.container import Services

DUE_QUERY = (
    "SELECT id FROM contracts WHERE timer_due_at IS NOT NULL AND timer_due_at <= ? ORDER BY timer_due_at LIMIT ?"
)


async def run(path: Path, files: Path, due: int) -> None:
    db = Database(path)
    await db.connect()
    await db.migrate()
    clock = FakeClock(NOW)
    s = Services.build(db, clock, Settings(files_dir=files))

    plan = await db.fetchall(f"EXPLAIN QUERY PLAN {DUE_QUERY}", (to_iso(NOW), 500))
    print("EXPLAIN QUERY PLAN of the due query (repositories/contracts.py due_for_timers):")
    for row in plan:
        print(f"  {row[3]}")

    report = await s.timers.sweep(NOW)  # warm-up: caches, statement cache
    assert report.contracts == 0, report
    idle: list[float] = []
    for _ in range(20):
        start = time.perf_counter()
        report = await s.timers.sweep(NOW)
        idle.append((time.perf_counter() - start) * 1000)
        assert report.contracts == 0, report
    with HopCounter() as hops:
        await s.timers.sweep(NOW)
    idle_median = statistics.median(idle)
    print(
        f"\nsweep with nothing due: median {idle_median:.2f} ms, min {min(idle):.2f}, max {max(idle):.2f}"
        f" (20 runs; {hops.count} round trips) target <= 20 ms {'met' if idle_median <= 20 else 'MISSED'}"
    )

    # make `due` contracts due for the "deadline in a day" reminder
    async with db.transaction() as conn:
        await conn.execute(
            "UPDATE contracts SET due_at = ?, timer_due_at = ? WHERE id IN"
            " (SELECT id FROM contracts WHERE status = 'active' ORDER BY id LIMIT ?)",
            (to_iso(NOW + timedelta(hours=12)), TIMER_NOW, due),
        )
    outbox_before = (await db.fetchone("SELECT COUNT(*) FROM outbox"))[0]
    with HopCounter() as hops:
        start = time.perf_counter()
        report = await s.timers.sweep(NOW)
        elapsed = time.perf_counter() - start
    outbox_after = (await db.fetchone("SELECT COUNT(*) FROM outbox"))[0]
    rate = report.reminders / elapsed
    print(f"\nsweep with {due:,} reminders due: {elapsed * 1000:,.0f} ms, {report}")
    print(
        f"  reminders processed: {rate:,.0f} /s ({elapsed / max(report.reminders, 1) * 1000:.3f} ms each,"
        f" {hops.count / max(report.reminders, 1):.1f} round trips each) target >= 2,000/s"
        f" {'met' if rate >= 2000 else 'MISSED'}"
    )
    print(f"  outbox rows written: {outbox_after - outbox_before:,} (not sent: Discord I/O excluded)")
    fires = (await db.fetchone("SELECT COUNT(*) FROM timer_fires"))[0]
    start = time.perf_counter()
    again = await s.timers.sweep(NOW)
    print(
        f"  timer_fires rows: {fires:,}; the next sweep: {again.contracts} contracts due,"
        f" {(time.perf_counter() - start) * 1000:.2f} ms"
    )
    await db.close()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--contracts", type=int, default=100_000)
    parser.add_argument("--jobs", type=int, default=10_000, help="open jobs seeded too")
    parser.add_argument("--due", type=int, default=5_000)
    args = parser.parse_args()
    print_machine("at start")
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "bot.db"
        seed_and_report(path, contracts=args.contracts, open_jobs=args.jobs)
        asyncio.run(run(path, Path(tmp) / "files", args.due))
    print(f"load average at end: {loadavg()}")


if __name__ == "__main__":
    main()
