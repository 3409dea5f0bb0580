"""Deadline extensions through Discord: ``/contract extend`` and the "Ask for more time" button
on the thread's pinned terms card (a modal), the client's Accept / Decline buttons in a DM."""

from __future__ import annotations

from datetime import timedelta

import simcord

from bot.i18n import t
from bot.ui.format import format_time
from tests.bot.conftest import Market
from tests.bot.helpers import custom_ids, disabled, funded, hired, last_dm, refetch_dm, refused, reload


async def extensions(market: Market, contract_id: int) -> list[dict[str, object]]:
    rows = await market.services.db.fetchall(
        "SELECT * FROM extension_requests WHERE contract_id = ? ORDER BY id", (contract_id,))
    return [dict(row) for row in rows]


async def test_extend_and_the_client_accepts_with_the_button(setup_market: Market) -> None:
    market = setup_market
    contract = await funded(market)
    assert contract.due_at is not None

    result = await market.worker.slash(market.general, "contract extend", contract=contract.id, days=3,
                                       reason="The assets came late")
    [asked] = await extensions(market, contract.id)
    simcord.assert_responded(result, content=t("en", "ui.contract.extension_requested", extension_id=asked["id"],
                                               contract_id=contract.id, days=3), ephemeral=True)
    await market.settle()
    request = last_dm(market, market.client, "⏳")
    assert custom_ids(request) == [f"cw:extension:{asked['id']}:accept", f"cw:extension:{asked['id']}:decline"]
    assert "The assets came late" in request.content

    market.set_locale(market.client, "ja")
    due = contract.due_at + timedelta(days=3)
    clicked = await market.client.user.click(request, custom_id=f"cw:extension:{asked['id']}:accept")
    simcord.assert_responded(clicked, content=t("ja", "ui.contract.extension_accepted", extension_id=asked["id"],
                                                contract_id=contract.id, version=2, due_at=format_time(due)),
                             ephemeral=True)
    assert disabled(refetch_dm(market.client, request)) == [True, True]
    after = await reload(market, contract.id)
    assert (after.terms_version, after.due_at) == (2, due)
    await market.settle()
    assert last_dm(market, market.worker, "📄").content == t(
        "en", "notify.extension_accepted", extension_id=asked["id"], contract_id=contract.id, version=2,
        due_at=format_time(due))

    # the history shows the new version with the reason
    shown = await market.client.slash(market.general, "contract history", contract=contract.id)
    pages = [m for m in (shown.response, *shown.followups) if m is not None]
    text = "\n".join(e.description or "" for m in pages for e in m.embeds)
    assert "The assets came late" in text and t("ja", "ui.contract.event.extension_accepted") in text



async def test_the_button_on_the_terms_card_asks_in_a_modal(setup_market: Market) -> None:
    market = setup_market
    contract = await funded(market)
    thread = next(h for h in market.contracts.threads if h.id == contract.thread_id)
    [card] = thread.pinned_messages()
    assert custom_ids(card) == [f"cw:contract:{contract.id}:extend"]

    # the client may not ask
    wrong = await market.client.click(card, custom_id=f"cw:contract:{contract.id}:extend")
    simcord.assert_responded(wrong, content=t("en", "error.extension.worker_only", contract_id=contract.id),
                             ephemeral=True)
    market.set_locale(market.worker, "ja")
    shown = await market.worker.click(card, custom_id=f"cw:contract:{contract.id}:extend")
    assert shown.modal is not None
    assert shown.modal["title"] == t("ja", "ui.contract.extend_modal_title", contract_id=contract.id)
    bad = await market.worker.submit_modal(shown, {"days": "9x", "reason": "Ill"})
    refused(market, bad, "error.extension.days", "ja", maximum=365)
    assert await extensions(market, contract.id) == []

    shown = await market.worker.click(card, custom_id=f"cw:contract:{contract.id}:extend")
    assert shown.modal is not None
    done = await market.worker.submit_modal(shown, {"days": "5", "reason": "I was ill"})
    [asked] = await extensions(market, contract.id)
    simcord.assert_responded(done, content=t("ja", "ui.contract.extension_requested", extension_id=asked["id"],
                                             contract_id=contract.id, days=5), ephemeral=True)
    # one open request per contract: the button refuses before the form
    second = await market.worker.click(card, custom_id=f"cw:contract:{contract.id}:extend")
    simcord.assert_responded(second, content=t("ja", "error.extension.pending", extension_id=asked["id"]),
                             ephemeral=True)

    await market.settle()
    request = last_dm(market, market.client, "⏳")
    declined = await market.client.user.click(request, custom_id=f"cw:extension:{asked['id']}:decline")
    simcord.assert_responded(declined, content=t("en", "ui.contract.extension_declined", extension_id=asked["id"],
                                                 contract_id=contract.id), ephemeral=True)
    assert (await reload(market, contract.id)).due_at == contract.due_at
    await market.settle()
    assert last_dm(market, market.worker).content == t(
        "ja", "notify.extension_declined", extension_id=asked["id"], contract_id=contract.id)


async def test_extend_before_funding_is_refused(setup_market: Market) -> None:
    market = setup_market
    contract = await hired(market)
    result = await market.worker.slash(market.general, "contract extend", contract=contract.id, days=3, reason="x")
    simcord.assert_responded(result, content=t("en", "error.extension.state",
                                               status=t("en", "status.awaiting_funding")), ephemeral=True)
    simcord.assert_error(market.env)
    assert await extensions(market, contract.id) == []


async def test_a_request_answered_elsewhere_is_refused_on_a_second_click(setup_market: Market) -> None:
    market = setup_market
    contract = await funded(market)
    asked = await market.services.contracts.request_extension(market.guild.id, contract.id,
                                                              actor_id=market.worker.id, days=2, reason="x")
    await market.settle()
    request = last_dm(market, market.client, "⏳")
    await market.services.contracts.answer_extension(market.guild.id, asked.id, actor_id=market.client.id,
                                                     accept=False)
    late = await market.client.user.click(request, custom_id=f"cw:extension:{asked.id}:accept")
    simcord.assert_responded(late, content=t("en", "error.extension.answered",
                                             status=t("en", "status.extension_declined")), ephemeral=True)
    assert (await reload(market, contract.id)).terms_version == 1
