"""Reading and settling the durable outbox. Services write rows with ``outbox.enqueue``
(bot/repositories/outbox.py); the Discord sender (``bot/notifications/dispatcher.py``) sends
them and records the outcome here.

A row is ``pending`` until sent (before the first send attempt the sender records
``attempt_after_id``, :meth:`OutboxService.mark_attempt`: a pending row with it set may be out
already, and the sender checks the channel before sending it again); ``followup_pending`` once
its message is out (``message_id`` recorded) while its kind's follow-up (attaching files, ...)
still has to succeed: such a row is due again for the follow-up alone, never sent twice.

Every write the sender makes about a send raises :class:`RecordFailed` when the database
refuses it (read-only, disk full, locked for too long): the sender then stops rather than
send what it cannot record (bot/notifications/dispatcher.py)."""

from __future__ import annotations

import sqlite3
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import datetime, timedelta

from bot.clock import Clock
from bot.db import Conn, Database
from bot.models.entities import OutboxItem
from bot.models.timeutil import to_iso
from bot.repositories import bot_state
from bot.repositories import outbox as repo

MAX_ATTEMPTS = 8
PROBE_KEY = "outbox_write_probe"


class RecordFailed(Exception):
    """The database refused to record something about a send (the cause is chained). A
    message sent but not recorded would go out again on every pass: the sender stops."""


@asynccontextmanager
async def _recording(db: Database, what: str) -> AsyncIterator[Conn]:
    """A write transaction whose failure to write is a :class:`RecordFailed`."""
    try:
        async with db.transaction() as conn:
            yield conn
    except sqlite3.Error as error:
        raise RecordFailed(f"{what}: {type(error).__name__}: {error}") from error


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

    async def mark_attempt(self, item_id: int, after_id: int) -> None:
        """Record, before Discord is called, that a send of this row is being attempted:
        ``after_id`` is a Discord snowflake older than the message it may create (the first
        attempt's is kept). Raises :class:`RecordFailed`: then nothing is sent."""
        async with _recording(self.db, f"outbox {item_id} attempt") as conn:
            await repo.mark_attempt(conn, item_id, after_id)

    async def message_claimed(self, message_id: int, item_id: int) -> bool:
        """Whether a message found in a channel is already another row's."""
        async with self.db.read() as conn:
            return await repo.message_claimed(conn, message_id, item_id)

    async def mark_delivered(self, item_id: int, *, status: str = "sent", message_id: int | None = None,
                             note: str | None = None) -> bool:
        """``status`` is sent | fallback_thread | fallback_mod, or followup_pending (sent, a
        follow-up to run: :meth:`follow_up_done`). False if it was already settled."""
        if status not in {"sent", "fallback_thread", "fallback_mod", "followup_pending"}:
            raise ValueError(status)
        async with _recording(self.db, f"outbox {item_id} {status}") as conn:
            return await repo.mark_delivered(conn, item_id, status=status, sent_at=to_iso(self.clock.now()),
                                             message_id=message_id, note=note)

    async def mark_retry(self, item_id: int, error: str, *, delay: timedelta | None = None) -> str:
        """Schedule another attempt with exponential backoff; after MAX_ATTEMPTS it is failed
        (a ``followup_pending`` row becomes ``sent``: its message is out, the follow-up is given up)."""
        async with _recording(self.db, f"outbox {item_id} retry") as conn:
            found = await repo.pending_attempts(conn, item_id)
            if found is None:
                return "settled"
            done, status = found
            attempts = done + 1
            if attempts >= MAX_ATTEMPTS:
                final = "failed" if status == "pending" else "sent"
                await repo.give_up(conn, item_id, status=final, attempts=attempts, error=error[:500])
                return final
            wait = delay if delay is not None else timedelta(seconds=min(2**attempts * 5, 3600))
            await repo.schedule_retry(conn, item_id, attempts=attempts, error=error[:500],
                                      next_attempt_at=to_iso(self.clock.now() + wait))
            return "retry"

    async def sent_with_buttons(self, before_id: int, contract_id: int | None,
                                case_id: int | None) -> list[OutboxItem]:
        """Messages already sent for this contract or case that carry buttons (oldest first)."""
        async with self.db.read() as conn:
            return await repo.sent_with_buttons(conn, before_id, contract_id, case_id)

    async def follow_up_done(self, item_id: int, *, note: str | None = None) -> bool:
        """A ``followup_pending`` row's follow-up succeeded (or failed for good: ``note`` says
        why): the row is ``sent``. False if it was not waiting for its follow-up."""
        async with _recording(self.db, f"outbox {item_id} follow-up done") as conn:
            return await repo.follow_up_done(conn, item_id, note[:500] if note else None)

    async def mark_failed(self, item_id: int, error: str) -> None:
        async with _recording(self.db, f"outbox {item_id} failed") as conn:
            await repo.mark_failed(conn, item_id, error[:500])

    async def writes_work(self) -> bool:
        """Whether the database takes writes again: a harmless one (a ``bot_state`` stamp)."""
        try:
            async with _recording(self.db, "write probe") as conn:
                await bot_state.set_value(conn, PROBE_KEY, to_iso(self.clock.now()))
        except RecordFailed:
            return False
        return True
