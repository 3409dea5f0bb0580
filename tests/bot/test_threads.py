"""The contract's private thread: opened on first use after acceptance, both parties in it, the
terms card pinned and kept current, DMs that Discord refuses posted there."""

from __future__ import annotations

import discord
import simcord

from bot.i18n import t
from tests.bot.conftest import Market
from tests.bot.test_contracts import TITLE, applied, custom_ids, field, funded, hired, offered, posted_job, reload

DM_CLOSED = {"status": 403, "code": 50007, "message": "Cannot send messages to this user"}


def close_dms(market: Market, member: simcord.MemberActor) -> None:
    dm = member.user.dm_channel
    market.env.inject_error("POST", f"/channels/{dm.id}/messages", times=None, **DM_CLOSED)  # type: ignore[arg-type]


def only_thread(channel: simcord.ChannelHandle) -> simcord.ChannelHandle:
    [thread] = channel.threads
    return thread


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
    assert t("en", "ui.contract.accepted_dm_note") in (result.response.content if result.response else "")

    thread = only_thread(market.contracts)
    [told] = [m for m in thread.history() if m.content.startswith(market.client.mention)]
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


async def test_a_forum_jobs_channel_cannot_hold_the_thread(market: Market) -> None:
    forum = market.guild.create_forum_channel("board")
    await market.run_setup(jobs_channel=forum, contracts_channel=None)
    contract = await hired(market)

    assert (await reload(market, contract.id)).thread_id is None
    note = market.mod.history()[-1]
    assert f"#{contract.id}" in note.content
    assert [post.name for post in forum.threads] == [f"#{contract.job_id} {TITLE}"]  # the job post only


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
