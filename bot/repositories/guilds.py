"""SQL for a guild's setup and policies, and for the locale each user's DMs are written in."""

from __future__ import annotations

from bot.db import Conn, fetch_one
from bot.models.entities import Guild, from_row


async def get_guild(conn: Conn, guild_id: int) -> Guild | None:
    row = await fetch_one(conn, "SELECT * FROM guilds WHERE guild_id = ?", (guild_id,))
    return from_row(Guild, row) if row else None


async def currency_of(conn: Conn, guild_id: int) -> str | None:
    """The guild's currency; None if it was never set up."""
    row = await fetch_one(conn, "SELECT currency FROM guilds WHERE guild_id = ?", (guild_id,))
    return str(row["currency"]) if row else None


async def save_guild(conn: Conn, guild_id: int, *, jobs_channel_id: int, mod_channel_id: int,
                     moderator_role_id: int, contracts_channel_id: int | None, currency: str, locale: str,
                     now: str) -> None:
    """Create the guild's setup or replace it (``created_at`` stays the first one)."""
    await conn.execute(
        "INSERT INTO guilds (guild_id, jobs_channel_id, mod_channel_id, moderator_role_id,"
        " contracts_channel_id, currency, locale, created_at, updated_at)"
        " VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)"
        " ON CONFLICT (guild_id) DO UPDATE SET jobs_channel_id = excluded.jobs_channel_id,"
        " mod_channel_id = excluded.mod_channel_id, moderator_role_id = excluded.moderator_role_id,"
        " contracts_channel_id = excluded.contracts_channel_id, currency = excluded.currency,"
        " locale = excluded.locale, updated_at = excluded.updated_at",
        (
            guild_id,
            jobs_channel_id,
            mod_channel_id,
            moderator_role_id,
            contracts_channel_id,
            currency,
            locale,
            now,
            now,
        ),
    )


async def policy_overrides(conn: Conn, guild_id: int) -> dict[str, str]:
    """The policies set with /config set in this guild, by name."""
    rows = await conn.execute_fetchall("SELECT name, value FROM guild_policies WHERE guild_id = ?", (guild_id,))
    return {row["name"]: row["value"] for row in rows}


async def set_policy(conn: Conn, guild_id: int, name: str, value: str, actor_id: int, now: str) -> None:
    await conn.execute(
        "INSERT INTO guild_policies (guild_id, name, value, updated_by, updated_at) VALUES (?, ?, ?, ?, ?)"
        " ON CONFLICT (guild_id, name) DO UPDATE SET value = excluded.value,"
        " updated_by = excluded.updated_by, updated_at = excluded.updated_at",
        (guild_id, name, value, actor_id, now),
    )


async def set_user_locale(conn: Conn, user_id: int, locale: str, now: str) -> None:
    """Store the user's locale (no write when it is unchanged)."""
    await conn.execute(
        "INSERT INTO user_locales (user_id, locale, updated_at) VALUES (?, ?, ?)"
        " ON CONFLICT (user_id) DO UPDATE SET locale = excluded.locale, updated_at = excluded.updated_at"
        " WHERE user_locales.locale <> excluded.locale",
        (user_id, locale, now),
    )


async def user_locale(conn: Conn, user_id: int) -> str | None:
    row = await fetch_one(conn, "SELECT locale FROM user_locales WHERE user_id = ?", (user_id,))
    return str(row["locale"]) if row else None


async def categories(conn: Conn, guild_id: int) -> list[str]:
    """The job categories set with /config categories, in their order."""
    rows = await conn.execute_fetchall(
        "SELECT name FROM guild_categories WHERE guild_id = ? ORDER BY position", (guild_id,)
    )
    return [str(row["name"]) for row in rows]


async def set_categories(conn: Conn, guild_id: int, names: list[str]) -> None:
    """Replace the guild's list of job categories."""
    await conn.execute("DELETE FROM guild_categories WHERE guild_id = ?", (guild_id,))
    await conn.executemany(
        "INSERT INTO guild_categories (guild_id, position, name) VALUES (?, ?, ?)",
        [(guild_id, position, name) for position, name in enumerate(names)],
    )
async def claim_payout_digest(conn: Conn, guild_id: int, now: str, last_before: str) -> bool:
    """Take the guild's daily payout digest: True (once) if none was queued since ``last_before``.
    A guarded update, so two sweeps (or a sweep after a restart) never both send it."""
    cur = await conn.execute(
        "UPDATE guilds SET payout_digest_at = ? WHERE guild_id = ?"
        " AND (payout_digest_at IS NULL OR payout_digest_at <= ?)",
        (now, guild_id, last_before),
    )
    return cur.rowcount == 1


async def payout_digest_at(conn: Conn, guild_id: int) -> str | None:
    """When the guild's last payout digest was queued (ISO text), None if never."""
    row = await fetch_one(conn, "SELECT payout_digest_at FROM guilds WHERE guild_id = ?", (guild_id,))
    return str(row[0]) if row and row[0] is not None else None
