"""Suspensions: a moderator stops a user posting jobs and applying for a time.

A suspension is a row with who, why and until when; it ends by itself when its time has
passed (every check compares with the clock: no timer is needed), or earlier by
``/mod unsuspend``. The job service refuses a suspended user's post and application with
:func:`check_not_suspended`, in the transaction of the post or application itself.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import datetime, timedelta

from bot.clock import Clock
from bot.db import Conn, Database
from bot.errors import InvalidInput, NotAllowed, WrongState
from bot.models.durations import DurationError, parse_duration
from bot.models.entities import Suspension
from bot.models.timeutil import to_iso
from bot.repositories import suspensions as repo
from bot.repositories.audit import record_event
from bot.repositories.outbox import enqueue
from bot.services.common import clean_text
from bot.services.guilds import GuildService

log = logging.getLogger(__name__)

MAX_SUSPENSION = timedelta(days=365)


@dataclass(frozen=True, slots=True)
class Target:
    """Who a moderator means to suspend, as Discord knows them (the cog fills it in)."""

    user_id: int
    is_bot: bool = False
    is_moderator: bool = False


async def check_not_suspended(conn: Conn, guild_id: int, user_id: int, now: datetime) -> None:
    """Refuse a suspended user, telling them until when and why."""
    suspension = await repo.active(conn, guild_id, user_id, now)
    if suspension is not None:
        raise NotAllowed("error.suspended", ends_at=to_iso(suspension.ends_at), reason=suspension.reason)


class SuspensionService:
    def __init__(self, db: Database, clock: Clock, guilds: GuildService) -> None:
        self.db = db
        self.clock = clock
        self.guilds = guilds

    async def suspend(self, guild_id: int, *, moderator_id: int, target: Target, duration: str,
                      reason: str) -> Suspension:
        """Suspend ``target`` for ``duration``. Not oneself, not the bot, not another moderator
        (a moderator's conduct is the server admins' matter, not a peer's). A new suspension of a
        user already suspended replaces the old one (the moderator sets the end anew)."""
        await self.guilds.require(guild_id)
        if target.user_id == moderator_id:
            raise NotAllowed("error.suspend.self")
        if target.is_bot:
            raise NotAllowed("error.suspend.bot")
        if target.is_moderator:
            raise NotAllowed("error.suspend.moderator")
        try:
            length = parse_duration(duration)
        except DurationError:
            raise InvalidInput("error.suspend.duration", value=duration) from None
        if not timedelta(0) < length <= MAX_SUSPENSION:
            raise InvalidInput("error.suspend.duration", value=duration)
        text = clean_text("reason", reason)
        assert text is not None
        now = self.clock.now()
        async with self.db.transaction() as conn:
            replaced = await repo.lift(conn, guild_id, target.user_id, moderator_id=moderator_id, now=now)
            suspension = await repo.insert(conn, guild_id=guild_id, user_id=target.user_id,
                                           suspended_by=moderator_id, reason=text, now=now, ends_at=now + length)
            await record_event(conn, guild_id=guild_id, kind="user.suspended", now=now, actor_id=moderator_id,
                               user_id=target.user_id, ends_at=to_iso(suspension.ends_at), reason=text,
                               replaced=replaced)
            await enqueue(conn, guild_id=guild_id, target="dm", recipient_id=target.user_id,
                          message_key="notify.suspended", now=now,
                          args={"ends_at": to_iso(suspension.ends_at), "reason": text})
        log.info("guild %s user %s suspended by %s until %s", guild_id, target.user_id, moderator_id,
                 to_iso(suspension.ends_at))
        return suspension

    async def unsuspend(self, guild_id: int, *, moderator_id: int, user_id: int) -> None:
        """Lift the user's suspension before its time."""
        await self.guilds.require(guild_id)
        now = self.clock.now()
        async with self.db.transaction() as conn:
            if not await repo.lift(conn, guild_id, user_id, moderator_id=moderator_id, now=now):
                raise WrongState("error.suspend.not_suspended")
            await record_event(conn, guild_id=guild_id, kind="user.unsuspended", now=now, actor_id=moderator_id,
                               user_id=user_id)
            await enqueue(conn, guild_id=guild_id, target="dm", recipient_id=user_id,
                          message_key="notify.unsuspended", now=now, args={})
        log.info("guild %s user %s unsuspended by %s", guild_id, user_id, moderator_id)

    async def active(self, guild_id: int, user_id: int) -> Suspension | None:
        async with self.db.read() as conn:
            return await repo.active(conn, guild_id, user_id, self.clock.now())
