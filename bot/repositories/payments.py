"""SQL of the Stripe provider: the guild's provider, webhook events recorded once, checkout
sessions, the durable calls out to Stripe and the workers' connected accounts."""

from __future__ import annotations

from datetime import datetime

from bot.db import Conn, fetch_one
from bot.models.entities import from_row
from bot.models.payments import MANUAL, PENDING, WAITING_ACCOUNT, PaymentCall, PaymentSession
from bot.models.timeutil import to_iso


async def provider_of(conn: Conn, guild_id: int) -> str:
    row = await fetch_one(conn, "SELECT provider FROM payment_settings WHERE guild_id = ?", (guild_id,))
    return str(row["provider"]) if row else MANUAL


async def set_provider(conn: Conn, guild_id: int, provider: str, actor_id: int, now: datetime) -> None:
    await conn.execute(
        "INSERT INTO payment_settings (guild_id, provider, updated_by, updated_at) VALUES (?, ?, ?, ?)"
        " ON CONFLICT (guild_id) DO UPDATE SET provider = excluded.provider, updated_by = excluded.updated_by,"
        " updated_at = excluded.updated_at",
        (guild_id, provider, actor_id, to_iso(now)),
    )


async def record_event(conn: Conn, event_id: str, type_: str, outcome: str, now: datetime) -> bool:
    """Record an event id once; False if it was already recorded (a replay)."""
    cur = await conn.execute(
        "INSERT INTO payment_events (event_id, type, outcome, received_at) VALUES (?, ?, ?, ?)"
        " ON CONFLICT (event_id) DO NOTHING",
        (event_id, type_, outcome, to_iso(now)),
    )
    return bool(cur.rowcount)


async def set_event_outcome(conn: Conn, event_id: str, outcome: str) -> None:
    await conn.execute("UPDATE payment_events SET outcome = ? WHERE event_id = ?", (outcome, event_id))


async def event_seen(conn: Conn, event_id: str) -> bool:
    return await fetch_one(conn, "SELECT 1 FROM payment_events WHERE event_id = ?", (event_id,)) is not None


# -- checkout sessions ------------------------------------------------------------------------


async def insert_session(conn: Conn, *, session_id: str, guild_id: int, contract_id: int, kind: str, amount: int,
                         currency: str, url: str, now: datetime, expires_at: datetime) -> None:
    await conn.execute(
        "INSERT INTO payment_sessions (session_id, guild_id, contract_id, kind, amount, currency, url, status,"
        " created_at, expires_at) VALUES (?, ?, ?, ?, ?, ?, ?, 'open', ?, ?)",
        (session_id, guild_id, contract_id, kind, amount, currency, url, to_iso(now), to_iso(expires_at)),
    )


async def open_session(conn: Conn, contract_id: int, kind: str, amount: int, now: datetime) -> PaymentSession | None:
    """A session of this contract for this payment still open and not about to expire."""
    row = await fetch_one(
        conn,
        "SELECT * FROM payment_sessions WHERE contract_id = ? AND kind = ? AND amount = ? AND status = 'open'"
        " AND expires_at > ? ORDER BY created_at DESC LIMIT 1",
        (contract_id, kind, amount, to_iso(now)),
    )
    return from_row(PaymentSession, row) if row else None


async def get_session(conn: Conn, session_id: str) -> PaymentSession | None:
    row = await fetch_one(conn, "SELECT * FROM payment_sessions WHERE session_id = ?", (session_id,))
    return from_row(PaymentSession, row) if row else None


async def close_session(conn: Conn, session_id: str, status: str, *, payment_intent: str | None = None,
                        deposit_id: int | None = None) -> bool:
    """open -> paid | expired, once."""
    cur = await conn.execute(
        "UPDATE payment_sessions SET status = ?, payment_intent = ?, deposit_id = ?"
        " WHERE session_id = ? AND status = 'open'",
        (status, payment_intent, deposit_id, session_id),
    )
    return bool(cur.rowcount)


async def paid_sessions(conn: Conn, contract_id: int) -> list[PaymentSession]:
    """The contract's Stripe payments, oldest first: where its money came from."""
    rows = await conn.execute_fetchall(
        "SELECT * FROM payment_sessions WHERE contract_id = ? AND status = 'paid' AND payment_intent IS NOT NULL"
        " ORDER BY created_at, session_id",
        (contract_id,),
    )
    return [from_row(PaymentSession, row) for row in rows]


async def used_of_payment(conn: Conn, payment_intent: str) -> int:
    """How much of a payment calls already take (transfers and refunds, any status)."""
    row = await fetch_one(
        conn, "SELECT COALESCE(SUM(amount), 0) FROM payment_calls WHERE payment_intent = ?", (payment_intent,)
    )
    return int(row[0]) if row else 0


# -- calls out to Stripe ----------------------------------------------------------------------


async def insert_call(conn: Conn, *, guild_id: int, contract_id: int | None, kind: str, user_id: int, amount: int,
                      currency: str, payment_intent: str, key: str, status: str, now: datetime) -> bool:
    cur = await conn.execute(
        "INSERT INTO payment_calls (guild_id, contract_id, kind, user_id, amount, currency, payment_intent,"
        " idempotency_key, status, next_attempt_at, created_at, updated_at, waiting_since)"
        " VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?) ON CONFLICT (idempotency_key) DO NOTHING",
        (guild_id, contract_id, kind, user_id, amount, currency, payment_intent, key, status, to_iso(now),
         to_iso(now), to_iso(now), to_iso(now) if status == WAITING_ACCOUNT else None),
    )
    return bool(cur.rowcount)


async def due_calls(conn: Conn, now: datetime, limit: int = 20) -> list[PaymentCall]:
    rows = await conn.execute_fetchall(
        "SELECT * FROM payment_calls WHERE status = ? AND next_attempt_at <= ? ORDER BY id LIMIT ?",
        (PENDING, to_iso(now), limit),
    )
    return [from_row(PaymentCall, row) for row in rows]


async def get_call(conn: Conn, call_id: int) -> PaymentCall | None:
    row = await fetch_one(conn, "SELECT * FROM payment_calls WHERE id = ?", (call_id,))
    return from_row(PaymentCall, row) if row else None


async def calls_of(conn: Conn, contract_id: int) -> list[PaymentCall]:
    rows = await conn.execute_fetchall("SELECT * FROM payment_calls WHERE contract_id = ? ORDER BY id", (contract_id,))
    return [from_row(PaymentCall, row) for row in rows]


async def finish_call(conn: Conn, call_id: int, status: str, now: datetime, *, stripe_id: str | None = None,
                      error: str | None = None) -> bool:
    """pending | waiting_account -> done | refused | failed | waiting_account, once. The
    first time a call waits for the worker's account is kept: reminders count from it."""
    waiting = to_iso(now) if status == WAITING_ACCOUNT else None
    cur = await conn.execute(
        "UPDATE payment_calls SET status = ?, stripe_id = COALESCE(?, stripe_id), last_error = ?,"
        " attempts = attempts + 1, updated_at = ?, waiting_since = COALESCE(waiting_since, ?)"
        " WHERE id = ? AND status IN (?, ?)",
        (status, stripe_id, error, to_iso(now), waiting, call_id, PENDING, WAITING_ACCOUNT),
    )
    return bool(cur.rowcount)


async def retry_call(conn: Conn, call_id: int, error: str, now: datetime, next_at: datetime) -> None:
    await conn.execute(
        "UPDATE payment_calls SET attempts = attempts + 1, last_error = ?, next_attempt_at = ?, updated_at = ?,"
        " failing_since = COALESCE(failing_since, ?) WHERE id = ? AND status = ?",
        (error, to_iso(next_at), to_iso(now), to_iso(now), call_id, PENDING),
    )


async def wake_waiting_calls(conn: Conn, user_id: int, now: datetime) -> int:
    """A worker's account became ready: their transfers waiting for it are due now."""
    cur = await conn.execute(
        "UPDATE payment_calls SET status = ?, next_attempt_at = ?, updated_at = ? WHERE user_id = ? AND status = ?"
        " AND kind = 'transfer'",
        (PENDING, to_iso(now), to_iso(now), user_id, WAITING_ACCOUNT),
    )
    return int(cur.rowcount)


async def waiting_transfers(conn: Conn) -> list[PaymentCall]:
    """Transfers waiting for their worker's connected account (few: the payment job reads all)."""
    rows = await conn.execute_fetchall(
        "SELECT * FROM payment_calls WHERE status = ? AND kind = 'transfer' ORDER BY id", (WAITING_ACCOUNT,)
    )
    return [from_row(PaymentCall, row) for row in rows]


async def mark_reminded(conn: Conn, contract_id: int, user_id: int, stage: int, now: datetime) -> bool:
    """Record onboarding reminder ``stage`` of a contract's waiting transfers, once: False if
    it was already recorded (a second pass, another process)."""
    cur = await conn.execute(
        "UPDATE payment_calls SET reminders_sent = ?, updated_at = ? WHERE contract_id = ? AND user_id = ?"
        " AND kind = 'transfer' AND status = ? AND reminders_sent < ?",
        (stage, to_iso(now), contract_id, user_id, WAITING_ACCOUNT, stage),
    )
    return bool(cur.rowcount)


async def mark_escalated(conn: Conn, contract_id: int, user_id: int, now: datetime) -> bool:
    """The moderators were told of a contract's transfers still waiting, once."""
    cur = await conn.execute(
        "UPDATE payment_calls SET escalated = 1, updated_at = ? WHERE contract_id = ? AND user_id = ?"
        " AND kind = 'transfer' AND status = ? AND escalated = 0",
        (to_iso(now), contract_id, user_id, WAITING_ACCOUNT),
    )
    return bool(cur.rowcount)


async def transfer_by_stripe_id(conn: Conn, stripe_id: str) -> PaymentCall | None:
    row = await fetch_one(conn, "SELECT * FROM payment_calls WHERE stripe_id = ? AND kind = 'transfer'",
                          (stripe_id,))
    return from_row(PaymentCall, row) if row else None


async def set_reversed(conn: Conn, call_id: int, before: int, after: int, now: datetime) -> bool:
    """A transfer's reversed amount goes from ``before`` to ``after``, once."""
    cur = await conn.execute(
        "UPDATE payment_calls SET reversed = ?, updated_at = ? WHERE id = ? AND reversed = ?",
        (after, to_iso(now), call_id, before),
    )
    return bool(cur.rowcount)


async def session_by_intent(conn: Conn, payment_intent: str) -> PaymentSession | None:
    row = await fetch_one(conn, "SELECT * FROM payment_sessions WHERE payment_intent = ?", (payment_intent,))
    return from_row(PaymentSession, row) if row else None


async def set_refunded_outside(conn: Conn, session_id: str, before: int, after: int) -> bool:
    """What was refunded in Stripe's dashboard goes from ``before`` to ``after``, once."""
    cur = await conn.execute(
        "UPDATE payment_sessions SET refunded_outside = ? WHERE session_id = ? AND refunded_outside = ?",
        (after, session_id, before),
    )
    return bool(cur.rowcount)


async def refunds_of(conn: Conn, payment_intent: str, statuses: tuple[str, str]) -> int:
    """The sum of a payment's refund calls in these statuses: (pending, done) are the bot's own
    refunds, which Stripe's ``charge.refunded`` also counts; (refused, failed) are owed and
    no call will pay them."""
    row = await fetch_one(
        conn,
        "SELECT COALESCE(SUM(amount), 0) FROM payment_calls WHERE payment_intent = ? AND kind = 'refund'"
        " AND status IN (?, ?)",
        (payment_intent, *statuses),
    )
    return int(row[0]) if row else 0


# -- connected accounts -----------------------------------------------------------------------


async def stripe_account(conn: Conn, user_id: int) -> tuple[str, bool] | None:
    row = await fetch_one(conn, "SELECT account_id, payouts_enabled FROM stripe_accounts WHERE user_id = ?",
                          (user_id,))
    return (str(row["account_id"]), bool(row["payouts_enabled"])) if row else None


async def save_stripe_account(conn: Conn, user_id: int, account_id: str, now: datetime) -> None:
    """The account created for the user's onboarding (not yet able to receive payouts)."""
    await conn.execute(
        "INSERT INTO stripe_accounts (user_id, account_id, payouts_enabled, updated_at) VALUES (?, ?, 0, ?)"
        " ON CONFLICT (user_id) DO UPDATE SET account_id = excluded.account_id, updated_at = excluded.updated_at",
        (user_id, account_id, to_iso(now)),
    )


async def set_payouts_enabled(conn: Conn, account_id: str, enabled: bool, now: datetime) -> int | None:
    """Record what Stripe says of the account; the user's id, None if not one of ours."""
    row = await fetch_one(
        conn,
        "UPDATE stripe_accounts SET payouts_enabled = ?, updated_at = ? WHERE account_id = ? RETURNING user_id",
        (int(enabled), to_iso(now), account_id),
    )
    return int(row["user_id"]) if row else None
