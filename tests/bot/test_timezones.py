"""``/profile edit timezone``: the zone a deadline typed as a date is read in."""

from __future__ import annotations

import simcord

from bot.i18n import t
from tests.bot.conftest import Market
from tests.bot.helpers import post


async def test_a_time_zone_is_set_and_used_for_a_posted_date(setup_market: Market) -> None:
    market = setup_market
    result = await market.client.slash(market.general, "profile edit", timezone="asia/tokyo")
    simcord.assert_responded(result, content=t("en", "ui.profile.timezone_set", zone="Asia/Tokyo"), ephemeral=True)
    profile = await market.services.profiles.get(market.guild.id, market.client.id)
    assert profile is not None and profile.timezone == "Asia/Tokyo"

    job_id = await post(market, deadline="2026-02-01")
    job = await market.services.jobs.get(market.guild.id, job_id)
    assert (job.deadline_date, job.deadline_tz) == ("2026-02-01", "Asia/Tokyo")


async def test_a_japanese_user_and_an_unknown_zone(setup_market: Market) -> None:
    market = setup_market
    market.set_locale(market.worker, "ja")
    result = await market.worker.slash(market.general, "profile edit", timezone="Europe/Berlin")
    simcord.assert_responded(result, content=t("ja", "ui.profile.timezone_set", zone="Europe/Berlin"), ephemeral=True)

    bad = await market.worker.slash(market.general, "profile edit", timezone="Tokyo")
    market.assert_refused(bad, "error.profile.timezone", "ja", value="Tokyo")
    profile = await market.services.profiles.get(market.guild.id, market.worker.id)
    assert profile is not None and profile.timezone == "Europe/Berlin"
