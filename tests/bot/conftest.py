"""Bot tests through discord.py's real code paths, on SimCord (docs/architecture.md, "Tests").

Fixtures for every cog's tests (tests/bot/, tests/e2e/):

``bot_settings``  Settings on a temporary database and files directory (global command sync).
``clock``         the FakeClock the bot's services read (from tests/conftest.py).
``simcord_bot``   ``create_bot(bot_settings, clock=clock)``; SimCord logs it in, which runs
                  ``setup_hook`` (migrations, services, cogs, scheduler, command sync).
``simcord_env``   SimCord's running environment (from its pytest plugin).
``market``        a :class:`Market`: one guild with channels ``general`` (where members run
                  commands), ``jobs``, ``mod`` (moderators only), ``contracts``; a
                  ``moderator_role``; members ``admin`` (Manage Server), ``moderator``,
                  ``client``, ``worker``, ``outsider``. Not set up yet.
``setup_market``  the same after ``admin`` ran ``/setup`` (contracts channel included, JPY).

``Market`` helpers:
  ``await market.run_setup(**options)``      /setup as admin; returns the InteractionResult
                                              (``run_setup_as(member, ...)`` as someone else;
                                              an option given as None is left out).
  ``market.set_locale(member, "ja")``        the locale Discord sends for that member's
                                              interactions (SimCord always sends en-US).
  ``market.guild_locale = "ja"``             the guild locale sent with interactions.
  ``await market.settle()``                  let the bot finish (after calling a service
                                              directly: its commit kicks the dispatcher).
  ``await market.dispatch()``                send the due outbox rows now; returns the count.
  ``await market.sweep()``                   one scheduler tick (``bot.run_sweep``) with the
                                              current clock; move ``market.clock`` first.
  ``await market.restart()``                 a new bot on the same database and world.
  ``market.dms(member)``                     the messages the bot DMed that member; click a DM's
                                              buttons as ``member.user.click(message, custom_id=...)``
                                              (a DM interaction has no guild_id).
  ``market.assert_refused(result, key, language="en", **args)``
                                              the ephemeral answer is ``t(language, key, **args)``;
                                              acknowledges the handled error (SimCord fails a test
                                              on unacknowledged ones).
  ``market.bot`` / ``market.services``       the current bot and its services.
  ``await market.sql(statement, *params)``   a test-only write (e.g. set a contract's thread).

At teardown the ledger invariants are checked on the bot's database and every bot the
test built is released (scheduler, dispatcher, database connection).
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import discord
import pytest
import simcord
import simcord.interactions
from discord import app_commands

from bot.app import MarketBot, create_bot
from bot.clock import FakeClock
from bot.config import Settings
from bot.errors import MarketError
from bot.i18n import t
from bot.services.container import Services
from bot.tree import MarketCheckFailure
from bot.ui.format import format_args
from tests.invariants import assert_ledger_invariants


@pytest.fixture
def bot_settings(tmp_path: Path) -> Settings:
    return Settings(database_path=tmp_path / "bot.db", files_dir=tmp_path / "files")


@pytest.fixture
async def built_bots() -> AsyncIterator[list[MarketBot]]:
    """Every bot the test built. Torn down last (after SimCord's shutdown): the ledger
    invariants are checked on the newest bot's database, then every bot is released."""
    bots: list[MarketBot] = []
    yield bots
    if bots and bots[-1].db is not None:
        await assert_ledger_invariants(bots[-1].db)
    for bot in bots:
        await bot.release()


@pytest.fixture
def simcord_bot(bot_settings: Settings, clock: FakeClock, built_bots: list[MarketBot]) -> MarketBot:
    """The bot SimCord runs. Override it in a test module to add test-only commands
    before start-up (they are synced with the rest)."""
    bot = create_bot(bot_settings, clock=clock)
    built_bots.append(bot)
    return bot


@pytest.fixture
def interaction_locales(monkeypatch: pytest.MonkeyPatch) -> Iterator[dict[str, Any]]:
    """Per-user ``locale`` and the ``guild_locale`` SimCord puts in interaction payloads."""
    locales: dict[str, Any] = {"users": {}, "guild": None}
    original = simcord.interactions.base_payload

    def base_payload(backend: Any, **kwargs: Any) -> Any:
        record, payload = original(backend, **kwargs)
        user_locale = locales["users"].get(kwargs.get("user_id"))
        if user_locale:
            payload["locale"] = user_locale
        if "guild_locale" in payload and locales["guild"]:
            payload["guild_locale"] = locales["guild"]
        return record, payload

    monkeypatch.setattr(simcord.interactions, "base_payload", base_payload)
    yield locales


@dataclass
class Market:
    env: simcord.Env
    clock: FakeClock
    settings: Settings
    guild: simcord.GuildHandle
    general: simcord.ChannelHandle
    jobs: simcord.ChannelHandle
    mod: simcord.ChannelHandle
    contracts: simcord.ChannelHandle
    moderator_role: simcord.RoleHandle
    admin_role: simcord.RoleHandle
    admin: simcord.MemberActor
    moderator: simcord.MemberActor
    client: simcord.MemberActor
    worker: simcord.MemberActor
    outsider: simcord.MemberActor
    built_bots: list[MarketBot]
    locales: dict[str, Any] = field(repr=False, default_factory=dict)

    @property
    def bot(self) -> MarketBot:
        bot = self.env.bot
        assert isinstance(bot, MarketBot)
        return bot

    @property
    def services(self) -> Services:
        return self.bot.services

    @property
    def moderators_pinged(self) -> str:
        """What starts a mod-channel post that waits for a moderator: the role's mention."""
        return f"<@&{self.moderator_role.id}> "

    @property
    def guild_locale(self) -> str | None:
        return self.locales["guild"]

    @guild_locale.setter
    def guild_locale(self, value: str | None) -> None:
        self.locales["guild"] = value

    def set_locale(self, member: simcord.MemberActor, locale: str) -> None:
        self.locales["users"][member.id] = locale

    async def run_setup(self, **options: Any) -> simcord.InteractionResult:
        return await self.run_setup_as(self.admin, **options)

    async def run_setup_as(self, member: simcord.MemberActor, **options: Any) -> simcord.InteractionResult:
        values: dict[str, Any] = {
            "jobs_channel": self.jobs,
            "mod_channel": self.mod,
            "moderator_role": self.moderator_role,
            "contracts_channel": self.contracts,
        }
        values.update(options)
        values = {name: value for name, value in values.items() if value is not None}
        return await member.slash(self.general, "setup", **values)

    async def settle(self) -> None:
        await self.env.settle()

    async def dispatch(self) -> int:
        count = await self.bot.dispatcher.dispatch()
        await self.env.settle()
        return count

    async def sweep(self) -> None:
        await self.bot.run_sweep()
        await self.env.settle()

    async def restart(self) -> MarketBot:
        await self.env.settle()
        old = self.bot
        new = create_bot(self.settings, clock=self.clock)
        self.built_bots.append(new)
        await self.env.restart_bot(new)
        await old.release()
        return new

    def dms(self, member: simcord.MemberActor) -> list[discord.Message]:
        return member.user.dm_channel.history()

    async def sql(self, statement: str, *params: Any) -> None:
        async with self.services.db.transaction() as conn:
            await conn.execute(statement, params)

    def assert_refused(self, result: simcord.InteractionResult, key: str, language: str = "en", **args: Any) -> None:
        simcord.assert_responded(result, content=t(language, key, **format_args(args, language)), ephemeral=True)
        errors = self.env.errors  # acknowledges them
        assert errors, "expected the refusal to go through the tree's error handler"
        assert isinstance(errors[-1], MarketError | app_commands.AppCommandError | MarketCheckFailure)


@pytest.fixture
async def market(
    simcord_env: simcord.Env,
    clock: FakeClock,
    bot_settings: Settings,
    built_bots: list[MarketBot],
    interaction_locales: dict[str, Any],
) -> Market:
    env = simcord_env
    guild = env.create_guild("Crowdwork")
    admin_role = guild.create_role("Admins", permissions=discord.Permissions(manage_guild=True))
    moderator_role = guild.create_role("Moderators")
    hidden = discord.PermissionOverwrite(view_channel=False)
    visible = discord.PermissionOverwrite(view_channel=True)
    me = guild.me
    assert me is not None
    general = guild.create_text_channel("general")
    jobs = guild.create_text_channel("jobs")
    mod = guild.create_text_channel(
        "mod", overwrites={guild.default_role: hidden, moderator_role: visible, admin_role: visible, me: visible}
    )
    contracts = guild.create_text_channel("contracts")
    return Market(
        env=env,
        clock=clock,
        settings=bot_settings,
        guild=guild,
        general=general,
        jobs=jobs,
        mod=mod,
        contracts=contracts,
        moderator_role=moderator_role,
        admin_role=admin_role,
        admin=guild.add_member(env.create_user("admin"), roles=[admin_role]),
        moderator=guild.add_member(env.create_user("moderator"), roles=[moderator_role]),
        client=guild.add_member(env.create_user("client")),
        worker=guild.add_member(env.create_user("worker")),
        outsider=guild.add_member(env.create_user("outsider")),
        built_bots=built_bots,
        locales=interaction_locales,
    )


@pytest.fixture
async def setup_market(market: Market) -> Market:
    result = await market.run_setup()
    assert result.response is not None and result.ephemeral, result
    return market
