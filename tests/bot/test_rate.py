"""/rate: once per party after the contract is settled; blind until both have rated."""

from __future__ import annotations

from datetime import timedelta

import pytest
import simcord

from bot.i18n import t
from tests.bot.conftest import Market
from tests.bot.helpers import active_contract, completed_contract, last_dm, reload


async def test_rate_the_worker(setup_market: Market) -> None:
    market = setup_market
    contract = await completed_contract(market)

    result = await market.client.slash(
        market.general, "rate", contract=contract.id, stars=4, comment="Quick and friendly."
    )

    simcord.assert_responded(
        result,
        content=t("en", "ui.rate.done", contract_id=contract.id, user=market.worker.mention, stars="★★★★☆"),
        ephemeral=True,
    )
    [rating] = await market.services.reputation.visible_ratings(
        market.guild.id, contract.id, viewer_id=market.client.id
    )
    assert (rating.rater_id, rating.ratee_id, rating.stars, rating.comment) == (
        market.client.id,
        market.worker.id,
        4,
        "Quick and friendly.",
    )
    # Blind: the worker is told they were rated, not how.
    assert last_dm(market, market.worker, "The other party has rated you").content == t(
        "en", "notify.rated_by_other", contract_id=contract.id
    )
    assert (
        await market.services.reputation.visible_ratings(market.guild.id, contract.id, viewer_id=market.worker.id) == []
    )


async def test_both_ratings_are_revealed_together(setup_market: Market) -> None:
    market = setup_market
    contract = await completed_contract(market)
    market.set_locale(market.worker, "ja")

    await market.client.slash(market.general, "rate", contract=contract.id, stars=5)
    result = await market.worker.slash(market.general, "rate", contract=contract.id, stars=3)

    simcord.assert_responded(
        result,
        content=t("ja", "ui.rate.done", contract_id=contract.id, user=market.client.mention, stars="★★★☆☆"),
        ephemeral=True,
    )
    revealed = t("en", "notify.ratings_revealed", contract_id=contract.id)
    assert market.dms(market.client)[-1].content == revealed
    assert (
        len(
            await market.services.reputation.visible_ratings(market.guild.id, contract.id, viewer_id=market.outsider.id)
        )
        == 2
    )


async def test_rating_twice_is_refused(setup_market: Market) -> None:
    market = setup_market
    contract = await completed_contract(market)
    await market.client.slash(market.general, "rate", contract=contract.id, stars=5)

    result = await market.client.slash(market.general, "rate", contract=contract.id, stars=1)

    market.assert_refused(result, "error.rating.already")
    [rating] = await market.services.reputation.visible_ratings(
        market.guild.id, contract.id, viewer_id=market.client.id
    )
    assert rating.stars == 5


async def test_rating_waits_for_the_end_of_the_contract(setup_market: Market) -> None:
    market = setup_market
    contract = await active_contract(market)
    market.set_locale(market.client, "ja")

    result = await market.client.slash(market.general, "rate", contract=contract.id, stars=5)

    market.assert_refused(result, "error.rating.not_settled", "ja", status="active")


async def test_only_a_party_rates(setup_market: Market) -> None:
    market = setup_market
    contract = await completed_contract(market)

    result = await market.outsider.slash(market.general, "rate", contract=contract.id, stars=1)

    market.assert_refused(result, "error.contract.not_party", contract_id=contract.id)
    assert (
        await market.services.reputation.visible_ratings(market.guild.id, contract.id, viewer_id=market.outsider.id)
        == []
    )


async def test_stars_and_comment_are_bounded_by_discord(setup_market: Market) -> None:
    market = setup_market
    contract = await completed_contract(market)

    for stars in (0, 6):
        with pytest.raises(simcord.OptionError):
            await market.client.slash(market.general, "rate", contract=contract.id, stars=stars)
    with pytest.raises(simcord.OptionError):
        await market.client.slash(market.general, "rate", contract=contract.id, stars=5, comment="x" * 1001)
    result = await market.client.slash(market.general, "rate", contract=contract.id, stars=5, comment="   ")
    simcord.assert_responded(result, ephemeral=True)  # a blank comment is no comment
    [rating] = await market.services.reputation.visible_ratings(
        market.guild.id, contract.id, viewer_id=market.client.id
    )
    assert rating.comment is None


async def test_the_contract_option_suggests_finished_contracts(setup_market: Market) -> None:
    market = setup_market
    done = await completed_contract(market)
    await active_contract(market)

    for member in (market.client, market.worker):
        choices = await member.autocomplete(market.general, "rate", "contract", "")
        assert [c["value"] for c in choices] == [done.id]
    assert await market.outsider.autocomplete(market.general, "rate", "contract", "") == []


@pytest.mark.parametrize("language", ["en", "ja"])
async def test_a_rating_after_the_reveal_is_refused(setup_market: Market, language: str) -> None:
    market = setup_market
    contract = await reload(market, (await completed_contract(market)).id)
    assert contract.closed_at is not None
    await market.worker.slash(market.general, "rate", contract=contract.id, stars=2, comment="Slow to answer.")
    market.clock.set(contract.closed_at + timedelta(days=8))  # the reveal period (7 days) is over
    market.set_locale(market.client, language)

    result = await market.client.slash(market.general, "rate", contract=contract.id, stars=1, comment="Then you too.")

    market.assert_refused(result, "error.rating_window.closed", language, contract_id=contract.id,
                          revealed_at=contract.closed_at + timedelta(days=7))
    ratings = await market.services.reputation.visible_ratings(
        market.guild.id, contract.id, viewer_id=market.client.id
    )
    assert [(r.rater_id, r.stars) for r in ratings] == [(market.worker.id, 2)]
