"""SQL for the contract thread's recorded messages (evidence), their edits and attachments."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime

from bot.db import Conn, fetch_one
from bot.models.entities import from_row
from bot.models.evidence import MessageEdit, MessageFile, ThreadMessage
from bot.models.timeutil import to_iso


async def insert_message(conn: Conn, *, message_id: int, contract_id: int, guild_id: int, thread_id: int,
                         author_id: int, content: str, created_at: datetime) -> bool:
    """Record a message once; False if it was already recorded (a replayed event, the catch-up)."""
    cursor = await conn.execute(
        "INSERT INTO thread_messages (message_id, contract_id, guild_id, thread_id, author_id, content, created_at)"
        " VALUES (?, ?, ?, ?, ?, ?, ?) ON CONFLICT (message_id) DO NOTHING",
        (message_id, contract_id, guild_id, thread_id, author_id, content, to_iso(created_at)),
    )
    return bool(cursor.rowcount)


async def insert_file(conn: Conn, *, message_id: int, position: int, filename: str, size: int,
                      sha256: str | None, note: str | None) -> None:
    await conn.execute(
        "INSERT INTO thread_message_files (message_id, position, filename, size, sha256, note)"
        " VALUES (?, ?, ?, ?, ?, ?)",
        (message_id, position, filename, size, sha256, note),
    )


async def get_message(conn: Conn, message_id: int) -> ThreadMessage | None:
    row = await fetch_one(conn, "SELECT * FROM thread_messages WHERE message_id = ?", (message_id,))
    return from_row(ThreadMessage, row) if row else None


async def current_text(conn: Conn, message_id: int) -> str | None:
    """The text after the latest recorded edit (the original text if none)."""
    row = await fetch_one(
        conn,
        "SELECT content FROM thread_message_edits WHERE message_id = ? ORDER BY id DESC LIMIT 1",
        (message_id,),
    )
    if row is not None:
        return row["content"]  # type: ignore[no-any-return]
    row = await fetch_one(conn, "SELECT content FROM thread_messages WHERE message_id = ?", (message_id,))
    return row["content"] if row else None


async def insert_edit(conn: Conn, message_id: int, content: str, edited_at: datetime) -> None:
    await conn.execute(
        "INSERT INTO thread_message_edits (message_id, content, edited_at) VALUES (?, ?, ?)",
        (message_id, content, to_iso(edited_at)),
    )


async def kept_among(conn: Conn, message_ids: Iterable[int]) -> list[int]:
    """Which of these messages are kept (a bulk deletion holds at most 100 ids)."""
    wanted = list(message_ids)
    if not wanted:
        return []
    marks = ", ".join("?" * len(wanted))
    rows = await conn.execute_fetchall(
        f"SELECT message_id FROM thread_messages WHERE message_id IN ({marks}) ORDER BY message_id", wanted
    )
    return [int(r["message_id"]) for r in rows]


async def mark_deleted(conn: Conn, message_id: int, deleted_at: datetime) -> bool:
    cursor = await conn.execute(
        "UPDATE thread_messages SET deleted_at = ? WHERE message_id = ? AND deleted_at IS NULL",
        (to_iso(deleted_at), message_id),
    )
    return bool(cursor.rowcount)


async def messages_for_contract(conn: Conn, contract_id: int) -> list[ThreadMessage]:
    rows = await conn.execute_fetchall(
        "SELECT * FROM thread_messages WHERE contract_id = ? ORDER BY message_id", (contract_id,)
    )
    return [from_row(ThreadMessage, r) for r in rows]


async def edits_for_contract(conn: Conn, contract_id: int) -> list[MessageEdit]:
    rows = await conn.execute_fetchall(
        "SELECT e.* FROM thread_message_edits e JOIN thread_messages m ON m.message_id = e.message_id"
        " WHERE m.contract_id = ? ORDER BY e.id",
        (contract_id,),
    )
    return [from_row(MessageEdit, r) for r in rows]


async def files_for_contract(conn: Conn, contract_id: int) -> list[MessageFile]:
    rows = await conn.execute_fetchall(
        "SELECT f.* FROM thread_message_files f JOIN thread_messages m ON m.message_id = f.message_id"
        " WHERE m.contract_id = ? ORDER BY f.message_id, f.position",
        (contract_id,),
    )
    return [from_row(MessageFile, r) for r in rows]


async def erase_author_text(conn: Conn, guild_id: int, author_id: int, now: datetime) -> int:
    """Erase the text and file names of the author's messages in this guild's contract threads,
    keeping the skeleton (ids, author, times, edits' and deletion's times, sizes, sha256).
    Returns how many messages still had text."""
    for table, column in (("thread_message_edits", "content"), ("thread_message_files", "filename")):
        await conn.execute(
            f"UPDATE {table} SET {column} = NULL WHERE message_id IN"
            " (SELECT message_id FROM thread_messages WHERE guild_id = ? AND author_id = ?)",
            (guild_id, author_id),
        )
    cursor = await conn.execute(
        "UPDATE thread_messages SET content = NULL, erased_at = ?"
        " WHERE guild_id = ? AND author_id = ? AND erased_at IS NULL",
        (to_iso(now), guild_id, author_id),
    )
    return cursor.rowcount
