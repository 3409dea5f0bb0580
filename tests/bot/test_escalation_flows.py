"""Reminders and escalation, end to end through SimCord with the injected clock.

Each test moves ``market.clock`` and runs one scheduler tick (``market.sweep()``: the bot's
real sweep, then the outbox dispatch), and reads what the client, the worker and the
moderators see: reminder DMs, the case card in the mod channel, the card edited by a
moderator's decision, the outcome DMs; and what the database and the ledger hold.
"""

from __future__ import annotations

from datetime import datetime, timedelta

import discord
import pytest
import simcord

from bot.i18n import t
from bot.models.entities import Case
from bot.models.timeutil import to_iso
from bot.ui.format import format_time
from bot.ui.job_board import client_line
from tests.bot.conftest import Market
from tests.bot.helpers import (
    PRICE,
    card_field,
    contract_thread,
    custom_ids,
    delivered_contract,
    disabled,
    funded,
    hired_contract,
    refused,
    reload,
)

DAY = timedelta(days=1)
REMINDER = "⏰"  # every reminder DM starts with it, in both languages
PAYOUT = PRICE * 90 // 100  # the price less the 10% platform fee
FEE = PRICE - PAYOUT


# -- helpers ---------------------------------------------------------------------------------


def reminders(market: Market, member: simcord.MemberActor) -> list[discord.Message]:
    return [m for m in market.dms(member) if m.content.startswith(REMINDER)]


def cards(market: Market) -> list[discord.Message]:
    """The case cards in the mod channel (messages with case buttons)."""
    return [m for m in market.mod.history() if any(c.startswith("cw:case:") for c in custom_ids(m))]


def labels(message: discord.Message) -> list[str]:
    return [child.label or "" for row in message.components for child in getattr(row, "children", [])]


def fresh(message: discord.Message, market: Market) -> discord.Message:
    """The message as the mod channel holds it now (after an edit)."""
    [now] = [m for m in market.mod.history() if m.id == message.id]
    return now


async def the_case(market: Market) -> Case:
    [case] = await market.services.cases.list(market.guild.id, None)
    return case


def snapshot(market: Market) -> tuple[int, ...]:
    """How many messages each person and the mod channel have: to show that a tick adds nothing."""
    return (
        len(market.dms(market.client)),
        len(market.dms(market.worker)),
        len(market.dms(market.moderator)),
        len(market.mod.history()),
    )


async def same_time(market: Market) -> None:
    """Move SimCord's clock (Discord's timestamps) up to the bot's FakeClock."""
    gap = (market.clock.now() - market.env.now()).total_seconds()
    if gap > 0:
        await market.env.advance_time(gap)


async def tick_at(market: Market, start: datetime, offset: timedelta) -> None:
    """Set the clock to ``start + offset`` and run one scheduler tick."""
    market.clock.set(start + offset)
    await market.sweep()


async def open_cancel_modal(
    market: Market, member: simcord.MemberActor, card: discord.Message, case: Case
) -> simcord.InteractionResult:
    shown = await member.click(card, custom_id=f"cw:case:{case.id}:cancel")
    assert shown.modal is not None, shown
    return shown


def modal_inputs(shown: simcord.InteractionResult) -> dict[str, dict[str, object]]:
    assert shown.modal is not None
    return {
        c["custom_id"]: c
        for row in shown.modal["components"]
        for c in row.get("components", [row])
        if c.get("custom_id")
    }


async def a_helper_who_sees_the_mod_channel(market: Market) -> simcord.MemberActor:
    """A member without the moderator role who can read the mod channel (and so click a card)."""
    helpers = market.guild.create_role("Helpers")
    helper = market.guild.add_member(market.env.create_user("helper"), roles=[helpers])
    mod_channel = market.bot.get_channel(market.mod.id)
    assert isinstance(mod_channel, discord.TextChannel)
    role = mod_channel.guild.get_role(helpers.id)
    assert role is not None
    await mod_channel.set_permissions(role, view_channel=True)
    await market.settle()
    return helper


# -- 1. a client who never funds -----------------------------------------------------------------


async def test_a_client_who_never_funds_is_reminded_escalated_and_cancelled_by_a_moderator(
    setup_market: Market,
) -> None:
    market = setup_market
    contract = await hired_contract(market)
    start = contract.clock_at
    remind_text = t("en", "remind.escrow", contract_id=contract.id)

    # Nothing before the moment.
    await tick_at(market, start, DAY - timedelta(minutes=1))
    assert reminders(market, market.client) == []

    # At escrow_reminder_after (1d): the client, who must act, is reminded with the deposit button.
    await tick_at(market, start, DAY)
    [first] = reminders(market, market.client)
    assert first.content == remind_text
    assert custom_ids(first) == [f"cw:escrow:{contract.id}:deposit"]
    assert labels(first) == [t("en", "button.escrow.deposit")]
    assert reminders(market, market.worker) == []  # never the one who waits
    assert cards(market) == []
    before = snapshot(market)
    await market.sweep()  # the same tick again: nothing twice
    assert snapshot(market) == before

    # After reminder_repeat_every (1d) another one, and only one.
    await tick_at(market, start, 2 * DAY - timedelta(minutes=1))
    assert len(reminders(market, market.client)) == 1
    await tick_at(market, start, 2 * DAY)
    assert [m.content for m in reminders(market, market.client)] == [remind_text, remind_text]
    assert reminders(market, market.worker) == []
    assert cards(market) == []

    # At escrow_escalate_after (3d): the case card reaches the mod channel; no third reminder.
    await tick_at(market, start, 3 * DAY)
    case = await the_case(market)
    assert (case.kind, case.reason_kind, case.subject_id, case.status) == (
        "escalation",
        "escrow_unfunded",
        market.client.id,
        "open",
    )
    [card] = cards(market)
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
    assert f"{format_time(start)} · {t('en', 'ui.case.event.contract.accepted')} · {market.worker.mention}" in timeline
    assert timeline[-1] == f"{format_time(start + 3 * DAY)} · {t('en', 'ui.case.event.case.opened.escrow_unfunded')}"
    figures = card_field(card, t("en", "ui.case.figures"))
    assert figures.startswith(market.client.mention)
    client_figures = await market.services.reputation.figures(market.guild.id, market.client.id)
    assert client_line(client_figures, "en") in figures
    assert "escalations 1" in figures
    assert custom_ids(card) == [f"cw:case:{case.id}:{a}" for a in ("nudge", "extend", "cancel", "close", "join")]
    assert t("en", "button.case.cancel") in labels(card)
    assert not any(disabled(card))
    assert len(reminders(market, market.client)) == 2
    assert (await the_case(market)).mod_message_id == card.id

    before = snapshot(market)
    await market.sweep()
    await tick_at(market, start, 3 * DAY + timedelta(hours=12))
    assert snapshot(market) == before  # sweeping again adds nothing
    assert len(await market.services.cases.list(market.guild.id, None)) == 1

    # A member without the moderator role who can see the card is refused, and gets no modal.
    helper = await a_helper_who_sees_the_mod_channel(market)
    result = await helper.click(card, custom_id=f"cw:case:{case.id}:cancel")
    refused(market, result, "error.check_failed")
    assert result.modal is None

    # Another moderator opens the same modal but is slower.
    late = await open_cancel_modal(market, market.admin, card, case)

    # The moderator clicks Cancel contract: a modal asks why.
    shown = await open_cancel_modal(market, market.moderator, card, case)
    reason_input = modal_inputs(shown)["reason"]
    assert reason_input["required"] is True
    decided_at = market.clock.now()
    result = await market.moderator.submit_modal(shown, {"reason": "The client never paid."})

    label = t("en", "button.case.cancel")
    assert result.followups[-1].ephemeral
    assert result.followups[-1].content == t("en", "ui.case.done", case_id=case.id, action=label)
    assert (await reload(market, contract.id)).status == "cancelled"
    decided = await the_case(market)
    assert (decided.status, decided.resolution, decided.resolved_by, decided.resolution_note) == (
        "resolved",
        "cancel",
        market.moderator.id,
        "The client never paid.",
    )
    # The card, edited in place, shows the decision; its buttons are disabled.
    edited = fresh(card, market)
    assert card_field(edited, t("en", "ui.case.decision")) == t(
        "en",
        "ui.case.decision_line",
        moderator=market.moderator.mention,
        action=label,
        at=format_time(decided_at),
        reason="The client never paid.",
    )
    assert custom_ids(edited) == custom_ids(card)
    assert all(disabled(edited))
    assert len(cards(market)) == 1
    # Both parties are told the outcome.
    outcome = t("en", "notify.case_cancel", contract_id=contract.id, case_id=case.id, reason="The client never paid.")
    assert market.dms(market.client)[-1].content == outcome
    assert market.dms(market.worker)[-1].content == outcome

    # Nothing more can be decided: a disabled button cannot be clicked, a modal cannot be
    # submitted twice, and a modal opened before the decision is refused.
    with pytest.raises(simcord.SetupError, match="disabled"):
        await market.moderator.click(edited, custom_id=f"cw:case:{case.id}:cancel")
    with pytest.raises(simcord.SetupError, match="already been submitted"):
        await market.moderator.submit_modal(shown, {"reason": "Again."})
    before = snapshot(market)
    result = await market.admin.submit_modal(late, {"reason": "Cancel it."})
    refused(market, result, "error.case.closed", case_id=case.id)
    assert snapshot(market) == before
    assert (await the_case(market)).resolved_by == market.moderator.id

    # A cancelled contract has nothing more to remind anyone of.
    await tick_at(market, start, 10 * DAY)
    assert snapshot(market) == before


# -- 2. the same in Japanese ---------------------------------------------------------------------


async def test_the_unfunded_flow_in_japanese(setup_market: Market) -> None:
    market = setup_market
    contract = await hired_contract(market)
    start = contract.clock_at
    market.set_locale(market.client, "ja")
    await market.client.slash(market.general, "help")  # any interaction: the bot learns the client's locale

    await tick_at(market, start, DAY)

    [reminder] = reminders(market, market.client)
    assert reminder.content == t("ja", "remind.escrow", contract_id=contract.id)
    assert reminder.content != t("en", "remind.escrow", contract_id=contract.id)
    assert labels(reminder) == [t("ja", "button.escrow.deposit")]
    assert custom_ids(reminder) == [f"cw:escrow:{contract.id}:deposit"]

    await tick_at(market, start, 2 * DAY)
    assert len(reminders(market, market.client)) == 2
    await tick_at(market, start, 3 * DAY)
    case = await the_case(market)
    [card] = cards(market)
    # The card is in the server's language (English here), whatever the client's.
    assert card.content == market.moderators_pinged + t(
        "en",
        "case.card.escrow_unfunded",
        case_id=case.id,
        contract_id=contract.id,
        subject_id=market.client.mention,
        reason="-",
    )

    shown = await open_cancel_modal(market, market.moderator, card, case)
    await market.moderator.submit_modal(shown, {"reason": "クライアントが入金しませんでした。"})

    assert (await reload(market, contract.id)).status == "cancelled"
    args = {"contract_id": contract.id, "case_id": case.id, "reason": "クライアントが入金しませんでした。"}
    assert market.dms(market.client)[-1].content == t("ja", "notify.case_cancel", **args)
    assert market.dms(market.worker)[-1].content == t("en", "notify.case_cancel", **args)  # each in their language


# -- 3. a delivery the client never reviews ------------------------------------------------------


async def test_a_silent_client_is_reminded_then_the_delivery_is_auto_approved(setup_market: Market) -> None:
    market = setup_market
    contract = await delivered_contract(market)
    start = contract.clock_at
    review_text = t("en", "remind.review", contract_id=contract.id)
    escrow = market.services.escrow

    await tick_at(market, start, 2 * DAY - timedelta(minutes=1))
    assert reminders(market, market.client) == []

    # review_reminder_after (2d): the client is reminded with the review buttons.
    await tick_at(market, start, 2 * DAY)
    [first] = reminders(market, market.client)
    assert first.content == review_text
    assert custom_ids(first) == [f"cw:review:{contract.id}:approve", f"cw:review:{contract.id}:revise"]
    assert reminders(market, market.worker) == []
    await market.sweep()
    assert len(reminders(market, market.client)) == 1

    # repeated every day until the auto-approval
    await tick_at(market, start, 3 * DAY)
    assert len(reminders(market, market.client)) == 2
    await tick_at(market, start, 7 * DAY - timedelta(minutes=1))
    assert len(reminders(market, market.client)) == 3  # one for the missed days, not one per day
    assert (await reload(market, contract.id)).status == "delivered"
    assert (await escrow.balance(market.guild.id, market.worker.id)).owed == 0

    # review_auto_approve_after (7d): approved and released; both parties told.
    await tick_at(market, start, 7 * DAY)
    assert (await reload(market, contract.id)).status == "completed"
    assert len(reminders(market, market.client)) == 3  # no reminder next to the approval
    amounts = {"contract_id": contract.id, "payout_amount": "¥45,000", "fee_amount": "¥5,000"}
    assert t("en", "notify.auto_approved_worker", **amounts) in [m.content for m in market.dms(market.worker)]
    assert t("en", "notify.auto_approved_client", **amounts) in [m.content for m in market.dms(market.client)]
    worker_balance = await escrow.balance(market.guild.id, market.worker.id)
    assert (worker_balance.owed, worker_balance.refund) == (PAYOUT, 0)
    guild_balance = await escrow.balance(market.guild.id)
    assert (guild_balance.escrow_total, guild_balance.owed, guild_balance.fees) == (0, PAYOUT, FEE)

    # Sweeping again changes nothing.
    before = snapshot(market)
    await market.sweep()
    await tick_at(market, start, 8 * DAY)
    assert snapshot(market) == before
    assert (await escrow.balance(market.guild.id, market.worker.id)).owed == PAYOUT
    assert (await reload(market, contract.id)).status == "completed"


# -- 4. restart-safety ---------------------------------------------------------------------------


async def test_a_bot_down_for_three_days_sends_each_due_message_once(setup_market: Market) -> None:
    market = setup_market
    contract = await hired_contract(market)
    start = contract.clock_at
    assert reminders(market, market.client) == []

    # The bot was down: no tick ran for three days and an hour.
    market.clock.set(start + 3 * DAY + timedelta(hours=1))
    await market.restart()  # a new bot on the same database: its start-up sweep

    [reminder] = reminders(market, market.client)  # one, not one per missed tick
    assert reminder.content == t("en", "remind.escrow", contract_id=contract.id)
    assert reminders(market, market.worker) == []
    [card] = cards(market)
    case = await the_case(market)
    assert case.mod_message_id == card.id
    assert card.content == market.moderators_pinged + t(
        "en",
        "case.card.escrow_unfunded",
        case_id=case.id,
        contract_id=contract.id,
        subject_id=market.client.mention,
        reason="-",
    )

    # Another restart: its start-up sweep finds nothing new; the old card's buttons still work.
    before = snapshot(market)
    await market.restart()
    await market.sweep()
    assert snapshot(market) == before

    shown = await open_cancel_modal(market, market.moderator, card, case)
    result = await market.moderator.submit_modal(shown, {"reason": "Unpaid for three days."})
    assert result.followups[-1].content == t(
        "en", "ui.case.done", case_id=case.id, action=t("en", "button.case.cancel")
    )
    assert (await reload(market, contract.id)).status == "cancelled"
    assert all(disabled(fresh(card, market)))
    outcome = t("en", "notify.case_cancel", contract_id=contract.id, case_id=case.id, reason="Unpaid for three days.")
    assert market.dms(market.client)[-1].content == outcome
    assert market.dms(market.worker)[-1].content == outcome


# -- 5. a moderator who is a party ---------------------------------------------------------------


async def test_a_moderator_who_is_the_client_cannot_act_on_the_case(setup_market: Market) -> None:
    market = setup_market
    contract = await hired_contract(market, client=market.moderator)
    start = contract.clock_at
    await tick_at(market, start, 3 * DAY)
    case = await the_case(market)
    assert case.subject_id == market.moderator.id
    [card] = cards(market)
    before = snapshot(market)

    for action in ("cancel", "close", "nudge"):
        shown = await market.moderator.click(card, custom_id=f"cw:case:{case.id}:{action}")
        assert shown.modal is None  # refused at the click, before typing a reason
        refused(market, shown, "error.mod.party", case_id=case.id)

    # Nothing changed: the contract, the case, the card, nobody was told anything.
    assert (await reload(market, contract.id)).status == "awaiting_funding"
    unchanged = await the_case(market)
    assert (unchanged.status, unchanged.resolved_by) == ("open", None)
    assert not any(disabled(fresh(card, market)))
    assert snapshot(market) == before

    # Another moderator can.
    shown = await open_cancel_modal(market, market.admin, card, case)
    await market.admin.submit_modal(shown, {"reason": "Withdrawn."})
    assert (await reload(market, contract.id)).status == "cancelled"


# -- 6. DMs closed ---------------------------------------------------------------------------------


async def test_a_reminder_to_a_client_with_closed_dms_goes_to_the_contract_thread(setup_market: Market) -> None:
    market = setup_market
    contract = await hired_contract(market)
    start = contract.clock_at
    thread = await contract_thread(market, contract)
    in_thread = len(thread.history())
    market.env.inject_error(
        "POST",
        f"/channels/{market.client.user.dm_channel.id}/messages",
        status=403,
        code=50007,
        message="Cannot send messages to this user",
        times=None,
    )

    await tick_at(market, start, DAY)

    assert reminders(market, market.client) == []
    posts = thread.history()[in_thread:]
    remind_text = t("en", "remind.escrow", contract_id=contract.id)
    [post] = [m for m in posts if remind_text in m.content]
    assert post.content == t("en", "dispatch.fallback_thread", mention=market.client.mention, message=remind_text)
    assert custom_ids(post) == [f"cw:escrow:{contract.id}:deposit"]
    assert [m.id for m in post.mentions] == [market.client.id]
    # not as a note in the mod channel, and only once
    assert not [m for m in market.mod.history() if remind_text in m.content]
    await market.sweep()
    assert len([m for m in thread.history() if remind_text in m.content]) == 1


async def test_a_client_reply_written_while_the_bot_was_down_is_caught_up_at_start(setup_market: Market) -> None:
    market = setup_market
    contract = await funded(market)
    thread = market.contracts.threads[0]
    await same_time(market)  # Discord's timestamps and the bot's clock agree, as in production
    await market.worker.send(thread, "Which colours do you want?")
    waiting = await reload(market, contract.id)
    assert waiting.awaiting_reply_since is not None
    start = waiting.awaiting_reply_since
    # The client answers while the bot is down: no event reaches it. (Simulated by putting the
    # wait back after the live event cleared it: the same database state a missed event leaves.)
    market.clock.advance(hours=2)
    await same_time(market)
    await market.client.send(thread, "Red and white, please.")
    await market.sql("UPDATE contracts SET awaiting_reply_since = ? WHERE id = ?", to_iso(start), contract.id)

    market.clock.set(start + 4 * DAY)
    await market.restart()  # the start-up reads the thread since the wait began, then sweeps

    assert (await reload(market, contract.id)).awaiting_reply_since is None
    assert reminders(market, market.client) == []
    assert cards(market) == []
    await tick_at(market, start, 5 * DAY)
    assert cards(market) == []


async def test_a_worker_still_waiting_after_the_downtime_is_escalated_once(setup_market: Market) -> None:
    market = setup_market
    contract = await funded(market)
    thread = market.contracts.threads[0]
    await market.worker.send(thread, "Which colours do you want?")
    start = (await reload(market, contract.id)).awaiting_reply_since
    assert start is not None

    market.clock.set(start + 4 * DAY)
    await market.restart()

    assert (await reload(market, contract.id)).awaiting_reply_since == start
    [card] = cards(market)
    assert t("en", "case.card.reply_silent", case_id=1, contract_id=contract.id,
             subject_id=market.client.mention) in card.content  # fmt: skip
