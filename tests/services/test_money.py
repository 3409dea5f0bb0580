"""Money that cannot be stranded: balances and payouts per currency, the currency change
refused while a job or application could still make a contract in the old one."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest

from bot.clock import FakeClock
from bot.errors import InvalidInput, WrongState
from bot.models.entities import Guild
from bot.models.timeutil import to_iso
from bot.repositories.ledger import owed_account, refund_account
from bot.services.container import Services
from bot.services.escrow import MoneyLine
from tests.ids import CLIENT, GUILD_ID, MODERATOR, OUTSIDER, WORKER, WORKER2
from tests.services.helpers import (
    apply,
    balance,
    completed_contract,
    deposited_contract,
    disputed_contract,
    events,
    force_currency,
    funded_contract,
    hired_contract,
    ledger,
    no_cooldowns,
    outbox,
    post_job,
    reload,
    restarted,
    setup_guild,
    snapshot,
)

OWED = 45000  # the default job (50,000 JPY) less the 10% fee


async def test_a_jpy_contract_in_a_usd_guild_is_shown_and_paid_in_yen(services: Services, guild: Guild) -> None:
    """The stranded 45,000 JPY: a job posted in JPY, the guild switched to USD meanwhile."""
    job = await post_job(services)
    await force_currency(services, "USD")  # what /setup allowed before open jobs were checked
    contract = await completed_contract(services, job=job)
    assert contract.currency == "JPY"

    mine = await services.escrow.balances(GUILD_ID, WORKER)
    assert [(b.currency, b.owed) for b in mine] == [("USD", 0), ("JPY", OWED)]
    everyone = await services.escrow.balances(GUILD_ID)
    assert [(b.currency, b.owed, b.fees) for b in everyone] == [("USD", 0, 0), ("JPY", OWED, 5000)]
    [owed] = await services.escrow.owed_list(GUILD_ID)
    assert (owed.user_id, owed.currency, owed.owed) == (WORKER, "JPY", OWED)

    # owed in one currency only: the payout is in it, typed in its units
    after = await services.escrow.record_payout(GUILD_ID, moderator_id=MODERATOR, user_id=WORKER, amount=OWED,
                                                reference="bank 1")
    assert (after.currency, after.owed) == ("JPY", 0)
    assert await balance(services, owed_account(WORKER)) == 0
    [dm] = await outbox(services, message_key="notify.payout_recorded", recipient_id=WORKER)
    assert dm["args"] == {"paid_amount": OWED, "currency": "JPY", "reference": "bank 1"}
    # nothing is owed any more: switching back is allowed
    assert (await setup_guild(services, currency="JPY")).currency == "JPY"


async def owed_in_two_currencies(services: Services) -> None:
    """WORKER is owed 45,000 JPY and $90.00 (a $100 job, 10% fee)."""
    await completed_contract(services)
    await force_currency(services, "USD")
    await completed_contract(services, job=await post_job(services, budget="100"))


async def test_a_payout_with_several_currencies_owed_names_the_currency(services: Services, guild: Guild) -> None:
    await owed_in_two_currencies(services)
    before = await snapshot(services)

    with pytest.raises(InvalidInput) as refused:
        await services.escrow.record_payout(GUILD_ID, moderator_id=MODERATOR, user_id=WORKER, amount=90,
                                            reference="r")
    assert refused.value.key == "error.money.payout_currency_ambiguous"
    assert refused.value.args_map["balances"] == "$90.00 (USD), ¥45,000 (JPY)"
    with pytest.raises(InvalidInput) as unknown:
        await services.escrow.record_payout(GUILD_ID, moderator_id=MODERATOR, user_id=WORKER, amount=90,
                                            reference="r", currency="XYZ")
    assert unknown.value.key == "error.money.payout_currency_unknown"
    with pytest.raises(InvalidInput) as too_much:  # owed nothing in EUR
        await services.escrow.record_payout(GUILD_ID, moderator_id=MODERATOR, user_id=WORKER, amount=1,
                                            reference="r", currency="EUR")
    assert too_much.value.key == "error.mod.payout_too_much"
    assert await snapshot(services) == before

    jpy = await services.escrow.record_payout(GUILD_ID, moderator_id=MODERATOR, user_id=WORKER, amount=45000,
                                              reference="r", currency="jpy")
    assert (jpy.currency, jpy.owed) == ("JPY", 0)
    usd = await services.escrow.record_payout(GUILD_ID, moderator_id=MODERATOR, user_id=WORKER, amount="89.50",
                                              reference="r2")  # only USD is left: no currency needed
    assert (usd.currency, usd.owed) == ("USD", 50)


async def test_the_currency_cannot_change_with_an_open_job_or_application(services: Services,
                                                                          guild: Guild) -> None:
    jobs = [await post_job(services, client_id=CLIENT) for _ in range(6)]
    await apply(services, jobs[0], WORKER)
    await apply(services, jobs[0], WORKER2)
    before = await snapshot(services)

    with pytest.raises(WrongState) as refused:
        await setup_guild(services, currency="USD")

    assert refused.value.key == "error.money.currency_open_jobs"
    args = refused.value.args_map
    assert (args["job_count"], args["application_count"]) == (6, 2)
    assert args["job_ids"] == ", ".join(f"#{job.id}" for job in jobs[:5]) + ", …"
    assert args["application_ids"].count("#") == 2
    assert await snapshot(services) == before
    assert (await services.guilds.require(GUILD_ID)).currency == "JPY"

    for job in jobs:
        await services.jobs.close(GUILD_ID, job.id, actor_id=CLIENT)
    assert (await setup_guild(services, currency="USD")).currency == "USD"


# -- /profile balance ----------------------------------------------------------------------------


async def test_my_money_per_currency_with_payouts_latest_first(services: Services, guild: Guild,
                                                                clock: FakeClock) -> None:
    await completed_contract(services)  # owed 45,000 JPY to WORKER
    active = await funded_contract(services)  # 50,000 JPY held: for WORKER, paid in by CLIENT
    clock.advance(hours=1)
    await services.escrow.record_payout(GUILD_ID, moderator_id=MODERATOR, user_id=WORKER, amount=5000,
                                        reference="bank 1")
    first_at = clock.now()
    clock.advance(days=1)
    await services.escrow.record_payout(GUILD_ID, moderator_id=MODERATOR, user_id=WORKER, amount=10000,
                                        reference="bank 2")
    await force_currency(services, "USD")

    worker = await services.escrow.my_money(GUILD_ID, WORKER)
    assert worker.lines == [
        MoneyLine(currency="USD", owed=0, refund=0, escrow_as_worker=0, escrow_as_client=0, paid_out=0),
        MoneyLine(currency="JPY", owed=30000, refund=0, escrow_as_worker=50000, escrow_as_client=0,
                  paid_out=15000),
    ]
    assert [(p.reference, p.amount, p.currency) for p in worker.payouts] == [("bank 2", 10000, "JPY"),
                                                                              ("bank 1", 5000, "JPY")]
    assert worker.payouts[1].at == first_at

    client = await services.escrow.my_money(GUILD_ID, CLIENT)
    assert client.lines[1] == MoneyLine(currency="JPY", owed=0, refund=0, escrow_as_worker=0,
                                        escrow_as_client=50000, paid_out=0)
    assert client.payouts == []
    assert (await services.escrow.my_money(GUILD_ID, OUTSIDER)).lines == [
        MoneyLine(currency="USD", owed=0, refund=0, escrow_as_worker=0, escrow_as_client=0, paid_out=0)
    ]
    assert active.status == "active"


# -- /mod balance's list and the daily digest ----------------------------------------------------


async def test_everyone_owed_is_listed_with_the_age_of_the_oldest_unpaid_credit(services: Services, guild: Guild,
                                                                                 clock: FakeClock) -> None:
    await completed_contract(services)
    first = clock.now()
    clock.advance(days=1)
    await completed_contract(services)
    second = clock.now()
    clock.advance(days=1)
    _, case = await disputed_contract(services, worker_id=WORKER2)
    await services.cases.act(GUILD_ID, case.id, moderator_id=MODERATOR, action="refund", reason="No delivery")
    refunded = clock.now()

    owed = await services.escrow.owed_list(GUILD_ID)
    assert [(o.user_id, o.currency, o.owed, o.refund, o.since) for o in owed] == [
        (WORKER, "JPY", 2 * OWED, 0, first),
        (CLIENT, "JPY", 0, 50000, refunded),
    ]

    # payouts clear the oldest credit first: the debt is then as old as the second one
    await services.escrow.record_payout(GUILD_ID, moderator_id=MODERATOR, user_id=WORKER, amount=OWED + 1,
                                        reference="bank 1")
    [worker, client] = await services.escrow.owed_list(GUILD_ID)
    assert (worker.user_id, worker.owed, worker.since) == (WORKER, OWED - 1, second)
    assert client.user_id == CLIENT
    await services.escrow.record_payout(GUILD_ID, moderator_id=MODERATOR, user_id=WORKER, amount=OWED - 1,
                                        reference="bank 2")
    assert [o.user_id for o in await services.escrow.owed_list(GUILD_ID)] == [CLIENT]


async def digests(services: Services) -> list[dict[str, Any]]:
    return await outbox(services, message_key="mod.payout_digest")


async def test_the_digest_lists_money_owed_too_long_once_a_day(services: Services, guild: Guild,
                                                               clock: FakeClock) -> None:
    await no_cooldowns(services)
    await completed_contract(services)
    owed_at = clock.now()
    await completed_contract(services, worker_id=WORKER2)  # the same moment: both owed

    assert await services.escrow.payout_digests(owed_at + timedelta(days=2) - timedelta(minutes=1)) == 0
    assert await digests(services) == []

    due = owed_at + timedelta(days=2)  # payout_reminder_after: 2d by default
    assert await services.escrow.payout_digests(due) == 1
    [digest] = await digests(services)
    assert digest["target"] == "mod"
    assert digest["args"]["owed"] == [
        {"user_id": WORKER, "currency": "JPY", "owed_amount": OWED, "refund_amount": 0, "since_at": to_iso(owed_at)},
        {"user_id": WORKER2, "currency": "JPY", "owed_amount": OWED, "refund_amount": 0,
         "since_at": to_iso(owed_at)},
    ]

    # every tick looks, but a day passes between two digests, across a restart too
    assert await services.escrow.payout_digests(due + timedelta(hours=23)) == 0
    async with restarted(services, close_old=False) as again:
        assert await again.escrow.payout_digests(due + timedelta(hours=23, minutes=59)) == 0
        assert await again.escrow.payout_digests(due + timedelta(days=1)) == 1
        assert len(await digests(again)) == 2

        # all paid: nothing overdue, no digest
        for user in (WORKER, WORKER2):
            await again.escrow.record_payout(GUILD_ID, moderator_id=MODERATOR, user_id=user, amount=OWED,
                                             reference="bank")
        assert await again.escrow.payout_digests(due + timedelta(days=5)) == 0
        assert len(await digests(again)) == 2


async def test_the_digest_follows_the_guild_policy(services: Services, guild: Guild, clock: FakeClock) -> None:
    await completed_contract(services)
    await services.guilds.set_policy(GUILD_ID, "payout_reminder_after", "1h", actor_id=MODERATOR)
    assert await services.escrow.payout_digests(clock.now() + timedelta(minutes=59)) == 0
    assert await services.escrow.payout_digests(clock.now() + timedelta(hours=1)) == 1


# -- a moderator cancel while a deposit is declared ---------------------------------------------


async def cancel_request(services: Services) -> tuple[int, int]:
    """A deposit declared, not confirmed; the client asks to cancel: (contract id, case id)."""
    contract = await deposited_contract(services)
    outcome = await services.cases.cancel(GUILD_ID, contract.id, actor_id=CLIENT, reason="Changed my mind.")
    assert outcome.case is not None
    return contract.id, outcome.case.id


async def test_a_cancel_asks_whether_the_declared_deposit_arrived(services: Services, guild: Guild) -> None:
    contract_id, case_id = await cancel_request(services)
    [declared] = (await services.escrow.status(GUILD_ID, contract_id, viewer_id=CLIENT)).deposits
    assert await services.cases.check_action(GUILD_ID, case_id, moderator_id=MODERATOR,
                                             action="cancel") == declared
    before = await snapshot(services)
    with pytest.raises(WrongState) as refused:
        await services.cases.act(GUILD_ID, case_id, moderator_id=MODERATOR, action="cancel", reason="Asked to")
    assert refused.value.key == "error.money.cancel_ask_deposit"
    assert await snapshot(services) == before


async def test_money_arrived_is_confirmed_and_owed_back_in_one_transaction(services: Services,
                                                                           guild: Guild) -> None:
    contract_id, case_id = await cancel_request(services)

    case = await services.cases.act(GUILD_ID, case_id, moderator_id=MODERATOR, action="cancel",
                                    reason="The client asked; the transfer is in our account.", deposit_arrived=True)

    assert case.status == "resolved"
    assert (await reload(services, contract_id)).status == "cancelled"
    [deposit] = (await services.escrow.status(GUILD_ID, contract_id, viewer_id=CLIENT)).deposits
    assert (deposit.status, deposit.confirmed_by) == ("confirmed", MODERATOR)
    assert await balance(services, f"escrow:{contract_id}") == 0
    assert await balance(services, refund_account(CLIENT)) == 50000
    assert await balance(services, "deposits:external") == -50000
    assert [o.user_id for o in await services.escrow.owed_list(GUILD_ID)] == [CLIENT]
    [event] = await events(services, "case.cancel", contract_id=contract_id)
    assert (event["data"]["deposit"], event["data"]["client_amount"]) == ("arrived", 50000)
    told = await outbox(services, message_key="notify.case_cancel_refunded")
    assert sorted(row["recipient_id"] for row in told) == [CLIENT, WORKER]

    # the second click: the case is decided, nothing moves twice
    before = await snapshot(services)
    for arrived in (True, False):
        with pytest.raises(WrongState) as refused:
            await services.cases.act(GUILD_ID, case_id, moderator_id=MODERATOR, action="cancel", reason="again",
                                     deposit_arrived=arrived)
        assert refused.value.key == "error.case.closed"
    assert await snapshot(services) == before


async def test_nothing_arrived_voids_the_declaration_with_the_reason(services: Services, guild: Guild) -> None:
    contract_id, case_id = await cancel_request(services)

    await services.cases.act(GUILD_ID, case_id, moderator_id=MODERATOR, action="cancel",
                             reason="No transfer in our account.", deposit_arrived=False)

    assert (await reload(services, contract_id)).status == "cancelled"
    [deposit] = (await services.escrow.status(GUILD_ID, contract_id, viewer_id=CLIENT)).deposits
    assert deposit.status == "void"
    async with services.db.read() as conn:
        rows = await conn.execute_fetchall("SELECT void_reason FROM deposits WHERE id = ?", (deposit.id,))
    assert [row[0] for row in rows] == ["nothing_arrived"]
    assert await ledger(services) == {}  # no money from a mere declaration
    [voided] = await events(services, "escrow.voided", contract_id=contract_id)
    assert voided["data"]["reason"] == "nothing_arrived"
    assert await outbox(services, message_key="notify.case_cancel_refunded") == []


async def test_an_answer_without_a_declared_deposit_changes_nothing(services: Services, guild: Guild) -> None:
    contract = await hired_contract(services)
    case = await services.cases.escalate(contract.id, reason_kind="escrow_unfunded", subject_id=CLIENT)
    assert case is not None
    assert await services.cases.check_action(GUILD_ID, case.id, moderator_id=MODERATOR, action="cancel") is None
    before = await snapshot(services)
    with pytest.raises(WrongState) as refused:
        await services.cases.act(GUILD_ID, case.id, moderator_id=MODERATOR, action="cancel", reason="r",
                                 deposit_arrived=True)
    assert refused.value.key == "error.money.cancel_answered"
    assert await snapshot(services) == before
    await services.cases.act(GUILD_ID, case.id, moderator_id=MODERATOR, action="cancel", reason="Never funded")
    assert (await reload(services, contract.id)).status == "cancelled"
