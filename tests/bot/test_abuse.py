"""Abuse that costs the bot or misleads its users: each test reproduces a break first."""

from __future__ import annotations

import re
from datetime import timedelta

import discord
import pytest
import simcord

from bot.i18n import t
from bot.models.entities import Case, Contract
from bot.models.timeutil import to_iso
from tests.bot.conftest import Market
from tests.bot.helpers import (
    JOB,
    active_contract,
    card_field,
    custom_ids,
    delivered_contract,
    everything_sent,
    hired_contract,
    last_dm,
    offered,
    post,
    refused,
    reload,
)


def embed_ok(embed: discord.Embed) -> bool:
    """Within Discord's embed limits (total, fields, field value, description, title)."""
    return (
        len(embed) <= 6000
        and len(embed.fields) <= 25
        and all(len(f.name or "") <= 256 and len(f.value or "") <= 1024 for f in embed.fields)
        and len(embed.description or "") <= 4096
        and len(embed.title or "") <= 256
    )


def message(channel: simcord.ChannelHandle, message_id: int) -> discord.Message:
    """A message as it is now (after edits)."""
    [found] = [m for m in channel.history() if m.id == message_id]
    return found


# -- repeated nudges on a case card ------------------------------------------------------------


async def escalated_card(market: Market) -> tuple[Contract, Case, discord.Message]:
    contract = await hired_contract(market)
    case = await market.services.cases.escalate(contract.id, reason_kind="escrow_unfunded", subject_id=market.client.id)
    assert case is not None
    await market.settle()
    [card] = [m for m in market.mod.history() if f"cw:case:{case.id}:nudge" in custom_ids(m)]
    return contract, case, card


@pytest.mark.parametrize("language", ["en", "ja"])
async def test_ten_long_nudges_all_succeed_and_the_card_stays_valid(setup_market: Market, language: str) -> None:
    market = setup_market
    await market.sql("UPDATE guilds SET locale = ? WHERE guild_id = ?", language, market.guild.id)
    contract, case, card = await escalated_card(market)

    for n in range(10):
        reason = f"{n}" + "x" * 999
        shown = await market.moderator.click(message(market.mod, card.id), custom_id=f"cw:case:{case.id}:nudge")
        assert shown.modal is not None
        result = await market.moderator.submit_modal(shown, {"reason": reason})
        assert result.followups[-1].content == t(
            "en", "ui.case.nudged", case_id=case.id, action=t("en", "button.case.nudge")
        ), n

    card = message(market.mod, card.id)
    [embed] = card.embeds
    assert embed_ok(embed)
    notes = [f.value for f in embed.fields if f.name == t(language, "ui.case.note")]
    assert notes and notes[-1] is not None and "9" + "x" * 10 in notes[-1]  # the latest is shown
    earlier = 10 - len(notes)
    assert card_field(card, t(language, "ui.abuse.case_earlier_name")) == t(
        language, "ui.abuse.case_earlier", count=earlier
    )
    # every nudge was recorded and sent
    history = await market.services.history.history(
        market.guild.id, contract.id, viewer_id=market.moderator.id, is_moderator=True
    )
    assert sum(1 for e in history.events if e.kind == "case.nudge") == 10
    assert len([m for m in market.dms(market.client) if m.content.startswith("🔔")]) == 10


async def test_a_card_that_cannot_be_updated_still_reports_the_nudge(setup_market: Market) -> None:
    market = setup_market
    _, case, card = await escalated_card(market)
    shown = await market.moderator.click(card, custom_id=f"cw:case:{case.id}:nudge")
    assert shown.modal is not None
    market.env.inject_error("POST", "/interactions/*/*/callback", status=500, times=1)

    result = await market.moderator.submit_modal(shown, {"reason": "Please pay."})

    assert result.response is not None
    assert result.response.content == t("en", "ui.case.nudged", case_id=case.id, action=t("en", "button.case.nudge"))
    assert [f.value for f in message(market.mod, card.id).embeds[0].fields if f.name == t("en", "ui.case.note")] == []
    assert len([m for m in market.dms(market.client) if m.content.startswith("🔔")]) == 1


# -- masked links in user text ------------------------------------------------------------------

LINK = "[discord.com/gift](https://evil.example/claim)"
SHOWN = "discord.com/gift (https://evil.example/claim)"
MASKED = re.compile(r"\[[^\]]*\]\(")


async def test_masked_links_are_spelled_out_in_everything_the_bot_posts(setup_market: Market) -> None:
    market = setup_market
    job_id = await post(market, title=f"Logo {LINK}", description=f"Free nitro: {LINK}\nA logo.")
    await market.services.guilds.set_policy(market.guild.id, "apply_cooldown", "0s", actor_id=market.admin.id)
    await market.services.jobs.apply(market.guild.id, job_id, market.worker.id, proposal=f"See {LINK}", price=40000)
    contract = await delivered_contract(market)
    await market.services.deliveries.request_revision(
        market.guild.id, contract.id, actor_id=market.client.id, reason=f"Redo it like {LINK}"
    )
    await market.services.cases.report(
        market.guild.id, reporter_id=market.client.id, user_id=market.worker.id, reason=f"Phishing: {LINK}"
    )
    await market.settle()

    sent = everything_sent(market)
    assert not [text for text in sent if MASKED.search(text)]
    # the texts were reposted, with the real address shown: the title on the board, the
    # proposal to the client, the revision reason to the worker and the report to the moderators
    assert sum(SHOWN in text for text in sent) >= 4
    job = await market.services.jobs.get(market.guild.id, job_id)
    assert job.title == f"Logo {SHOWN}"


# -- invisible text and control characters -----------------------------------------------------


@pytest.mark.parametrize("language", ["en", "ja"])
@pytest.mark.parametrize("title", ["\u200b\u200b", "\u2800\u3164", "\u115f\u1160\ufeff", "\ufe0f\u202e", "\x00"])
async def test_a_title_that_shows_nothing_is_refused(setup_market: Market, language: str, title: str) -> None:
    market = setup_market
    market.set_locale(market.client, language)

    result = await market.client.slash(market.general, "job post", **{**JOB, "title": title})

    market.assert_refused(result, "error.abuse.invisible", language, field="title")
    assert (await market.services.jobs.search(market.guild.id, client_id=market.client.id)).jobs == []


async def test_bidi_overrides_and_controls_are_removed_from_what_is_posted(setup_market: Market) -> None:
    market = setup_market

    job_id = await post(market, title="Logo\u202e gnp.exe\x00", description="Line one\nLine\u2066 two")

    job = await market.services.jobs.get(market.guild.id, job_id)
    assert (job.title, job.description) == ("Logo gnp.exe", "Line one\nLine two")
    assert not [text for text in everything_sent(market) if "\u202e" in text or "\x00" in text or "\u2066" in text]


# -- forum tags come only from the guild's list of categories --------------------------------


async def forum_market(market: Market) -> simcord.ChannelHandle:
    forum = market.guild.create_forum_channel("job-board")
    assert (await market.run_setup(jobs_channel=forum)).ephemeral
    return forum


async def forum_tags(market: Market, forum: simcord.ChannelHandle) -> list[str]:
    channel = await market.bot.fetch_channel(forum.id)
    assert isinstance(channel, discord.ForumChannel)
    return [tag.name for tag in channel.available_tags]


async def test_without_a_list_no_category_becomes_a_tag(market: Market) -> None:
    forum = await forum_market(market)
    await market.services.guilds.set_policy(market.guild.id, "max_open_jobs", "30", actor_id=market.admin.id)

    for n in range(6):
        await post(market, title=f"Job {n}", category=f"spam{n}")
        market.clock.advance(minutes=5)

    assert await forum_tags(market, forum) == []
    page = await market.services.jobs.search(market.guild.id, client_id=market.client.id)
    assert sorted(job.category or "" for job in page.jobs) == [f"spam{n}" for n in range(6)]  # kept as text


@pytest.mark.parametrize("language", ["en", "ja"])
async def test_moderators_set_the_categories_and_only_those_are_accepted(market: Market, language: str) -> None:
    forum = await forum_market(market)
    market.set_locale(market.moderator, language)
    market.set_locale(market.client, language)

    result = await market.moderator.slash(market.general, "config categories", categories="Design, translation,design")
    simcord.assert_responded(
        result, content=t(language, "config.abuse.categories_done", categories="Design, translation"), ephemeral=True
    )
    shown = await market.moderator.slash(market.general, "config show")
    assert shown.response is not None
    assert shown.response.content.splitlines()[-1] == t(
        language, "config.abuse.categories_show", categories="Design, translation"
    )
    choices = await market.client.autocomplete(market.general, "job post", "category", "tr", **JOB)
    assert [c["value"] for c in choices] == ["translation"]

    refused = await market.client.slash(market.general, "job post", **{**JOB, "category": "crypto"})
    market.assert_refused(
        refused, "error.abuse.category_unknown", language, category="crypto", allowed="Design, translation"
    )
    job_id = await post(market, category="design")

    job = await market.services.jobs.get(market.guild.id, job_id)
    assert job.category == "Design"
    assert await forum_tags(market, forum) == ["Design"]
    assert len((await market.services.jobs.search(market.guild.id)).jobs) == 1


async def test_only_moderators_set_the_categories(setup_market: Market) -> None:
    market = setup_market
    result = await market.client.slash(market.general, "config categories", categories="scam")
    market.assert_refused(result, "error.check_failed")
    assert await market.services.guilds.categories(market.guild.id) == []


# -- /dispute open/close loops -------------------------------------------------------------------


def pings(market: Market) -> int:
    return sum(m.content.startswith(market.moderators_pinged) for m in market.mod.history())


@pytest.mark.parametrize("language", ["en", "ja"])
async def test_disputes_are_rate_limited(setup_market: Market, language: str) -> None:
    market = setup_market
    market.set_locale(market.worker, language)
    contract = await active_contract(market)
    first = await market.worker.slash(market.general, "dispute", contract=contract.id, reason="Unreachable client")
    assert first.ephemeral
    await market.settle()
    [case] = await market.services.cases.list(market.guild.id)
    await market.services.cases.act(
        market.guild.id, case.id, moderator_id=market.moderator.id, action="close", reason="Talk to each other first."
    )
    await market.settle()
    before = pings(market)

    market.clock.advance(minutes=5)
    again = await market.worker.slash(market.general, "dispute", contract=contract.id, reason="Still unreachable")

    market.assert_refused(again, "error.cooldown", language, retry_at=to_iso(market.clock.now() + timedelta(minutes=5)))
    assert pings(market) == before
    assert await market.services.cases.list(market.guild.id) == []

    market.clock.advance(minutes=5)
    later = await market.worker.slash(market.general, "dispute", contract=contract.id, reason="Still unreachable")
    assert later.ephemeral
    await market.settle()
    assert pings(market) == before + 1
    assert len(await market.services.cases.list(market.guild.id)) == 1


# -- a member who left acts from DMs ------------------------------------------------------------


@pytest.mark.parametrize("language", ["en", "ja"])
async def test_a_member_who_left_cannot_accept_an_offer_from_dms(setup_market: Market, language: str) -> None:
    market = setup_market
    market.set_locale(market.worker, language)
    contract = await offered(market)
    offer = last_dm(market, market.worker)
    assert f"cw:contract:{contract.id}:accept" in custom_ids(offer)
    sent_before = len(everything_sent(market))

    market.guild.remove_member(market.worker)
    await market.settle()
    result = await market.worker.user.click(offer, custom_id=f"cw:contract:{contract.id}:accept")

    refused(market, result, "error.abuse.not_member", language)
    assert (await reload(market, contract.id)).status == "offered"
    await market.settle()
    assert len(everything_sent(market)) == sent_before


async def test_a_member_who_left_cannot_review_from_dms(setup_market: Market) -> None:
    market = setup_market
    contract = await delivered_contract(market)
    dm = last_dm(market, market.client, "📦")

    market.guild.remove_member(market.client)
    await market.settle()
    result = await market.client.user.click(dm, custom_id=f"cw:review:{contract.id}:approve")

    refused(market, result, "error.abuse.not_member")
    assert (await reload(market, contract.id)).status == "delivered"


async def test_a_member_still_in_the_server_accepts_from_dms(setup_market: Market) -> None:
    market = setup_market
    contract = await offered(market)
    offer = last_dm(market, market.worker)

    result = await market.worker.user.click(offer, custom_id=f"cw:contract:{contract.id}:accept")

    assert result.ephemeral
    assert (await reload(market, contract.id)).status == "awaiting_funding"


# -- a report about a moderator -----------------------------------------------------------------


@pytest.mark.parametrize("language", ["en", "ja"])
async def test_a_report_about_a_moderator_goes_to_the_owner_only(setup_market: Market, language: str) -> None:
    market = setup_market
    market.set_locale(market.outsider, language)
    owner = market.guild.owner
    mod_posts = len(market.mod.history())

    result = await market.outsider.slash(market.general, "report", user=market.moderator, reason="Asked me for a bribe")

    [case] = await market.services.cases.list(market.guild.id)
    simcord.assert_responded(
        result,
        content=t(language, "ui.abuse.report_to_owner", case_id=case.id, user=market.moderator.mention),
        ephemeral=True,
    )
    await market.settle()
    # nothing in the mod channel (the named moderator reads it), the card in the owner's DMs
    assert len(market.mod.history()) == mod_posts
    assert not [m for m in market.dms(market.moderator) if "bribe" in m.content]
    [card] = [m for m in owner.dm_channel.history() if f"cw:case:{case.id}:uphold" in custom_ids(m)]
    assert card_field(card, t("en", "ui.case.reason")) == "Asked me for a bribe"

    # the named moderator does not see it in /mod cases and cannot act on it
    listed = await market.moderator.slash(market.general, "mod cases")
    assert listed.response is not None and f"#{case.id}" not in listed.response.content
    other = await market.admin.slash(market.general, "mod cases")
    assert other.response is not None and f"#{case.id}" in other.response.content

    # the owner closes it from the DM
    shown = await owner.click(card, custom_id=f"cw:case:{case.id}:uphold")
    assert shown.modal is not None, shown
    closed = await owner.submit_modal(shown, {"reason": "Handled with the moderator."})
    assert closed.followups[-1].content == t("en", "ui.case.done", case_id=case.id,
                                             action=t("en", "button.case.uphold"))
    assert await market.services.cases.list(market.guild.id) == []


async def test_a_report_about_a_member_still_goes_to_the_mod_channel(setup_market: Market) -> None:
    market = setup_market
    await market.outsider.slash(market.general, "report", user=market.worker, reason="Spam")
    await market.settle()
    [case] = await market.services.cases.list(market.guild.id)
    assert [m for m in market.mod.history() if f"cw:case:{case.id}:dismiss" in custom_ids(m)]
    assert not [m for m in market.guild.owner.dm_channel.history() if custom_ids(m)]
