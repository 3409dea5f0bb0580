"""The outbox dispatcher: sends the notifications services wrote in their transactions.

This file decides where a row goes (DM, thread, mod channel, a feature's handler), falls back,
runs follow-ups and records the outcome; bot/notifications/sending.py holds the send primitives
it uses (:class:`Rendered`, :class:`Outcome`, the exceptions, the once-only ``_send``), whose
public names are importable from here too.

Rows come from ``services.outbox.due()`` (bot/services/outbox.py) and are settled there:

- ``dm``: DM ``recipient_id`` in the recipient's language (their last Discord locale,
  else the guild's). If Discord refuses because the user closed DMs (403, code 50007),
  the same message goes to the contract's thread with a mention of the recipient
  (``fallback_thread``), or, without a thread, to the mod channel as a note
  (``fallback_mod``).
- ``thread``: post in the contract's private thread (``contracts.thread_id_of``), in the
  guild's language, mentioning the recipient if there is one; no thread -> mod channel note.
- A thread that cannot be used (deleted: 404; no access: 403) or cannot be created (the
  resolver raises :class:`ThreadUnavailable`) sends the message to the mod channel as a note
  (``fallback_mod``), with the reason recorded on the row. A 429 / 5xx there is retried.
- ``mod``: post in the guild's mod channel, in the guild's language.
- ``board``: handled by the job board (registered in bot/notifications/registry.py); without
  a handler the row is marked sent with a note.

How a row looks is decided by the message kinds table (bot/notifications/registry.py): a
renderer per message key prefix, else the catalogue text with the row's buttons. A kind may
also have a follow-up (``after_send``) that runs on the sent message (the delivery post gets
its files attached, a case card's message is remembered). The send is recorded first (status
``followup_pending`` with the message id), so a follow-up that fails with 429 / 5xx is retried
alone against the recorded message, never by sending the message again; the row becomes
``sent`` when the follow-up succeeded or failed for good (the reason kept in ``last_error``).

Discord 429 / 5xx and network errors are retried later with backoff
(``mark_retry``); any other error marks the row failed and is logged. Each send has
explicit ``AllowedMentions``: only the recipient may be pinged.

The message is ``t(language, row.message_key, **format_args(row.args))``: ``*_amount``
args are minor units shown in the row's ``currency``, ``*_at`` args are ISO times shown
as Discord timestamps (bot/ui/format.py). ``row.buttons`` (``"<resource>:<id>:<action>"``)
become persistent buttons (bot/ui/buttons.py).

Nothing is sent twice, whenever the process dies: before a row's first send an attempt mark is
committed on it, every message carries the row's nonce, and a resend first looks for the
message of an earlier attempt in the channel (bot/notifications/sending.py tells how).

A send whose outcome the database refuses to record (read-only file, full disk: the
service raises :class:`RecordFailed`) stops the dispatcher: sending on would repeat that
message on every pass. It logs one CRITICAL line naming the row, reports
``stopped: cannot record sends`` to the heartbeat (``python -m bot health`` fails), and on
each later pass only probes with a harmless write; once writes work it resumes.

No database transaction is held while Discord is awaited: each service call opens and
closes its own. One long-lived task (:meth:`Dispatcher.start`) sends after every commit
(``db.after_commit`` -> :meth:`kick`); the scheduler also calls :meth:`dispatch` every 30s
for retries. ``dispatch`` is serialized by a lock, so a row is never sent twice by
overlapping passes.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Awaitable, Callable
from typing import TYPE_CHECKING, Any

import discord

from bot.i18n import DEFAULT_LANGUAGE, language_of, t
from bot.metrics import count_failed_dm
from bot.models.entities import Guild, OutboxItem
from bot.notifications.sending import Outcome as Outcome
from bot.notifications.sending import Rendered as Rendered
from bot.notifications.sending import SendSteps, ThreadGone, _attempt_mark, _mentions, _retryable, _unusable
from bot.notifications.sending import ThreadUnavailable as ThreadUnavailable
from bot.notifications.sending import Undeliverable as Undeliverable
from bot.services.outbox import RecordFailed
from bot.ui.buttons import build_view, button_retired, disable_buttons
from bot.ui.format import format_args

if TYPE_CHECKING:
    from bot.services.container import Services

log = logging.getLogger(__name__)

KICK_EVENT = "outbox_kick"
DM_CLOSED = 50007

FOLLOWUP_PENDING = "followup_pending"
STOPPED = "stopped: cannot record sends"

Handler = Callable[[OutboxItem], Awaitable[int | None]]
Renderer = Callable[[OutboxItem, str], Awaitable[Rendered]]
SentHook = Callable[[OutboxItem, discord.Message], Awaitable[None]]
ThreadResolver = Callable[[OutboxItem], Awaitable[int | None]]
StateReport = Callable[[str | None], None]

UNKNOWN_CHANNEL = 10003


def _pings_moderators(message_key: str) -> bool:
    """Mod-channel posts that wait for a moderator: a new case (a report excepted: it is read
    discreetly), a declared deposit to confirm and its re-pings."""
    if message_key.startswith("case.card."):
        return message_key != "case.card.report"
    return message_key in {"mod.deposit_declared", "remind.deposit_confirm"}


class Dispatcher(SendSteps):
    def __init__(self, client: discord.Client, services: Services, *, report: StateReport | None = None) -> None:
        self.client = client
        self.services = services
        # None while sending; STOPPED while the database refuses to record sends
        self.stopped: str | None = None
        self._report = report
        self._stopping = False  # the bot is shutting down: no new pass, no new row
        self._lock = asyncio.Lock()
        self._pending = False
        self._task: asyncio.Task[None] | None = None
        self._handlers: dict[str, Handler] = {}
        self._renderers: dict[str, Renderer] = {}
        self._sent_hooks: dict[str, SentHook] = {}
        self.thread_resolver: ThreadResolver | None = None

    # -- wiring (bot/notifications/registry.py calls these once, at start-up) ---------

    def register_handler(self, target: str, handler: Handler) -> None:
        """Let a feature send its own target (the job board sends ``board`` rows).

        The handler posts the row and returns the message id; errors it raises are
        treated like the dispatcher's own (retry on 429/5xx, else failed).
        """
        self._handlers[target] = handler

    def register_renderer(self, prefix: str, renderer: Renderer) -> None:
        """Render rows whose message key starts with ``prefix`` (e.g. ``case.card.``) as a
        feature wants: an embed, its own buttons. The longest matching prefix wins."""
        self._renderers[prefix] = renderer

    def register_sent_hook(self, prefix: str, hook: SentHook) -> None:
        """A follow-up called with the sent message of rows whose key starts with ``prefix``
        (a case card remembers its message so a decision can edit it). It runs after the send
        is recorded: a 429 / 5xx it raises retries it alone, never the send."""
        self._sent_hooks[prefix] = hook

    def sent_hook(self, message_key: str) -> SentHook | None:
        """The follow-up registered for ``message_key`` (longest prefix), if any."""
        prefix = self._longest_prefix(self._sent_hooks, message_key)
        return None if prefix is None else self._sent_hooks[prefix]

    def kick(self) -> None:
        """Ask the background task for a pass (called after every commit; cheap, sync)."""
        if self._stopping:
            return  # a commit during the shutdown: the rows wait for the restart
        self._pending = True
        self.client.dispatch(KICK_EVENT)

    def start(self) -> None:
        if self._task is None or self._task.done():
            self._pending = True
            self._task = asyncio.create_task(self._run(), name="outbox-dispatcher")

    def stop_taking_work(self) -> None:
        """The shutdown begins: no pass and no row starts any more; the row being sent is
        finished and recorded (:meth:`drain` waits for it)."""
        self._stopping = True

    async def drain(self) -> None:
        """Wait for the pass in progress (this task's or a sweep's) to end after its row."""
        async with self._lock:
            pass

    async def stop(self) -> None:
        """Stop for good: a send still under way is cancelled (its row stays pending, with its
        attempt recorded: it is sent once after the restart)."""
        self._stopping = True
        task, self._task = self._task, None
        if task is None:
            return
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task

    async def _run(self) -> None:
        log.info("outbox dispatcher started")
        try:
            while not self._stopping:
                if not self._pending:
                    # A Client.wait_for listener: woken by kick(); recognised as idle by
                    # test harnesses, unlike a bare asyncio.Event.
                    await self.client.wait_for(KICK_EVENT)
                self._pending = False
                try:
                    await self.dispatch()
                except Exception:
                    log.exception("outbox dispatch pass failed; the scheduler will retry")
        finally:
            log.info("outbox dispatcher stopped")

    # -- sending ------------------------------------------------------------------

    async def dispatch(self) -> int:
        """Send every due row once. Returns how many were delivered (sent or fallback)."""
        delivered = 0
        async with self._lock:
            if self._stopping or (self.stopped is not None and not await self._resume()):
                return 0
            seen: set[int] = set()
            while True:
                batch = [item for item in await self.services.outbox.due() if item.id not in seen]
                if not batch:
                    return delivered
                for item in batch:
                    if self._stopping:
                        return delivered
                    seen.add(item.id)
                    try:
                        if await self._deliver(item):
                            delivered += 1
                    except RecordFailed as error:
                        self._halt(item, error)
                        return delivered

    def _halt(self, item: OutboxItem, error: RecordFailed) -> None:
        """The database refused to record a send: stop sending (once, loudly) rather than
        send that row again on every pass."""
        self.stopped = STOPPED
        log.critical(
            "outbox %s (%s %s): the database refused to record its send (%s); the dispatcher stops "
            "sending until writes work again (probed each pass)",
            item.id, item.target, item.message_key, error,
        )
        if self._report is not None:
            self._report(STOPPED)

    async def _resume(self) -> bool:
        """After a stop: send again only once a harmless write succeeds."""
        if not await self.services.outbox.writes_work():
            log.debug("outbox dispatcher still stopped: the database refuses writes")
            return False
        self.stopped = None
        log.warning("the database takes writes again: outbox dispatcher resumed")
        if self._report is not None:
            self._report(None)
        return True

    async def _deliver(self, item: OutboxItem) -> bool:
        outbox = self.services.outbox
        try:
            if item.status == FOLLOWUP_PENDING:
                await self._follow_up(item)  # sent on an earlier pass: only the follow-up again
                return False
            if item.target in {"dm", "thread", "mod", "board"} and item.attempt_after_id is None:
                await outbox.mark_attempt(item.id, _attempt_mark())  # committed before Discord is called
            handler = self._handlers.get(item.target)
            if handler is not None:
                message_id = await handler(item)
                return await outbox.mark_delivered(item.id, message_id=message_id)
            if item.target == "dm":
                result = await self._send_dm(item)
            elif item.target == "thread":
                result = await self._send_thread(item)
            elif item.target == "mod":
                result = await self._send_mod(item)
            elif item.target == "retire":
                await self._retire(item)
                return await outbox.mark_delivered(item.id)
            elif item.target == "board":
                return await outbox.mark_delivered(item.id, note="no board handler registered")
            else:
                raise Undeliverable(f"unknown target {item.target}")
            return await self._settle(item, result)
        except RecordFailed:
            raise
        except Exception as error:
            reason = f"{type(error).__name__}: {error}"
            if self._stopping:
                # the client is closing under the send (session closed...): not the row's fault
                log.info("outbox %s (%s %s) interrupted by the shutdown (%s); it is sent after the restart",
                         item.id, item.target, item.message_key, reason)
                return False
            if _retryable(error):
                outcome = await outbox.mark_retry(item.id, reason)
                log.warning("outbox %s (%s %s): %s; %s", item.id, item.target, item.message_key, reason, outcome)
            elif isinstance(error, Undeliverable | discord.HTTPException):
                await outbox.mark_failed(item.id, reason)
                log.error("outbox %s (%s %s) failed: %s", item.id, item.target, item.message_key, reason)
            else:
                await outbox.mark_failed(item.id, reason)
                log.exception("outbox %s (%s %s) failed unexpectedly", item.id, item.target, item.message_key)
            return False

    async def _settle(self, item: OutboxItem, result: Outcome) -> bool:
        """Record the outcome; with a follow-up to run, record the send first (the message id,
        status ``followup_pending``) so that a failed follow-up never sends the message again."""
        outbox = self.services.outbox
        hook = self.sent_hook(item.message_key) if result.message is not None else None
        if hook is None or result.message is None:
            return await outbox.mark_delivered(
                item.id, status=result.status, message_id=result.message_id, note=result.note
            )
        if not await outbox.mark_delivered(item.id, status=FOLLOWUP_PENDING, message_id=result.message_id):
            return False
        await self._follow_up(item, result.message)
        return True

    async def _follow_up(self, item: OutboxItem, message: discord.Message | None = None) -> None:
        """Run the row's follow-up on its sent message (fetched again on a later pass). A 429 /
        5xx keeps the row ``followup_pending`` with backoff; otherwise the row becomes ``sent``,
        with the reason if the follow-up failed for good (the message itself is out)."""
        outbox = self.services.outbox
        hook = self.sent_hook(item.message_key)
        try:
            if message is None:
                message = await self._sent_message(item)
            if hook is not None and message is not None:
                await hook(item, message)
        except Exception as error:
            reason = f"follow-up: {type(error).__name__}: {error}"
            if _retryable(error):
                outcome = await outbox.mark_retry(item.id, reason)
                log.warning("outbox %s (%s %s): %s; %s", item.id, item.target, item.message_key, reason, outcome)
                return
            if isinstance(error, discord.HTTPException):
                log.error("outbox %s (%s %s) %s", item.id, item.target, item.message_key, reason)
            else:
                log.exception("outbox %s (%s %s) follow-up failed unexpectedly", item.id, item.target, item.message_key)
            await outbox.follow_up_done(item.id, note=reason)
            return
        await outbox.follow_up_done(item.id)

    async def _sent_message(self, item: OutboxItem) -> discord.Message | None:
        """The message a ``followup_pending`` row sent, fetched again; None if it is gone."""
        channel = await self._channel_of(item)
        if channel is None or item.message_id is None:
            log.warning("outbox %s: message %s of the follow-up not found", item.id, item.message_id)
            return None
        try:
            return await channel.fetch_message(item.message_id)
        except discord.NotFound:
            log.warning("outbox %s: message %s was deleted; no follow-up", item.id, item.message_id)
            return None

    async def _send_dm(self, item: OutboxItem) -> Outcome:
        if item.recipient_id is None:
            raise Undeliverable("dm without recipient")
        guild = await self.services.guilds.get(item.guild_id)
        language = await self._user_language(item.recipient_id, guild)
        rendered = await self.compose(item, language)
        try:
            channel = await self.client.create_dm(discord.Object(item.recipient_id))
            message = await self._send(item, channel, rendered, _mentions(item.recipient_id))
        except discord.Forbidden as error:
            if error.code != DM_CLOSED:
                raise
            log.info("outbox %s: user %s has DMs closed; falling back", item.id, item.recipient_id)
            count_failed_dm(self.client, "dms_closed")
            return await self._dm_fallback(item, guild, language, rendered)
        return Outcome("sent", message.id, message=message)

    async def _dm_fallback(self, item: OutboxItem, guild: Guild | None, language: str, rendered: Rendered) -> Outcome:
        assert item.recipient_id is not None
        mention = f"<@{item.recipient_id}>"
        thread_id, why = await self._thread(item)
        if thread_id is not None:
            text = t(language, "dispatch.fallback_thread", mention=mention, message=rendered.content)
            try:
                message = await self._post(
                    item,
                    thread_id,
                    Rendered(text, rendered.embed, rendered.view),
                    _mentions(item.recipient_id),
                )
            except discord.HTTPException as error:
                if not _unusable(error):
                    raise
                await self._forget_deleted(item, thread_id, error)
                why = self._thread_refused(item, thread_id, error)
            else:
                return Outcome("fallback_thread", message.id)
        guild_language = self._guild_language(guild)
        in_guild = await self.compose(item, guild_language)
        if thread_id is None:
            text = t(guild_language, "dispatch.fallback_mod", mention=mention, message=in_guild.content)
        else:
            text = t(
                guild_language,
                "dispatch.fallback_mod_thread_unusable",
                mention=mention,
                contract_id=item.contract_id,
                message=in_guild.content,
            )
        message = await self._post(item, self._mod_channel(guild), Rendered(text, in_guild.embed), _mentions(None))
        return Outcome("fallback_mod", message.id, why)

    async def _send_thread(self, item: OutboxItem) -> Outcome:
        guild = await self.services.guilds.get(item.guild_id)
        language = self._guild_language(guild)
        rendered = await self.compose(item, language)
        thread_id, why = await self._thread(item)
        if thread_id is None:
            text = t(language, "dispatch.no_thread", contract_id=item.contract_id, message=rendered.content)
            message = await self._post(item, self._mod_channel(guild), Rendered(text), _mentions(None))
            return Outcome("fallback_mod", message.id, why)
        post = rendered
        if item.recipient_id is not None:
            post = Rendered(f"<@{item.recipient_id}> {rendered.content}", rendered.embed, rendered.view)
        try:
            message = await self._post(item, thread_id, post, _mentions(item.recipient_id))
        except discord.HTTPException as error:
            if not _unusable(error):
                raise
            await self._forget_deleted(item, thread_id, error)
            why = self._thread_refused(item, thread_id, error)
            text = t(language, "dispatch.thread_unusable", contract_id=item.contract_id, message=rendered.content)
            note = await self._post(item, self._mod_channel(guild), Rendered(text), _mentions(None))
            return Outcome("fallback_mod", note.id, why)
        return Outcome("sent", message.id, message=message)

    async def _forget_deleted(self, item: OutboxItem, thread_id: int, error: discord.HTTPException) -> None:
        """A deleted thread (404 Unknown Channel) is forgotten and the row retried: the retry
        opens a new thread, with both parties and the terms card, and posts there."""
        if (isinstance(error, discord.NotFound) and error.code == UNKNOWN_CHANNEL and item.contract_id is not None
                and await self.services.contracts.forget_thread(item.contract_id, thread_id)):
            raise ThreadGone(f"thread {thread_id} of contract {item.contract_id} was deleted") from error

    @staticmethod
    def _thread_refused(item: OutboxItem, thread_id: int, error: discord.HTTPException) -> str:
        """Log a contract thread Discord refused a post in; the reason kept on the row."""
        why = f"thread {thread_id} unusable: {type(error).__name__}: {error}"
        log.warning("outbox %s contract %s: %s; posting in the mod channel", item.id, item.contract_id, why)
        return why

    async def _retire(self, item: OutboxItem) -> None:
        """Grey out the buttons whose action is done on every message already sent for the
        contract (or case): the offer DM after ``/contract accept``, the deposit note after
        ``/escrow confirm``, the review buttons after approval..."""
        specs = list(item.arguments.get("buttons", []))
        for sent in await self.services.outbox.sent_with_buttons(item.id, item.contract_id, item.case_id):
            if not any(button_retired(button, specs) for button in sent.button_list):
                continue
            channel = await self._channel_of(sent)
            if channel is None or sent.message_id is None:
                continue
            try:
                message = await channel.fetch_message(sent.message_id)
            except discord.NotFound:
                continue  # deleted meanwhile: nothing to grey out
            await disable_buttons(message)

    async def _channel_of(self, sent: OutboxItem) -> discord.abc.Messageable | None:
        """Where a sent row's message lives (a DM, the contract thread or the mod channel)."""
        as_meant = sent.status in {"sent", FOLLOWUP_PENDING}
        if as_meant and sent.target == "dm" and sent.recipient_id is not None:
            return await self.client.create_dm(discord.Object(sent.recipient_id))
        if sent.status == "fallback_thread" or (as_meant and sent.target == "thread"):
            thread_id, _ = await self._thread(sent)
            return None if thread_id is None else self.client.get_partial_messageable(thread_id, guild_id=sent.guild_id)
        guild = await self.services.guilds.get(sent.guild_id)
        return (
            None if guild is None else self.client.get_partial_messageable(guild.mod_channel_id, guild_id=sent.guild_id)
        )

    async def _send_mod(self, item: OutboxItem) -> Outcome:
        guild = await self.services.guilds.get(item.guild_id)
        language = self._guild_language(guild)
        rendered = await self.compose(item, language)
        mentions = _mentions(item.recipient_id)
        if guild is not None and _pings_moderators(item.message_key):
            # something a moderator must act on: the moderator role is pinged, nobody else
            role = discord.Object(guild.moderator_role_id)
            rendered = Rendered(f"<@&{role.id}> {rendered.content}", rendered.embed, rendered.view)
            mentions = discord.AllowedMentions(everyone=False, users=False, roles=[role])
        message = await self._post(item, self._mod_channel(guild), rendered, mentions)
        return Outcome("sent", message.id, message=message)

    # -- helpers ------------------------------------------------------------------

    @staticmethod
    def render(item: OutboxItem, language: str) -> str:
        return t(language, item.message_key, **format_args(item.arguments, language))

    async def compose(self, item: OutboxItem, language: str) -> Rendered:
        """The row as a message: a feature's renderer for its keys, else text and buttons."""
        prefix = self._longest_prefix(self._renderers, item.message_key)
        if prefix is not None:
            return await self._renderers[prefix](item, language)
        return Rendered(self.render(item, language), None, build_view(item.button_list, language))

    @staticmethod
    def _longest_prefix(table: dict[str, Any], key: str) -> str | None:
        matches = [prefix for prefix in table if key.startswith(prefix)]
        return max(matches, key=len) if matches else None

    async def _thread(self, item: OutboxItem) -> tuple[int | None, str | None]:
        """The contract's thread, or None and why there is none when it could not be created."""
        try:
            return await self._thread_id(item), None
        except ThreadUnavailable as error:
            return None, str(error)

    async def _thread_id(self, item: OutboxItem) -> int | None:
        """The contract's thread; the contracts feature may create it on first use (and raise
        :class:`ThreadUnavailable` when Discord refuses)."""
        if item.contract_id is None:
            return None
        if self.thread_resolver is not None:
            return await self.thread_resolver(item)
        return await self.services.contracts.thread_id_of(item.contract_id)

    @staticmethod
    def _mod_channel(guild: Guild | None) -> int:
        if guild is None:
            raise Undeliverable("the guild is not set up: no mod channel")
        return guild.mod_channel_id

    @staticmethod
    def _guild_language(guild: Guild | None) -> str:
        return language_of(guild.locale) if guild is not None else DEFAULT_LANGUAGE

    async def _user_language(self, user_id: int, guild: Guild | None) -> str:
        locale = await self.services.guilds.user_locale(user_id)
        return language_of(locale) if locale else self._guild_language(guild)
