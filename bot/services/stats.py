"""Figures about the whole bot for the metrics (bot/metrics.py), read from the database.

Prometheus collectors are synchronous and our database is not, so the bot reads these
after each sweep and sets its gauges, instead of querying at scrape time.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime

from bot.clock import Clock
from bot.db import Database
from bot.models.timeutil import from_iso
from bot.repositories import ledger
from bot.repositories import outbox as outbox_repo


@dataclass(frozen=True)
class Stats:
    outbox_backlog: int
    # seconds since the oldest waiting outbox row was written; 0 when none waits
    outbox_oldest_age: float
    # minor units per currency, over every guild
    escrow: dict[str, int] = field(default_factory=dict)
    owed: dict[str, int] = field(default_factory=dict)


class StatsService:
    def __init__(self, db: Database, clock: Clock) -> None:
        self.db = db
        self.clock = clock

    async def snapshot(self, now: datetime | None = None) -> Stats:
        when = now or self.clock.now()
        async with self.db.read() as conn:
            backlog, oldest = await outbox_repo.backlog(conn)
            escrow = await ledger.totals_by_currency(conn, "escrow:")
            owed = await ledger.totals_by_currency(conn, "owed:")
            refunds = await ledger.totals_by_currency(conn, "refund:")
        age = max((when - from_iso(oldest)).total_seconds(), 0.0) if oldest else 0.0
        # owed to users: worker payouts and client refunds alike wait for a moderator's payout
        total_owed = {code: owed.get(code, 0) + refunds.get(code, 0) for code in set(owed) | set(refunds)}
        return Stats(outbox_backlog=backlog, outbox_oldest_age=age, escrow=escrow, owed=total_owed)
