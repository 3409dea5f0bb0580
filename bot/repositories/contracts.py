"""SQL for contracts, their terms, amendments, deposits, deliveries and revision requests
(the sweep's own queries are in ``timers.py``, deadline extension requests in ``extensions.py``)."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime
from typing import Any

from bot.db import Conn, Row, fetch_one, write_later
from bot.models.entities import (
    Amendment,
    Contract,
    Delivery,
    DeliveryFile,
    Deposit,
    RevisionRequest,
    Terms,
    from_row,
)
from bot.models.timeutil import to_iso


async def _insert(conn: Conn, table: str, values: dict[str, Any]) -> Row:
    """Insert one row and return it as stored (``RETURNING *``: no second round trip to read
    it back; PostgreSQL has the same clause)."""
    columns = ", ".join(values)
    marks = ", ".join("?" for _ in values)
    row = await fetch_one(conn, f"INSERT INTO {table} ({columns}) VALUES ({marks}) RETURNING *", values.values())
    assert row is not None
    return row


async def insert_contract(conn: Conn, **values: Any) -> Contract:
    return from_row(Contract, await _insert(conn, "contracts", values))


async def insert_terms(conn: Conn, **values: Any) -> Terms:
    return from_row(Terms, await _insert(conn, "contract_terms", values))


async def insert_amendment(conn: Conn, **values: Any) -> int:
    return int((await _insert(conn, "amendments", values))["id"])


async def insert_deposit(conn: Conn, **values: Any) -> Deposit:
    return from_row(Deposit, await _insert(conn, "deposits", values))


async def insert_delivery(conn: Conn, **values: Any) -> Delivery:
    return from_row(Delivery, await _insert(conn, "deliveries", values))


async def insert_delivery_file(conn: Conn, **values: Any) -> None:
    """Queued with the transaction's next statement: nothing reads the result."""
    columns = ", ".join(values)
    marks = ", ".join("?" for _ in values)
    await write_later(conn, f"INSERT INTO delivery_files ({columns}) VALUES ({marks})", tuple(values.values()))


async def insert_revision(conn: Conn, **values: Any) -> int:
    return int((await _insert(conn, "revision_requests", values))["id"])


async def get_contract(conn: Conn, contract_id: int) -> Contract | None:
    row = await fetch_one(conn, "SELECT * FROM contracts WHERE id = ?", (contract_id,))
    return from_row(Contract, row) if row else None


# "Look at this contract on the next sweep": earlier than any real time.
TIMER_NOW = "1970-01-01T00:00:00+00:00"


async def _change(conn: Conn, contract_id: int, expected_status: str, assignments: str,
                  params: tuple[Any, ...]) -> None:
    """Guarded update: changes the row only if it is still in ``expected_status``. Every change
    asks the timer sweep to look at the contract again.

    Queued with the transaction's next statement and checked there (``expect_one``): the
    status was read in this transaction, under its write lock, so it cannot have changed;
    should it have, the transaction rolls back with a ``WrongState``."""
    await write_later(
        conn,
        f"UPDATE contracts SET {assignments}, timer_due_at = ? WHERE id = ? AND status = ?",
        (*params, TIMER_NOW, contract_id, expected_status),
        expect_one=True,
    )


async def set_status(conn: Conn, contract_id: int, expected_status: str, status: str) -> None:
    """A move that starts no clock and ends nothing (a dispute decided back to where it was)."""
    await _change(conn, contract_id, expected_status, "status = ?", (status,))


async def close(conn: Conn, contract_id: int, expected_status: str, status: str, now: datetime) -> None:
    """A move to a final state (withdrawn, declined, expired, cancelled, completed, ...)."""
    await _change(conn, contract_id, expected_status, "status = ?, closed_at = ?", (status, to_iso(now)))


async def accept(conn: Conn, contract_id: int, expected_status: str, status: str, now: datetime) -> None:
    """The worker accepted the offer: the funding clock starts."""
    await _change(conn, contract_id, expected_status, "status = ?, accepted_at = ?, clock_at = ?",
                  (status, to_iso(now), to_iso(now)))


async def declare_deposit(conn: Conn, contract_id: int, expected_status: str, status: str, now: datetime) -> None:
    """The client declared the escrow deposit: the moderators' confirmation clock starts."""
    await _change(conn, contract_id, expected_status, "status = ?, deposit_declared_at = ?, clock_at = ?",
                  (status, to_iso(now), to_iso(now)))


async def start_delivery_clock(conn: Conn, contract_id: int, expected_status: str, status: str, now: datetime,
                               due_at: datetime) -> None:
    """The deposit was confirmed: the contract is funded and the work is due at ``due_at``."""
    await _change(conn, contract_id, expected_status, "status = ?, funded_at = ?, due_at = ?, clock_at = ?",
                  (status, to_iso(now), to_iso(due_at), to_iso(now)))


async def mark_delivered(conn: Conn, contract_id: int, expected_status: str, status: str, now: datetime) -> None:
    """The worker delivered: the client's review clock starts."""
    await _change(conn, contract_id, expected_status, "status = ?, delivered_at = ?, clock_at = ?",
                  (status, to_iso(now), to_iso(now)))


async def back_to_work(conn: Conn, contract_id: int, expected_status: str, status: str, now: datetime,
                       due_at: datetime | None, timer_round: int) -> None:
    """A revision: the work clock starts again with a new due time and a new round of reminders."""
    await _change(conn, contract_id, expected_status, "status = ?, clock_at = ?, due_at = ?, timer_round = ?",
                  (status, to_iso(now), to_iso(due_at) if due_at else None, timer_round))


async def restart_clock(conn: Conn, contract_id: int, expected_status: str, now: datetime) -> None:
    """The state's wait starts again from ``now`` (an extra revision declined: a new review period)."""
    await _change(conn, contract_id, expected_status, "clock_at = ?", (to_iso(now),))


async def dispute(conn: Conn, contract_id: int, expected_status: str, status: str) -> None:
    """A party disputes: the state before is kept to return to when the case is closed."""
    await _change(conn, contract_id, expected_status, "status = ?, status_before_dispute = ?",
                  (status, expected_status))


async def change_terms(conn: Conn, contract_id: int, expected_status: str, version: int, *,
                       due_at: datetime | None, topup_due: int | None) -> None:
    """An accepted amendment: the new terms version, and the due time and the top-up owed when
    they change (None: unchanged)."""
    await _change(conn, contract_id, expected_status,
                  "terms_version = ?, due_at = COALESCE(?, due_at), topup_due = COALESCE(?, topup_due)",
                  (version, to_iso(due_at) if due_at else None, topup_due))


async def extend_reply_wait(conn: Conn, contract_id: int, expected_status: str, until: datetime,
                            timer_round: int) -> None:
    """A moderator gave the client more time to reply in the thread."""
    await _change(conn, contract_id, expected_status, "timer_round = ?, awaiting_reply_since = ?",
                  (timer_round, to_iso(until)))


async def extend_clock(conn: Conn, contract_id: int, expected_status: str, clock_at: datetime,
                       due_at: datetime | None, timer_round: int) -> None:
    """A moderator gave more time for the contract's own wait (and its deadline: None unchanged)."""
    await _change(conn, contract_id, expected_status,
                  "timer_round = ?, clock_at = ?, due_at = COALESCE(?, due_at)",
                  (timer_round, to_iso(clock_at), to_iso(due_at) if due_at else None))


async def set_topup_due(conn: Conn, contract_id: int, amount: int) -> None:
    """Queued with the transaction's next statement: nothing reads the row count."""
    await write_later(conn, "UPDATE contracts SET topup_due = ? WHERE id = ?", (amount, contract_id))


async def reduce_topup_due(conn: Conn, contract_id: int, amount: int) -> None:
    """A top-up of ``amount`` arrived (never below zero). Queued like :func:`set_topup_due`."""
    await write_later(conn, "UPDATE contracts SET topup_due = MAX(topup_due - ?, 0) WHERE id = ?",
                      (amount, contract_id))


async def set_thread(conn: Conn, contract_id: int, thread_id: int) -> None:
    """Remember the contract's thread, unless it already has one."""
    await conn.execute("UPDATE contracts SET thread_id = ? WHERE id = ? AND thread_id IS NULL",
                       (thread_id, contract_id))


async def forget_thread(conn: Conn, contract_id: int, thread_id: int) -> bool:
    """Forget the thread (and its pinned card); False if the contract has another one."""
    cur = await conn.execute(
        "UPDATE contracts SET thread_id = NULL, terms_message_id = NULL WHERE id = ? AND thread_id = ?",
        (contract_id, thread_id),
    )
    return cur.rowcount == 1


async def set_terms_message(conn: Conn, contract_id: int, message_id: int) -> None:
    await conn.execute("UPDATE contracts SET terms_message_id = ? WHERE id = ?", (message_id, contract_id))


async def start_awaiting_reply(conn: Conn, contract_id: int, since: datetime) -> None:
    """The worker spoke in the thread: the client's reply is awaited from ``since``."""
    await conn.execute(
        "UPDATE contracts SET awaiting_reply_since = ? WHERE id = ? AND awaiting_reply_since IS NULL",
        (to_iso(since), contract_id),
    )


async def stop_awaiting_reply(conn: Conn, contract_id: int) -> None:
    await conn.execute("UPDATE contracts SET awaiting_reply_since = NULL WHERE id = ?", (contract_id,))


async def count_in_states(conn: Conn, guild_id: int, statuses: Iterable[str]) -> int:
    """How many of the guild's contracts are in one of ``statuses``."""
    wanted = sorted(statuses)
    row = await fetch_one(
        conn,
        f"SELECT COUNT(*) FROM contracts WHERE guild_id = ? AND status IN ({', '.join('?' for _ in wanted)})",
        (guild_id, *wanted),
    )
    return int(row[0]) if row else 0


async def touch_timer(conn: Conn, contract_id: int) -> None:
    """Queued with the transaction's next statement: nothing reads the row count."""
    await write_later(conn, "UPDATE contracts SET timer_due_at = ? WHERE id = ?", (TIMER_NOW, contract_id))


async def touch_guild_timers(conn: Conn, guild_id: int) -> None:
    """A policy changed: every open or waiting contract of the guild is looked at on the next
    sweep (also one whose escalation already fired: a raised threshold may resume reminders)."""
    await conn.execute(
        "UPDATE contracts SET timer_due_at = ? WHERE guild_id = ? AND (timer_due_at IS NOT NULL OR closed_at IS NULL)",
        (TIMER_NOW, guild_id),
    )


async def pending_extra_revision(conn: Conn, contract_id: int) -> RevisionRequest | None:
    """A revision request that still waits for the worker's answer (the review clock waits too)."""
    row = await fetch_one(
        conn,
        "SELECT * FROM revision_requests WHERE contract_id = ? AND status = 'pending_worker' ORDER BY id LIMIT 1",
        (contract_id,),
    )
    return from_row(RevisionRequest, row) if row else None


async def count_ratings(conn: Conn, contract_id: int) -> int:
    row = await fetch_one(conn, "SELECT COUNT(*) FROM ratings WHERE contract_id = ?", (contract_id,))
    return int(row[0]) if row else 0


async def terms(conn: Conn, contract_id: int, version: int) -> Terms:
    row = await fetch_one(
        conn, "SELECT * FROM contract_terms WHERE contract_id = ? AND version = ?", (contract_id, version)
    )
    assert row is not None, f"contract {contract_id} has no terms v{version}"
    return from_row(Terms, row)


async def all_terms(conn: Conn, contract_id: int) -> list[Terms]:
    return [
        from_row(Terms, r)
        for r in await conn.execute_fetchall(
            "SELECT * FROM contract_terms WHERE contract_id = ? ORDER BY version", (contract_id,)
        )
    ]


async def open_contract_for_application(conn: Conn, application_id: int) -> Contract | None:
    row = await fetch_one(
        conn,
        "SELECT * FROM contracts WHERE application_id = ? AND status IN"
        " ('offered', 'awaiting_funding', 'funding_submitted', 'active', 'delivered', 'disputed')",
        (application_id,),
    )
    return from_row(Contract, row) if row else None


async def amendments(conn: Conn, contract_id: int) -> list[Amendment]:
    return [
        from_row(Amendment, r)
        for r in await conn.execute_fetchall(
            "SELECT * FROM amendments WHERE contract_id = ? ORDER BY id", (contract_id,)
        )
    ]


async def get_amendment(conn: Conn, amendment_id: int) -> Amendment | None:
    row = await fetch_one(conn, "SELECT * FROM amendments WHERE id = ?", (amendment_id,))
    return from_row(Amendment, row) if row else None


async def set_amendment_status(conn: Conn, amendment_id: int, old: str, new: str, **sets: Any) -> bool:
    extra = "".join(f", {name} = ?" for name in sets)
    cur = await conn.execute(
        f"UPDATE amendments SET status = ?{extra} WHERE id = ? AND status = ?",
        (new, *sets.values(), amendment_id, old),
    )
    return cur.rowcount == 1


async def deposits(conn: Conn, contract_id: int) -> list[Deposit]:
    return [
        from_row(Deposit, r)
        for r in await conn.execute_fetchall("SELECT * FROM deposits WHERE contract_id = ? ORDER BY id", (contract_id,))
    ]


def _suggest_filter(alias: str, guild_id: int, excluding: int | None, text: str) -> tuple[str, list[Any]]:
    """The autocomplete conditions on a contracts row (``alias``: its table prefix): not a
    party (``excluding``), the id containing the typed digits (``text``). Returns the SQL
    to append after the guild condition and the parameters, the guild id first."""
    extra = ""
    params: list[Any] = [guild_id]
    if excluding is not None:
        extra += f" AND {alias}client_id <> ? AND {alias}worker_id <> ?"
        params += [excluding, excluding]
    if text:
        extra += f" AND CAST({alias}id AS TEXT) LIKE ?"
        params.append(f"%{text}%")
    return extra, params


async def declared_deposits(conn: Conn, guild_id: int, *, text: str = "", excluding: int | None = None,
                            limit: int | None = None) -> list[Deposit]:
    """The guild's declared (unconfirmed) deposits, oldest first; ``text``: digits the contract
    id contains; ``excluding``: leave out contracts where that user is a party."""
    extra, params = _suggest_filter("c.", guild_id, excluding, text)
    sql = (f"SELECT d.* FROM deposits d JOIN contracts c ON c.id = d.contract_id"
           f" WHERE c.guild_id = ? AND d.status = 'declared'{extra} ORDER BY d.id")
    if limit is not None:
        sql += " LIMIT ?"
        params.append(limit)
    return [from_row(Deposit, r) for r in await conn.execute_fetchall(sql, params)]


async def confirm_deposit(conn: Conn, deposit_id: int, moderator_id: int | None, now: datetime) -> None:
    """A declared deposit arrived. Guarded, queued and checked like the contract's changes."""
    await write_later(
        conn,
        "UPDATE deposits SET status = ?, confirmed_by = ?, confirmed_at = ? WHERE id = ? AND status = ?",
        ("confirmed", moderator_id, to_iso(now), deposit_id, "declared"),
        expect_one=True,
    )


async def void_declared_deposits(conn: Conn, contract_id: int) -> None:
    """Deposits declared but not confirmed can never be confirmed now (the contract is settled or
    cancelled). Queued with the transaction's next statement: nothing reads the row count."""
    await write_later(conn, "UPDATE deposits SET status = 'void' WHERE contract_id = ? AND status = 'declared'",
                      (contract_id,))


async def deliveries(conn: Conn, contract_id: int) -> list[Delivery]:
    return [
        from_row(Delivery, r)
        for r in await conn.execute_fetchall(
            "SELECT * FROM deliveries WHERE contract_id = ? ORDER BY id", (contract_id,)
        )
    ]


async def delivery_files(conn: Conn, contract_id: int) -> list[DeliveryFile]:
    return [
        from_row(DeliveryFile, r)
        for r in await conn.execute_fetchall(
            "SELECT f.* FROM delivery_files f JOIN deliveries d ON d.id = f.delivery_id"
            " WHERE d.contract_id = ? ORDER BY f.delivery_id, f.position",
            (contract_id,),
        )
    ]


async def revisions(conn: Conn, contract_id: int) -> list[RevisionRequest]:
    return [
        from_row(RevisionRequest, r)
        for r in await conn.execute_fetchall(
            "SELECT * FROM revision_requests WHERE contract_id = ? ORDER BY id", (contract_id,)
        )
    ]


async def get_revision(conn: Conn, revision_id: int) -> RevisionRequest | None:
    row = await fetch_one(conn, "SELECT * FROM revision_requests WHERE id = ?", (revision_id,))
    return from_row(RevisionRequest, row) if row else None


async def lapse_extra_revisions(conn: Conn, contract_id: int, now: datetime) -> None:
    """Extra revisions the worker did not answer are moot (the delivery was approved). Queued."""
    await write_later(conn, "UPDATE revision_requests SET status = 'lapsed', decided_at = ?"
                      " WHERE contract_id = ? AND status = 'pending_worker'", (to_iso(now), contract_id))


async def review_open_deliveries(conn: Conn, contract_id: int, outcome: str, now: datetime) -> None:
    """Every delivery of the contract not yet reviewed gets ``outcome`` (approved, settled, ...). Queued."""
    await write_later(
        conn,
        "UPDATE deliveries SET reviewed_at = ?, outcome = ? WHERE contract_id = ? AND reviewed_at IS NULL",
        (to_iso(now), outcome, contract_id),
    )


async def send_back_for_revision(conn: Conn, delivery_id: int, now: datetime) -> None:
    """The delivery was reviewed: a revision is to come. Queued."""
    await write_later(conn, "UPDATE deliveries SET reviewed_at = ?, outcome = 'revision' WHERE id = ?",
                      (to_iso(now), delivery_id))


async def mark_revision_outside_scope(conn: Conn, revision_id: int, amendment_id: int, decided_at: str) -> bool:
    """The worker answered that the request is outside the agreed scope: it became an amendment."""
    cur = await conn.execute(
        "UPDATE revision_requests SET status = 'outside_scope', amendment_id = ?, decided_at = ?"
        " WHERE id = ? AND status = 'pending_worker'",
        (amendment_id, decided_at, revision_id),
    )
    return cur.rowcount == 1


async def revision_of_amendment(conn: Conn, amendment_id: int) -> RevisionRequest | None:
    row = await fetch_one(conn, "SELECT * FROM revision_requests WHERE amendment_id = ?", (amendment_id,))
    return from_row(RevisionRequest, row) if row else None


async def set_revision_status(conn: Conn, revision_id: int, old: str, new: str, decided_at: str) -> bool:
    cur = await conn.execute(
        "UPDATE revision_requests SET status = ?, decided_at = ? WHERE id = ? AND status = ?",
        (new, decided_at, revision_id, old),
    )
    return cur.rowcount == 1


async def contracts_of(
    conn: Conn, guild_id: int, user_id: int, status: str | None, limit: int = 25, text: str = ""
) -> list[Contract]:
    by_status = " AND status = ?" if status else ""
    params: list[Any] = [guild_id, user_id, *([status] if status else []), guild_id, user_id,
                         *([status] if status else [])]
    where = f"id IN ({_PARTY_IDS.format(status=by_status)})"
    if text:
        where += " AND CAST(id AS TEXT) LIKE ?"
        params.append(f"%{text}%")
    return [
        from_row(Contract, r)
        for r in await conn.execute_fetchall(
            f"SELECT * FROM contracts WHERE {where} ORDER BY id DESC LIMIT ?", (*params, limit)
        )
    ]


# The ids of a user's contracts in a guild, as client or as worker: a union of two index
# searches (contracts_client, contracts_worker). "client_id = ? OR worker_id = ?" made the
# planner scan the whole guild through one index (120 ms at 100,000 contracts).
_PARTY_IDS = (
    "SELECT id FROM contracts WHERE guild_id = ? AND client_id = ?{status}"
    " UNION SELECT id FROM contracts WHERE guild_id = ? AND worker_id = ?{status}"
)


async def guild_contracts(conn: Conn, guild_id: int, *, limit: int, text: str = "",
                          excluding: int | None = None) -> list[Contract]:
    """The guild's contracts, newest first, whose id contains ``text`` (digits); with
    ``excluding``, leaving out those where that user is a party."""
    extra, params = _suggest_filter("", guild_id, excluding, text)
    return [
        from_row(Contract, r)
        for r in await conn.execute_fetchall(
            f"SELECT * FROM contracts WHERE guild_id = ?{extra} ORDER BY id DESC LIMIT ?", (*params, limit)
        )
    ]


async def awaiting_reply(conn: Conn, statuses: Iterable[str], limit: int) -> list[Contract]:
    """Contracts in ``statuses`` with a thread whose worker waits for the client's reply
    (oldest wait first)."""
    wanted = sorted(statuses)
    marks = ", ".join("?" for _ in wanted)
    return [
        from_row(Contract, r)
        for r in await conn.execute_fetchall(
            "SELECT * FROM contracts WHERE awaiting_reply_since IS NOT NULL AND thread_id IS NOT NULL"
            f" AND status IN ({marks}) ORDER BY awaiting_reply_since LIMIT ?",
            (*wanted, limit),
        )
    ]


async def contract_by_thread(conn: Conn, thread_id: int) -> Contract | None:
    row = await fetch_one(conn, "SELECT * FROM contracts WHERE thread_id = ?", (thread_id,))
    return from_row(Contract, row) if row else None


_GUILD_OF = {
    "contract": "SELECT guild_id FROM contracts WHERE id = ?",
    "amendment": "SELECT c.guild_id FROM amendments a JOIN contracts c ON c.id = a.contract_id WHERE a.id = ?",
    "revision": "SELECT c.guild_id FROM revision_requests r JOIN contracts c ON c.id = r.contract_id WHERE r.id = ?",
    "case": "SELECT guild_id FROM cases WHERE id = ?",
    "extension": "SELECT c.guild_id FROM extension_requests e JOIN contracts c ON c.id = e.contract_id WHERE e.id = ?",
    "job": "SELECT guild_id FROM jobs WHERE id = ?",
    "application": "SELECT guild_id FROM applications WHERE id = ?",
}


async def guild_of(conn: Conn, resource: str, target_id: int) -> int | None:
    row = await fetch_one(conn, _GUILD_OF[resource], (target_id,))
    return int(row[0]) if row else None


async def offered_for_job(conn: Conn, job_id: int) -> list[Contract]:
    rows = await conn.execute_fetchall(
        "SELECT * FROM contracts WHERE job_id = ? AND status = 'offered' ORDER BY id", (job_id,)
    )
    return [from_row(Contract, r) for r in rows]


async def open_contracts_of(conn: Conn, guild_id: int, user_id: int, limit: int) -> list[Contract]:
    rows = await conn.execute_fetchall(
        f"SELECT * FROM contracts WHERE id IN ({_PARTY_IDS.format(status='')}) AND status IN"
        " ('offered', 'awaiting_funding', 'funding_submitted', 'active', 'delivered', 'disputed')"
        " ORDER BY id DESC LIMIT ?",
        (guild_id, user_id, guild_id, user_id, limit),
    )
    return [from_row(Contract, r) for r in rows]


# -- paused clocks and extension requests -------------------------------------------------


async def pause_clock(conn: Conn, contract_id: int, since: datetime, reason: str) -> None:
    """Stop the delivery deadline and review clock from ``since``. A pause that already exists
    is not restarted; a case takes over the reason of a reply pause (the case outlasts it)."""
    await conn.execute(
        "UPDATE contracts SET paused_at = COALESCE(paused_at, ?),"
        " pause_reason = CASE WHEN pause_reason IS NULL OR ? = 'case' THEN ? ELSE pause_reason END,"
        " timer_due_at = ? WHERE id = ?",
        (to_iso(since), reason, reason, TIMER_NOW, contract_id),
    )


async def resume_clock(conn: Conn, contract_id: int, paused_at: datetime, now: datetime, *,
                       due_at: datetime | None, clock_at: datetime) -> bool:
    """End the pause that began at ``paused_at`` with the clocks moved forward. Guarded on that
    pause, so a second resume changes nothing."""
    cur = await conn.execute(
        "UPDATE contracts SET paused_at = NULL, pause_reason = NULL, resumed_at = ?, due_at = ?, clock_at = ?,"
        " timer_due_at = ? WHERE id = ? AND paused_at = ?",
        (to_iso(now), to_iso(due_at) if due_at else None, to_iso(clock_at), TIMER_NOW, contract_id,
         to_iso(paused_at)),
    )
    return cur.rowcount == 1


async def void_deposit(conn: Conn, deposit_id: int, reason: str) -> None:
    """A declared deposit that never arrived, voided with why. Guarded like the confirmation."""
    await write_later(
        conn,
        "UPDATE deposits SET status = 'void', void_reason = ? WHERE id = ? AND status = 'declared'",
        (reason, deposit_id),
        expect_one=True,
    )
