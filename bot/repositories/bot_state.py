"""SQL for ``bot_state``: key/value facts the bot keeps about itself."""

from __future__ import annotations

from bot.db import Conn, fetch_one


async def get_value(conn: Conn, key: str) -> str | None:
    row = await fetch_one(conn, "SELECT value FROM bot_state WHERE key = ?", (key,))
    return str(row["value"]) if row else None


async def set_value(conn: Conn, key: str, value: str) -> None:
    await conn.execute(
        "INSERT INTO bot_state (key, value) VALUES (?, ?)"
        " ON CONFLICT (key) DO UPDATE SET value = excluded.value",
        (key, value),
    )
