"""/job post, list, view, apply (and the Apply button), applications, close."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest
import simcord

from bot.i18n import t
from bot.models.states import ApplicationStatus, JobStatus
from bot.models.timeutil import to_iso
from tests.bot.conftest import Market
from tests.bot.helpers import JOB, buttons, custom_ids, fields, labels, post


async def no_cooldowns(market: Market) -> None:
    for name in ("post_cooldown", "apply_cooldown"):
        await market.services.guilds.set_policy(market.guild.id, name, "0s", actor_id=market.admin.id)


async def apply(market: Market, job_id: int, member: simcord.MemberActor | None = None, **options: Any) -> Any:
    values = {"job": job_id, "proposal": "I have drawn logos for ten shops.", "price": 40000, **options}
    return await (member or market.worker).slash(market.general, "job apply", **values)


# -- /job post ---------------------------------------------------------------------------


async def test_post_answers_privately_and_stores_the_job(setup_market: Market) -> None:
    market = setup_market
    result = await market.client.slash(market.general, "job post", **JOB, category="Design", positions=2)

    page = await market.services.jobs.search(market.guild.id, client_id=market.client.id)
    [job] = page.jobs
    simcord.assert_responded(
        result,
        content=t("en", "ui.job.posted", job_id=job.id, title=JOB["title"], channel=market.jobs.mention),
        ephemeral=True,
    )
    assert (job.title, job.budget, job.currency, job.deadline_days, job.category, job.positions) == (
        JOB["title"], 45000, "JPY", 7, "Design", 2,
    )  # fmt: skip
    assert job.status == JobStatus.OPEN
    await market.settle()
    assert len(market.jobs.history()) == 1


async def test_post_in_japanese_with_a_usd_budget(market: Market) -> None:
    await market.run_setup(currency="USD")
    market.set_locale(market.client, "ja")
    result = await market.client.slash(market.general, "job post", **{**JOB, "budget": 12.5})

    [job] = (await market.services.jobs.search(market.guild.id)).jobs
    assert job.budget == 1250
    simcord.assert_responded(
        result,
        content=t("ja", "ui.job.posted", job_id=job.id, title=JOB["title"], channel=market.jobs.mention),
        ephemeral=True,
    )


@pytest.mark.parametrize(
    ("options", "key", "args"),
    [
        ({"budget": 0}, "error.money.not_positive", {"field": "budget"}),
        ({"budget": 12.5}, "error.money.decimals", {"field": "budget", "currency": "JPY", "decimals": 0}),
        ({"budget": 20_000_000}, "error.money.too_large",
         {"field": "budget", "max_amount": 10_000_000, "currency": "JPY"}),
        ({"deadline": "soon"}, "error.deadline.invalid", {"value": "soon"}),
        ({"deadline": "2025-01-01"}, "error.deadline.invalid", {"value": "2025-01-01"}),
        ({"title": "   "}, "error.text.required", {"field": "title"}),
    ],
)  # fmt: skip
async def test_post_refuses_bad_input(setup_market: Market, options: dict[str, Any], key: str,
                                      args: dict[str, Any]) -> None:  # fmt: skip
    market = setup_market
    result = await market.client.slash(market.general, "job post", **{**JOB, **options})
    market.assert_refused(result, key, **args)
    assert (await market.services.jobs.search(market.guild.id)).total == 0


async def test_post_bounds_discord_enforces(setup_market: Market) -> None:
    market = setup_market
    for options in ({"budget": -1}, {"positions": 0}, {"positions": 51}, {"title": "x" * 101}):
        with pytest.raises(simcord.OptionError):
            await market.client.slash(market.general, "job post", **{**JOB, **options})


async def test_post_cooldown_says_when(setup_market: Market) -> None:
    market = setup_market
    await post(market)
    result = await market.client.slash(market.general, "job post", **JOB)
    market.assert_refused(result, "error.cooldown", retry_at=to_iso(market.clock.now() + timedelta(minutes=1)))
    assert (await market.services.jobs.search(market.guild.id)).total == 1


async def test_post_before_setup(market: Market) -> None:
    result = await market.client.slash(market.general, "job post", **JOB)
    market.assert_refused(result, "error.not_configured")


async def test_category_autocompletes_from_open_jobs(setup_market: Market) -> None:
    market = setup_market
    await no_cooldowns(market)
    for category in ("Design", "Translation", "Writing"):
        await post(market, category=category)
    choices = await market.worker.autocomplete(market.general, "job list", "category", "TR")
    assert [choice["value"] for choice in choices] == ["Translation"]
    # /job post offers the server's list (/config categories), not what others typed
    choices = await market.client.autocomplete(market.general, "job post", "category", "", **JOB)
    assert choices == []
    await market.services.guilds.set_categories(market.guild.id, "Writing, Design", actor_id=market.admin.id)
    choices = await market.client.autocomplete(market.general, "job post", "category", "", **JOB)
    assert [choice["value"] for choice in choices] == ["Writing", "Design"]


# -- /job list --------------------------------------------------------------------------------


async def test_list_pages_ten_at_a_time(setup_market: Market) -> None:
    market = setup_market
    await no_cooldowns(market)
    ids = [await post(market, title=f"Job number {n}") for n in range(12)]

    result = await market.worker.slash(market.general, "job list")
    assert result.ephemeral and result.response is not None
    [embed] = result.response.embeds
    assert embed.title == t("en", "ui.job.list_title", page=1, pages=2, total=12)
    lines = (embed.description or "").splitlines()
    assert len(lines) == 10
    assert lines[0] == f"`#{ids[-1]}` **Job number 11** · ¥45,000 · 7d · — · open"
    message = result.response.message
    with pytest.raises(simcord.SetupError, match="disabled"):
        await market.worker.click(message, custom_id="job_list:previous")

    after = await market.worker.click(message, custom_id="job_list:next")
    assert after.response is not None
    [embed] = after.response.embeds
    assert embed.title == t("en", "ui.job.list_title", page=2, pages=2, total=12)
    assert (embed.description or "").splitlines()[-1].startswith(f"`#{ids[0]}` **Job number 0**")
    with pytest.raises(simcord.SetupError, match="disabled"):
        await market.worker.click(after.response.message, custom_id="job_list:next")

    back = await market.worker.click(after.response.message, custom_id="job_list:previous")
    assert back.response is not None
    assert back.response.embeds[0].title == t("en", "ui.job.list_title", page=1, pages=2, total=12)


async def test_list_buttons_expire(setup_market: Market) -> None:
    market = setup_market
    await no_cooldowns(market)
    for n in range(11):
        await post(market, title=f"Job number {n}")
    result = await market.worker.slash(market.general, "job list")
    await market.env.advance_time(601)
    await market.settle()
    assert result.response is not None
    with pytest.raises(simcord.SetupError, match="disabled"):
        await market.worker.click(result.response.message, custom_id="job_list:next")


async def test_list_filters_and_mine(setup_market: Market) -> None:
    market = setup_market
    await no_cooldowns(market)
    design = await post(market, category="Design", title="Logo")
    menu = await post(market, category="Translation", title="Menu", description="Translate a ramen menu")
    other = await post(market, market.outsider, title="Website")
    await market.services.jobs.close(market.guild.id, design, actor_id=market.client.id)

    def listed(result: simcord.InteractionResult) -> list[str]:
        assert result.response is not None
        return (result.response.embeds[0].description or "").splitlines()

    everything = listed(await market.worker.slash(market.general, "job list"))
    assert [line.split("`")[1] for line in everything] == [f"#{other}", f"#{menu}"]  # closed ones are hidden
    assert [
        line.split("`")[1]
        for line in listed(await market.worker.slash(market.general, "job list", category="translation"))
    ] == [f"#{menu}"]
    assert [
        line.split("`")[1] for line in listed(await market.worker.slash(market.general, "job list", query="RAMEN"))
    ] == [f"#{menu}"]

    mine = await market.client.slash(market.general, "job list", mine=True)
    assert mine.response is not None
    assert mine.response.embeds[0].title == t("en", "ui.job.list_mine_title", page=1, pages=1, total=2)
    assert [line.split("`")[1] for line in listed(mine)] == [f"#{menu}", f"#{design}"]
    assert listed(mine)[1].endswith("· closed")


async def test_list_says_when_nothing_matches(setup_market: Market) -> None:
    market = setup_market
    result = await market.worker.slash(market.general, "job list", query="nothing")
    simcord.assert_responded(result, content=t("en", "ui.job.list_empty"), ephemeral=True)
    market.set_locale(market.worker, "ja")
    result = await market.worker.slash(market.general, "job list", mine=True)
    simcord.assert_responded(result, content=t("ja", "ui.job.list_empty_mine"), ephemeral=True)


# -- /job view -------------------------------------------------------------------------------


async def test_view_shows_the_job_with_an_apply_button_for_others(setup_market: Market) -> None:
    market = setup_market
    job_id = await post(market, category="Design")
    job = await market.services.jobs.get(market.guild.id, job_id)

    result = await market.worker.slash(market.general, "job view", job=job_id)
    assert result.ephemeral and result.response is not None
    url = f"https://discord.com/channels/{market.guild.id}/{market.jobs.id}/{job.board_message_id}"
    assert result.response.content == t("en", "ui.job.board_link", url=url)
    [embed] = result.response.embeds
    assert embed.title == f"#{job_id} {JOB['title']}"
    assert fields(embed)["Budget"] == "¥45,000"
    assert buttons(result.response.message) == [f"cw:job:{job_id}:apply"]

    own = await market.client.slash(market.general, "job view", job=job_id)
    assert own.response is not None and buttons(own.response.message) == []


async def test_view_of_an_unknown_job(setup_market: Market) -> None:
    market = setup_market
    result = await market.worker.slash(market.general, "job view", job=999)
    market.assert_refused(result, "error.job.not_found", job_id=999)


async def test_job_options_autocomplete_what_the_user_may_act_on(setup_market: Market) -> None:
    market = setup_market
    await no_cooldowns(market)
    mine = await post(market, title="Logo")
    theirs = await post(market, market.outsider, title="Website")

    def values(choices: list[dict[str, Any]]) -> list[int]:
        return [choice["value"] for choice in choices]

    assert values(await market.client.autocomplete(market.general, "job apply", "job", "")) == [theirs]
    assert values(await market.client.autocomplete(market.general, "job close", "job", "")) == [mine]
    assert values(await market.client.autocomplete(market.general, "job applications", "job", "lo")) == [mine]
    choices = await market.client.autocomplete(market.general, "job view", "job", "")
    assert values(choices) == [theirs, mine]
    assert choices[0]["name"] == f"#{theirs} Website"


async def test_apply_autocompletes_only_jobs_the_user_may_still_apply_to(setup_market: Market) -> None:
    market = setup_market
    await no_cooldowns(market)
    applied_to = await post(market, title="Logo")
    withdrawn = await post(market, title="Website")
    still_open = await post(market, title="Menu")
    closed = await post(market, title="Poster")
    await post(market, market.worker, title="The worker's own job")
    assert (await apply(market, applied_to)).ephemeral
    assert (await apply(market, withdrawn)).ephemeral
    await market.services.jobs.withdraw_application(market.guild.id, withdrawn, market.worker.id)
    await market.services.jobs.close(market.guild.id, closed, actor_id=market.client.id)

    choices = await market.worker.autocomplete(market.general, "job apply", "job", "")
    assert [choice["value"] for choice in choices] == [still_open]
    # each left-out job is one apply refuses
    for job_id in (applied_to, withdrawn):
        result = await apply(market, job_id)
        market.assert_refused(result, "error.application.already_applied", job_id=job_id)


# -- /job apply and the Apply button -------------------------------------------------------------


async def test_apply_sends_the_proposal_and_tells_the_client(setup_market: Market) -> None:
    market = setup_market
    job_id = await post(market)
    result = await apply(market, job_id, days=5)

    simcord.assert_responded(
        result, content=t("en", "ui.job.applied", job_id=job_id, title=JOB["title"], price="¥40,000"), ephemeral=True
    )
    application = await market.services.jobs.application_of(market.guild.id, job_id, market.worker.id)
    assert application is not None
    assert (application.price, application.days, application.status) == (40000, 5, ApplicationStatus.PENDING)
    await market.settle()
    [dm] = market.dms(market.client)
    assert f"#{job_id}" in dm.content and market.worker.mention in dm.content


async def test_apply_in_japanese(setup_market: Market) -> None:
    market = setup_market
    job_id = await post(market)
    market.set_locale(market.worker, "ja")
    result = await apply(market, job_id)
    simcord.assert_responded(
        result, content=t("ja", "ui.job.applied", job_id=job_id, title=JOB["title"], price="40,000円"), ephemeral=True
    )


async def test_apply_refusals(setup_market: Market) -> None:
    market = setup_market
    job_id = await post(market)

    market.assert_refused(await apply(market, job_id, market.client), "error.application.own_job", job_id=job_id)
    market.assert_refused(await apply(market, job_id, price=0), "error.money.not_positive", field="price")
    market.assert_refused(await apply(market, job_id, proposal="  "), "error.text.required", field="proposal")
    market.assert_refused(await apply(market, 999), "error.job.not_found", job_id=999)
    with pytest.raises(simcord.OptionError):
        await apply(market, job_id, days=400)

    await apply(market, job_id)
    market.assert_refused(await apply(market, job_id), "error.application.already_applied", job_id=job_id)

    await market.services.jobs.close(market.guild.id, job_id, actor_id=market.client.id)
    result = await apply(market, job_id, market.outsider)
    market.assert_refused(result, "error.application.job_not_open", job_id=job_id, status="closed")
    assert len(await market.services.jobs.applications(market.guild.id, job_id, actor_id=market.client.id)) == 1


async def test_the_apply_button_opens_a_modal_and_a_second_click_is_refused(setup_market: Market) -> None:
    market = setup_market
    job_id = await post(market)
    [board] = market.jobs.history()

    shown = await market.worker.click(board, custom_id=f"cw:job:{job_id}:apply")
    modal = shown.modal
    assert modal is not None and modal["custom_id"] == f"job_apply:{job_id}"
    assert modal["title"] == t("en", "ui.job.modal.title", job_id=job_id, title=JOB["title"])[:45]
    inputs = [row["components"][0] for row in modal["components"]]
    assert [(i["custom_id"], i.get("required", True)) for i in inputs] == [
        ("proposal", True), ("price", True), ("days", False),
    ]  # fmt: skip
    result = await market.worker.submit_modal(shown, {"proposal": "Vector logo, 3 drafts.", "price": "¥38000",
                                                      "days": "4"})  # fmt: skip
    simcord.assert_responded(
        result, content=t("en", "ui.job.applied", job_id=job_id, title=JOB["title"], price="¥38,000"), ephemeral=True
    )
    application = await market.services.jobs.application_of(market.guild.id, job_id, market.worker.id)
    assert application is not None and (application.proposal, application.price, application.days) == (
        "Vector logo, 3 drafts.", 38000, 4,
    )  # fmt: skip

    again = await market.worker.click(board, custom_id=f"cw:job:{job_id}:apply")
    assert again.modal is None
    simcord.assert_responded(again, content=t("en", "error.application.already_applied", job_id=job_id), ephemeral=True)
    own = await market.client.click(board, custom_id=f"cw:job:{job_id}:apply")
    simcord.assert_responded(own, content=t("en", "error.application.own_job", job_id=job_id), ephemeral=True)


async def test_the_apply_modal_refuses_what_is_not_a_number(setup_market: Market) -> None:
    market = setup_market
    job_id = await post(market)
    [board] = market.jobs.history()
    market.set_locale(market.worker, "ja")

    shown = await market.worker.click(board, custom_id=f"cw:job:{job_id}:apply")
    assert shown.modal is not None and shown.modal["title"].startswith("応募")
    result = await market.worker.submit_modal(shown, {"proposal": "Me", "price": "a lot"})
    market.assert_refused(result, "ui.job.price_not_number", language="ja", value="a lot")

    shown = await market.worker.click(board, custom_id=f"cw:job:{job_id}:apply")
    result = await market.worker.submit_modal(shown, {"proposal": "Me", "price": "100", "days": "two"})
    market.assert_refused(result, "ui.job.days_not_number", language="ja", value="two")

    shown = await market.worker.click(board, custom_id=f"cw:job:{job_id}:apply")
    result = await market.worker.submit_modal(shown, {"proposal": "Me", "price": "100", "days": "0"})
    market.assert_refused(result, "error.application.days", language="ja", value=0)
    assert await market.services.jobs.application_of(market.guild.id, job_id, market.worker.id) is None


# -- /job applications ------------------------------------------------------------------------------


async def test_applications_list_each_proposal_with_the_worker_figures(setup_market: Market) -> None:
    market = setup_market
    await no_cooldowns(market)
    job_id = await post(market)
    await apply(market, job_id, proposal="First line\nSecond line", days=3)
    await apply(market, job_id, market.outsider, price=42000)

    result = await market.client.slash(market.general, "job applications", job=job_id)
    assert result.ephemeral and result.response is not None
    text = result.response.content
    header = t("en", "ui.job.applications_header", job_id=job_id, title=JOB["title"], count=2)
    figures = "Worker: completed 0 · on time — · no ratings yet"
    first, second = await market.services.jobs.applications(market.guild.id, job_id, actor_id=market.client.id)
    assert text == "\n\n".join([
        header,
        f"`#{first.id}` **{market.worker.mention}** · ¥40,000 · 3-day delivery · pending\n{figures}\n"
        "> First line\n> Second line",
        f"`#{second.id}` **{market.outsider.mention}** · ¥42,000 · the job's deadline · pending\n{figures}\n"
        "> I have drawn logos for ten shops.",
    ])  # fmt: skip
    # one Reject button per pending proposal, named by its number
    message = result.response.message
    assert custom_ids(message) == [f"cw:application:{first.id}:reject", f"cw:application:{second.id}:reject"]
    assert labels(message) == [f"Reject #{first.id}", f"Reject #{second.id}"]


async def test_applications_only_for_the_client(setup_market: Market) -> None:
    market = setup_market
    job_id = await post(market)
    empty = await market.client.slash(market.general, "job applications", job=job_id)
    simcord.assert_responded(
        empty, content=t("en", "ui.job.applications_empty", job_id=job_id, title=JOB["title"]), ephemeral=True
    )
    result = await market.worker.slash(market.general, "job applications", job=job_id)
    market.assert_refused(result, "error.job.not_client", job_id=job_id)


# -- /job close ---------------------------------------------------------------------------------------


async def test_close_ends_the_job_and_tells_pending_applicants(setup_market: Market) -> None:
    market = setup_market
    job_id = await post(market)
    await apply(market, job_id)

    market.set_locale(market.client, "ja")
    result = await market.client.slash(market.general, "job close", job=job_id)
    simcord.assert_responded(
        result, content=t("ja", "ui.job.closed", job_id=job_id, title=JOB["title"]), ephemeral=True
    )
    job = await market.services.jobs.get(market.guild.id, job_id)
    assert (job.status, job.closed_by) == (JobStatus.CLOSED, market.client.id)
    [application] = await market.services.jobs.applications(market.guild.id, job_id, actor_id=market.client.id)
    assert application.status == ApplicationStatus.REJECTED
    await market.settle()
    assert any(f"#{job_id}" in dm.content for dm in market.dms(market.worker))

    again = await market.client.slash(market.general, "job close", job=job_id)
    market.assert_refused(again, "error.job.state", language="ja", status="closed", action="close")


async def test_close_refuses_others_but_not_moderators(setup_market: Market) -> None:
    market = setup_market
    job_id = await post(market)
    result = await market.outsider.slash(market.general, "job close", job=job_id)
    market.assert_refused(result, "error.job.not_client", job_id=job_id)
    assert (await market.services.jobs.get(market.guild.id, job_id)).status == JobStatus.OPEN

    result = await market.moderator.slash(market.general, "job close", job=job_id)
    assert result.ephemeral
    job = await market.services.jobs.get(market.guild.id, job_id)
    assert (job.status, job.closed_by) == (JobStatus.CLOSED, market.moderator.id)


async def test_close_autocompletes_the_guilds_open_jobs_for_moderators(setup_market: Market) -> None:
    market = setup_market
    await no_cooldowns(market)
    own = await post(market, market.moderator, title="The moderator's own job")
    open_job = await post(market, title="Open")
    closed = await post(market, title="Closed")
    filled = await post(market, title="Filled")
    await market.services.jobs.close(market.guild.id, closed, actor_id=market.client.id)
    await apply(market, filled)
    view = await market.services.contracts.offer(market.guild.id, market.client.id, filled, market.worker.id)
    await market.services.contracts.accept(market.guild.id, view.contract.id, actor_id=market.worker.id)
    await market.settle()
    assert (await market.services.jobs.get(market.guild.id, filled)).status == JobStatus.FILLED

    def values(choices: list[dict[str, Any]]) -> list[int]:
        return [choice["value"] for choice in choices]

    # the moderator's own jobs first, then the other open jobs, newest first
    assert values(await market.moderator.autocomplete(market.general, "job close", "job", "")) == [own, open_job]
    assert values(await market.admin.autocomplete(market.general, "job close", "job", "")) == [open_job, own]
    assert values(await market.moderator.autocomplete(market.general, "job close", "job", "op")) == [open_job]
    assert values(await market.client.autocomplete(market.general, "job close", "job", "")) == [filled, open_job]
    assert await market.outsider.autocomplete(market.general, "job close", "job", "") == []
    # the proposals of any job are a moderator's to read too
    assert values(await market.moderator.autocomplete(market.general, "job applications", "job", "")) == [
        own, open_job]
    assert values(await market.client.autocomplete(market.general, "job applications", "job", "")) == [
        filled, open_job]

    result = await market.moderator.slash(market.general, "job close", job=open_job)
    simcord.assert_responded(result, content=t("en", "ui.job.closed", job_id=open_job, title="Open"), ephemeral=True)


async def test_an_apply_button_shown_before_the_job_closed_is_refused_after(setup_market: Market) -> None:
    market = setup_market
    job_id = await post(market)
    viewed = await market.worker.slash(market.general, "job view", job=job_id)
    assert viewed.response is not None
    await market.client.slash(market.general, "job close", job=job_id)

    result = await market.worker.click(viewed.response.message, custom_id=f"cw:job:{job_id}:apply")
    assert result.modal is None
    expected = t("en", "error.application.job_not_open", job_id=job_id, status=t("en", "status.closed"))
    simcord.assert_responded(result, content=expected, ephemeral=True)
