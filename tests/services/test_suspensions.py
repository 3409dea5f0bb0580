"""Suspensions, withdrawing and rejecting applications, and jobs that close by themselves."""

from __future__ import annotations

import asyncio
from datetime import timedelta

import pytest

from bot.clock import FakeClock
from bot.errors import InvalidInput, LimitReached, NotAllowed, NotFound, WrongState
from bot.models.entities import Guild
from bot.models.states import ApplicationStatus, JobStatus
from bot.services.container import Services
from bot.services.suspensions import Target
from tests.ids import CLIENT, GUILD_ID, MODERATOR, OUTSIDER, WORKER, WORKER2
from tests.services.helpers import apply, count, events, hired_contract, no_cooldowns, outbox, post_job

DAY = timedelta(days=1)


# -- suspensions -------------------------------------------------------------------------------


async def test_a_suspension_refuses_posting_and_applying_until_it_ends(services: Services, guild: Guild,
                                                                        clock: FakeClock) -> None:
    await no_cooldowns(services)
    job = await post_job(services)
    suspension = await services.suspensions.suspend(GUILD_ID, moderator_id=MODERATOR, target=Target(WORKER),
                                                    duration="12h", reason="Spam")
    assert (suspension.user_id, suspension.suspended_by, suspension.reason, suspension.ends_at) == (
        WORKER, MODERATOR, "Spam", clock.now() + timedelta(hours=12))
    [event] = await events(services, "user.suspended")
    assert (event["actor_id"], event["data"]["user_id"], event["data"]["reason"]) == (MODERATOR, WORKER, "Spam")
    [dm] = await outbox(services, message_key="notify.suspended")
    assert dm["recipient_id"] == WORKER

    for attempt in (lambda: apply(services, job), lambda: services.jobs.check_apply(GUILD_ID, job.id, WORKER),
                    lambda: post_job(services, client_id=WORKER)):
        with pytest.raises(NotAllowed) as refused:
            await attempt()
        assert (refused.value.key, refused.value.args_map["reason"]) == ("error.suspended", "Spam")
    assert await count(services, "applications") == 0
    # other users are not concerned
    await apply(services, job, WORKER2)

    clock.advance(hours=12)
    assert (await apply(services, job)).status == ApplicationStatus.PENDING
    assert await services.suspensions.active(GUILD_ID, WORKER) is None


async def test_a_new_suspension_replaces_the_one_in_force(services: Services, guild: Guild,
                                                          clock: FakeClock) -> None:
    await services.suspensions.suspend(GUILD_ID, moderator_id=MODERATOR, target=Target(CLIENT), duration="1w",
                                       reason="first")
    await services.suspensions.suspend(GUILD_ID, moderator_id=MODERATOR, target=Target(CLIENT), duration="1d",
                                       reason="shorter")
    active = await services.suspensions.active(GUILD_ID, CLIENT)
    assert active is not None and (active.reason, active.ends_at) == ("shorter", clock.now() + DAY)
    clock.advance(days=1, seconds=1)
    assert await services.suspensions.active(GUILD_ID, CLIENT) is None


@pytest.mark.parametrize(
    ("target", "duration", "error", "key"),
    [
        (Target(MODERATOR), "1d", NotAllowed, "error.suspend.self"),
        (Target(OUTSIDER, is_bot=True), "1d", NotAllowed, "error.suspend.bot"),
        (Target(OUTSIDER, is_moderator=True), "1d", NotAllowed, "error.suspend.moderator"),
        (Target(OUTSIDER), "soon", InvalidInput, "error.suspend.duration"),
        (Target(OUTSIDER), "0s", InvalidInput, "error.suspend.duration"),
        (Target(OUTSIDER), "53w", InvalidInput, "error.suspend.duration"),
    ],
)
async def test_suspension_refusals_change_nothing(services: Services, guild: Guild, target: Target, duration: str,
                                                  error: type[Exception], key: str) -> None:
    with pytest.raises(error) as refused:
        await services.suspensions.suspend(GUILD_ID, moderator_id=MODERATOR, target=target, duration=duration,
                                           reason="x")
    assert refused.value.key == key  # type: ignore[attr-defined]
    assert await count(services, "suspensions") == 0
    assert await count(services, "outbox") == 0


async def test_unsuspend_once(services: Services, guild: Guild) -> None:
    await services.suspensions.suspend(GUILD_ID, moderator_id=MODERATOR, target=Target(CLIENT), duration="3d",
                                       reason="x")
    await services.suspensions.unsuspend(GUILD_ID, moderator_id=MODERATOR, user_id=CLIENT)
    assert await services.suspensions.active(GUILD_ID, CLIENT) is None
    with pytest.raises(WrongState):
        await services.suspensions.unsuspend(GUILD_ID, moderator_id=MODERATOR, user_id=CLIENT)
    [row] = await services.db.fetchall("SELECT lifted_by FROM suspensions")
    assert row["lifted_by"] == MODERATOR


# -- applications ------------------------------------------------------------------------------


async def test_withdrawing_frees_the_slot_and_blocks_an_offer(services: Services, guild: Guild) -> None:
    await no_cooldowns(services)
    await services.guilds.set_policy(GUILD_ID, "max_open_applications", "1", actor_id=MODERATOR)
    first, second = await post_job(services), await post_job(services, title="Other")
    application = await apply(services, first)
    with pytest.raises(LimitReached):
        await apply(services, second)
    with pytest.raises(NotAllowed):
        await services.jobs.withdraw_application_by_id(GUILD_ID, application.id, WORKER2)
    with pytest.raises(NotFound):
        await services.jobs.withdraw_application_by_id(GUILD_ID + 1, application.id, WORKER)

    withdrawn = await services.jobs.withdraw_application_by_id(GUILD_ID, application.id, WORKER)
    assert withdrawn.status == ApplicationStatus.WITHDRAWN
    with pytest.raises(WrongState):
        await services.jobs.withdraw_application_by_id(GUILD_ID, application.id, WORKER)
    with pytest.raises(WrongState) as no_offer:
        await services.contracts.offer(GUILD_ID, CLIENT, first.id, WORKER)
    assert no_offer.value.key == "error.contract.application_state"
    assert (await apply(services, second)).status == ApplicationStatus.PENDING


async def test_a_withdraw_and_a_reject_race_one_wins(services: Services, guild: Guild) -> None:
    job = await post_job(services)
    application = await apply(services, job)
    results = await asyncio.gather(
        services.jobs.withdraw_application(GUILD_ID, job.id, WORKER),
        services.jobs.reject_application(GUILD_ID, application.id, actor_id=CLIENT),
        return_exceptions=True,
    )
    assert sum(1 for r in results if isinstance(r, Exception)) == 1
    assert await count(services, "events", "kind IN ('application.withdrawn', 'application.rejected')") == 1


# -- jobs that close by themselves ---------------------------------------------------------------


async def test_open_jobs_close_after_job_expires_after(services: Services, guild: Guild, clock: FakeClock) -> None:
    await no_cooldowns(services)
    old = await post_job(services, title="Old")
    await apply(services, old)
    clock.advance(days=10)
    newer = await post_job(services, title="Newer")
    filled = (await hired_contract(services)).job_id  # a filled job is left alone
    clock.advance(days=20)

    assert await services.jobs.expire_due(clock.now()) == 1
    closed = await services.jobs.get(GUILD_ID, old.id)
    assert (closed.status, closed.closed_by, closed.closed_at) == (JobStatus.CLOSED, None, clock.now())
    assert (await services.jobs.application_of(GUILD_ID, old.id, WORKER)).status == ApplicationStatus.REJECTED  # type: ignore[union-attr]
    assert [r["recipient_id"] for r in await outbox(services, message_key="notify.job_expired")] == [CLIENT]
    assert [r["recipient_id"] for r in await outbox(services, message_key="notify.job_closed_applicant")] == [WORKER]
    [event] = await events(services, "job.closed", job_id=old.id)
    assert event["data"]["by"] == "expiry"
    assert (await services.jobs.get(GUILD_ID, newer.id)).status == JobStatus.OPEN
    assert (await services.jobs.get(GUILD_ID, filled)).status == JobStatus.FILLED
    # once only; ``0s`` turns the expiry off
    assert await services.jobs.expire_due(clock.now()) == 0
    await services.guilds.set_policy(GUILD_ID, "job_expires_after", "0s", actor_id=MODERATOR)
    clock.advance(days=60)
    assert await services.jobs.expire_due(clock.now()) == 0


async def test_the_expiry_sweep_reads_an_index(services: Services, guild: Guild) -> None:
    plan = await services.db.fetchall(
        "EXPLAIN QUERY PLAN SELECT id FROM jobs WHERE guild_id = ? AND status = 'open' AND created_at <= ?"
        " ORDER BY created_at LIMIT ?", (GUILD_ID, "2026-01-01T00:00:00+00:00", 10))
    assert any("jobs_open_since" in row["detail"] for row in plan), [row["detail"] for row in plan]
