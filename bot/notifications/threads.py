"""The contract's private thread: where ``thread`` outbox rows of a contract are posted.

The thread is created lazily (:class:`ContractThreads`, the dispatcher's ``thread_resolver``,
wired in bot/notifications/registry.py): the first row that must go to the thread of an
accepted contract creates a private thread in the guild's contracts channel (the jobs channel
if none is set), adds both parties, posts the terms card and pins it. Offers that were never
accepted have no thread (the dispatcher then writes a note in the mod channel). A
``thread.terms_changed`` row edits the pinned card to the new version (its follow-up).
"""

from __future__ import annotations

import contextlib
import logging
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Literal, NoReturn

import discord

from bot.i18n import t
from bot.models.entities import Contract, OutboxItem
from bot.notifications.dispatcher import ThreadUnavailable
from bot.ui.buttons import build_view
from bot.ui.contract_views import CONTENT, NO_MENTIONS, clip, terms_embed

if TYPE_CHECKING:
    from bot.app import MarketBot

log = logging.getLogger(__name__)

THREAD_NAME = 100
THREAD_ARCHIVE_MINUTES: Literal[10080] = 10080  # a week: contracts run for days


class ContractThreads:
    """The outbox dispatcher's ``thread_resolver`` and the pinned terms card.

    Called only by the dispatcher, whose passes are serialized, so two rows never create two
    threads for one contract. The thread id is stored as soon as Discord created the thread;
    both parties are then added (again on the next row if Discord answered 429 / 5xx, so a
    thread is never created twice). The terms card is a convenience (``/contract view`` shows
    the same), so failing to post or pin it is logged and the row still goes to the thread.

    When Discord refuses to create the thread for good (403: a permission is missing; any
    other 4xx), a note tells the moderators and :class:`ThreadUnavailable` sends the row to the
    mod channel; the contract's later rows go there too without asking Discord again until
    :attr:`RETRY_AFTER` has passed (time for an admin to fix the permissions).
    """

    RETRY_AFTER = timedelta(hours=1)

    def __init__(self, bot: MarketBot) -> None:
        self.bot = bot
        # contract id -> (when, why) Discord refused to create its thread
        self._refused: dict[int, tuple[datetime, str]] = {}
        # contract id -> its thread, created and stored, whose parties are not all added yet
        self._opening: dict[int, discord.Thread] = {}

    async def resolve(self, item: OutboxItem) -> int | None:
        if item.contract_id is None:
            return None
        services = self.bot.services
        thread_id = await services.contracts.thread_id_of(item.contract_id)
        opening = self._opening.get(item.contract_id)
        if thread_id is not None and opening is None:
            return thread_id
        contract = await services.contracts.get(item.contract_id)
        if contract is None:
            return thread_id
        if opening is not None:  # created by an earlier row that Discord then failed
            await self._open(contract, opening)
            return opening.id
        if contract.accepted_at is None:
            return None  # offered, declined, expired, withdrawn: no thread
        refused = self._refused.get(contract.id)
        if refused is not None and self.bot.clock.now() - refused[0] < self.RETRY_AFTER:
            raise ThreadUnavailable(refused[1])
        thread = await self._create(contract)
        if thread is None:
            return None
        self._refused.pop(contract.id, None)
        await services.contracts.set_thread(contract.id, thread.id)
        stored = await services.contracts.thread_id_of(contract.id)
        if stored != thread.id:  # cannot happen while only the dispatcher creates threads
            log.warning("contract %s: thread %s already set; %s left unused", contract.id, stored, thread.id)
            return stored
        self._opening[contract.id] = thread
        await self._open(contract, thread)
        return thread.id

    async def _language(self, guild_id: int) -> str:
        guild = await self.bot.services.guilds.get(guild_id)
        return guild.locale if guild is not None else "en"

    async def _create(self, contract: Contract) -> discord.Thread | None:
        """A private thread in the contracts channel (else the jobs channel)."""
        guild = await self.bot.services.guilds.get(contract.guild_id)
        if guild is None:
            return None
        parent_id = guild.contracts_channel_id or guild.jobs_channel_id
        parent = self.bot.get_channel(parent_id)
        if parent is None:
            try:
                parent = await self.bot.fetch_channel(parent_id)
            except discord.NotFound:
                log.warning(
                    "guild %s: channel %s is gone; no thread for contract %s", contract.guild_id, parent_id, contract.id
                )
                return None
        if not isinstance(parent, discord.TextChannel):
            # a forum jobs channel cannot hold private threads: rows go to the mod channel
            log.warning(
                "guild %s: channel %s cannot hold private threads; no thread for contract %s",
                contract.guild_id,
                parent_id,
                contract.id,
            )
            return None
        view = await self.bot.services.contracts.view(contract.guild_id, contract.id, viewer_id=contract.client_id)
        name = t(guild.locale, "ui.contract.thread_name", contract_id=contract.id, title=view.job_title)
        try:
            thread = await parent.create_thread(
                name=clip(name, THREAD_NAME),
                type=discord.ChannelType.private_thread,
                invitable=False,
                auto_archive_duration=THREAD_ARCHIVE_MINUTES,
            )
        except discord.HTTPException as error:
            if self._transient(error):
                raise  # the row is retried
            await self._refuse(contract, guild.locale, guild.mod_channel_id, parent_id, error)
        log.info("guild %s contract %s: thread %s created", contract.guild_id, contract.id, thread.id)
        return thread

    async def _refuse(
        self, contract: Contract, language: str, mod_channel_id: int, parent_id: int, error: discord.HTTPException
    ) -> NoReturn:
        """Discord will not create the thread: remember it, tell the moderators, and raise."""
        why = f"contract thread not created in channel {parent_id}: {type(error).__name__}: {error}"
        log.warning("guild %s contract %s: %s", contract.guild_id, contract.id, why)
        self._refused[contract.id] = (self.bot.clock.now(), why)
        channel = f"<#{parent_id}>"
        if isinstance(error, discord.Forbidden):
            text = t(language, "dispatch.thread_forbidden", contract_id=contract.id, channel=channel)
        else:
            text = t(
                language, "dispatch.thread_not_created", contract_id=contract.id, channel=channel, error=error.text
            )
        mod = self.bot.get_partial_messageable(mod_channel_id, guild_id=contract.guild_id)
        try:
            await mod.send(clip(text, CONTENT), allowed_mentions=NO_MENTIONS)
        except discord.HTTPException:
            log.exception("guild %s contract %s: the moderators were not told", contract.guild_id, contract.id)
        raise ThreadUnavailable(why) from error

    @staticmethod
    def _transient(error: discord.HTTPException) -> bool:
        """429 and 5xx: worth another try later."""
        return error.status == 429 or error.status >= 500

    async def _open(self, contract: Contract, thread: discord.Thread) -> None:
        """Add both parties to the new thread, then post the pinned card. A 429 / 5xx is
        raised (the row is retried and this runs again); a party Discord will not add (left
        the server, no access) is logged and the thread is used all the same."""
        for user_id in (contract.client_id, contract.worker_id):
            try:
                await thread.add_user(discord.Object(user_id))
            except discord.HTTPException as error:
                if self._transient(error):
                    raise
                log.warning("contract %s: user %s not added to thread %s: %s", contract.id, user_id, thread.id, error)
        del self._opening[contract.id]
        await self._post_card(contract, thread)

    async def _post_card(self, contract: Contract, thread: discord.Thread) -> None:
        """Post the terms card in the new thread and pin it."""
        services = self.bot.services
        language = await self._language(contract.guild_id)
        view = await services.contracts.view(contract.guild_id, contract.id, viewer_id=contract.client_id)
        try:
            # the worker's "Ask for more time" sits on the card, always at hand in the thread
            buttons = build_view([f"contract:{contract.id}:extend"], language) or discord.ui.View()
            card = await thread.send(embed=terms_embed(view, language), view=buttons, allowed_mentions=NO_MENTIONS)
            await services.contracts.set_terms_message(contract.id, card.id)
            await card.pin()
        except discord.HTTPException as error:
            log.warning("contract %s: terms card in thread %s not posted or pinned: %s", contract.id, thread.id, error)

    async def terms_changed(self, item: OutboxItem, message: discord.Message) -> None:
        """After ``thread.terms_changed`` is posted: show the new version on the pinned card."""
        if item.contract_id is None:
            return
        services = self.bot.services
        contract = await services.contracts.get(item.contract_id)
        if contract is None or contract.thread_id is None or contract.terms_message_id is None:
            return
        language = await self._language(contract.guild_id)
        view = await services.contracts.view(contract.guild_id, contract.id, viewer_id=contract.client_id)
        card = self.bot.get_partial_messageable(contract.thread_id, guild_id=contract.guild_id).get_partial_message(
            contract.terms_message_id
        )
        with contextlib.suppress(discord.NotFound):
            await card.edit(embed=terms_embed(view, language), allowed_mentions=NO_MENTIONS)
