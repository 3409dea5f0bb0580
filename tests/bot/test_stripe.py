"""Stripe Connect as the payment provider, whole flows through SimCord with the official
``stripe`` library pointed at a local fake (tests/fakes/stripe_fake.py) and webhooks signed
with the real scheme: pay via the button -> webhook -> worker told; approve -> transfer;
refund and split; the faults of issue 14. Never calls Stripe."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import aiohttp
import pytest
import simcord

from bot.config import Settings
from bot.i18n import t
from bot.models.entities import Contract
from bot.models.states import ContractStatus
from bot.ui.format import format_money
from tests.bot.conftest import Market
from tests.bot.helpers import LOGO, IncomingFile, hired, last_dm, ledger, reload
from tests.fakes.stripe_fake import SECRET_KEY, WEBHOOK_SECRET, StripeFake, assert_paid_once, sign


@pytest.fixture
async def stripe_fake() -> AsyncIterator[StripeFake]:
    fake = StripeFake()
    await fake.start()
    yield fake
    await fake.stop()


@pytest.fixture
def bot_settings(tmp_path: Path, stripe_fake: StripeFake) -> Settings:
    return Settings(database_path=tmp_path / "bot.db", files_dir=tmp_path / "files",
                    stripe_secret_key=SECRET_KEY, stripe_webhook_secret=WEBHOOK_SECRET,
                    stripe_api_base=stripe_fake.url, web_port=0, web_base_url="https://market.example")


@pytest.fixture
async def stripe_market(setup_market: Market) -> Market:
    result = await setup_market.run_setup(payment_provider="stripe")
    assert result.response is not None
    assert result.response.content.endswith(t("en", "stripe.setup.provider_stripe"))
    return setup_market


async def post_event(market: Market, event: dict[str, Any], *, signature: str | None = None) -> tuple[int, Any]:
    payload = StripeFake.payload(event)
    assert market.bot.web is not None
    url = f"http://127.0.0.1:{market.bot.web.port}/stripe/webhook"
    headers = {"Stripe-Signature": signature or sign(payload), "Content-Type": "application/json"}
    async with aiohttp.ClientSession() as session, session.post(url, data=payload, headers=headers) as response:
        status, body = response.status, await response.json()
    await market.settle()
    return status, body


async def pay_by_button(market: Market, contract: Contract) -> simcord.InteractionResult:
    dm = last_dm(market, market.client)
    result = await market.client.user.click(dm, custom_id=f"cw:escrow:{contract.id}:deposit")
    await market.settle()
    return result


def link_of(result: simcord.InteractionResult) -> tuple[str, str]:
    assert result.response is not None
    [row] = result.response.components
    [button] = row["components"]
    return button["label"], button["url"]


async def paid_contract(market: Market, fake: StripeFake) -> Contract:
    contract = await hired(market)
    result = await pay_by_button(market, contract)
    _, url = link_of(result)
    session_id = url.rsplit("/", 1)[1]
    status, body = await post_event(market, fake.completed(session_id))
    assert (status, body["outcome"]) == (200, "funded")
    return await reload(market, contract.id)


async def worker_onboarded(market: Market, fake: StripeFake) -> str:
    link = await market.services.payments.onboarding_link(market.guild.id, market.worker.id)
    account = fake.accounts[-1]["id"]
    assert link == f"https://connect.stripe.test/setup/{account}"
    await post_event(market, fake.account_ready(account))
    return str(account)


async def delivered(market: Market, contract: Contract) -> None:
    await market.services.deliveries.deliver(market.guild.id, contract.id, actor_id=market.worker.id,
                                             files=[IncomingFile(*LOGO, "image/png")], note="Done.")
    await market.settle()


async def payments_pass(market: Market) -> int:
    assert market.bot.payment_worker is not None
    done = await market.bot.payment_worker.run_once()
    await market.settle()
    return done


# -- setup -------------------------------------------------------------------------------------


async def test_stripe_is_refused_without_the_keys(setup_market: Market, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(setup_market.services.payments, "gateway", None)
    result = await setup_market.run_setup(payment_provider="stripe")
    setup_market.assert_refused(result, "error.stripe.not_configured")
    assert await setup_market.services.payments.provider(setup_market.guild.id) == "manual"


async def test_the_provider_cannot_switch_with_contracts_in_flight(stripe_market: Market) -> None:
    market = stripe_market
    await hired(market)
    market.set_locale(market.admin, "ja")
    result = await market.run_setup(payment_provider="manual")
    market.assert_refused(result, "error.stripe.provider_locked", "ja", current="stripe", provider="manual",
                          open_contracts=1, unpaid_balances=0)
    assert await market.services.payments.provider(market.guild.id) == "stripe"


# -- the client pays -----------------------------------------------------------------------


async def test_pay_by_the_button_then_the_webhook_funds_and_tells_the_worker(stripe_market: Market,
                                                                            stripe_fake: StripeFake) -> None:
    market = stripe_market
    contract = await hired(market)
    result = await pay_by_button(market, contract)

    assert result.response is not None and result.ephemeral
    assert result.response.content == t("en", "stripe.ui.pay", contract_id=contract.id, amount="¥45,000")
    label, url = link_of(result)
    assert label == "Pay ¥45,000"
    [session] = stripe_fake.sessions.values()
    assert url == session["url"]
    assert (session["amount_total"], session["currency"], session["transfer_group"]) == (45000, "jpy",
                                                                                          f"contract-{contract.id}")
    assert session["metadata"] == {"guild_id": str(market.guild.id), "contract_id": str(contract.id),
                                   "deposit": "initial"}
    assert session["success_url"].startswith("https://market.example/stripe/return")
    # a second click reuses the open session
    again = await pay_by_button(market, contract)
    assert link_of(again)[1] == url and len(stripe_fake.sessions) == 1
    assert (await reload(market, contract.id)).status == ContractStatus.AWAITING_FUNDING

    status, body = await post_event(market, stripe_fake.completed(session["id"]))

    assert (status, body["outcome"]) == (200, "funded")
    funded = await reload(market, contract.id)
    assert funded.status == ContractStatus.ACTIVE and funded.due_at is not None
    assert await ledger(market, f"escrow:{contract.id}") == 45000
    assert last_dm(market, market.worker).content.startswith(t("en", "notify.funded_worker", contract_id=contract.id,
                                                                due_at="X").split("X")[0])


async def test_the_pay_link_in_japanese_and_escrow_deposit_command(stripe_market: Market) -> None:
    market = stripe_market
    contract = await hired(market)
    market.set_locale(market.client, "ja")
    result = await market.client.slash(market.general, "escrow deposit", contract=contract.id)
    await market.settle()
    assert result.response is not None
    amount = format_money(45000, "JPY", "ja")
    assert result.response.content == t("ja", "stripe.ui.pay", contract_id=contract.id, amount=amount)
    assert link_of(result)[0] == t("ja", "stripe.button.pay", amount=amount) == "45,000円 を支払う"


async def test_only_the_client_gets_a_pay_link(stripe_market: Market, stripe_fake: StripeFake) -> None:
    market = stripe_market
    contract = await hired(market)
    result = await market.worker.slash(market.general, "escrow deposit", contract=contract.id)
    await market.settle()
    market.assert_refused(result, "error.escrow.client_only", contract_id=contract.id)
    assert stripe_fake.sessions == {}


async def test_a_bad_signature_is_400_and_changes_nothing(stripe_market: Market, stripe_fake: StripeFake) -> None:
    market = stripe_market
    contract = await hired(market)
    await pay_by_button(market, contract)
    [session_id] = stripe_fake.sessions
    event = stripe_fake.completed(session_id)

    forged = sign(StripeFake.payload(event), secret="whsec_someone_else")
    stale = sign(StripeFake.payload(event), at=1_000_000_000)
    for signature in (forged, stale, "garbage"):
        status, _ = await post_event(market, event, signature=signature)
        assert status == 400
    assert (await reload(market, contract.id)).status == ContractStatus.AWAITING_FUNDING
    assert await ledger(market, f"escrow:{contract.id}") == 0
    # the genuine delivery of the same event still applies
    status, body = await post_event(market, event)
    assert (status, body["outcome"]) == (200, "funded")


async def test_a_replayed_event_is_applied_once(stripe_market: Market, stripe_fake: StripeFake) -> None:
    market = stripe_market
    contract = await hired(market)
    await pay_by_button(market, contract)
    [session_id] = stripe_fake.sessions
    event = stripe_fake.completed(session_id)
    await post_event(market, event)
    status, body = await post_event(market, event)
    assert (status, body["outcome"]) == (200, "duplicate")
    assert await ledger(market, f"escrow:{contract.id}") == 45000


async def test_an_expired_checkout_leaves_the_contract_awaiting_funding(stripe_market: Market,
                                                                         stripe_fake: StripeFake) -> None:
    market = stripe_market
    contract = await hired(market)
    await pay_by_button(market, contract)
    [session_id] = stripe_fake.sessions
    status, body = await post_event(market, stripe_fake.expired(session_id))
    assert (status, body["outcome"]) == (200, "expired")
    assert (await reload(market, contract.id)).status == ContractStatus.AWAITING_FUNDING
    # the next click opens a new session
    await pay_by_button(market, contract)
    assert len(stripe_fake.sessions) == 2


async def test_a_payment_for_a_cancelled_contract_opens_a_refund_case(stripe_market: Market,
                                                                       stripe_fake: StripeFake) -> None:
    market = stripe_market
    contract = await hired(market)
    await pay_by_button(market, contract)
    [session_id] = stripe_fake.sessions
    await market.services.contracts.cancel(market.guild.id, contract.id, actor_id=market.client.id, reason="oops")
    await market.settle()

    status, body = await post_event(market, stripe_fake.completed(session_id))

    assert (status, body["outcome"]) == (200, "refund_case")
    assert (await reload(market, contract.id)).status == ContractStatus.CANCELLED
    [case] = await market.services.cases.list(market.guild.id)
    assert case.reason_kind == "payment_unmatched"
    await payments_pass(market)
    [refund] = stripe_fake.refunds
    assert refund["amount"] == 45000
    assert refund["idempotency_key"] == f"stripe:refund:{session_id}"
    assert await ledger(market, f"refund:{market.client.id}") == 0


# -- money out -----------------------------------------------------------------------------


async def test_approval_transfers_the_workers_share_once(stripe_market: Market, stripe_fake: StripeFake) -> None:
    market = stripe_market
    account = await worker_onboarded(market, stripe_fake)
    contract = await paid_contract(market, stripe_fake)
    await delivered(market, contract)

    await market.services.deliveries.approve(market.guild.id, contract.id, actor_id=market.client.id)
    await market.settle()
    await payments_pass(market)

    [transfer] = stripe_fake.transfers
    [session] = stripe_fake.sessions.values()
    intent = session["payment_intent"]
    assert transfer["amount"] == 40500  # ¥45,000 less the 10% fee
    assert transfer["destination"] == account
    assert transfer["source_transaction"] == f"ch_of_{intent}"
    assert transfer["idempotency_key"] == f"settle:{contract.id}:transfer:{intent}"
    assert await ledger(market, f"owed:{market.worker.id}") == 0
    assert await ledger(market, "fees") == 4500
    assert last_dm(market, market.worker).content == t("en", "stripe.notify.transfer_sent", contract_id=contract.id,
                                                       paid_amount="¥40,500")
    assert await payments_pass(market) == 0 and len(stripe_fake.transfers) == 1


async def test_stripe_500_then_success_makes_one_transfer(stripe_market: Market, stripe_fake: StripeFake) -> None:
    market = stripe_market
    await worker_onboarded(market, stripe_fake)
    contract = await paid_contract(market, stripe_fake)
    await delivered(market, contract)
    stripe_fake.fail("transfers", 500)
    await market.services.deliveries.approve(market.guild.id, contract.id, actor_id=market.client.id)
    await market.settle()
    await payments_pass(market)
    assert stripe_fake.transfers == []
    assert await ledger(market, f"owed:{market.worker.id}") == 40500
    [call] = await market.services.payments.calls(contract.id)
    assert (call.status, call.attempts) == ("pending", 1)

    market.clock.advance(minutes=5)
    await payments_pass(market)
    [transfer] = stripe_fake.transfers
    assert transfer["idempotency_key"] == call.idempotency_key
    assert await ledger(market, f"owed:{market.worker.id}") == 0


async def test_a_crash_after_commit_pays_once_after_the_restart(stripe_market: Market,
                                                                 stripe_fake: StripeFake,
                                                                 monkeypatch: pytest.MonkeyPatch) -> None:
    market = stripe_market
    await worker_onboarded(market, stripe_fake)
    contract = await paid_contract(market, stripe_fake)
    await delivered(market, contract)
    # the process dies between the commit and the call: the worker never runs
    monkeypatch.setattr(market.bot.payment_worker, "_stopping", True)
    await market.services.deliveries.approve(market.guild.id, contract.id, actor_id=market.client.id)
    await market.settle()
    assert stripe_fake.transfers == []

    await market.restart()
    await payments_pass(market)
    await payments_pass(market)
    assert len(stripe_fake.transfers) == 1
    assert await ledger(market, f"owed:{market.worker.id}") == 0


async def test_a_refused_transfer_stays_owed_and_opens_a_case(stripe_market: Market, stripe_fake: StripeFake) -> None:
    market = stripe_market
    await worker_onboarded(market, stripe_fake)
    contract = await paid_contract(market, stripe_fake)
    await delivered(market, contract)
    stripe_fake.fail("transfers", 400, "insufficient_funds")
    await market.services.deliveries.approve(market.guild.id, contract.id, actor_id=market.client.id)
    await market.settle()
    await payments_pass(market)

    assert stripe_fake.transfers == []
    assert await ledger(market, f"owed:{market.worker.id}") == 40500
    [call] = await market.services.payments.calls(contract.id)
    assert call.status == "refused" and "insufficient_funds" in (call.last_error or "")
    [case] = await market.services.cases.list(market.guild.id)
    assert case.reason_kind == "payment_refused"
    assert "insufficient_funds" in (case.reason or "")
    card = market.mod.last_message
    assert card is not None and card.embeds
    assert t("en", "ui.case.kind.payment_refused") in (card.embeds[0].title or "")
    assert "insufficient_funds" in str(card.embeds[0].to_dict())


async def test_a_worker_who_onboards_late_is_paid_when_ready(stripe_market: Market, stripe_fake: StripeFake) -> None:
    market = stripe_market
    await market.services.guilds.remember_locale(market.worker.id, "ja")
    contract = await paid_contract(market, stripe_fake)
    await delivered(market, contract)
    await market.services.deliveries.approve(market.guild.id, contract.id, actor_id=market.client.id)
    await market.settle()
    await payments_pass(market)
    assert stripe_fake.transfers == []
    yen = format_money(40500, "JPY", "ja")
    assert last_dm(market, market.worker, "💳").content == t(
        "ja", "stripe.notify.onboard_needed", contract_id=contract.id, paid_amount=yen)
    await worker_onboarded(market, stripe_fake)
    await payments_pass(market)
    [transfer] = stripe_fake.transfers
    assert transfer["amount"] == 40500
    assert await ledger(market, f"owed:{market.worker.id}") == 0
    assert last_dm(market, market.worker).content == t("ja", "stripe.notify.transfer_sent", contract_id=contract.id,
                                                       paid_amount=yen)


async def test_a_moderators_refund_and_split(stripe_market: Market, stripe_fake: StripeFake) -> None:
    market = stripe_market
    await worker_onboarded(market, stripe_fake)
    refunded = await paid_contract(market, stripe_fake)
    case = await market.services.cases.dispute(market.guild.id, refunded.id, actor_id=market.client.id,
                                               reason="no work")
    await market.services.cases.act(market.guild.id, case.id, moderator_id=market.moderator.id, action="refund",
                                    reason="nothing delivered")
    await market.settle()
    await payments_pass(market)
    [refund] = stripe_fake.refunds
    assert refund["amount"] == 45000
    assert refund["idempotency_key"] == f"settle:{refunded.id}:refund:{refund['payment_intent']}"
    assert await ledger(market, f"refund:{market.client.id}") == 0


async def test_profile_payout_connects_with_stripe(stripe_market: Market, stripe_fake: StripeFake) -> None:
    market = stripe_market
    market.set_locale(market.worker, "ja")
    result = await market.worker.slash(market.general, "profile payout")
    await market.settle()
    assert result.response is not None and result.ephemeral
    assert result.response.content == t("ja", "stripe.ui.onboard")
    [account] = stripe_fake.accounts
    assert link_of(result) == (t("ja", "stripe.button.connect"), f"https://connect.stripe.test/setup/{account['id']}")
    # a second use reuses the account
    await market.worker.slash(market.general, "profile payout")
    await market.settle()
    assert len(stripe_fake.accounts) == 1
    status, body = await post_event(market, stripe_fake.account_ready(account["id"]))
    assert (status, body["outcome"]) == (200, "account_ready:0")


async def test_profile_payout_stays_a_form_on_a_manual_server(setup_market: Market) -> None:
    result = await setup_market.worker.slash(setup_market.general, "profile payout")
    assert result.modal is not None


async def test_a_moderators_split_transfers_and_refunds_both_parts(stripe_market: Market,
                                                                    stripe_fake: StripeFake) -> None:
    market = stripe_market
    await worker_onboarded(market, stripe_fake)
    contract = await paid_contract(market, stripe_fake)
    case = await market.services.cases.dispute(market.guild.id, contract.id, actor_id=market.worker.id,
                                               reason="half done")
    await market.services.cases.act(market.guild.id, case.id, moderator_id=market.moderator.id, action="split",
                                    reason="half the work", percent=50)
    await market.settle()
    await payments_pass(market)
    [transfer] = stripe_fake.transfers
    [refund] = stripe_fake.refunds
    assert (transfer["amount"], refund["amount"]) == (20250, 22500)  # 50% less the 10% fee; the other half
    assert transfer["source_transaction"] == f"ch_of_{refund['payment_intent']}"
    assert await ledger(market, f"owed:{market.worker.id}") == 0
    assert await ledger(market, f"refund:{market.client.id}") == 0
    assert await ledger(market, "fees") == 2250


async def test_the_web_server_serves_the_return_pages(stripe_market: Market) -> None:
    web = stripe_market.bot.web
    assert web is not None
    async with aiohttp.ClientSession() as session:
        async with session.get(f"http://127.0.0.1:{web.port}/stripe/return?contract=1&paid=1") as response:
            assert response.status == 200 and "Payment received" in await response.text()
        async with session.post(f"http://127.0.0.1:{web.port}/stripe/webhook", data=b"{}") as response:
            assert response.status == 400  # no signature



async def test_reconciliation_applies_a_payment_the_webhook_missed(stripe_market: Market,
                                                                    stripe_fake: StripeFake) -> None:
    market = stripe_market
    contract = await hired(market)
    await pay_by_button(market, contract)
    [session_id] = stripe_fake.sessions
    stripe_fake.completed(session_id)  # paid while the bot was down: no webhook arrived
    stripe_fake.event("customer.created", {"id": "cus_1", "object": "customer"})  # not asked for

    await market.restart()  # start-up reconciliation

    assert (await reload(market, contract.id)).status == ContractStatus.ACTIVE
    assert await ledger(market, f"escrow:{contract.id}") == 45000
    told = t("en", "notify.funded_worker", contract_id=contract.id, due_at="X").split("X")[0]
    assert last_dm(market, market.worker).content.startswith(told)
    assert market.bot.payment_worker is not None
    assert await market.bot.payment_worker.reconcile() == 0  # each event once


# -- both languages: the whole flow in Japanese -----------------------------------------------


async def test_the_whole_flow_in_japanese(stripe_market: Market, stripe_fake: StripeFake) -> None:
    market = stripe_market
    for member in (market.client, market.worker):
        market.set_locale(member, "ja")
    await market.services.guilds.remember_locale(market.client.id, "ja")  # used the bot in Japanese before
    # the worker connects with Stripe from Discord, in Japanese
    result = await market.worker.slash(market.general, "profile payout")
    await market.settle()
    assert result.response is not None and result.response.content == t("ja", "stripe.ui.onboard")
    await post_event(market, stripe_fake.account_ready(stripe_fake.accounts[-1]["id"]))

    contract = await hired(market)
    result = await pay_by_button(market, contract)
    price, share = format_money(45000, "JPY", "ja"), format_money(40500, "JPY", "ja")
    assert result.response is not None and result.ephemeral
    assert result.response.content == t("ja", "stripe.ui.pay", contract_id=contract.id, amount=price)
    label, url = link_of(result)
    assert label == "45,000円 を支払う"
    status, body = await post_event(market, stripe_fake.completed(url.rsplit("/", 1)[1]))
    assert (status, body["outcome"]) == (200, "funded")
    told = t("ja", "notify.funded_worker", contract_id=contract.id, due_at="X").split("X")[0]
    assert last_dm(market, market.worker).content.startswith(told)

    await delivered(market, await reload(market, contract.id))
    result = await market.client.slash(market.general, "review approve", contract=contract.id)
    await market.settle()
    simcord.assert_responded(result, content=t("ja", "ui.review.approved", contract_id=contract.id), ephemeral=True)
    await payments_pass(market)

    [transfer] = stripe_fake.transfers
    assert (transfer["amount"], transfer["idempotency_key"]) == (
        40500, f"settle:{contract.id}:transfer:{stripe_fake.sessions[url.rsplit('/', 1)[1]]['payment_intent']}")
    assert last_dm(market, market.worker).content == t("ja", "stripe.notify.transfer_sent", contract_id=contract.id,
                                                       paid_amount=share)
    assert await ledger(market, f"owed:{market.worker.id}") == 0
    await assert_paid_once(market.bot.db, stripe_fake)


# -- the faults' messages: reminders, cases -----------------------------------------------------


async def test_a_worker_waiting_for_onboarding_is_reminded_and_the_moderators_told(stripe_market: Market,
                                                                                    stripe_fake: StripeFake) -> None:
    market = stripe_market
    await market.services.guilds.remember_locale(market.worker.id, "ja")
    contract = await paid_contract(market, stripe_fake)
    await delivered(market, contract)
    await market.services.deliveries.approve(market.guild.id, contract.id, actor_id=market.client.id)
    await market.settle()
    await payments_pass(market)
    yen = format_money(40500, "JPY", "ja")
    reminder = t("ja", "stripe.notify.onboard_reminder", contract_id=contract.id, paid_amount=yen)

    market.clock.advance(days=1)
    await payments_pass(market)
    assert last_dm(market, market.worker).content == reminder
    await market.restart()  # the reminder is a fact in the database: not sent again
    await payments_pass(market)
    assert [m.content for m in market.dms(market.worker)].count(reminder) == 1

    market.clock.advance(days=1)  # payout_reminder_after (2d): the moderators' case
    await payments_pass(market)
    assert [m.content for m in market.dms(market.worker)].count(reminder) == 2
    card = market.mod.last_message
    assert card is not None and card.embeds
    assert t("en", "ui.case.kind.payout_onboarding") in (card.embeds[0].title or "")
    assert "40500 JPY waiting since" in str(card.embeds[0].to_dict())
    [case] = await market.services.cases.list(market.guild.id)
    assert (case.reason_kind, case.subject_id) == ("payout_onboarding", market.worker.id)
    assert stripe_fake.transfers == []


async def test_a_call_that_keeps_failing_ends_in_a_case(stripe_market: Market, stripe_fake: StripeFake) -> None:
    market = stripe_market
    await worker_onboarded(market, stripe_fake)
    contract = await paid_contract(market, stripe_fake)
    await delivered(market, contract)
    for _ in range(20):
        stripe_fake.fail("transfers", 500)
    await market.services.deliveries.approve(market.guild.id, contract.id, actor_id=market.client.id)
    await market.settle()
    for _ in range(20):
        market.clock.advance(hours=2)
        await payments_pass(market)
    [call] = await market.services.payments.calls(contract.id)
    assert call.status == "failed"
    assert await ledger(market, f"owed:{market.worker.id}") == 40500
    card = market.mod.last_message
    assert card is not None and card.embeds
    assert t("en", "ui.case.kind.payment_failed") in (card.embeds[0].title or "")
    assert call.idempotency_key in str(card.embeds[0].to_dict())
    assert stripe_fake.transfers == []


async def test_a_dashboard_refund_and_a_reversal_arrive_by_webhook(stripe_market: Market,
                                                                   stripe_fake: StripeFake) -> None:
    market = stripe_market
    await worker_onboarded(market, stripe_fake)
    contract = await paid_contract(market, stripe_fake)
    await delivered(market, contract)
    await market.services.deliveries.approve(market.guild.id, contract.id, actor_id=market.client.id)
    await market.settle()
    await payments_pass(market)
    [transfer] = stripe_fake.transfers

    event = stripe_fake.reverse(transfer["id"])
    assert (await post_event(market, event))[1]["outcome"] == "reversed"
    assert (await post_event(market, event))[1]["outcome"] == "duplicate"
    assert await ledger(market, f"owed:{market.worker.id}") == 40500
    card = market.mod.last_message
    assert card is not None and t("en", "ui.case.kind.payment_reversed") in (card.embeds[0].title or "")

    [session] = stripe_fake.sessions.values()
    event = stripe_fake.refund_in_dashboard(session["payment_intent"], 45000)
    assert (await post_event(market, event))[1]["outcome"] == "refunded_outside"
    assert (await post_event(market, event))[1]["outcome"] == "duplicate"
    card = market.mod.last_message
    assert card is not None and t("en", "ui.case.kind.payment_refunded_outside") in (card.embeds[0].title or "")
    assert await ledger(market, "payouts:external") == 45000  # the refund; the transfer came back
    await assert_paid_once(market.bot.db, stripe_fake)
