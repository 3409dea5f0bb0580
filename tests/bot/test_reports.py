"""Closing the bad-client stories: applications withdrawn and rejected, suspensions, reports
naming a contract (upheld or dismissed), contracts never funded and jobs open too long that
end by themselves."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import simcord

from bot.i18n import t
from bot.models.entities import Case
from bot.models.states import ApplicationStatus, JobStatus
from bot.ui.format import format_time
from bot.ui.job_board import client_line
from tests.bot.conftest import Market
from tests.bot.helpers import (
    JOB,
    active_contract,
    custom_ids,
    fields,
    hired_contract,
    labels,
    last_dm,
    post,
    refused,
    reload,
)

DAY = timedelta(days=1)


async def no_cooldowns(market: Market) -> None:
    for name in ("post_cooldown", "apply_cooldown", "report_cooldown"):
        await market.services.guilds.set_policy(market.guild.id, name, "0s", actor_id=market.admin.id)


async def apply(market: Market, job_id: int, member: simcord.MemberActor | None = None) -> simcord.InteractionResult:
    return await (member or market.worker).slash(
        market.general, "job apply", job=job_id, proposal="I have drawn logos for ten shops.", price=40000
    )


async def application_status(market: Market, job_id: int, worker: simcord.MemberActor) -> str:
    found = await market.services.jobs.application_of(market.guild.id, job_id, worker.id)
    assert found is not None
    return str(found.status)


# -- applications: withdraw ------------------------------------------------------------------


async def test_the_apply_confirmation_has_a_withdraw_button(setup_market: Market) -> None:
    market = setup_market
    job_id = await post(market)
    applied = await apply(market, job_id)
    assert applied.response is not None
    [application] = await market.services.jobs.applications(market.guild.id, job_id, actor_id=market.client.id)
    assert custom_ids(applied.response.message) == [f"cw:application:{application.id}:withdraw"]

    result = await market.worker.click(applied.response.message, custom_id=f"cw:application:{application.id}:withdraw")
    simcord.assert_responded(result, content=t("en", "ui.application.withdrawn", job_id=job_id, title=JOB["title"]))
    assert await application_status(market, job_id, market.worker) == ApplicationStatus.WITHDRAWN
    await market.settle()
    last_dm(market, market.client, t("en", "notify.application_withdrawn", worker_id=market.worker.mention,
                                     job_id=job_id, title=JOB["title"]))

    again = await market.worker.slash(market.general, "job withdraw", job=job_id)
    market.assert_refused(again, "error.application.state", status="withdrawn", action="withdraw")


async def test_job_withdraw_autocompletes_pending_applications_and_frees_the_slot(setup_market: Market) -> None:
    market = setup_market
    await no_cooldowns(market)
    await market.services.guilds.set_policy(market.guild.id, "max_open_applications", "1", actor_id=market.admin.id)
    first = await post(market, title="First job")
    second = await post(market, title="Second job")
    await apply(market, first)

    full = await apply(market, second)
    market.assert_refused(full, "error.application.too_many_open", limit=1)
    choices = await market.worker.autocomplete(market.general, "job withdraw", "job", "")
    assert [c["value"] for c in choices] == [first]
    assert await market.outsider.autocomplete(market.general, "job withdraw", "job", "") == []

    market.set_locale(market.worker, "ja")
    result = await market.worker.slash(market.general, "job withdraw", job=first)
    simcord.assert_responded(
        result, content=t("ja", "ui.application.withdrawn", job_id=first, title="First job"), ephemeral=True
    )
    assert await market.worker.autocomplete(market.general, "job withdraw", "job", "") == []
    # the slot counted by max_open_applications is free again
    market.set_locale(market.worker, "en")
    assert (await apply(market, second)).ephemeral
    assert await application_status(market, second, market.worker) == ApplicationStatus.PENDING

    never = await market.outsider.slash(market.general, "job withdraw", job=first)
    market.assert_refused(never, "error.application.not_found", job_id=first)


# -- applications: reject ----------------------------------------------------------------------


async def test_the_client_rejects_a_proposal_from_the_list(setup_market: Market) -> None:
    market = setup_market
    await no_cooldowns(market)
    job_id = await post(market)
    await apply(market, job_id)
    await apply(market, job_id, market.outsider)
    listed = await market.client.slash(market.general, "job applications", job=job_id)
    assert listed.response is not None
    first, second = await market.services.jobs.applications(market.guild.id, job_id, actor_id=market.client.id)
    message = listed.response.message
    assert labels(message) == [f"Reject #{first.id}", f"Reject #{second.id}"]

    result = await market.client.click(message, custom_id=f"cw:application:{first.id}:reject")
    simcord.assert_responded(
        result,
        content=t("en", "ui.application.rejected", application_id=first.id, worker=market.worker.mention),
        ephemeral=True,
    )
    assert await application_status(market, job_id, market.worker) == ApplicationStatus.REJECTED
    await market.settle()
    last_dm(market, market.worker, t("en", "notify.application_rejected", job_id=job_id, title=JOB["title"]))

    again = await market.client.click(message, custom_id=f"cw:application:{first.id}:reject")
    refused(market, again, "error.application.state", status="rejected", action="reject")
    # a rejected application cannot be offered a contract
    offer = await market.client.slash(market.general, "contract offer", job=job_id, worker=market.worker)
    market.assert_refused(offer, "error.contract.application_state", status="rejected")

    # the list shows the new state; only the pending proposal keeps its button
    market.set_locale(market.client, "ja")
    relisted = await market.client.slash(market.general, "job applications", job=job_id)
    assert relisted.response is not None
    assert labels(relisted.response.message) == [t("ja", "button.application.reject", application_id=second.id)]


async def test_many_proposals_are_paged_with_their_buttons(setup_market: Market) -> None:
    market = setup_market
    await no_cooldowns(market)
    job_id = await post(market)
    members = [market.guild.add_member(market.env.create_user(f"worker{i}")) for i in range(7)]
    for member in members:
        await apply(market, job_id, member)

    listed = await market.client.slash(market.general, "job applications", job=job_id)
    assert listed.response is not None
    message = listed.response.message
    applications = await market.services.jobs.applications(market.guild.id, job_id, actor_id=market.client.id)
    assert custom_ids(message)[:5] == [f"cw:application:{a.id}:reject" for a in applications[:5]]
    assert custom_ids(message)[5:] == ["cw:page:prev", "cw:page:counter", "cw:page:next"]
    turned = await market.client.click(message, custom_id="cw:page:next")
    page_two = turned.response.message if turned.response is not None else message
    assert [c for c in custom_ids(page_two) if c.startswith("cw:application")] == [
        f"cw:application:{a.id}:reject" for a in applications[5:]]


# -- suspensions -------------------------------------------------------------------------------


async def test_a_suspended_user_cannot_post_or_apply_until_the_time(setup_market: Market) -> None:
    market = setup_market
    await no_cooldowns(market)
    job_id = await post(market)
    viewed = await market.worker.slash(market.general, "job view", job=job_id)
    assert viewed.response is not None
    ends = market.clock.now() + 3 * DAY

    result = await market.moderator.slash(market.general, "mod suspend", user=market.worker, duration="3d",
                                          reason="Spam proposals")
    simcord.assert_responded(
        result,
        content=t("en", "ui.mod.suspension.done", user=market.worker.mention, ends_at=format_time(ends)),
        ephemeral=True,
    )
    await market.settle()
    last_dm(market, market.worker, t("en", "notify.suspended", ends_at=format_time(ends), reason="Spam proposals"))
    [event] = await market.services.db.fetchall("SELECT * FROM events WHERE kind = 'user.suspended'")
    assert event["actor_id"] == market.moderator.id

    why: dict[str, Any] = {"ends_at": ends.isoformat(), "reason": "Spam proposals"}
    market.assert_refused(await apply(market, job_id), "error.suspended", **why)
    click = await market.worker.click(viewed.response.message, custom_id=f"cw:job:{job_id}:apply")
    assert click.modal is None
    refused(market, click, "error.suspended", **why)
    posted = await market.worker.slash(market.general, "job post", **JOB)
    market.assert_refused(posted, "error.suspended", **why)
    market.set_locale(market.worker, "ja")
    market.assert_refused(await apply(market, job_id), "error.suspended", language="ja", **why)
    market.set_locale(market.worker, "en")
    assert await market.services.jobs.application_of(market.guild.id, job_id, market.worker.id) is None

    # it ends by itself
    market.clock.set(ends + timedelta(seconds=1))
    assert (await apply(market, job_id)).ephemeral
    assert await application_status(market, job_id, market.worker) == ApplicationStatus.PENDING


async def test_unsuspend_lifts_it_early(setup_market: Market) -> None:
    market = setup_market
    await market.moderator.slash(market.general, "mod suspend", user=market.client, duration="1w", reason="Rude")
    market.set_locale(market.moderator, "ja")
    result = await market.moderator.slash(market.general, "mod unsuspend", user=market.client)
    simcord.assert_responded(
        result, content=t("ja", "ui.mod.suspension.lifted", user=market.client.mention), ephemeral=True
    )
    await market.settle()
    last_dm(market, market.client, t("en", "notify.unsuspended"))
    assert (await market.client.slash(market.general, "job post", **JOB)).ephemeral
    assert len((await market.services.jobs.search(market.guild.id)).jobs) == 1

    again = await market.moderator.slash(market.general, "mod unsuspend", user=market.client)
    market.assert_refused(again, "error.suspend.not_suspended", language="ja")


async def test_suspend_refusals(setup_market: Market) -> None:
    market = setup_market
    not_mod = await market.client.slash(market.general, "mod suspend", user=market.worker, duration="1d", reason="x")
    market.assert_refused(not_mod, "error.check_failed")
    cases = [
        (market.moderator, "1d", "error.suspend.self", {}),
        (market.admin, "1d", "error.suspend.moderator", {}),  # Manage Server counts as a moderator
        (market.worker, "3x", "error.suspend.duration", {"value": "3x"}),
        (market.worker, "400d", "error.suspend.duration", {"value": "400d"}),
    ]
    for target, duration, key, args in cases:
        result = await market.moderator.slash(market.general, "mod suspend", user=target, duration=duration,
                                              reason="x")
        market.assert_refused(result, key, **args)
    assert not await market.services.db.fetchall("SELECT * FROM suspensions")


# -- reports naming a contract -------------------------------------------------------------------


async def report_card(market: Market, case: Case) -> Any:
    for message in reversed(market.mod.history()):
        if any(cid.startswith(f"cw:case:{case.id}:") for cid in custom_ids(message)):
            return message
    raise AssertionError(f"no card for case {case.id}")


async def test_a_second_report_on_a_contract_points_to_the_open_case(setup_market: Market) -> None:
    market = setup_market
    await no_cooldowns(market)
    contract = await active_contract(market)
    await market.worker.slash(market.general, "report", user=market.client, reason="Rude", contract=contract.id)
    [case] = await market.services.cases.list(market.guild.id)

    market.set_locale(market.worker, "ja")
    again = await market.worker.slash(market.general, "report", user=market.client, reason="Again",
                                      contract=contract.id)
    market.assert_refused(again, "error.report.already_open", language="ja", case_id=case.id,
                          contract_id=contract.id)
    other = await market.worker.slash(market.general, "report", user=market.outsider, reason="x",
                                      contract=contract.id)
    market.assert_refused(other, "error.report.not_other_party", language="ja", contract_id=contract.id)
    assert len(await market.services.cases.list(market.guild.id)) == 1


async def test_an_upheld_report_counts_in_the_figures(setup_market: Market) -> None:
    market = setup_market
    contract = await active_contract(market)
    await market.worker.slash(market.general, "report", user=market.client, reason="Asked for payment outside",
                              contract=contract.id)
    await market.settle()
    [case] = await market.services.cases.list(market.guild.id)
    card = await report_card(market, case)
    assert labels(card)[-3:-1] == [t("en", "button.case.uphold"), t("en", "button.case.dismiss")]

    shown = await market.moderator.click(card, custom_id=f"cw:case:{case.id}:uphold")
    assert shown.modal is not None
    empty = await market.moderator.submit_modal(shown, {"reason": "  "})
    refused(market, empty, "error.text.required", field=t("en", "field.reason"))
    shown = await market.moderator.click(card, custom_id=f"cw:case:{case.id}:uphold")
    decided = await market.moderator.submit_modal(shown, {"reason": "Screenshots confirm it."})
    assert decided.followups[-1].content == t("en", "ui.case.done", case_id=case.id,
                                              action=t("en", "button.case.uphold"))
    resolved, _ = await market.services.cases.get(market.guild.id, case.id)
    assert (resolved.resolution, resolved.resolved_by, resolved.resolution_note) == (
        "uphold", market.moderator.id, "Screenshots confirm it.")
    await market.settle()
    last_dm(market, market.worker, t("en", "notify.report_uphold", case_id=case.id,
                                     subject_id=market.client.mention))
    # the reported user's figures say so, on the profile and on the figure lines of posts and cards
    profile = await market.worker.slash(market.general, "profile view", user=market.client)
    assert profile.response is not None
    shown = "\n".join(str(f.value) for e in profile.response.message.embeds for f in e.fields)
    assert t("en", "ui.figures.reports_upheld_detail", count=1) in shown
    figures = await market.services.reputation.figures(market.guild.id, market.client.id)
    assert client_line(figures, "en").endswith(" · reports upheld 1")
    assert client_line(figures, "ja").endswith(" · " + t("ja", "ui.figures.reports_upheld", count=1))


# -- things that end by themselves ---------------------------------------------------------------


async def test_a_contract_never_funded_is_cancelled_and_both_parties_told(setup_market: Market) -> None:
    market = setup_market
    contract = await hired_contract(market)
    start = market.clock.now()
    market.clock.set(start + 3 * DAY)
    await market.sweep()  # the escrow escalation
    market.clock.set(start + 10 * DAY)
    await market.sweep()
    await market.sweep()  # once only

    assert (await reload(market, contract.id)).status == "cancelled"
    for member in (market.client, market.worker):
        [dm] = [m for m in market.dms(member)
                if m.content == t("en", "notify.unfunded_expired", contract_id=contract.id)]
        assert dm
    notes = [m.content for m in market.mod.history()]
    assert any(t("en", "mod.case_settled.unfunded_expired", case_id=1, contract_id=contract.id) in n for n in notes)
    job = await market.services.jobs.get(market.guild.id, contract.job_id)
    assert (job.status, job.filled) == (JobStatus.OPEN, 0)


async def test_a_job_open_too_long_closes_by_itself(setup_market: Market) -> None:
    market = setup_market
    job_id = await post(market)
    await apply(market, job_id)
    await market.settle()
    [board] = market.jobs.history()

    market.clock.set(market.clock.now() + 30 * DAY - timedelta(seconds=1))
    await market.sweep()
    assert (await market.services.jobs.get(market.guild.id, job_id)).status == JobStatus.OPEN
    market.clock.set(market.clock.now() + timedelta(seconds=1))
    await market.sweep()

    job = await market.services.jobs.get(market.guild.id, job_id)
    assert (job.status, job.closed_by) == (JobStatus.CLOSED, None)
    last_dm(market, market.client, t("en", "notify.job_expired", job_id=job_id, title=JOB["title"]))
    last_dm(market, market.worker, t("en", "notify.job_closed_applicant", job_id=job_id, title=JOB["title"]))
    assert await application_status(market, job_id, market.worker) == ApplicationStatus.REJECTED
    # the board post reads closed, without its Apply button, like a manual close
    [edited] = market.jobs.history()
    assert edited.id == board.id
    assert fields(edited.embeds[0])["Status"] == t("en", "status.closed")
    assert custom_ids(edited) == []
