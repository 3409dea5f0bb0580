"""SQL for profiles (public) and payout details (private), and deleting both."""

from __future__ import annotations

from bot.db import Conn, fetch_one
from bot.models.entities import Profile, from_row


async def get_profile(conn: Conn, guild_id: int, user_id: int) -> Profile | None:
    row = await fetch_one(conn, "SELECT * FROM profiles WHERE guild_id = ? AND user_id = ?", (guild_id, user_id))
    return from_row(Profile, row) if row else None


async def save_profile(conn: Conn, guild_id: int, user_id: int, *, display_name: str | None, headline: str | None,
                       bio: str | None, skills: str | None, portfolio_url: str | None, now: str) -> None:
    """Create the profile or replace its public fields."""
    await conn.execute(
        "INSERT INTO profiles (guild_id, user_id, display_name, headline, bio, skills, portfolio_url,"
        " created_at, updated_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)"
        " ON CONFLICT (guild_id, user_id) DO UPDATE SET display_name = excluded.display_name,"
        " headline = excluded.headline, bio = excluded.bio, skills = excluded.skills,"
        " portfolio_url = excluded.portfolio_url, updated_at = excluded.updated_at",
        (guild_id, user_id, display_name, headline, bio, skills, portfolio_url, now, now),
    )


async def save_payout_details(conn: Conn, guild_id: int, user_id: int, details: str, now: str) -> None:
    await conn.execute(
        "INSERT INTO payout_details (guild_id, user_id, details, updated_at) VALUES (?, ?, ?, ?)"
        " ON CONFLICT (guild_id, user_id) DO UPDATE SET details = excluded.details,"
        " updated_at = excluded.updated_at",
        (guild_id, user_id, details, now),
    )


async def payout_details(conn: Conn, guild_id: int, user_id: int) -> str | None:
    row = await fetch_one(
        conn, "SELECT details FROM payout_details WHERE guild_id = ? AND user_id = ?", (guild_id, user_id)
    )
    return str(row["details"]) if row else None


async def delete_personal_data(conn: Conn, guild_id: int, user_id: int) -> bool:
    """Delete the user's profile and payout details in this guild; False if there were none."""
    a = await conn.execute("DELETE FROM profiles WHERE guild_id = ? AND user_id = ?", (guild_id, user_id))
    b = await conn.execute(
        "DELETE FROM payout_details WHERE guild_id = ? AND user_id = ?", (guild_id, user_id)
    )
    return bool(a.rowcount or b.rowcount)


async def save_timezone(conn: Conn, guild_id: int, user_id: int, zone: str, now: str) -> None:
    """Create the profile or set its time zone (the public fields stay as they are)."""
    await conn.execute(
        "INSERT INTO profiles (guild_id, user_id, timezone, created_at, updated_at) VALUES (?, ?, ?, ?, ?)"
        " ON CONFLICT (guild_id, user_id) DO UPDATE SET timezone = excluded.timezone, updated_at = excluded.updated_at",
        (guild_id, user_id, zone, now, now),
    )
