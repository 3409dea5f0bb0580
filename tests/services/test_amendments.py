"""Amendments: terms version n+1 on acceptance, the A → B → A flag, top-ups and refunds."""

from __future__ import annotations

import asyncio
from datetime import date, timedelta

import pytest

from bot.clock import FakeClock
from bot.errors import InvalidInput, NotAllowed, NotFound, WrongState
from bot.models.entities import Guild, Terms
from bot.models.states import ContractStatus
from bot.models.timeutil import end_of_day
from bot.services.container import Services
from tests.ids import CLIENT, GUILD_ID, MODERATOR, OUTSIDER, WORKER
from tests.services.helpers import (
    balance,
    count,
    deliver,
    delivered_contract,
    deposited_contract,
    events,
    funded_contract,
    hired_contract,
    offered_contract,
    outbox,
    snapshot,
)

CS = ContractStatus
SCOPE_A = "A logo, two colours, SVG."
SCOPE_B = "A logo and a mascot, four colours."


async def all_terms(services: Services, contract_id: int) -> list[Terms]:
    history = await services.history.history(GUILD_ID, contract_id, viewer_id=CLIENT)
    return history.versions


async def amend_and_accept(services: Services, contract_id: int, *, by: int = CLIENT, **change: object) -> int:
    """Propose ``change`` as ``by``, accept it as the other party; the new terms version."""
    amendment = await services.contracts.propose_amendment(GUILD_ID, contract_id, actor_id=by, reason="change",
                                                           **change)  # type: ignore[arg-type]
    other = WORKER if by == CLIENT else CLIENT
    accepted = await services.contracts.answer_amendment(GUILD_ID, amendment.id, actor_id=other, accept=True)
    assert accepted.new_version is not None
    return accepted.new_version


# -- propose / answer ----------------------------------------------------------------------


async def test_accepted_amendment_becomes_version_two_and_version_one_stays(
    services: Services, guild: Guild, clock: FakeClock
) -> None:
    contract = await hired_contract(services, scope=SCOPE_A)
    (v1,) = await all_terms(services, contract.id)
    clock.advance(hours=1)
    amendment = await services.contracts.propose_amendment(
        GUILD_ID, contract.id, actor_id=CLIENT, reason="Add a mascot", scope=SCOPE_B, price=60000,
    )
    assert (amendment.status, amendment.base_version, amendment.proposed_by) == ("proposed", 1, CLIENT)
    assert (amendment.scope, amendment.price, amendment.reverts_to) == (SCOPE_B, 60000, None)
    (dm,) = await outbox(services, message_key="notify.amendment_proposed")
    assert dm["recipient_id"] == WORKER
    assert dm["buttons"] == [f"amendment:{amendment.id}:accept", f"amendment:{amendment.id}:reject"]
    assert (await services.contracts.get(contract.id)).terms_version == 1  # type: ignore[union-attr]

    clock.advance(hours=1)
    accepted = await services.contracts.answer_amendment(GUILD_ID, amendment.id, actor_id=WORKER, accept=True)

    assert (accepted.status, accepted.new_version, accepted.decided_by) == ("accepted", 2, WORKER)
    assert accepted.decided_at == clock.now()
    first, second = await all_terms(services, contract.id)
    assert first == v1
    assert (second.version, second.scope, second.price, second.created_by) == (2, SCOPE_B, 60000, CLIENT)
    assert (second.deadline_days, second.revisions_included, second.fee_percent) == (
        v1.deadline_days, v1.revisions_included, v1.fee_percent,
    )
    assert (second.reason, second.reverts_to, second.created_at) == ("Add a mascot", None, clock.now())
    view = await services.contracts.view(GUILD_ID, contract.id, viewer_id=WORKER)
    assert (view.contract.terms_version, view.terms) == (2, second)
    assert view.contract.topup_due == 0  # nothing funded yet: the deposit will be the new price
    told = await outbox(services, message_key="notify.amendment_accepted")
    assert sorted(r["recipient_id"] for r in told) == [CLIENT, WORKER]
    assert [e["kind"] for e in await events(services, contract_id=contract.id)][-2:] == [
        "amendment.proposed", "amendment.accepted",
    ]
    deposit = await services.escrow.deposit(GUILD_ID, contract.id, actor_id=CLIENT)
    assert deposit.amount == 60000


async def test_worker_may_propose_too(services: Services, guild: Guild) -> None:
    contract = await hired_contract(services)
    version = await amend_and_accept(services, contract.id, by=WORKER, deadline="10d")
    assert version == 2
    (_, second) = await all_terms(services, contract.id)
    assert (second.deadline_days, second.created_by) == (10, WORKER)


async def test_rejected_amendment_changes_no_terms(services: Services, guild: Guild) -> None:
    contract = await hired_contract(services)
    amendment = await services.contracts.propose_amendment(GUILD_ID, contract.id, actor_id=WORKER, reason="more",
                                                           price=70000)
    rejected = await services.contracts.answer_amendment(GUILD_ID, amendment.id, actor_id=CLIENT, accept=False)
    assert (rejected.status, rejected.decided_by, rejected.new_version) == ("rejected", CLIENT, None)
    assert len(await all_terms(services, contract.id)) == 1
    assert (await services.contracts.get(contract.id)).terms_version == 1  # type: ignore[union-attr]
    (dm,) = await outbox(services, message_key="notify.amendment_rejected")
    assert dm["recipient_id"] == WORKER
    # answered: a second answer is refused, and a new proposal is possible again
    with pytest.raises(WrongState) as again:
        await services.contracts.answer_amendment(GUILD_ID, amendment.id, actor_id=CLIENT, accept=True)
    assert again.value.key == "error.amendment.answered"
    await services.contracts.propose_amendment(GUILD_ID, contract.id, actor_id=WORKER, reason="less", price=65000)


async def test_only_the_other_party_may_answer(services: Services, guild: Guild) -> None:
    contract = await hired_contract(services)
    amendment = await services.contracts.propose_amendment(GUILD_ID, contract.id, actor_id=CLIENT, reason="r",
                                                           scope=SCOPE_B)
    before = await snapshot(services)
    for accept in (True, False):
        with pytest.raises(NotAllowed) as own:
            await services.contracts.answer_amendment(GUILD_ID, amendment.id, actor_id=CLIENT, accept=accept)
        assert own.value.key == "error.amendment.own"
        for actor in (OUTSIDER, MODERATOR):
            with pytest.raises(NotAllowed) as outsider:
                await services.contracts.answer_amendment(GUILD_ID, amendment.id, actor_id=actor, accept=accept)
            assert outsider.value.key == "error.contract.not_party"
    with pytest.raises(NotFound):
        await services.contracts.answer_amendment(GUILD_ID, amendment.id + 1, actor_id=WORKER, accept=True)
    with pytest.raises(NotFound):
        await services.contracts.answer_amendment(GUILD_ID + 1, amendment.id, actor_id=WORKER, accept=True)
    assert await snapshot(services) == before


async def test_outsider_cannot_propose(services: Services, guild: Guild) -> None:
    contract = await hired_contract(services)
    for actor in (OUTSIDER, MODERATOR):
        with pytest.raises(NotAllowed) as refused:
            await services.contracts.propose_amendment(GUILD_ID, contract.id, actor_id=actor, reason="r", price=1)
        assert refused.value.key == "error.contract.not_party"
    assert await count(services, "amendments") == 0


async def test_a_second_pending_amendment_is_refused(services: Services, guild: Guild) -> None:
    contract = await hired_contract(services)
    first = await services.contracts.propose_amendment(GUILD_ID, contract.id, actor_id=CLIENT, reason="r",
                                                       price=55000)
    before = await snapshot(services)
    for actor in (CLIENT, WORKER):
        with pytest.raises(WrongState) as refused:
            await services.contracts.propose_amendment(GUILD_ID, contract.id, actor_id=actor, reason="r",
                                                       price=56000)
        assert refused.value.key == "error.amendment.pending"
        assert refused.value.args_map == {"amendment_id": first.id}
    assert await snapshot(services) == before


@pytest.mark.parametrize(
    "change",
    [
        {"scope": SCOPE_A},
        {"price": 50000},
        {"price": "50000"},
        {"deadline": "7d"},
        {"scope": SCOPE_A, "price": 50000, "deadline": "7d"},
    ],
)
async def test_an_amendment_that_changes_nothing_is_refused(
    services: Services, guild: Guild, change: dict[str, object]
) -> None:
    contract = await hired_contract(services, scope=SCOPE_A, price=50000, deadline="7d")
    before = await snapshot(services)
    with pytest.raises(InvalidInput) as refused:
        await services.contracts.propose_amendment(GUILD_ID, contract.id, actor_id=CLIENT, reason="r",
                                                   **change)  # type: ignore[arg-type]
    assert refused.value.key == "error.amendment.no_change"
    assert await snapshot(services) == before


@pytest.mark.parametrize(
    ("change", "key"),
    [
        ({}, "error.amendment.empty"),
        ({"scope": "   "}, "error.amendment.empty"),
        ({"price": 0}, "error.money.not_positive"),
        ({"price": "1.5"}, "error.money.decimals"),
        ({"deadline": "yesterday"}, "error.deadline.invalid"),
        ({"deadline": "2026-01-01"}, "error.deadline.invalid"),
        ({"price": 60000, "reason": " "}, "error.text.required"),
    ],
)
async def test_bad_amendments_are_refused(
    services: Services, guild: Guild, change: dict[str, object], key: str
) -> None:
    contract = await hired_contract(services)
    before = await snapshot(services)
    arguments: dict[str, object] = {"reason": "because", **change}
    with pytest.raises(InvalidInput) as refused:
        await services.contracts.propose_amendment(GUILD_ID, contract.id, actor_id=CLIENT,
                                                   **arguments)  # type: ignore[arg-type]
    assert refused.value.key == key
    assert await snapshot(services) == before


@pytest.mark.parametrize("stage", ["offered", "cancelled", "completed"])
async def test_amendment_in_a_state_that_has_no_terms_to_change(services: Services, guild: Guild,
                                                                 stage: str) -> None:
    if stage == "offered":
        contract = await offered_contract(services)
    elif stage == "cancelled":
        contract = await hired_contract(services)
        await services.contracts.cancel(GUILD_ID, contract.id, actor_id=CLIENT, reason="no")
    else:
        contract = await delivered_contract(services)
        await services.deliveries.approve(GUILD_ID, contract.id, actor_id=CLIENT)
    with pytest.raises(WrongState) as refused:
        await services.contracts.propose_amendment(GUILD_ID, contract.id, actor_id=CLIENT, reason="r", price=1)
    assert refused.value.key == "error.amendment.state"


async def test_accepting_after_the_contract_ended_is_refused_and_the_amendment_lapses(
    services: Services, guild: Guild
) -> None:
    contract = await hired_contract(services)
    amendment = await services.contracts.propose_amendment(GUILD_ID, contract.id, actor_id=CLIENT, reason="r",
                                                           price=60000)
    await services.contracts.cancel(GUILD_ID, contract.id, actor_id=WORKER, reason="no")
    with pytest.raises(WrongState) as refused:
        await services.contracts.answer_amendment(GUILD_ID, amendment.id, actor_id=WORKER, accept=True)
    assert refused.value.key == "error.amendment.stale"
    assert len(await all_terms(services, contract.id)) == 1
    lapsed = (await services.history.history(GUILD_ID, contract.id, viewer_id=CLIENT)).amendments[0]
    assert lapsed.status == "lapsed"
    with pytest.raises(WrongState) as again:
        await services.contracts.answer_amendment(GUILD_ID, amendment.id, actor_id=WORKER, accept=True)
    assert again.value.key == "error.amendment.answered"


async def test_an_amendment_on_a_stale_base_version_is_refused(services: Services, guild: Guild) -> None:
    contract = await hired_contract(services, scope=SCOPE_A)
    amendment = await services.contracts.propose_amendment(GUILD_ID, contract.id, actor_id=CLIENT, reason="r",
                                                           price=60000)
    # Simulate terms that moved on under the pending amendment (a race the service must survive):
    # version 2 appears and the contract points at it.
    async with services.db.transaction() as conn:
        await conn.execute(
            "INSERT INTO contract_terms (contract_id, version, scope, price, deadline_days, deadline_date,"
            " revisions_included, fee_percent, created_by, created_at)"
            " SELECT contract_id, 2, ?, price, deadline_days, deadline_date, revisions_included, fee_percent,"
            " created_by, created_at FROM contract_terms WHERE contract_id = ? AND version = 1",
            (SCOPE_B, contract.id),
        )
        await conn.execute("UPDATE contracts SET terms_version = 2 WHERE id = ?", (contract.id,))
    with pytest.raises(WrongState) as refused:
        await services.contracts.answer_amendment(GUILD_ID, amendment.id, actor_id=WORKER, accept=True)
    assert refused.value.key == "error.amendment.stale"
    assert len(await all_terms(services, contract.id)) == 2
    assert (await services.contracts.get(contract.id)).terms_version == 2  # type: ignore[union-attr]


# -- A → B → A ------------------------------------------------------------------------------


async def test_returning_to_an_earlier_scope_is_flagged(services: Services, guild: Guild) -> None:
    contract = await hired_contract(services, scope=SCOPE_A)
    assert await amend_and_accept(services, contract.id, scope=SCOPE_B) == 2
    back = await services.contracts.propose_amendment(
        GUILD_ID, contract.id, actor_id=CLIENT, reason="Back to the first idea",
        scope="  a LOGO,   two colours, svg. ",  # whitespace and case do not make a new scope
    )
    assert back.reverts_to == 1
    first, latest = await outbox(services, message_key="notify.amendment_proposed", recipient_id=WORKER)
    assert (first["args"]["reverts"], latest["args"]["reverts"]) == ("-", "v1")
    await services.contracts.answer_amendment(GUILD_ID, back.id, actor_id=WORKER, accept=True)
    versions = await all_terms(services, contract.id)
    assert [(t.version, t.reverts_to) for t in versions] == [(1, None), (2, None), (3, 1)]
    history = await services.history.history(GUILD_ID, contract.id, viewer_id=WORKER)
    assert ("version", 3, 1, None) in history.reverts
    accepted = [e for e in await events(services, "amendment.accepted") if e["data"]["version"] == 3]
    assert accepted[0]["data"]["reverts_to"] == 1


async def test_a_price_change_alone_is_not_a_revert(services: Services, guild: Guild) -> None:
    contract = await hired_contract(services, scope=SCOPE_A)
    await amend_and_accept(services, contract.id, scope=SCOPE_B)
    amendment = await services.contracts.propose_amendment(GUILD_ID, contract.id, actor_id=CLIENT, reason="r",
                                                           price=70000)
    assert amendment.reverts_to is None


# -- money ------------------------------------------------------------------------------------


async def test_price_raised_on_a_funded_contract_needs_a_topup_before_release(
    services: Services, guild: Guild
) -> None:
    contract = await funded_contract(services, price=50000)
    assert await balance(services, f"escrow:{contract.id}") == 50000
    await amend_and_accept(services, contract.id, by=WORKER, price=60000)

    raised = await services.contracts.get(contract.id)
    assert raised is not None and raised.topup_due == 10000
    (need,) = await outbox(services, message_key="notify.topup_needed")
    assert (need["recipient_id"], need["args"]["topup_amount"]) == (CLIENT, 10000)
    assert need["buttons"] == [f"escrow:{contract.id}:deposit"]

    delivered = await deliver(services, raised)
    before = await snapshot(services)
    with pytest.raises(WrongState) as refused:
        await services.deliveries.approve(GUILD_ID, delivered.id, actor_id=CLIENT)
    assert refused.value.key == "error.escrow.topup_pending"
    assert refused.value.args_map["topup_amount"] == 10000
    assert await snapshot(services) == before

    topup = await services.escrow.deposit(GUILD_ID, contract.id, actor_id=CLIENT, reference="topup")
    assert (topup.kind, topup.amount, topup.status) == ("topup", 10000, "declared")
    assert await balance(services, f"escrow:{contract.id}") == 50000  # declared is not received
    await services.escrow.confirm(GUILD_ID, contract.id, moderator_id=MODERATOR)
    assert await balance(services, f"escrow:{contract.id}") == 60000
    assert (await services.contracts.get(contract.id)).topup_due == 0  # type: ignore[union-attr]

    settlement = await services.deliveries.approve(GUILD_ID, contract.id, actor_id=CLIENT)
    assert (settlement.held, settlement.fee, settlement.to_worker, settlement.to_client) == (60000, 6000, 54000, 0)
    assert await balance(services, f"escrow:{contract.id}") == 0
    assert await balance(services, f"owed:{WORKER}") == 54000
    assert await balance(services, "fees") == 6000
    assert await balance(services, f"refund:{CLIENT}") == 0


async def test_price_raised_while_the_deposit_waits_for_confirmation(services: Services, guild: Guild) -> None:
    contract = await deposited_contract(services, price=50000)
    await amend_and_accept(services, contract.id, price=55000)
    await services.escrow.confirm(GUILD_ID, contract.id, moderator_id=MODERATOR)
    funded = await services.contracts.get(contract.id)
    assert funded is not None and (funded.status, funded.topup_due) == (CS.ACTIVE, 5000)
    await services.escrow.deposit(GUILD_ID, contract.id, actor_id=CLIENT)
    await services.escrow.confirm(GUILD_ID, contract.id, moderator_id=MODERATOR)
    assert await balance(services, f"escrow:{contract.id}") == 55000


async def test_price_lowered_on_a_funded_contract_refunds_the_excess_at_approval(
    services: Services, guild: Guild
) -> None:
    contract = await funded_contract(services, price=50000)
    await amend_and_accept(services, contract.id, by=CLIENT, price=40000)
    lowered = await services.contracts.get(contract.id)
    assert lowered is not None and lowered.topup_due == 0
    assert await outbox(services, message_key="notify.topup_needed") == []
    assert await balance(services, f"escrow:{contract.id}") == 50000  # nothing moves until settlement
    await deliver(services, lowered)
    settlement = await services.deliveries.approve(GUILD_ID, contract.id, actor_id=CLIENT)
    assert (settlement.held, settlement.fee, settlement.to_worker, settlement.to_client) == (50000, 4000, 36000,
                                                                                             10000)
    assert await balance(services, f"escrow:{contract.id}") == 0
    assert await balance(services, f"owed:{WORKER}") == 36000
    assert await balance(services, f"refund:{CLIENT}") == 10000
    assert await balance(services, "fees") == 4000


async def test_price_lowered_again_before_the_topup_cancels_it(services: Services, guild: Guild) -> None:
    contract = await funded_contract(services, price=50000)
    await amend_and_accept(services, contract.id, price=60000)
    await amend_and_accept(services, contract.id, price=30000)
    lowered = await services.contracts.get(contract.id)
    assert lowered is not None and lowered.topup_due == 0
    with pytest.raises(WrongState) as refused:
        await services.escrow.deposit(GUILD_ID, contract.id, actor_id=CLIENT)
    assert refused.value.key == "error.escrow.already_funded"
    await deliver(services, lowered)
    settlement = await services.deliveries.approve(GUILD_ID, contract.id, actor_id=CLIENT)
    assert (settlement.fee, settlement.to_worker, settlement.to_client) == (3000, 27000, 20000)


# -- deadline ------------------------------------------------------------------------------------


async def test_deadline_amendment_on_an_active_contract_moves_due_at(
    services: Services, guild: Guild, clock: FakeClock
) -> None:
    contract = await hired_contract(services, deadline="7d")
    clock.advance(days=2)  # the client funds two days late
    await services.escrow.deposit(GUILD_ID, contract.id, actor_id=CLIENT)
    await services.escrow.confirm(GUILD_ID, contract.id, moderator_id=MODERATOR)
    funded = await services.contracts.get(contract.id)
    assert funded is not None and funded.funded_at == clock.now()
    assert funded.due_at == funded.funded_at + timedelta(days=7)

    clock.advance(days=1)
    await amend_and_accept(services, contract.id, by=WORKER, deadline="10d")
    moved = await services.contracts.get(contract.id)
    assert moved is not None and moved.due_at == funded.funded_at + timedelta(days=10)

    await amend_and_accept(services, contract.id, by=WORKER, deadline="2026-02-01")
    dated = await services.contracts.get(contract.id)
    # a date agreed on a funded contract is taken as given: no funding delay is added to it
    assert dated is not None and dated.due_at == end_of_day(date(2026, 2, 1))


async def test_deadline_amendment_before_funding_sets_no_due_date(services: Services, guild: Guild) -> None:
    contract = await hired_contract(services, deadline="7d")
    await amend_and_accept(services, contract.id, deadline="3d")
    unfunded = await services.contracts.get(contract.id)
    assert unfunded is not None and unfunded.due_at is None
    await services.escrow.deposit(GUILD_ID, contract.id, actor_id=CLIENT)
    await services.escrow.confirm(GUILD_ID, contract.id, moderator_id=MODERATOR)
    funded = await services.contracts.get(contract.id)
    assert funded is not None and funded.funded_at is not None
    assert funded.due_at == funded.funded_at + timedelta(days=3)


async def test_concurrent_answers_to_one_amendment_exactly_one_wins(services: Services, guild: Guild) -> None:
    contract = await hired_contract(services)
    amendment = await services.contracts.propose_amendment(GUILD_ID, contract.id, actor_id=CLIENT, reason="r",
                                                           price=60000)
    results = await asyncio.gather(
        services.contracts.answer_amendment(GUILD_ID, amendment.id, actor_id=WORKER, accept=True),
        services.contracts.answer_amendment(GUILD_ID, amendment.id, actor_id=WORKER, accept=False),
        return_exceptions=True,
    )
    lost = [r for r in results if isinstance(r, BaseException)]
    assert len(lost) == 1 and isinstance(lost[0], WrongState)
    assert len(await all_terms(services, contract.id)) in {1, 2}
