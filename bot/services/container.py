"""The services the bot and the tests share, built once over one database and clock."""

from __future__ import annotations

from dataclasses import dataclass

from bot.clock import Clock
from bot.config import Settings
from bot.db import Database
from bot.services.guilds import GuildService
from bot.services.outbox import OutboxService


@dataclass
class Services:
    db: Database
    clock: Clock
    settings: Settings
    guilds: GuildService
    outbox: OutboxService

    @classmethod
    def build(cls, db: Database, clock: Clock, settings: Settings) -> Services:
        guilds = GuildService(db, clock, settings)
        return cls(
            db=db,
            clock=clock,
            settings=settings,
            guilds=guilds,
            outbox=OutboxService(db, clock),
        )
