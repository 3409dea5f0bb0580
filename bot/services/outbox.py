"""Reading and settling the durable outbox. Services write rows with ``records.enqueue``;
the Discord sender (``bot/notifications/dispatcher.py``) sends them and records the outcome
here.

A row is ``pending`` until sent; ``followup_pending`` once its message is out (``message_id``
recorded) while its kind's follow-up (attaching files, ...) still has to succeed: such a row
is due again for the follow-up alone, never sent twice."""

from __future__ import annotations

from datetime import datetime, timedelta

from bot.clock import Clock
from bot.db import Database, fetch_one
from bot.models.entities import OutboxItem, from_row
from bot.models.timeutil import to_iso

MAX_ATTEMPTS = 8


class OutboxService:
    def __init__(self, db: Database, clock: Clock) -> None:
        self.db = db
        self.clock = clock

    async def due(self, now: datetime | None = None, limit: int = 50) -> list[OutboxItem]:
        when = to_iso(now or self.clock.now())
        rows = await self.db.fetchall(
            "SELECT * FROM outbox WHERE status IN ('pending', 'followup_pending') AND next_attempt_at <= ?"
            " ORDER BY id LIMIT ?",
            (when, limit),
        )
        return [from_row(OutboxItem, row) for row in rows]

    async def get(self, item_id: int) -> OutboxItem | None:
        row = await self.db.fetchone("SELECT * FROM outbox WHERE id = ?", (item_id,))
        return from_row(OutboxItem, row) if row else None

    async def mark_delivered(self, item_id: int, *, status: str = "sent", message_id: int | None = None,
                             note: str | None = None) -> bool:
        """``status`` is sent | fallback_thread | fallback_mod, or followup_pending (sent, a
        follow-up to run: :meth:`follow_up_done`). False if it was already settled."""
        if status not in {"sent", "fallback_thread", "fallback_mod", "followup_pending"}:
            raise ValueError(status)
        async with self.db.transaction() as conn:
            cur = await conn.execute(
                "UPDATE outbox SET status = ?, sent_at = ?, message_id = ?, last_error = ?,"
                " attempts = attempts + 1 WHERE id = ? AND status = 'pending'",
                (status, to_iso(self.clock.now()), message_id, note, item_id),
            )
            return cur.rowcount == 1

    async def mark_retry(self, item_id: int, error: str, *, delay: timedelta | None = None) -> str:
        """Schedule another attempt with exponential backoff; after MAX_ATTEMPTS it is failed
        (a ``followup_pending`` row becomes ``sent``: its message is out, the follow-up is given up)."""
        async with self.db.transaction() as conn:
            row = await fetch_one(conn, "SELECT attempts, status FROM outbox WHERE id = ?"
                                        " AND status IN ('pending', 'followup_pending')", (item_id,))
            if row is None:
                return "settled"
            attempts = int(row["attempts"]) + 1
            if attempts >= MAX_ATTEMPTS:
                final = "failed" if row["status"] == "pending" else "sent"
                await conn.execute(
                    "UPDATE outbox SET status = ?, attempts = ?, last_error = ? WHERE id = ?",
                    (final, attempts, error[:500], item_id),
                )
                return final
            wait = delay if delay is not None else timedelta(seconds=min(2**attempts * 5, 3600))
            await conn.execute(
                "UPDATE outbox SET attempts = ?, last_error = ?, next_attempt_at = ? WHERE id = ?",
                (attempts, error[:500], to_iso(self.clock.now() + wait), item_id),
            )
            return "retry"

    async def sent_with_buttons(self, before_id: int, contract_id: int | None,
                                case_id: int | None) -> list[OutboxItem]:
        """Messages already sent for this contract or case that carry buttons (oldest first)."""
        rows = await self.db.fetchall(
            "SELECT * FROM outbox WHERE id < ? AND message_id IS NOT NULL AND buttons <> '[]'"
            " AND status IN ('sent', 'followup_pending', 'fallback_thread', 'fallback_mod')"
            " AND (contract_id = ? OR case_id = ?) ORDER BY id",
            (before_id, contract_id, case_id),
        )
        return [from_row(OutboxItem, row) for row in rows]

    async def follow_up_done(self, item_id: int, *, note: str | None = None) -> bool:
        """A ``followup_pending`` row's follow-up succeeded (or failed for good: ``note`` says
        why): the row is ``sent``. False if it was not waiting for its follow-up."""
        async with self.db.transaction() as conn:
            cur = await conn.execute(
                "UPDATE outbox SET status = 'sent', last_error = ? WHERE id = ? AND status = 'followup_pending'",
                (note[:500] if note else None, item_id),
            )
            return cur.rowcount == 1

    async def mark_failed(self, item_id: int, error: str) -> None:
        async with self.db.transaction() as conn:
            await conn.execute(
                "UPDATE outbox SET status = 'failed', attempts = attempts + 1, last_error = ?"
                " WHERE id = ? AND status = 'pending'",
                (error[:500], item_id),
            )
