"""The contract's private thread: opened on first use after acceptance, both parties in it, the
terms card pinned and kept current, DMs that Discord refuses posted there."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import discord
import pytest
import simcord

from bot.i18n import t
from bot.notifications.threads import ContractThreads
from tests.bot.conftest import Market
from tests.bot.helpers import TITLE, applied, custom_ids, field, funded, hired, offered, posted_job, reload

DM_CLOSED = {"status": 403, "code": 50007, "message": "Cannot send messages to this user"}
MISSING_PERMISSIONS = {"status": 403, "code": 50013, "message": "Missing Permissions"}


def close_dms(market: Market, member: simcord.MemberActor) -> None:
    dm = member.user.dm_channel
    market.env.inject_error("POST", f"/channels/{dm.id}/messages", times=None, **DM_CLOSED)  # type: ignore[arg-type]


def only_thread(channel: simcord.ChannelHandle) -> simcord.ChannelHandle:
    [thread] = channel.threads
    return thread


def dms_closed_notice(market: Market, member: simcord.MemberActor, contract_id: int, language: str = "en") -> str:
    return f"{member.mention} {t(language, 'thread.dms_closed', contract_id=contract_id)}"


async def test_acceptance_opens_a_private_thread_with_the_pinned_terms(setup_market: Market) -> None:
    market = setup_market
    contract = await hired(market)

    thread = only_thread(market.contracts)
    assert thread.name == f"Contract #{contract.id} {TITLE}"
    cached = market.bot.get_channel(thread.id)
    assert isinstance(cached, discord.Thread) and cached.type is discord.ChannelType.private_thread
    assert contract.thread_id == thread.id

    [card] = thread.pinned_messages()
    assert contract.terms_message_id == card.id
    [embed] = card.embeds
    assert embed.title == f"Contract #{contract.id} · {TITLE}"
    assert field(embed, "Price") == "¥45,000"
    opened = thread.history()[-1]
    assert opened.content == t("en", "thread.opened", contract_id=contract.id, title=TITLE,
                               client_id=market.client.mention, worker_id=market.worker.mention)  # fmt: skip

    # both parties were added and can talk there; others cannot even see it
    said = await market.worker.send(thread, "Hello! Any colour preferences?")
    assert said.channel.id == thread.id
    await market.client.send(thread, "Red and white.")
    assert [m.content for m in thread.history(viewer=market.client)][-2:] == [
        "Hello! Any colour preferences?", "Red and white.",
    ]  # fmt: skip
    try:
        thread.history(viewer=market.outsider)
    except simcord.SetupError:
        pass
    else:  # pragma: no cover
        raise AssertionError("an outsider can read the contract thread")


async def test_no_thread_before_acceptance_closed_dms_go_to_the_moderators(setup_market: Market) -> None:
    market = setup_market
    close_dms(market, market.worker)

    contract = await offered(market)

    assert market.contracts.threads == []
    assert (await reload(market, contract.id)).thread_id is None
    note = market.mod.last_message
    assert note is not None
    offer = t("en", "notify.offer_received", contract_id=contract.id, client_id=market.client.mention, title=TITLE,
              price_amount="¥45,000", deadline="7 days")  # fmt: skip
    assert note.content == t("en", "dispatch.fallback_mod", mention=market.worker.mention, message=offer)


async def test_a_client_with_closed_dms_is_told_in_the_thread(setup_market: Market) -> None:
    market = setup_market
    close_dms(market, market.client)
    contract = await offered(market)

    result = await market.worker.slash(market.general, "contract accept", contract=contract.id)
    # the "new application" DM to the client fell back: the bot knows, and says so at once
    expected = "\n".join([t("en", "ui.contract.accepted", contract_id=contract.id, title=TITLE),
                          t("en", "ui.contract.accepted_client_dm_closed")])
    simcord.assert_responded(result, content=expected, ephemeral=True)

    thread = only_thread(market.contracts)
    notice = dms_closed_notice(market, market.client, contract.id)
    assert [m.content for m in thread.history()].count(notice) == 1
    assert dms_closed_notice(market, market.worker, contract.id) not in [m.content for m in thread.history()]
    [told] = [m for m in thread.history() if m.content.startswith(market.client.mention) and m.content != notice]
    assert t("en", "notify.offer_accepted_client", contract_id=contract.id, worker_id=market.worker.mention,
             title=TITLE, price_amount="¥45,000") in told.content  # fmt: skip
    assert custom_ids(told) == [f"cw:escrow:{contract.id}:deposit"]

    # the deposit button works from the thread too
    shown = await market.client.click(told, custom_id=f"cw:escrow:{contract.id}:deposit")
    declared = await market.client.submit_modal(shown, {"reference": "REF-1"})
    simcord.assert_responded(
        declared, content=t("en", "ui.escrow.declared", contract_id=contract.id, amount="¥45,000"), ephemeral=True
    )


async def test_without_a_contracts_channel_the_thread_opens_in_the_jobs_channel(market: Market) -> None:
    market.guild_locale = "ja"
    await market.run_setup(contracts_channel=None)
    contract = await hired(market)

    assert market.contracts.threads == []
    thread = only_thread(market.jobs)
    assert thread.name == f"契約 #{contract.id} {TITLE}"
    [card] = thread.pinned_messages()
    assert field(card.embeds[0], "金額") == "45,000円"


async def test_accepted_terms_change_edits_the_pinned_card(setup_market: Market) -> None:
    market = setup_market
    contract = await funded(market)
    services = market.services
    amendment = await services.contracts.propose_amendment(
        market.guild.id, contract.id, actor_id=market.worker.id, reason="More icons", price=52000
    )
    await market.settle()
    proposal = market.dms(market.client)[-1]

    await market.client.user.click(proposal, custom_id=f"cw:amendment:{amendment.id}:accept")

    thread = only_thread(market.contracts)
    [card] = thread.pinned_messages()
    [embed] = card.embeds
    assert field(embed, "Price") == "¥52,000"
    assert field(embed, "Terms version") == "v2"
    assert embed.footer.text == t("en", "ui.contract.card_footer", version=2)
    assert thread.history()[-1].content == t("en", "thread.terms_changed", contract_id=contract.id, version=2)


async def test_the_thread_is_reused_after_a_restart(setup_market: Market) -> None:
    market = setup_market
    contract = await hired(market)
    thread = only_thread(market.contracts)

    await market.restart()
    await market.services.escrow.deposit(market.guild.id, contract.id, actor_id=market.client.id)
    await market.services.escrow.confirm(market.guild.id, contract.id, moderator_id=market.moderator.id)
    await market.settle()

    assert only_thread(market.contracts).id == thread.id
    funded_contract = await reload(market, contract.id)
    assert funded_contract.due_at is not None
    assert thread.history()[-1].content == t(
        "en", "thread.funded", contract_id=contract.id, due_at=f"<t:{int(funded_contract.due_at.timestamp())}:f>"
    )


async def test_every_contract_gets_its_own_thread(setup_market: Market) -> None:
    market = setup_market
    first = await hired(market)
    job = await posted_job(market, title="Menu design")
    await applied(market, job, worker=market.outsider)
    view = await market.services.contracts.offer(market.guild.id, market.client.id, job.id, market.outsider.id)
    await market.services.contracts.accept(market.guild.id, view.contract.id, actor_id=market.outsider.id)
    await market.settle()

    threads = {thread.name: thread.id for thread in market.contracts.threads}
    second = await reload(market, view.contract.id)
    assert threads == {
        f"Contract #{first.id} {TITLE}": first.thread_id,
        f"Contract #{second.id} Menu design": second.thread_id,
    }


def thread_creations(market: Market) -> list[Any]:
    path = f"/channels/{market.contracts.id}/threads"
    return [r for r in market.env.http_requests if r.method == "POST" and r.path == path]


async def outbox_rows(market: Market, contract_id: int) -> dict[str, tuple[str, str | None]]:
    rows = await market.services.db.fetchall(
        "SELECT message_key, status, last_error FROM outbox WHERE contract_id = ? AND target IN ('dm', 'thread')",
        (contract_id,),
    )
    return {row["message_key"]: (row["status"], row["last_error"]) for row in rows}


@pytest.mark.parametrize("language", ["en", "ja"])
async def test_a_refused_thread_sends_the_messages_to_the_moderators(market: Market, language: str) -> None:
    market.guild_locale = None if language == "en" else language
    await market.run_setup()
    close_dms(market, market.client)
    market.env.inject_error("POST", f"/channels/{market.contracts.id}/threads", **MISSING_PERMISSIONS)  # type: ignore[arg-type]
    contract = await offered(market)

    await market.services.contracts.accept(market.guild.id, contract.id, actor_id=market.worker.id)
    await market.settle()

    assert market.contracts.threads == []
    assert (await reload(market, contract.id)).thread_id is None
    assert len(thread_creations(market)) == 1  # asked once, not again for every row of the contract
    price = "¥45,000" if language == "en" else "45,000円"
    accepted = t(language, "notify.offer_accepted_client", contract_id=contract.id, worker_id=market.worker.mention,
                 title=TITLE, price_amount=price)  # fmt: skip
    opened = t(language, "thread.opened", contract_id=contract.id, title=TITLE, client_id=market.client.mention,
               worker_id=market.worker.mention)  # fmt: skip
    dms_closed = t(language, "thread.dms_closed", contract_id=contract.id)
    assert [m.content for m in market.mod.history()[-4:]] == [
        t(language, "dispatch.thread_forbidden", contract_id=contract.id, channel=market.contracts.mention),
        t(language, "dispatch.fallback_mod", mention=market.client.mention, message=accepted),
        t(language, "dispatch.no_thread", contract_id=contract.id, message=opened),
        t(language, "dispatch.no_thread", contract_id=contract.id, message=dms_closed),
    ]
    rows = await outbox_rows(market, contract.id)
    for key in ("notify.offer_accepted_client", "thread.opened"):
        status, note = rows[key]
        assert status == "fallback_mod" and "error code: 50013" in (note or ""), (key, rows[key])

    # Once an admin has fixed the permissions, a later row opens the thread.
    market.clock.advance(ContractThreads.RETRY_AFTER)
    await market.services.escrow.deposit(market.guild.id, contract.id, actor_id=market.client.id)
    await market.services.escrow.confirm(market.guild.id, contract.id, moderator_id=market.moderator.id)
    await market.settle()

    thread = only_thread(market.contracts)
    funded_contract = await reload(market, contract.id)
    assert funded_contract.thread_id == thread.id and funded_contract.due_at is not None
    assert thread.history(viewer=market.client)[-1].content == t(
        language, "thread.funded", contract_id=contract.id, due_at=f"<t:{int(funded_contract.due_at.timestamp())}:f>"
    )
    later = await outbox_rows(market, contract.id)
    assert (later["thread.funded"], later["notify.funded_client"]) == (("sent", None), ("fallback_thread", None))
    assert "failed" not in {status for status, _ in later.values()}


async def test_a_failed_add_user_keeps_the_created_thread(setup_market: Market) -> None:
    market = setup_market
    market.env.inject_error("PUT", "/channels/*/thread-members/*", status=500)

    contract = await hired(market)

    thread = only_thread(market.contracts)
    assert contract.thread_id == thread.id
    assert (await outbox_rows(market, contract.id))["thread.opened"][0] == "pending"

    market.clock.advance(timedelta(hours=1))
    await market.dispatch()

    assert only_thread(market.contracts).id == thread.id
    assert len(thread_creations(market)) == 1
    assert (await outbox_rows(market, contract.id))["thread.opened"] == ("sent", None)
    assert len(thread.pinned_messages()) == 1
    for party in (market.client, market.worker):
        assert thread.history(viewer=party)[-1].content.startswith("🤝")


async def test_a_party_discord_will_not_add_does_not_stop_the_thread(setup_market: Market) -> None:
    market = setup_market
    market.env.inject_error(
        "PUT", f"/channels/*/thread-members/{market.worker.id}", status=404, code=10007, message="Unknown Member"
    )

    contract = await hired(market)

    thread = only_thread(market.contracts)
    assert contract.thread_id == thread.id
    assert (await outbox_rows(market, contract.id))["thread.opened"] == ("sent", None)
    assert thread.history(viewer=market.client)[-1].content.startswith("🤝")


# -- at acceptance: can the bot DM both parties? ------------------------------------------------


async def test_a_worker_with_closed_dms_is_told_at_acceptance_where_reminders_come(setup_market: Market) -> None:
    market = setup_market
    close_dms(market, market.worker)
    contract = await offered(market)  # the offer DM could not be delivered: a note in the mod channel

    result = await market.worker.slash(market.general, "contract accept", contract=contract.id)

    expected = "\n".join([t("en", "ui.contract.accepted", contract_id=contract.id, title=TITLE),
                          t("en", "ui.contract.accepted_dm_closed")])
    simcord.assert_responded(result, content=expected, ephemeral=True)
    await market.settle()
    thread = only_thread(market.contracts)
    notices = [m for m in thread.history() if m.content == dms_closed_notice(market, market.worker, contract.id)]
    assert len(notices) == 1
    client_notices = [m for m in thread.history() if m.content == dms_closed_notice(market, market.client, contract.id)]
    assert client_notices == []  # the client's DMs work: nothing for them


async def test_closed_dms_at_acceptance_in_japanese(setup_market: Market) -> None:
    market = setup_market
    market.set_locale(market.worker, "ja")
    close_dms(market, market.worker)
    contract = await offered(market)

    result = await market.worker.slash(market.general, "contract accept", contract=contract.id)

    expected = "\n".join([t("ja", "ui.contract.accepted", contract_id=contract.id, title=TITLE),
                          t("ja", "ui.contract.accepted_dm_closed")])
    simcord.assert_responded(result, content=expected, ephemeral=True)
    await market.settle()
    thread = only_thread(market.contracts)
    # the thread is the server's: its notice is in the server's language (English here)
    assert dms_closed_notice(market, market.worker, contract.id) in [m.content for m in thread.history()]


async def test_a_deleted_contract_thread_is_replaced_by_a_new_one(setup_market: Market) -> None:
    market = setup_market
    contract = await hired(market)
    old = only_thread(market.contracts)
    assert (await reload(market, contract.id)).thread_id == old.id
    # the thread was deleted on Discord: posting there answers 404 Unknown Channel
    market.env.inject_error("POST", f"/channels/{old.id}/messages", status=404, code=10003,
                            message="Unknown Channel", times=None)  # fmt: skip

    await market.services.escrow.deposit(market.guild.id, contract.id, actor_id=market.client.id)
    await market.services.escrow.confirm(market.guild.id, contract.id, moderator_id=market.moderator.id)
    await market.settle()
    assert (await reload(market, contract.id)).thread_id is None  # forgotten; the row waits for its retry
    market.clock.advance(timedelta(minutes=5))
    await market.dispatch()

    new_id = (await reload(market, contract.id)).thread_id
    assert new_id is not None and new_id != old.id
    [new] = [thread for thread in market.contracts.threads if thread.id == new_id]
    funded_contract = await reload(market, contract.id)
    assert funded_contract.due_at is not None
    contents = [m.content for m in new.history(viewer=market.client)]
    assert t("en", "thread.funded", contract_id=contract.id,
             due_at=f"<t:{int(funded_contract.due_at.timestamp())}:f>") in contents  # fmt: skip
    [card] = new.pinned_messages()  # the terms card is pinned again in the new thread
    assert (await reload(market, contract.id)).terms_message_id == card.id
    rows = await outbox_rows(market, contract.id)
    assert rows["thread.funded"][0] == "sent"
