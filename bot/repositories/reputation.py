"""SQL for ratings and the figures computed from the history."""

from __future__ import annotations

from bot.db import Conn, Row, fetch_one
from bot.models.entities import Rating, from_row


async def insert_rating(
    conn: Conn,
    *,
    contract_id: int,
    rater_id: int,
    ratee_id: int,
    ratee_role: str,
    stars: int,
    comment: str | None,
    created_at: str,
) -> bool:
    cur = await conn.execute(
        "INSERT INTO ratings (contract_id, rater_id, ratee_id, ratee_role, stars, comment, created_at)"
        " VALUES (?, ?, ?, ?, ?, ?, ?) ON CONFLICT (contract_id, rater_id) DO NOTHING",
        (contract_id, rater_id, ratee_id, ratee_role, stars, comment, created_at),
    )
    return cur.rowcount == 1


async def ratings_for_contract(conn: Conn, contract_id: int) -> list[Rating]:
    return [
        from_row(Rating, r)
        for r in await conn.execute_fetchall(
            "SELECT * FROM ratings WHERE contract_id = ? ORDER BY created_at", (contract_id,)
        )
    ]


async def ratings_received(conn: Conn, guild_id: int, user_id: int, role: str) -> list[Row]:
    """Ratings of ``user_id`` in ``role`` with what decides whether they are revealed yet."""
    return list(
        await conn.execute_fetchall(
            "SELECT r.stars, r.contract_id, c.closed_at,"
            " (SELECT COUNT(*) FROM ratings o WHERE o.contract_id = r.contract_id) AS both_count"
            " FROM ratings r JOIN contracts c ON c.id = r.contract_id"
            " WHERE c.guild_id = ? AND r.ratee_id = ? AND r.ratee_role = ?",
            (guild_id, user_id, role),
        )
    )


async def client_contract_rows(conn: Conn, guild_id: int, client_id: int) -> list[Row]:
    return list(
        await conn.execute_fetchall(
            "SELECT id, status, accepted_at, deposit_declared_at, closed_at,"
            # cancelled by the sweep because the client never funded it: the wait counts
            " EXISTS (SELECT 1 FROM events e WHERE e.contract_id = contracts.id"
            "         AND e.kind = 'contract.unfunded_expired') AS unfunded_expired"
            " FROM contracts WHERE guild_id = ? AND client_id = ?",
            (guild_id, client_id),
        )
    )


async def client_review_rows(conn: Conn, guild_id: int, client_id: int) -> list[Row]:
    return list(
        await conn.execute_fetchall(
            "SELECT d.created_at, d.reviewed_at FROM deliveries d JOIN contracts c ON c.id = d.contract_id"
            # a delivery a moderator settled was not reviewed by the client: its time is the case's
            " WHERE c.guild_id = ? AND c.client_id = ? AND (d.outcome IS NULL OR d.outcome <> 'settled')",
            (guild_id, client_id),
        )
    )


async def count_jobs(conn: Conn, guild_id: int, client_id: int) -> int:
    row = await fetch_one(conn, "SELECT COUNT(*) FROM jobs WHERE guild_id = ? AND client_id = ?", (guild_id, client_id))
    return int(row[0]) if row else 0


async def count_escalations(conn: Conn, guild_id: int, user_id: int) -> int:
    """Escalations against ``user_id`` as the client of the contract (an overdue delivery
    escalated against them as a worker is not a client's silence)."""
    row = await fetch_one(
        conn,
        "SELECT COUNT(*) FROM cases s JOIN contracts c ON c.id = s.contract_id"
        " WHERE s.guild_id = ? AND s.subject_id = ? AND s.kind = 'escalation' AND c.client_id = s.subject_id",
        (guild_id, user_id),
    )
    return int(row[0]) if row else 0


async def count_upheld_reports(conn: Conn, guild_id: int, user_id: int) -> int:
    """Reports about ``user_id`` that a moderator upheld."""
    row = await fetch_one(
        conn,
        "SELECT COUNT(*) FROM cases WHERE guild_id = ? AND subject_id = ? AND kind = 'report'"
        " AND resolution = 'uphold'",
        (guild_id, user_id),
    )
    return int(row[0]) if row else 0


async def worker_first_deliveries(conn: Conn, guild_id: int, worker_id: int) -> list[Row]:
    """Per settled contract of the worker: its status and whether the first delivery was on time."""
    return list(
        await conn.execute_fetchall(
            "SELECT c.id, c.status, c.due_at, c.closed_at,"
            " (SELECT e.data FROM events e WHERE e.contract_id = c.id AND e.kind = 'delivery.submitted'"
            "  ORDER BY e.id LIMIT 1) AS first_delivery"
            " FROM contracts c WHERE c.guild_id = ? AND c.worker_id = ?"
            " AND c.status IN ('completed', 'split', 'refunded')",
            (guild_id, worker_id),
        )
    )


async def count_reverts(conn: Conn, guild_id: int, user_id: int) -> int:
    """Amendments and revision requests by ``user_id`` as the client that returned to an
    earlier requirement (A → B → A): an earlier terms version or an earlier revision request."""
    row = await fetch_one(
        conn,
        "SELECT (SELECT COUNT(*) FROM amendments a JOIN contracts c ON c.id = a.contract_id"
        "        WHERE c.guild_id = ? AND a.proposed_by = c.client_id AND c.client_id = ?"
        "        AND (a.reverts_to IS NOT NULL OR a.reverts_to_revision IS NOT NULL))"
        # (c.client_id = ?: through the contracts_client index, not a scan of the guild)
        "     + (SELECT COUNT(*) FROM revision_requests r JOIN contracts c ON c.id = r.contract_id"
        "        WHERE c.guild_id = ? AND c.client_id = ? AND r.requested_by = c.client_id"
        "        AND (r.reverts_to IS NOT NULL OR r.reverts_to_revision IS NOT NULL))",
        (guild_id, user_id, guild_id, user_id),
    )
    return int(row[0]) if row else 0


async def ratings_with_comments(conn: Conn, guild_id: int, user_id: int, limit: int) -> list[Row]:
    """The newest ratings of ``user_id`` that carry a comment, with what decides their reveal."""
    return list(
        await conn.execute_fetchall(
            "SELECT r.contract_id, r.ratee_role, r.stars, r.comment, r.created_at, c.closed_at,"
            " (SELECT COUNT(*) FROM ratings o WHERE o.contract_id = r.contract_id) AS both_count"
            " FROM ratings r JOIN contracts c ON c.id = r.contract_id"
            " WHERE c.guild_id = ? AND r.ratee_id = ? AND r.comment IS NOT NULL"
            " ORDER BY r.created_at DESC LIMIT ?",
            (guild_id, user_id, limit),
        )
    )
