"""Money seen and paid per currency: /mod payout's currency, /mod balance's list of who is
owed, /profile balance, the daily payout digest, the currency change in /setup."""

from __future__ import annotations

from typing import Any

import simcord

from bot.i18n import t
from bot.services.deliveries import IncomingFile
from tests.bot.conftest import Market
from tests.bot.helpers import (
    LOGO,
    card_field,
    case_card,
    completed_contract,
    disabled,
    force_currency,
    hired,
    last_dm,
    ledger,
    refused,
    reload,
)


async def owed_yen_in_a_usd_guild(market: Market) -> None:
    """market.worker is owed 45,000 JPY from a contract made before the guild switched to USD."""
    await completed_contract(market)
    await force_currency(market, "USD")


async def also_owed_dollars(market: Market) -> None:
    """... and $90.00 from a $100 job posted after the switch."""
    services, guild_id = market.services, market.guild.id
    job = await services.jobs.post(guild_id, market.client.id, title="Banner", description="A web banner.",
                                   budget="100", deadline="7d")
    await services.jobs.apply(guild_id, job.id, market.worker.id, proposal="Done many.", price="100")
    offer = await services.contracts.offer(guild_id, market.client.id, job.id, market.worker.id)
    contract_id = offer.contract.id
    await services.contracts.accept(guild_id, contract_id, actor_id=market.worker.id)
    await services.escrow.deposit(guild_id, contract_id, actor_id=market.client.id)
    await services.escrow.confirm(guild_id, contract_id, moderator_id=market.moderator.id)
    await services.deliveries.deliver(guild_id, contract_id, actor_id=market.worker.id,
                                      files=[IncomingFile(*LOGO, "image/png")], note="Banner.")
    await services.deliveries.approve(guild_id, contract_id, actor_id=market.client.id)
    await market.settle()


async def test_yen_owed_in_a_dollar_guild_is_shown_and_paid_in_yen(setup_market: Market) -> None:
    market = setup_market
    await owed_yen_in_a_usd_guild(market)

    result = await market.moderator.slash(market.general, "mod balance", user=market.worker)
    usd = t("en", "ui.mod.balance_user", user=market.worker.mention, owed="$0.00", refund="$0.00", total="$0.00")
    jpy = t("en", "ui.mod.balance_user", user=market.worker.mention, owed="¥45,000", refund="¥0", total="¥45,000")
    simcord.assert_responded(result, ephemeral=True, content=f"{usd}\n\n{jpy}")

    choices = await market.moderator.autocomplete(market.general, "mod payout", "currency", "",
                                                  user=market.worker)
    assert [(c["name"], c["value"]) for c in choices] == [("JPY · ¥45,000", "JPY")]

    result = await market.moderator.slash(market.general, "mod payout", user=market.worker, amount=45000.0,
                                          reference="TX-9")
    simcord.assert_responded(
        result, ephemeral=True,
        content=t("en", "ui.mod.payout_done", user=market.worker.mention, reference="TX-9", owed="¥0",
                  details=t("en", "ui.mod.no_payout_details")),
    )
    await market.settle()
    assert await ledger(market, f"owed:{market.worker.id}") == 0
    assert market.dms(market.worker)[-1].content == t(
        "en", "notify.payout_recorded", paid_amount="¥45,000", reference="TX-9"
    )


async def test_a_payout_to_someone_owed_in_two_currencies_needs_the_currency(setup_market: Market) -> None:
    market = setup_market
    await owed_yen_in_a_usd_guild(market)
    await also_owed_dollars(market)

    result = await market.moderator.slash(market.general, "mod payout", user=market.worker, amount=90.0,
                                          reference="TX")
    market.assert_refused(result, "error.money.payout_currency_ambiguous", balances="$90.00 (USD), ¥45,000 (JPY)")
    market.set_locale(market.moderator, "ja")
    result = await market.moderator.slash(market.general, "mod payout", user=market.worker, amount=90.0,
                                          reference="TX")
    market.assert_refused(result, "error.money.payout_currency_ambiguous", "ja",
                          balances="$90.00 (USD), ¥45,000 (JPY)")
    result = await market.moderator.slash(market.general, "mod payout", user=market.worker, amount=90.0,
                                          reference="TX", currency="XYZ")
    market.assert_refused(result, "error.money.payout_currency_unknown", "ja", currency="XYZ",
                          balances="$90.00 (USD), ¥45,000 (JPY)")
    assert await ledger(market, f"owed:{market.worker.id}") == 45000 + 9000

    choices = await market.moderator.autocomplete(market.general, "mod payout", "currency", "",
                                                  user=market.worker)
    assert [c["value"] for c in choices] == ["USD", "JPY"]
    assert await market.client.autocomplete(market.general, "mod payout", "currency", "", user=market.worker) == []

    market.set_locale(market.moderator, "en")
    result = await market.moderator.slash(market.general, "mod payout", user=market.worker, amount=90.0,
                                          reference="TX-USD", currency="USD")
    simcord.assert_responded(
        result, ephemeral=True,
        content=t("en", "ui.mod.payout_done", user=market.worker.mention, reference="TX-USD", owed="$0.00",
                  details=t("en", "ui.mod.no_payout_details")),
    )
    await market.settle()
    assert market.dms(market.worker)[-1].content == t(
        "en", "notify.payout_recorded", paid_amount="$90.00", reference="TX-USD"
    )


async def test_setup_refuses_a_currency_change_with_open_jobs(setup_market: Market) -> None:
    market = setup_market
    services, guild_id = market.services, market.guild.id
    job = await services.jobs.post(guild_id, market.client.id, title="Logo", description="A logo.",
                                   budget=50000, deadline="7d")
    application = await services.jobs.apply(guild_id, job.id, market.worker.id, proposal="Me.", price=50000)

    result = await market.run_setup(currency="USD")
    market.assert_refused(result, "error.money.currency_open_jobs", current="JPY", currency="USD", job_count=1,
                          job_ids=f"#{job.id}", application_count=1, application_ids=f"#{application.id}")
    market.set_locale(market.admin, "ja")
    result = await market.run_setup(currency="USD")
    market.assert_refused(result, "error.money.currency_open_jobs", "ja", current="JPY", currency="USD",
                          job_count=1, job_ids=f"#{job.id}", application_count=1,
                          application_ids=f"#{application.id}")
    assert (await services.guilds.require(guild_id)).currency == "JPY"


# -- /profile balance ----------------------------------------------------------------------------


async def test_profile_balance_shows_ones_own_money_privately(setup_market: Market) -> None:
    market = setup_market
    await completed_contract(market)
    await market.moderator.slash(market.general, "mod payout", user=market.worker, amount=5000.0, reference="TX-1")
    paid_at = market.clock.now()

    result = await market.worker.slash(market.general, "profile balance")

    mine = t("en", "ui.money.mine_currency", currency="JPY", owed="¥40,000", refund="¥0", escrow_worker="¥0",
             escrow_client="¥0", paid="¥5,000")
    line = t("en", "ui.money.payout_line", at=f"<t:{int(paid_at.timestamp())}:d>", amount="¥5,000",
             reference="TX-1")
    simcord.assert_responded(
        result, ephemeral=True,
        content=f"{t('en', 'ui.money.mine_header')}\n\n{mine}\n\n{t('en', 'ui.money.payouts_header')}\n{line}",
    )


async def test_profile_balance_of_a_client_in_japanese_pages_long_payout_lists(setup_market: Market) -> None:
    market = setup_market
    await completed_contract(market)
    market.set_locale(market.client, "ja")

    result = await market.client.slash(market.general, "profile balance")
    mine = t("ja", "ui.money.mine_currency", currency="JPY", owed="0円", refund="0円", escrow_worker="0円",
             escrow_client="0円", paid="0円")
    simcord.assert_responded(
        result, ephemeral=True,
        content=f"{t('ja', 'ui.money.mine_header')}\n\n{mine}\n\n{t('ja', 'ui.money.no_payouts')}",
    )

    for number in range(80):  # a long history: paged, not cut off
        await market.services.escrow.record_payout(market.guild.id, moderator_id=market.moderator.id,
                                                   user_id=market.worker.id, amount=1, reference=f"TX-{number}")
    market.set_locale(market.worker, "ja")
    result = await market.worker.slash(market.general, "profile balance")
    assert result.response is not None and result.ephemeral
    content = result.response.content or ""
    assert "TX-79" in content and not content.endswith("TX-0")  # latest first, the oldest on a later page
    counter = {c["custom_id"]: c for row in result.response.components for c in row["components"]}[
        "cw:page:counter"]
    assert counter["label"].startswith("1 / ") and not counter["label"].endswith(" 1")


# -- /mod balance's list and the daily digest ----------------------------------------------------


async def test_mod_balance_lists_everyone_owed_after_the_totals(setup_market: Market) -> None:
    market = setup_market
    await owed_yen_in_a_usd_guild(market)
    owed_at = market.clock.now()
    market.clock.advance(hours=3)
    await also_owed_dollars(market)
    later = market.clock.now()

    result = await market.moderator.slash(market.general, "mod balance")

    usd = t("en", "ui.mod.balance_guild", escrow="$0.00", owed="$90.00", refund="$0.00", fees="$10.00")
    jpy = t("en", "ui.mod.balance_guild", escrow="¥0", owed="¥45,000", refund="¥0", fees="¥5,000")
    lines = [
        t("en", "ui.money.owed_line", user=market.worker.mention, owed="¥45,000", refund="¥0",
          since=f"<t:{int(owed_at.timestamp())}:R>"),
        t("en", "ui.money.owed_line", user=market.worker.mention, owed="$90.00", refund="$0.00",
          since=f"<t:{int(later.timestamp())}:R>"),
    ]
    simcord.assert_responded(
        result, ephemeral=True,
        content="\n".join([f"{usd}\n\n{jpy}\n\n{t('en', 'ui.money.owed_header')}", *lines]),
    )


async def test_mod_balance_when_nobody_is_owed(setup_market: Market) -> None:
    market = setup_market
    market.set_locale(market.moderator, "ja")
    result = await market.moderator.slash(market.general, "mod balance")
    totals = t("ja", "ui.mod.balance_guild", escrow="0円", owed="0円", refund="0円", fees="0円")
    simcord.assert_responded(result, ephemeral=True, content=f"{totals}\n\n{t('ja', 'ui.money.nobody_owed')}")


def digests(market: Market, language: str) -> list[str]:
    start = t(language, "ui.money.digest", lines="").splitlines()[0]
    return [m.content for m in market.mod.history() if m.content.startswith(start)]


async def test_the_daily_digest_names_money_owed_too_long(setup_market: Market) -> None:
    market = setup_market
    await completed_contract(market)
    owed_at = market.clock.now()

    market.clock.advance(days=1)
    await market.sweep()
    assert digests(market, "en") == []  # owed for a day: not yet (payout_reminder_after is 2d)

    market.clock.advance(days=1)
    await market.sweep()
    line = t("en", "ui.money.owed_line", user=market.worker.mention, owed="¥45,000", refund="¥0",
             since=f"<t:{int(owed_at.timestamp())}:R>")
    assert digests(market, "en") == [t("en", "ui.money.digest", lines=line)]

    market.clock.advance(hours=12)
    await market.sweep()
    await market.restart()
    await market.sweep()
    assert len(digests(market, "en")) == 1  # once a day, restarts included

    await market.moderator.slash(market.general, "mod payout", user=market.worker, amount=45000.0, reference="TX")
    market.clock.advance(days=1)
    await market.sweep()
    assert len(digests(market, "en")) == 1  # paid: nothing to remind


async def test_the_digest_in_japanese(market: Market) -> None:
    market.guild_locale = "ja"
    await market.run_setup()
    await completed_contract(market)
    owed_at = market.clock.now()
    market.clock.advance(days=2)
    await market.sweep()
    line = t("ja", "ui.money.owed_line", user=market.worker.mention, owed="45,000円", refund="0円",
             since=f"<t:{int(owed_at.timestamp())}:R>")
    assert digests(market, "ja") == [t("ja", "ui.money.digest", lines=line)]


# -- a moderator cancel while a deposit is declared ---------------------------------------------


def labels(response: Any) -> list[str]:
    """The labels of an interaction response's buttons, row by row."""
    return [c["label"] for row in response.components for c in row["components"]]


async def cancel_requested(market: Market) -> tuple[int, int]:
    """The client declared the deposit (reference "bank 0001"), then asked to cancel: a case."""
    contract = await hired(market)
    await market.services.escrow.deposit(market.guild.id, contract.id, actor_id=market.client.id,
                                         reference="bank 0001")
    outcome = await market.services.cases.cancel(market.guild.id, contract.id, actor_id=market.client.id,
                                                 reason="Changed my mind.")
    await market.settle()
    assert outcome.case is not None
    return contract.id, outcome.case.id


async def test_cancel_asks_whether_the_money_arrived_and_refunds_it(setup_market: Market) -> None:
    market = setup_market
    contract_id, case_id = await cancel_requested(market)

    question = await market.moderator.click(case_card(market, case_id), custom_id=f"cw:case:{case_id}:cancel")

    assert question.modal is None
    simcord.assert_responded(question, ephemeral=True, content=t(
        "en", "ui.money.cancel_question", contract_id=contract_id, amount="¥45,000", reference="bank 0001"))
    assert question.response is not None
    assert labels(question.response) == [t("en", "button.money.arrived"), t("en", "button.money.nothing")]
    twice = await market.moderator.click(case_card(market, case_id), custom_id=f"cw:case:{case_id}:cancel")
    assert twice.response is not None  # a double click on Cancel asks again; one answer only counts

    shown = await market.moderator.click(question.response, custom_id=f"cw:case:{case_id}:cancel_arrived")
    assert shown.modal is not None
    answered = await market.moderator.submit_modal(shown, {"reason": "The transfer is in our account."})
    await market.settle()

    assert answered.response is not None
    assert answered.response.content == t("en", "ui.money.cancel_refunded", contract_id=contract_id)
    assert (await reload(market, contract_id)).status == "cancelled"
    assert await ledger(market, f"refund:{market.client.id}") == 45000
    assert await ledger(market, f"escrow:{contract_id}") == 0
    card = case_card(market, case_id)
    assert all(disabled(card))
    assert "The transfer is in our account." in card_field(card, t("en", "ui.case.decision"))
    assert last_dm(market, market.client).content.startswith(
        t("en", "notify.case_cancel_refunded", contract_id=contract_id, case_id=case_id, client_amount="¥45,000",
          reason="The transfer is in our account.").split("\n")[0]
    )

    # the other answer, clicked late on the second question: refused, nothing changes
    late = await market.moderator.click(twice.response, custom_id=f"cw:case:{case_id}:cancel_nothing")
    refused(market, late, "error.case.closed", case_id=case_id)
    assert await ledger(market, f"refund:{market.client.id}") == 45000


async def test_nothing_arrived_voids_the_declaration_in_japanese(setup_market: Market) -> None:
    market = setup_market
    market.set_locale(market.moderator, "ja")
    contract_id, case_id = await cancel_requested(market)

    question = await market.moderator.click(case_card(market, case_id), custom_id=f"cw:case:{case_id}:cancel")
    simcord.assert_responded(question, ephemeral=True, content=t(
        "ja", "ui.money.cancel_question", contract_id=contract_id, amount="45,000円", reference="bank 0001"))
    assert question.response is not None
    assert labels(question.response) == [t("ja", "button.money.arrived"), t("ja", "button.money.nothing")]
    shown = await market.moderator.click(question.response, custom_id=f"cw:case:{case_id}:cancel_nothing")
    answered = await market.moderator.submit_modal(shown, {"reason": "入金なし"})
    await market.settle()

    assert answered.response is not None
    assert answered.response.content == t("ja", "ui.money.cancel_voided", contract_id=contract_id)
    assert (await reload(market, contract_id)).status == "cancelled"
    assert await ledger(market, f"refund:{market.client.id}") == 0
    [deposit] = (await market.services.escrow.status(market.guild.id, contract_id, viewer_id=market.client.id)
                 ).deposits
    assert deposit.status == "void"

    assert all(disabled(case_card(market, case_id)))  # decided: the card's buttons are greyed out

