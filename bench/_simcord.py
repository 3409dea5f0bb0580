"""SimCord plumbing for the benchmarks that run the whole bot (latency, memory, start-up).

- :func:`make_bot`: ``create_bot`` on a seeded database with the scheduler's sweep tick set
  to a day (nothing periodic runs during a measurement) and the "ok" command added to the
  tree before start (synced with the rest, like tests/bot/conftest.py's ``simcord_bot``).
- :func:`build_world`: a guild (with the seeded guild's id) with the channels and roles of
  tests/bot/conftest.py's ``market``, ``/setup`` run by an admin through the real command,
  and ``members`` members.
- :class:`Recorder`: when each interaction was dispatched and when its first response was
  recorded. Dispatch: SimCord's dispatch observer, called immediately before the
  INTERACTION_CREATE event is handed to the bot's gateway. First response: the backend
  marks the interaction answered (``simcord/backend/models/interaction.py``: message, defer,
  modal, autocomplete choices, update) inside the callback route, i.e. when discord.py's
  ``interaction.response.*`` HTTP request reaches Discord. A public SimCord actor call
  returns only when the bot has settled (every task it started is done, the outbox
  dispatcher included), so timing the call itself would also count work after the answer.
- :func:`burst`: ``n`` members act at the same moment. SimCord runs one actor operation at a
  time (an overlapping ``member.slash`` raises "operation overlaps"), so a burst builds
  each member's interaction with SimCord's own code (the same option validation, payload
  and permission checks as ``member.slash``/``member.autocomplete``), emits them
  back-to-back without waiting, then settles once: the bot has ``n`` interactions in
  flight at once, as with ``n`` users clicking together. A burst of one is exactly
  ``member.slash``.
"""

from __future__ import annotations

import asyncio
import sqlite3
import time
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass, field
from datetime import timedelta
from pathlib import Path
from typing import Any

import discord
import simcord
import simcord.actors as simcord_actors
from _common import NOW, seed_active_contracts
from discord import app_commands
from simcord.backend.models.interaction import Interaction as BackendInteraction

from bot.app import MarketBot, create_bot
from bot.clock import FakeClock
from bot.config import Settings

BENCH_POLICIES = {
    # one member posts many jobs in a benchmark: no cooldown, no cap on open jobs
    "post_cooldown": "0s",
    "apply_cooldown": "0s",
    "max_open_jobs": "10000",
    "max_open_applications": "10000",
}


def make_bot(db_path: Path, files: Path, *, ok_command: bool = True) -> MarketBot:
    settings = Settings(
        database_path=db_path,
        files_dir=files,
        scheduler_tick=timedelta(days=1),
        policy_defaults={**Settings().policy_defaults, **BENCH_POLICIES},
    )
    bot = create_bot(settings, clock=FakeClock(NOW))
    if ok_command:

        @app_commands.command(name="benchok", description="Benchmark: replies ok")
        async def benchok(interaction: discord.Interaction[Any]) -> None:
            await interaction.response.send_message("ok", ephemeral=True)

        bot.tree.add_command(benchok)
    return bot


def quiet_scheduler(bot: MarketBot) -> None:
    """Stop APScheduler (sweep, outbox retry) after start: nothing periodic runs during a
    measurement. (Its pending wake-up timer is bot-owned work that SimCord's settle would
    wait for.) The dispatcher kicked after each commit still runs, as in production."""
    scheduler, bot.scheduler = bot.scheduler, None
    if scheduler is not None and scheduler.running:
        scheduler.shutdown(wait=False)


@dataclass
class World:
    env: simcord.Env
    guild: simcord.GuildHandle
    general: simcord.ChannelHandle
    jobs: simcord.ChannelHandle
    mod: simcord.ChannelHandle
    contracts: simcord.ChannelHandle
    admin: simcord.MemberActor
    moderator_role: simcord.RoleHandle
    members: list[simcord.MemberActor] = field(default_factory=list)
    # member id -> ids of the contracts the member is a party of (seeded)
    contracts_of: dict[int, list[int]] = field(default_factory=dict)


async def build_world(env: simcord.Env, guild_id: int, members: int) -> World:
    guild = env.create_guild("Bench", id=guild_id)
    admin_role = guild.create_role("Admins", permissions=discord.Permissions(manage_guild=True))
    moderator_role = guild.create_role("Moderators")
    hidden = discord.PermissionOverwrite(view_channel=False)
    visible = discord.PermissionOverwrite(view_channel=True)
    me = guild.me
    assert me is not None
    world = World(
        env=env,
        guild=guild,
        general=guild.create_text_channel("general"),
        jobs=guild.create_text_channel("jobs"),
        mod=guild.create_text_channel(
            "mod", overwrites={guild.default_role: hidden, moderator_role: visible, admin_role: visible, me: visible}
        ),
        contracts=guild.create_text_channel("contracts"),
        admin=guild.add_member(env.create_user("admin"), roles=[admin_role]),
        moderator_role=moderator_role,
    )
    result = await world.admin.slash(
        world.general,
        "setup",
        jobs_channel=world.jobs,
        mod_channel=world.mod,
        moderator_role=moderator_role,
        contracts_channel=world.contracts,
    )
    assert result.acknowledged, result
    errors = env.errors
    assert not errors, errors
    world.members = [guild.add_member(env.create_user(f"member{i}")) for i in range(members)]
    return world


def seed_member_contracts(db_path: Path, world: World, guild_id: int, per_member: int = 5) -> None:
    """``per_member`` contracts with each member as client (and so about as many as worker),
    written with a second connection while the bot is idle."""
    members = world.members
    pairs = [
        (members[i].id, members[(i + k) % len(members)].id)
        for i in range(len(members))
        for k in range(1, per_member + 1)
        if len(members) > 1
    ]
    conn = sqlite3.connect(db_path, isolation_level=None, timeout=30)
    try:
        conn.execute("BEGIN IMMEDIATE")
        ids = seed_active_contracts(conn, pairs, guild_id=guild_id, seed=7)
        conn.execute("COMMIT")
    finally:
        conn.close()
    for cid, (client, worker) in zip(ids, pairs, strict=True):
        world.contracts_of.setdefault(client, []).append(cid)
        world.contracts_of.setdefault(worker, []).append(cid)


class TimedLock(asyncio.Lock):
    """The database's lock, timed: how long the single connection is held (every read and
    transaction of the bot runs under it, so this is the serialized part of the work)."""

    def __init__(self) -> None:
        super().__init__()
        self.held = 0.0
        self._since = 0.0

    async def acquire(self) -> bool:
        result = await super().acquire()
        self._since = time.perf_counter()
        return result

    def release(self) -> None:
        self.held += time.perf_counter() - self._since
        super().release()


def time_db_lock(bot: MarketBot) -> TimedLock:
    assert bot.db is not None and not bot.db._lock.locked()
    lock = TimedLock()
    bot.db._lock = lock
    return lock


class Recorder:
    """Dispatch and first-response times (``time.perf_counter``) per interaction id."""

    MARKERS = (
        "respond_with_message",
        "defer",
        "defer_update",
        "update_source",
        "show_modal",
        "complete_autocomplete",
        "pong",
    )

    def __init__(self, env: simcord.Env) -> None:
        self.dispatched: dict[int, float] = {}
        self.answered: dict[int, float] = {}
        self._waiting: set[int] = set()
        self._all_answered: asyncio.Event | None = None
        self._originals: dict[str, Any] = {}
        self._unregister = env._register_dispatch_observer(self._on_dispatch)
        for name in self.MARKERS:
            original = getattr(BackendInteraction, name)
            self._originals[name] = original
            setattr(BackendInteraction, name, self._wrap(original))

    def _on_dispatch(self, record: Any) -> None:
        self.dispatched[record.id] = time.perf_counter()

    def _wrap(self, original: Callable[..., Any]) -> Callable[..., Any]:
        answered = self.answered

        def marker(record: BackendInteraction, *args: Any, **kwargs: Any) -> Any:
            if record.id not in answered:
                answered[record.id] = time.perf_counter()
                self._waiting.discard(record.id)
                if not self._waiting and self._all_answered is not None:
                    self._all_answered.set()
            return original(record, *args, **kwargs)

        return marker

    async def wait_answered(self, ids: Sequence[int], limit_s: float) -> None:
        """Until every interaction in ``ids`` has its first response (or ``limit_s`` seconds)."""
        self._waiting = {i for i in ids if i not in self.answered}
        if not self._waiting:
            return
        self._all_answered = asyncio.Event()
        try:
            await asyncio.wait_for(self._all_answered.wait(), limit_s)
        except TimeoutError:
            pass  # the settle that follows reports what is stuck
        finally:
            self._all_answered = None

    def latency_ms(self, interaction_id: int) -> float | None:
        start, end = self.dispatched.get(interaction_id), self.answered.get(interaction_id)
        return None if start is None or end is None else (end - start) * 1000

    def close(self) -> None:
        for name, original in self._originals.items():
            setattr(BackendInteraction, name, original)
        self._unregister()


async def _emit_only(
    actor: Any,
    type: int,
    channel: simcord.ChannelHandle,
    data: dict[str, Any],
    *,
    extra: dict[str, Any] | None = None,
    source_message_id: int | None = None,
) -> simcord.InteractionResult:
    """SimCord's ``_dispatch_actor_interaction`` without the settle at the end."""
    simcord_actors._check_actor_channel(actor, channel)
    backend = actor._env.backend
    guild = getattr(actor, "guild", None)
    record, payload = simcord_actors._interactions.base_payload(
        backend,
        type=type,
        channel_id=channel.id,
        guild_id=guild.id if guild is not None else None,
        user_id=actor.id,
        data=data,
    )
    if extra:
        payload.update(extra)
    if source_message_id is not None:
        record.source_message_id = source_message_id
    actor._env._notify_dispatch_observers(record)
    backend.emit("INTERACTION_CREATE", payload)
    return simcord.InteractionResult(actor._env, record)


Action = Callable[[], Awaitable[simcord.InteractionResult]]


def slash(member: simcord.MemberActor, channel: simcord.ChannelHandle, name: str, **options: Any) -> Action:
    return lambda: simcord_actors._slash(member, channel, name, options)


def autocomplete(
    member: simcord.MemberActor, channel: simcord.ChannelHandle, name: str, option: str, value: str, **filled: Any
) -> Action:
    return lambda: simcord_actors._autocomplete_result(member, channel, name, option, value, filled)


async def burst(
    env: simcord.Env, actions: Sequence[Action], recorder: Recorder | None = None, limit_s: float = 300.0
) -> tuple[list[simcord.InteractionResult], float]:
    """Emit every action's interaction without waiting, then settle once. Returns the results
    and the seconds from the first dispatch to settled. With a ``recorder``, wait for every
    first response before settling: SimCord's settle loop re-inspects every pending task each
    time one finishes, which is harness work that would otherwise compete with the bot for
    the event loop while the latencies are measured."""
    env._begin_operation("bench burst")
    original = simcord_actors._dispatch_actor_interaction
    start = time.perf_counter()
    try:
        simcord_actors._dispatch_actor_interaction = _emit_only  # type: ignore[assignment]
        try:
            results = [await action() for action in actions]
        finally:
            simcord_actors._dispatch_actor_interaction = original  # type: ignore[assignment]
        if recorder is not None:
            await recorder.wait_answered([interaction_id(r) for r in results], limit_s)
        await env._settle_internal(dispatch="bench burst")
    finally:
        env._end_operation()
    return results, time.perf_counter() - start


def interaction_id(result: simcord.InteractionResult) -> int:
    return result._interaction.id
