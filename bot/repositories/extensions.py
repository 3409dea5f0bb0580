"""SQL for deadline extension requests (``/contract extend``): at most one open per contract."""

from __future__ import annotations

from typing import Any

from bot.db import Conn, fetch_one
from bot.models.entities import ExtensionRequest, from_row


async def insert_extension(conn: Conn, **values: Any) -> ExtensionRequest | None:
    """None if the contract already has an open extension request (the unique index)."""
    columns = ", ".join(values)
    marks = ", ".join("?" for _ in values)
    row = await fetch_one(
        conn,
        f"INSERT INTO extension_requests ({columns}) VALUES ({marks})"
        " ON CONFLICT (contract_id) WHERE status = 'proposed' DO NOTHING RETURNING *",
        values.values(),
    )
    return from_row(ExtensionRequest, row) if row else None


async def get_extension(conn: Conn, extension_id: int) -> ExtensionRequest | None:
    row = await fetch_one(conn, "SELECT * FROM extension_requests WHERE id = ?", (extension_id,))
    return from_row(ExtensionRequest, row) if row else None


async def open_extension(conn: Conn, contract_id: int) -> ExtensionRequest | None:
    row = await fetch_one(conn, "SELECT * FROM extension_requests WHERE contract_id = ? AND status = 'proposed'",
                          (contract_id,))
    return from_row(ExtensionRequest, row) if row else None


async def extensions(conn: Conn, contract_id: int) -> list[ExtensionRequest]:
    return [
        from_row(ExtensionRequest, r)
        for r in await conn.execute_fetchall(
            "SELECT * FROM extension_requests WHERE contract_id = ? ORDER BY id", (contract_id,)
        )
    ]


async def set_extension_status(conn: Conn, extension_id: int, old: str, new: str, **sets: Any) -> bool:
    extra = "".join(f", {name} = ?" for name in sets)
    cur = await conn.execute(
        f"UPDATE extension_requests SET status = ?{extra} WHERE id = ? AND status = ?",
        (new, *sets.values(), extension_id, old),
    )
    return cur.rowcount == 1
