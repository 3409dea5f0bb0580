"""/review approve, /review revise and the buttons of the delivery DM; the worker's answer to
a revision beyond those included in the terms."""

from __future__ import annotations

import pytest
import simcord

from bot.i18n import t
from tests.bot.conftest import Market
from tests.bot.helpers import (
    active_contract,
    copy_of_buttons,
    custom_ids,
    delivered_contract,
    delivery_dm,
    disabled,
    last_dm,
    ledger,
    refused,
    status_of,
)

PAYOUT, FEE = 45000, 5000  # 50000 JPY at the default 10% fee


# -- /review approve ------------------------------------------------------------------------


async def test_approve_releases_the_escrow(setup_market: Market) -> None:
    market = setup_market
    contract = await delivered_contract(market)

    result = await market.client.slash(market.general, "review approve", contract=contract.id)

    simcord.assert_responded(result, content=t("en", "ui.review.approved", contract_id=contract.id), ephemeral=True)
    assert await status_of(market, contract.id) == "completed"
    assert await ledger(market, f"owed:{market.worker.id}") == PAYOUT
    assert last_dm(market, market.worker, "🎉").content == t(
        "en", "notify.approved_worker", contract_id=contract.id, payout_amount="¥45,000", fee_amount="¥5,000"
    )


async def test_approve_in_japanese(setup_market: Market) -> None:
    market = setup_market
    contract = await delivered_contract(market)
    market.set_locale(market.client, "ja")

    result = await market.client.slash(market.general, "review approve", contract=contract.id)

    simcord.assert_responded(result, content=t("ja", "ui.review.approved", contract_id=contract.id), ephemeral=True)


async def test_only_the_client_reviews(setup_market: Market) -> None:
    market = setup_market
    contract = await delivered_contract(market)

    for member in (market.worker, market.outsider):
        result = await member.slash(market.general, "review approve", contract=contract.id)
        market.assert_refused(result, "error.review.client_only", contract_id=contract.id)
        result = await member.slash(market.general, "review revise", contract=contract.id, reason="Redo it")
        market.assert_refused(result, "error.review.client_only", contract_id=contract.id)
    assert await status_of(market, contract.id) == "delivered"


async def test_nothing_to_review_before_a_delivery(setup_market: Market) -> None:
    market = setup_market
    contract = await active_contract(market)

    result = await market.client.slash(market.general, "review approve", contract=contract.id)

    market.assert_refused(result, "error.contract.state", status="active", action="approve")
    assert await ledger(market, f"escrow:{contract.id}") == 50000


async def test_the_contract_option_suggests_deliveries_to_review(setup_market: Market) -> None:
    market = setup_market
    delivered = await delivered_contract(market)
    await active_contract(market)

    for command in ("review approve", "review revise"):
        choices = await market.client.autocomplete(market.general, command, "contract", "")
        assert [c["value"] for c in choices] == [delivered.id]
        assert await market.worker.autocomplete(market.general, command, "contract", "") == []


# -- the buttons of the delivery DM ------------------------------------------------------------


async def test_the_approve_button_in_the_dm(setup_market: Market) -> None:
    market = setup_market
    contract = await delivered_contract(market)
    dm = delivery_dm(market)

    result = await market.client.user.click(dm, custom_id=f"cw:review:{contract.id}:approve")

    assert result.followups and result.followups[-1].ephemeral
    assert result.followups[-1].content == t("en", "ui.review.approved", contract_id=contract.id)
    assert await status_of(market, contract.id) == "completed"
    assert disabled(delivery_dm(market)) == [True, True]  # the DM shows it was answered
    with pytest.raises(simcord.SetupError, match="disabled"):  # so a second click cannot happen
        await market.client.user.click(delivery_dm(market), custom_id=f"cw:review:{contract.id}:approve")


async def test_the_buttons_work_after_a_restart_and_a_second_answer_is_refused(setup_market: Market) -> None:
    market = setup_market
    contract = await delivered_contract(market)
    await market.restart()

    # The client approved with the command meanwhile: the DM's button finds the contract completed.
    first = await market.client.user.click(delivery_dm(market), custom_id=f"cw:review:{contract.id}:approve")
    assert await status_of(market, contract.id) == "completed"
    second = await market.client.slash(market.general, "review approve", contract=contract.id)

    assert first.followups[-1].content == t("en", "ui.review.approved", contract_id=contract.id)
    market.assert_refused(second, "error.contract.state", status="completed", action="approve")
    assert await ledger(market, f"owed:{market.worker.id}") == PAYOUT  # released once


async def test_a_button_after_the_command_is_refused(setup_market: Market) -> None:
    market = setup_market
    contract = await delivered_contract(market)
    # the revision form was opened from the DM before the client approved with the command
    shown = await market.client.user.click(delivery_dm(market), custom_id=f"cw:review:{contract.id}:revise")
    await market.client.slash(market.general, "review approve", contract=contract.id)
    await market.settle()

    assert disabled(delivery_dm(market)) == [True, True]  # the DM's buttons are greyed out
    late = await market.client.user.submit_modal(shown, {"reason": "Make it red"})
    refused(market, late, "error.contract.state", status="completed", action="revise")
    assert await ledger(market, f"owed:{market.worker.id}") == PAYOUT


# -- revisions ------------------------------------------------------------------------------------


async def test_revise_with_the_command(setup_market: Market) -> None:
    market = setup_market
    contract = await delivered_contract(market)

    result = await market.client.slash(
        market.general, "review revise", contract=contract.id, reason="Please use the red of the shop sign."
    )

    [request] = (
        await market.services.history.history(market.guild.id, contract.id, viewer_id=market.client.id)
    ).revisions
    simcord.assert_responded(
        result,
        content=t("en", "ui.scope.revised", contract_id=contract.id, revision_id=request.id, version=1),
        ephemeral=True,
    )
    assert await status_of(market, contract.id) == "delivered"  # waits for the worker's answer
    dm = last_dm(market, market.worker, "✏️")
    terms = (await market.services.contracts.view(market.guild.id, contract.id, viewer_id=market.worker.id)).terms
    assert dm.content == t(
        "en",
        "notify.scope_revision_included",
        contract_id=contract.id,
        revision_id=request.id,
        used=1,
        allowed=2,
        reason="Please use the red of the shop sign.",
        reverts="-",
        version=1,
        scope=terms.scope,
    )
    assert custom_ids(dm) == [f"cw:revision:{request.id}:accept", f"cw:revision:{request.id}:scope"]

    answer = await market.worker.user.click(dm, custom_id=f"cw:revision:{request.id}:accept")

    assert answer.followups[-1].content == t("en", "ui.scope.accepted", contract_id=contract.id,
                                             revision_id=request.id)
    assert await status_of(market, contract.id) == "active"
    assert last_dm(market, market.client, "👍").content == t(
        "en", "notify.scope_revision_accepted", contract_id=contract.id, revision_id=request.id
    )


async def test_revise_needs_a_reason(setup_market: Market) -> None:
    market = setup_market
    contract = await delivered_contract(market)

    result = await market.client.slash(market.general, "review revise", contract=contract.id, reason="   ")

    market.assert_refused(result, "error.text.required", field="reason")
    assert await status_of(market, contract.id) == "delivered"


async def test_the_revise_button_asks_in_a_modal(setup_market: Market) -> None:
    market = setup_market
    contract = await delivered_contract(market)
    market.set_locale(market.client, "ja")

    shown = await market.client.user.click(delivery_dm(market), custom_id=f"cw:review:{contract.id}:revise")
    assert shown.modal is not None
    assert shown.modal["title"] == t("ja", "ui.review.modal_title", contract_id=contract.id)
    result = await market.client.user.submit_modal(shown, {"reason": "ロゴの赤をお店の看板に合わせてください。"})

    [request] = (
        await market.services.history.history(market.guild.id, contract.id, viewer_id=market.client.id)
    ).revisions
    assert result.followups[-1].content == t("ja", "ui.scope.revised", contract_id=contract.id,
                                             revision_id=request.id, version=1)
    assert result.followups[-1].ephemeral
    assert disabled(delivery_dm(market)) == [True, True]
    assert await status_of(market, contract.id) == "delivered"
    assert request.reason == "ロゴの赤をお店の看板に合わせてください。" and request.included


async def test_an_extra_revision_is_the_workers_choice(setup_market: Market) -> None:
    market = setup_market
    contract = await delivered_contract(market, revisions=0)

    result = await market.client.slash(market.general, "review revise", contract=contract.id, reason="Add a mascot")

    [request] = (
        await market.services.history.history(market.guild.id, contract.id, viewer_id=market.client.id)
    ).revisions
    simcord.assert_responded(
        result,
        content=t("en", "ui.scope.revised_extra", contract_id=contract.id, revision_id=request.id, version=1),
        ephemeral=True,
    )
    assert await status_of(market, contract.id) == "delivered"
    dm = last_dm(market, market.worker, "✏️")
    assert custom_ids(dm) == [f"cw:revision:{request.id}:accept", f"cw:revision:{request.id}:decline",
                              f"cw:revision:{request.id}:scope"]

    # One question at a time.
    wrong = await market.client.slash(market.general, "review revise", contract=contract.id, reason="Again")
    market.assert_refused(wrong, "error.scope.revision_pending", contract_id=contract.id)

    answer = await market.worker.user.click(dm, custom_id=f"cw:revision:{request.id}:accept")

    assert answer.followups[-1].content == t("en", "ui.revision.accepted", contract_id=contract.id)
    assert disabled(last_dm(market, market.worker, "✏️")) == [True, True, True]
    assert await status_of(market, contract.id) == "active"
    assert last_dm(market, market.client, "The worker agreed").content == t(
        "en", "notify.extra_revision_accepted", contract_id=contract.id
    )


async def test_declining_an_extra_revision(setup_market: Market) -> None:
    market = setup_market
    contract = await delivered_contract(market, revisions=0)
    await market.client.slash(market.general, "review revise", contract=contract.id, reason="Add a mascot")
    dm = last_dm(market, market.worker, "✏️")
    [request] = (
        await market.services.history.history(market.guild.id, contract.id, viewer_id=market.client.id)
    ).revisions
    await market.restart()

    answer = await market.worker.user.click(dm, custom_id=f"cw:revision:{request.id}:decline")

    assert answer.followups[-1].content == t("en", "ui.revision.declined", contract_id=contract.id)
    assert await status_of(market, contract.id) == "delivered"
    [request] = (
        await market.services.history.history(market.guild.id, contract.id, viewer_id=market.client.id)
    ).revisions
    assert request.status == "declined"

    # Another copy of the question (as a DM fallback would post it) no longer takes an answer.
    copy = await copy_of_buttons(market, market.worker, [f"revision:{request.id}:accept"])
    again = await market.worker.user.click(copy, custom_id=f"cw:revision:{request.id}:accept")
    refused(market, again, "error.review.revision_answered", status="declined")
    assert await status_of(market, contract.id) == "delivered"


async def test_only_the_worker_answers_an_extra_revision(setup_market: Market) -> None:
    market = setup_market
    contract = await delivered_contract(market, revisions=0)
    await market.client.slash(market.general, "review revise", contract=contract.id, reason="Add a mascot")
    [request] = (
        await market.services.history.history(market.guild.id, contract.id, viewer_id=market.client.id)
    ).revisions
    market.set_locale(market.client, "ja")

    copy = await copy_of_buttons(market, market.client, [f"revision:{request.id}:accept"])
    result = await market.client.user.click(copy, custom_id=f"cw:revision:{request.id}:accept")

    refused(market, result, "error.delivery.worker_only", "ja", contract_id=contract.id)
    assert await status_of(market, contract.id) == "delivered"
