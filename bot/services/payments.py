"""Stripe Connect as a payment provider (PRODUCT.md "payment providers"; issue 14).

- **Setup**: a guild chooses ``manual`` (the default) or ``stripe`` (:meth:`set_provider`),
  refused without the Stripe keys in the environment or while money is in flight.
- **The client pays**: :meth:`checkout` creates (or reuses) a Checkout Session for the deposit
  or the top-up due, outside any transaction; the ``checkout.session.completed`` webhook
  (:meth:`handle_event`) declares and confirms the deposit by the moderator's confirm path
  (bot/services/escrow.py). A payment for a contract that can no longer be funded (cancelled
  meanwhile, or already funded) is owed back to the client: a refund call and a case.
- **Money out**: a settlement writes ``payment_calls`` rows in its ledger transaction
  (bot/services/payment_steps.py); :meth:`process_calls`, after commit, makes each call with
  its idempotency key and records owed -> paid out when Stripe accepts it; transient failures
  are retried with the same key and backoff, up to ``MAX_ATTEMPTS`` or ``GIVE_UP_AFTER``; a
  refusal, or retries that gave up, leave the amount owed and open a case that says why.
- **A worker not ready**: their transfer waits (``waiting_account``); :meth:`remind_waiting`
  (the payment job) DMs a reminder every ``reminder_repeat_every`` (a few times) and opens a
  case once it waited ``payout_reminder_after``, all recorded on the rows.
- **Money coming back**: ``charge.refunded`` beyond the bot's own refunds (a refund made in
  Stripe's dashboard) is recorded once as paid back to the client; ``transfer.reversed``
  makes the worker owed again. Each opens a case.
- **Workers onboard**: :meth:`onboarding_link` (an Express account and an Account Link);
  ``account.updated`` with payouts enabled records it and wakes the transfers waiting for it.

Every event id is recorded once (``payment_events``): a replay changes nothing. The webhook
does database work only; the calls out are made by the worker after commit.
"""

from __future__ import annotations

import asyncio
import logging
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from bot.clock import Clock
from bot.config import Settings
from bot.db import Conn, Database
from bot.errors import InvalidInput, NotAllowed, WrongState
from bot.models.payments import DONE, FAILED, PENDING, PROVIDERS, REFUSED, STRIPE, WAITING_ACCOUNT, PaymentCall
from bot.models.states import CONTRACT_TRANSITIONS, FUNDED_STATES, OPEN_CONTRACT_STATES, Role
from bot.models.timeutil import to_iso
from bot.payments.stripe_provider import PaymentRefused, PaymentRetry, StripeGateway
from bot.repositories import contracts as contracts_repo
from bot.repositories import ledger
from bot.repositories import payments as repo
from bot.repositories.audit import record_event
from bot.repositories.ledger import (
    DEPOSITS_EXTERNAL,
    FEES_ACCOUNT,
    PAYOUTS_EXTERNAL,
    escrow_account,
    owed_account,
    post_ledger,
    refund_account,
)
from bot.repositories.outbox import enqueue
from bot.services.cases import CaseService
from bot.services.common import transition
from bot.services.escrow import EscrowService
from bot.services.steps import load_contract, role_of

log = logging.getLogger(__name__)

# a session reused for another click must stay open at least this long
SESSION_MARGIN = timedelta(minutes=10)
SESSION_LIFETIME = timedelta(hours=23)
RETRY_FIRST = timedelta(seconds=30)
RETRY_MAX = timedelta(hours=1)
# a call failing with network errors or 5xx stops after this many attempts or this long since
# its first failure (about 6 h of backoff): the amount stays owed and a case says why
MAX_ATTEMPTS = 12
GIVE_UP_AFTER = timedelta(days=1)
# a transfer waiting for the worker's onboarding: a DM every reminder_repeat_every, this many
MAX_ONBOARD_REMINDERS = 3
# Stripe keeps events for 30 days; a bot down longer needs a moderator anyway
RECONCILE_LOOKBACK = timedelta(days=3)
HANDLED = ("checkout.session.completed", "checkout.session.async_payment_succeeded", "checkout.session.expired",
           "account.updated", "charge.refunded", "transfer.reversed")


@dataclass(frozen=True, slots=True)
class CheckoutLink:
    contract_id: int
    kind: str
    amount: int
    currency: str
    url: str


class PaymentService:
    def __init__(self, db: Database, clock: Clock, settings: Settings, escrow: EscrowService, cases: CaseService,
                 gateway: StripeGateway | None) -> None:
        self.db = db
        self.clock = clock
        self.settings = settings
        self.escrow = escrow
        self.cases = cases
        self.gateway = gateway
        self._calls_lock = asyncio.Lock()

    # -- setup ---------------------------------------------------------------------------------

    async def provider(self, guild_id: int) -> str:
        async with self.db.read() as conn:
            return await repo.provider_of(conn, guild_id)

    async def check_provider(self, guild_id: int, provider: str) -> None:
        """Refuse a provider the bot cannot run, or a switch while money is in flight."""
        if provider not in PROVIDERS:
            raise InvalidInput("error.stripe.provider", provider=provider)
        if provider == STRIPE and (self.gateway is None or not self.settings.stripe_webhook_secret):
            raise InvalidInput("error.stripe.not_configured")
        async with self.db.read() as conn:
            await self._require_switchable(conn, guild_id, provider)

    @staticmethod
    async def _require_switchable(conn: Conn, guild_id: int, provider: str) -> None:
        current = await repo.provider_of(conn, guild_id)
        if current == provider:
            return
        open_contracts = await contracts_repo.count_in_states(conn, guild_id, OPEN_CONTRACT_STATES)
        unpaid = await ledger.count_unpaid(conn, guild_id)
        if open_contracts or unpaid:
            raise WrongState("error.stripe.provider_locked", current=current, provider=provider,
                             open_contracts=open_contracts, unpaid_balances=unpaid)

    async def set_provider(self, guild_id: int, provider: str, *, actor_id: int) -> str:
        await self.check_provider(guild_id, provider)
        now = self.clock.now()
        async with self.db.transaction() as conn:
            await self._require_switchable(conn, guild_id, provider)
            await repo.set_provider(conn, guild_id, provider, actor_id, now)
            await record_event(conn, guild_id=guild_id, kind="payment.provider", now=now, actor_id=actor_id,
                               provider=provider)
        log.info("guild %s payment provider set to %s by %s", guild_id, provider, actor_id)
        return provider

    # -- the client pays -----------------------------------------------------------------------

    async def checkout(self, guild_id: int, contract_id: int, *, actor_id: int) -> CheckoutLink:
        """A Checkout Session for what the client owes now (the deposit, or the top-up due).
        The call to Stripe is made here, outside any transaction; an open session for the
        same payment is reused, so a second click does not open a second payment."""
        now = self.clock.now()
        async with self.db.read() as conn:
            contract = await load_contract(conn, guild_id, contract_id)
            if role_of(contract, actor_id) is not Role.CLIENT:
                raise NotAllowed("error.escrow.client_only", contract_id=contract_id)
            if contract.status in FUNDED_STATES:
                if contract.topup_due <= 0:
                    raise WrongState("error.escrow.already_funded", contract_id=contract_id)
                kind, amount = "topup", contract.topup_due
            else:
                transition(CONTRACT_TRANSITIONS, "contract", contract.status, "deposit", Role.CLIENT)
                terms = await contracts_repo.terms(conn, contract.id, contract.terms_version)
                kind, amount = "initial", terms.price
            session = await repo.open_session(conn, contract.id, kind, amount, now + SESSION_MARGIN)
        if session is not None:
            return CheckoutLink(contract.id, kind, amount, contract.currency, session.url)
        gateway = self._gateway()
        base = self.settings.web_base_url.rstrip("/")
        try:
            created = await gateway.create_checkout(
                amount=amount, currency=contract.currency, name=f"Contract #{contract.id}", contract_id=contract.id,
                guild_id=guild_id, kind=kind, success_url=f"{base}/stripe/return?contract={contract.id}&paid=1",
                cancel_url=f"{base}/stripe/return?contract={contract.id}&paid=0",
                expires_at=int((now + SESSION_LIFETIME).timestamp()),
            )
        except (PaymentRetry, PaymentRefused) as error:
            log.warning("guild %s contract %s: checkout not created: %s", guild_id, contract.id, error)
            raise WrongState("error.stripe.unavailable") from None
        async with self.db.transaction() as conn:
            await repo.insert_session(conn, session_id=created.session_id, guild_id=guild_id, contract_id=contract.id,
                                      kind=kind, amount=amount, currency=contract.currency, url=created.url, now=now,
                                      expires_at=now + SESSION_LIFETIME)
        log.info("guild %s contract %s checkout %s for %s created", guild_id, contract.id, created.session_id, kind)
        return CheckoutLink(contract.id, kind, amount, contract.currency, created.url)

    def _gateway(self) -> StripeGateway:
        if self.gateway is None:
            raise InvalidInput("error.stripe.not_configured")
        return self.gateway

    # -- webhooks ------------------------------------------------------------------------------

    def verify(self, payload: bytes, signature: str | None) -> dict[str, Any]:
        """The event if the signature is good (raises otherwise: the web handler answers 400)."""
        return self._gateway().verify(payload, signature)

    async def handle_event(self, event: dict[str, Any]) -> str:
        """Apply one verified event in one transaction, once per event id; the outcome
        (``duplicate`` for a replay) is recorded and returned."""
        event_id, type_ = str(event["id"]), str(event.get("type", ""))
        now = self.clock.now()
        async with self.db.transaction() as conn:
            if not await repo.record_event(conn, event_id, type_, "received", now):
                return "duplicate"
            obj = event.get("data", {}).get("object", {})
            if type_ in {"checkout.session.completed", "checkout.session.async_payment_succeeded"}:
                outcome = await self._session_paid(conn, obj, now)
            elif type_ == "checkout.session.expired":
                outcome = "expired" if await repo.close_session(conn, str(obj.get("id")), "expired") else "ignored"
            elif type_ == "account.updated":
                outcome = await self._account_updated(conn, obj, now)
            elif type_ == "charge.refunded":
                outcome = await self._charge_refunded(conn, obj, now)
            elif type_ == "transfer.reversed":
                outcome = await self._transfer_reversed(conn, obj, now)
            else:
                outcome = "ignored"
            await repo.set_event_outcome(conn, event_id, outcome)
        log.info("stripe event %s (%s): %s", event_id, type_, outcome)
        return outcome

    async def _session_paid(self, conn: Conn, obj: dict[str, Any], now: datetime) -> str:
        if obj.get("payment_status") != "paid":
            return "unpaid"  # an asynchronous method: async_payment_succeeded comes later
        session = await repo.get_session(conn, str(obj.get("id")))
        if session is None or session.status == "paid":
            return "unknown_session" if session is None else "already_paid"
        intent = str(obj.get("payment_intent") or "")
        contract = await contracts_repo.get_contract(conn, session.contract_id)
        assert contract is not None
        fundable = (session.kind == "initial" and contract.status in {"awaiting_funding"}) or (
            session.kind == "topup" and contract.status in FUNDED_STATES and contract.topup_due > 0)
        if not fundable:
            return await self._unmatched_payment(conn, session.session_id, contract, session.amount, intent, now)
        amount = session.amount if session.kind == "initial" else min(session.amount, contract.topup_due)
        deposit = await self.escrow.processor_paid(conn, contract, kind=session.kind, amount=amount,
                                                   reference=session.session_id, provider=STRIPE, now=now)
        await repo.close_session(conn, session.session_id, "paid", payment_intent=intent, deposit_id=deposit.id)
        if session.amount > amount:  # paid more than the top-up still due: the rest goes back
            await self._owe_back(conn, session.session_id, contract, session.amount - amount, intent, now)
        return "funded"

    async def _unmatched_payment(self, conn: Conn, session_id: str, contract: Any, amount: int, intent: str,
                                 now: datetime) -> str:
        """Paid for a contract that cannot take it (cancelled meanwhile, already funded): the
        money is owed back to the client, refunded by a call, and the moderators get a case."""
        await repo.close_session(conn, session_id, "paid", payment_intent=intent)
        await post_ledger(conn, guild_id=contract.guild_id, contract_id=contract.id, kind="deposit",
                          key=f"stripe:unmatched:{session_id}", currency=contract.currency, now=now,
                          entries=[(refund_account(contract.client_id), amount), (DEPOSITS_EXTERNAL, -amount)])
        await self._owe_back(conn, session_id, contract, amount, intent, now, ledger_posted=True)
        await self.cases.open_case(conn, contract, guild_id=contract.guild_id, kind="escalation",
                                   reason_kind="payment_unmatched", subject_id=contract.client_id, opened_by=None,
                                   reason=f"{session_id} ({contract.status})", now=now)
        return "refund_case"

    async def _owe_back(self, conn: Conn, session_id: str, contract: Any, amount: int, intent: str, now: datetime,
                        *, ledger_posted: bool = False) -> None:
        if not ledger_posted:
            await post_ledger(conn, guild_id=contract.guild_id, contract_id=contract.id, kind="deposit",
                              key=f"stripe:excess:{session_id}", currency=contract.currency, now=now,
                              entries=[(refund_account(contract.client_id), amount), (DEPOSITS_EXTERNAL, -amount)])
        await repo.insert_call(conn, guild_id=contract.guild_id, contract_id=contract.id, kind="refund",
                               user_id=contract.client_id, amount=amount, currency=contract.currency,
                               payment_intent=intent, key=f"stripe:refund:{session_id}", status=PENDING, now=now)

    async def _account_updated(self, conn: Conn, obj: dict[str, Any], now: datetime) -> str:
        enabled = bool(obj.get("payouts_enabled"))
        user_id = await repo.set_payouts_enabled(conn, str(obj.get("id")), enabled, now)
        if user_id is None:
            return "unknown_account"
        if not enabled:
            return "account_not_ready"
        woken = await repo.wake_waiting_calls(conn, user_id, now)
        return f"account_ready:{woken}"

    async def _charge_refunded(self, conn: Conn, obj: dict[str, Any], now: datetime) -> str:
        """A refund of a client's payment. The bot's own refunds come back here too (Stripe counts
        them in ``amount_refunded``); what goes beyond them was refunded in Stripe's dashboard:
        recorded once (the cumulative amount is kept on the session) as paid back to the client,
        taken first from this payment's refunds Stripe refused (owed, no call will pay them),
        then from what the contract's escrow still holds, the rest from the platform's fees.
        The moderators get a case: the contract may now hold less than its price."""
        intent = str(obj.get("payment_intent") or "")
        session = await repo.session_by_intent(conn, intent) if intent else None
        if session is None:
            return "unknown_payment"
        ours = await repo.refunds_of(conn, intent, (PENDING, DONE))
        outside = max(0, int(obj.get("amount_refunded") or 0) - ours)
        new = outside - session.refunded_outside
        if new <= 0:  # the bot's own refunds, or a dashboard refund already recorded
            return "refund_ours" if not outside else "already_recorded"
        if not await repo.set_refunded_outside(conn, session.session_id, session.refunded_outside, outside):
            return "already_recorded"
        contract = await contracts_repo.get_contract(conn, session.contract_id)
        assert contract is not None
        stuck = await repo.refunds_of(conn, intent, (REFUSED, FAILED))
        owed_back = await ledger.balance(conn, contract.guild_id, refund_account(contract.client_id), contract.currency)
        held = await ledger.balance(conn, contract.guild_id, escrow_account(contract.id), contract.currency)
        from_refund = max(0, min(new, stuck, owed_back))
        from_escrow = max(0, min(new - from_refund, held))
        from_fees = new - from_refund - from_escrow
        await post_ledger(conn, guild_id=contract.guild_id, contract_id=contract.id, kind="refund",
                          key=f"stripe:refunded_outside:{session.session_id}:{outside}", currency=contract.currency,
                          now=now, memo=str(obj.get("id") or ""),
                          entries=[(refund_account(contract.client_id), -from_refund),
                                   (escrow_account(contract.id), -from_escrow), (FEES_ACCOUNT, -from_fees),
                                   (PAYOUTS_EXTERNAL, new)])
        await record_event(conn, guild_id=contract.guild_id, contract_id=contract.id, kind="stripe.refunded_outside",
                           now=now, user_id=contract.client_id, amount=new, from_escrow=from_escrow,
                           from_owed_back=from_refund, from_fees=from_fees, charge=str(obj.get("id") or ""))
        await self.cases.open_case(
            conn, contract, guild_id=contract.guild_id, kind="escalation", reason_kind="payment_refunded_outside",
            subject_id=contract.client_id, opened_by=None, now=now,
            reason=(f"{obj.get('id')}: {new} {contract.currency} refunded in Stripe (owed back: {from_refund},"
                    f" from escrow: {from_escrow}, from the platform: {from_fees}; contract {contract.status})"))
        log.warning("contract %s: %s %s refunded in Stripe's dashboard", contract.id, new, contract.currency)
        return "refunded_outside"

    async def _transfer_reversed(self, conn: Conn, obj: dict[str, Any], now: datetime) -> str:
        """A transfer to a worker was reversed (in Stripe's dashboard): the money is back on the
        platform's balance, so the worker is owed it again (recorded once, the cumulative
        reversed amount kept on the call) and the moderators get a case to pay it or not."""
        call = await repo.transfer_by_stripe_id(conn, str(obj.get("id") or ""))
        if call is None:
            return "unknown_transfer"
        total = min(int(obj.get("amount_reversed") or 0), call.amount)
        new = total - call.reversed
        if new <= 0 or not await repo.set_reversed(conn, call.id, call.reversed, total, now):
            return "already_recorded"
        await post_ledger(conn, guild_id=call.guild_id, contract_id=call.contract_id, kind="payout",
                          key=f"stripe:reversed:{call.stripe_id}:{total}", currency=call.currency, now=now,
                          memo=call.stripe_id, entries=[(PAYOUTS_EXTERNAL, -new), (owed_account(call.user_id), new)])
        await record_event(conn, guild_id=call.guild_id, contract_id=call.contract_id, kind="stripe.transfer_reversed",
                           now=now, user_id=call.user_id, amount=new, stripe_id=call.stripe_id)
        contract = await contracts_repo.get_contract(conn, call.contract_id) if call.contract_id else None
        await self.cases.open_case(conn, contract, guild_id=call.guild_id, kind="escalation",
                                   reason_kind="payment_reversed", subject_id=call.user_id, opened_by=None, now=now,
                                   reason=f"{call.stripe_id}: {new} {call.currency} reversed, owed to the worker again")
        log.warning("payment call %s: transfer %s reversed by %s", call.id, call.stripe_id, new)
        return "reversed"

    async def reconcile(self, lookback: timedelta = RECONCILE_LOOKBACK) -> int:
        """Apply the events of the last ``lookback`` that the webhook missed (the bot was down,
        the endpoint unreachable), oldest first; each once, like a webhook. Returns how many
        were applied. The daily job and the start-up run call it."""
        if self.gateway is None:
            return 0
        since = int((self.clock.now() - lookback).timestamp())
        try:
            events = await self.gateway.recent_events(since, list(HANDLED))
        except (PaymentRetry, PaymentRefused) as error:
            log.warning("stripe reconciliation could not list events: %s", error)
            return 0
        applied = 0
        for event in events:
            async with self.db.read() as conn:
                if await repo.event_seen(conn, str(event["id"])):
                    continue
            if await self.handle_event(event) != "duplicate":
                applied += 1
        if applied:
            log.info("stripe reconciliation applied %s missed events", applied)
        return applied

    # -- money out -----------------------------------------------------------------------------

    async def process_calls(self) -> int:
        """Make the due calls out to Stripe, one at a time (after commit; never in a
        transaction). Returns how many were settled (done or refused)."""
        if self.gateway is None:
            return 0
        settled = 0
        async with self._calls_lock:
            async with self.db.read() as conn:
                due = await repo.due_calls(conn, self.clock.now())
            for call in due:
                settled += await self._process(self.gateway, call)
            await self.remind_waiting()
        return settled

    async def _process(self, gateway: StripeGateway, call: PaymentCall) -> int:
        try:
            if call.kind == "transfer":
                async with self.db.read() as conn:
                    account = await repo.stripe_account(conn, call.user_id)
                if account is None or not account[1]:
                    async with self.db.transaction() as conn:
                        await repo.finish_call(conn, call.id, WAITING_ACCOUNT, self.clock.now(),
                                               error="no connected account ready")
                    return 0
                charge = await gateway.charge_of(call.payment_intent)
                stripe_id = await gateway.transfer(amount=call.amount, currency=call.currency, destination=account[0],
                                                   source_charge=charge, contract_id=call.contract_id or 0,
                                                   key=call.idempotency_key)
            else:
                stripe_id = await gateway.refund(amount=call.amount, payment_intent=call.payment_intent,
                                                 contract_id=call.contract_id, key=call.idempotency_key)
        except PaymentRetry as error:
            now = self.clock.now()
            if call.attempts + 1 >= MAX_ATTEMPTS or (
                    call.failing_since is not None and now - call.failing_since >= GIVE_UP_AFTER):
                await self._give_up(call, str(error))
                return 1
            wait = min(RETRY_FIRST * (2 ** call.attempts), RETRY_MAX)
            log.warning("payment call %s (%s) failed, retried in %s: %s", call.id, call.kind, wait, error)
            async with self.db.transaction() as conn:
                await repo.retry_call(conn, call.id, str(error), now, now + wait)
            return 0
        except PaymentRefused as error:
            await self._refused(call, str(error))
            return 1
        await self._accepted(call, stripe_id)
        return 1

    async def _accepted(self, call: PaymentCall, stripe_id: str) -> None:
        """Stripe took the call: what was owed is paid out (once)."""
        now = self.clock.now()
        account = owed_account(call.user_id) if call.kind == "transfer" else refund_account(call.user_id)
        async with self.db.transaction() as conn:
            if not await repo.finish_call(conn, call.id, DONE, now, stripe_id=stripe_id):
                return
            await post_ledger(conn, guild_id=call.guild_id, contract_id=call.contract_id, kind="payout",
                              key=f"stripe:paid:{call.idempotency_key}", currency=call.currency, now=now,
                              memo=stripe_id, entries=[(account, -call.amount), (PAYOUTS_EXTERNAL, call.amount)])
            transfer = call.kind == "transfer"
            if transfer:
                await record_event(conn, guild_id=call.guild_id, contract_id=call.contract_id, kind="stripe.transfer",
                                   now=now, user_id=call.user_id, amount=call.amount, stripe_id=stripe_id)
            else:
                await record_event(conn, guild_id=call.guild_id, contract_id=call.contract_id, kind="stripe.refund",
                                   now=now, user_id=call.user_id, amount=call.amount, stripe_id=stripe_id)
            await enqueue(conn, guild_id=call.guild_id, target="dm", recipient_id=call.user_id,
                          contract_id=call.contract_id, now=now,
                          message_key="stripe.notify.transfer_sent" if transfer else "stripe.notify.refund_sent",
                          args={"contract_id": call.contract_id or "-", "paid_amount": call.amount,
                                "currency": call.currency})
        log.info("payment call %s: %s %s accepted by Stripe", call.id, call.kind, stripe_id)

    async def _refused(self, call: PaymentCall, reason: str) -> None:
        """Stripe said no for good: the amount stays owed and the moderators get a case."""
        now = self.clock.now()
        async with self.db.transaction() as conn:
            if not await repo.finish_call(conn, call.id, REFUSED, now, error=reason):
                return
            contract = await contracts_repo.get_contract(conn, call.contract_id) if call.contract_id else None
            await self.cases.open_case(conn, contract, guild_id=call.guild_id, kind="escalation",
                                       reason_kind="payment_refused", subject_id=call.user_id, opened_by=None,
                                       reason=f"{call.kind} {call.amount} {call.currency}: {reason}"[:1000], now=now)
        log.warning("payment call %s (%s) refused by Stripe: %s", call.id, call.kind, reason)

    async def _give_up(self, call: PaymentCall, reason: str) -> None:
        """Retried long enough: the call stops, the amount stays owed and the moderators get a
        case naming the idempotency key (a call may have reached Stripe though its answer was
        lost: the dashboard shows it under that key before anyone pays by hand)."""
        now = self.clock.now()
        attempts = call.attempts + 1
        why = f"{call.kind} {call.amount} {call.currency}, {attempts} attempts, key {call.idempotency_key}: {reason}"
        async with self.db.transaction() as conn:
            if not await repo.finish_call(conn, call.id, FAILED, now, error=reason):
                return
            contract = await contracts_repo.get_contract(conn, call.contract_id) if call.contract_id else None
            await self.cases.open_case(conn, contract, guild_id=call.guild_id, kind="escalation",
                                       reason_kind="payment_failed", subject_id=call.user_id, opened_by=None,
                                       reason=why[:1000], now=now)
        log.warning("payment call %s (%s) given up after %s attempts: %s", call.id, call.kind, attempts, reason)

    async def remind_waiting(self) -> int:
        """The payment job's, every pass: a transfer waiting for its worker's Stripe onboarding
        is reminded every ``reminder_repeat_every`` (at most ``MAX_ONBOARD_REMINDERS`` times),
        and once it has waited ``payout_reminder_after`` the moderators get a case. Counted from
        the row's ``waiting_since`` and recorded on the rows, so a restart or a second process
        sends nothing twice; after downtime one reminder is sent, not every missed one."""
        now = self.clock.now()
        async with self.db.read() as conn:
            waiting = await repo.waiting_transfers(conn)
        groups: dict[tuple[int, int], list[PaymentCall]] = {}
        for call in waiting:
            if call.contract_id is not None and call.waiting_since is not None:
                groups.setdefault((call.contract_id, call.user_id), []).append(call)
        done = 0
        for (contract_id, user_id), calls in groups.items():
            try:
                done += await self._remind_group(contract_id, user_id, calls, now)
            except Exception:
                # one contract's failure must not keep the others' reminders back: next pass
                log.exception("contract %s: onboarding reminder failed; tried again next pass", contract_id)
        return done

    async def _remind_group(self, contract_id: int, user_id: int, calls: list[PaymentCall], now: datetime) -> int:
        guild_id, currency = calls[0].guild_id, calls[0].currency
        policies = await self.escrow.guilds.policies(guild_id)
        repeat = policies.duration("reminder_repeat_every")
        escalate_after = policies.duration("payout_reminder_after")
        since = min(c.waiting_since for c in calls if c.waiting_since is not None)
        waited = now - since
        stage = min(MAX_ONBOARD_REMINDERS, waited // repeat) if repeat else 0
        remind = stage > min(c.reminders_sent for c in calls)
        escalate = bool(escalate_after) and waited >= escalate_after and not all(c.escalated for c in calls)
        if not (remind or escalate):
            return 0
        amount = sum(c.amount for c in calls)
        done = 0
        async with self.db.transaction() as conn:
            if remind and await repo.mark_reminded(conn, contract_id, user_id, stage, now):
                await enqueue(conn, guild_id=guild_id, target="dm", recipient_id=user_id, contract_id=contract_id,
                              message_key="stripe.notify.onboard_reminder", now=now,
                              args={"contract_id": contract_id, "paid_amount": amount, "currency": currency})
                done += 1
            if escalate and await repo.mark_escalated(conn, contract_id, user_id, now):
                contract = await contracts_repo.get_contract(conn, contract_id)
                await self.cases.open_case(conn, contract, guild_id=guild_id, kind="escalation",
                                           reason_kind="payout_onboarding", subject_id=user_id, opened_by=None,
                                           reason=f"{amount} {currency} waiting since {to_iso(since)}", now=now)
                done += 1
        if done:
            log.info("contract %s: transfer waiting for %s's onboarding: reminder %s, escalated %s", contract_id,
                     user_id, remind, escalate)
        return done

    async def calls(self, contract_id: int) -> list[PaymentCall]:
        async with self.db.read() as conn:
            return await repo.calls_of(conn, contract_id)

    # -- workers onboard -----------------------------------------------------------------------

    async def onboarding_link(self, guild_id: int, user_id: int) -> str:
        """An Account Link to the worker's Express onboarding (the account made once)."""
        async with self.db.read() as conn:
            if await repo.provider_of(conn, guild_id) != STRIPE:
                raise WrongState("error.stripe.not_enabled")
            account = await repo.stripe_account(conn, user_id)
        gateway = self._gateway()
        base = self.settings.web_base_url.rstrip("/")
        try:
            account_id = account[0] if account else await gateway.create_express_account(user_id)
            if account is None:
                async with self.db.transaction() as conn:
                    await repo.save_stripe_account(conn, user_id, account_id, self.clock.now())
            return await gateway.account_link(account_id, refresh_url=f"{base}/stripe/onboarding?refresh=1",
                                              return_url=f"{base}/stripe/onboarding")
        except (PaymentRetry, PaymentRefused) as error:
            log.warning("user %s: onboarding link not created: %s", user_id, error)
            raise WrongState("error.stripe.unavailable") from None

