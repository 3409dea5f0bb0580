"""Clocks that stop while the worker cannot act, through Discord: a dispute pauses the
deadline (shown in /contract view), the moderators' Extend on the dispute card gives the time
that was left plus more; an open case re-pings the mod channel."""

from __future__ import annotations

from datetime import timedelta

from bot.i18n import t
from bot.ui.format import format_time
from tests.bot.conftest import Market
from tests.bot.helpers import active_contract, contract_thread, decide_case, field, reload

DAY = timedelta(days=1)


async def test_a_dispute_pauses_the_deadline_and_extend_gives_the_time_left_back(setup_market: Market) -> None:
    market = setup_market
    contract = await active_contract(market)
    t0, due = contract.funded_at, contract.due_at
    assert t0 is not None and due is not None
    market.clock.set(t0 + 2 * DAY)
    await market.worker.slash(market.general, "dispute", contract=contract.id, reason="No answers for days")
    await market.settle()
    [case] = await market.services.cases.list(market.guild.id)

    market.clock.set(t0 + 12 * DAY)
    await market.sweep()  # ten days later: no overdue reminder, no escalation
    assert not [m for m in market.dms(market.worker) if m.content.startswith(t("en", "remind.overdue_worker")[:8])]
    assert len(await market.services.cases.list(market.guild.id)) == 1

    shown = await market.worker.slash(market.general, "contract view", contract=contract.id)
    [card] = shown.response.embeds
    assert field(card, t("en", "ui.contract.field_paused")) == t(
        "en", "ui.contract.paused_case", since=format_time(t0 + 2 * DAY))
    market.set_locale(market.client, "ja")
    shown = await market.client.slash(market.general, "contract view", contract=contract.id)
    [card] = shown.response.embeds
    assert field(card, t("ja", "ui.contract.field_paused")) == t(
        "ja", "ui.contract.paused_case", since=format_time(t0 + 2 * DAY))

    result = await decide_case(market, market.moderator, case.id, "extend", {"duration": "2d"})
    assert result.followups[-1].content == t("en", "ui.case.done", case_id=case.id,
                                             action=t("en", "button.case.extend"))
    after = await reload(market, contract.id)
    assert (after.status, after.paused_at) == ("active", None)
    assert after.due_at == due + 12 * DAY  # the five days left on day 2, plus the two given


async def test_an_open_case_re_pings_the_moderators(setup_market: Market) -> None:
    market = setup_market
    await market.sql("UPDATE guilds SET locale = 'ja' WHERE guild_id = ?", market.guild.id)
    contract = await active_contract(market)
    await market.worker.slash(market.general, "dispute", contract=contract.id, reason="Help")
    await market.settle()
    [case] = await market.services.cases.list(market.guild.id)
    posted = len(market.mod.history())
    market.clock.set(case.created_at + DAY)
    await market.sweep()
    await market.dispatch()
    [ping] = market.mod.history()[posted:]
    assert t("ja", "remind.case_open", contract_id=contract.id, target_id=case.id, repeat=1) in ping.content


async def test_a_silent_client_pauses_the_deadline_until_they_reply(setup_market: Market) -> None:
    market = setup_market
    contract = await active_contract(market)
    t0, due = contract.funded_at, contract.due_at
    assert t0 is not None and due is not None
    thread = await contract_thread(market, contract)
    market.clock.set(t0 + DAY)
    await market.worker.send(thread, "Which colours do you want?")
    await market.settle()
    market.clock.set(t0 + 2 * DAY)
    await market.sweep()  # reply_reminder_after (1d) has passed: the deadline stops

    market.set_locale(market.worker, "ja")
    shown = await market.worker.slash(market.general, "contract view", contract=contract.id)
    [card] = shown.response.embeds
    assert field(card, t("ja", "ui.contract.field_paused")) == t(
        "ja", "ui.contract.paused_reply", since=format_time(t0 + 2 * DAY))

    market.clock.set(t0 + 3 * DAY)
    await market.client.send(thread, "Red and white.")
    await market.settle()
    after = await reload(market, contract.id)
    assert (after.paused_at, after.due_at) == (None, due + DAY)
    shown = await market.worker.slash(market.general, "contract view", contract=contract.id)
    [card] = shown.response.embeds
    assert t("ja", "ui.contract.field_paused") not in [f.name for f in card.fields]
