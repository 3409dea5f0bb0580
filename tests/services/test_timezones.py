"""Deadline dates typed as ``YYYY-MM-DD`` mean the end of that day in the typist's time zone:
their profile's (``/profile edit timezone``), else the guild's default from its language."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

import pytest

from bot.clock import FakeClock
from bot.errors import InvalidInput
from bot.models.entities import Guild
from bot.models.timeutil import end_of_day
from bot.services.container import Services
from tests.ids import CLIENT, GUILD_ID, MODERATOR, SETUP_ACTOR, WORKER
from tests.services.helpers import (
    funded_contract,
    hired_contract,
    offered_contract,
    post_job,
    reload,
    setup_guild,
    snapshot,
)

TOKYO_END_OF_FEB_1 = datetime(2026, 2, 1, 14, 59, 59, tzinfo=UTC)  # 23:59:59 JST


async def japanese_guild(services: Services) -> None:
    guild = await setup_guild(services)
    await services.guilds.setup(GUILD_ID, actor_id=SETUP_ACTOR, jobs_channel_id=guild.jobs_channel_id,
                                mod_channel_id=guild.mod_channel_id, moderator_role_id=guild.moderator_role_id,
                                contracts_channel_id=guild.contracts_channel_id, locale="ja")


async def test_an_english_guild_reads_dates_in_utc(services: Services, guild: Guild) -> None:
    job = await post_job(services, deadline="2026-02-01")
    assert (job.deadline_date, job.deadline_tz) == ("2026-02-01", "UTC")
    assert end_of_day(date(2026, 2, 1), job.deadline_tz) == datetime(2026, 2, 1, 23, 59, 59, tzinfo=UTC)


async def test_a_japanese_guild_reads_dates_in_tokyo_time(services: Services) -> None:
    await japanese_guild(services)
    job = await post_job(services, deadline="2026-02-01")
    assert job.deadline_tz == "Asia/Tokyo"
    contract = await funded_contract(services, job=job)  # funded at once: no delay to make up
    assert contract.due_at == TOKYO_END_OF_FEB_1


async def test_the_profile_time_zone_wins(services: Services, guild: Guild) -> None:
    await japanese_guild(services)
    assert await services.profiles.set_timezone(GUILD_ID, CLIENT, " america/new_york ") == "America/New_York"
    profile = await services.profiles.get(GUILD_ID, CLIENT)
    assert profile is not None and profile.timezone == "America/New_York"
    contract = await funded_contract(services, deadline="2026-02-01")
    assert contract.due_at == datetime(2026, 2, 2, 4, 59, 59, tzinfo=UTC)  # 23:59:59 in New York


@pytest.mark.parametrize("name", ["Tokyo", "Mars/Olympus", "", "UTC+9"])
async def test_an_unknown_time_zone_is_refused(services: Services, guild: Guild, name: str) -> None:
    before = await snapshot(services)
    with pytest.raises(InvalidInput) as refused:
        await services.profiles.set_timezone(GUILD_ID, CLIENT, name)
    assert refused.value.key == "error.profile.timezone"
    assert await snapshot(services) == before


async def test_today_is_the_users_today(services: Services, clock: FakeClock) -> None:
    """At 20:00 UTC it is already the next day in Tokyo: that day is not in the future there."""
    await japanese_guild(services)
    clock.set(datetime(2026, 1, 5, 20, 0, tzinfo=UTC))
    with pytest.raises(InvalidInput) as refused:
        await services.jobs.post(GUILD_ID, CLIENT, title="Logo", description="A logo", budget=50000,
                                 deadline="2026-01-06")
    assert refused.value.key == "error.deadline.invalid"
    await services.profiles.set_timezone(GUILD_ID, CLIENT, "UTC")
    job = await services.jobs.post(GUILD_ID, CLIENT, title="Logo", description="A logo", budget=50000,
                                   deadline="2026-01-06")
    assert job.deadline_tz == "UTC"


async def test_an_offer_date_still_moves_by_the_funding_delay(services: Services, clock: FakeClock) -> None:
    await japanese_guild(services)
    contract = await hired_contract(services, deadline="2026-02-01")
    clock.advance(days=2)  # the client funds two days late
    await services.escrow.deposit(GUILD_ID, contract.id, actor_id=CLIENT)
    await services.escrow.confirm(GUILD_ID, contract.id, moderator_id=MODERATOR)
    assert (await reload(services, contract.id)).due_at == TOKYO_END_OF_FEB_1 + timedelta(days=2)


async def test_an_amendment_date_on_a_funded_contract_is_taken_as_given(services: Services,
                                                                        clock: FakeClock) -> None:
    await japanese_guild(services)
    contract = await hired_contract(services, deadline="7d")
    clock.advance(days=2)
    await services.escrow.deposit(GUILD_ID, contract.id, actor_id=CLIENT)
    await services.escrow.confirm(GUILD_ID, contract.id, moderator_id=MODERATOR)
    amendment = await services.contracts.propose_amendment(GUILD_ID, contract.id, actor_id=WORKER, reason="more",
                                                           deadline="2026-02-01")
    assert amendment.deadline_tz == "Asia/Tokyo"
    await services.contracts.answer_amendment(GUILD_ID, amendment.id, actor_id=CLIENT, accept=True)
    assert (await reload(services, contract.id)).due_at == TOKYO_END_OF_FEB_1


async def test_an_offer_keeps_the_jobs_zone(services: Services) -> None:
    await japanese_guild(services)
    contract = await offered_contract(services)
    view = await services.contracts.view(GUILD_ID, contract.id, viewer_id=CLIENT)
    assert view.terms.deadline_tz is None  # "7d" is not a date: no zone
    job = await post_job(services, deadline="2026-02-01")
    dated = await offered_contract(services, job=job)
    view = await services.contracts.view(GUILD_ID, dated.id, viewer_id=CLIENT)
    assert (view.terms.deadline_date, view.terms.deadline_tz) == ("2026-02-01", "Asia/Tokyo")
