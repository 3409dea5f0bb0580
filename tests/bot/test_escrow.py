"""/escrow deposit, status, confirm; the Declare-deposit and Confirm-deposit buttons."""

from __future__ import annotations

import simcord

from bot.i18n import t
from bot.models.states import ContractStatus
from tests.bot.conftest import Market
from tests.bot.helpers import (
    applied,
    custom_ids,
    deposited,
    disabled,
    field,
    funded,
    hired,
    last_dm,
    posted_job,
    refetch_dm,
    reload,
)


def mod_posts(market: Market) -> list[object]:
    return list(market.mod.history())


# -- /escrow deposit ------------------------------------------------------------------------


async def test_deposit_is_declared_to_the_moderators(setup_market: Market) -> None:
    market = setup_market
    contract = await hired(market)

    result = await market.client.slash(market.general, "escrow deposit", contract=contract.id, reference="TX-881")

    simcord.assert_responded(
        result, content=t("en", "ui.escrow.declared", contract_id=contract.id, amount="¥45,000"), ephemeral=True
    )
    status = await market.services.escrow.status(market.guild.id, contract.id, viewer_id=market.client.id)
    [deposit] = status.deposits
    assert (deposit.status, deposit.amount, deposit.reference, deposit.kind) == ("declared", 45000, "TX-881", "initial")
    assert status.contract.status == ContractStatus.FUNDING_SUBMITTED
    note = market.mod.last_message
    assert note is not None
    assert note.content == market.moderators_pinged + t(
        "en", "mod.deposit_declared", client_id=market.client.mention, deposit_amount="¥45,000",
        contract_id=contract.id, reference="TX-881")  # fmt: skip
    to_mod = f"/channels/{market.mod.id}/messages"
    [sent] = [r for r in market.env.http_requests
              if r.method == "POST" and r.path == to_mod and r.json and r.json.get("content") == note.content]
    assert sent.json["allowed_mentions"] == {"parse": [], "roles": [market.moderator_role.id]}  # the role only
    assert custom_ids(note) == [f"cw:escrow:{contract.id}:confirm"]
    assert last_dm(market, market.worker).content == t(
        "en", "notify.deposit_declared_worker", deposit_amount="¥45,000", contract_id=contract.id
    )


async def test_deposit_is_for_the_client_once(setup_market: Market) -> None:
    market = setup_market
    contract = await hired(market)

    result = await market.worker.slash(market.general, "escrow deposit", contract=contract.id)
    market.assert_refused(result, "error.escrow.client_only", contract_id=contract.id)
    result = await market.outsider.slash(market.general, "escrow deposit", contract=contract.id)
    market.assert_refused(result, "error.escrow.client_only", contract_id=contract.id)

    first = await market.client.slash(market.general, "escrow deposit", contract=contract.id)
    assert first.ephemeral
    market.set_locale(market.client, "ja")
    again = await market.client.slash(market.general, "escrow deposit", contract=contract.id)
    market.assert_refused(again, "error.contract.state", language="ja", status="funding_submitted", action="deposit")
    status = await market.services.escrow.status(market.guild.id, contract.id, viewer_id=market.client.id)
    assert len(status.deposits) == 1


async def test_deposit_refuses_an_offer_not_yet_accepted(setup_market: Market) -> None:
    market = setup_market
    job = await posted_job(market)
    await applied(market, job)
    view = await market.services.contracts.offer(market.guild.id, market.client.id, job.id, market.worker.id)

    result = await market.client.slash(market.general, "escrow deposit", contract=view.contract.id)

    market.assert_refused(result, "error.contract.state", status="offered", action="deposit")


async def test_deposit_in_japanese_and_autocomplete(setup_market: Market) -> None:
    market = setup_market
    contract = await hired(market)
    market.set_locale(market.client, "ja")

    choices = await market.client.autocomplete(market.general, "escrow deposit", "contract", "")
    assert [c["value"] for c in choices] == [contract.id]
    assert choices[0]["name"] == f"#{contract.id} · {t('ja', 'status.awaiting_funding')} · あなたはクライアント"
    assert await market.worker.autocomplete(market.general, "escrow deposit", "contract", "") == []

    result = await market.client.slash(market.general, "escrow deposit", contract=contract.id)
    simcord.assert_responded(
        result, content=t("ja", "ui.escrow.declared", contract_id=contract.id, amount="45,000円"), ephemeral=True
    )


# -- the Declare-deposit button (in the client's DM) --------------------------------------------


async def test_deposit_button_survives_a_restart_and_asks_for_the_reference(setup_market: Market) -> None:
    market = setup_market
    contract = await hired(market)
    accepted = last_dm(market, market.client)
    assert custom_ids(accepted) == [f"cw:escrow:{contract.id}:deposit"]

    await market.restart()
    shown = await market.client.user.click(accepted, custom_id=f"cw:escrow:{contract.id}:deposit")
    assert shown.modal is not None
    result = await market.client.user.submit_modal(shown, {"reference": "Bank transfer 2291"})

    simcord.assert_responded(
        result, content=t("en", "ui.escrow.declared", contract_id=contract.id, amount="¥45,000"), ephemeral=True
    )
    assert disabled(refetch_dm(market.client, accepted)) == [True]
    status = await market.services.escrow.status(market.guild.id, contract.id, viewer_id=market.client.id)
    assert [d.reference for d in status.deposits] == ["Bank transfer 2291"]


async def test_deposit_form_refused_when_already_declared(setup_market: Market) -> None:
    market = setup_market
    contract = await hired(market)
    accepted = last_dm(market, market.client)

    # the form was open when the deposit was declared with the command: its answer is a refusal,
    # and the DM's button is greyed out
    shown = await market.client.user.click(accepted, custom_id=f"cw:escrow:{contract.id}:deposit")
    await market.client.slash(market.general, "escrow deposit", contract=contract.id)
    result = await market.client.user.submit_modal(shown, {})
    market.assert_refused(result, "error.contract.state", status="funding_submitted", action="deposit")
    await market.settle()
    assert disabled(refetch_dm(market.client, accepted)) == [True]


# -- /escrow status -----------------------------------------------------------------------------------


async def test_status_for_parties_and_moderators(setup_market: Market) -> None:
    market = setup_market
    contract = await deposited(market)

    for member in (market.client, market.worker, market.moderator):
        result = await member.slash(market.general, "escrow status", contract=contract.id)
        assert result.ephemeral and result.response is not None
        [embed] = result.response.embeds
        assert embed.title == f"Escrow of contract #{contract.id}"
        assert field(embed, "Held in escrow") == "¥0"
        assert field(embed, "Status") == t("en", "status.funding_submitted")
        assert "waiting for confirmation" in (embed.description or "")

    result = await market.outsider.slash(market.general, "escrow status", contract=contract.id)
    market.assert_refused(result, "error.contract.not_party", contract_id=contract.id)


async def test_status_in_japanese_before_any_deposit(setup_market: Market) -> None:
    market = setup_market
    contract = await hired(market)
    market.set_locale(market.worker, "ja")

    result = await market.worker.slash(market.general, "escrow status", contract=contract.id)

    [embed] = result.response.embeds  # type: ignore[union-attr]
    assert embed.title == f"契約 #{contract.id} の仮払い"
    assert embed.description == t("ja", "ui.escrow.no_deposits")


# -- /escrow confirm and its button --------------------------------------------------------------------


async def test_a_moderator_confirms_with_the_command(setup_market: Market) -> None:
    market = setup_market
    contract = await deposited(market)

    choices = await market.moderator.autocomplete(market.general, "escrow confirm", "contract", "")
    assert choices == [{"name": f"#{contract.id} · deposit of ¥45,000 declared", "value": contract.id}]

    result = await market.moderator.slash(market.general, "escrow confirm", contract=contract.id)

    simcord.assert_responded(
        result, content=t("en", "ui.escrow.confirmed", contract_id=contract.id, amount="¥45,000"), ephemeral=True
    )
    funded_contract = await reload(market, contract.id)
    assert funded_contract.status == ContractStatus.ACTIVE and funded_contract.due_at is not None
    assert last_dm(market, market.worker).content == t(
        "en", "notify.funded_worker", contract_id=contract.id, due_at=f"<t:{int(funded_contract.due_at.timestamp())}:f>"
    )
    balance = await market.services.escrow.status(market.guild.id, contract.id, viewer_id=market.client.id)
    assert balance.held == 45000

    again = await market.moderator.slash(market.general, "escrow confirm", contract=contract.id)
    market.assert_refused(again, "error.escrow.nothing_declared", contract_id=contract.id, status="active")


async def test_confirm_is_for_moderators_who_are_not_parties(setup_market: Market) -> None:
    market = setup_market
    contract = await deposited(market)
    result = await market.client.slash(market.general, "escrow confirm", contract=contract.id)
    market.assert_refused(result, "error.check_failed")

    # a moderator hiring someone cannot confirm their own deposit
    job = await posted_job(market, client=market.moderator)
    await applied(market, job, worker=market.outsider)
    view = await market.services.contracts.offer(market.guild.id, market.moderator.id, job.id, market.outsider.id)
    await market.services.contracts.accept(market.guild.id, view.contract.id, actor_id=market.outsider.id)
    await market.services.escrow.deposit(market.guild.id, view.contract.id, actor_id=market.moderator.id)
    market.set_locale(market.moderator, "ja")
    result = await market.moderator.slash(market.general, "escrow confirm", contract=view.contract.id)
    market.assert_refused(result, "error.mod.party", language="ja", contract_id=view.contract.id)
    assert (await reload(market, view.contract.id)).status == ContractStatus.FUNDING_SUBMITTED


async def test_confirm_autocomplete_is_for_moderators_and_leaves_out_their_own(setup_market: Market) -> None:
    market = setup_market
    contract = await deposited(market)
    # a moderator's own deposit, which they may not confirm
    job = await posted_job(market, client=market.moderator)
    await applied(market, job, worker=market.outsider)
    view = await market.services.contracts.offer(market.guild.id, market.moderator.id, job.id, market.outsider.id)
    await market.services.contracts.accept(market.guild.id, view.contract.id, actor_id=market.outsider.id)
    await market.services.escrow.deposit(market.guild.id, view.contract.id, actor_id=market.moderator.id)
    await market.settle()

    # autocomplete runs no command checks: members who are not moderators get nothing
    for member in (market.client, market.worker, market.outsider):
        assert await member.autocomplete(market.general, "escrow confirm", "contract", "") == [], member.name
    assert await market.moderator.autocomplete(market.general, "escrow confirm", "contract", "") == [
        {"name": f"#{contract.id} · deposit of ¥45,000 declared", "value": contract.id}
    ]
    choices = await market.admin.autocomplete(market.general, "escrow confirm", "contract", "")
    assert [c["value"] for c in choices] == [contract.id, view.contract.id]
    typed = await market.admin.autocomplete(market.general, "escrow confirm", "contract", f"#{view.contract.id}")
    assert [c["value"] for c in typed] == [view.contract.id]


async def test_confirm_button_in_the_mod_channel(setup_market: Market) -> None:
    market = setup_market
    contract = await deposited(market)
    note = market.mod.last_message
    assert note is not None

    result = await market.moderator.click(note, custom_id=f"cw:escrow:{contract.id}:confirm")

    simcord.assert_responded(
        result, content=t("en", "ui.escrow.confirmed", contract_id=contract.id, amount="¥45,000"), ephemeral=True
    )
    assert (await reload(market, contract.id)).status == ContractStatus.ACTIVE
    [updated] = [m for m in market.mod.history() if m.id == note.id]
    assert disabled(updated) == [True]


async def test_confirm_button_refused_when_already_confirmed(setup_market: Market) -> None:
    market = setup_market
    contract = await funded(market)  # confirmed with the service, not with the note's button
    [note] = [m for m in market.mod.history() if custom_ids(m) == [f"cw:escrow:{contract.id}:confirm"]]
    assert disabled(note) == [True]  # greyed out: nobody is asked to confirm it again

    # a click that raced the confirmation is refused and changes nothing
    contract = await deposited(market)
    [note] = [m for m in market.mod.history() if custom_ids(m) == [f"cw:escrow:{contract.id}:confirm"]]
    await market.services.escrow.confirm(market.guild.id, contract.id, moderator_id=market.moderator.id)
    result = await market.admin.click(note, custom_id=f"cw:escrow:{contract.id}:confirm")
    simcord.assert_responded(
        result,
        content=t("en", "error.escrow.nothing_declared", contract_id=contract.id, status=t("en", "status.active")),
        ephemeral=True,
    )
