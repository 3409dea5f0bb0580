"""Case cards and their one-click decisions; /mod cases, /mod payout, /mod balance."""

from __future__ import annotations

from typing import Any

import discord
import pytest
import simcord

from bot.i18n import t
from bot.models.entities import Case, Contract
from bot.ui.case_cards import card_link
from bot.ui.format import format_time
from bot.ui.job_board import client_line
from tests.bot.conftest import Market
from tests.bot.helpers import (
    PRICE,
    active_contract,
    card_field,
    completed_contract,
    custom_ids,
    delivered_contract,
    disabled,
    hired_contract,
    last_dm,
    ledger,
    refused,
    reload,
)


async def open_dispute(market: Market, contract: Contract) -> Case:
    case = await market.services.cases.dispute(
        market.guild.id, contract.id, actor_id=market.worker.id, reason="The client stopped answering."
    )
    await market.settle()
    return case


async def escalation(market: Market) -> tuple[Contract, Case]:
    """A client who did not fund the escrow in time: the scheduler's escalation."""
    contract = await hired_contract(market)
    case = await market.services.cases.escalate(contract.id, reason_kind="escrow_unfunded", subject_id=market.client.id)
    assert case is not None
    await market.settle()
    return contract, case


async def reload_case(market: Market, case_id: int) -> Case:
    case, _ = await market.services.cases.get(market.guild.id, case_id)
    return case


def card_of(market: Market, case: Case) -> discord.Message:
    for message in reversed(market.mod.history()):
        if any(cid.startswith(f"cw:case:{case.id}:") for cid in custom_ids(message)):
            return message
    raise AssertionError(f"no card for case {case.id}")


async def decide(
    market: Market, member: simcord.MemberActor, case: Case, action: str, values: dict[str, Any]
) -> simcord.InteractionResult:
    shown = await member.click(card_of(market, case), custom_id=f"cw:case:{case.id}:{action}")
    assert shown.modal is not None, shown
    return await member.submit_modal(shown, values)


# -- the card ------------------------------------------------------------------------------


async def test_an_escalation_card_shows_the_contract_its_timeline_and_the_figures(setup_market: Market) -> None:
    market = setup_market
    contract, case = await escalation(market)

    card = card_of(market, case)

    assert card.content == market.moderators_pinged + t(
        "en",
        "case.card.escrow_unfunded",
        case_id=case.id,
        contract_id=contract.id,
        subject_id=market.client.mention,
        reason="-",
    )
    [embed] = card.embeds
    assert embed.title == t("en", "ui.case.title", case_id=case.id, kind=t("en", "ui.case.kind.escrow_unfunded"))
    assert card_field(card, t("en", "ui.case.contract")) == t(
        "en",
        "ui.case.contract_line",
        contract_id=contract.id,
        client_id=market.client.mention,
        worker_id=market.worker.mention,
        status=t("en", "status.awaiting_funding"),
        price_amount="¥50,000",
    )
    timeline = card_field(card, t("en", "ui.case.timeline")).splitlines()
    stamp = format_time(market.clock.now())
    assert timeline[-3:] == [
        f"{stamp} · {t('en', 'ui.case.event.contract.offered')} · {market.client.mention}",
        f"{stamp} · {t('en', 'ui.case.event.contract.accepted')} · {market.worker.mention}",
        f"{stamp} · {t('en', 'ui.case.event.case.opened.escrow_unfunded')}",
    ]
    figures = card_field(card, t("en", "ui.case.figures"))
    assert figures.startswith(market.client.mention)
    client_figures = await market.services.reputation.figures(market.guild.id, market.client.id)
    assert client_line(client_figures, "en") in figures
    assert "escalations 1" in figures
    assert custom_ids(card) == [f"cw:case:{case.id}:{a}" for a in ("nudge", "extend", "cancel", "close", "join")]
    assert [c.label for row in card.components for c in getattr(row, "children", [])] == [
        t("en", f"button.case.{a}") for a in ("nudge", "extend", "cancel", "close", "join")
    ]
    assert (await reload_case(market, case.id)).mod_message_id == card.id


async def test_a_card_in_a_japanese_server(setup_market: Market) -> None:
    market = setup_market
    await market.sql("UPDATE guilds SET locale = 'ja' WHERE guild_id = ?", market.guild.id)
    contract = await delivered_contract(market)

    case = await open_dispute(market, contract)

    card = card_of(market, case)
    assert card.embeds[0].title == t("ja", "ui.case.title", case_id=case.id, kind=t("ja", "ui.case.kind.dispute"))
    assert card_field(card, t("ja", "ui.case.reason")) == "The client stopped answering."
    assert [c.label for row in card.components for c in getattr(row, "children", [])] == [
        t("ja", f"button.case.{a}") for a in ("nudge", "extend", "release", "refund", "split", "close", "join")
    ]

    # The decision is written into the card in the server's language, whoever clicks.
    await decide(market, market.moderator, case, "close", {"reason": "Settled in the thread."})
    assert card_field(card_of(market, case), t("ja", "ui.case.decision")) == t(
        "ja",
        "ui.case.decision_line",
        action=t("ja", "button.case.close"),
        moderator=market.moderator.mention,
        at=format_time(market.clock.now()),
        reason="Settled in the thread.",
    )


# -- decisions -----------------------------------------------------------------------------


async def test_release_from_the_card(setup_market: Market) -> None:
    market = setup_market
    contract = await delivered_contract(market)
    case = await open_dispute(market, contract)

    result = await decide(market, market.moderator, case, "release", {"reason": "The delivery matches the terms."})

    label = t("en", "button.case.release")
    assert result.followups[-1].ephemeral
    assert result.followups[-1].content == t("en", "ui.case.done", case_id=case.id, action=label)
    card = card_of(market, case)
    assert card_field(card, t("en", "ui.case.decision")) == t(
        "en",
        "ui.case.decision_line",
        action=label,
        moderator=market.moderator.mention,
        at=format_time(market.clock.now()),
        reason="The delivery matches the terms.",
    )
    assert all(disabled(card))
    decided = await reload_case(market, case.id)
    assert (decided.status, decided.resolution, decided.resolved_by) == ("resolved", "release", market.moderator.id)
    assert decided.resolution_note == "The delivery matches the terms."
    assert (await reload(market, contract.id)).status == "completed"
    assert await ledger(market, f"owed:{market.worker.id}") == 45000
    for member in (market.client, market.worker):
        assert last_dm(market, member, "⚖️").content == t(
            "en",
            "notify.case_release",
            case_id=case.id,
            contract_id=contract.id,
            worker_amount="¥45,000",
            fee_amount="¥5,000",
            client_amount="¥0",
            reason="The delivery matches the terms.",
        )


async def test_split_asks_for_the_workers_share(setup_market: Market) -> None:
    market = setup_market
    contract = await active_contract(market)
    case = await open_dispute(market, contract)

    for bad in ("half", "150"):
        result = await decide(market, market.moderator, case, "split", {"percent": bad, "reason": "Half done"})
        refused(market, result, "error.case.percent")
    assert (await reload_case(market, case.id)).status == "open"

    result = await decide(market, market.moderator, case, "split", {"percent": "30%", "reason": "A third done"})

    assert result.followups[-1].content == t("en", "ui.case.done", case_id=case.id, action=t("en", "button.case.split"))
    assert (await reload(market, contract.id)).status == "split"
    assert await ledger(market, f"owed:{market.worker.id}") == 13500  # 30% of 50000, less the 10% fee
    assert await ledger(market, f"refund:{market.client.id}") == 35000


async def test_money_decisions_need_a_reason(setup_market: Market) -> None:
    market = setup_market
    contract = await active_contract(market)
    case = await open_dispute(market, contract)

    shown = await market.moderator.click(card_of(market, case), custom_id=f"cw:case:{case.id}:refund")
    assert shown.modal is not None
    [reason] = [
        c for row in shown.modal["components"] for c in row.get("components", [row]) if c.get("custom_id") == "reason"
    ]
    assert reason["required"] is True
    result = await market.moderator.submit_modal(shown, {"reason": "   "})

    refused(market, result, "error.text.required", field="reason")
    assert (await reload(market, contract.id)).status == "disputed"
    assert await ledger(market, f"escrow:{contract.id}") == PRICE


async def test_extend_gives_more_time(setup_market: Market) -> None:
    market = setup_market
    contract, case = await escalation(market)
    before = contract.clock_at

    shown = await market.moderator.click(card_of(market, case), custom_id=f"cw:case:{case.id}:extend")
    assert shown.modal is not None
    [duration] = [
        c for row in shown.modal["components"] for c in row.get("components", [row]) if c.get("custom_id") == "duration"
    ]
    assert duration["value"] == "1d"
    bad = await market.moderator.submit_modal(shown, {"duration": "soon"})
    refused(market, bad, "error.case.extend", value="soon")

    result = await decide(market, market.moderator, case, "extend", {"duration": "2d"})

    assert result.followups[-1].content == t(
        "en", "ui.case.done", case_id=case.id, action=t("en", "button.case.extend")
    )
    extended = await reload(market, contract.id)
    assert (extended.clock_at - before).days == 2
    assert last_dm(market, market.client, "⏳").content == t(
        "en", "notify.case_extend", contract_id=contract.id, case_id=case.id, extend="2d", reason="-"
    )


async def test_nudge_keeps_the_case_open(setup_market: Market) -> None:
    market = setup_market
    contract, case = await escalation(market)
    market.set_locale(market.moderator, "ja")

    result = await decide(market, market.moderator, case, "nudge", {"reason": "Please pay by Friday."})

    assert result.followups[-1].content == t(
        "ja", "ui.case.nudged", case_id=case.id, action=t("ja", "button.case.nudge")
    )
    card = card_of(market, case)
    assert card_field(card, t("en", "ui.case.note")) == t(
        "en",
        "ui.case.decision_line",
        action=t("en", "button.case.nudge"),
        moderator=market.moderator.mention,
        at=format_time(market.clock.now()),
        reason="Please pay by Friday.",
    )
    assert not any(disabled(card))  # the case is still open: its buttons still work
    assert (await reload_case(market, case.id)).status == "open"
    assert last_dm(market, market.client, "🔔").content == t(
        "en", "notify.nudge.escrow_unfunded", case_id=case.id, contract_id=contract.id, reason="Please pay by Friday."
    )


async def test_cancel_an_unfunded_contract(setup_market: Market) -> None:
    market = setup_market
    contract, case = await escalation(market)

    await decide(market, market.moderator, case, "cancel", {"reason": "The client never paid."})

    assert (await reload(market, contract.id)).status == "cancelled"
    assert all(disabled(card_of(market, case)))


async def test_closing_a_report_works_after_a_restart(setup_market: Market) -> None:
    market = setup_market
    case = await market.services.cases.report(
        market.guild.id, reporter_id=market.worker.id, user_id=market.client.id, reason="Rude messages"
    )
    await market.settle()
    await market.restart()

    result = await decide(market, market.moderator, case, "dismiss", {"reason": "Talked to both."})

    assert result.followups[-1].content == t("en", "ui.case.done", case_id=case.id,
                                             action=t("en", "button.case.dismiss"))
    closed = await reload_case(market, case.id)
    assert (closed.status, closed.resolution, closed.resolution_note) == ("resolved", "dismiss", "Talked to both.")
    assert all(disabled(card_of(market, case)))


async def test_a_moderator_who_is_a_party_is_refused(setup_market: Market) -> None:
    market = setup_market
    contract = await active_contract(market, client=market.moderator, confirmer=market.admin)
    case = await open_dispute(market, contract)

    result = await market.moderator.click(card_of(market, case), custom_id=f"cw:case:{case.id}:refund")

    assert result.modal is None  # refused at the click, before a reason is typed
    refused(market, result, "error.mod.party", case_id=case.id)
    assert (await reload_case(market, case.id)).status == "open"
    assert (await reload(market, contract.id)).status == "disputed"
    assert not any(disabled(card_of(market, case)))


async def test_the_second_of_two_decisions_is_refused(setup_market: Market) -> None:
    market = setup_market
    contract = await active_contract(market)
    case = await open_dispute(market, contract)
    late = await market.moderator.click(card_of(market, case), custom_id=f"cw:case:{case.id}:release")

    await decide(market, market.admin, case, "refund", {"reason": "Nothing was delivered."})
    result = await market.moderator.submit_modal(late, {"reason": "Looks done to me."})

    refused(market, result, "error.case.closed", case_id=case.id)
    assert (await reload(market, contract.id)).status == "refunded"
    assert await ledger(market, f"refund:{market.client.id}") == PRICE
    assert await ledger(market, f"owed:{market.worker.id}") == 0


async def test_only_moderators_use_the_card(setup_market: Market) -> None:
    market = setup_market
    contract = await active_contract(market)
    case = await open_dispute(market, contract)
    helpers = market.guild.create_role("Helpers")
    helper = market.guild.add_member(market.env.create_user("helper"), roles=[helpers])
    mod_channel = market.bot.get_channel(market.mod.id)
    assert isinstance(mod_channel, discord.TextChannel)
    role = mod_channel.guild.get_role(helpers.id)
    assert role is not None
    await mod_channel.set_permissions(role, view_channel=True)  # sees the cards, has no moderator role
    await market.settle()

    result = await helper.click(card_of(market, case), custom_id=f"cw:case:{case.id}:release")

    refused(market, result, "error.check_failed")
    assert result.modal is None
    assert (await reload(market, contract.id)).status == "disputed"


# -- /mod cases ---------------------------------------------------------------------------------


async def test_mod_cases_lists_open_cases_with_links(setup_market: Market) -> None:
    market = setup_market
    _, escalated = await escalation(market)
    report = await market.services.cases.report(
        market.guild.id, reporter_id=market.worker.id, user_id=market.outsider.id, reason="Spam"
    )
    await market.settle()
    await decide(market, market.moderator, report, "dismiss", {"reason": "Not spam."})

    result = await market.moderator.slash(market.general, "mod cases")

    escalated = await reload_case(market, escalated.id)
    assert escalated.mod_message_id is not None
    line = t(
        "en",
        "ui.mod.case_line",
        case_id=escalated.id,
        kind=t("en", "ui.case.kind.escrow_unfunded"),
        contract=f"#{escalated.contract_id}",
        status=t("en", "status.open"),
        opened=f"<t:{int(escalated.created_at.timestamp())}:R>",
        link=card_link(market.guild.id, market.mod.id, escalated.mod_message_id),
    )
    simcord.assert_responded(result, content="\n".join([t("en", "ui.mod.cases_header", count=1), line]), ephemeral=True)

    resolved = await market.moderator.slash(market.general, "mod cases", status="cases_resolved")
    assert resolved.response is not None
    assert f"#{report.id}" in resolved.response.content and f"#{escalated.id} " not in resolved.response.content


async def test_mod_cases_in_japanese_and_when_empty(setup_market: Market) -> None:
    market = setup_market
    market.set_locale(market.moderator, "ja")
    result = await market.moderator.slash(market.general, "mod cases", status="cases_all")
    simcord.assert_responded(result, content=t("ja", "ui.mod.no_cases"), ephemeral=True)


async def test_mod_commands_are_for_moderators(setup_market: Market) -> None:
    market = setup_market
    for command, options in (
        ("mod cases", {}),
        ("mod balance", {}),
        ("mod payout", {"user": market.worker, "amount": 100.0, "reference": "TX"}),
    ):
        result = await market.client.slash(market.general, command, **options)
        market.assert_refused(result, "error.check_failed")


# -- /mod payout and /mod balance ---------------------------------------------------------------


async def test_payout_clears_what_is_owed_and_shows_the_details_privately(setup_market: Market) -> None:
    market = setup_market
    await completed_contract(market)
    await market.services.profiles.set_payout(market.guild.id, market.worker.id, "Bank: Mizuho 1234567")

    result = await market.moderator.slash(
        market.general, "mod payout", user=market.worker, amount=20000.0, reference="TX-0001"
    )

    simcord.assert_responded(
        result,
        ephemeral=True,
        content=t(
            "en",
            "ui.mod.payout_done",
            user=market.worker.mention,
            reference="TX-0001",
            owed="¥25,000",
            details="Bank: Mizuho 1234567",
        ),
    )
    assert await ledger(market, f"owed:{market.worker.id}") == 25000
    assert market.dms(market.worker)[-1].content == t(
        "en", "notify.payout_recorded", paid_amount="¥20,000", reference="TX-0001"
    )


async def test_payout_without_details_in_japanese(setup_market: Market) -> None:
    market = setup_market
    await completed_contract(market)
    market.set_locale(market.moderator, "ja")

    result = await market.moderator.slash(
        market.general, "mod payout", user=market.worker, amount=45000.0, reference="振込 0001"
    )

    simcord.assert_responded(
        result,
        ephemeral=True,
        content=t(
            "ja",
            "ui.mod.payout_done",
            user=market.worker.mention,
            reference="振込 0001",
            owed="0円",
            details=t("ja", "ui.mod.no_payout_details"),
        ),
    )


async def test_payout_refusals(setup_market: Market) -> None:
    market = setup_market
    await completed_contract(market)

    result = await market.moderator.slash(
        market.general, "mod payout", user=market.worker, amount=50000.0, reference="TX"
    )
    market.assert_refused(result, "error.mod.payout_too_much", owed_amount=45000, currency="JPY")
    result = await market.moderator.slash(market.general, "mod payout", user=market.worker, amount=12.5, reference="TX")
    market.assert_refused(result, "error.money.decimals", field="amount", currency="JPY", decimals=0)
    for amount in (0.0, -5.0):
        result = await market.moderator.slash(
            market.general, "mod payout", user=market.worker, amount=amount, reference="TX"
        )
        market.assert_refused(result, "error.money.not_positive", field="amount")
    result = await market.moderator.slash(
        market.general, "mod payout", user=market.moderator, amount=1.0, reference="TX"
    )
    market.assert_refused(result, "error.mod.payout_self")
    assert await ledger(market, f"owed:{market.worker.id}") == 45000


async def test_balance_of_a_user_and_of_the_server(setup_market: Market) -> None:
    market = setup_market
    await completed_contract(market)
    await active_contract(market)  # 50000 more held in escrow

    result = await market.moderator.slash(market.general, "mod balance", user=market.worker)
    simcord.assert_responded(
        result,
        ephemeral=True,
        content=t(
            "en", "ui.mod.balance_user", user=market.worker.mention, owed="¥45,000", refund="¥0", total="¥45,000"
        ),
    )

    market.set_locale(market.moderator, "ja")
    result = await market.moderator.slash(market.general, "mod balance")
    [owed] = await market.services.escrow.owed_list(market.guild.id)
    totals = t("ja", "ui.mod.balance_guild", escrow="50,000円", owed="45,000円", refund="0円", fees="5,000円")
    line = t("ja", "ui.money.owed_line", user=market.worker.mention, owed="45,000円", refund="0円",
             since=f"<t:{int(owed.since.timestamp())}:R>")
    simcord.assert_responded(
        result, ephemeral=True, content=f"{totals}\n\n{t('ja', 'ui.money.owed_header')}\n{line}"
    )


async def test_a_moderator_joins_the_contract_thread_from_the_card(setup_market: Market) -> None:
    market = setup_market
    contract = await active_contract(market)
    case = await open_dispute(market, contract)
    [thread] = market.contracts.threads
    with pytest.raises(simcord.SetupError):
        thread.history(viewer=market.moderator)  # a private thread: moderators are not in it yet

    result = await market.moderator.click(card_of(market, case), custom_id=f"cw:case:{case.id}:join")

    simcord.assert_responded(
        result, content=t("en", "ui.case.joined", thread=f"<#{thread.id}>", contract_id=contract.id), ephemeral=True
    )
    assert thread.history(viewer=market.moderator)  # now they read it
