"""Rows of the Stripe provider (bot/services/payments.py): checkout sessions and the durable
calls out to Stripe. Pure data."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

MANUAL = "manual"
STRIPE = "stripe"
PROVIDERS = (MANUAL, STRIPE)

# payment_calls.status
PENDING = "pending"
WAITING_ACCOUNT = "waiting_account"
DONE = "done"
REFUSED = "refused"
FAILED = "failed"  # gave up after repeated transient failures: owed, a case says why

# Stripe's zero-decimal currencies among ours: their amounts are whole units, exactly the
# ledger's minor units; the others are in cents, also the ledger's minor units.
ZERO_DECIMAL = frozenset({"JPY"})


@dataclass(frozen=True, slots=True)
class PaymentSession:
    session_id: str
    guild_id: int
    contract_id: int
    kind: str
    amount: int
    currency: str
    url: str
    status: str
    payment_intent: str | None
    deposit_id: int | None
    created_at: datetime
    expires_at: datetime
    refunded_outside: int


@dataclass(frozen=True, slots=True)
class PaymentCall:
    id: int
    guild_id: int
    contract_id: int | None
    kind: str
    user_id: int
    amount: int
    currency: str
    payment_intent: str
    idempotency_key: str
    status: str
    attempts: int
    next_attempt_at: datetime
    stripe_id: str | None
    last_error: str | None
    created_at: datetime
    updated_at: datetime
    waiting_since: datetime | None
    reminders_sent: int
    escalated: int
    reversed: int
    failing_since: datetime | None
