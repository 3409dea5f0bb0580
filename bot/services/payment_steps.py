"""The transaction step that turns a settlement into calls out to Stripe (payment_calls rows),
in the settlement's own ledger transaction (bot/services/settlement.py). A contract funded by
the manual provider has no Stripe payment: nothing is written and nothing changes."""

from __future__ import annotations

from datetime import datetime

from bot.db import Conn
from bot.models.entities import Contract
from bot.models.payments import PENDING, WAITING_ACCOUNT
from bot.repositories import payments as repo
from bot.repositories.outbox import enqueue


async def queue_settlement_calls(conn: Conn, contract: Contract, *, to_worker: int, to_client: int, ledger_key: str,
                                 now: datetime) -> None:
    """The worker's share as transfers, the client's part as refunds, each taken from the
    contract's Stripe payments in order (a transfer's ``source_transaction`` must be a charge
    that covers it). Each call's idempotency key is the ledger transaction's key, the kind
    and the payment: a retry or a restart sends the same key, so Stripe pays once."""
    payments = await repo.paid_sessions(conn, contract.id)
    if not payments:
        return
    left = {p.payment_intent: p.amount - p.refunded_outside - await repo.used_of_payment(conn, p.payment_intent or "")
            for p in payments if p.payment_intent}
    account = await repo.stripe_account(conn, contract.worker_id)
    worker_ready = account is not None and account[1]
    for kind, user_id, amount in (("transfer", contract.worker_id, to_worker), ("refund", contract.client_id,
                                                                               to_client)):
        for intent in list(left):
            take = min(amount, left[intent])
            if take <= 0:
                continue
            status = PENDING if kind == "refund" or worker_ready else WAITING_ACCOUNT
            await repo.insert_call(conn, guild_id=contract.guild_id, contract_id=contract.id, kind=kind,
                                   user_id=user_id, amount=take, currency=contract.currency, payment_intent=intent,
                                   key=f"{ledger_key}:{kind}:{intent}", status=status, now=now)
            left[intent] -= take
            amount -= take
    if to_worker > 0 and not worker_ready:
        await enqueue(conn, guild_id=contract.guild_id, target="dm", recipient_id=contract.worker_id,
                      contract_id=contract.id, message_key="stripe.notify.onboard_needed", now=now,
                      args={"contract_id": contract.id, "paid_amount": to_worker, "currency": contract.currency})
