"""The job board: one post per job (a forum thread tagged by category, or an embed in a text
channel), updated when the job closes, fills or reopens; the Apply button on each post."""

from __future__ import annotations

from datetime import timedelta

import discord
import simcord

from bot.i18n import t
from bot.models.states import JobStatus
from bot.repositories.outbox import enqueue
from bot.services.reputation import ClientFigures, WorkerFigures
from bot.ui.job_board import client_line, human_duration, worker_line
from tests.bot.conftest import Market
from tests.bot.helpers import JOB, buttons, fields, post


async def setup_forum(market: Market) -> simcord.ChannelHandle:
    forum = market.guild.create_forum_channel("job-board")
    result = await market.run_setup(jobs_channel=forum)
    assert result.ephemeral
    return forum


# -- helpers ---------------------------------------------------------------------------


def test_durations_are_human() -> None:
    assert human_duration(timedelta(days=1, hours=6, minutes=20), "en") == "1d 6h"
    assert human_duration(timedelta(days=1, hours=6), "ja") == "1日6時間"
    assert human_duration(timedelta(days=2), "en") == "2d"
    assert human_duration(timedelta(hours=3, minutes=5), "ja") == "3時間5分"
    assert human_duration(timedelta(hours=3), "en") == "3h"
    assert human_duration(timedelta(minutes=42), "en") == "42m"
    assert human_duration(timedelta(seconds=20), "ja") == "1分未満"
    assert human_duration(None, "en") == "—"


def test_reputation_lines() -> None:
    client = ClientFigures(
        jobs_posted=5, completed=3, cancelled=1, median_time_to_fund=timedelta(days=1, hours=6),
        median_time_to_review=None, escalations=0, average_rating=4.5, ratings=2, reverts=1,
    )  # fmt: skip
    assert client_line(client, "en") == (
        "Client: jobs posted 5 · completed 3, cancelled 1 · median time to fund 1d 6h, to review —"
        " · escalations 0 · scope reverts (A→B→A) 1 · ★4.5 (ratings: 2)"
    )
    assert "要件の差し戻し（A→B→A） 1件" in client_line(client, "ja")
    assert "仮払いまで 1日6時間" in client_line(client, "ja")
    worker = WorkerFigures(completed=2, on_time_rate=0.5, average_rating=None, ratings=0)
    assert worker_line(worker, "en") == "Worker: completed 2 · on time 50% · no ratings yet"


# -- a text channel ----------------------------------------------------------------------


async def test_a_job_is_posted_as_an_embed_with_an_apply_button(setup_market: Market) -> None:
    market = setup_market
    job_id = await post(market, category="Design", positions=2)

    [message] = market.jobs.history()
    [embed] = message.embeds
    assert embed.title == f"#{job_id} Logo for a ramen shop"
    assert embed.description == JOB["description"]
    shown = fields(embed)
    assert shown["Budget"] == "¥45,000"
    assert shown["Delivery time"] == "7-day delivery, counted from the escrow confirmation"
    assert shown["Positions"] == "0 of 2 filled"
    assert shown["Category"] == "Design"
    assert shown["Status"] == t("en", "status.open")
    client = shown["Client"]
    assert client is not None and client.startswith(f"<@{market.client.id}>\nClient: jobs posted 1 ·")
    assert buttons(message) == [f"cw:job:{job_id}:apply"]
    assert message.components[0].children[0].label == "Apply"  # type: ignore[union-attr]

    job = await market.services.jobs.get(market.guild.id, job_id)
    assert (job.board_channel_id, job.board_message_id) == (market.jobs.id, message.id)


async def test_the_board_is_written_in_the_guild_language(market: Market) -> None:
    market.guild_locale = "ja"
    await market.run_setup()
    await post(market, deadline="2026-02-01")

    [message] = market.jobs.history()
    shown = fields(message.embeds[0])
    assert shown["予算"] == "45,000円"
    assert shown["納期"] == "2026-02-01まで（仮払いが遅れた場合はその分延びます）"
    assert shown["状態"] == t("ja", "status.open")
    assert shown["カテゴリー"] == "—"
    assert message.components[0].children[0].label == "応募する"  # type: ignore[union-attr]


async def test_closing_edits_the_post_and_removes_the_button(setup_market: Market) -> None:
    market = setup_market
    job_id = await post(market)
    [message] = market.jobs.history()

    await market.client.slash(market.general, "job close", job=job_id)
    await market.settle()

    [edited] = market.jobs.history()
    assert edited.id == message.id
    assert fields(edited.embeds[0])["Status"] == t("en", "status.closed")
    assert buttons(edited) == []
    rows = await market.services.db.fetchall(
        "SELECT status, message_id FROM outbox WHERE target = 'board' AND job_id = ? ORDER BY id", (job_id,)
    )
    assert [(row["status"], row["message_id"]) for row in rows] == [("sent", message.id)] * 2


async def test_a_job_closed_before_its_first_post_is_not_posted(setup_market: Market) -> None:
    market = setup_market
    job = await market.services.jobs.post(market.guild.id, market.client.id, **JOB)
    await market.services.jobs.close(market.guild.id, job.id, actor_id=market.client.id)
    await market.settle()
    assert market.jobs.history() == []


async def test_the_apply_button_on_the_board_works_after_a_restart(setup_market: Market) -> None:
    market = setup_market
    job_id = await post(market)
    await market.restart()

    [message] = market.jobs.history()
    shown = await market.worker.click(message, custom_id=f"cw:job:{job_id}:apply")
    assert shown.modal is not None
    result = await market.worker.submit_modal(shown, {"proposal": "I draw logos.", "price": "40,000", "days": ""})

    simcord.assert_responded(
        result,
        content=t("en", "ui.job.applied", job_id=job_id, title=JOB["title"], price="¥40,000"),
        ephemeral=True,
    )
    application = await market.services.jobs.application_of(market.guild.id, job_id, market.worker.id)
    assert application is not None and (application.price, application.days) == (40000, None)


# -- a forum channel ------------------------------------------------------------------------


async def test_a_forum_gets_one_tagged_thread_per_job(market: Market) -> None:
    forum = await setup_forum(market)
    await market.services.guilds.set_categories(market.guild.id, "Design, Translation", actor_id=market.admin.id)
    first = await post(market, category="Design")
    market.clock.advance(minutes=5)
    second = await post(market, category="design")
    market.clock.advance(minutes=5)
    third = await post(market, title="Translate a menu")

    threads = {thread.name: thread for thread in forum.threads}
    assert set(threads) == {f"#{first} Logo for a ramen shop", f"#{second} Logo for a ramen shop",
                            f"#{third} Translate a menu"}  # fmt: skip
    channel = await market.bot.fetch_channel(forum.id)
    assert isinstance(channel, discord.ForumChannel)
    assert [tag.name for tag in channel.available_tags] == ["Design"]  # created once, matched without case

    for job_id, tagged in ((first, ["Design"]), (second, ["Design"]), (third, [])):
        job = await market.services.jobs.get(market.guild.id, job_id)
        thread = await market.bot.fetch_channel(job.board_channel_id or 0)
        assert isinstance(thread, discord.Thread) and thread.parent_id == forum.id
        assert [tag.name for tag in thread.applied_tags] == tagged
        [starter] = threads[thread.name].history()
        assert starter.id == job.board_message_id
        assert starter.embeds[0].title == thread.name
        assert buttons(starter) == [f"cw:job:{job_id}:apply"]


async def test_a_closed_forum_post_is_locked_and_archived(market: Market) -> None:
    forum = await setup_forum(market)
    job_id = await post(market, category="Design")
    [thread_handle] = forum.threads
    idle = await market.bot.fetch_channel(thread_handle.id)
    assert isinstance(idle, discord.Thread)
    await idle.edit(archived=True)  # as Discord does after a few days without messages
    await market.settle()

    result = await market.moderator.slash(market.general, "job close", job=job_id)
    assert result.ephemeral
    await market.settle()

    thread = await market.bot.fetch_channel(thread_handle.id)
    assert isinstance(thread, discord.Thread)
    assert thread.archived and thread.locked
    [starter] = thread_handle.history()
    assert fields(starter.embeds[0])["Status"] == t("en", "status.closed")
    assert buttons(starter) == []


async def test_a_filled_job_loses_its_button_and_gets_it_back_when_reopened(market: Market) -> None:
    forum = await setup_forum(market)
    job_id = await post(market)
    services = market.services
    await services.jobs.apply(market.guild.id, job_id, market.worker.id, proposal="Me", price=45000)
    offer = await services.contracts.offer(market.guild.id, market.client.id, job_id, market.worker.id)
    await services.contracts.accept(market.guild.id, offer.contract.id, actor_id=market.worker.id)
    await market.settle()

    [thread_handle] = forum.threads
    thread = await market.bot.fetch_channel(thread_handle.id)
    assert isinstance(thread, discord.Thread) and thread.archived and thread.locked
    [starter] = thread_handle.history()
    assert fields(starter.embeds[0])["Status"] == t("en", "status.filled")
    assert fields(starter.embeds[0])["Positions"] == "1 of 1 filled"
    assert buttons(starter) == []

    await services.contracts.cancel(market.guild.id, offer.contract.id, actor_id=market.client.id, reason="Changed")
    await market.settle()

    assert (await services.jobs.get(market.guild.id, job_id)).status == JobStatus.OPEN
    thread = await market.bot.fetch_channel(thread_handle.id)
    assert isinstance(thread, discord.Thread) and not thread.archived and not thread.locked
    [starter] = thread_handle.history()
    assert fields(starter.embeds[0])["Status"] == t("en", "status.open")
    assert buttons(starter) == [f"cw:job:{job_id}:apply"]


async def test_a_board_row_for_a_missing_job_fails_without_retries(setup_market: Market) -> None:
    market = setup_market
    async with market.services.db.transaction() as conn:
        await enqueue(conn, guild_id=market.guild.id, target="board", job_id=999, message_key="board.job",
                      now=market.clock.now())  # fmt: skip
    await market.settle()
    row = await market.services.db.fetchone("SELECT status, last_error FROM outbox WHERE job_id = 999")
    assert row is not None and row["status"] == "failed" and "does not exist" in row["last_error"]
    assert market.jobs.history() == []
