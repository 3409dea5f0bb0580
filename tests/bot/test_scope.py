"""Scope and revisions through Discord: the worker answers a revision request "Outside the
agreed scope" with a price in a modal, the client accepts or rejects the amendment it became;
A → B → A flagged in the thread and in /contract history."""

from __future__ import annotations

import pytest

from bot.i18n import t
from bot.models.entities import Contract
from bot.services.deliveries import IncomingFile
from bot.ui.format import format_args
from tests.bot.conftest import Market
from tests.bot.helpers import (
    LOGO,
    contract_thread,
    copy_of_buttons,
    custom_ids,
    delivered_contract,
    disabled,
    last_dm,
    refused,
    status_of,
)


async def ask(market: Market, contract: Contract, reason: str) -> int:
    await market.client.slash(market.general, "review revise", contract=contract.id, reason=reason)
    await market.settle()
    history = await market.services.history.history(market.guild.id, contract.id, viewer_id=market.client.id)
    return history.revisions[-1].id


def said(language: str, key: str, **args: object) -> str:
    return t(language, key, **format_args(args, language))


@pytest.mark.parametrize("language", ["en", "ja"])
async def test_outside_the_agreed_scope_becomes_an_amendment_the_client_accepts(setup_market: Market,
                                                                                language: str) -> None:
    market = setup_market
    market.set_locale(market.worker, language)
    market.set_locale(market.client, language)
    contract = await delivered_contract(market)
    await market.worker.slash(market.general, "help")  # the bot learns the worker's language
    rid = await ask(market, contract, "Add a mascot holding the bowl.")
    question = last_dm(market, market.worker, "✏️")
    assert custom_ids(question) == [f"cw:revision:{rid}:accept", f"cw:revision:{rid}:scope"]
    assert [c.label for row in question.components for c in row.children] == [  # type: ignore[attr-defined]
        t(language, "button.revision.accept"), t(language, "button.revision.scope")]

    shown = await market.worker.user.click(question, custom_id=f"cw:revision:{rid}:scope")
    assert shown.modal is not None
    assert shown.modal["title"] == t(language, "ui.scope.scope_modal_title", revision_id=rid)
    result = await market.worker.user.submit_modal(shown, {"price": "65000", "reason": "A mascot is new work."})
    await market.settle()

    [amendment] = (await market.services.history.history(market.guild.id, contract.id,
                                                         viewer_id=market.client.id)).amendments
    assert result.followups[-1].content == t(language, "ui.scope.proposed", revision_id=rid,
                                             amendment_id=amendment.id, contract_id=contract.id)
    assert result.followups[-1].ephemeral
    assert disabled(last_dm(market, market.worker, "✏️")) == [True, True]
    offer = last_dm(market, market.client, "📐")
    assert offer.content == said(language, "notify.scope_outside", contract_id=contract.id, revision_id=rid,
                                 amendment_id=amendment.id, price_amount=65000, currency="JPY")
    assert custom_ids(offer) == [f"cw:amendment:{amendment.id}:accept", f"cw:amendment:{amendment.id}:reject"]
    thread = await contract_thread(market, contract)
    assert thread.history()[-1].content.startswith("📐")
    assert await status_of(market, contract.id) == "delivered"

    await market.client.user.click(offer, custom_id=f"cw:amendment:{amendment.id}:accept")
    await market.settle()

    assert await status_of(market, contract.id) == "active"  # the work on the new scope starts
    resumed = await market.services.contracts.get(contract.id)
    assert resumed is not None
    assert last_dm(market, market.worker, "🔨").content == said(
        language, "notify.scope_resumed", contract_id=contract.id, amendment_id=amendment.id, revision_id=rid,
        due_at=resumed.due_at)
    view = await market.services.contracts.view(market.guild.id, contract.id, viewer_id=market.client.id)
    assert (view.terms.version, view.terms.scope, view.terms.price) == (2, "Add a mascot holding the bowl.", 65000)


async def test_the_client_rejects_and_the_revision_was_not_used_up(setup_market: Market) -> None:
    market = setup_market
    contract = await delivered_contract(market, revisions=1)
    rid = await ask(market, contract, "Add a mascot.")
    shown = await market.worker.user.click(last_dm(market, market.worker, "✏️"), custom_id=f"cw:revision:{rid}:scope")
    await market.worker.user.submit_modal(shown, {"price": "60000", "reason": "New work."})
    await market.settle()
    offer = last_dm(market, market.client, "📐")
    amendment_id = int(custom_ids(offer)[0].split(":")[2])

    await market.client.user.click(offer, custom_id=f"cw:amendment:{amendment_id}:reject")
    await market.settle()

    assert await status_of(market, contract.id) == "delivered"
    result = await market.client.slash(market.general, "review revise", contract=contract.id, reason="Redder red.")
    history = await market.services.history.history(market.guild.id, contract.id, viewer_id=market.client.id)
    again = history.revisions[-1]
    assert again.included  # the only included revision is still there
    assert result.response is not None and result.response.content == t(
        "en", "ui.scope.revised", contract_id=contract.id, revision_id=again.id, version=1)


async def test_outside_scope_refusals(setup_market: Market) -> None:
    market = setup_market
    contract = await delivered_contract(market)
    rid = await ask(market, contract, "Add a mascot.")
    question = last_dm(market, market.worker, "✏️")

    # the client cannot answer for the worker
    market.set_locale(market.client, "ja")
    copy = await copy_of_buttons(market, market.client, [f"revision:{rid}:scope"])
    shown = await market.client.user.click(copy, custom_id=f"cw:revision:{rid}:scope")
    wrong = await market.client.user.submit_modal(shown, {"price": "60000", "reason": "x"})
    refused(market, wrong, "error.delivery.worker_only", "ja", contract_id=contract.id)

    # a price that is not one
    shown = await market.worker.user.click(question, custom_id=f"cw:revision:{rid}:scope")
    bad = await market.worker.user.submit_modal(shown, {"price": "lots", "reason": "New work."})
    refused(market, bad, "error.money.decimals", field="price", currency="JPY", decimals=0)
    assert await status_of(market, contract.id) == "delivered"

    # an included revision is not declined
    declined = await market.worker.user.click(
        await copy_of_buttons(market, market.worker, [f"revision:{rid}:decline"]),
        custom_id=f"cw:revision:{rid}:decline",
    )
    refused(market, declined, "error.scope.included_decline", revision_id=rid)

    # answered once: the second answer is refused, nothing changes
    await market.worker.user.click(question, custom_id=f"cw:revision:{rid}:accept")
    await market.settle()
    late = await market.worker.user.click(
        await copy_of_buttons(market, market.worker, [f"revision:{rid}:scope"]), custom_id=f"cw:revision:{rid}:scope"
    )
    late_result = await market.worker.user.submit_modal(late, {"price": "60000", "reason": "New work."})
    refused(market, late_result, "error.review.revision_answered", status="accepted")
    history = await market.services.history.history(market.guild.id, contract.id, viewer_id=market.client.id)
    assert history.amendments == []
    assert await status_of(market, contract.id) == "active"


async def test_a_revert_is_flagged_in_the_thread_and_the_history(setup_market: Market) -> None:
    market = setup_market
    contract = await delivered_contract(market, revisions=5)
    services = market.services
    first = await ask(market, contract, "Make the bowl red.")
    waiting = first
    for reason in ("Make the bowl blue.", "make the bowl RED!"):  # A, B, then A re-typed
        await services.deliveries.answer_extra_revision(market.guild.id, waiting, actor_id=market.worker.id,
                                                        accept=True)
        await services.deliveries.deliver(market.guild.id, contract.id, actor_id=market.worker.id,
                                          files=[IncomingFile(*LOGO, "image/png")])
        waiting = await ask(market, contract, reason)
    second = waiting
    thread = await contract_thread(market, contract)

    assert thread.history()[-1].content == t(
        "en", "thread.scope_revision", contract_id=contract.id, revision_id=second, reason="make the bowl RED!",
        reverts=f"#{first}", version=1, used=3, allowed=5)
    result = await market.client.slash(market.general, "contract history", contract=contract.id)
    text = "\n".join(m.embeds[0].description or "" for m in (result.response, *result.followups) if m is not None)
    assert t("en", "ui.scope.reverts_revision", revision_id=first) in text
    figures = await services.reputation.client_figures(market.guild.id, market.client.id)
    assert figures.reverts == 1


async def test_amend_back_to_a_revision_request_is_noted_to_the_proposer(setup_market: Market) -> None:
    market = setup_market
    contract = await delivered_contract(market, revisions=5)
    services = market.services
    first = await ask(market, contract, "Logo in red.")
    await services.deliveries.answer_extra_revision(market.guild.id, first, actor_id=market.worker.id, accept=True)
    await services.deliveries.deliver(market.guild.id, contract.id, actor_id=market.worker.id,
                                      files=[IncomingFile(*LOGO, "image/png")])
    second = await ask(market, contract, "Logo in blue.")
    await services.deliveries.answer_extra_revision(market.guild.id, second, actor_id=market.worker.id, accept=True)
    market.set_locale(market.client, "ja")

    result = await market.client.slash(market.general, "contract amend", contract=contract.id,
                                       reason="やはり赤で", scope="ＬＯＧＯ　ｉｎ　ＲＥＤ。")

    [amendment] = (await services.history.history(market.guild.id, contract.id,
                                                  viewer_id=market.client.id)).amendments
    assert amendment.reverts_to_revision == first
    assert result.response is not None
    assert result.response.content.endswith(t("ja", "ui.scope.amendment_reverts_revision", revision_id=first))
