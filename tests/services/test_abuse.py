"""Abuse guards on real SQLite: dispute cooldown, category list, reports about moderators."""

from __future__ import annotations

import pytest

from bot.clock import FakeClock
from bot.errors import CooldownActive, InvalidInput, NotAllowed
from bot.models.entities import Guild
from bot.services.container import Services
from tests.ids import CLIENT, GUILD_ID, MODERATOR, OUTSIDER, WORKER
from tests.services.helpers import funded_contract, no_cooldowns, outbox, post_job, snapshot

# -- dispute_cooldown -----------------------------------------------------------------------------


async def test_a_second_dispute_waits_for_the_cooldown(services: Services, guild: Guild, clock: FakeClock) -> None:
    contract = await funded_contract(services, clock)
    case = await services.cases.dispute(GUILD_ID, contract.id, actor_id=WORKER, reason="Unreachable")
    await services.cases.act(GUILD_ID, case.id, moderator_id=MODERATOR, action="close", reason="Talk first.")
    before = await snapshot(services)

    clock.advance(minutes=9)
    with pytest.raises(CooldownActive):
        await services.cases.dispute(GUILD_ID, contract.id, actor_id=WORKER, reason="Again")
    assert await snapshot(services) == before

    clock.advance(minutes=1)
    await services.cases.dispute(GUILD_ID, contract.id, actor_id=WORKER, reason="Again")
    assert len(await services.cases.list(GUILD_ID)) == 1


async def test_the_dispute_cooldown_is_a_policy(services: Services, guild: Guild, clock: FakeClock) -> None:
    await services.guilds.set_policy(GUILD_ID, "dispute_cooldown", "0s", actor_id=MODERATOR)
    contract = await funded_contract(services, clock)
    case = await services.cases.dispute(GUILD_ID, contract.id, actor_id=WORKER, reason="Unreachable")
    await services.cases.act(GUILD_ID, case.id, moderator_id=MODERATOR, action="close", reason="Talk first.")
    await services.cases.dispute(GUILD_ID, contract.id, actor_id=WORKER, reason="Again")
    assert len(await services.cases.list(GUILD_ID)) == 1


# -- the category list ---------------------------------------------------------------------------


async def test_categories_are_cleaned_deduplicated_and_cleared(services: Services, guild: Guild) -> None:
    names = await services.guilds.set_categories(GUILD_ID, " Design ,design, ,Vid\u202eeo", actor_id=MODERATOR)
    assert names == ["Design", "Video"]
    assert await services.guilds.categories(GUILD_ID) == ["Design", "Video"]
    assert await services.guilds.set_categories(GUILD_ID, "-", actor_id=MODERATOR) == []
    assert await services.guilds.categories(GUILD_ID) == []


@pytest.mark.parametrize(
    ("text", "key"),
    [
        ("a" * 21, "error.abuse.category_too_long"),
        (",".join(f"c{n}" for n in range(21)), "error.abuse.too_many_categories"),
        (" , ,", "error.text.required"),
        ("\u200b", "error.abuse.invisible"),
    ],
)
async def test_bad_category_lists_are_refused(services: Services, guild: Guild, text: str, key: str) -> None:
    await services.guilds.set_categories(GUILD_ID, "Design", actor_id=MODERATOR)
    with pytest.raises(InvalidInput) as refused:
        await services.guilds.set_categories(GUILD_ID, text, actor_id=MODERATOR)
    assert refused.value.key == key
    assert await services.guilds.categories(GUILD_ID) == ["Design"]


async def test_a_job_takes_the_lists_spelling_or_is_refused(services: Services, guild: Guild) -> None:
    await no_cooldowns(services)
    assert (await post_job(services, category="free text")).category == "free text"  # no list: kept as text
    await services.guilds.set_categories(GUILD_ID, "Design", actor_id=MODERATOR)
    assert (await post_job(services, category="DESIGN")).category == "Design"
    with pytest.raises(InvalidInput) as refused:
        await post_job(services, category="crypto")
    assert refused.value.args_map == {"category": "crypto", "allowed": "Design"}


# -- reports about a moderator --------------------------------------------------------------------


async def test_a_report_about_a_moderator_is_routed_to_the_owner(services: Services, guild: Guild) -> None:
    case = await services.cases.report(GUILD_ID, reporter_id=OUTSIDER, user_id=MODERATOR, reason="Bribe", to_owner=True)

    rows = await outbox(services, message_key="case.card.report")
    assert [row["target"] for row in rows] == ["owner"]
    assert [c.id for c in await services.cases.list(GUILD_ID, viewer_id=MODERATOR)] == []
    assert [c.id for c in await services.cases.list(GUILD_ID, viewer_id=CLIENT)] == [case.id]
    with pytest.raises(NotAllowed):
        await services.cases.act(GUILD_ID, case.id, moderator_id=MODERATOR, action="close")


async def test_a_report_about_a_member_goes_to_the_mod_channel(services: Services, guild: Guild) -> None:
    await services.cases.report(GUILD_ID, reporter_id=OUTSIDER, user_id=WORKER, reason="Spam")
    assert [row["target"] for row in await outbox(services, message_key="case.card.report")] == ["mod"]
