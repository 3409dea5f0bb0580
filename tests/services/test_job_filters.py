"""/job list's filters and orders on a real database: budget range, delivery time, sort."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest

from bot.clock import FakeClock
from bot.errors import InvalidInput
from bot.models.entities import Guild
from bot.services.container import Services
from bot.services.jobs import JobPage
from tests.ids import GUILD_ID
from tests.services.helpers import no_cooldowns, post_job, setup_guild


def ids(page: JobPage) -> list[int]:
    return [job.id for job in page.jobs]


async def test_budget_range_delivery_time_and_sort(services: Services, guild: Guild, clock: FakeClock) -> None:
    await no_cooldowns(services)
    in_ten_days = (clock.now() + timedelta(days=10)).date().isoformat()
    cheap = await post_job(services, title="Cheap", budget=5000, deadline="3d")
    dear = await post_job(services, title="Dear", budget=90000, deadline="30d")
    dated = await post_job(services, title="Dated", budget=45000, deadline=in_ten_days)
    middle = await post_job(services, title="Middle", budget=45000, deadline="14d")

    async def search(**filters: Any) -> list[int]:
        return ids(await services.jobs.search(GUILD_ID, **filters))

    assert await search() == [middle.id, dated.id, dear.id, cheap.id]  # newest first
    assert await search(min_budget=45000) == [middle.id, dated.id, dear.id]  # bounds are inclusive
    assert await search(max_budget=45000) == [middle.id, dated.id, cheap.id]
    assert await search(min_budget=5000, max_budget=44999.5) == [cheap.id]  # rounded inward, never refused
    assert await search(min_budget=0, max_budget=10**30) == await search()  # beyond any budget
    assert await search(max_days=10) == [dated.id, cheap.id]  # a date 10 days away counts as 10 days
    assert await search(max_days=9) == [cheap.id]
    assert await search(sort="budget") == [dear.id, middle.id, dated.id, cheap.id]  # ties newest first
    assert await search(sort="deadline") == [cheap.id, dated.id, middle.id, dear.id]
    assert await search(sort="budget", max_days=14, query="d") == [middle.id, dated.id]
    # the next day the dated job is 9 days away
    clock.advance(timedelta(days=1))
    assert await search(max_days=9) == [dated.id, cheap.id]


async def test_filters_page_and_count(services: Services, guild: Guild) -> None:
    await no_cooldowns(services)
    for n in range(12):
        await post_job(services, title=f"Job {n}", budget=1000 * (n + 1))
    page = await services.jobs.search(GUILD_ID, min_budget=2000, sort="budget", page=2)
    assert (page.total, page.pages, page.page) == (11, 2, 2)
    assert [job.budget for job in page.jobs] == [2000]


async def test_budget_bounds_are_in_the_guilds_currency(services: Services, clock: FakeClock) -> None:
    await setup_guild(services, currency="USD")
    await no_cooldowns(services)
    job = await post_job(services, budget="12.50")
    assert ids(await services.jobs.search(GUILD_ID, min_budget=12.5, max_budget=12.5)) == [job.id]
    assert ids(await services.jobs.search(GUILD_ID, min_budget=12.501)) == []  # 12.51 and up
    assert ids(await services.jobs.search(GUILD_ID, max_budget=12.499)) == []  # up to 12.49


async def test_a_reversed_budget_range_is_refused(services: Services, guild: Guild) -> None:
    with pytest.raises(InvalidInput) as refused:
        await services.jobs.search(GUILD_ID, min_budget=50000, max_budget=1000)
    assert (refused.value.key, refused.value.args_map) == (
        "job_list.budget_range", {"min_amount": 50000, "max_amount": 1000, "currency": "JPY"},
    )  # fmt: skip
    with pytest.raises(ValueError, match="sort"):
        await services.jobs.search(GUILD_ID, sort="cheapest")


async def test_the_budget_filter_reads_an_index(services: Services, guild: Guild) -> None:
    async with services.jobs.db.read() as conn:
        plan = await conn.execute_fetchall(
            "EXPLAIN QUERY PLAN SELECT * FROM jobs WHERE guild_id = ? AND status = ? AND currency = ?"
            " AND budget >= ? ORDER BY budget DESC, id DESC",
            (GUILD_ID, "open", "JPY", 1000),
        )
    assert any("jobs_guild_status_budget" in str(row[-1]) for row in plan), plan
