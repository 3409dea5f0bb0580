"""SQL for jobs and applications."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from bot.db import Conn, fetch_one, write_later
from bot.models.entities import Application, Job, from_row
from bot.models.timeutil import to_iso


async def insert_job(conn: Conn, **values: Any) -> Job:
    """The new job as stored (``RETURNING *``: one round trip, no read back)."""
    columns = ", ".join(values)
    marks = ", ".join("?" for _ in values)
    row = await fetch_one(conn, f"INSERT INTO jobs ({columns}) VALUES ({marks}) RETURNING *", values.values())
    assert row is not None
    return from_row(Job, row)


async def get_job(conn: Conn, job_id: int) -> Job | None:
    row = await fetch_one(conn, "SELECT * FROM jobs WHERE id = ?", (job_id,))
    return from_row(Job, row) if row else None


async def set_job_status(
    conn: Conn, job_id: int, old: str, new: str, now: datetime, actor_id: int | None = None
) -> bool:
    closing = new == "closed"
    cur = await conn.execute(
        "UPDATE jobs SET status = ?, closed_at = CASE WHEN ? THEN ? ELSE closed_at END,"
        " closed_by = CASE WHEN ? THEN ? ELSE closed_by END WHERE id = ? AND status = ?",
        (new, closing, to_iso(now), closing, actor_id, job_id, old),
    )
    return cur.rowcount == 1


async def take_position(conn: Conn, job_id: int, status: str) -> None:
    """A hire took one of the job's positions (``status``: filled when it was the last).
    Queued with the transaction's next statement: nothing reads the row count."""
    await write_later(conn, "UPDATE jobs SET filled = filled + 1, status = ? WHERE id = ?", (status, job_id))


async def free_position(conn: Conn, job_id: int) -> None:
    """A hire ended before funding: its position is open again."""
    await conn.execute("UPDATE jobs SET filled = filled - 1 WHERE id = ? AND filled > 0", (job_id,))


async def set_board_message(conn: Conn, job_id: int, channel_id: int, message_id: int) -> None:
    """Where the job's card on the board is, to edit it later."""
    await conn.execute(
        "UPDATE jobs SET board_channel_id = ?, board_message_id = ? WHERE id = ?",
        (channel_id, message_id, job_id),
    )


async def client_posting(conn: Conn, guild_id: int, client_id: int) -> tuple[str | None, int]:
    """(when the client last posted a job, how many of their jobs are open) in one query."""
    row = await fetch_one(
        conn,
        "SELECT MAX(created_at), COALESCE(SUM(CASE WHEN status = 'open' THEN 1 ELSE 0 END), 0)"
        " FROM jobs WHERE guild_id = ? AND client_id = ?",
        (guild_id, client_id),
    )
    assert row is not None
    return row[0], int(row[1])


async def search_jobs(
    conn: Conn,
    guild_id: int,
    *,
    status: str | None = "open",
    category: str | None = None,
    query: str | None = None,
    client_id: int | None = None,
    budget_currency: str | None = None,
    min_budget: int | None = None,
    max_budget: int | None = None,
    max_days: int | None = None,
    today: str | None = None,
    sort: str = "newest",
    limit: int = 10,
    offset: int = 0,
) -> tuple[list[Job], int]:
    """A page of jobs and the count of all that match.

    Budgets are minor units of ``budget_currency`` (jobs in another currency are left out
    when a budget bound is given). ``max_days`` keeps jobs to be delivered within that many
    days: a deadline of N days after funding, or a date at most that far from ``today``
    (ISO date). ``sort``: ``newest``, ``budget`` (largest first) or ``deadline`` (soonest
    first, the same measure); ties newest first.
    """
    where = ["guild_id = ?"]
    params: list[Any] = [guild_id]
    if status is not None:
        where.append("status = ?")
        params.append(status)
    if category:
        where.append("LOWER(category) = LOWER(?)")
        params.append(category)
    if client_id is not None:
        where.append("client_id = ?")
        params.append(client_id)
    if query:
        for word in query.split()[:5]:
            where.append("(LOWER(title) LIKE ? ESCAPE '\\' OR LOWER(description) LIKE ? ESCAPE '\\')")
            escaped = word.lower().replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
            params += [f"%{escaped}%", f"%{escaped}%"]
    if min_budget is not None or max_budget is not None:
        where.append("currency = ?")
        params.append(budget_currency)
    if min_budget is not None:
        where.append("budget >= ?")
        params.append(min_budget)
    if max_budget is not None:
        where.append("budget <= ?")
        params.append(max_budget)
    if max_days is not None:
        where.append("(deadline_days <= ? OR (deadline_days IS NULL AND " + _DAYS_UNTIL_DATE + " <= ?))")
        params += [max_days, today, max_days]
    clause = " AND ".join(where)
    row = await fetch_one(conn, f"SELECT COUNT(*) FROM jobs WHERE {clause}", params)
    total = int(row[0]) if row else 0
    order, order_params = _ORDER[sort], ([today] if sort == "deadline" else [])
    jobs = [
        from_row(Job, r)
        for r in await conn.execute_fetchall(
            f"SELECT * FROM jobs WHERE {clause} ORDER BY {order} LIMIT ? OFFSET ?",
            [*params, *order_params, limit, offset],
        )
    ]
    return jobs, total


# Days from the date parameter to a job's deadline date. The one dialect-specific
# expression of the job search (PostgreSQL: ``deadline_date::date - ?::date``).
_DAYS_UNTIL_DATE = "(julianday(deadline_date) - julianday(?))"
_ORDER = {
    "newest": "id DESC",
    "budget": "budget DESC, id DESC",
    "deadline": f"COALESCE(deadline_days, {_DAYS_UNTIL_DATE}) ASC, id DESC",
}


async def categories(conn: Conn, guild_id: int) -> list[str]:
    return [
        r[0]
        for r in await conn.execute_fetchall(
            "SELECT DISTINCT category FROM jobs WHERE guild_id = ? AND status = 'open' AND category IS NOT NULL"
            " ORDER BY category",
            (guild_id,),
        )
    ]


async def insert_application(conn: Conn, **values: Any) -> Application | None:
    """The new application as stored, or None if this worker already applied to the job."""
    columns = ", ".join(values)
    marks = ", ".join("?" for _ in values)
    row = await fetch_one(
        conn,
        f"INSERT INTO applications ({columns}) VALUES ({marks}) ON CONFLICT (job_id, worker_id) DO NOTHING"
        " RETURNING *",
        values.values(),
    )
    return from_row(Application, row) if row else None


async def get_application(conn: Conn, application_id: int) -> Application | None:
    row = await fetch_one(conn, "SELECT * FROM applications WHERE id = ?", (application_id,))
    return from_row(Application, row) if row else None


async def application_of(conn: Conn, job_id: int, worker_id: int) -> Application | None:
    row = await fetch_one(conn, "SELECT * FROM applications WHERE job_id = ? AND worker_id = ?", (job_id, worker_id))
    return from_row(Application, row) if row else None


async def applications_for_job(conn: Conn, job_id: int) -> list[Application]:
    return [
        from_row(Application, r)
        for r in await conn.execute_fetchall("SELECT * FROM applications WHERE job_id = ? ORDER BY id", (job_id,))
    ]


async def set_application_status(conn: Conn, application_id: int, old: str, new: str, now: datetime,
                                 *, checked: bool = True) -> None:
    """Guarded update, queued with the transaction's next statement. ``checked``: the
    application's status was read in this transaction, so it must change exactly one row
    (checked there, like a contract's state changes); unchecked, a no-op is fine (the
    application may have moved on)."""
    await write_later(
        conn,
        "UPDATE applications SET status = ?, updated_at = ? WHERE id = ? AND status = ?",
        (new, to_iso(now), application_id, old),
        expect_one=checked,
    )


async def worker_applying(conn: Conn, guild_id: int, worker_id: int) -> tuple[str | None, int]:
    """(when the worker last applied, how many of their applications are open) in one query."""
    row = await fetch_one(
        conn,
        "SELECT MAX(created_at), COALESCE(SUM(CASE WHEN status IN ('pending', 'offered') THEN 1 ELSE 0 END), 0)"
        " FROM applications WHERE guild_id = ? AND worker_id = ?",
        (guild_id, worker_id),
    )
    assert row is not None
    return row[0], int(row[1])


async def suggest_jobs(conn: Conn, guild_id: int, user_id: int, text: str, *, purpose: str, limit: int) -> list[Job]:
    """Jobs for autocomplete, newest first (with ``close_any``, the user's own first):

    - ``apply``: open jobs of others the user has not applied to (any application blocks another);
    - ``own``: the user's open or filled jobs;
    - ``withdraw``: the jobs the user has a pending application to;
    - ``offer``: the user's open jobs with at least one pending application;
    - ``close_any`` (moderators): the user's open or filled jobs, and every open job of the guild;
    - otherwise (``view``): open jobs and the user's own.
    """
    like = f"%{text.strip().lower()}%"
    order = "id DESC"
    order_params: list[Any] = []
    if purpose == "apply":
        where = ("status = 'open' AND client_id <> ?"
                 " AND NOT EXISTS (SELECT 1 FROM applications a WHERE a.job_id = jobs.id AND a.worker_id = ?)")
        params: list[Any] = [user_id, user_id]
    elif purpose == "own":
        where, params = "client_id = ? AND status IN ('open', 'filled')", [user_id]
    elif purpose == "withdraw":
        where = ("EXISTS (SELECT 1 FROM applications a WHERE a.job_id = jobs.id AND a.worker_id = ?"
                 " AND a.status = 'pending')")
        params = [user_id]
    elif purpose == "offer":
        where = ("client_id = ? AND status = 'open'"
                 " AND EXISTS (SELECT 1 FROM applications a WHERE a.job_id = jobs.id AND a.status = 'pending')")
        params = [user_id]
    elif purpose == "close_any":
        where, params = "(status = 'open' OR (client_id = ? AND status = 'filled'))", [user_id]
        order = "CASE WHEN client_id = ? THEN 0 ELSE 1 END, id DESC"  # the user's own first
        order_params = [user_id]
    else:
        where, params = "(status = 'open' OR client_id = ?)", [user_id]
    return [
        from_row(Job, r)
        for r in await conn.execute_fetchall(
            f"SELECT * FROM jobs WHERE guild_id = ? AND {where}"
            f" AND (LOWER(title) LIKE ? OR CAST(id AS TEXT) LIKE ?) ORDER BY {order} LIMIT ?",
            (guild_id, *params, like, like, *order_params, limit),
        )
    ]


async def guilds_with_open_jobs(conn: Conn) -> list[int]:
    """The guilds that have an open job (the expiry sweep reads each one's policy)."""
    return [int(r[0]) for r in await conn.execute_fetchall("SELECT DISTINCT guild_id FROM jobs WHERE status = 'open'")]


async def open_jobs_since(conn: Conn, guild_id: int, before: datetime, limit: int) -> list[int]:
    """The guild's open jobs posted at or before ``before``, oldest first (index jobs_open_since)."""
    return [
        int(r[0])
        for r in await conn.execute_fetchall(
            "SELECT id FROM jobs WHERE guild_id = ? AND status = 'open' AND created_at <= ?"
            " ORDER BY created_at LIMIT ?",
            (guild_id, to_iso(before), limit),
        )
    ]
async def ids_in_status(conn: Conn, guild_id: int, *, table: str, status: str, limit: int) -> tuple[list[int], int]:
    """The first ``limit`` ids (oldest first) of the guild's jobs or applications in ``status``,
    and how many there are in all."""
    if table not in {"jobs", "applications"}:
        raise ValueError(table)
    where = f"FROM {table} WHERE guild_id = ? AND status = ?"
    total = await fetch_one(conn, f"SELECT COUNT(*) {where}", (guild_id, status))
    rows = await conn.execute_fetchall(f"SELECT id {where} ORDER BY id LIMIT ?", (guild_id, status, limit))
    return [int(row[0]) for row in rows], int(total[0]) if total else 0
