"""/contract offer, accept, decline, view, list, history, amend, cancel; the offer DM and the
contract and amendment buttons."""

from __future__ import annotations

import json
from typing import Any

import simcord

from bot.i18n import t
from bot.models.entities import Contract
from bot.models.states import ApplicationStatus, ContractStatus
from bot.ui.contract_views import list_pages
from bot.ui.job_board import client_line
from tests.bot.conftest import Market
from tests.bot.helpers import (
    DESCRIPTION,
    TITLE,
    applied,
    custom_ids,
    deposited,
    disabled,
    field,
    funded,
    hired,
    last_dm,
    offered,
    posted_job,
    refetch_dm,
    reload,
)

# -- /contract offer ------------------------------------------------------------------------


async def test_offer_sends_the_terms_to_the_worker(setup_market: Market) -> None:
    market = setup_market
    job = await posted_job(market)
    await applied(market, job, price=45000)

    result = await market.client.slash(
        market.general, "contract offer", job=job.id, worker=market.worker, price=48000, deadline="10d", revisions=3
    )

    [contract] = await market.services.contracts.list_for(market.guild.id, market.client.id)
    simcord.assert_responded(
        result,
        content=t("en", "ui.contract.offered", contract_id=contract.id, job_id=job.id, worker=market.worker.mention),
        ephemeral=True,
    )
    [card] = result.response.embeds  # type: ignore[union-attr]
    assert card.description == f"{TITLE}\n\n{DESCRIPTION}"
    assert field(card, "Price") == "¥48,000"
    assert field(card, "Platform fee (10%)") == "¥4,800"
    assert field(card, "Worker receives") == "¥43,200"
    assert field(card, "Delivery time") == "10 days from the escrow confirmation"
    assert field(card, "Revisions included") == "3"

    view = await market.services.contracts.view(market.guild.id, contract.id, viewer_id=market.client.id)
    assert contract.status == ContractStatus.OFFERED
    assert (view.terms.price, view.terms.deadline_days, view.terms.revisions_included) == (48000, 10, 3)
    application = await market.services.jobs.application_of(market.guild.id, job.id, market.worker.id)
    assert application is not None and application.status == ApplicationStatus.OFFERED

    dm = last_dm(market, market.worker)
    assert dm.content == t(
        "en", "notify.offer_received", contract_id=contract.id, client_id=market.client.mention, title=TITLE,
        price_amount="¥48,000", deadline="10 days",
    )  # fmt: skip
    [offer_card] = dm.embeds
    assert field(offer_card, "Price") == "¥48,000"
    figures = await market.services.reputation.client_figures(market.guild.id, market.client.id)
    assert field(offer_card, "About the client") == client_line(figures, "en")
    assert custom_ids(dm) == [f"cw:contract:{contract.id}:accept", f"cw:contract:{contract.id}:decline"]


async def test_offer_defaults_come_from_the_application_and_the_job(setup_market: Market) -> None:
    market = setup_market
    job = await posted_job(market)
    await applied(market, job, price=42000, days=5)

    result = await market.client.slash(market.general, "contract offer", job=job.id, worker=market.worker,
                                       scope="Logo, two colours, SVG and PNG.")  # fmt: skip

    assert result.ephemeral
    [contract] = await market.services.contracts.list_for(market.guild.id, market.client.id)
    view = await market.services.contracts.view(market.guild.id, contract.id, viewer_id=market.worker.id)
    assert (view.terms.price, view.terms.deadline_days, view.terms.revisions_included) == (42000, 5, 2)
    assert view.terms.scope == "Logo, two colours, SVG and PNG."


async def test_offer_in_japanese(setup_market: Market) -> None:
    market = setup_market
    market.set_locale(market.client, "ja")
    job = await posted_job(market)
    await applied(market, job)

    result = await market.client.slash(market.general, "contract offer", job=job.id, worker=market.worker)

    [contract] = await market.services.contracts.list_for(market.guild.id, market.client.id)
    simcord.assert_responded(
        result,
        content=t("ja", "ui.contract.offered", contract_id=contract.id, job_id=job.id, worker=market.worker.mention),
        ephemeral=True,
    )
    [card] = result.response.embeds  # type: ignore[union-attr]
    assert field(card, "金額") == "45,000円"
    assert field(card, "納期") == "仮払いの確認から 7 日"


async def test_offer_refuses_bad_input(setup_market: Market) -> None:
    market = setup_market
    job = await posted_job(market)
    await applied(market, job)
    cases: list[tuple[dict[str, Any], str, dict[str, Any]]] = [
        ({"price": 12.5}, "error.money.decimals", {"field": "price", "currency": "JPY", "decimals": 0}),
        ({"price": 0}, "error.money.not_positive", {"field": "price"}),
        ({"deadline": "soon"}, "error.deadline.invalid", {"value": "soon"}),
        ({"worker": market.client}, "error.contract.self_hire", {}),
        ({"worker": market.outsider}, "error.contract.no_application",
         {"job_id": job.id, "worker_id": market.outsider.id}),
        ({"job": 999}, "error.job.not_found", {"job_id": 999}),
    ]  # fmt: skip
    for options, key, args in cases:
        values = {"job": job.id, "worker": market.worker, **options}
        result = await market.client.slash(market.general, "contract offer", **values)
        market.assert_refused(result, key, **args)
    assert await market.services.contracts.list_for(market.guild.id, market.client.id) == []
    assert market.dms(market.worker) == []


async def test_only_the_jobs_client_offers_and_only_once(setup_market: Market) -> None:
    market = setup_market
    job = await posted_job(market)
    await applied(market, job)

    result = await market.outsider.slash(market.general, "contract offer", job=job.id, worker=market.worker)
    market.assert_refused(result, "error.job.not_client", job_id=job.id)

    first = await market.client.slash(market.general, "contract offer", job=job.id, worker=market.worker)
    assert first.ephemeral
    again = await market.client.slash(market.general, "contract offer", job=job.id, worker=market.worker)
    market.assert_refused(again, "error.contract.application_state", status="offered")
    assert len(await market.services.contracts.list_for(market.guild.id, market.client.id)) == 1


async def test_offer_autocompletes_the_clients_jobs(setup_market: Market) -> None:
    market = setup_market
    job = await posted_job(market)
    await applied(market, job)
    await applied(market, await posted_job(market, client=market.outsider, title="Someone else's job"))

    choices = await market.client.autocomplete(market.general, "contract offer", "job", "")
    assert [c["value"] for c in choices] == [job.id]
    assert choices[0]["name"] == f"#{job.id} {TITLE}"


async def test_offer_autocompletes_only_open_jobs_with_a_pending_application(setup_market: Market) -> None:
    market = setup_market
    services = market.services
    waiting = await posted_job(market, title="Waiting for an offer")
    await applied(market, waiting)
    await posted_job(market, title="Nobody applied yet")
    filled = await posted_job(market, title="Filled")
    await applied(market, filled)
    await applied(market, filled, worker=market.outsider)
    view = await services.contracts.offer(market.guild.id, market.client.id, filled.id, market.worker.id)
    await services.contracts.accept(market.guild.id, view.contract.id, actor_id=market.worker.id)
    closed = await posted_job(market, title="Closed")
    await applied(market, closed)
    await services.jobs.close(market.guild.id, closed.id, actor_id=market.client.id)
    offered_to_all = await posted_job(market, title="Offered to its only applicant")
    await applied(market, offered_to_all)
    await services.contracts.offer(market.guild.id, market.client.id, offered_to_all.id, market.worker.id)
    await market.settle()
    assert (await services.jobs.get(market.guild.id, filled.id)).status == "filled"

    choices = await market.client.autocomplete(market.general, "contract offer", "job", "")
    assert [c["value"] for c in choices] == [waiting.id]
    # offer refuses a filled job, so it is not suggested
    result = await market.client.slash(market.general, "contract offer", job=filled.id, worker=market.outsider)
    market.assert_refused(result, "error.contract.job_not_open", job_id=filled.id, status="filled")


# -- accepting ----------------------------------------------------------------------------------


async def test_accept_button_in_the_offer_dm(setup_market: Market) -> None:
    market = setup_market
    contract = await offered(market)
    offer = last_dm(market, market.worker)

    result = await market.worker.user.click(offer, custom_id=f"cw:contract:{contract.id}:accept")

    # from the DM: the worker's DMs demonstrably work, so no note about closed DMs
    simcord.assert_responded(
        result, content=t("en", "ui.contract.accepted", contract_id=contract.id, title=TITLE), ephemeral=True
    )
    assert disabled(refetch_dm(market.worker, offer)) == [True, True]
    assert (await reload(market, contract.id)).status == ContractStatus.AWAITING_FUNDING
    told = last_dm(market, market.client)
    assert told.content.startswith(t("en", "notify.offer_accepted_client", contract_id=contract.id,
                                     worker_id=market.worker.mention, title=TITLE,
                                     price_amount="¥45,000").splitlines()[0])  # fmt: skip
    assert custom_ids(told) == [f"cw:escrow:{contract.id}:deposit"]


async def test_accept_command_when_both_parties_get_dms(setup_market: Market) -> None:
    market = setup_market
    contract = await offered(market)  # the offer DM reached the worker, the application DM the client

    result = await market.worker.slash(market.general, "contract accept", contract=contract.id)

    expected = t("en", "ui.contract.accepted", contract_id=contract.id, title=TITLE)
    simcord.assert_responded(result, content=expected, ephemeral=True)
    assert (await reload(market, contract.id)).status == ContractStatus.AWAITING_FUNDING

    # the offer DM's buttons are greyed out: the offer was answered with the command
    await market.settle()
    offer = market.dms(market.worker)[0]
    assert disabled(refetch_dm(market.worker, offer)) == [True, True]


async def test_accept_in_japanese(setup_market: Market) -> None:
    market = setup_market
    market.set_locale(market.worker, "ja")
    contract = await offered(market)

    result = await market.worker.slash(market.general, "contract accept", contract=contract.id)

    simcord.assert_responded(result, content=t("ja", "ui.contract.accepted", contract_id=contract.id, title=TITLE),
                             ephemeral=True)


async def test_only_the_worker_accepts(setup_market: Market) -> None:
    market = setup_market
    contract = await offered(market)

    result = await market.outsider.slash(market.general, "contract accept", contract=contract.id)
    market.assert_refused(result, "error.contract.not_party", contract_id=contract.id)
    result = await market.client.slash(market.general, "contract accept", contract=contract.id)
    market.assert_refused(result, "error.contract.role", action="accept", status="offered")
    result = await market.worker.slash(market.general, "contract accept", contract=4242)
    market.assert_refused(result, "error.contract.not_found", contract_id=4242)

    assert (await reload(market, contract.id)).status == ContractStatus.OFFERED


async def test_accept_autocompletes_offers_to_the_worker(setup_market: Market) -> None:
    market = setup_market
    contract = await offered(market)

    choices = await market.worker.autocomplete(market.general, "contract accept", "contract", "")
    assert [c["value"] for c in choices] == [contract.id]
    assert choices[0]["name"] == f"#{contract.id} · offered · you are the worker"
    assert await market.client.autocomplete(market.general, "contract accept", "contract", "") == []


# -- declining -----------------------------------------------------------------------------------


async def test_decline_button_asks_the_reason_in_a_modal(setup_market: Market) -> None:
    market = setup_market
    contract = await offered(market)
    offer = last_dm(market, market.worker)

    shown = await market.worker.user.click(offer, custom_id=f"cw:contract:{contract.id}:decline")
    assert shown.modal is not None
    result = await market.worker.user.submit_modal(shown, {"reason": "Fully booked this month."})

    simcord.assert_responded(result, content=t("en", "ui.contract.declined", contract_id=contract.id), ephemeral=True)
    assert disabled(refetch_dm(market.worker, offer)) == [True, True]
    assert (await reload(market, contract.id)).status == ContractStatus.DECLINED
    assert last_dm(market, market.client).content == t(
        "en", "notify.offer_declined", contract_id=contract.id, reason="Fully booked this month."
    )


async def test_decline_command_and_a_second_decline(setup_market: Market) -> None:
    market = setup_market
    market.set_locale(market.worker, "ja")
    contract = await offered(market)

    result = await market.worker.slash(market.general, "contract decline", contract=contract.id)
    simcord.assert_responded(result, content=t("ja", "ui.contract.declined", contract_id=contract.id), ephemeral=True)
    assert last_dm(market, market.client).content == t(
        "en", "notify.offer_declined", contract_id=contract.id, reason="-"
    )

    again = await market.worker.slash(market.general, "contract decline", contract=contract.id, reason="Changed mind")
    market.assert_refused(again, "error.contract.state", language="ja", status="declined", action="decline")


# -- view, list ------------------------------------------------------------------------------------


async def test_view_shows_the_terms_and_state_to_parties_and_moderators(setup_market: Market) -> None:
    market = setup_market
    contract = await funded(market)

    for member in (market.client, market.worker, market.moderator):
        result = await member.slash(market.general, "contract view", contract=contract.id)
        assert result.ephemeral and result.response is not None
        [card] = result.response.embeds
        assert card.title == f"Contract #{contract.id} · {TITLE}"
        assert field(card, "Status") == t("en", "status.active")
        assert contract.due_at is not None
        assert field(card, "Delivery due") == f"<t:{int(contract.due_at.timestamp())}:f>"

    result = await market.outsider.slash(market.general, "contract view", contract=contract.id)
    market.assert_refused(result, "error.contract.not_party", contract_id=contract.id)


async def test_list_filters_by_status(setup_market: Market) -> None:
    market = setup_market
    contract = await hired(market)

    result = await market.worker.slash(market.general, "contract list")
    lines = result.response.content.splitlines()  # type: ignore[union-attr]
    assert lines == [
        t("en", "ui.contract.list_header", count=1),
        t("en", "ui.contract.list_line", contract_id=contract.id, status=t("en", "status.awaiting_funding"),
          role=t("en", "ui.contract.role_worker"), client=market.client.mention, worker=market.worker.mention),
    ]  # fmt: skip

    result = await market.worker.slash(market.general, "contract list", status="completed")
    simcord.assert_responded(
        result, content=t("en", "ui.contract.list_empty_status", status=t("en", "status.completed")), ephemeral=True
    )
    market.set_locale(market.outsider, "ja")
    result = await market.outsider.slash(market.general, "contract list")
    simcord.assert_responded(result, content=t("ja", "ui.contract.list_empty"), ephemeral=True)


def test_a_long_list_is_paged_in_whole_lines_within_discords_limit() -> None:
    from dataclasses import fields

    values: dict[str, Any] = {f.name: None for f in fields(Contract)}
    values.update(guild_id=1, job_id=1, client_id=10**18, worker_id=10**18 + 1, currency="JPY", terms_version=1,
                  timer_round=0, topup_due=0, status=ContractStatus.AWAITING_FUNDING)  # fmt: skip
    contracts = [Contract(**{**values, "id": n}) for n in range(1, 26)]

    pages = list_pages(contracts, 10**18, None, "en")

    assert len(pages) > 1
    shown = []
    for page in pages:
        assert page.content is not None and len(page.content) <= 2000
        header, *lines = page.content.splitlines()
        assert header == pages[0].content.splitlines()[0]
        assert all(line.startswith("**#") for line in lines)
        shown += lines
    assert len(shown) == 25  # every contract, none cut off


# -- amendments ---------------------------------------------------------------------------------------


async def test_amend_and_the_other_party_accepts_with_the_button(setup_market: Market) -> None:
    market = setup_market
    contract = await hired(market)

    result = await market.worker.slash(
        market.general, "contract amend", contract=contract.id, reason="Two extra icons", price=60000, deadline="14d"
    )

    [amendment] = await amendments(market, contract.id)
    simcord.assert_responded(
        result,
        content=t("en", "ui.contract.amendment_proposed", amendment_id=amendment.id, contract_id=contract.id),
        ephemeral=True,
    )
    proposal = last_dm(market, market.client)
    assert custom_ids(proposal) == [f"cw:amendment:{amendment.id}:accept", f"cw:amendment:{amendment.id}:reject"]

    market.set_locale(market.client, "ja")
    clicked = await market.client.user.click(proposal, custom_id=f"cw:amendment:{amendment.id}:accept")
    simcord.assert_responded(
        clicked,
        content=t("ja", "ui.contract.amendment_accepted", amendment_id=amendment.id, contract_id=contract.id,
                  version=2),
        ephemeral=True,
    )  # fmt: skip
    assert disabled(refetch_dm(market.client, proposal)) == [True, True]
    view = await market.services.contracts.view(market.guild.id, contract.id, viewer_id=market.client.id)
    assert (view.terms.version, view.terms.price, view.terms.deadline_days) == (2, 60000, 14)


async def test_reject_button_and_an_amendment_already_answered(setup_market: Market) -> None:
    market = setup_market
    contract = await hired(market)
    services = market.services
    first = await services.contracts.propose_amendment(
        market.guild.id, contract.id, actor_id=market.client.id, reason="Cheaper please", price=30000
    )
    await market.settle()
    proposal = last_dm(market, market.worker)

    rejected = await market.worker.user.click(proposal, custom_id=f"cw:amendment:{first.id}:reject")
    simcord.assert_responded(
        rejected,
        content=t("en", "ui.contract.amendment_rejected", amendment_id=first.id, contract_id=contract.id),
        ephemeral=True,
    )
    assert disabled(refetch_dm(market.worker, proposal)) == [True, True]
    assert (await reload(market, contract.id)).terms_version == 1
    assert last_dm(market, market.client).content == t(
        "en", "notify.amendment_rejected", amendment_id=first.id, contract_id=contract.id
    )

    # answered elsewhere first, clicked before the DM was updated: refused, nothing changes
    second = await services.contracts.propose_amendment(
        market.guild.id, contract.id, actor_id=market.client.id, reason="Cheaper, really", price=35000
    )
    await market.settle()
    proposal = last_dm(market, market.worker)
    await services.contracts.answer_amendment(market.guild.id, second.id, actor_id=market.worker.id, accept=False)
    late = await market.worker.user.click(proposal, custom_id=f"cw:amendment:{second.id}:accept")
    simcord.assert_responded(
        late, content=t("en", "error.amendment.answered", status=t("en", "status.amendment_rejected")), ephemeral=True
    )
    await market.settle()
    assert disabled(refetch_dm(market.worker, proposal)) == [True, True]  # greyed out once answered
    assert (await reload(market, contract.id)).terms_version == 1


async def test_amend_refuses_no_change_and_outsiders(setup_market: Market) -> None:
    market = setup_market
    contract = await hired(market)

    result = await market.client.slash(market.general, "contract amend", contract=contract.id, reason="Same",
                                       price=45000)  # fmt: skip
    market.assert_refused(result, "error.amendment.no_change")
    result = await market.outsider.slash(market.general, "contract amend", contract=contract.id, reason="Hi",
                                         price=1000)  # fmt: skip
    market.assert_refused(result, "error.contract.not_party", contract_id=contract.id)
    assert await amendments(market, contract.id) == []


async def test_amend_without_changes_opens_a_scope_form(setup_market: Market) -> None:
    market = setup_market
    contract = await hired(market, scope="Logo A")
    # A -> B accepted, then a form brings it back to A
    first = await market.services.contracts.propose_amendment(
        market.guild.id, contract.id, actor_id=market.client.id, reason="Try B", scope="Logo B"
    )
    await market.services.contracts.answer_amendment(market.guild.id, first.id, actor_id=market.worker.id, accept=True)
    await market.settle()

    shown = await market.client.slash(market.general, "contract amend", contract=contract.id, reason="Back to A")
    assert shown.modal is not None
    inputs = {c["custom_id"]: c for row in shown.modal["components"] for c in row["components"]}
    assert inputs["scope"]["value"] == "Logo B"
    assert inputs["reason"]["value"] == "Back to A"

    result = await market.client.submit_modal(shown, {"scope": "Logo A", "reason": "Back to A"})

    [_, back] = await amendments(market, contract.id)
    assert (back.scope, back.reverts_to) == ("Logo A", 1)
    simcord.assert_responded(
        result,
        content="\n".join([
            t("en", "ui.contract.amendment_proposed", amendment_id=back.id, contract_id=contract.id),
            t("en", "ui.contract.amendment_reverts", version=1),
        ]),
        ephemeral=True,
    )  # fmt: skip


async def test_amend_autocompletes_amendable_contracts(setup_market: Market) -> None:
    market = setup_market
    offer = await offered(market)
    choices = await market.client.autocomplete(market.general, "contract amend", "contract", "")
    assert choices == []
    await market.services.contracts.accept(market.guild.id, offer.id, actor_id=market.worker.id)
    choices = await market.client.autocomplete(market.general, "contract amend", "contract", str(offer.id))
    assert [c["value"] for c in choices] == [offer.id]


async def amendments(market: Market, contract_id: int) -> list[Any]:
    history = await market.services.history.history(market.guild.id, contract_id, viewer_id=market.moderator.id,
                                                    is_moderator=True)  # fmt: skip
    return history.amendments


# -- history -----------------------------------------------------------------------------------------------


async def test_history_shows_versions_reverts_and_the_file(setup_market: Market) -> None:
    market = setup_market
    contract = await funded(market, scope="Logo A")
    services = market.services
    for scope in ("Logo B", "Logo A"):
        amendment = await services.contracts.propose_amendment(
            market.guild.id, contract.id, actor_id=market.client.id, reason=f"Now {scope}", scope=scope
        )
        await services.contracts.answer_amendment(market.guild.id, amendment.id, actor_id=market.worker.id,
                                                  accept=True)  # fmt: skip
    await market.settle()

    result = await market.worker.slash(market.general, "contract history", contract=contract.id)

    assert result.ephemeral and result.response is not None
    answer = result.response
    assert answer.content == t("en", "ui.contract.history_intro", contract_id=contract.id, pages=1)
    [page] = answer.embeds
    text = page.description or ""
    assert "**Terms v3**" in text and "**↩️ reverts to version 1**" in text
    assert "> Logo B" in text and "Reason: Now Logo A" in text
    assert t("en", "ui.contract.event.escrow_confirmed") in text
    [attachment] = answer.attachments
    assert attachment.filename == f"contract-{contract.id}-history.json"
    document = json.loads(await attachment.read())
    assert [v["scope"] for v in document["terms_versions"]] == ["Logo A", "Logo B", "Logo A"]
    assert {"what": "version", "id": 3, "reverts_to": 1, "reverts_to_revision": None} in document["reverts"]

    result = await market.outsider.slash(market.general, "contract history", contract=contract.id)
    market.assert_refused(result, "error.contract.not_party", contract_id=contract.id)


async def test_a_long_history_is_paged(setup_market: Market) -> None:
    market = setup_market
    long_scope = "\n".join(f"Item {n}: " + "x" * 90 for n in range(35))  # ~3.5k characters
    contract = await hired(market, scope=long_scope)
    for n in range(3):
        amendment = await market.services.contracts.propose_amendment(
            market.guild.id, contract.id, actor_id=market.client.id, reason=f"Round {n}", scope=f"{long_scope}\n{n}"
        )
        await market.services.contracts.answer_amendment(market.guild.id, amendment.id, actor_id=market.worker.id,
                                                         accept=True)  # fmt: skip
    await market.settle()
    market.set_locale(market.client, "ja")

    result = await market.client.slash(market.general, "contract history", contract=contract.id)

    message = result.followups[0] if result.followups else result.response
    assert message is not None and message.ephemeral and message.attachments
    seen = []
    for turn in range(5):  # the most it shows; the file holds the rest
        [embed] = message.embeds
        assert len(embed) <= 6000 and len(embed.description or "") <= 4096
        seen.append(embed.description or "")
        [counter] = [c for row in message.components for c in row["components"] if c["custom_id"] == "cw:page:counter"]
        assert counter["label"] == f"{turn + 1} / 5"
        if turn < 4:
            await market.client.click(message, custom_id="cw:page:next")  # the same message turns its page
    assert seen[-1].endswith(t("ja", "ui.contract.history_truncated"))
    assert len(set(seen)) == 5


# -- cancel ---------------------------------------------------------------------------------------------------


async def test_cancel_before_funding(setup_market: Market) -> None:
    market = setup_market
    contract = await hired(market)

    result = await market.client.slash(market.general, "contract cancel", contract=contract.id, reason="Plans changed")

    simcord.assert_responded(result, content=t("en", "ui.contract.cancelled", contract_id=contract.id), ephemeral=True)
    assert (await reload(market, contract.id)).status == ContractStatus.CANCELLED
    assert last_dm(market, market.worker).content == t(
        "en", "notify.contract_cancelled", contract_id=contract.id, by_id=market.client.mention, reason="Plans changed"
    )
    again = await market.client.slash(market.general, "contract cancel", contract=contract.id, reason="Again")
    market.assert_refused(again, "error.contract.state", status="cancelled", action="cancel")


async def test_cancel_after_a_deposit_opens_a_case(setup_market: Market) -> None:
    market = setup_market
    contract = await deposited(market)
    market.set_locale(market.worker, "ja")

    result = await market.worker.slash(
        market.general, "contract cancel", contract=contract.id, reason="Client vanished"
    )

    cases = await market.services.cases.list(market.guild.id)
    [case] = [c for c in cases if c.contract_id == contract.id]
    simcord.assert_responded(
        result, content=t("ja", "ui.contract.cancel_case", contract_id=contract.id, case_id=case.id), ephemeral=True
    )
    assert case.reason_kind == "cancel_request"
    assert (await reload(market, contract.id)).status == ContractStatus.FUNDING_SUBMITTED


async def test_cancel_and_view_autocomplete(setup_market: Market) -> None:
    market = setup_market
    contract = await deposited(market)  # cancelling now opens a case, so it is offered
    for command in ("contract cancel", "contract view", "contract history", "escrow status"):
        choices = await market.worker.autocomplete(market.general, command, "contract", "")
        assert [c["value"] for c in choices] == [contract.id], command
    await market.services.cases.cancel(market.guild.id, contract.id, actor_id=market.client.id, reason="Stop")
    assert await market.outsider.autocomplete(market.general, "contract view", "contract", "") == []


async def test_a_moderator_may_pick_any_contract_to_view(setup_market: Market) -> None:
    market = setup_market
    # the moderator's own contract (older), then one between others
    job = await posted_job(market, client=market.moderator)
    await applied(market, job, worker=market.outsider)
    own = (await market.services.contracts.offer(market.guild.id, market.moderator.id, job.id,
                                                 market.outsider.id)).contract  # fmt: skip
    other = await offered(market)

    for command in ("contract view", "contract history", "escrow status"):
        choices = await market.moderator.autocomplete(market.general, command, "contract", "")
        assert [c["value"] for c in choices] == [own.id, other.id], command  # own first
        assert choices[1]["name"] == f"#{other.id} · offered · as a moderator"
        typed = await market.moderator.autocomplete(market.general, command, "contract", f"#{other.id}")
        assert [c["value"] for c in typed] == [other.id], command
        # Manage Server counts as moderator too; members who are neither see only their own
        admin = await market.admin.autocomplete(market.general, command, "contract", "")
        assert [c["value"] for c in admin] == [other.id, own.id], command
        assert [c["value"] for c in await market.client.autocomplete(market.general, command, "contract", "")] == [
            other.id
        ], command
    # only the options that view: actions stay on the moderator's own contracts
    cancel = await market.moderator.autocomplete(market.general, "contract cancel", "contract", "")
    assert other.id not in [c["value"] for c in cancel]

    result = await market.moderator.slash(market.general, "contract view", contract=other.id)
    assert result.ephemeral and result.response is not None


async def test_cancel_is_for_parties(setup_market: Market) -> None:
    market = setup_market
    contract = await hired(market)
    result = await market.outsider.slash(market.general, "contract cancel", contract=contract.id, reason="Nope")
    market.assert_refused(result, "error.contract.not_party", contract_id=contract.id)
    assert (await reload(market, contract.id)).status == ContractStatus.AWAITING_FUNDING
