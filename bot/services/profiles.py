"""Profiles: the public part, the private payout details, and deleting one's personal data."""

from __future__ import annotations

import logging

from bot.clock import Clock
from bot.db import Database
from bot.errors import InvalidInput, NotAllowed
from bot.models.entities import Profile
from bot.models.timeutil import canonical_zone, to_iso
from bot.repositories import profiles as repo
from bot.repositories import thread_messages
from bot.repositories.audit import record_event
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
        async with self.db.read() as conn:
            return await repo.get_profile(conn, guild_id, user_id)

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
            await repo.save_profile(conn, guild_id, user_id, display_name=values["display_name"],
                                    headline=values["headline"], bio=values["bio"], skills=values["skills"],
                                    portfolio_url=values["portfolio_url"], now=to_iso(now))
            await record_event(conn, guild_id=guild_id, kind="profile.edited", now=now, actor_id=user_id)
        profile = await self.get(guild_id, user_id)
        assert profile is not None
        return profile

    async def set_timezone(self, guild_id: int, user_id: int, name: str) -> str:
        """The zone the user's typed deadline dates are meant in (``YYYY-MM-DD``: the end of that
        day there). An IANA name such as ``Asia/Tokyo``; returns it as zoneinfo spells it."""
        await self.guilds.require(guild_id)
        zone = canonical_zone(name)
        if zone is None:
            raise InvalidInput("error.profile.timezone", value=name)
        now = self.clock.now()
        async with self.db.transaction() as conn:
            await repo.save_timezone(conn, guild_id, user_id, zone, to_iso(now))
            await record_event(conn, guild_id=guild_id, kind="profile.timezone", now=now, actor_id=user_id, zone=zone)
        return zone

    async def set_payout(self, guild_id: int, user_id: int, details: str) -> None:
        """Store private payout details; never shown to other users."""
        await self.guilds.require(guild_id)
        text = clean_text("payout", details)
        now = self.clock.now()
        async with self.db.transaction() as conn:
            assert text is not None
            await repo.save_payout_details(conn, guild_id, user_id, text, to_iso(now))
            # the event never carries the details themselves
            await record_event(conn, guild_id=guild_id, kind="payout_details.set", now=now, actor_id=user_id)

    async def payout_details(self, guild_id: int, user_id: int, *, viewer_id: int,
                             viewer_is_moderator: bool) -> str | None:
        if viewer_id != user_id and not viewer_is_moderator:
            raise NotAllowed("error.profile.payout_private")
        async with self.db.read() as conn:
            return await repo.payout_details(conn, guild_id, user_id)

    async def delete(self, guild_id: int, user_id: int) -> bool:
        """Delete the profile and payout details, and erase the text (and file names) of the
        user's recorded contract-thread messages. The money trail of contracts stays (law), and
        so does the messages' skeleton: who wrote when, edit and deletion times, file hashes —
        a record of the contract kept for legal claims, holding no words of the user."""
        now = self.clock.now()
        async with self.db.transaction() as conn:
            deleted = await repo.delete_personal_data(conn, guild_id, user_id)
            erased = await thread_messages.erase_author_text(conn, guild_id, user_id, now)
            deleted = deleted or erased > 0
            extra = {"messages_erased": erased} if erased else {}
            await record_event(conn, guild_id=guild_id, kind="profile.deleted", now=now, actor_id=user_id,
                               had_data=deleted, **extra)
        log.info("guild %s user %s deleted their personal data", guild_id, user_id)
        return deleted
