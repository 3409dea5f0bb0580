"""Discord-layer test helpers: bring a contract to a state, read what the bot sent.

Fixtures (``market``, ``setup_market``, ...) stay in tests/bot/conftest.py; these are plain
functions that any bot or e2e test module imports.

Two sets of contract setups drive the services directly to reach a state fast, then let
the bot settle (its dispatcher sends the DMs and posts the outbox holds). They differ on
purpose, and the tests that use them assert their figures:

* the contracts feature's: ``posted_job`` -> ``applied`` (price 45000) -> ``offered`` ->
  ``hired`` -> ``deposited`` -> ``funded``; the bot settles after every step and the offer
  terms (``**terms``) go to ``contracts.offer``.
* the delivery feature's: ``hired_contract`` (budget and price :data:`PRICE`, every cooldown
  off, an optional other ``client``) -> ``active_contract`` (an optional other
  ``confirmer``) -> ``delivered_contract`` (one :data:`LOGO` file) ->
  ``completed_contract``; the bot settles once per helper, and each checks the status it
  reached.

The readers below (``last_dm``, ``custom_ids``, ``field``, ...) read messages as the member
who received them sees them.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

import discord
import simcord
from discord import app_commands

from bot.errors import MarketError
from bot.i18n import t
from bot.models.entities import Contract, Job
from bot.repositories.outbox import enqueue
from bot.services.deliveries import IncomingFile
from bot.ui.format import format_args
from tests.bot.conftest import Market

TITLE = "Logo for a ramen shop"
DESCRIPTION = "A simple logo, vector files, two colours."

LOGO = ("logo.png", b"\x89PNG a fake logo")
PRICE = 50000  # JPY

JOB: dict[str, Any] = {
    "title": "Logo for a ramen shop",
    "description": "A simple logo, vector files, two colours.",
    "budget": 45000,
    "deadline": "7d",
}


# -- a contract at each state (the contracts feature's setups) -------------------------------


async def posted_job(market: Market, client: simcord.MemberActor | None = None, **options: Any) -> Job:
    values: dict[str, Any] = {"title": TITLE, "description": DESCRIPTION, "budget": 50000, "deadline": "7d"}
    values.update(options)
    await market.services.guilds.set_policy(market.guild.id, "post_cooldown", "0s", actor_id=market.admin.id)
    job = await market.services.jobs.post(market.guild.id, (client or market.client).id, **values)
    await market.settle()
    return job


async def applied(market: Market, job: Job, worker: simcord.MemberActor | None = None, price: int = 45000,
                  days: int | None = None) -> None:  # fmt: skip
    await market.services.guilds.set_policy(market.guild.id, "apply_cooldown", "0s", actor_id=market.admin.id)
    await market.services.jobs.apply(
        market.guild.id, job.id, (worker or market.worker).id, proposal="I draw logos.", price=price, days=days
    )
    await market.settle()


async def offered(market: Market, **terms: Any) -> Contract:
    """An offer from client to worker (services called directly, then the bot settles)."""
    job = await posted_job(market)
    await applied(market, job)
    view = await market.services.contracts.offer(market.guild.id, market.client.id, job.id, market.worker.id, **terms)
    await market.settle()
    return view.contract


async def hired(market: Market, **terms: Any) -> Contract:
    contract = await offered(market, **terms)
    await market.services.contracts.accept(market.guild.id, contract.id, actor_id=market.worker.id)
    await market.settle()
    return await reload(market, contract.id)


async def deposited(market: Market, **terms: Any) -> Contract:
    contract = await hired(market, **terms)
    await market.services.escrow.deposit(market.guild.id, contract.id, actor_id=market.client.id)
    await market.settle()
    return await reload(market, contract.id)


async def funded(market: Market, **terms: Any) -> Contract:
    contract = await deposited(market, **terms)
    await market.services.escrow.confirm(market.guild.id, contract.id, moderator_id=market.moderator.id)
    await market.settle()
    return await reload(market, contract.id)


async def reload(market: Market, contract_id: int) -> Contract:
    """The contract as the bot's database holds it now."""
    contract = await market.services.contracts.get(contract_id)
    assert contract is not None
    return contract


# -- a contract at each state (the delivery feature's setups) --------------------------------


async def hired_contract(market: Market, *, revisions: int | None = None, client: Any = None) -> Contract:
    """An offer by ``client`` (default market.client) that market.worker accepted: status
    awaiting_funding. Cooldowns are off."""
    services, guild_id = market.services, market.guild.id
    client = client or market.client
    for name in ("post_cooldown", "apply_cooldown", "report_cooldown"):
        await services.guilds.set_policy(guild_id, name, "0s", actor_id=market.admin.id)
    job = await services.jobs.post(
        guild_id,
        client.id,
        title="Logo for a ramen shop",
        description="A simple logo, vector files, two colours.",
        budget=PRICE,
        deadline="7d",
    )
    await services.jobs.apply(
        guild_id, job.id, market.worker.id, proposal="I have drawn logos for ten shops.", price=PRICE
    )
    terms: dict[str, Any] = {} if revisions is None else {"revisions": revisions}
    offer = await services.contracts.offer(guild_id, client.id, job.id, market.worker.id, **terms)
    await services.contracts.accept(guild_id, offer.contract.id, actor_id=market.worker.id)
    await market.settle()
    contract = await services.contracts.get(offer.contract.id)
    assert contract is not None and contract.status == "awaiting_funding"
    return contract


async def active_contract(
    market: Market, *, revisions: int | None = None, client: Any = None, confirmer: Any = None
) -> Contract:
    """The same, funded by the client and confirmed by ``confirmer`` (default market.moderator):
    status active."""
    services, guild_id = market.services, market.guild.id
    contract = await hired_contract(market, revisions=revisions, client=client)
    await services.escrow.deposit(guild_id, contract.id, actor_id=contract.client_id, reference="bank 0001")
    await services.escrow.confirm(guild_id, contract.id, moderator_id=(confirmer or market.moderator).id)
    await market.settle()
    reloaded = await services.contracts.get(contract.id)
    assert reloaded is not None and reloaded.status == "active"
    return reloaded


async def delivered_contract(market: Market, **kwargs: Any) -> Contract:
    contract = await active_contract(market, **kwargs)
    await market.services.deliveries.deliver(
        market.guild.id,
        contract.id,
        actor_id=market.worker.id,
        files=[IncomingFile(*LOGO, "image/png")],
        note="First draft.",
    )
    await market.settle()
    reloaded = await market.services.contracts.get(contract.id)
    assert reloaded is not None and reloaded.status == "delivered"
    return reloaded


async def completed_contract(market: Market) -> Contract:
    """The client approved the delivery: the escrow is released and the worker is owed."""
    contract = await delivered_contract(market)
    await market.services.deliveries.approve(market.guild.id, contract.id, actor_id=market.client.id)
    await market.settle()
    return contract


async def contract_thread(market: Market, contract: Contract) -> simcord.ChannelHandle:
    """The contract's private thread (made here if the contracts feature has not made one)."""
    reloaded = await market.services.contracts.get(contract.id)
    assert reloaded is not None
    if reloaded.thread_id is None:
        parent = market.bot.get_channel(market.contracts.id)
        assert isinstance(parent, discord.TextChannel)
        thread = await parent.create_thread(name=f"contract-{contract.id}", type=discord.ChannelType.private_thread)
        await market.services.contracts.set_thread(contract.id, thread.id)
        await market.settle()
        thread_id = thread.id
    else:
        thread_id = reloaded.thread_id
    for channel in (market.contracts, market.jobs, market.general, market.mod):
        for handle in channel.threads:
            if handle.id == thread_id:
                return handle
    raise AssertionError(f"thread {thread_id} not found")


# -- jobs through /job post ------------------------------------------------------------------


async def post(market: Market, member: simcord.MemberActor | None = None, **options: Any) -> int:
    """/job post as the client (or ``member``); returns the new job's id."""
    result = await (member or market.client).slash(market.general, "job post", **{**JOB, **options})
    assert result.ephemeral and result.response is not None, result
    await market.settle()
    page = await market.services.jobs.search(market.guild.id, client_id=(member or market.client).id)
    return page.jobs[0].id


# -- what the bot sent and holds -------------------------------------------------------------


def last_dm(market: Market, member: simcord.MemberActor, key_start: str = "") -> discord.Message:
    """The newest DM to ``member`` (whose text starts like the English template ``key_start``,
    when given)."""
    found = [m for m in market.dms(member) if m.content.startswith(key_start)]
    assert found, f"no DM to {member.name} starting {key_start!r}: {[m.content for m in market.dms(member)]}"
    return found[-1]


def refetch_dm(member: simcord.MemberActor, message: discord.Message) -> discord.Message:
    """The DM as ``member`` sees it now (after an edit)."""
    [found] = [m for m in member.user.dm_channel.history() if m.id == message.id]
    return found


def custom_ids(message: discord.Message) -> list[str]:
    """The custom_id of every component of the message, row by row."""
    return [child.custom_id or "" for row in message.components for child in getattr(row, "children", [])]


def labels(message: discord.Message) -> list[str]:
    """The label of every component of the message, row by row."""
    return [getattr(child, "label", None) or "" for row in message.components
            for child in getattr(row, "children", [])]


def disabled(message: discord.Message) -> list[bool]:
    """Whether each component of the message is disabled, row by row."""
    return [
        bool(getattr(child, "disabled", False)) for row in message.components for child in getattr(row, "children", [])
    ]


def buttons(message: discord.Message) -> list[str]:
    """The custom_ids of the message's buttons (link buttons left out)."""
    return [child.custom_id for row in message.components for child in getattr(row, "children", []) if
            isinstance(child, discord.Button) and child.custom_id]  # fmt: skip


def field(embed: discord.Embed, name: str) -> str:
    """The value of the embed's only field called ``name``."""
    [value] = [f.value for f in embed.fields if f.name == name]
    assert value is not None
    return value


def card_field(message: discord.Message, name: str) -> str:
    """The value of the last field called ``name`` in the message's only embed (a case card)."""
    [embed] = message.embeds
    values = [f.value for f in embed.fields if f.name == name]
    assert values, [f.name for f in embed.fields]
    return values[-1] or ""


def fields(embed: discord.Embed) -> dict[str | None, str | None]:
    """Every field of the embed, by name."""
    return {f.name: f.value for f in embed.fields}


def refused(market: Market, result: simcord.InteractionResult, key: str, language: str = "en", **args: Any) -> None:
    """A button or modal refusal: the same ephemeral, localized answer as a command's. A modal's
    refusal also reaches SimCord's error log (through the modal's on_error): acknowledged here."""
    simcord.assert_responded(result, content=t(language, key, **format_args(args, language)), ephemeral=True)
    for error in market.env.errors:
        assert isinstance(error, MarketError | app_commands.AppCommandError), error


async def ledger(market: Market, account: str) -> int:
    """The balance of one ledger account (``escrow:<id>``, ``owed:<user>``, ``fees``, ...)."""
    row = await market.services.db.fetchone(
        "SELECT COALESCE(SUM(amount), 0) AS total FROM ledger_entries WHERE account = ?", (account,)
    )
    assert row is not None
    return int(row["total"])


# -- stand-ins for the bot shell's tests -----------------------------------------------------


class ContractsStub:
    """Stands in for ``services.contracts`` (only the methods the bot shell calls)."""

    def __init__(self, threads: dict[int, int] | None = None) -> None:
        self.threads = threads or {}
        self.messages: list[tuple[int, int, datetime]] = []

    async def thread_id_of(self, contract_id: int) -> int | None:
        return self.threads.get(contract_id)

    async def record_thread_message(self, thread_id: int, author_id: int, at: datetime) -> None:
        self.messages.append((thread_id, author_id, at))

    async def forget_thread(self, contract_id: int, thread_id: int) -> bool:
        """A stub contract is not in the database: a deleted thread cannot be replaced, so
        these tests see the fallback, the note in the mod channel (tests/bot/test_threads.py
        has the replacement of a real contract's thread)."""
        return False


def everything_sent(market: Market) -> list[str]:
    """The text of every message the bot sent anywhere: each channel and its threads, and
    the DMs of every member (content, embed title, description, fields and footer)."""
    messages: list[discord.Message] = []
    for channel in market.guild.channels.values():
        messages += channel.history()
        for thread in channel.threads:
            messages += thread.history()
    for member in (market.admin, market.moderator, market.client, market.worker, market.outsider):
        messages += market.dms(member)
    texts = []
    for message in messages:
        if market.bot.user is None or message.author.id != market.bot.user.id:
            continue
        parts = [message.content]
        for embed in message.embeds:
            parts += [embed.title or "", embed.description or "", embed.footer.text or ""]
            parts += [f"{f.name}\n{f.value}" for f in embed.fields]
        texts.append("\n".join(parts))
    return texts


async def status_of(market: Market, contract_id: int) -> str:
    contract = await market.services.contracts.get(contract_id)
    assert contract is not None
    return str(contract.status)


def delivery_dm(market: Market) -> discord.Message:
    return last_dm(market, market.client, "📦")


async def copy_of_buttons(market: Market, member: simcord.MemberActor, buttons: list[str]) -> discord.Message:
    """DM ``member`` a test message carrying ``buttons`` (another copy of a question)."""
    async with market.services.db.transaction() as conn:
        await enqueue(
            conn,
            guild_id=market.guild.id,
            target="dm",
            recipient_id=member.id,
            message_key="ui.review.modal_reason",
            now=market.clock.now(),
            buttons=buttons,
        )
    await market.settle()
    return market.dms(member)[-1]


async def force_currency(market: Market, code: str) -> None:
    """Set the guild's currency behind /setup's back, as a database from before the currency
    change was refused with open jobs may hold (a contract in the old currency)."""
    await market.sql("UPDATE guilds SET currency = ? WHERE guild_id = ?", code, market.guild.id)
    market.services.guilds._forget(market.guild.id)


def case_card(market: Market, case_id: int) -> discord.Message:
    """The case's card in the mod channel (the latest message with its buttons)."""
    for message in reversed(market.mod.history()):
        if any(cid.startswith(f"cw:case:{case_id}:") for cid in custom_ids(message)):
            return message
    raise AssertionError(f"no card for case {case_id}")


async def decide_case(market: Market, member: simcord.MemberActor, case_id: int, action: str,
                      values: dict[str, Any]) -> simcord.InteractionResult:
    """Click ``action`` on the case card and submit its modal with ``values``."""
    shown = await member.click(case_card(market, case_id), custom_id=f"cw:case:{case_id}:{action}")
    assert shown.modal is not None, shown
    return await member.submit_modal(shown, values)
