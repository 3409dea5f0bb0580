"""Aware-UTC time stored as ISO-8601 text."""

from __future__ import annotations

from datetime import UTC, date, datetime, time


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


def end_of_day(day: date) -> datetime:
    """A date deadline means the end of that day, UTC."""
    return datetime.combine(day, time(23, 59, 59), tzinfo=UTC)
