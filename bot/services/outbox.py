"""Reading and settling the durable outbox. Services write rows with ``outbox.enqueue``
(bot/repositories/outbox.py); the Discord sender (``bot/ui/notify.py``) sends them and
records the outcome here."""

from __future__ import annotations

from datetime import datetime, timedelta

from bot.clock import Clock
from bot.db import Database
from bot.models.entities import OutboxItem
from bot.models.timeutil import to_iso
from bot.repositories import outbox as repo

MAX_ATTEMPTS = 8


class OutboxService:
    def __init__(self, db: Database, clock: Clock) -> None:
        self.db = db
        self.clock = clock

    async def due(self, now: datetime | None = None, limit: int = 50) -> list[OutboxItem]:
        when = to_iso(now or self.clock.now())
        async with self.db.read() as conn:
            return await repo.due(conn, when, limit)

    async def get(self, item_id: int) -> OutboxItem | None:
        async with self.db.read() as conn:
            return await repo.outbox_item(conn, item_id)

    async def mark_delivered(self, item_id: int, *, status: str = "sent", message_id: int | None = None,
                             note: str | None = None) -> bool:
        """``status`` is sent | fallback_thread | fallback_mod. False if it was already settled."""
        if status not in {"sent", "fallback_thread", "fallback_mod"}:
            raise ValueError(status)
        async with self.db.transaction() as conn:
            return await repo.mark_delivered(conn, item_id, status=status, sent_at=to_iso(self.clock.now()),
                                             message_id=message_id, note=note)

    async def mark_retry(self, item_id: int, error: str, *, delay: timedelta | None = None) -> str:
        """Schedule another attempt with exponential backoff; after MAX_ATTEMPTS it is failed."""
        async with self.db.transaction() as conn:
            done = await repo.pending_attempts(conn, item_id)
            if done is None:
                return "settled"
            attempts = done + 1
            if attempts >= MAX_ATTEMPTS:
                await repo.give_up(conn, item_id, attempts=attempts, error=error[:500])
                return "failed"
            wait = delay if delay is not None else timedelta(seconds=min(2**attempts * 5, 3600))
            await repo.schedule_retry(conn, item_id, attempts=attempts, error=error[:500],
                                      next_attempt_at=to_iso(self.clock.now() + wait))
            return "retry"

    async def sent_with_buttons(self, before_id: int, contract_id: int | None,
                                case_id: int | None) -> list[OutboxItem]:
        """Messages already sent for this contract or case that carry buttons (oldest first)."""
        async with self.db.read() as conn:
            return await repo.sent_with_buttons(conn, before_id, contract_id, case_id)

    async def mark_failed(self, item_id: int, error: str) -> None:
        async with self.db.transaction() as conn:
            await repo.mark_failed(conn, item_id, error[:500])
