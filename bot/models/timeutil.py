"""Aware-UTC time stored as ISO-8601 text."""

from __future__ import annotations

import functools
from datetime import UTC, date, datetime, time
from zoneinfo import ZoneInfo, available_timezones


def to_iso(value: datetime) -> str:
    if value.tzinfo is None:
        raise ValueError("naive datetime")
    return value.astimezone(UTC).isoformat(timespec="seconds")


def from_iso(value: str) -> datetime:
    parsed = datetime.fromisoformat(value)
    if parsed.tzinfo is None:
        raise ValueError(f"naive timestamp in storage: {value}")
    return parsed.astimezone(UTC)


def opt_from_iso(value: str | None) -> datetime | None:
    return None if value is None else from_iso(value)


def end_of_day(day: date, zone: str | None = None) -> datetime:
    """A date deadline means the end of that day in the zone of whoever typed it (UTC when
    none is known), as an aware UTC time."""
    tz = ZoneInfo(zone) if zone else UTC
    return datetime.combine(day, time(23, 59, 59), tzinfo=tz).astimezone(UTC)


def default_zone(guild_locale: str | None) -> str:
    """The time zone of a user who has not chosen one: Japan for a Japanese server, else UTC."""
    return "Asia/Tokyo" if (guild_locale or "").startswith("ja") else "UTC"


def local_today(now: datetime, zone: str) -> date:
    """Today's date where the user lives: "tomorrow" typed at 01:00 in Tokyo is Tokyo's."""
    return now.astimezone(ZoneInfo(zone)).date()


@functools.cache
def known_zones() -> tuple[str, ...]:
    """Every IANA time zone name zoneinfo knows, sorted (read once: it scans the database)."""
    return tuple(sorted(available_timezones()))


def canonical_zone(name: str) -> str | None:
    """``name`` as zoneinfo spells it (case-insensitive: ``asia/tokyo``), None if unknown."""
    wanted = name.strip().casefold()
    return next((zone for zone in known_zones() if zone.casefold() == wanted), None)
