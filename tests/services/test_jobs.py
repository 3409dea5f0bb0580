"""Jobs and applications on a real database: post, search, close; apply, withdraw, reject."""

from __future__ import annotations

import asyncio
from datetime import timedelta
from decimal import Decimal
from typing import Any

import pytest

from bot.clock import FakeClock
from bot.errors import CooldownActive, InvalidInput, LimitReached, NotAllowed, NotConfigured, NotFound, WrongState
from bot.models.entities import Guild, Job
from bot.models.states import ApplicationStatus, JobStatus
from bot.models.timeutil import to_iso
from bot.services.common import LIMITS
from bot.services.container import Services
from bot.services.jobs import MAX_POSITIONS, PAGE_SIZE
from tests.ids import CLIENT, GUILD_ID, MODERATOR, OUTSIDER, WORKER, WORKER2
from tests.services.helpers import (
    apply,
    count,
    events,
    no_cooldowns,
    offered_contract,
    outbox,
    post_job,
    setup_guild,
    snapshot,
)

POST: dict[str, Any] = {
    "title": "Logo for a ramen shop",
    "description": "A simple logo, vector files.",
    "budget": 50000,
    "deadline": "7d",
}


async def post(services: Services, client_id: int = CLIENT, **overrides: Any) -> Job:
    return await services.jobs.post(GUILD_ID, client_id, **{**POST, **overrides})


# -- post -------------------------------------------------------------------------


async def test_post_stores_the_job_announces_it_and_records_an_event(
    services: Services, guild: Guild, clock: FakeClock
) -> None:
    job = await post(services, category="Design", positions=2)
    assert (job.guild_id, job.client_id, job.title, job.description) == (
        GUILD_ID, CLIENT, POST["title"], POST["description"],
    )
    assert (job.budget, job.currency, job.category, job.positions, job.filled) == (50000, "JPY", "Design", 2, 0)
    assert (job.deadline_days, job.deadline_date) == (7, None)
    assert job.status == JobStatus.OPEN
    assert job.created_at == clock.now()
    assert await services.jobs.get(GUILD_ID, job.id) == job
    (board,) = await outbox(services, target="board")
    assert (board["job_id"], board["message_key"], board["recipient_id"]) == (job.id, "board.job", None)
    (event,) = await events(services, "job.posted")
    assert (event["job_id"], event["actor_id"]) == (job.id, CLIENT)
    assert event["data"] == {"budget": 50000, "currency": "JPY"}


async def test_post_with_a_date_deadline_and_text_trimmed(services: Services, guild: Guild) -> None:
    job = await post(services, title="  Logo  ", category="  ", deadline="2026-02-01")
    assert job.title == "Logo"
    assert job.category is None
    assert (job.deadline_days, job.deadline_date) == (None, "2026-02-01")


@pytest.mark.parametrize(
    ("budget", "minor"),
    [(1, 1), ("50000", 50000), (Decimal("10000000"), 10_000_000), ("1e3", 1000), (12.0, 12)],
)
async def test_post_budget_jpy(services: Services, guild: Guild, budget: object, minor: int) -> None:
    assert (await post(services, budget=budget)).budget == minor


@pytest.mark.parametrize(
    ("budget", "minor"),
    [("12.50", 1250), (12.5, 1250), (Decimal("0.01"), 1), (7, 700), ("10000000", 1_000_000_000)],
)
async def test_post_budget_usd_in_cents(services: Services, budget: object, minor: int) -> None:
    await setup_guild(services, currency="USD")
    job = await post(services, budget=budget)
    assert (job.budget, job.currency) == (minor, "USD")


REFUSED_POSTS: list[tuple[str, dict[str, Any], type[Exception], str]] = [
    ("empty title", {"title": ""}, InvalidInput, "error.text.required"),
    ("blank title", {"title": "   "}, InvalidInput, "error.text.required"),
    ("long title", {"title": "x" * (LIMITS["title"] + 1)}, InvalidInput, "error.text.too_long"),
    ("empty description", {"description": ""}, InvalidInput, "error.text.required"),
    ("long description", {"description": "x" * (LIMITS["description"] + 1)}, InvalidInput, "error.text.too_long"),
    ("long category", {"category": "x" * (LIMITS["category"] + 1)}, InvalidInput, "error.text.too_long"),
    ("budget 0", {"budget": 0}, InvalidInput, "error.money.not_positive"),
    ("budget negative", {"budget": -500}, InvalidInput, "error.money.not_positive"),
    ("budget decimals JPY", {"budget": "100.5"}, InvalidInput, "error.money.decimals"),
    ("budget decimals JPY float", {"budget": 0.5}, InvalidInput, "error.money.decimals"),
    ("budget garbage", {"budget": "lots"}, InvalidInput, "error.money.decimals"),
    ("budget nan", {"budget": "NaN"}, InvalidInput, "error.money.decimals"),
    ("budget infinite", {"budget": float("inf")}, InvalidInput, "error.money.decimals"),
    ("over max_budget", {"budget": 10_000_001}, InvalidInput, "error.money.too_large"),
    ("deadline yesterday", {"deadline": "2026-01-04"}, InvalidInput, "error.deadline.invalid"),
    ("deadline today", {"deadline": "2026-01-05"}, InvalidInput, "error.deadline.invalid"),
    ("deadline garbage", {"deadline": "soon"}, InvalidInput, "error.deadline.invalid"),
    ("deadline bad date", {"deadline": "2026-02-30"}, InvalidInput, "error.deadline.invalid"),
    ("deadline 0 days", {"deadline": "0d"}, InvalidInput, "error.deadline.invalid"),
    ("deadline too far", {"deadline": "366d"}, InvalidInput, "error.deadline.invalid"),
    ("deadline empty", {"deadline": ""}, InvalidInput, "error.deadline.invalid"),
    ("positions 0", {"positions": 0}, InvalidInput, "error.job.positions"),
    ("positions negative", {"positions": -1}, InvalidInput, "error.job.positions"),
    ("positions too many", {"positions": MAX_POSITIONS + 1}, InvalidInput, "error.job.positions"),
]


@pytest.mark.parametrize(("overrides", "error", "key"), [r[1:] for r in REFUSED_POSTS],
                         ids=[r[0] for r in REFUSED_POSTS])
async def test_bad_post_is_refused_and_changes_nothing(
    services: Services, guild: Guild, overrides: dict[str, Any], error: type[Exception], key: str
) -> None:
    before = await snapshot(services)
    with pytest.raises(error) as refused:
        await post(services, **overrides)
    assert refused.value.key == key  # type: ignore[attr-defined]
    assert await snapshot(services) == before


@pytest.mark.parametrize(
    ("budget", "key"),
    [
        ("12.505", "error.money.decimals"),
        (Decimal("0.001"), "error.money.decimals"),
        ("0.00", "error.money.not_positive"),
        ("-1.00", "error.money.not_positive"),
        ("10000000.01", "error.money.too_large"),
    ],
)
async def test_bad_usd_budget_is_refused_and_changes_nothing(services: Services, budget: object, key: str) -> None:
    await setup_guild(services, currency="USD")
    before = await snapshot(services)
    with pytest.raises(InvalidInput) as refused:
        await post(services, budget=budget)
    assert refused.value.key == key
    if key == "error.money.decimals":
        assert refused.value.args_map["decimals"] == 2
    assert await snapshot(services) == before


async def test_max_budget_is_a_guild_policy(services: Services, guild: Guild) -> None:
    await services.guilds.set_policy(GUILD_ID, "max_budget", "1000", actor_id=MODERATOR)
    assert (await post(services, budget=1000)).budget == 1000
    with pytest.raises(InvalidInput) as refused:
        await post(services, client_id=WORKER, budget=1001)
    assert refused.value.key == "error.money.too_large"


async def test_post_in_a_guild_not_set_up(services: Services) -> None:
    with pytest.raises(NotConfigured) as refused:
        await post(services)
    assert refused.value.key == "error.not_configured"
    assert await count(services, "jobs") == 0
    assert await count(services, "outbox") == 0


async def test_post_cooldown_says_when_to_retry(services: Services, guild: Guild, clock: FakeClock) -> None:
    first = await post(services)
    clock.advance(seconds=30)
    before = await snapshot(services)
    with pytest.raises(CooldownActive) as refused:
        await post(services, title="Second")
    assert refused.value.key == "error.cooldown"
    assert refused.value.args_map["retry_at"] == to_iso(first.created_at + timedelta(minutes=1))
    assert await snapshot(services) == before
    # another client is not affected
    await post(services, client_id=WORKER)
    clock.advance(seconds=30)
    assert (await post(services, title="Second")).title == "Second"


async def test_post_cooldown_off(services: Services, guild: Guild) -> None:
    await services.guilds.set_policy(GUILD_ID, "post_cooldown", "0s", actor_id=MODERATOR)
    await post(services)
    await post(services)
    assert await count(services, "jobs") == 2


async def test_max_open_jobs(services: Services, guild: Guild) -> None:
    await no_cooldowns(services)
    await services.guilds.set_policy(GUILD_ID, "max_open_jobs", "2", actor_id=MODERATOR)
    first = await post(services)
    await post(services)
    before = await snapshot(services)
    with pytest.raises(LimitReached) as refused:
        await post(services)
    assert refused.value.key == "error.job.too_many_open"
    assert refused.value.args_map == {"limit": 2}
    assert await snapshot(services) == before
    # a closed job no longer counts
    await services.jobs.close(GUILD_ID, first.id, actor_id=CLIENT)
    await post(services)
    assert await count(services, "jobs", "status = 'open'") == 2


# -- get / search -----------------------------------------------------------------


async def test_get_refuses_an_unknown_job_and_another_guilds_job(services: Services, guild: Guild) -> None:
    job = await post_job(services)
    with pytest.raises(NotFound) as refused:
        await services.jobs.get(GUILD_ID, job.id + 1)
    assert refused.value.key == "error.job.not_found"
    with pytest.raises(NotFound):
        await services.jobs.get(GUILD_ID + 1, job.id)


async def test_search_by_category_query_and_mine(services: Services, guild: Guild) -> None:
    await no_cooldowns(services)
    logo = await post(services, title="Logo design", category="Design")
    site = await post(services, title="Web site", description="Landing page with a logo", category="Web")
    translate = await post(services, client_id=WORKER2, title="Translate a menu", description="Into English.",
                           category="design")
    closed = await post(services, title="Old logo", category="Design")
    await services.jobs.close(GUILD_ID, closed.id, actor_id=CLIENT)

    def ids(page: Any) -> list[int]:
        return [j.id for j in page.jobs]

    everything = await services.jobs.search(GUILD_ID)
    assert ids(everything) == [translate.id, site.id, logo.id]  # open only, newest first
    assert everything.total == 3
    assert ids(await services.jobs.search(GUILD_ID, category="DESIGN")) == [translate.id, logo.id]
    assert ids(await services.jobs.search(GUILD_ID, query="logo")) == [site.id, logo.id]  # title or description
    assert ids(await services.jobs.search(GUILD_ID, query="  LOGO   landing ")) == [site.id]  # every word
    assert ids(await services.jobs.search(GUILD_ID, query="   ")) == ids(everything)
    assert ids(await services.jobs.search(GUILD_ID, query="%")) == []  # LIKE wildcards are literal
    assert ids(await services.jobs.search(GUILD_ID, query="_")) == []
    assert ids(await services.jobs.search(GUILD_ID, category="Design", query="menu")) == [translate.id]
    mine = await services.jobs.search(GUILD_ID, client_id=CLIENT)
    assert ids(mine) == [closed.id, site.id, logo.id]  # mine includes closed ones
    assert ids(await services.jobs.search(GUILD_ID, include_closed=True)) == [closed.id, translate.id, site.id,
                                                                              logo.id]
    assert {c.lower() for c in await services.jobs.categories(GUILD_ID)} == {"design", "web"}
    await setup_guild(services, GUILD_ID + 1)
    assert (await services.jobs.search(GUILD_ID + 1)).total == 0


async def test_search_pages(services: Services, guild: Guild) -> None:
    await no_cooldowns(services)
    posted = [await post(services, client_id=CLIENT + (i % 3) * 100, title=f"Job {i}") for i in range(PAGE_SIZE + 2)]
    newest_first = [j.id for j in reversed(posted)]
    first = await services.jobs.search(GUILD_ID)
    assert (first.total, first.page, first.pages) == (PAGE_SIZE + 2, 1, 2)
    assert [j.id for j in first.jobs] == newest_first[:PAGE_SIZE]
    second = await services.jobs.search(GUILD_ID, page=2)
    assert [j.id for j in second.jobs] == newest_first[PAGE_SIZE:]
    assert (await services.jobs.search(GUILD_ID, page=3)).jobs == []
    assert (await services.jobs.search(GUILD_ID, page=0)).page == 1
    empty = await services.jobs.search(GUILD_ID, query="nothing matches")
    assert (empty.total, empty.pages, empty.jobs) == (0, 1, [])


async def test_search_in_a_guild_not_set_up(services: Services) -> None:
    with pytest.raises(NotConfigured):
        await services.jobs.search(GUILD_ID)


# -- close ------------------------------------------------------------------------


async def test_client_closes_the_job(services: Services, guild: Guild, clock: FakeClock) -> None:
    job = await post_job(services)
    clock.advance(hours=1)
    closed = await services.jobs.close(GUILD_ID, job.id, actor_id=CLIENT)
    assert closed.status == JobStatus.CLOSED
    assert (closed.closed_at, closed.closed_by) == (clock.now(), CLIENT)
    (event,) = await events(services, "job.closed")
    assert (event["actor_id"], event["data"]) == (CLIENT, {"by": "client"})
    assert len(await outbox(services, target="board", message_key="board.job")) == 2  # posted, closed


async def test_moderator_closes_the_job(services: Services, guild: Guild) -> None:
    job = await post_job(services)
    closed = await services.jobs.close(GUILD_ID, job.id, actor_id=MODERATOR, is_moderator=True)
    assert (closed.status, closed.closed_by) == (JobStatus.CLOSED, MODERATOR)
    (event,) = await events(services, "job.closed")
    assert event["data"] == {"by": "moderator"}


async def test_outsider_and_applicant_cannot_close(services: Services, guild: Guild) -> None:
    job = await post_job(services)
    await apply(services, job)
    before = await snapshot(services)
    for actor in (OUTSIDER, WORKER):
        with pytest.raises(NotAllowed) as refused:
            await services.jobs.close(GUILD_ID, job.id, actor_id=actor)
        assert refused.value.key == "error.job.not_client"
    assert await snapshot(services) == before


async def test_second_close_is_refused(services: Services, guild: Guild) -> None:
    job = await post_job(services)
    await services.jobs.close(GUILD_ID, job.id, actor_id=CLIENT)
    before = await snapshot(services)
    for actor, moderator in ((CLIENT, False), (MODERATOR, True)):
        with pytest.raises(WrongState) as refused:
            await services.jobs.close(GUILD_ID, job.id, actor_id=actor, is_moderator=moderator)
        assert refused.value.key == "error.job.state"
    assert await snapshot(services) == before


async def test_close_unknown_job(services: Services, guild: Guild) -> None:
    with pytest.raises(NotFound):
        await services.jobs.close(GUILD_ID, 999, actor_id=CLIENT)


async def test_close_rejects_pending_applications_and_tells_them(services: Services, guild: Guild) -> None:
    job = await post_job(services)
    await apply(services, job, WORKER)
    await apply(services, job, WORKER2)
    await apply(services, job, OUTSIDER)
    await services.jobs.withdraw_application(GUILD_ID, job.id, OUTSIDER)
    await services.jobs.close(GUILD_ID, job.id, actor_id=CLIENT)
    statuses = {a.worker_id: a.status for a in await services.jobs.applications(GUILD_ID, job.id, actor_id=CLIENT)}
    assert statuses == {WORKER: "rejected", WORKER2: "rejected", OUTSIDER: "withdrawn"}
    told = await outbox(services, message_key="notify.job_closed_applicant")
    assert sorted(row["recipient_id"] for row in told) == [WORKER, WORKER2]
    assert all(row["target"] == "dm" and row["args"] == {"job_id": job.id, "title": job.title} for row in told)


async def test_close_a_filled_job(services: Services, guild: Guild) -> None:
    offer = await offered_contract(services)
    await services.contracts.accept(GUILD_ID, offer.id, actor_id=WORKER)
    assert (await services.jobs.get(GUILD_ID, offer.job_id)).status == JobStatus.FILLED
    closed = await services.jobs.close(GUILD_ID, offer.job_id, actor_id=CLIENT)
    assert closed.status == JobStatus.CLOSED
    contract = await services.contracts.get(offer.id)
    assert contract is not None and contract.status == "awaiting_funding"  # the hire goes on


# -- applications -------------------------------------------------------------------


async def test_apply_stores_the_application_and_tells_the_client(
    services: Services, guild: Guild, clock: FakeClock
) -> None:
    job = await post_job(services)
    application = await services.jobs.apply(GUILD_ID, job.id, WORKER, proposal="  I can do it.  ", price=45000,
                                            days=5)
    assert (application.job_id, application.worker_id, application.proposal) == (job.id, WORKER, "I can do it.")
    assert (application.price, application.days, application.status) == (45000, 5, ApplicationStatus.PENDING)
    assert application.created_at == clock.now()
    assert await services.jobs.application_of(GUILD_ID, job.id, WORKER) == application
    (dm,) = await outbox(services, message_key="notify.application_received")
    assert (dm["target"], dm["recipient_id"], dm["job_id"]) == ("dm", CLIENT, job.id)
    assert dm["args"] == {"job_id": job.id, "title": job.title, "worker_id": WORKER, "price_amount": 45000,
                          "currency": "JPY"}
    (event,) = await events(services, "application.submitted")
    assert (event["actor_id"], event["data"]) == (WORKER, {"application_id": application.id, "price": 45000})


async def test_apply_price_in_usd_cents(services: Services) -> None:
    await setup_guild(services, currency="USD")
    job = await post_job(services, budget="100.00")
    application = await services.jobs.apply(GUILD_ID, job.id, WORKER, proposal="Hi", price="99.99")
    assert application.price == 9999
    with pytest.raises(InvalidInput) as refused:
        await services.jobs.apply(GUILD_ID, job.id, WORKER2, proposal="Hi", price="9.999")
    assert refused.value.key == "error.money.decimals"


REFUSED_APPLICATIONS: list[tuple[str, dict[str, Any], str]] = [
    ("empty proposal", {"proposal": " "}, "error.text.required"),
    ("long proposal", {"proposal": "x" * (LIMITS["proposal"] + 1)}, "error.text.too_long"),
    ("price 0", {"price": 0}, "error.money.not_positive"),
    ("price negative", {"price": -1}, "error.money.not_positive"),
    ("price decimals", {"price": "1.5"}, "error.money.decimals"),
    ("price over max", {"price": 10_000_001}, "error.money.too_large"),
    ("days 0", {"days": 0}, "error.application.days"),
    ("days too many", {"days": 366}, "error.application.days"),
]


@pytest.mark.parametrize(("overrides", "key"), [r[1:] for r in REFUSED_APPLICATIONS],
                         ids=[r[0] for r in REFUSED_APPLICATIONS])
async def test_bad_application_is_refused_and_changes_nothing(
    services: Services, guild: Guild, overrides: dict[str, Any], key: str
) -> None:
    job = await post_job(services)
    before = await snapshot(services)
    with pytest.raises(InvalidInput) as refused:
        await services.jobs.apply(GUILD_ID, job.id, WORKER, **{"proposal": "Hi", "price": 100, **overrides})
    assert refused.value.key == key
    assert await snapshot(services) == before


async def test_apply_to_own_job_is_refused(services: Services, guild: Guild) -> None:
    job = await post_job(services)
    before = await snapshot(services)
    with pytest.raises(NotAllowed) as refused:
        await services.jobs.apply(GUILD_ID, job.id, CLIENT, proposal="me", price=100)
    assert refused.value.key == "error.application.own_job"
    assert await snapshot(services) == before


async def test_apply_to_unknown_job_or_another_guilds_job(services: Services, guild: Guild) -> None:
    job = await post_job(services)
    await setup_guild(services, GUILD_ID + 1)
    for guild_id, job_id in ((GUILD_ID, job.id + 1), (GUILD_ID + 1, job.id)):
        with pytest.raises(NotFound) as refused:
            await services.jobs.apply(guild_id, job_id, WORKER, proposal="Hi", price=100)
        assert refused.value.key == "error.job.not_found"
    assert await count(services, "applications") == 0


async def test_apply_twice_is_refused(services: Services, guild: Guild, clock: FakeClock) -> None:
    job = await post_job(services)
    await apply(services, job)
    clock.advance(hours=1)  # well past the cooldown
    before = await snapshot(services)
    with pytest.raises(InvalidInput) as refused:
        await services.jobs.apply(GUILD_ID, job.id, WORKER, proposal="again", price=100)
    assert refused.value.key == "error.application.already_applied"
    assert await snapshot(services) == before
    # also after withdrawing: one application per worker and job
    await services.jobs.withdraw_application(GUILD_ID, job.id, WORKER)
    with pytest.raises(InvalidInput):
        await services.jobs.apply(GUILD_ID, job.id, WORKER, proposal="again", price=100)


async def test_apply_to_a_closed_or_filled_job_is_refused(services: Services, guild: Guild) -> None:
    closed = await post_job(services)
    await services.jobs.close(GUILD_ID, closed.id, actor_id=CLIENT)
    filled = (await offered_contract(services)).job_id
    await services.contracts.accept(GUILD_ID, (await services.contracts.list_for(GUILD_ID, WORKER))[0].id,
                                    actor_id=WORKER)
    assert (await services.jobs.get(GUILD_ID, filled)).status == JobStatus.FILLED
    before = await snapshot(services)
    for job_id in (closed.id, filled):
        with pytest.raises(InvalidInput) as refused:
            await services.jobs.apply(GUILD_ID, job_id, WORKER2, proposal="late", price=100)
        assert refused.value.key == "error.application.job_not_open"
    assert await snapshot(services) == before


async def test_apply_cooldown(services: Services, guild: Guild, clock: FakeClock) -> None:
    await no_cooldowns(services)
    await services.guilds.set_policy(GUILD_ID, "apply_cooldown", "30s", actor_id=MODERATOR)
    first_job = await post_job(services)
    second_job = await post_job(services, client_id=WORKER2)
    first = await apply(services, first_job)
    clock.advance(seconds=10)
    before = await snapshot(services)
    with pytest.raises(CooldownActive) as refused:
        await services.jobs.apply(GUILD_ID, second_job.id, WORKER, proposal="Hi", price=100)
    assert refused.value.key == "error.cooldown"
    assert refused.value.args_map["retry_at"] == to_iso(first.created_at + timedelta(seconds=30))
    assert await snapshot(services) == before
    await services.jobs.apply(GUILD_ID, second_job.id, OUTSIDER, proposal="Hi", price=100)  # others may
    clock.advance(seconds=20)
    assert (await services.jobs.apply(GUILD_ID, second_job.id, WORKER, proposal="Hi", price=100)).status == "pending"


async def test_max_open_applications(services: Services, guild: Guild) -> None:
    await no_cooldowns(services)
    await services.guilds.set_policy(GUILD_ID, "max_open_applications", "2", actor_id=MODERATOR)
    jobs = [await post_job(services, client_id=CLIENT + 1000 * i) for i in range(4)]
    await apply(services, jobs[0])
    await apply(services, jobs[1])
    before = await snapshot(services)
    with pytest.raises(LimitReached) as refused:
        await services.jobs.apply(GUILD_ID, jobs[2].id, WORKER, proposal="Hi", price=100)
    assert refused.value.key == "error.application.too_many_open"
    assert refused.value.args_map == {"limit": 2}
    assert await snapshot(services) == before
    # an offered application still counts; a withdrawn or rejected one does not
    await services.contracts.offer(GUILD_ID, jobs[0].client_id, jobs[0].id, WORKER)
    with pytest.raises(LimitReached):
        await services.jobs.apply(GUILD_ID, jobs[2].id, WORKER, proposal="Hi", price=100)
    await services.jobs.withdraw_application(GUILD_ID, jobs[1].id, WORKER)
    await apply(services, jobs[2])
    application = await services.jobs.application_of(GUILD_ID, jobs[2].id, WORKER)
    assert application is not None
    await services.jobs.reject_application(GUILD_ID, application.id, actor_id=jobs[2].client_id)
    await apply(services, jobs[3])


async def test_withdraw(services: Services, guild: Guild, clock: FakeClock) -> None:
    job = await post_job(services)
    await apply(services, job)
    clock.advance(minutes=5)
    withdrawn = await services.jobs.withdraw_application(GUILD_ID, job.id, WORKER)
    assert withdrawn.status == ApplicationStatus.WITHDRAWN
    assert withdrawn.updated_at == clock.now()
    (dm,) = await outbox(services, message_key="notify.application_withdrawn")
    assert (dm["recipient_id"], dm["args"]["worker_id"]) == (CLIENT, WORKER)
    assert [e["actor_id"] for e in await events(services, "application.withdrawn")] == [WORKER]
    before = await snapshot(services)
    with pytest.raises(WrongState) as refused:
        await services.jobs.withdraw_application(GUILD_ID, job.id, WORKER)
    assert refused.value.key == "error.application.state"
    with pytest.raises(NotFound) as missing:
        await services.jobs.withdraw_application(GUILD_ID, job.id, WORKER2)
    assert missing.value.key == "error.application.not_found"
    assert await snapshot(services) == before


async def test_withdraw_refused_once_offered(services: Services, guild: Guild) -> None:
    offer = await offered_contract(services)
    with pytest.raises(WrongState):
        await services.jobs.withdraw_application(GUILD_ID, offer.job_id, WORKER)


async def test_reject(services: Services, guild: Guild) -> None:
    job = await post_job(services)
    application = await apply(services, job)
    for actor in (WORKER, OUTSIDER, MODERATOR):
        with pytest.raises(NotAllowed) as refused:
            await services.jobs.reject_application(GUILD_ID, application.id, actor_id=actor)
        assert refused.value.key == "error.job.not_client"
    rejected = await services.jobs.reject_application(GUILD_ID, application.id, actor_id=CLIENT)
    assert rejected.status == ApplicationStatus.REJECTED
    (dm,) = await outbox(services, message_key="notify.application_rejected")
    assert (dm["recipient_id"], dm["args"]) == (WORKER, {"job_id": job.id, "title": job.title})
    before = await snapshot(services)
    with pytest.raises(WrongState) as again:
        await services.jobs.reject_application(GUILD_ID, application.id, actor_id=CLIENT)
    assert again.value.key == "error.application.state"
    with pytest.raises(NotFound):
        await services.jobs.reject_application(GUILD_ID + 1, application.id, actor_id=CLIENT)
    with pytest.raises(NotFound):
        await services.jobs.reject_application(GUILD_ID, application.id + 1, actor_id=CLIENT)
    assert await snapshot(services) == before


async def test_applications_are_the_clients_and_moderators_view(services: Services, guild: Guild) -> None:
    job = await post_job(services)
    first = await apply(services, job, WORKER)
    second = await apply(services, job, WORKER2)
    assert await services.jobs.applications(GUILD_ID, job.id, actor_id=CLIENT) == [first, second]
    assert await services.jobs.applications(GUILD_ID, job.id, actor_id=MODERATOR, is_moderator=True) == [first,
                                                                                                         second]
    with pytest.raises(NotAllowed):
        await services.jobs.applications(GUILD_ID, job.id, actor_id=WORKER)


# -- autocomplete ------------------------------------------------------------------------


async def test_suggest_lists_the_jobs_each_user_may_act_on(services: Services, guild: Guild) -> None:
    await no_cooldowns(services)
    applied = await post(services, title="Applied to")
    await apply(services, applied)
    fresh = await post(services, title="Nobody applied")
    closed = await post(services, title="Closed")
    await apply(services, closed, OUTSIDER)
    await services.jobs.close(GUILD_ID, closed.id, actor_id=CLIENT)
    moderators = await post(services, MODERATOR, title="The moderator's")
    workers = await post(services, WORKER, title="The worker's")

    async def ids(user_id: int, purpose: str, *, is_moderator: bool = False) -> list[int]:
        found = await services.jobs.suggest(GUILD_ID, user_id, "", purpose=purpose, is_moderator=is_moderator)
        return [job.id for job in found]

    # apply: open, someone else's, not applied to yet
    assert await ids(WORKER, "apply") == [moderators.id, fresh.id]
    # offer: the client's open jobs with a pending application
    assert await ids(CLIENT, "offer") == [applied.id]
    assert await ids(OUTSIDER, "offer") == []
    # close: the user's own; a moderator's own first, then every other open job
    assert await ids(CLIENT, "close") == [fresh.id, applied.id]
    assert await ids(MODERATOR, "close") == [moderators.id]
    assert await ids(MODERATOR, "close", is_moderator=True) == [moderators.id, workers.id, fresh.id, applied.id]


# -- races ------------------------------------------------------------------------------


async def test_two_concurrent_applications_by_one_worker_exactly_one_wins(services: Services, guild: Guild) -> None:
    await no_cooldowns(services)
    job = await post_job(services)
    results = await asyncio.gather(
        services.jobs.apply(GUILD_ID, job.id, WORKER, proposal="one", price=100),
        services.jobs.apply(GUILD_ID, job.id, WORKER, proposal="two", price=200),
        return_exceptions=True,
    )
    lost = [r for r in results if isinstance(r, BaseException)]
    assert len(lost) == 1 and isinstance(lost[0], InvalidInput)
    assert lost[0].key == "error.application.already_applied"
    assert await count(services, "applications") == 1
    assert len(await outbox(services, message_key="notify.application_received")) == 1


async def test_two_concurrent_posts_by_one_client_respect_the_cooldown(services: Services, guild: Guild) -> None:
    results = await asyncio.gather(post(services, title="one"), post(services, title="two"), return_exceptions=True)
    lost = [r for r in results if isinstance(r, BaseException)]
    assert len(lost) == 1 and isinstance(lost[0], CooldownActive)
    assert await count(services, "jobs") == 1


async def test_concurrent_close_exactly_one_wins(services: Services, guild: Guild) -> None:
    job = await post_job(services)
    await apply(services, job)
    results = await asyncio.gather(
        services.jobs.close(GUILD_ID, job.id, actor_id=CLIENT),
        services.jobs.close(GUILD_ID, job.id, actor_id=MODERATOR, is_moderator=True),
        return_exceptions=True,
    )
    lost = [r for r in results if isinstance(r, BaseException)]
    assert len(lost) == 1 and isinstance(lost[0], WrongState)
    assert len(await events(services, "job.closed")) == 1
    assert len(await outbox(services, message_key="notify.job_closed_applicant")) == 1
