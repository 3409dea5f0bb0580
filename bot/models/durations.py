"""Durations written like ``90s``, ``15m``, ``2h``, ``3d``, ``1d12h``."""

from __future__ import annotations

import re
from datetime import timedelta

_PART = re.compile(r"(\d+)([wdhms])")
_WHOLE = re.compile(r"(?:\d+[wdhms])+")
_UNIT_SECONDS = {"w": 604800, "d": 86400, "h": 3600, "m": 60, "s": 1}
_ORDER = "wdhms"
MAX_SECONDS = 10 * 365 * 86400


class DurationError(ValueError):
    """The text is not a duration like ``90s``, ``15m``, ``2h``, ``3d``, ``1d12h``."""


def parse_duration(text: str) -> timedelta:
    """Parse ``1d12h`` into a timedelta; units in descending order, each at most once."""
    value = text.strip().lower().replace(" ", "")
    if not value or not _WHOLE.fullmatch(value):
        raise DurationError(text)
    seen: list[str] = []
    total = 0
    for number, unit in _PART.findall(value):
        if seen and _ORDER.index(unit) <= _ORDER.index(seen[-1]):
            raise DurationError(text)
        seen.append(unit)
        total += int(number) * _UNIT_SECONDS[unit]
    if total > MAX_SECONDS:
        raise DurationError(text)
    return timedelta(seconds=total)


def format_duration(value: timedelta) -> str:
    """The canonical short form: ``1d12h``, ``0s`` for zero."""
    seconds = int(value.total_seconds())
    if seconds == 0:
        return "0s"
    parts: list[str] = []
    for unit in "dhms":
        size = _UNIT_SECONDS[unit]
        count, seconds = divmod(seconds, size)
        if count:
            parts.append(f"{count}{unit}")
    return "".join(parts)
