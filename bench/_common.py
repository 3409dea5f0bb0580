"""Shared helpers for the benchmarks: the machine line, percentiles and fast seeding.

Seeding writes rows with plain ``sqlite3`` in one transaction on a migrated database before
the bot (or the services) open it: a benchmark's set-up, never product code. The rows are
the ones the services would have written for funded, active contracts (job filled,
application hired, contract ``active`` with ``funded_at``, ``due_at`` and ``timer_due_at``
in the future, terms v1, a confirmed deposit and its balanced ledger transaction) and for
open jobs.
"""

from __future__ import annotations

import asyncio
import os
import platform
import random
import sqlite3
import sys
import time
from collections.abc import Iterable, Sequence
from datetime import UTC, datetime, timedelta
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from bot.db import Database  # noqa: E402
from bot.models.timeutil import to_iso  # noqa: E402

# The benchmarks' frozen "now" (FakeClock's default start).
NOW = datetime(2026, 1, 5, 9, 0, tzinfo=UTC)
GUILD_ID = 900_000_000_000_000_001
CURRENCY = "JPY"
CATEGORIES = ("design", "translation", "writing", "development", "video", "audio", "data", "marketing")
WORDS = (
    "logo",
    "website",
    "translate",
    "article",
    "landing",
    "page",
    "illustration",
    "banner",
    "script",
    "video",
    "edit",
    "podcast",
    "mixing",
    "scrape",
    "dataset",
    "survey",
    "copy",
    "review",
    "manual",
    "icon",
    "poster",
    "subtitle",
    "bot",
    "plugin",
    "spreadsheet",
    "report",
    "slides",
    "mascot",
)
BACKGROUND_USER_BASE = 800_000_000_000_000_000


# -- the machine ------------------------------------------------------------------------


def cpu_model() -> str:
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine()


def loadavg() -> str:
    try:
        return " ".join(Path("/proc/loadavg").read_text().split()[:3])
    except OSError:
        return "?"


def machine_line() -> str:
    cores = os.cpu_count()
    usable = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else cores
    return (
        f"machine: {cpu_model()}, {cores} cores ({usable} usable), {platform.machine()}, "
        f"Python {platform.python_version()} ({platform.python_implementation()}), "
        f"SQLite {sqlite3.sqlite_version}, {platform.system()} {platform.release()}"
    )


def print_machine(label: str = "") -> None:
    print(machine_line())
    print(
        f"load average (1/5/15 min){' ' + label if label else ''}: {loadavg()}  "
        f"date: {datetime.now(UTC).strftime('%Y-%m-%d %H:%M UTC')}"
    )


def rss_mb() -> tuple[float, float]:
    """(VmRSS, VmHWM) of this process in MiB, from /proc/self/status."""
    values = {}
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith(("VmRSS:", "VmHWM:")):
            name, amount = line.split(":", 1)
            values[name] = int(amount.split()[0]) / 1024
    return values.get("VmRSS", 0.0), values.get("VmHWM", 0.0)


def percentile(values: Sequence[float], p: float) -> float:
    """Nearest-rank percentile (p in 0..100)."""
    if not values:
        return float("nan")
    ordered = sorted(values)
    rank = max(1, min(len(ordered), round(p / 100 * len(ordered) + 0.5)))
    return ordered[rank - 1]


# -- seeding -----------------------------------------------------------------------------


async def _migrate(path: Path) -> None:
    db = Database(path)
    await db.connect()
    try:
        await db.migrate()
    finally:
        await db.close()


def migrated(path: Path) -> None:
    """Create the database file with every migration applied (the bot's own code)."""
    asyncio.run(_migrate(path))


def _title(rng: random.Random) -> str:
    return " ".join(rng.choice(WORDS) for _ in range(rng.randint(2, 5))).capitalize()


def seed_guild(
    conn: sqlite3.Connection,
    guild_id: int = GUILD_ID,
    *,
    jobs_channel_id: int = 1,
    mod_channel_id: int = 2,
    moderator_role_id: int = 3,
    contracts_channel_id: int | None = 4,
) -> None:
    now = to_iso(NOW)
    conn.execute(
        "INSERT OR REPLACE INTO guilds (guild_id, jobs_channel_id, mod_channel_id, moderator_role_id,"
        " contracts_channel_id, currency, locale, created_at, updated_at) VALUES (?, ?, ?, ?, ?, ?, 'en', ?, ?)",
        (guild_id, jobs_channel_id, mod_channel_id, moderator_role_id, contracts_channel_id, CURRENCY, now, now),
    )


def seed_open_jobs(
    conn: sqlite3.Connection,
    count: int,
    *,
    guild_id: int = GUILD_ID,
    clients: Sequence[int] | None = None,
    seed: int = 1,
) -> None:
    rng = random.Random(seed)
    clients = clients or [BACKGROUND_USER_BASE + i for i in range(max(count // 5, 1))]
    rows = []
    for i in range(count):
        created = NOW - timedelta(minutes=count - i)
        rows.append(
            (
                guild_id,
                rng.choice(clients),
                _title(rng),
                " ".join(rng.choice(WORDS) for _ in range(rng.randint(15, 60))),
                rng.choice(CATEGORIES),
                rng.randrange(5_000, 200_000),
                CURRENCY,
                rng.choice((3, 7, 14, 30)),
                "open",
                to_iso(created),
            )
        )
    conn.executemany(
        "INSERT INTO jobs (guild_id, client_id, title, description, category, budget, currency, deadline_days,"
        " positions, filled, status, created_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, 1, 0, ?, ?)",
        rows,
    )


def seed_active_contracts(
    conn: sqlite3.Connection, pairs: Iterable[tuple[int, int]], *, guild_id: int = GUILD_ID, seed: int = 2
) -> list[int]:
    """One funded, active contract per (client, worker) pair, with everything the services
    would have written on the way (job, application, terms, deposit, ledger). Returns the ids."""
    rng = random.Random(seed)
    pairs = list(pairs)
    if not pairs:
        return []
    first_job = (conn.execute("SELECT COALESCE(MAX(id), 0) FROM jobs").fetchone()[0]) + 1
    first_app = (conn.execute("SELECT COALESCE(MAX(id), 0) FROM applications").fetchone()[0]) + 1
    first_contract = (conn.execute("SELECT COALESCE(MAX(id), 0) FROM contracts").fetchone()[0]) + 1
    first_deposit = (conn.execute("SELECT COALESCE(MAX(id), 0) FROM deposits").fetchone()[0]) + 1
    first_txn = (conn.execute("SELECT COALESCE(MAX(id), 0) FROM ledger_transactions").fetchone()[0]) + 1
    jobs, apps, contracts, terms, deposits, txns, entries = [], [], [], [], [], [], []
    for n, (client, worker) in enumerate(pairs):
        job_id, app_id, cid = first_job + n, first_app + n, first_contract + n
        deposit_id, txn_id = first_deposit + n, first_txn + n
        offered = NOW - timedelta(days=6, minutes=rng.randrange(0, 24 * 60))
        accepted = offered + timedelta(hours=2)
        declared = accepted + timedelta(hours=3)
        funded = NOW - timedelta(minutes=rng.randrange(10, 5 * 24 * 60))  # within the last 5 days
        due = funded + timedelta(days=7)
        timer = due - timedelta(days=1)  # the "deadline in a day" reminder: always in the future here
        price = rng.randrange(5_000, 200_000)
        title = _title(rng)
        jobs.append(
            (
                job_id,
                guild_id,
                client,
                title,
                f"{title}: the details",
                rng.choice(CATEGORIES),
                price,
                CURRENCY,
                "filled",
                to_iso(offered - timedelta(days=1)),
            )
        )
        apps.append(
            (
                app_id,
                job_id,
                guild_id,
                worker,
                "I can do it",
                price,
                to_iso(offered - timedelta(hours=5)),
                to_iso(offered),
            )
        )
        contracts.append(
            (
                cid,
                guild_id,
                job_id,
                app_id,
                client,
                worker,
                CURRENCY,
                to_iso(funded),
                to_iso(timer),
                to_iso(offered),
                to_iso(accepted),
                to_iso(declared),
                to_iso(funded),
                to_iso(due),
            )
        )
        terms.append((cid, f"{title}\n\nthe details", price, client, to_iso(offered)))
        deposits.append((deposit_id, cid, price, client, to_iso(declared), to_iso(funded)))
        txns.append((txn_id, guild_id, cid, f"deposit:{deposit_id}", to_iso(funded)))
        entries.append((txn_id, guild_id, f"escrow:{cid}", CURRENCY, price))
        entries.append((txn_id, guild_id, "deposits:external", CURRENCY, -price))
    conn.executemany(
        "INSERT INTO jobs (id, guild_id, client_id, title, description, category, budget, currency, deadline_days,"
        " positions, filled, status, created_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, 7, 1, 1, ?, ?)",
        jobs,
    )
    conn.executemany(
        "INSERT INTO applications (id, job_id, guild_id, worker_id, proposal, price, status, created_at, updated_at)"
        " VALUES (?, ?, ?, ?, ?, ?, 'hired', ?, ?)",
        apps,
    )
    conn.executemany(
        "INSERT INTO contracts (id, guild_id, job_id, application_id, client_id, worker_id, status, currency,"
        " terms_version, clock_at, timer_due_at, offered_at, accepted_at, deposit_declared_at, funded_at, due_at)"
        " VALUES (?, ?, ?, ?, ?, ?, 'active', ?, 1, ?, ?, ?, ?, ?, ?, ?)",
        contracts,
    )
    conn.executemany(
        "INSERT INTO contract_terms (contract_id, version, scope, price, deadline_days, revisions_included,"
        " fee_percent, created_by, created_at) VALUES (?, 1, ?, ?, 7, 2, 10, ?, ?)",
        terms,
    )
    conn.executemany(
        "INSERT INTO deposits (id, contract_id, kind, amount, provider, status, declared_by, declared_at,"
        " confirmed_by, confirmed_at) VALUES (?, ?, 'initial', ?, 'manual', 'confirmed', ?, ?, 9, ?)",
        deposits,
    )
    conn.executemany(
        "INSERT INTO ledger_transactions (id, guild_id, contract_id, kind, idempotency_key, actor_id, created_at)"
        " VALUES (?, ?, ?, 'deposit', ?, 9, ?)",
        txns,
    )
    conn.executemany(
        "INSERT INTO ledger_entries (txn_id, guild_id, account, currency, amount) VALUES (?, ?, ?, ?, ?)", entries
    )
    return list(range(first_contract, first_contract + len(pairs)))


def background_pairs(
    count: int, *, clients: int = 5_000, workers: int = 20_000, seed: int = 3
) -> list[tuple[int, int]]:
    rng = random.Random(seed)
    return [
        (BACKGROUND_USER_BASE + rng.randrange(clients), BACKGROUND_USER_BASE + clients + rng.randrange(workers))
        for _ in range(count)
    ]


def seed_market(path: Path, *, contracts: int, open_jobs: int, guild_id: int = GUILD_ID) -> float:
    """A migrated database with a configured guild, ``contracts`` active contracts and
    ``open_jobs`` open jobs. Returns the seconds it took."""
    start = time.perf_counter()
    migrated(path)
    conn = sqlite3.connect(path, isolation_level=None)
    try:
        conn.execute("PRAGMA journal_mode=WAL")
        conn.execute("BEGIN IMMEDIATE")
        seed_guild(conn, guild_id)
        seed_active_contracts(conn, background_pairs(contracts), guild_id=guild_id)
        seed_open_jobs(conn, open_jobs, guild_id=guild_id)
        conn.execute("COMMIT")
        conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    finally:
        conn.close()
    return time.perf_counter() - start


def seed_and_report(path: Path, *, contracts: int, open_jobs: int) -> None:
    """:func:`seed_market`, then one line saying what was seeded, how fast and how big."""
    seconds = seed_market(path, contracts=contracts, open_jobs=open_jobs)
    print(
        f"seeded {contracts:,} active contracts and {open_jobs:,} open jobs in {seconds:.1f} s"
        f" (database {db_size_mb(path):.0f} MB on disk)\n",
        flush=True,
    )


def db_size_mb(path: Path) -> float:
    total = 0
    for suffix in ("", "-wal", "-shm"):
        candidate = Path(f"{path}{suffix}")
        if candidate.exists():
            total += candidate.stat().st_size
    return total / 1024 / 1024
