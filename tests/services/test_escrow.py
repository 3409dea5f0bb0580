"""Escrow (仮払い): declare a deposit, a moderator confirms it, balances and recorded payouts."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta

import pytest

from bot.clock import FakeClock
from bot.errors import InvalidInput, MarketError, NotAllowed, WrongState
from bot.models.entities import Deposit, Guild
from bot.models.states import ContractStatus
from bot.services.container import Services
from tests.ids import CLIENT, GUILD_ID, MODERATOR, OUTSIDER, WORKER, WORKER2
from tests.services.helpers import (
    completed_contract,
    contract_outbox,
    deposited_contract,
    funded_contract,
    hired_contract,
    ledger,
    ledger_txns,
    reload,
    setup_guild,
    snapshot,
)

PRICE = 50000  # the default job budget (JPY, no minor unit)


# -- deposit --------------------------------------------------------------------------------


async def test_client_deposit_declares_and_asks_the_moderators(services: Services, guild: Guild,
                                                             clock: FakeClock) -> None:
    contract = await hired_contract(services)
    clock.advance(hours=5)

    deposit = await services.escrow.deposit(GUILD_ID, contract.id, actor_id=CLIENT, reference="  furikomi 1234  ")

    assert deposit.kind == "initial"
    assert deposit.status == "declared"
    assert deposit.amount == PRICE
    assert deposit.reference == "furikomi 1234"
    assert deposit.provider == "manual"
    assert deposit.declared_by == CLIENT
    assert deposit.confirmed_by is None
    after = await reload(services, contract.id)
    assert after.status == ContractStatus.FUNDING_SUBMITTED
    assert after.deposit_declared_at == clock.now()
    assert after.funded_at is None
    mod = await contract_outbox(services, contract.id, target="mod")
    assert len(mod) == 1
    assert mod[0]["message_key"] == "mod.deposit_declared"
    assert mod[0]["buttons"] == [f"escrow:{contract.id}:confirm"]
    assert mod[0]["args"]["reference"] == "furikomi 1234"
    assert mod[0]["args"]["deposit_amount"] == PRICE
    worker_dms = await contract_outbox(services, contract.id, target="dm",
                                       message_key="notify.deposit_declared_worker")
    assert [row["recipient_id"] for row in worker_dms] == [WORKER]
    # nothing is credited until a moderator confirms
    assert await ledger_txns(services, contract_id=contract.id) == []


async def test_deposit_without_reference(services: Services, guild: Guild) -> None:
    contract = await hired_contract(services)
    deposit = await services.escrow.deposit(GUILD_ID, contract.id, actor_id=CLIENT)
    assert deposit.reference is None
    mod = await contract_outbox(services, contract.id, target="mod")
    assert mod[0]["args"]["reference"] == "-"


@pytest.mark.parametrize("actor", [WORKER, OUTSIDER, MODERATOR])
async def test_deposit_by_anyone_but_the_client_is_refused(services: Services, guild: Guild, actor: int) -> None:
    contract = await hired_contract(services)
    before = await snapshot(services)
    with pytest.raises(NotAllowed) as refused:
        await services.escrow.deposit(GUILD_ID, contract.id, actor_id=actor, reference="x")
    assert refused.value.key == "error.escrow.client_only"
    assert await snapshot(services) == before


async def test_second_deposit_is_refused(services: Services, guild: Guild) -> None:
    contract = await deposited_contract(services)
    before = await snapshot(services)
    with pytest.raises(WrongState) as refused:
        await services.escrow.deposit(GUILD_ID, contract.id, actor_id=CLIENT, reference="again")
    assert refused.value.key == "error.contract.state"
    assert await snapshot(services) == before


async def test_deposit_on_a_funded_contract_without_topup_is_refused(services: Services, guild: Guild) -> None:
    contract = await funded_contract(services)
    before = await snapshot(services)
    with pytest.raises(WrongState) as refused:
        await services.escrow.deposit(GUILD_ID, contract.id, actor_id=CLIENT)
    assert refused.value.key == "error.escrow.already_funded"
    assert await snapshot(services) == before


async def test_deposit_before_acceptance_is_refused(services: Services, guild: Guild) -> None:
    from tests.services.helpers import offered_contract

    contract = await offered_contract(services)
    with pytest.raises(WrongState) as refused:
        await services.escrow.deposit(GUILD_ID, contract.id, actor_id=CLIENT)
    assert refused.value.key == "error.contract.state"
    assert (await reload(services, contract.id)).status == ContractStatus.OFFERED


async def test_two_concurrent_deposits_one_wins(services: Services, guild: Guild) -> None:
    contract = await hired_contract(services)
    results = await asyncio.gather(
        services.escrow.deposit(GUILD_ID, contract.id, actor_id=CLIENT, reference="a"),
        services.escrow.deposit(GUILD_ID, contract.id, actor_id=CLIENT, reference="b"),
        return_exceptions=True,
    )
    assert sum(isinstance(r, Deposit) for r in results) == 1
    assert sum(isinstance(r, WrongState) for r in results) == 1
    rows = await services.db.fetchall("SELECT * FROM deposits WHERE contract_id = ?", (contract.id,))
    assert len(rows) == 1


async def test_deposit_reference_too_long_is_refused(services: Services, guild: Guild) -> None:
    contract = await hired_contract(services)
    with pytest.raises(InvalidInput) as refused:
        await services.escrow.deposit(GUILD_ID, contract.id, actor_id=CLIENT, reference="x" * 201)
    assert refused.value.key == "error.text.too_long"
    assert (await reload(services, contract.id)).status == ContractStatus.AWAITING_FUNDING


# -- confirm --------------------------------------------------------------------------------


async def test_moderator_confirm_activates_and_credits_escrow(services: Services, guild: Guild,
                                                            clock: FakeClock) -> None:
    contract = await deposited_contract(services)
    clock.advance(hours=3)

    confirmed = await services.escrow.confirm(GUILD_ID, contract.id, moderator_id=MODERATOR)

    assert confirmed.status == "confirmed"
    assert confirmed.confirmed_by == MODERATOR
    assert confirmed.confirmed_at == clock.now()
    after = await reload(services, contract.id)
    assert after.status == ContractStatus.ACTIVE
    assert after.funded_at == clock.now()
    assert after.due_at == clock.now() + timedelta(days=7)
    balances = await ledger(services)
    assert balances[f"escrow:{contract.id}"] == PRICE
    assert balances["deposits:external"] == -PRICE
    txns = await ledger_txns(services, contract_id=contract.id)
    assert [(t["kind"], t["idempotency_key"], t["actor_id"]) for t in txns] == [
        ("deposit", f"deposit:{confirmed.id}", MODERATOR)
    ]
    keys = {(r["recipient_id"], r["message_key"]) for r in await contract_outbox(services, contract.id, target="dm")}
    assert (WORKER, "notify.funded_worker") in keys
    assert (CLIENT, "notify.funded_client") in keys
    events = await services.db.fetchall(
        "SELECT kind, actor_id FROM events WHERE contract_id = ? AND kind LIKE 'escrow.%' ORDER BY id", (contract.id,))
    assert [(e["kind"], e["actor_id"]) for e in events] == [
        ("escrow.declared", CLIENT), ("escrow.confirmed", MODERATOR)]


async def test_due_at_counts_days_from_funding_not_signing(services: Services, guild: Guild,
                                                           clock: FakeClock) -> None:
    contract = await hired_contract(services, deadline="10d")
    clock.advance(days=2)
    await services.escrow.deposit(GUILD_ID, contract.id, actor_id=CLIENT)
    clock.advance(days=1, hours=4)
    await services.escrow.confirm(GUILD_ID, contract.id, moderator_id=MODERATOR)
    after = await reload(services, contract.id)
    assert after.funded_at == clock.now()
    assert after.due_at == clock.now() + timedelta(days=10)


async def test_date_deadline_moves_by_the_funding_delay(services: Services, guild: Guild, clock: FakeClock) -> None:
    # the clock starts on 2026-01-05 09:00 UTC
    contract = await hired_contract(services, deadline="2026-01-20")
    accepted = contract.accepted_at
    assert accepted == clock.now()
    clock.advance(days=2)
    await services.escrow.deposit(GUILD_ID, contract.id, actor_id=CLIENT)
    clock.advance(days=1)
    await services.escrow.confirm(GUILD_ID, contract.id, moderator_id=MODERATOR)
    after = await reload(services, contract.id)
    # end of 2026-01-20 UTC, moved by the three days between acceptance and funding
    assert after.due_at == datetime(2026, 1, 23, 23, 59, 59, tzinfo=UTC)


async def test_date_deadline_funded_at_once_is_not_moved(services: Services, guild: Guild) -> None:
    contract = await funded_contract(services, deadline="2026-01-20")
    assert contract.due_at == datetime(2026, 1, 20, 23, 59, 59, tzinfo=UTC)


@pytest.mark.parametrize("party", [CLIENT, WORKER])
async def test_confirm_by_a_party_is_refused(services: Services, guild: Guild, party: int) -> None:
    contract = await deposited_contract(services)
    before = await snapshot(services)
    with pytest.raises(NotAllowed) as refused:
        await services.escrow.confirm(GUILD_ID, contract.id, moderator_id=party)
    assert refused.value.key == "error.mod.party"
    assert await snapshot(services) == before


async def test_moderator_who_is_the_client_cannot_confirm_their_own_deposit(services: Services,
                                                                           guild: Guild) -> None:
    contract = await deposited_contract(services, client_id=MODERATOR)
    with pytest.raises(NotAllowed) as refused:
        await services.escrow.confirm(GUILD_ID, contract.id, moderator_id=MODERATOR)
    assert refused.value.key == "error.mod.party"
    assert (await reload(services, contract.id)).status == ContractStatus.FUNDING_SUBMITTED
    # another moderator can
    await services.escrow.confirm(GUILD_ID, contract.id, moderator_id=OUTSIDER)
    assert (await reload(services, contract.id)).status == ContractStatus.ACTIVE


async def test_confirm_with_nothing_declared_is_refused(services: Services, guild: Guild) -> None:
    contract = await hired_contract(services)
    before = await snapshot(services)
    with pytest.raises(WrongState) as refused:
        await services.escrow.confirm(GUILD_ID, contract.id, moderator_id=MODERATOR)
    assert refused.value.key == "error.escrow.nothing_declared"
    assert await snapshot(services) == before


async def test_confirm_twice_credits_escrow_once(services: Services, guild: Guild) -> None:
    contract = await deposited_contract(services)
    await services.escrow.confirm(GUILD_ID, contract.id, moderator_id=MODERATOR)
    before = await snapshot(services)
    with pytest.raises(WrongState) as refused:
        await services.escrow.confirm(GUILD_ID, contract.id, moderator_id=MODERATOR)
    assert refused.value.key == "error.escrow.nothing_declared"
    assert await snapshot(services) == before
    assert (await ledger(services))[f"escrow:{contract.id}"] == PRICE
    assert len(await ledger_txns(services, contract_id=contract.id, kind="deposit")) == 1


async def test_two_concurrent_confirms_exactly_one_wins(services: Services, guild: Guild) -> None:
    contract = await deposited_contract(services)
    results = await asyncio.gather(
        services.escrow.confirm(GUILD_ID, contract.id, moderator_id=MODERATOR),
        services.escrow.confirm(GUILD_ID, contract.id, moderator_id=OUTSIDER),
        return_exceptions=True,
    )
    winners = [r for r in results if isinstance(r, Deposit)]
    losers = [r for r in results if isinstance(r, MarketError)]
    assert len(winners) == 1 and len(losers) == 1
    assert isinstance(losers[0], WrongState)
    assert (await ledger(services))[f"escrow:{contract.id}"] == PRICE
    assert len(await ledger_txns(services, contract_id=contract.id, kind="deposit")) == 1
    assert len(await contract_outbox(services, contract.id, message_key="notify.funded_worker")) == 1


async def test_confirm_in_another_guild_is_not_found(services: Services, guild: Guild) -> None:
    from bot.errors import NotFound

    contract = await deposited_contract(services)
    await setup_guild(services, 2000)
    with pytest.raises(NotFound) as refused:
        await services.escrow.confirm(2000, contract.id, moderator_id=MODERATOR)
    assert refused.value.key == "error.contract.not_found"
    assert (await reload(services, contract.id)).status == ContractStatus.FUNDING_SUBMITTED


# -- status ---------------------------------------------------------------------------------


@pytest.mark.parametrize(("viewer", "is_moderator"), [(CLIENT, False), (WORKER, False), (MODERATOR, True)])
async def test_status_for_parties_and_moderators(services: Services, guild: Guild, viewer: int,
                                                 is_moderator: bool) -> None:
    contract = await funded_contract(services)
    status = await services.escrow.status(GUILD_ID, contract.id, viewer_id=viewer, is_moderator=is_moderator)
    assert status.price == PRICE
    assert status.held == PRICE
    assert status.topup_due == 0
    assert [(d.kind, d.status, d.amount) for d in status.deposits] == [("initial", "confirmed", PRICE)]


async def test_status_before_confirmation_holds_nothing(services: Services, guild: Guild) -> None:
    contract = await deposited_contract(services)
    status = await services.escrow.status(GUILD_ID, contract.id, viewer_id=WORKER)
    assert status.held == 0
    assert [d.status for d in status.deposits] == ["declared"]


async def test_status_for_an_outsider_is_refused(services: Services, guild: Guild) -> None:
    contract = await funded_contract(services)
    with pytest.raises(NotAllowed) as refused:
        await services.escrow.status(GUILD_ID, contract.id, viewer_id=OUTSIDER)
    assert refused.value.key == "error.contract.not_party"


# -- balances and payouts ---------------------------------------------------------------------

WORKER_PRICE = 20000


async def owed_and_refund(services: Services) -> None:
    """WORKER is owed 45000 as a worker (50000 less 10%) and 20000 as a refunded client."""
    await completed_contract(services)
    contract = await funded_contract(services, client_id=WORKER, worker_id=WORKER2, price=WORKER_PRICE)
    case = await services.cases.dispute(GUILD_ID, contract.id, actor_id=WORKER2, reason="cannot do it")
    await services.cases.act(GUILD_ID, case.id, moderator_id=MODERATOR, action="refund", reason="worker gave up")


async def test_balance_per_user_and_for_the_guild(services: Services, guild: Guild) -> None:
    await owed_and_refund(services)
    mine = await services.escrow.balance(GUILD_ID, WORKER)
    assert (mine.owed, mine.refund, mine.total_owed, mine.currency) == (45000, WORKER_PRICE, 65000, "JPY")
    assert mine.fees == 5000
    assert mine.escrow_total == 0
    everyone = await services.escrow.balance(GUILD_ID)
    assert (everyone.owed, everyone.refund, everyone.fees, everyone.escrow_total) == (45000, WORKER_PRICE, 5000, 0)
    nobody = await services.escrow.balance(GUILD_ID, OUTSIDER)
    assert (nobody.owed, nobody.refund) == (0, 0)


async def test_balance_counts_held_escrow(services: Services, guild: Guild) -> None:
    await funded_contract(services)
    assert (await services.escrow.balance(GUILD_ID)).escrow_total == PRICE


async def test_payout_clears_owed_first_then_refunds(services: Services, guild: Guild, clock: FakeClock) -> None:
    await owed_and_refund(services)

    after = await services.escrow.record_payout(GUILD_ID, moderator_id=MODERATOR, user_id=WORKER, amount=50000,
                                                reference="bank 777")

    assert (after.owed, after.refund) == (0, 15000)
    txns = await ledger_txns(services, kind="payout")
    assert len(txns) == 1
    assert (txns[0]["actor_id"], txns[0]["memo"], txns[0]["contract_id"]) == (MODERATOR, "bank 777", None)
    entries = await services.db.fetchall("SELECT account, amount FROM ledger_entries WHERE txn_id = ? ORDER BY id",
                                         (txns[0]["id"],))
    assert sorted((e["account"], e["amount"]) for e in entries) == sorted(
        [(f"owed:{WORKER}", -45000), (f"refund:{WORKER}", -5000), ("payouts:external", 50000)])
    dms = await services.db.fetchall("SELECT * FROM outbox WHERE message_key = 'notify.payout_recorded'")
    assert [(r["recipient_id"], r["target"]) for r in dms] == [(WORKER, "dm")]
    # the rest of the refund can be paid later; then nothing is owed
    final = await services.escrow.record_payout(GUILD_ID, moderator_id=MODERATOR, user_id=WORKER, amount="15000",
                                                reference="bank 778")
    assert (final.owed, final.refund, final.total_owed) == (0, 0, 0)
    assert (await ledger(services))["payouts:external"] == 65000


async def test_payout_smaller_than_owed_leaves_refund_alone(services: Services, guild: Guild) -> None:
    await owed_and_refund(services)
    after = await services.escrow.record_payout(GUILD_ID, moderator_id=MODERATOR, user_id=WORKER, amount=1000,
                                                reference="r")
    assert (after.owed, after.refund) == (44000, WORKER_PRICE)


async def test_payout_of_more_than_owed_is_refused_and_changes_nothing(services: Services, guild: Guild) -> None:
    await owed_and_refund(services)
    before = await snapshot(services)
    with pytest.raises(InvalidInput) as refused:
        await services.escrow.record_payout(GUILD_ID, moderator_id=MODERATOR, user_id=WORKER, amount=65001,
                                            reference="too much")
    assert refused.value.key == "error.mod.payout_too_much"
    assert refused.value.args_map["owed_amount"] == 65000
    assert await snapshot(services) == before


async def test_payout_to_someone_owed_nothing_is_refused(services: Services, guild: Guild) -> None:
    before = await snapshot(services)
    with pytest.raises(InvalidInput) as refused:
        await services.escrow.record_payout(GUILD_ID, moderator_id=MODERATOR, user_id=OUTSIDER, amount=1,
                                            reference="r")
    assert refused.value.key == "error.mod.payout_too_much"
    assert await snapshot(services) == before


async def test_moderator_paying_themselves_is_refused(services: Services, guild: Guild) -> None:
    await owed_and_refund(services)
    before = await snapshot(services)
    with pytest.raises(NotAllowed) as refused:
        await services.escrow.record_payout(GUILD_ID, moderator_id=WORKER, user_id=WORKER, amount=100,
                                            reference="me")
    assert refused.value.key == "error.mod.payout_self"
    assert await snapshot(services) == before


@pytest.mark.parametrize(("amount", "key"), [
    ("100.5", "error.money.decimals"),
    (0.1, "error.money.decimals"),
    ("abc", "error.money.decimals"),
    (0, "error.money.not_positive"),
    (-5, "error.money.not_positive"),
    (10**13, "error.money.too_large"),
])
async def test_bad_payout_amounts_are_refused(services: Services, guild: Guild, amount: object, key: str) -> None:
    await owed_and_refund(services)
    before = await snapshot(services)
    with pytest.raises(InvalidInput) as refused:
        await services.escrow.record_payout(GUILD_ID, moderator_id=MODERATOR, user_id=WORKER,
                                            amount=amount, reference="r")  # type: ignore[arg-type]
    assert refused.value.key == key
    assert await snapshot(services) == before


async def test_payout_in_cents_for_a_usd_guild(services: Services, clock: FakeClock) -> None:
    usd = 2000
    await setup_guild(services, usd, currency="USD")
    await completed_contract(services, guild_id=usd, price="123.45")
    # 12345 cents, fee 10% floored: 1234, owed 11111
    assert (await services.escrow.balance(usd, WORKER)).owed == 11111
    with pytest.raises(InvalidInput) as refused:
        await services.escrow.record_payout(usd, moderator_id=MODERATOR, user_id=WORKER, amount="12.505",
                                            reference="r")
    assert refused.value.key == "error.money.decimals"
    assert refused.value.args_map["decimals"] == 2
    after = await services.escrow.record_payout(usd, moderator_id=MODERATOR, user_id=WORKER, amount="100.11",
                                                reference="r")
    assert after.owed == 1100


async def test_payout_needs_a_reference(services: Services, guild: Guild) -> None:
    await owed_and_refund(services)
    with pytest.raises(InvalidInput) as refused:
        await services.escrow.record_payout(GUILD_ID, moderator_id=MODERATOR, user_id=WORKER, amount=1,
                                            reference="   ")
    assert refused.value.key == "error.text.required"


async def test_same_payout_request_is_recorded_once(services: Services, guild: Guild) -> None:
    await owed_and_refund(services)
    await services.escrow.record_payout(GUILD_ID, moderator_id=MODERATOR, user_id=WORKER, amount=1000,
                                        reference="r", request_id="interaction-1")
    before = await snapshot(services)
    with pytest.raises(WrongState) as refused:
        await services.escrow.record_payout(GUILD_ID, moderator_id=MODERATOR, user_id=WORKER, amount=1000,
                                            reference="r", request_id="interaction-1")
    assert refused.value.key == "error.mod.payout_duplicate"
    assert await snapshot(services) == before
    assert (await services.escrow.balance(GUILD_ID, WORKER)).owed == 44000


async def test_concurrent_payouts_never_overdraw(services: Services, guild: Guild) -> None:
    await owed_and_refund(services)
    results = await asyncio.gather(
        services.escrow.record_payout(GUILD_ID, moderator_id=MODERATOR, user_id=WORKER, amount=40000,
                                      reference="a"),
        services.escrow.record_payout(GUILD_ID, moderator_id=OUTSIDER, user_id=WORKER, amount=40000,
                                      reference="b"),
        return_exceptions=True,
    )
    assert sum(isinstance(r, InvalidInput) for r in results) == 1
    after = await services.escrow.balance(GUILD_ID, WORKER)
    assert after.total_owed == 25000


async def test_settlement_voids_a_topup_still_waiting_for_confirmation(services: Services, guild: Guild) -> None:
    contract = await funded_contract(services)
    amendment = await services.contracts.propose_amendment(GUILD_ID, contract.id, actor_id=WORKER,
                                                           reason="Twice the pages.", price=60000)
    await services.contracts.answer_amendment(GUILD_ID, amendment.id, actor_id=CLIENT, accept=True)
    topup = await services.escrow.deposit(GUILD_ID, contract.id, actor_id=CLIENT, reference="topup")
    assert (topup.kind, topup.amount) == ("topup", 10000)
    case = await services.cases.dispute(GUILD_ID, contract.id, actor_id=WORKER, reason="No answer.")

    await services.cases.act(GUILD_ID, case.id, moderator_id=MODERATOR, action="refund", reason="Refund all.")

    # the escrow held (50000) went back; the unconfirmed top-up can never be confirmed now,
    # so it must not stay in the moderators' list of deposits to confirm
    assert (await ledger(services))[f"refund:{CLIENT}"] == PRICE
    assert await services.escrow.pending_deposits(GUILD_ID) == []
    rows = await services.db.fetchall("SELECT kind, status FROM deposits WHERE contract_id = ? ORDER BY id",
                                      (contract.id,))
    assert [(r["kind"], r["status"]) for r in rows] == [("initial", "confirmed"), ("topup", "void")]
    with pytest.raises(WrongState):
        await services.escrow.confirm(GUILD_ID, contract.id, moderator_id=MODERATOR)
    assert (await ledger(services))[f"escrow:{contract.id}"] == 0
