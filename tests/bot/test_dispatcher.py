"""The outbox dispatcher: DMs in the reader's language, fallbacks, retries, buttons."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import discord
import pytest
import simcord

from bot.i18n import catalogue, t
from bot.models.timeutil import to_iso
from bot.repositories.outbox import enqueue
from bot.ui.buttons import MarketButton, register_button
from tests.bot.conftest import Market
from tests.bot.helpers import ContractsStub


@register_button("dispatchtest", "ok")
class OkButton(MarketButton):
    label_key = "dispatchtest.ok"
    style = discord.ButtonStyle.success

    async def run(self, interaction: discord.Interaction[Any]) -> None:
        await interaction.response.send_message(f"ok {self.target_id}", ephemeral=True)


@pytest.fixture(autouse=True)
def test_messages(monkeypatch: pytest.MonkeyPatch) -> None:
    for language, paid, ok in (
        ("en", "Paid {price_amount} for contract #{contract_id}, due {due_at}.", "OK"),
        ("ja", "契約 #{contract_id} の支払い {price_amount}、期限 {due_at}。", "了解"),
    ):
        monkeypatch.setitem(catalogue(language), "dispatchtest.paid", paid)
        monkeypatch.setitem(catalogue(language), "dispatchtest.ok", ok)


def paid_args(market: Market) -> dict[str, Any]:
    return {"contract_id": 7, "price_amount": 12000, "currency": "JPY", "due_at": to_iso(market.clock.now())}


async def put(market: Market, **row: Any) -> int:
    """Write an outbox row as a service would; the commit kicks the dispatcher."""
    row.setdefault("message_key", "dispatchtest.paid")
    row.setdefault("args", paid_args(market))
    async with market.services.db.transaction() as conn:
        await enqueue(conn, guild_id=market.guild.id, now=market.clock.now(), **row)
    latest = await market.services.db.fetchone("SELECT MAX(id) FROM outbox")
    assert latest is not None and latest[0] is not None
    await market.settle()
    return int(latest[0])


def stamp(market: Market) -> str:
    return f"<t:{int(market.clock.now().timestamp())}:f>"


def sends_to(market: Market, channel_id: int) -> list[Any]:
    return [r for r in market.env.http_requests if r.method == "POST" and r.path == f"/channels/{channel_id}/messages"]


async def test_a_dm_row_is_sent_after_the_commit(setup_market: Market) -> None:
    market = setup_market
    row_id = await put(market, target="dm", recipient_id=market.worker.id, buttons=["dispatchtest:7:ok"])

    [dm] = market.dms(market.worker)
    assert dm.content == f"Paid ¥12,000 for contract #7, due {stamp(market)}."
    item = await market.services.outbox.get(row_id)
    assert item is not None and (item.status, item.message_id) == ("sent", dm.id)
    [request] = sends_to(market, market.worker.user.dm_channel.id)
    assert request.json["allowed_mentions"] == {"parse": [], "users": [market.worker.id]}

    clicked = await market.worker.user.click(dm, custom_id="cw:dispatchtest:7:ok")  # a DM: no guild
    simcord.assert_responded(clicked, content="ok 7", ephemeral=True)


async def test_a_dm_is_written_in_the_recipients_language(setup_market: Market) -> None:
    market = setup_market
    market.set_locale(market.worker, "ja")
    await market.worker.slash(market.general, "help")  # Discord tells us the locale

    await put(market, target="dm", recipient_id=market.worker.id, buttons=["dispatchtest:7:ok"])

    dm = market.dms(market.worker)[-1]
    assert dm.content == f"契約 #7 の支払い 12,000円、期限 {stamp(market)}。"
    assert dm.components[0].children[0].label == "了解"  # type: ignore[attr-defined]


async def test_without_a_known_locale_a_dm_uses_the_guild_language(market: Market) -> None:
    market.guild_locale = "ja"
    await market.run_setup()

    await put(market, target="dm", recipient_id=market.client.id)

    assert market.dms(market.client)[-1].content.startswith("契約 #7")


async def test_closed_dms_fall_back_to_the_contract_thread(
    setup_market: Market, monkeypatch: pytest.MonkeyPatch
) -> None:
    market = setup_market
    parent = market.bot.get_channel(market.contracts.id)
    assert isinstance(parent, discord.TextChannel)
    thread = await parent.create_thread(name="contract-7", type=discord.ChannelType.private_thread)
    await market.settle()
    monkeypatch.setattr(market.services, "contracts", ContractsStub({7: thread.id}), raising=False)
    dm_channel = market.worker.user.dm_channel
    market.env.inject_error(
        "POST",
        f"/channels/{dm_channel.id}/messages",
        status=403,
        code=50007,
        message="Cannot send messages to this user",
    )

    row_id = await put(market, target="dm", recipient_id=market.worker.id, contract_id=7)

    [handle] = [c for c in market.contracts.threads if c.id == thread.id]
    posted = handle.last_message
    assert posted is not None
    body = f"Paid ¥12,000 for contract #7, due {stamp(market)}."
    assert posted.content == t("en", "dispatch.fallback_thread", mention=market.worker.mention, message=body)
    item = await market.services.outbox.get(row_id)
    assert item is not None and (item.status, item.message_id) == ("fallback_thread", posted.id)
    assert market.dms(market.worker) == []
    [request] = sends_to(market, thread.id)
    assert request.json["allowed_mentions"] == {"parse": [], "users": [market.worker.id]}


async def test_closed_dms_without_a_thread_go_to_the_mod_channel(setup_market: Market) -> None:
    market = setup_market
    dm_channel = market.worker.user.dm_channel
    market.env.inject_error(
        "POST",
        f"/channels/{dm_channel.id}/messages",
        status=403,
        code=50007,
        message="Cannot send messages to this user",
    )

    row_id = await put(market, target="dm", recipient_id=market.worker.id, contract_id=7)

    note = market.mod.last_message
    assert note is not None
    body = f"Paid ¥12,000 for contract #7, due {stamp(market)}."
    assert note.content == t("en", "dispatch.fallback_mod", mention=market.worker.mention, message=body)
    item = await market.services.outbox.get(row_id)
    assert item is not None and item.status == "fallback_mod"
    [request] = sends_to(market, market.mod.id)
    assert request.json["allowed_mentions"] == {"parse": []}


async def test_a_server_error_is_retried_later(setup_market: Market) -> None:
    market = setup_market
    dm_channel = market.worker.user.dm_channel
    market.env.inject_error("POST", f"/channels/{dm_channel.id}/messages", status=500)

    row_id = await put(market, target="dm", recipient_id=market.worker.id)

    item = await market.services.outbox.get(row_id)
    assert item is not None and (item.status, item.attempts) == ("pending", 1)
    assert item.next_attempt_at > market.clock.now()
    assert await market.dispatch() == 0  # not due yet

    market.clock.advance(item.next_attempt_at - market.clock.now())
    assert await market.dispatch() == 1
    item = await market.services.outbox.get(row_id)
    assert item is not None and (item.status, item.attempts) == ("sent", 2)
    assert len(market.dms(market.worker)) == 1


async def test_rate_limits_are_retried_and_other_errors_fail(setup_market: Market) -> None:
    market = setup_market
    market.env.inject_error("POST", f"/channels/{market.mod.id}/messages", status=429, message="slow down")
    retried = await put(market, target="mod", message_key="dispatchtest.ok", args={})
    item = await market.services.outbox.get(retried)
    assert item is not None and item.status == "pending"

    market.env.inject_error(
        "POST", f"/channels/{market.mod.id}/messages", status=403, code=50001, message="Missing Access"
    )
    market.clock.advance(timedelta(hours=1))
    assert await market.dispatch() == 0
    item = await market.services.outbox.get(retried)
    assert item is not None and item.status == "failed" and "Missing Access" in (item.last_error or "")


async def test_mod_and_thread_rows(setup_market: Market, monkeypatch: pytest.MonkeyPatch) -> None:
    market = setup_market
    await put(market, target="mod", args={**paid_args(market), "price_amount": 1250, "currency": "USD"})
    assert market.mod.last_message is not None
    assert market.mod.last_message.content.startswith("Paid $12.50")

    # A thread row for a contract without a thread becomes a note for the moderators.
    row_id = await put(market, target="thread", contract_id=9, message_key="dispatchtest.ok", args={})
    assert market.mod.last_message.content == t("en", "dispatch.no_thread", contract_id=9, message="OK")
    item = await market.services.outbox.get(row_id)
    assert item is not None and item.status == "fallback_mod"

    parent = market.bot.get_channel(market.contracts.id)
    assert isinstance(parent, discord.TextChannel)
    thread = await parent.create_thread(name="contract-9", type=discord.ChannelType.private_thread)
    await market.settle()
    monkeypatch.setattr(market.services, "contracts", ContractsStub({9: thread.id}), raising=False)
    await put(
        market, target="thread", contract_id=9, recipient_id=market.client.id, message_key="dispatchtest.ok", args={}
    )
    [handle] = [c for c in market.contracts.threads if c.id == thread.id]
    assert handle.last_message is not None
    assert handle.last_message.content == f"{market.client.mention} OK"


async def test_board_rows_wait_for_the_board(setup_market: Market) -> None:
    market = setup_market
    posted: list[int] = []
    market.bot.dispatcher._handlers.pop("board", None)  # the jobs cog's board: here, the dispatcher without one

    row_id = await put(market, target="board", job_id=3, message_key="board.job", args={})
    item = await market.services.outbox.get(row_id)
    assert item is not None and item.status == "sent" and item.last_error == "no board handler registered"

    async def board(item: Any) -> int:
        posted.append(item.job_id)
        return 555

    market.bot.dispatcher.register_handler("board", board)
    row_id = await put(market, target="board", job_id=4, message_key="board.job", args={})
    item = await market.services.outbox.get(row_id)
    assert posted == [4] and item is not None and item.message_id == 555


async def test_rows_left_from_before_a_restart_are_sent_at_start(setup_market: Market) -> None:
    market = setup_market
    await market.restart()
    # Written while "the bot was down": straight into the file, nobody kicked.
    market.bot.db.after_commit.clear()  # type: ignore[union-attr]
    async with market.services.db.transaction() as conn:
        await enqueue(
            conn,
            guild_id=market.guild.id,
            target="dm",
            recipient_id=market.worker.id,
            message_key="dispatchtest.ok",
            now=market.clock.now(),
        )
    assert market.dms(market.worker) == []

    await market.restart()

    assert [m.content for m in market.dms(market.worker)] == ["OK"]


async def test_closed_dms_fall_back_to_a_real_contract_thread(setup_market: Market) -> None:
    """The same fallback through the real ContractService.thread_id_of."""
    market = setup_market
    parent = market.bot.get_channel(market.contracts.id)
    assert isinstance(parent, discord.TextChannel)
    thread = await parent.create_thread(name="contract", type=discord.ChannelType.private_thread)
    await market.settle()
    now = to_iso(market.clock.now())
    await market.sql(
        "INSERT INTO jobs (id, guild_id, client_id, title, description, budget, currency, deadline_days,"
        " status, created_at) VALUES (70, ?, ?, 'Logo', 'A logo', 12000, 'JPY', 7, 'filled', ?)",
        market.guild.id,
        market.client.id,
        now,
    )
    await market.sql(
        "INSERT INTO contracts (id, guild_id, job_id, client_id, worker_id, status, currency, clock_at,"
        " offered_at, thread_id) VALUES (7, ?, 70, ?, ?, 'active', 'JPY', ?, ?, ?)",
        market.guild.id,
        market.client.id,
        market.worker.id,
        now,
        now,
        thread.id,
    )
    market.env.inject_error(
        "POST",
        f"/channels/{market.worker.user.dm_channel.id}/messages",
        status=403,
        code=50007,
        message="Cannot send messages to this user",
    )

    row_id = await put(market, target="dm", recipient_id=market.worker.id, contract_id=7)

    item = await market.services.outbox.get(row_id)
    assert item is not None and item.status == "fallback_thread"
    [handle] = [c for c in market.contracts.threads if c.id == thread.id]
    assert handle.last_message is not None and handle.last_message.id == item.message_id
    assert handle.last_message.content.startswith(market.worker.mention)


# -- a contract thread Discord will not let us post in ------------------------------------

THREAD_GONE = {"status": 404, "code": 10003, "message": "Unknown Channel"}
NO_ACCESS = {"status": 403, "code": 50001, "message": "Missing Access"}
UNUSABLE = pytest.mark.parametrize("refusal", [THREAD_GONE, NO_ACCESS], ids=["deleted", "no-access"])


async def stub_thread(market: Market, monkeypatch: pytest.MonkeyPatch, contract_id: int) -> discord.Thread:
    parent = market.bot.get_channel(market.contracts.id)
    assert isinstance(parent, discord.TextChannel)
    thread = await parent.create_thread(name=f"contract-{contract_id}", type=discord.ChannelType.private_thread)
    await market.settle()
    monkeypatch.setattr(market.services, "contracts", ContractsStub({contract_id: thread.id}), raising=False)
    return thread


def close_worker_dms(market: Market) -> None:
    market.env.inject_error(
        "POST",
        f"/channels/{market.worker.user.dm_channel.id}/messages",
        status=403,
        code=50007,
        message="Cannot send messages to this user",
        times=None,
    )


@UNUSABLE
async def test_closed_dms_and_an_unusable_thread_go_to_the_mod_channel(
    setup_market: Market, monkeypatch: pytest.MonkeyPatch, refusal: dict[str, Any]
) -> None:
    market = setup_market
    thread = await stub_thread(market, monkeypatch, 7)
    close_worker_dms(market)
    market.env.inject_error("POST", f"/channels/{thread.id}/messages", **refusal)

    row_id = await put(market, target="dm", recipient_id=market.worker.id, contract_id=7)

    note = market.mod.last_message
    assert note is not None
    body = f"Paid ¥12,000 for contract #7, due {stamp(market)}."
    assert note.content == t(
        "en", "dispatch.fallback_mod_thread_unusable", mention=market.worker.mention, contract_id=7, message=body
    )
    item = await market.services.outbox.get(row_id)
    assert item is not None and (item.status, item.message_id) == ("fallback_mod", note.id)
    assert f"thread {thread.id} unusable" in (item.last_error or "")
    assert f"error code: {refusal['code']}" in (item.last_error or "")
    [request] = sends_to(market, market.mod.id)
    assert request.json["allowed_mentions"] == {"parse": []}


@UNUSABLE
async def test_a_thread_row_for_an_unusable_thread_becomes_a_mod_note(
    setup_market: Market, monkeypatch: pytest.MonkeyPatch, refusal: dict[str, Any]
) -> None:
    market = setup_market
    thread = await stub_thread(market, monkeypatch, 9)
    market.env.inject_error("POST", f"/channels/{thread.id}/messages", **refusal)

    row_id = await put(
        market, target="thread", contract_id=9, recipient_id=market.client.id, message_key="dispatchtest.ok", args={}
    )

    note = market.mod.last_message
    assert note is not None
    assert note.content == t("en", "dispatch.thread_unusable", contract_id=9, message="OK")
    item = await market.services.outbox.get(row_id)
    assert item is not None and (item.status, item.message_id) == ("fallback_mod", note.id)
    assert f"thread {thread.id} unusable" in (item.last_error or "")
    [request] = sends_to(market, market.mod.id)
    assert request.json["allowed_mentions"] == {"parse": []}


async def test_an_unusable_thread_note_is_written_in_the_guild_language(market: Market) -> None:
    market.guild_locale = "ja"
    await market.run_setup()
    parent = market.bot.get_channel(market.contracts.id)
    assert isinstance(parent, discord.TextChannel)
    thread = await parent.create_thread(name="contract-9", type=discord.ChannelType.private_thread)
    await market.settle()
    stub = ContractsStub({9: thread.id})
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(market.services, "contracts", stub, raising=False)
        market.env.inject_error("POST", f"/channels/{thread.id}/messages", **THREAD_GONE)
        await put(market, target="thread", contract_id=9, message_key="dispatchtest.ok", args={})
        close_worker_dms(market)
        market.env.inject_error("POST", f"/channels/{thread.id}/messages", **NO_ACCESS)
        await put(market, target="dm", recipient_id=market.worker.id, contract_id=9, message_key="dispatchtest.ok",
                  args={})  # fmt: skip

    assert [m.content for m in market.mod.history()[-2:]] == [
        t("ja", "dispatch.thread_unusable", contract_id=9, message="了解"),
        t("ja", "dispatch.fallback_mod_thread_unusable", mention=market.worker.mention, contract_id=9, message="了解"),
    ]


async def test_a_server_error_on_the_thread_is_retried_not_a_fallback(
    setup_market: Market, monkeypatch: pytest.MonkeyPatch
) -> None:
    market = setup_market
    thread = await stub_thread(market, monkeypatch, 7)
    close_worker_dms(market)
    market.env.inject_error("POST", f"/channels/{thread.id}/messages", status=503)
    market.env.inject_error("POST", f"/channels/{thread.id}/messages", status=429, message="slow down")

    row_id = await put(market, target="dm", recipient_id=market.worker.id, contract_id=7)
    thread_row = await put(market, target="thread", contract_id=7, message_key="dispatchtest.ok", args={})

    for pending in (row_id, thread_row):
        item = await market.services.outbox.get(pending)
        assert item is not None and (item.status, item.attempts) == ("pending", 1)
    assert sends_to(market, market.mod.id) == []

    market.clock.advance(timedelta(hours=1))
    assert await market.dispatch() == 2
    item = await market.services.outbox.get(row_id)
    assert item is not None and item.status == "fallback_thread"
    item = await market.services.outbox.get(thread_row)
    assert item is not None and item.status == "sent"
    [handle] = [c for c in market.contracts.threads if c.id == thread.id]
    assert handle.history()[-1].content == "OK"
