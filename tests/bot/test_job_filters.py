"""/job list's new options: min_budget, max_budget, max_days, sort (through SimCord)."""

from __future__ import annotations

import pytest
import simcord

from bot.i18n import t
from tests.bot.conftest import Market
from tests.bot.helpers import post


async def no_cooldowns(market: Market) -> None:
    await market.services.guilds.set_policy(market.guild.id, "post_cooldown", "0s", actor_id=market.admin.id)


def listed(result: simcord.InteractionResult) -> list[str]:
    assert result.response is not None and result.ephemeral, result
    return [line.split("`")[1] for line in (result.response.embeds[0].description or "").splitlines()]


async def test_list_by_budget_and_delivery_time_in_each_order(setup_market: Market) -> None:
    market = setup_market
    await no_cooldowns(market)
    cheap = await post(market, title="Cheap", budget=5000, deadline="3d")
    dear = await post(market, title="Dear", budget=90000, deadline="30d")
    middle = await post(market, title="Middle", budget=45000, deadline="14d")

    async def run(**options: object) -> list[str]:
        return listed(await market.worker.slash(market.general, "job list", **options))

    assert await run() == [f"#{middle}", f"#{dear}", f"#{cheap}"]
    assert await run(min_budget=10000, max_budget=50000) == [f"#{middle}"]
    assert await run(max_days=14) == [f"#{middle}", f"#{cheap}"]
    assert await run(sort="budget") == [f"#{dear}", f"#{middle}", f"#{cheap}"]
    assert await run(sort="deadline") == [f"#{cheap}", f"#{middle}", f"#{dear}"]
    assert await run(sort="deadline", min_budget=40000) == [f"#{middle}", f"#{dear}"]
    with pytest.raises(simcord.OptionError):
        await run(max_days=0)
    with pytest.raises(simcord.OptionError):
        await run(min_budget=-1)


async def test_filters_carry_over_to_the_next_page(setup_market: Market) -> None:
    market = setup_market
    await no_cooldowns(market)
    for n in range(12):
        await post(market, title=f"Job {n}", budget=1000 * (n + 1))
    first = await market.worker.slash(market.general, "job list", min_budget=2000, sort="budget")
    assert first.response is not None
    assert first.response.embeds[0].title == t("en", "ui.job.list_title", page=1, pages=2, total=11)
    after = await market.worker.click(first.response.message, custom_id="job_list:next")
    assert after.response is not None
    assert (after.response.embeds[0].description or "").count("\n") == 0  # one job left: the ¥2,000 one
    assert "¥2,000" in (after.response.embeds[0].description or "")


async def test_a_reversed_range_and_no_match_are_answered_in_both_languages(setup_market: Market) -> None:
    market = setup_market
    await post(market, budget=45000)
    result = await market.worker.slash(market.general, "job list", min_budget=50000, max_budget=1000)
    market.assert_refused(result, "job_list.budget_range", min_amount=50000, max_amount=1000, currency="JPY")
    result = await market.worker.slash(market.general, "job list", min_budget=50000)
    simcord.assert_responded(result, content=t("en", "job_list.empty_filtered"), ephemeral=True)

    market.set_locale(market.worker, "ja")
    result = await market.worker.slash(market.general, "job list", min_budget=50000, max_budget=1000)
    market.assert_refused(result, "job_list.budget_range", language="ja", min_amount=50000, max_amount=1000,
                          currency="JPY")  # fmt: skip
    assert "50,000円" in t("ja", "job_list.budget_range", min_amount="50,000円", max_amount="1,000円")
    result = await market.worker.slash(market.general, "job list", max_days=1)
    simcord.assert_responded(result, content=t("ja", "job_list.empty_filtered"), ephemeral=True)
