"""The Discord application: ``MarketBot`` and the ``create_bot`` factory.

``setup_hook`` (after login, before the gateway connects) opens and migrates the
database, builds the services and the outbox dispatcher with every message kind
(bot/notifications/registry.py), loads the cogs (:data:`COGS`), registers the persistent
buttons (modules in :data:`BUTTON_MODULES`), starts the dispatcher and the scheduler,
and syncs the command tree if it changed since the last sync.
``close()`` stops all of that again. Tests build one bot per test with
``create_bot(settings, clock=FakeClock())`` (tests/bot/conftest.py).
"""

from __future__ import annotations

import asyncio
import hashlib
import importlib
import json
import logging
import sys
import time
from collections import OrderedDict
from collections.abc import Iterable
from datetime import UTC, datetime
from typing import Any

import discord
from apscheduler.schedulers.asyncio import AsyncIOScheduler
from discord.ext import commands

from bot.clock import Clock, SystemClock
from bot.config import Settings
from bot.db import Database
from bot.i18n.translator import MarketTranslator
from bot.logs import bind_interaction
from bot.metrics import Metrics
from bot.models.evidence import TOO_LARGE, UNAVAILABLE, IncomingAttachment
from bot.notifications import registry
from bot.notifications.dispatcher import Dispatcher
from bot.ops.health import Heartbeat, health_path
from bot.payments.worker import PaymentWorker
from bot.services.bot_state import BotState
from bot.services.container import Services
from bot.tree import ERROR_CODE_ATTR, MarketTree
from bot.ui.buttons import registered_buttons
from bot.web.server import WebServer

log = logging.getLogger(__name__)

# Extensions loaded at start, in order. Each feature appends its cog module here.
COGS: tuple[str, ...] = (
    "bot.cogs.setup",
    "bot.cogs.config",
    "bot.cogs.help",
    "bot.cogs.profile",
    "bot.cogs.jobs",
    "bot.cogs.contracts",
    "bot.cogs.escrow",
    "bot.cogs.delivery",
    "bot.cogs.review",
    "bot.cogs.rate",
    "bot.cogs.cases",
    "bot.cogs.mod",
)

# Modules defining @register_button classes; imported at start so that their
# DynamicItems are registered before any click arrives.
BUTTON_MODULES: tuple[str, ...] = (
    "bot.ui.job_buttons",
    "bot.ui.contract_buttons",
    "bot.ui.review_buttons",
    "bot.ui.case_cards",
)

OUTBOX_RETRY_SECONDS = 30
# how long close() waits for the running sweep and the outbox send in progress
SHUTDOWN_GRACE = 10.0
LOCALE_CACHE_SIZE = 10_000
# per waiting contract thread, the messages read at start-up to catch up on a reply missed while down
CATCH_UP_MESSAGES = 100


def intents(settings: Settings | None = None) -> discord.Intents:
    """Default intents: guilds, guild messages (author and time of thread messages), DMs. No
    privileged intent (members, presences), except message_content when the operator opted in
    to keeping contract threads' messages as evidence (RECORD_THREAD_MESSAGES)."""
    chosen = discord.Intents.default()
    chosen.message_content = settings is not None and settings.record_thread_messages
    return chosen


class MarketBot(commands.Bot):
    services: Services
    dispatcher: Dispatcher

    def __init__(self, settings: Settings, *, clock: Clock | None = None) -> None:
        super().__init__(
            command_prefix=commands.when_mentioned,
            help_command=None,
            intents=intents(settings),
            tree_cls=MarketTree,
            allowed_mentions=discord.AllowedMentions.none(),
            max_messages=None,
        )
        self.settings = settings
        self.clock: Clock = clock or SystemClock()
        self.db: Database | None = None
        self.web: WebServer | None = None
        self.payment_worker: PaymentWorker | None = None
        self.bot_state: BotState | None = None
        self.scheduler: AsyncIOScheduler | None = None
        self.synced_commands = False
        self._started_sweep = False
        self._sweep_lock = asyncio.Lock()
        self._sweep_task: asyncio.Task[Any] | None = None
        self._closing = False
        self._known_locales: OrderedDict[int, str] = OrderedDict()
        self.command_ids: dict[str, int] = {}
        # for `python -m bot health` (bot/ops/health.py)
        self.heartbeat = Heartbeat(health_path(settings.database_path), self.clock)
        # Prometheus metrics in a registry of this bot's own (bot/metrics.py)
        self.metrics = Metrics()
        self.metrics.watch_latency(lambda: self.latency)

    # -- start-up -----------------------------------------------------------------

    async def setup_hook(self) -> None:
        db = Database(self.settings.database_path)
        await db.connect()
        try:
            version = await db.migrate()
        except BaseException:
            await db.close()
            raise
        log.info("database %s at version %s", self.settings.database_path, version)
        self.db = db
        self.bot_state = BotState(db)
        self.services = Services.build(db, self.clock, self.settings)
        self.dispatcher = Dispatcher(self, self.services, report=self.heartbeat.dispatcher)
        registry.wire(self, self.dispatcher)
        db.after_commit.append(self.dispatcher.kick)

        await self.tree.set_translator(MarketTranslator())
        for extension in COGS:
            await self.load_extension(extension)
        for module in BUTTON_MODULES:
            importlib.import_module(module)
        buttons = registered_buttons()
        if buttons:
            self.add_dynamic_items(*buttons)

        self.dispatcher.start()
        self.payment_worker = PaymentWorker(self, self.services.payments)
        db.after_commit.append(self.payment_worker.kick)
        self.payment_worker.start()
        if self.settings.web_port is not None:
            self.web = WebServer(self, self.settings.web_host, self.settings.web_port)
            await self.web.start()
        self.scheduler = self._start_scheduler()
        if self.settings.metrics_port is not None:
            self.metrics.serve(self.settings.metrics_port, self.settings.metrics_host)
        self.synced_commands = await self.sync_commands()

    def _start_scheduler(self) -> AsyncIOScheduler:
        scheduler = AsyncIOScheduler(timezone=UTC)
        scheduler.add_job(
            self._scheduled_outbox,
            "interval",
            seconds=OUTBOX_RETRY_SECONDS,
            id="outbox-retry",
            coalesce=True,
            max_instances=1,
        )
        scheduler.add_job(
            self.run_sweep,
            "interval",
            seconds=self.settings.scheduler_tick.total_seconds(),
            id="sweep",
            coalesce=True,
            max_instances=1,
        )
        if self.payment_worker is not None and self.services.payments.gateway is not None:
            # Stripe configured: its calls out are retried like the outbox
            scheduler.add_job(self.payment_worker.run_once, "interval", seconds=OUTBOX_RETRY_SECONDS,
                              id="payments-retry", coalesce=True, max_instances=1)
            scheduler.add_job(self.payment_worker.reconcile, "interval", hours=24, id="payments-reconcile",
                              coalesce=True, max_instances=1)
        scheduler.start()
        return scheduler

    async def on_ready(self) -> None:
        log.info("ready as %s (%s) in %s guilds", self.user, self.user.id if self.user else "?", len(self.guilds))
        self.heartbeat.gateway(True)
        if not self._started_sweep:
            self._started_sweep = True
            await self.catch_up_thread_replies()
            await self.run_sweep()
            if self.payment_worker is not None:
                await self.payment_worker.reconcile()  # Stripe events missed while down

    async def on_resumed(self) -> None:
        self.heartbeat.gateway(True)

    async def on_disconnect(self) -> None:
        self.heartbeat.gateway(False)

    async def catch_up_thread_replies(self) -> None:
        """Messages written in contract threads while the bot was down never came as events:
        read each waiting thread's history since the wait began, so a client who replied
        meanwhile is not reminded or escalated for a silence that did not happen. Never raises."""
        try:
            waiting = await self.services.contracts.awaiting_reply()
        except Exception:
            log.exception("could not list the contracts waiting for a reply")
            return
        for contract in waiting:
            assert contract.thread_id is not None and contract.awaiting_reply_since is not None
            thread = self.get_partial_messageable(contract.thread_id, guild_id=contract.guild_id)
            try:
                async for message in thread.history(after=contract.awaiting_reply_since, oldest_first=True,
                                                    limit=CATCH_UP_MESSAGES):
                    if not message.author.bot:
                        at = min(message.created_at, self.clock.now())
                        await self.services.contracts.record_thread_message(thread.id, message.author.id, at)
                        await self.keep_thread_message(message, at)
            except discord.HTTPException as error:
                log.warning("contract %s: could not read thread %s to catch up (%s)", contract.id,
                            contract.thread_id, error)
            except Exception:
                log.exception("contract %s: catching up on thread %s failed", contract.id, contract.thread_id)

    # -- command sync -------------------------------------------------------------

    async def command_payload(self, guild: discord.abc.Snowflake | None = None) -> list[dict[str, Any]]:
        """What ``tree.sync(guild=...)`` would send, translations included."""
        translator = self.tree.translator
        commands_ = self.tree.get_commands(guild=guild)
        if translator is None:
            return [command.to_dict(self.tree) for command in commands_]
        return [await command.get_translated_payload(self.tree, translator) for command in commands_]

    async def sync_commands(self, *, force: bool = False) -> bool:
        """Sync the tree to ``DEV_GUILD_ID`` (or globally) if it changed since the last sync.

        The hash of the payload is kept in ``bot_state`` per application and scope.
        Returns True if it synced.
        """
        assert self.bot_state is not None
        guild = discord.Object(self.settings.dev_guild_id) if self.settings.dev_guild_id else None
        if guild is not None:
            self.tree.copy_global_to(guild=guild)
        payload = await self.command_payload(guild)
        digest = hashlib.sha256(
            json.dumps(payload, sort_keys=True, ensure_ascii=False, default=str).encode()
        ).hexdigest()
        scope = f"guild:{guild.id}" if guild is not None else "global"
        key = f"commands_hash:{self.application_id}:{scope}"
        if not force and await self.bot_state.get(key) == digest:
            log.info("commands unchanged (%s, %s commands): not syncing", scope, len(payload))
            try:
                self._remember_command_ids(await self.tree.fetch_commands(guild=guild))
            except discord.HTTPException as error:
                log.warning("could not fetch the command ids (%s): help shows plain names", error)
            return False
        synced = await self.tree.sync(guild=guild)
        await self.bot_state.set(key, digest)
        self._remember_command_ids(synced)
        log.info("synced %s commands (%s)", len(synced), scope)
        return True

    def _remember_command_ids(self, commands_: list[discord.app_commands.AppCommand]) -> None:
        self.command_ids = {command.name: command.id for command in commands_}

    def command_mention(self, qualified_name: str) -> str:
        """``</job post:123>`` (a clickable, localized chip) when the id is known, else ``/job post``."""
        command_id = self.command_ids.get(qualified_name.split()[0])
        if command_id is None:
            return f"/{qualified_name}"
        return f"</{qualified_name}:{command_id}>"

    # -- periodic work ------------------------------------------------------------

    async def run_sweep(self) -> None:
        """One scheduler tick: the timers' sweep (reminders, escalations), the jobs open too long,
        the payout digests, then the outbox.

        A plain coroutine: tests move the clock and call it. Never raises; does nothing once
        the bot is closing, and a sweep cancelled by the shutdown (past its grace period) ends
        quietly, its transaction rolled back.
        """
        if self._closing:
            return
        async with self._sweep_lock:
            if self._closing:
                return
            self._sweep_task = asyncio.current_task()
            try:
                await self._sweep_once()
            except asyncio.CancelledError:
                if not self._closing:
                    raise
                log.info("sweep cancelled by the shutdown; it runs again after the restart")
                return
            finally:
                self._sweep_task = None
            await self.refresh_metrics()

    async def _sweep_once(self) -> None:
        """The timers' sweep, then the jobs open too long and the daily digest of money owed too
        long (due facts in the database, each done once whatever the restarts), then the outbox.
        A failing step is logged and tried again next tick; the others still run."""
        started = time.perf_counter()
        try:
            report = await self.services.timers.sweep(self.clock.now())
        except Exception:
            log.exception("timer sweep failed; it runs again next tick")
            self.metrics.swept(time.perf_counter() - started, 0, 1)
        else:
            self.heartbeat.swept()
            self.metrics.swept(time.perf_counter() - started, report.contracts, report.failed)
        for what, work in (("job expiry", self.services.jobs.expire_due),
                           ("payout digests", self.services.escrow.payout_digests)):
            try:
                await work(self.clock.now())
            except Exception:
                log.exception("%s failed; it runs again next tick", what)
        await self._scheduled_outbox()

    async def refresh_metrics(self) -> None:
        """Set the database-backed gauges (outbox backlog, money held and owed). Never raises."""
        if self._closing:
            return
        try:
            self.metrics.refresh(await self.services.stats.snapshot())
        except Exception:
            log.exception("could not refresh the metrics; they are refreshed after the next sweep")

    async def _scheduled_outbox(self) -> None:
        if self._closing:
            return
        try:
            await self.dispatcher.dispatch()
        except Exception:
            log.exception("outbox dispatch failed; it runs again in %ss", OUTBOX_RETRY_SECONDS)

    # -- events -------------------------------------------------------------------

    async def on_message(self, message: discord.Message) -> None:
        """Track who spoke in a contract thread, and when; with RECORD_THREAD_MESSAGES also keep
        what was said, as evidence (:meth:`keep_thread_message`).

        Contract threads are private threads, so public channels and public threads (forum
        job posts) are skipped without touching the database; the service ignores private
        threads that are not a contract's.
        """
        channel = message.channel
        if message.author.bot or message.guild is None:
            return
        if not isinstance(channel, discord.PartialMessageable) and (
            channel.type is not discord.ChannelType.private_thread
        ):
            return  # a known channel that is not a private thread (an uncached one gets through)
        # The injected clock, not message.created_at, so that the sweep and the record agree.
        await self.services.contracts.record_thread_message(channel.id, message.author.id, self.clock.now())
        await self.keep_thread_message(message, self.clock.now())

    async def keep_thread_message(self, message: discord.Message, at: datetime) -> None:
        """With RECORD_THREAD_MESSAGES, keep a contract thread's message as evidence: its text and
        its attachments' hashes (read from Discord's CDN here, before the service's transaction;
        larger than MAX_FILE_SIZE_MB: name and size only). Never raises."""
        evidence = self.services.evidence
        try:
            if not await evidence.is_contract_thread(message.channel.id):
                return
            attachments = [await self._read_attachment(message.id, a) for a in message.attachments]
            await evidence.record(message.channel.id, message.id, message.author.id, message.content, at,
                                  attachments)
        except Exception:
            log.exception("could not keep message %s of thread %s", message.id, message.channel.id)

    async def _read_attachment(self, message_id: int, attachment: discord.Attachment) -> IncomingAttachment:
        if attachment.size > self.settings.max_file_bytes:
            return IncomingAttachment(attachment.filename, attachment.size, None, TOO_LARGE)
        try:
            data = await attachment.read()
        except discord.HTTPException as error:
            log.warning("message %s: could not read attachment %s to hash it (%s)", message_id, attachment.id, error)
            return IncomingAttachment(attachment.filename, attachment.size, None, UNAVAILABLE)
        return IncomingAttachment(attachment.filename, attachment.size, data)

    async def on_raw_message_edit(self, payload: discord.RawMessageUpdateEvent) -> None:
        """An edit of a kept thread message: keep the new text with its time (the service ignores
        messages it does not keep, and edits that leave the text as it was)."""
        if not self.settings.record_thread_messages or "content" not in payload.data:
            return
        try:
            await self.services.evidence.edited(payload.message_id, payload.data["content"], self.clock.now())
        except Exception:
            log.exception("could not keep the edit of message %s", payload.message_id)

    async def on_raw_message_delete(self, payload: discord.RawMessageDeleteEvent) -> None:
        await self._kept_messages_deleted([payload.message_id])

    async def on_raw_bulk_message_delete(self, payload: discord.RawBulkMessageDeleteEvent) -> None:
        await self._kept_messages_deleted(payload.message_ids)

    async def _kept_messages_deleted(self, message_ids: Iterable[int]) -> None:
        """Deleted on Discord: the kept text stays, with the time of the deletion."""
        if not self.settings.record_thread_messages:
            return
        try:
            await self.services.evidence.deleted(message_ids, self.clock.now())
        except Exception:
            log.exception("could not note the deletion of messages %s", sorted(message_ids))

    async def note_locale(self, interaction: discord.Interaction[Any]) -> None:
        """Remember the user's Discord locale (DMs are written in it): one write per
        change, thanks to a small in-memory cache. Never fails the interaction.

        Called first by every command, button and modal: it also binds the interaction's
        ids to the log lines of its handling (bot/logs.py)."""
        bind_interaction(interaction)
        self.metrics.started(interaction)
        user_id, locale = interaction.user.id, str(interaction.locale)
        cache = self._known_locales
        if cache.get(user_id) == locale:
            cache.move_to_end(user_id)
            return
        try:
            await self.services.guilds.remember_locale(user_id, locale)
        except Exception:
            log.exception("could not remember the locale of user %s", user_id)
            return
        cache[user_id] = locale
        while len(cache) > LOCALE_CACHE_SIZE:
            cache.popitem(last=False)

    async def on_app_command_completion(
        self, interaction: discord.Interaction[Any], command: discord.app_commands.Command[Any, ..., Any] | Any
    ) -> None:
        self.metrics.finished(interaction, "ok")

    async def on_error(self, event_method: str, /, *args: Any, **kwargs: Any) -> None:
        error = sys.exc_info()[1]
        if error is not None and getattr(error, ERROR_CODE_ATTR, None):
            return  # already reported to the user and logged with its code
        log.exception("unhandled error in %s", event_method)

    # -- shutdown -----------------------------------------------------------------

    async def release(self) -> None:
        """Stop the scheduler and the dispatcher and close the database (idempotent).

        ``close()`` calls it; tests call it for a bot the harness detached.
        """
        self.metrics.stop()
        scheduler, self.scheduler = self.scheduler, None
        if scheduler is not None and scheduler.running:
            scheduler.shutdown(wait=False)
        dispatcher = getattr(self, "dispatcher", None)
        if dispatcher is not None:
            await dispatcher.stop()
        web, self.web = self.web, None
        if web is not None:
            await web.stop()
        worker, self.payment_worker = self.payment_worker, None
        if worker is not None:
            await worker.stop()
        db, self.db = self.db, None
        if db is not None:
            if worker is not None and worker.kick in db.after_commit:
                db.after_commit.remove(worker.kick)
            if dispatcher is not None and dispatcher.kick in db.after_commit:
                db.after_commit.remove(dispatcher.kick)
            await db.close()

    async def close(self) -> None:
        """Shut down in order, so that a stop (SIGTERM) logs no error: take no new work (the
        scheduler, new sweeps, outbox passes), let the running sweep finish and the outbox
        send in progress be recorded (at most :data:`SHUTDOWN_GRACE` seconds, then they are
        cancelled: a cancelled row is sent once after the restart), close the Discord client,
        then the database."""
        self._closing = True
        try:
            if self.scheduler is not None and self.scheduler.running:
                self.scheduler.shutdown(wait=False)
            await self._finish_work()
            await super().close()
        finally:
            await self.release()
        log.info("closed")

    async def _finish_work(self) -> None:
        dispatcher = getattr(self, "dispatcher", None)
        if dispatcher is not None:
            dispatcher.stop_taking_work()
        try:
            async with asyncio.timeout(SHUTDOWN_GRACE):
                async with self._sweep_lock:
                    pass
                if dispatcher is not None:
                    await dispatcher.drain()
        except TimeoutError:
            log.warning("the sweep or outbox send in progress did not finish within %ss: cancelled", SHUTDOWN_GRACE)
            sweep = self._sweep_task
            if sweep is not None and not sweep.done():
                sweep.cancel()
                await asyncio.wait({sweep})
            if dispatcher is not None:
                await dispatcher.stop()


def create_bot(settings: Settings, *, clock: Clock | None = None) -> MarketBot:
    return MarketBot(settings, clock=clock)
