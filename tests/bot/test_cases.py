"""/report and /dispute: both open a moderator case and post its card to the mod channel."""

from __future__ import annotations

from datetime import timedelta

import discord
import pytest
import simcord

from bot.i18n import t
from bot.models.timeutil import to_iso
from tests.bot.conftest import Market
from tests.bot.helpers import active_contract, card_field, custom_ids, delivered_contract, last_dm


async def cases(market: Market, status: str | None = None) -> list:  # type: ignore[type-arg]
    return await market.services.cases.list(market.guild.id, status)


def card(market: Market) -> discord.Message:
    message = market.mod.last_message
    assert message is not None and message.embeds, "no case card in the mod channel"
    return message


# -- /report --------------------------------------------------------------------------------


async def test_report_goes_privately_to_the_moderators(setup_market: Market) -> None:
    market = setup_market
    contract = await active_contract(market)
    dms_before = len(market.dms(market.client))

    result = await market.worker.slash(
        market.general,
        "report",
        user=market.client,
        contract=contract.id,
        reason="Asked me to pay a 'registration fee' outside the bot.",
    )

    [case] = await cases(market)
    simcord.assert_responded(
        result, content=t("en", "ui.report.done", case_id=case.id, user=market.client.mention), ephemeral=True
    )
    assert (case.kind, case.opened_by, case.subject_id) == ("report", market.worker.id, market.client.id)
    posted = card(market)
    assert posted.content == t(
        "en",
        "case.card.report",
        case_id=case.id,
        reporter_id=market.worker.mention,
        subject_id=market.client.mention,
        contract_id=contract.id,
        reason="Asked me to pay a 'registration fee' outside the bot.",
    )
    # the contract's buttons, as on an escalation; a report closes as upheld or dismissed
    actions = ("nudge", "extend", "release", "refund", "split", "uphold", "dismiss", "join")
    assert custom_ids(posted) == [f"cw:case:{case.id}:{action}" for action in actions]
    # the card shows the contract and its timeline, as an escalation's does
    assert f"#{contract.id}" in card_field(posted, t("en", "ui.case.contract"))
    assert t("en", "ui.case.event.escrow.confirmed") in card_field(posted, t("en", "ui.case.timeline"))
    [stored] = await cases(market)
    assert stored.mod_message_id == posted.id
    # The reported user hears nothing, and nobody was pinged.
    assert len(market.dms(market.client)) == dms_before
    [sent] = [
        r
        for r in market.env.http_requests
        if r.method == "POST"
        and r.path == f"/channels/{market.mod.id}/messages"
        and r.json
        and r.json.get("content") == posted.content
    ]
    allowed = sent.json["allowed_mentions"]
    assert allowed["parse"] == [] and not allowed.get("users") and not allowed.get("roles")


async def test_report_in_japanese(setup_market: Market) -> None:
    market = setup_market
    market.set_locale(market.client, "ja")

    result = await market.client.slash(market.general, "report", user=market.outsider, reason="スパムのDMが届きます")

    [case] = await cases(market)
    simcord.assert_responded(
        result, content=t("ja", "ui.report.done", case_id=case.id, user=market.outsider.mention), ephemeral=True
    )


async def test_reporting_oneself_is_refused(setup_market: Market) -> None:
    market = setup_market
    result = await market.client.slash(market.general, "report", user=market.client, reason="Testing")
    market.assert_refused(result, "error.case.report_self")
    assert await cases(market) == []


async def test_reports_are_rate_limited(setup_market: Market) -> None:
    market = setup_market
    await market.client.slash(market.general, "report", user=market.outsider, reason="Spam")

    result = await market.client.slash(market.general, "report", user=market.worker, reason="More spam")

    retry_at = market.clock.now() + timedelta(minutes=10)
    market.assert_refused(result, "error.cooldown", retry_at=to_iso(retry_at))
    assert len(await cases(market)) == 1


async def test_report_on_an_unknown_contract_is_refused(setup_market: Market) -> None:
    market = setup_market
    result = await market.client.slash(market.general, "report", user=market.outsider, reason="Spam", contract=999)
    market.assert_refused(result, "error.contract.not_found", contract_id=999)
    assert await cases(market) == []


async def test_report_before_setup(market: Market) -> None:
    result = await market.client.slash(market.general, "report", user=market.outsider, reason="Spam")
    market.assert_refused(result, "error.not_configured")


# -- /dispute --------------------------------------------------------------------------------


async def test_dispute_opens_a_case_and_tells_both_parties(setup_market: Market) -> None:
    market = setup_market
    contract = await delivered_contract(market)

    result = await market.worker.slash(
        market.general,
        "dispute",
        contract=contract.id,
        reason="The client keeps adding demands that are not in the terms.",
    )

    [case] = await cases(market)
    simcord.assert_responded(
        result, content=t("en", "ui.dispute.done", case_id=case.id, contract_id=contract.id), ephemeral=True
    )
    reloaded = await market.services.contracts.get(contract.id)
    assert reloaded is not None and reloaded.status == "disputed"
    assert (case.kind, case.subject_id) == ("dispute", market.client.id)
    for member in (market.client, market.worker):
        assert last_dm(market, member, "🛡️").content == t(
            "en", "notify.case_opened", case_id=case.id, contract_id=contract.id
        )
    posted = card(market)
    assert custom_ids(posted) == [
        f"cw:case:{case.id}:{a}" for a in ("nudge", "extend", "release", "refund", "split", "close", "join")
    ]


async def test_dispute_in_japanese(setup_market: Market) -> None:
    market = setup_market
    contract = await active_contract(market)
    market.set_locale(market.client, "ja")

    result = await market.client.slash(market.general, "dispute", contract=contract.id, reason="納期を過ぎています")

    [case] = await cases(market)
    simcord.assert_responded(
        result, content=t("ja", "ui.dispute.done", case_id=case.id, contract_id=contract.id), ephemeral=True
    )


async def test_only_a_party_disputes(setup_market: Market) -> None:
    market = setup_market
    contract = await active_contract(market)

    result = await market.outsider.slash(market.general, "dispute", contract=contract.id, reason="I saw it all")

    market.assert_refused(result, "error.contract.not_party", contract_id=contract.id)
    assert await cases(market) == []


async def test_a_second_dispute_is_refused(setup_market: Market) -> None:
    market = setup_market
    contract = await active_contract(market)
    await market.worker.slash(market.general, "dispute", contract=contract.id, reason="Unreachable client")

    result = await market.client.slash(market.general, "dispute", contract=contract.id, reason="Late work")

    market.assert_refused(result, "error.case.already_open", contract_id=contract.id)
    assert len(await cases(market)) == 1


async def test_no_dispute_before_the_deposit(setup_market: Market) -> None:
    market = setup_market
    contract = await active_contract(market)
    await market.sql("UPDATE contracts SET status = 'awaiting_funding' WHERE id = ?", contract.id)

    result = await market.client.slash(market.general, "dispute", contract=contract.id, reason="Changed my mind")

    market.assert_refused(result, "error.case.dispute_state", status="awaiting_funding")
    assert await cases(market) == []


async def test_reason_is_bounded_by_discord(setup_market: Market) -> None:
    market = setup_market
    contract = await active_contract(market)
    with pytest.raises(simcord.OptionError):
        await market.client.slash(market.general, "dispute", contract=contract.id, reason="x" * 1001)


async def test_the_contract_options_suggest_the_users_contracts(setup_market: Market) -> None:
    market = setup_market
    contract = await active_contract(market)

    choices = await market.client.autocomplete(market.general, "dispute", "contract", "")
    assert [c["value"] for c in choices] == [contract.id]
    choices = await market.worker.autocomplete(market.general, "report", "contract", str(contract.id))
    assert [c["value"] for c in choices] == [contract.id]
    assert await market.outsider.autocomplete(market.general, "dispute", "contract", "") == []
