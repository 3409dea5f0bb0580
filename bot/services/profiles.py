"""Profiles: the public part, the private payout details, and deleting one's personal data."""

from __future__ import annotations

import logging

from bot.clock import Clock
from bot.db import Database
from bot.errors import InvalidInput, NotAllowed
from bot.models.entities import Profile, from_row
from bot.models.timeutil import to_iso
from bot.repositories.records import record_event
from bot.services.common import clean_text
from bot.services.guilds import GuildService

log = logging.getLogger(__name__)

PROFILE_FIELDS = ("display_name", "headline", "bio", "skills", "portfolio_url")


class ProfileService:
    def __init__(self, db: Database, clock: Clock, guilds: GuildService) -> None:
        self.db = db
        self.clock = clock
        self.guilds = guilds

    async def get(self, guild_id: int, user_id: int) -> Profile | None:
        row = await self.db.fetchone(
            "SELECT * FROM profiles WHERE guild_id = ? AND user_id = ?", (guild_id, user_id)
        )
        return from_row(Profile, row) if row else None

    async def edit(self, guild_id: int, user_id: int, **fields: str | None) -> Profile:
        """Replace the public profile fields (empty text clears a field)."""
        await self.guilds.require(guild_id)
        unknown = set(fields) - set(PROFILE_FIELDS)
        if unknown:
            raise ValueError(f"unknown profile fields {unknown}")
        values = {name: clean_text(name, fields.get(name), required=False) for name in PROFILE_FIELDS}
        url = values["portfolio_url"]
        if url and not url.startswith(("https://", "http://")):
            raise InvalidInput("error.profile.url", value=url)
        now = self.clock.now()
        async with self.db.transaction() as conn:
            await conn.execute(
                "INSERT INTO profiles (guild_id, user_id, display_name, headline, bio, skills, portfolio_url,"
                " created_at, updated_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)"
                " ON CONFLICT (guild_id, user_id) DO UPDATE SET display_name = excluded.display_name,"
                " headline = excluded.headline, bio = excluded.bio, skills = excluded.skills,"
                " portfolio_url = excluded.portfolio_url, updated_at = excluded.updated_at",
                (guild_id, user_id, *(values[n] for n in PROFILE_FIELDS), to_iso(now), to_iso(now)),
            )
            await record_event(conn, guild_id=guild_id, kind="profile.edited", now=now, actor_id=user_id)
        profile = await self.get(guild_id, user_id)
        assert profile is not None
        return profile

    async def set_payout(self, guild_id: int, user_id: int, details: str) -> None:
        """Store private payout details; never shown to other users."""
        await self.guilds.require(guild_id)
        text = clean_text("payout", details)
        now = self.clock.now()
        async with self.db.transaction() as conn:
            await conn.execute(
                "INSERT INTO payout_details (guild_id, user_id, details, updated_at) VALUES (?, ?, ?, ?)"
                " ON CONFLICT (guild_id, user_id) DO UPDATE SET details = excluded.details,"
                " updated_at = excluded.updated_at",
                (guild_id, user_id, text, to_iso(now)),
            )
            # the event never carries the details themselves
            await record_event(conn, guild_id=guild_id, kind="payout_details.set", now=now, actor_id=user_id)

    async def payout_details(self, guild_id: int, user_id: int, *, viewer_id: int,
                             viewer_is_moderator: bool) -> str | None:
        if viewer_id != user_id and not viewer_is_moderator:
            raise NotAllowed("error.profile.payout_private")
        row = await self.db.fetchone(
            "SELECT details FROM payout_details WHERE guild_id = ? AND user_id = ?", (guild_id, user_id)
        )
        return str(row["details"]) if row else None

    async def delete(self, guild_id: int, user_id: int) -> bool:
        """Delete the profile and payout details. The money trail of contracts stays (law)."""
        now = self.clock.now()
        async with self.db.transaction() as conn:
            a = await conn.execute("DELETE FROM profiles WHERE guild_id = ? AND user_id = ?", (guild_id, user_id))
            b = await conn.execute(
                "DELETE FROM payout_details WHERE guild_id = ? AND user_id = ?", (guild_id, user_id)
            )
            deleted = bool(a.rowcount or b.rowcount)
            await record_event(
                conn, guild_id=guild_id, kind="profile.deleted", now=now, actor_id=user_id, had_data=deleted
            )
        log.info("guild %s user %s deleted their personal data", guild_id, user_id)
        return deleted
