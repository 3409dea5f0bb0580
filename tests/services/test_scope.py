"""Scope and revisions: a revision request the worker answers "outside the agreed scope"
becomes an amendment proposal and gives the included revision back; A → B → A across terms
versions and revision requests, in the history and the client's figures."""

from __future__ import annotations

import asyncio

import pytest

from bot.clock import FakeClock
from bot.errors import InvalidInput, MarketError, NotAllowed, WrongState
from bot.models.entities import Contract, Guild, RevisionRequest
from bot.models.states import ContractStatus
from bot.models.timeutil import to_iso
from bot.services.container import Services
from tests.ids import CLIENT, GUILD_ID, OUTSIDER, WORKER
from tests.services.helpers import (
    contract_outbox,
    deliver,
    delivered_contract,
    events,
    reload,
    revised,
    snapshot,
)

PRICE = 50000  # the helpers' contract price (JPY)


async def asked(services: Services, contract: Contract, reason: str) -> int:
    outcome = await services.deliveries.request_revision(GUILD_ID, contract.id, actor_id=CLIENT, reason=reason)
    return outcome.request.id


async def revision(services: Services, contract_id: int, revision_id: int) -> RevisionRequest:
    history = await services.history.history(GUILD_ID, contract_id, viewer_id=CLIENT)
    return next(r for r in history.revisions if r.id == revision_id)


# -- outside the agreed scope -------------------------------------------------------------------


async def test_outside_scope_becomes_an_amendment_and_gives_the_revision_back(services: Services, guild: Guild,
                                                                               clock: FakeClock) -> None:
    contract = await delivered_contract(services)
    rid = await asked(services, contract, "Add a mascot holding the bowl.")
    clock.advance(hours=3)

    amendment = await services.contracts.outside_scope(GUILD_ID, rid, actor_id=WORKER, price="65000",
                                                       reason="The terms ask for a logo only.")

    assert (amendment.scope, amendment.price, amendment.status, amendment.proposed_by, amendment.reason) == (
        "Add a mascot holding the bowl.", 65000, "proposed", WORKER, "The terms ask for a logo only.")
    request = await revision(services, contract.id, rid)
    assert (request.status, request.amendment_id, request.decided_at) == ("outside_scope", amendment.id,
                                                                         clock.now())
    after = await reload(services, contract.id)
    # the delivery is back with the client, whose review period starts again
    assert (after.status, after.clock_at) == (ContractStatus.DELIVERED, clock.now())
    told = await contract_outbox(services, contract.id, message_key="notify.scope_outside")
    assert [(r["recipient_id"], r["buttons"], r["args"]["price_amount"], r["args"]["revision_id"]) for r in told] == [
        (CLIENT, [f"amendment:{amendment.id}:accept", f"amendment:{amendment.id}:reject"], 65000, rid)]
    assert await contract_outbox(services, contract.id, message_key="notify.amendment_proposed") == []
    posted = await contract_outbox(services, contract.id, message_key="thread.scope_outside")
    assert [r["args"]["amendment_id"] for r in posted] == [amendment.id]
    [event] = await events(services, "revision.outside_scope")
    assert event["data"]["included_given_back"] is True

    # the client rejects it: the delivery stays with them, and the revision was not used up
    await services.contracts.answer_amendment(GUILD_ID, amendment.id, actor_id=CLIENT, accept=False)
    assert (await reload(services, contract.id)).status == ContractStatus.DELIVERED
    again = await services.deliveries.request_revision(GUILD_ID, contract.id, actor_id=CLIENT, reason="Redder.")
    assert again.included
    dm = await contract_outbox(services, contract.id, message_key="notify.scope_revision_included")
    assert [r["args"]["used"] for r in dm] == [1, 1]


async def test_an_accepted_out_of_scope_amendment_starts_that_work_on_the_new_terms(services: Services,
                                                                                   guild: Guild) -> None:
    contract = await delivered_contract(services)
    rid = await asked(services, contract, "Add a mascot holding the bowl.")
    amendment = await services.contracts.outside_scope(GUILD_ID, rid, actor_id=WORKER, price=65000,
                                                       reason="A mascot is new work.")

    await services.contracts.answer_amendment(GUILD_ID, amendment.id, actor_id=CLIENT, accept=True)

    after = await reload(services, contract.id)
    assert (after.status, after.terms_version, after.topup_due) == (ContractStatus.ACTIVE, 2, 65000 - PRICE)
    assert after.timer_round == contract.timer_round + 1
    view = await services.contracts.view(GUILD_ID, contract.id, viewer_id=WORKER)
    assert (view.terms.scope, view.terms.price) == ("Add a mascot holding the bowl.", 65000)
    delivery = (await services.deliveries.deliveries(GUILD_ID, contract.id))[-1]
    assert delivery.outcome == "revision"
    [resumed] = await events(services, "revision.resumed")
    assert resumed["data"] == {"revision_id": rid, "amendment_id": amendment.id}
    told = await contract_outbox(services, contract.id, message_key="notify.scope_resumed")
    assert [(r["recipient_id"], r["args"]["revision_id"], r["args"]["due_at"]) for r in told] == [
        (WORKER, rid, to_iso(after.due_at) if after.due_at else "-")]
    kinds = [e["kind"] for e in await events(services)]
    assert kinds.index("amendment.accepted") < kinds.index("revision.resumed")
    topup = await contract_outbox(services, contract.id, message_key="notify.topup_needed")
    assert [r["recipient_id"] for r in topup] == [CLIENT]


async def test_outside_scope_also_answers_an_extra_revision(services: Services, guild: Guild) -> None:
    contract = await delivered_contract(services, revisions=0)
    rid = await asked(services, contract, "A second colour scheme.")

    amendment = await services.contracts.outside_scope(GUILD_ID, rid, actor_id=WORKER, price=60000, reason="Extra.")

    assert amendment.scope == "A second colour scheme."
    [event] = await events(services, "revision.outside_scope")
    assert event["data"]["included_given_back"] is False


@pytest.mark.parametrize(("actor", "error", "key"), [
    (CLIENT, NotAllowed, "error.delivery.worker_only"),
    (OUTSIDER, NotAllowed, "error.contract.not_party"),
])
async def test_only_the_worker_says_outside_scope(services: Services, guild: Guild, actor: int,
                                                  error: type[MarketError], key: str) -> None:
    contract = await delivered_contract(services)
    rid = await asked(services, contract, "Add a mascot.")
    before = await snapshot(services)

    with pytest.raises(error) as refused:
        await services.contracts.outside_scope(GUILD_ID, rid, actor_id=actor, price=60000, reason="x")

    assert refused.value.key == key
    assert await snapshot(services) == before


@pytest.mark.parametrize(("price", "reason", "key"), [
    ("abc", "New work.", "error.money.decimals"),
    ("0", "New work.", "error.money.not_positive"),
    ("60000", "   ", "error.text.required"),
])
async def test_outside_scope_bad_input_changes_nothing(services: Services, guild: Guild, price: str, reason: str,
                                                       key: str) -> None:
    contract = await delivered_contract(services)
    rid = await asked(services, contract, "Add a mascot.")
    before = await snapshot(services)

    with pytest.raises(InvalidInput) as refused:
        await services.contracts.outside_scope(GUILD_ID, rid, actor_id=WORKER, price=price, reason=reason)

    assert refused.value.key == key
    assert await snapshot(services) == before


async def test_a_request_answered_or_moot_cannot_go_outside_scope(services: Services, guild: Guild) -> None:
    contract = await delivered_contract(services)
    rid = await asked(services, contract, "Add a mascot.")
    await services.deliveries.answer_extra_revision(GUILD_ID, rid, actor_id=WORKER, accept=True)
    before = await snapshot(services)

    with pytest.raises(WrongState) as refused:
        await services.contracts.outside_scope(GUILD_ID, rid, actor_id=WORKER, price=60000, reason="Too late.")

    assert (refused.value.key, refused.value.args_map) == ("error.review.revision_answered", {"status": "accepted"})
    assert await snapshot(services) == before

    # approved while the question waited: the request lapsed
    contract = await deliver(services, contract)
    rid = await asked(services, contract, "Bigger letters.")
    await services.deliveries.approve(GUILD_ID, contract.id, actor_id=CLIENT)
    with pytest.raises(WrongState) as refused:
        await services.contracts.outside_scope(GUILD_ID, rid, actor_id=WORKER, price=60000, reason="Late.")
    assert refused.value.key == "error.review.revision_answered"


async def test_two_answers_at_once_exactly_one_wins(services: Services, guild: Guild) -> None:
    contract = await delivered_contract(services)
    rid = await asked(services, contract, "Add a mascot.")

    results = await asyncio.gather(
        services.contracts.outside_scope(GUILD_ID, rid, actor_id=WORKER, price=60000, reason="New work."),
        services.deliveries.answer_extra_revision(GUILD_ID, rid, actor_id=WORKER, accept=True),
        return_exceptions=True,
    )

    assert sum(1 for r in results if isinstance(r, WrongState)) == 1
    assert sum(1 for r in results if not isinstance(r, BaseException)) == 1
    rows = await services.db.fetchall("SELECT COUNT(*) AS n FROM amendments WHERE status = 'proposed'", ())
    status = (await revision(services, contract.id, rid)).status
    assert (status, rows[0]["n"]) in {("outside_scope", 1), ("accepted", 0)}


# -- A → B → A --------------------------------------------------------------------------------


async def test_a_revision_back_to_an_earlier_revision_request_is_a_revert(services: Services, guild: Guild) -> None:
    contract = await delivered_contract(services, revisions=5)
    first = await revised(services, contract, "Make the bowl red.")
    first_id = (await services.history.history(GUILD_ID, contract.id, viewer_id=CLIENT)).revisions[0].id
    await deliver(services, first)
    contract = await revised(services, contract, "Make the bowl blue.")
    await deliver(services, contract)

    outcome = await services.deliveries.request_revision(GUILD_ID, contract.id, actor_id=CLIENT,
                                                         reason="  MAKE the bowl red!! ")  # re-typed A

    assert (outcome.request.reverts_to, outcome.request.reverts_to_revision) == (None, first_id)
    dm = await contract_outbox(services, contract.id, message_key="notify.scope_revision_included")
    assert [r["args"]["reverts"] for r in dm] == ["-", "-", f"#{first_id}"]
    posted = await contract_outbox(services, contract.id, message_key="thread.scope_revision")
    assert posted[-1]["args"]["reverts"] == f"#{first_id}"
    history = await services.history.history(GUILD_ID, contract.id, viewer_id=WORKER)
    assert ("revision", outcome.request.id, None, first_id) in history.reverts
    figures = await services.reputation.client_figures(GUILD_ID, CLIENT)
    assert figures.reverts == 1
    [event] = [e for e in await events(services, "revision.requested")
               if e["data"]["revision_id"] == outcome.request.id]
    assert event["data"]["reverts_to_revision"] == first_id


async def test_asking_the_same_again_is_no_revert(services: Services, guild: Guild) -> None:
    contract = await delivered_contract(services, revisions=5)
    contract = await revised(services, contract, "Make the bowl red.")
    await deliver(services, contract)

    outcome = await services.deliveries.request_revision(GUILD_ID, contract.id, actor_id=CLIENT,
                                                         reason="make the bowl red")

    assert (outcome.request.reverts_to, outcome.request.reverts_to_revision) == (None, None)
    assert (await services.reputation.client_figures(GUILD_ID, CLIENT)).reverts == 0


async def test_an_amendment_back_to_a_revision_request_is_a_revert(services: Services, guild: Guild) -> None:
    contract = await delivered_contract(services, revisions=5)
    contract = await revised(services, contract, "Logo in red.")
    first_id = (await services.history.history(GUILD_ID, contract.id, viewer_id=CLIENT)).revisions[0].id
    await deliver(services, contract)
    contract = await revised(services, contract, "Logo in blue.")

    amendment = await services.contracts.propose_amendment(GUILD_ID, contract.id, actor_id=CLIENT,
                                                           reason="Red after all", scope="ＬＯＧＯ　ｉｎ　ｒｅｄ")

    assert (amendment.reverts_to, amendment.reverts_to_revision) == (None, first_id)
    told = await contract_outbox(services, contract.id, message_key="notify.amendment_proposed")
    assert told[-1]["args"]["reverts"] == f"#{first_id}"
    await services.contracts.answer_amendment(GUILD_ID, amendment.id, actor_id=WORKER, accept=True)
    history = await services.history.history(GUILD_ID, contract.id, viewer_id=CLIENT)
    assert history.versions[-1].reverts_to_revision == first_id
    assert ("version", 2, None, first_id) in history.reverts
    assert (await services.reputation.client_figures(GUILD_ID, CLIENT)).reverts == 1


async def test_the_amendment_a_revision_became_is_no_revert(services: Services, guild: Guild) -> None:
    contract = await delivered_contract(services)
    rid = await asked(services, contract, "Add a mascot.")
    amendment = await services.contracts.outside_scope(GUILD_ID, rid, actor_id=WORKER, price=60000, reason="New.")
    assert (amendment.reverts_to, amendment.reverts_to_revision) == (None, None)
