"""Sending one outbox row to Discord, once: the send primitives and outcome types of the
dispatcher (bot/notifications/dispatcher.py decides where a row goes and records how it went).

What is here: :class:`Rendered` (a row as a message) and :class:`Outcome` (how it was
delivered); the exceptions the dispatcher routes on (:class:`Undeliverable`,
:class:`ThreadUnavailable`, :class:`ThreadGone`); which errors are retried (``_retryable``) or
make a thread unusable (``_unusable``); the ``AllowedMentions`` of a send (``_mentions``); and
:class:`SendSteps`, the dispatcher's mixin that posts a row's message (``_post``, ``_send``) and
finds the message of an earlier attempt (``_earlier_send``). The underscore names are the
dispatcher's own helpers, kept here with the sends they describe; the public names are also
importable from bot.notifications.dispatcher, where the features import them.

Nothing is sent twice, whenever the process dies. Before a row's first send, a Discord
snowflake a little before now is committed on it (``attempt_after_id``, ``_attempt_mark``);
every message goes out with the row's nonce (``cw<id>``, with ``enforce_nonce``), so Discord
itself returns the message already created for a resend within a few minutes. For longer gaps,
a row still pending with an attempt recorded may be out already (killed between Discord's answer
and the mark): before sending it again, the channel's messages since the attempt are read, and a
message by this bot with the same text that no other row recorded is taken as the row's
(Discord returns the nonce only on create, not in history, hence the text).
"""

from __future__ import annotations

import asyncio
import logging
from dataclasses import dataclass
from datetime import timedelta
from typing import TYPE_CHECKING, Any

import aiohttp
import discord

from bot.models.entities import OutboxItem

if TYPE_CHECKING:
    from bot.services.container import Services

log = logging.getLogger(__name__)

MAX_LENGTH = 2000
# how far this host's clock may be ahead of Discord's
CLOCK_SKEW = timedelta(minutes=2)
# messages read after a row's attempt mark to find its message from an earlier attempt
HISTORY_LIMIT = 50


@dataclass(frozen=True, slots=True)
class Rendered:
    """What a row becomes on Discord: text, an optional embed and optional buttons."""

    content: str
    embed: discord.Embed | None = None
    view: discord.ui.View | None = None


class Undeliverable(Exception):
    """There is nowhere to send this row (no guild configuration, no channel)."""


class ThreadUnavailable(Exception):
    """The contract's thread cannot be had (Discord refused to create it): the row goes to
    the mod channel, and the message (the reason) is recorded on the row."""


@dataclass(frozen=True, slots=True)
class Outcome:
    """How a row was delivered: ``status`` (sent | fallback_thread | fallback_mod), the
    message sent and, for a fallback, why (kept in the row's ``last_error``). ``message`` is
    set when the row went where it was meant to: its kind's follow-up then runs on it."""

    status: str
    message_id: int
    note: str | None = None
    message: discord.Message | None = None


def _clip(text: str) -> str:
    return text if len(text) <= MAX_LENGTH else text[: MAX_LENGTH - 1] + "…"


class ThreadGone(Exception):
    """The contract's thread was deleted (404 Unknown Channel): it is forgotten and the row
    retried, which opens a new thread for it."""


def _retryable(error: BaseException) -> bool:
    if isinstance(error, ThreadGone):
        return True
    if isinstance(error, discord.HTTPException):
        return error.status == 429 or error.status >= 500
    return isinstance(error, aiohttp.ClientError | asyncio.TimeoutError | OSError)


def _unusable(error: discord.HTTPException) -> bool:
    """A thread Discord will not let us post in: deleted (404) or no access (403)."""
    return isinstance(error, discord.NotFound | discord.Forbidden)


def _mentions(user_id: int | None) -> discord.AllowedMentions:
    if user_id is None:
        return discord.AllowedMentions.none()
    return discord.AllowedMentions(everyone=False, roles=False, replied_user=False, users=[discord.Object(user_id)])


def _nonce(item: OutboxItem) -> str:
    """The row's nonce (at most 25 characters): the same on every attempt."""
    return f"cw{item.id}"


def _attempt_mark() -> int:
    """A Discord snowflake before any message an attempt starting now may create; Discord's
    clock (``discord.utils.utcnow``), not the bot's injected one, less :data:`CLOCK_SKEW`."""
    return discord.utils.time_snowflake(discord.utils.utcnow() - CLOCK_SKEW)


class SendSteps:
    """How the :class:`~bot.notifications.dispatcher.Dispatcher` puts a row's message in a channel."""

    client: discord.Client
    services: Services

    async def _post(
        self,
        item: OutboxItem,
        channel_id: int,
        rendered: Rendered,
        mentions: discord.AllowedMentions,
    ) -> discord.Message:
        channel = self.client.get_partial_messageable(channel_id, guild_id=item.guild_id)
        return await self._send(item, channel, rendered, mentions)

    async def _send(
        self,
        item: OutboxItem,
        channel: discord.abc.Messageable,
        rendered: Rendered,
        mentions: discord.AllowedMentions,
    ) -> discord.Message:
        """Send the row's message, once: with the row's nonce (Discord returns the message
        already created instead of a new one for a resend within minutes), and, if an earlier
        attempt may have gone out, not at all when the channel already has it."""
        content = _clip(rendered.content)
        if item.attempt_after_id is not None:
            earlier = await self._earlier_send(item, channel, content)
            if earlier is not None:
                return earlier
        kwargs: dict[str, Any] = {"allowed_mentions": mentions}
        if rendered.embed is not None:
            kwargs["embed"] = rendered.embed
        if rendered.view is not None:
            kwargs["view"] = rendered.view
        # discord.py sends enforce_nonce=True with every nonce
        return await channel.send(content, nonce=_nonce(item), **kwargs)

    async def _earlier_send(
        self, item: OutboxItem, channel: discord.abc.Messageable, content: str
    ) -> discord.Message | None:
        """The row's message if an earlier attempt sent it (the bot died, or the database
        refused the mark, after Discord accepted it): among the channel's messages since the
        attempt, one by this bot with the same text that no other row has recorded. Discord
        returns a message's nonce only when it is created (not in history), hence the text."""
        me = self.client.user
        assert item.attempt_after_id is not None and me is not None
        try:
            async for message in channel.history(
                limit=HISTORY_LIMIT, after=discord.Object(item.attempt_after_id), oldest_first=True
            ):
                if (message.author.id == me.id and message.content.strip() == content.strip()
                        and not await self.services.outbox.message_claimed(message.id, item.id)):
                    log.warning("outbox %s: message %s from an earlier attempt found in channel %s; "
                                "not sending it again", item.id, message.id, message.channel.id)
                    return message
        except (discord.Forbidden, discord.NotFound) as error:
            # the send itself will fail the same way if the channel is unusable
            log.warning("outbox %s: cannot read channel %s to look for an earlier attempt (%s); sending",
                        item.id, getattr(channel, "id", "?"), error)
        return None
