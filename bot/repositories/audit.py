"""SQL for the audit trail (``events``): every state change appends one in its transaction."""

from __future__ import annotations

import json
from datetime import datetime
from typing import Any

from bot.db import Conn, write_later
from bot.models.entities import Event, from_row
from bot.models.timeutil import to_iso


async def record_event(
    conn: Conn,
    *,
    guild_id: int,
    kind: str,
    now: datetime,
    actor_id: int | None = None,
    contract_id: int | None = None,
    job_id: int | None = None,
    case_id: int | None = None,
    **data: Any,
) -> None:
    """Append to the audit trail (written with the transaction's other changes at commit)."""
    await write_later(
        conn,
        "INSERT INTO events (guild_id, contract_id, job_id, case_id, actor_id, kind, data, created_at)"
        " VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
        (guild_id, contract_id, job_id, case_id, actor_id, kind, json.dumps(data, default=str), to_iso(now)),
    )


async def events_for_contract(conn: Conn, contract_id: int) -> list[Event]:
    return [
        from_row(Event, row)
        for row in await conn.execute_fetchall("SELECT * FROM events WHERE contract_id = ? ORDER BY id", (contract_id,))
    ]
