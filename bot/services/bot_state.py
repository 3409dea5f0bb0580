"""Key/value facts the bot keeps about itself (``bot_state``), such as the last synced
command-tree hash. Not marketplace data: no events, no outbox."""

from __future__ import annotations

from bot.db import Database
from bot.repositories import bot_state as repo


class BotState:
    def __init__(self, db: Database) -> None:
        self.db = db

    async def get(self, key: str) -> str | None:
        async with self.db.read() as conn:
            return await repo.get_value(conn, key)

    async def set(self, key: str, value: str) -> None:
        async with self.db.transaction() as conn:
            await repo.set_value(conn, key, value)
