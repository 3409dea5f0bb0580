"""Writers every state change uses inside its transaction: audit events, outbox, ledger."""

from __future__ import annotations

import json
from collections.abc import Iterable, Sequence
from datetime import datetime
from typing import Any

from bot.db import Conn, fetch_one, write_later
from bot.models.entities import Event, OutboxItem, from_row
from bot.models.timeutil import to_iso


async def record_event(
    conn: Conn,
    *,
    guild_id: int,
    kind: str,
    now: datetime,
    actor_id: int | None = None,
    contract_id: int | None = None,
    job_id: int | None = None,
    case_id: int | None = None,
    **data: Any,
) -> None:
    """Append to the audit trail (written with the transaction's other changes at commit)."""
    await write_later(
        conn,
        "INSERT INTO events (guild_id, contract_id, job_id, case_id, actor_id, kind, data, created_at)"
        " VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
        (guild_id, contract_id, job_id, case_id, actor_id, kind, json.dumps(data, default=str), to_iso(now)),
    )


async def events_for_contract(conn: Conn, contract_id: int) -> list[Event]:
    return [
        from_row(Event, row)
        for row in await conn.execute_fetchall("SELECT * FROM events WHERE contract_id = ? ORDER BY id", (contract_id,))
    ]


async def enqueue(
    conn: Conn,
    *,
    guild_id: int,
    target: str,
    message_key: str,
    now: datetime,
    recipient_id: int | None = None,
    contract_id: int | None = None,
    job_id: int | None = None,
    case_id: int | None = None,
    args: dict[str, Any] | None = None,
    buttons: Sequence[str] = (),
    dedupe_key: str | None = None,
) -> None:
    """Write one notification, in the transaction of the change that causes it (at commit).
    ``target`` is dm | thread | mod | board.

    ``args`` are the message placeholders (amounts as minor units with a ``currency``
    arg; the sender formats them). ``buttons`` name persistent buttons as
    ``"<resource>:<id>:<action>"`` (bot/ui/buttons.py). With a ``dedupe_key`` a second
    write of the same notification is ignored.
    """
    if target not in {"dm", "thread", "mod", "board", "retire"}:
        raise ValueError(target)
    await write_later(
        conn,
        "INSERT INTO outbox (guild_id, target, recipient_id, contract_id, job_id, case_id, message_key,"
        " args, buttons, dedupe_key, next_attempt_at, created_at)"
        " VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?) ON CONFLICT (dedupe_key) DO NOTHING",
        (
            guild_id,
            target,
            recipient_id,
            contract_id,
            job_id,
            case_id,
            message_key,
            json.dumps(args or {}, default=str),
            json.dumps(list(buttons)),
            dedupe_key,
            to_iso(now),
            to_iso(now),
        ),
    )


async def retire_buttons(
    conn: Conn,
    *,
    guild_id: int,
    specs: Sequence[str],
    now: datetime,
    contract_id: int | None = None,
    case_id: int | None = None,
) -> None:
    """The actions behind these buttons are done: the dispatcher greys them out on every message
    of this contract (or case) sent before now. A spec is ``<resource>:<id>:<action>``,
    ``<resource>:<id>:*`` (every action) or ``*`` (every button of the contract)."""
    await enqueue(
        conn,
        guild_id=guild_id,
        target="retire",
        message_key="retire",
        now=now,
        contract_id=contract_id,
        case_id=case_id,
        args={"buttons": list(specs)},
    )


async def last_dm_outcomes(conn: Conn, user_ids: Sequence[int]) -> dict[int, str]:
    """How the newest settled DM to each user went: ``sent``, or ``fallback_thread`` /
    ``fallback_mod`` (the user closed DMs); users with no settled DM yet are left out. One
    query (a scalar subquery per user, on the ``outbox_dm_recipient`` index)."""
    if not user_ids:
        return {}
    latest = (
        "(SELECT status FROM outbox WHERE target = 'dm' AND recipient_id = ?"
        " AND status IN ('sent', 'fallback_thread', 'fallback_mod') ORDER BY id DESC LIMIT 1)"
    )
    row = await fetch_one(conn, "SELECT " + ", ".join(latest for _ in user_ids), tuple(user_ids))
    assert row is not None
    return {user_id: str(row[i]) for i, user_id in enumerate(user_ids) if row[i] is not None}


async def outbox_item(conn: Conn, item_id: int) -> OutboxItem | None:
    row = await fetch_one(conn, "SELECT * FROM outbox WHERE id = ?", (item_id,))
    return from_row(OutboxItem, row) if row else None


class UnbalancedEntries(ValueError):
    """A ledger transaction whose entries do not sum to zero: a programming error."""


async def post_ledger(
    conn: Conn,
    *,
    guild_id: int,
    kind: str,
    key: str,
    currency: str,
    entries: Iterable[tuple[str, int]],
    now: datetime,
    contract_id: int | None = None,
    actor_id: int | None = None,
    memo: str | None = None,
    once_checked: bool = False,
) -> bool:
    """Post a balanced set of entries once. A second post under the same key is a no-op (False).

    ``once_checked``: the caller read, in this transaction, the state that makes this the
    first post (a deposit still declared, a contract not yet settled): the transaction and
    its entries are queued with the transaction's next statement, the key checked there (a
    second post rolls everything back), and True is returned without a round trip."""
    lines = [(account, amount) for account, amount in entries if amount != 0]
    if sum(amount for _, amount in lines) != 0:
        raise UnbalancedEntries(f"{kind} {key}: {lines}")
    if once_checked:
        await write_later(
            conn,
            "INSERT INTO ledger_transactions (guild_id, contract_id, kind, idempotency_key, actor_id, memo,"
            " created_at) VALUES (?, ?, ?, ?, ?, ?, ?) ON CONFLICT (idempotency_key) DO NOTHING",
            (guild_id, contract_id, kind, key, actor_id, memo, to_iso(now)),
            expect_one=True,
        )
        for account, amount in lines:
            await write_later(
                conn,
                "INSERT INTO ledger_entries (txn_id, guild_id, account, currency, amount)"
                " VALUES ((SELECT id FROM ledger_transactions WHERE idempotency_key = ?), ?, ?, ?, ?)",
                (key, guild_id, account, currency, amount),
            )
        return True
    cur = await conn.execute(
        "INSERT INTO ledger_transactions (guild_id, contract_id, kind, idempotency_key, actor_id, memo,"
        " created_at) VALUES (?, ?, ?, ?, ?, ?, ?) ON CONFLICT (idempotency_key) DO NOTHING",
        (guild_id, contract_id, kind, key, actor_id, memo, to_iso(now)),
    )
    if not cur.rowcount:
        return False
    txn_id = cur.lastrowid
    # Queued with the transaction's next statement (a balance read after this sees them) and
    # committed with the transaction header or not at all.
    for account, amount in lines:
        await write_later(
            conn,
            "INSERT INTO ledger_entries (txn_id, guild_id, account, currency, amount) VALUES (?, ?, ?, ?, ?)",
            (txn_id, guild_id, account, currency, amount),
        )
    return True


async def balance(conn: Conn, guild_id: int, account: str, currency: str) -> int:
    row = await fetch_one(
        conn,
        "SELECT COALESCE(SUM(amount), 0) FROM ledger_entries WHERE guild_id = ? AND account = ? AND currency = ?",
        (guild_id, account, currency),
    )
    assert row is not None
    return int(row[0])


def escrow_account(contract_id: int) -> str:
    return f"escrow:{contract_id}"


def owed_account(user_id: int) -> str:
    return f"owed:{user_id}"


def refund_account(user_id: int) -> str:
    return f"refund:{user_id}"


FEES_ACCOUNT = "fees"
DEPOSITS_EXTERNAL = "deposits:external"
PAYOUTS_EXTERNAL = "payouts:external"
