"""Amounts typed as text, read in the reader's number format (bot/ui/amounts.py), and money
shown in it (bot/ui/format.py): the Apply modal's price through SimCord, the parser as a
pure helper."""

from __future__ import annotations

from decimal import Decimal

import pytest
import simcord

from bot.errors import InvalidInput
from bot.i18n import t
from bot.ui.amounts import parse_amount
from bot.ui.format import format_money
from tests.bot.conftest import Market
from tests.bot.helpers import JOB, post

NAN = "ui.job.price_not_number"


@pytest.mark.parametrize(
    ("text", "code", "locale", "expected"),
    [
        ("12,50", "EUR", "de", Decimal("12.50")),
        ("12,50", "EUR", "fr", Decimal("12.50")),
        ("1,250", "JPY", "en-US", Decimal(1250)),
        ("1,250", "JPY", "ja", Decimal(1250)),
        ("¥45,000", "JPY", "en-US", Decimal(45000)),
        ("45,000円", "JPY", "ja", Decimal(45000)),
        ("４５，０００円", "JPY", "ja", Decimal(45000)),  # a Japanese keyboard's full-width digits
        ("12.50 €", "EUR", "en-GB", Decimal("12.50")),
        ("1.250,50", "EUR", "de", Decimal("1250.50")),
        ("1 250,50", "EUR", "fr", Decimal("1250.50")),  # an ordinary space for French grouping
        ("US$12.50", "USD", "en-GB", Decimal("12.50")),
        ("45000", "JPY", None, Decimal(45000)),
    ],
)
def test_parse_amount_reads_the_readers_format(text: str, code: str, locale: str | None, expected: Decimal) -> None:
    assert parse_amount(text, code, locale, not_a_number=NAN) == expected


@pytest.mark.parametrize("text", ["a lot", "", "1e5", "1.2.3", "12 apples"])
def test_parse_amount_refuses_what_is_no_number(text: str) -> None:
    with pytest.raises(InvalidInput) as refused:
        parse_amount(text, "JPY", "en-US", not_a_number=NAN)
    assert (refused.value.key, refused.value.args_map["value"]) == (NAN, text.strip())


def test_parse_amount_refuses_a_malformed_amount_with_what_it_could_mean() -> None:
    with pytest.raises(InvalidInput) as refused:
        parse_amount("12,50", "EUR", "en-US", not_a_number=NAN)
    assert refused.value.key == "amount.malformed"
    assert refused.value.args_map["suggestions"] == "`1,250` / `12.5`"
    assert refused.value.args_map["example"] == "1,234.50"


def test_parse_amount_refuses_more_decimals_than_the_currency_has_and_shows_how_it_read() -> None:
    with pytest.raises(InvalidInput) as refused:
        parse_amount("1,250", "JPY", "de", not_a_number=NAN)  # one point two five in German
    assert refused.value.key == "amount.too_precise"
    assert (refused.value.args_map["read"], refused.value.args_map["smallest"]) == ("1,25", "1\xa0¥")


@pytest.mark.parametrize(
    ("minor", "code", "locale", "expected"),
    [
        (1250, "EUR", "de", "12,50\xa0€"),
        (1250, "EUR", "fr", "12,50\xa0€"),
        (45000, "JPY", "de", "45.000\xa0¥"),
        (1250, "USD", "en-GB", "US$12.50"),
        (1250, "EUR", "zz-unknown", "€12.50"),
    ],
)
def test_format_money_in_the_readers_locale(minor: int, code: str, locale: str, expected: str) -> None:
    assert format_money(minor, code, locale) == expected


# -- the Apply modal --------------------------------------------------------------------------------


async def euro_market(market: Market) -> Market:
    result = await market.run_setup(currency="EUR")
    assert result.response is not None and result.ephemeral, result
    return market


async def open_modal(market: Market, job_id: int) -> simcord.InteractionResult:
    board = market.jobs.history()[-1]
    shown = await market.worker.click(board, custom_id=f"cw:job:{job_id}:apply")
    assert shown.modal is not None
    return shown


async def test_a_german_price_with_a_decimal_comma_is_read_as_twelve_fifty(market: Market) -> None:
    await euro_market(market)
    job_id = await post(market, budget=20)
    market.set_locale(market.worker, "de")
    result = await market.worker.submit_modal(await open_modal(market, job_id), {"proposal": "Ich", "price": "12,50"})
    simcord.assert_responded(
        result, content=t("de", "ui.job.applied", job_id=job_id, title=JOB["title"], price="12,50\xa0€"), ephemeral=True
    )
    application = await market.services.jobs.application_of(market.guild.id, job_id, market.worker.id)
    assert application is not None and application.price == 1250


async def test_an_english_price_with_a_comma_is_refused_with_what_it_could_mean(market: Market) -> None:
    await euro_market(market)
    job_id = await post(market, budget=20)
    result = await market.worker.submit_modal(await open_modal(market, job_id), {"proposal": "Me", "price": "12,50"})
    market.assert_refused(result, "amount.malformed", value="12,50", locale="en_US", example="1,234.50",
                          decimal=".", group=",", suggestions="`1,250` / `12.5`")  # fmt: skip
    assert await market.services.jobs.application_of(market.guild.id, job_id, market.worker.id) is None

    # the same in Japanese
    market.set_locale(market.worker, "ja")
    result = await market.worker.submit_modal(await open_modal(market, job_id), {"proposal": "Me", "price": "12,5"})
    market.assert_refused(result, "amount.malformed", language="ja", value="12,5", locale="ja", example="1,234.50",
                          decimal=".", group=",", suggestions="`125` / `12.5`")  # fmt: skip
    assert await market.services.jobs.application_of(market.guild.id, job_id, market.worker.id) is None


async def test_a_yen_price_with_decimals_is_refused_showing_how_it_was_read(setup_market: Market) -> None:
    market = setup_market
    job_id = await post(market)
    market.set_locale(market.worker, "ja")
    result = await market.worker.submit_modal(await open_modal(market, job_id), {"proposal": "私", "price": "100.5"})
    market.assert_refused(result, "amount.too_precise", language="ja", value="100.5", read="100.5", locale="ja",
                          currency="JPY", smallest="1円")  # fmt: skip
    assert await market.services.jobs.application_of(market.guild.id, job_id, market.worker.id) is None

    # a full-width yen price as typed on a Japanese keyboard
    shown = await open_modal(market, job_id)
    result = await market.worker.submit_modal(shown, {"proposal": "私", "price": "３８，０００円"})
    simcord.assert_responded(
        result, content=t("ja", "ui.job.applied", job_id=job_id, title=JOB["title"], price="38,000円"), ephemeral=True
    )
