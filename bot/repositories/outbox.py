"""SQL for the durable outbox: services write notification rows in the transaction of the
change that causes them; the dispatcher reads them and records how each went."""

from __future__ import annotations

import json
from collections.abc import Sequence
from datetime import datetime
from typing import Any

from bot.db import Conn, fetch_one, write_later
from bot.models.entities import OutboxItem, from_row
from bot.models.timeutil import to_iso


async def enqueue(
    conn: Conn,
    *,
    guild_id: int,
    target: str,
    message_key: str,
    now: datetime,
    recipient_id: int | None = None,
    contract_id: int | None = None,
    job_id: int | None = None,
    case_id: int | None = None,
    args: dict[str, Any] | None = None,
    buttons: Sequence[str] = (),
    dedupe_key: str | None = None,
) -> None:
    """Write one notification, in the transaction of the change that causes it (at commit).
    ``target`` is dm | thread | mod | board | owner (the server owner's DMs: a report about a moderator).

    ``args`` are the message placeholders (amounts as minor units with a ``currency``
    arg; the sender formats them). ``buttons`` name persistent buttons as
    ``"<resource>:<id>:<action>"`` (bot/ui/buttons.py). With a ``dedupe_key`` a second
    write of the same notification is ignored.
    """
    if target not in {"dm", "thread", "mod", "board", "retire", "owner"}:
        raise ValueError(target)
    await write_later(
        conn,
        "INSERT INTO outbox (guild_id, target, recipient_id, contract_id, job_id, case_id, message_key,"
        " args, buttons, dedupe_key, next_attempt_at, created_at)"
        " VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?) ON CONFLICT (dedupe_key) DO NOTHING",
        (
            guild_id,
            target,
            recipient_id,
            contract_id,
            job_id,
            case_id,
            message_key,
            json.dumps(args or {}, default=str),
            json.dumps(list(buttons)),
            dedupe_key,
            to_iso(now),
            to_iso(now),
        ),
    )


async def retire_buttons(
    conn: Conn,
    *,
    guild_id: int,
    specs: Sequence[str],
    now: datetime,
    contract_id: int | None = None,
    case_id: int | None = None,
) -> None:
    """The actions behind these buttons are done: the dispatcher greys them out on every message
    of this contract (or case) sent before now. A spec is ``<resource>:<id>:<action>``,
    ``<resource>:<id>:*`` (every action) or ``*`` (every button of the contract)."""
    await enqueue(
        conn,
        guild_id=guild_id,
        target="retire",
        message_key="retire",
        now=now,
        contract_id=contract_id,
        case_id=case_id,
        args={"buttons": list(specs)},
    )


async def last_dm_outcomes(conn: Conn, user_ids: Sequence[int]) -> dict[int, str]:
    """How the newest settled DM to each user went: ``sent``, or ``fallback_thread`` /
    ``fallback_mod`` (the user closed DMs); users with no settled DM yet are left out. One
    query (a scalar subquery per user, on the ``outbox_dm_recipient`` index)."""
    if not user_ids:
        return {}
    latest = (
        "(SELECT status FROM outbox WHERE target = 'dm' AND recipient_id = ?"
        " AND status IN ('sent', 'fallback_thread', 'fallback_mod') ORDER BY id DESC LIMIT 1)"
    )
    row = await fetch_one(conn, "SELECT " + ", ".join(latest for _ in user_ids), tuple(user_ids))
    assert row is not None
    return {user_id: str(row[i]) for i, user_id in enumerate(user_ids) if row[i] is not None}


async def outbox_item(conn: Conn, item_id: int) -> OutboxItem | None:
    row = await fetch_one(conn, "SELECT * FROM outbox WHERE id = ?", (item_id,))
    return from_row(OutboxItem, row) if row else None


async def due(conn: Conn, now: str, limit: int) -> list[OutboxItem]:
    """Rows to send (``pending``) or to finish (``followup_pending``) whose next attempt is due,
    oldest first."""
    rows = await conn.execute_fetchall(
        "SELECT * FROM outbox WHERE status IN ('pending', 'followup_pending') AND next_attempt_at <= ?"
        " ORDER BY id LIMIT ?",
        (now, limit),
    )
    return [from_row(OutboxItem, row) for row in rows]


async def mark_delivered(conn: Conn, item_id: int, *, status: str, sent_at: str, message_id: int | None,
                         note: str | None) -> bool:
    """Settle a pending row as sent (or sent elsewhere); False if it was already settled."""
    cur = await conn.execute(
        "UPDATE outbox SET status = ?, sent_at = ?, message_id = ?, last_error = ?,"
        " attempts = attempts + 1 WHERE id = ? AND status = 'pending'",
        (status, sent_at, message_id, note, item_id),
    )
    return cur.rowcount == 1


async def pending_attempts(conn: Conn, item_id: int) -> tuple[int, str] | None:
    """How many attempts a row still to send or finish has had, and its status; None if it is
    settled."""
    row = await fetch_one(conn, "SELECT attempts, status FROM outbox WHERE id = ?"
                                " AND status IN ('pending', 'followup_pending')", (item_id,))
    return (int(row["attempts"]), str(row["status"])) if row else None


async def give_up(conn: Conn, item_id: int, *, status: str, attempts: int, error: str) -> None:
    """The last attempt failed: the row is ``status`` for good (failed, or sent when only its
    follow-up failed)."""
    await conn.execute(
        "UPDATE outbox SET status = ?, attempts = ?, last_error = ? WHERE id = ?",
        (status, attempts, error, item_id),
    )


async def schedule_retry(conn: Conn, item_id: int, *, attempts: int, error: str, next_attempt_at: str) -> None:
    await conn.execute(
        "UPDATE outbox SET attempts = ?, last_error = ?, next_attempt_at = ? WHERE id = ?",
        (attempts, error, next_attempt_at, item_id),
    )


async def sent_with_buttons(conn: Conn, before_id: int, contract_id: int | None,
                            case_id: int | None) -> list[OutboxItem]:
    """Messages already sent for this contract or case that carry buttons (oldest first)."""
    rows = await conn.execute_fetchall(
        "SELECT * FROM outbox WHERE id < ? AND message_id IS NOT NULL AND buttons <> '[]'"
        " AND status IN ('sent', 'followup_pending', 'fallback_thread', 'fallback_mod')"
        " AND (contract_id = ? OR case_id = ?) ORDER BY id",
        (before_id, contract_id, case_id),
    )
    return [from_row(OutboxItem, row) for row in rows]


async def follow_up_done(conn: Conn, item_id: int, note: str | None) -> bool:
    """A ``followup_pending`` row is finished: ``sent``. False if it was not waiting."""
    cur = await conn.execute(
        "UPDATE outbox SET status = 'sent', last_error = ? WHERE id = ? AND status = 'followup_pending'",
        (note, item_id),
    )
    return cur.rowcount == 1


async def mark_failed(conn: Conn, item_id: int, error: str) -> None:
    """A pending row that cannot be sent at all (not retried)."""
    await conn.execute(
        "UPDATE outbox SET status = 'failed', attempts = attempts + 1, last_error = ?"
        " WHERE id = ? AND status = 'pending'",
        (error, item_id),
    )


async def mark_attempt(conn: Conn, item_id: int, after_id: int) -> None:
    """A send of a pending row is about to be attempted: keep the first attempt's snowflake."""
    await conn.execute(
        "UPDATE outbox SET attempt_after_id = COALESCE(attempt_after_id, ?) WHERE id = ? AND status = 'pending'",
        (after_id, item_id),
    )


async def message_claimed(conn: Conn, message_id: int, item_id: int) -> bool:
    """Whether another row recorded ``message_id`` as its sent message."""
    row = await fetch_one(conn, "SELECT 1 FROM outbox WHERE message_id = ? AND id <> ? LIMIT 1",
                          (message_id, item_id))
    return row is not None
async def backlog(conn: Conn) -> tuple[int, str | None]:
    """How many rows wait to be sent (or for their follow-up), and the oldest one's creation time."""
    row = await fetch_one(
        conn, "SELECT COUNT(*), MIN(created_at) FROM outbox WHERE status IN ('pending', 'followup_pending')"
    )
    if row is None:
        return 0, None
    return int(row[0]), row[1]
