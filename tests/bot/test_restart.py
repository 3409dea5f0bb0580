"""Buttons sent before a restart work on the new bot (persistent ``DynamicItem``s whose
custom id carries the target): offers, amendments and the deposit confirmation. Apply,
review, revision and case buttons are covered next to their features."""

from __future__ import annotations

import simcord

from bot.i18n import t
from bot.models.states import ContractStatus
from tests.bot.conftest import Market
from tests.bot.helpers import custom_ids, deposited, disabled, hired, last_dm, offered, refetch_dm, reload


async def test_an_offer_accepted_after_a_restart(setup_market: Market) -> None:
    market = setup_market
    contract = await offered(market)
    offer = last_dm(market, market.worker)
    await market.restart()

    result = await market.worker.user.click(offer, custom_id=f"cw:contract:{contract.id}:accept")

    assert result.response is not None and result.ephemeral
    assert result.response.content.startswith(t("en", "ui.contract.accepted", contract_id=contract.id,
                                                 title="Logo for a ramen shop"))  # fmt: skip
    assert (await reload(market, contract.id)).status == ContractStatus.AWAITING_FUNDING
    assert disabled(refetch_dm(market.worker, offer)) == [True, True]


async def test_an_offer_declined_after_a_restart(setup_market: Market) -> None:
    market = setup_market
    contract = await offered(market)
    offer = last_dm(market, market.worker)
    await market.restart()

    shown = await market.worker.user.click(offer, custom_id=f"cw:contract:{contract.id}:decline")
    assert shown.modal is not None
    result = await market.worker.user.submit_modal(shown, {"reason": "Booked."})

    simcord.assert_responded(result, content=t("en", "ui.contract.declined", contract_id=contract.id), ephemeral=True)
    assert (await reload(market, contract.id)).status == ContractStatus.DECLINED


async def test_an_amendment_answered_after_a_restart(setup_market: Market) -> None:
    market = setup_market
    contract = await hired(market)
    services = market.services
    raise_it = await services.contracts.propose_amendment(
        market.guild.id, contract.id, actor_id=market.worker.id, reason="Two more icons", price=52000
    )
    await market.settle()
    first = last_dm(market, market.client)
    await market.restart()

    accepted = await market.client.user.click(first, custom_id=f"cw:amendment:{raise_it.id}:accept")
    simcord.assert_responded(
        accepted,
        content=t("en", "ui.contract.amendment_accepted", amendment_id=raise_it.id, contract_id=contract.id,
                  version=2),
        ephemeral=True,
    )
    assert (await reload(market, contract.id)).terms_version == 2

    cut = await market.services.contracts.propose_amendment(
        market.guild.id, contract.id, actor_id=market.client.id, reason="Cheaper", price=30000
    )
    await market.settle()
    second = last_dm(market, market.worker)
    await market.restart()
    rejected = await market.worker.user.click(second, custom_id=f"cw:amendment:{cut.id}:reject")
    simcord.assert_responded(
        rejected,
        content=t("en", "ui.contract.amendment_rejected", amendment_id=cut.id, contract_id=contract.id),
        ephemeral=True,
    )
    assert (await reload(market, contract.id)).terms_version == 2


async def test_a_deposit_confirmed_after_a_restart(setup_market: Market) -> None:
    market = setup_market
    contract = await deposited(market)
    [note] = [m for m in market.mod.history() if custom_ids(m) == [f"cw:escrow:{contract.id}:confirm"]]
    await market.restart()

    result = await market.moderator.click(note, custom_id=f"cw:escrow:{contract.id}:confirm")

    simcord.assert_responded(
        result, content=t("en", "ui.escrow.confirmed", contract_id=contract.id, amount="¥45,000"), ephemeral=True
    )
    assert (await reload(market, contract.id)).status == ContractStatus.ACTIVE
