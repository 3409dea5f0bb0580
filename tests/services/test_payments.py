"""The Stripe payment service on real SQLite, the official library pointed at the local fake
(tests/fakes/stripe_fake.py): provider choice, webhook events once (also when delivered twice
at the same time), top-ups, nothing Stripe-related for the manual provider; the faults: a
worker reminded while a transfer waits for onboarding, calls that give up, money coming back
(refunds made in the dashboard, reversed transfers). After every test, besides the ledger
check, nothing was paid twice (:func:`assert_paid_once`)."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from datetime import timedelta
from pathlib import Path

import pytest

from bot.config import Settings
from bot.db import Database
from bot.errors import InvalidInput, WrongState
from bot.models.entities import Contract
from bot.services.container import Services
from bot.services.payments import MAX_ATTEMPTS, MAX_ONBOARD_REMINDERS
from tests.fakes.stripe_fake import SECRET_KEY, WEBHOOK_SECRET, StripeFake, assert_paid_once
from tests.ids import CLIENT, GUILD_ID, MODERATOR, SETUP_ACTOR, WORKER
from tests.services.helpers import (
    balance,
    completed_contract,
    count,
    deliver,
    events,
    fake_clock,
    hired_contract,
    outbox,
    reload,
    setup_guild,
)


@pytest.fixture
async def stripe_fake() -> AsyncIterator[StripeFake]:
    fake = StripeFake()
    await fake.start()
    yield fake
    await fake.stop()


@pytest.fixture(autouse=True)
async def _paid_once(db: Database, stripe_fake: StripeFake) -> AsyncIterator[None]:
    yield
    await assert_paid_once(db, stripe_fake)


@pytest.fixture
def settings(tmp_path: Path, stripe_fake: StripeFake) -> Settings:
    return Settings(database_path=tmp_path / "bot.db", files_dir=tmp_path / "files", stripe_secret_key=SECRET_KEY,
                    stripe_webhook_secret=WEBHOOK_SECRET, stripe_api_base=stripe_fake.url,
                    web_base_url="https://market.example")


@pytest.fixture
async def stripe_services(services: Services) -> AsyncIterator[Services]:
    await setup_guild(services)
    await services.payments.set_provider(GUILD_ID, "stripe", actor_id=SETUP_ACTOR)
    yield services
    assert services.payments.gateway is not None
    await services.payments.gateway.close()


async def test_the_manual_provider_writes_no_payment_call(services: Services) -> None:
    await setup_guild(services)
    contract = await completed_contract(services)
    assert await count(services, "payment_calls") == 0
    assert await balance(services, f"owed:{WORKER}") == 45000  # ¥50,000 less the 10% fee
    assert await services.payments.provider(GUILD_ID) == "manual"
    assert services.payments.gateway is not None
    await services.payments.gateway.close()
    assert (await reload(services, contract.id)).status == "completed"


async def test_unknown_or_unconfigured_providers_are_refused(services: Services) -> None:
    await setup_guild(services)
    with pytest.raises(InvalidInput) as error:
        await services.payments.set_provider(GUILD_ID, "paypal", actor_id=SETUP_ACTOR)
    assert error.value.key == "error.stripe.provider"
    gateway, services.payments.gateway = services.payments.gateway, None
    with pytest.raises(InvalidInput) as error:
        await services.payments.set_provider(GUILD_ID, "stripe", actor_id=SETUP_ACTOR)
    assert error.value.key == "error.stripe.not_configured"
    assert gateway is not None
    await gateway.close()
    assert await services.payments.provider(GUILD_ID) == "manual"


async def test_the_same_event_delivered_twice_at_once_funds_once(stripe_services: Services,
                                                                 stripe_fake: StripeFake) -> None:
    services = stripe_services
    contract = await hired_contract(services)
    await services.payments.checkout(GUILD_ID, contract.id, actor_id=CLIENT)
    [session_id] = stripe_fake.sessions
    event = stripe_fake.completed(session_id)
    outcomes = await asyncio.gather(services.payments.handle_event(event), services.payments.handle_event(event))
    assert sorted(outcomes) == ["duplicate", "funded"]
    assert await balance(services, f"escrow:{contract.id}") == 50000
    assert (await reload(services, contract.id)).status == "active"


async def test_a_top_up_is_paid_through_the_same_flow(stripe_services: Services, stripe_fake: StripeFake) -> None:
    services = stripe_services
    contract = await hired_contract(services)
    await services.payments.checkout(GUILD_ID, contract.id, actor_id=CLIENT)
    await services.payments.handle_event(stripe_fake.completed(next(iter(stripe_fake.sessions))))
    amendment = await services.contracts.propose_amendment(GUILD_ID, contract.id, actor_id=CLIENT,
                                                           reason="two more colours", price=55000)
    await services.contracts.answer_amendment(GUILD_ID, amendment.id, actor_id=WORKER, accept=True)
    assert (await reload(services, contract.id)).topup_due == 5000

    link = await services.payments.checkout(GUILD_ID, contract.id, actor_id=CLIENT)
    assert (link.kind, link.amount) == ("topup", 5000)
    topup = stripe_fake.sessions[link.url.rsplit("/", 1)[1]]
    assert topup["metadata"]["deposit"] == "topup"
    assert await services.payments.handle_event(stripe_fake.completed(topup["id"])) == "funded"
    assert (await reload(services, contract.id)).topup_due == 0
    assert await balance(services, f"escrow:{contract.id}") == 55000
    with pytest.raises(WrongState) as error:
        await services.payments.checkout(GUILD_ID, contract.id, actor_id=CLIENT)
    assert error.value.key == "error.escrow.already_funded"


async def test_checkout_refused_when_stripe_is_down(stripe_services: Services, stripe_fake: StripeFake) -> None:
    services = stripe_services
    contract = await hired_contract(services)
    stripe_fake.fail("checkout", 503)
    with pytest.raises(WrongState) as error:
        await services.payments.checkout(GUILD_ID, contract.id, actor_id=CLIENT)
    assert error.value.key == "error.stripe.unavailable"
    assert await count(services, "payment_sessions") == 0


# -- helpers of the flows below ---------------------------------------------------------------


async def paid(services: Services, fake: StripeFake) -> Contract:
    """A contract funded through Checkout and the webhook: status ``active``."""
    contract = await hired_contract(services)
    link = await services.payments.checkout(GUILD_ID, contract.id, actor_id=CLIENT)
    assert await services.payments.handle_event(fake.completed(link.url.rsplit("/", 1)[1])) == "funded"
    return await reload(services, contract.id)


async def onboarded(services: Services, fake: StripeFake) -> None:
    await services.payments.onboarding_link(GUILD_ID, WORKER)
    assert (await services.payments.handle_event(fake.account_ready(fake.accounts[-1]["id"]))).startswith(
        "account_ready")


async def approved(services: Services, contract: Contract) -> Contract:
    await deliver(services, contract)
    await services.deliveries.approve(GUILD_ID, contract.id, actor_id=CLIENT)
    return await reload(services, contract.id)


async def intent_of(fake: StripeFake) -> str:
    [session] = fake.sessions.values()
    return str(session["payment_intent"])


async def cases_of(services: Services, reason_kind: str) -> list[str]:
    rows = await services.db.fetchall("SELECT reason FROM cases WHERE reason_kind = ? ORDER BY id", (reason_kind,))
    return [str(row["reason"]) for row in rows]


# -- a worker without a ready account is reminded -----------------------------------------------


async def test_a_transfer_waiting_for_onboarding_reminds_then_escalates_once(stripe_services: Services,
                                                                             stripe_fake: StripeFake) -> None:
    services = stripe_services
    clock = fake_clock(services)
    contract = await approved(services, await paid(services, stripe_fake))
    assert await services.payments.process_calls() == 0
    [call] = await services.payments.calls(contract.id)
    assert (call.status, call.waiting_since) == ("waiting_account", clock.now())
    assert len(await outbox(services, message_key="stripe.notify.onboard_needed")) == 1

    async def reminders() -> list[dict[str, object]]:
        return await outbox(services, message_key="stripe.notify.onboard_reminder", recipient_id=WORKER)

    clock.advance(hours=23)
    await services.payments.process_calls()
    assert await reminders() == []
    clock.advance(hours=1)  # reminder_repeat_every: 1d
    await services.payments.process_calls()
    await services.payments.process_calls()  # a second pass (or process) sends nothing more
    [first] = await reminders()
    assert first["args"] == {"contract_id": contract.id, "paid_amount": 45000, "currency": "JPY"}
    assert await cases_of(services, "payout_onboarding") == []

    clock.advance(days=1)  # payout_reminder_after: 2d -> the moderators' case, once
    await services.payments.process_calls()
    await services.payments.process_calls()
    assert len(await reminders()) == 2
    [reason] = await cases_of(services, "payout_onboarding")
    assert reason.startswith("45000 JPY waiting since")
    assert await balance(services, f"owed:{WORKER}") == 45000

    clock.advance(days=30)  # down for a month: one reminder, and never more than the limit
    await services.payments.process_calls()
    clock.advance(days=30)
    await services.payments.process_calls()
    assert len(await reminders()) == MAX_ONBOARD_REMINDERS == 3
    assert len(await cases_of(services, "payout_onboarding")) == 1

    # the worker onboards: paid once, the reminders stop for good
    await onboarded(services, stripe_fake)
    assert await services.payments.process_calls() == 1
    clock.advance(days=5)
    await services.payments.process_calls()
    assert len(stripe_fake.transfers) == 1 and len(await reminders()) == 3
    assert await balance(services, f"owed:{WORKER}") == 0


async def test_no_reminder_when_the_worker_is_ready(stripe_services: Services, stripe_fake: StripeFake) -> None:
    services = stripe_services
    await onboarded(services, stripe_fake)
    await approved(services, await paid(services, stripe_fake))
    await services.payments.process_calls()
    fake_clock(services).advance(days=5)
    await services.payments.process_calls()
    assert await outbox(services, message_key="stripe.notify.onboard_reminder") == []
    assert await outbox(services, message_key="stripe.notify.onboard_needed") == []
    assert len(stripe_fake.transfers) == 1


# -- retries that end ---------------------------------------------------------------------------


async def test_a_call_failing_for_good_gives_up_with_a_case_and_stays_owed(stripe_services: Services,
                                                                          stripe_fake: StripeFake) -> None:
    services = stripe_services
    clock = fake_clock(services)
    await onboarded(services, stripe_fake)
    contract = await approved(services, await paid(services, stripe_fake))
    for _ in range(MAX_ATTEMPTS + 5):
        stripe_fake.fail("transfers", 503)
    waits = []
    for _ in range(MAX_ATTEMPTS):
        [call] = await services.payments.calls(contract.id)
        clock.set(call.next_attempt_at)
        waits.append(call.next_attempt_at)
        await services.payments.process_calls()
    [call] = await services.payments.calls(contract.id)
    assert (call.status, call.attempts) == ("failed", MAX_ATTEMPTS)
    assert waits[2] - waits[1] < waits[3] - waits[2] <= timedelta(hours=1)  # backoff, bounded
    [reason] = await cases_of(services, "payment_failed")
    assert f"key {call.idempotency_key}" in reason and "503" in reason
    assert f"{MAX_ATTEMPTS} attempts" in reason
    # never lost, never paid: still owed; later passes leave it alone
    assert await balance(services, f"owed:{WORKER}") == 45000
    clock.advance(days=1)
    assert await services.payments.process_calls() == 0
    assert stripe_fake.transfers == []


async def test_a_call_failing_for_a_day_gives_up(stripe_services: Services, stripe_fake: StripeFake) -> None:
    services = stripe_services
    clock = fake_clock(services)
    await onboarded(services, stripe_fake)
    contract = await approved(services, await paid(services, stripe_fake))
    stripe_fake.fail("payment_intents", 500)
    await services.payments.process_calls()
    clock.advance(days=1)
    stripe_fake.fail("payment_intents", 502)
    await services.payments.process_calls()
    [call] = await services.payments.calls(contract.id)
    assert (call.status, call.attempts) == ("failed", 2)
    assert len(await cases_of(services, "payment_failed")) == 1
    assert await balance(services, f"owed:{WORKER}") == 45000


# -- money coming back --------------------------------------------------------------------------


async def test_a_dashboard_refund_of_a_running_contract_is_recorded_once(stripe_services: Services,
                                                                         stripe_fake: StripeFake) -> None:
    services = stripe_services
    contract = await paid(services, stripe_fake)
    intent = await intent_of(stripe_fake)
    event = stripe_fake.refund_in_dashboard(intent, 20000)

    assert await services.payments.handle_event(event) == "refunded_outside"
    assert await services.payments.handle_event(event) == "duplicate"
    # the same state told again (another event id, e.g. an update of the charge): nothing new
    assert await services.payments.handle_event(stripe_fake.charge_refunded(intent)) == "already_recorded"

    assert await balance(services, f"escrow:{contract.id}") == 30000
    assert await balance(services, "payouts:external") == 20000
    [reason] = await cases_of(services, "payment_refunded_outside")
    assert "20000 JPY refunded in Stripe" in reason and "from escrow: 20000" in reason
    [event_row] = await events(services, "stripe.refunded_outside", contract_id=contract.id)
    assert event_row["data"]["amount"] == 20000
    # a later refund of the rest adds only the difference
    assert await services.payments.handle_event(stripe_fake.refund_in_dashboard(intent, 30000)) == "refunded_outside"
    assert await balance(services, f"escrow:{contract.id}") == 0
    assert await balance(services, "payouts:external") == 50000


async def test_the_bots_own_refund_coming_back_changes_nothing(stripe_services: Services,
                                                                stripe_fake: StripeFake) -> None:
    services = stripe_services
    contract = await paid(services, stripe_fake)
    case = await services.cases.dispute(GUILD_ID, contract.id, actor_id=CLIENT, reason="no work")
    await services.cases.act(GUILD_ID, case.id, moderator_id=MODERATOR, action="refund", reason="nothing delivered")
    await services.payments.process_calls()
    before = await balance(services, "payouts:external")
    assert await services.payments.handle_event(stripe_fake.charge_refunded(await intent_of(stripe_fake))) == (
        "refund_ours")
    assert await balance(services, "payouts:external") == before == 50000
    assert await cases_of(services, "payment_refunded_outside") == []


async def test_a_dashboard_refund_pays_a_refused_refund(stripe_services: Services, stripe_fake: StripeFake) -> None:
    services = stripe_services
    contract = await paid(services, stripe_fake)
    case = await services.cases.dispute(GUILD_ID, contract.id, actor_id=CLIENT, reason="no work")
    await services.cases.act(GUILD_ID, case.id, moderator_id=MODERATOR, action="refund", reason="nothing delivered")
    stripe_fake.fail("refunds", 400, "charge_disputed")
    await services.payments.process_calls()
    assert await balance(services, f"refund:{CLIENT}") == 50000
    # a moderator refunds it in the dashboard instead: the owed refund is paid, not the platform's
    event = stripe_fake.refund_in_dashboard(await intent_of(stripe_fake), 50000)
    assert await services.payments.handle_event(event) == "refunded_outside"
    assert await balance(services, f"refund:{CLIENT}") == 0
    assert await balance(services, "fees") == 0
    assert await balance(services, "payouts:external") == 50000


async def test_a_dashboard_refund_after_the_payout_is_the_platforms_loss(stripe_services: Services,
                                                                          stripe_fake: StripeFake) -> None:
    services = stripe_services
    await onboarded(services, stripe_fake)
    contract = await approved(services, await paid(services, stripe_fake))
    await services.payments.process_calls()
    event = stripe_fake.refund_in_dashboard(await intent_of(stripe_fake), 50000)
    assert await services.payments.handle_event(event) == "refunded_outside"
    assert await balance(services, f"escrow:{contract.id}") == 0
    assert await balance(services, "fees") == 5000 - 50000
    [reason] = await cases_of(services, "payment_refunded_outside")
    assert "from the platform: 50000" in reason and "contract completed" in reason


async def test_a_reversed_transfer_is_owed_again_with_a_case(stripe_services: Services,
                                                             stripe_fake: StripeFake) -> None:
    services = stripe_services
    await onboarded(services, stripe_fake)
    contract = await approved(services, await paid(services, stripe_fake))
    await services.payments.process_calls()
    [transfer] = stripe_fake.transfers
    assert await balance(services, f"owed:{WORKER}") == 0

    event = stripe_fake.reverse(transfer["id"], 15000)
    assert await services.payments.handle_event(event) == "reversed"
    assert await services.payments.handle_event(event) == "duplicate"
    assert await balance(services, f"owed:{WORKER}") == 15000
    assert await balance(services, "payouts:external") == 45000 - 15000
    [reason] = await cases_of(services, "payment_reversed")
    assert reason == f"{transfer['id']}: 15000 JPY reversed, owed to the worker again"
    assert await services.payments.handle_event(stripe_fake.reverse(transfer["id"], 30000)) == "reversed"
    assert await balance(services, f"owed:{WORKER}") == 45000
    [event_row, _] = await events(services, "stripe.transfer_reversed", contract_id=contract.id)
    assert event_row["data"]["amount"] == 15000
    # nothing is sent again by itself: a moderator decides (the case)
    assert await services.payments.process_calls() == 0 and len(stripe_fake.transfers) == 1


async def test_unknown_payments_and_transfers_are_ignored(stripe_services: Services, stripe_fake: StripeFake) -> None:
    services = stripe_services
    refund = stripe_fake.event("charge.refunded", {"id": "ch_x", "object": "charge", "payment_intent": "pi_x",
                                                    "amount_refunded": 100})
    reversal = stripe_fake.event("transfer.reversed", {"id": "tr_x", "object": "transfer", "amount_reversed": 100})
    assert await services.payments.handle_event(refund) == "unknown_payment"
    assert await services.payments.handle_event(reversal) == "unknown_transfer"
    assert await count(services, "ledger_entries") == 0
