"""Contract terms and delivery deadlines."""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime, timedelta

from bot.models.timeutil import end_of_day

MAX_DEADLINE_DAYS = 365
DEFAULT_REVISIONS = 2
MAX_REVISIONS = 20

_DAYS = re.compile(r"^(\d{1,4})\s*d?$")
_WEEKS = re.compile(r"^(\d{1,3})\s*w$")


class DeadlineError(ValueError):
    """Not a number of days (``7d``) or a future date (``YYYY-MM-DD``)."""


@dataclass(frozen=True, slots=True)
class Deadline:
    """Either ``days`` counted from funding, or a calendar ``on`` date (moved by the funding
    delay) meaning the end of that day in the time zone ``tz`` (IANA name; None: UTC)."""

    days: int | None = None
    on: date | None = None
    tz: str | None = None

    def __post_init__(self) -> None:
        if (self.days is None) == (self.on is None):
            raise DeadlineError("exactly one of days / on")

    @classmethod
    def parse(cls, text: str, *, today: date, tz: str | None = None) -> Deadline:
        value = text.strip().lower()
        match = _DAYS.match(value) or _WEEKS.match(value)
        if match:
            days = int(match.group(1)) * (7 if value.endswith("w") else 1)
            if not 1 <= days <= MAX_DEADLINE_DAYS:
                raise DeadlineError(text)
            return cls(days=days)
        try:
            on = date.fromisoformat(value)
        except ValueError:
            raise DeadlineError(text) from None
        if on <= today or (on - today).days > MAX_DEADLINE_DAYS:
            raise DeadlineError(text)
        return cls(on=on, tz=tz)

    @classmethod
    def from_columns(cls, days: int | None, on: str | None, tz: str | None = None) -> Deadline:
        return cls(days=days, on=date.fromisoformat(on) if on else None, tz=tz if on else None)

    def columns(self) -> tuple[int | None, str | None]:
        return self.days, self.on.isoformat() if self.on else None

    def text(self) -> str:
        return f"{self.days}d" if self.days is not None else self.on.isoformat()  # type: ignore[union-attr]

    def due_at(self, *, accepted_at: datetime, funded_at: datetime, shift: bool = True) -> datetime:
        """The delivery clock starts at funding: a date moves by the funding delay (``shift``;
        not for a date agreed once the contract was funded, which is taken as given)."""
        if self.days is not None:
            return funded_at + timedelta(days=self.days)
        assert self.on is not None
        delay = max(funded_at - accepted_at, timedelta(0)) if shift else timedelta(0)
        return end_of_day(self.on, self.tz) + delay


def normalize_scope(text: str) -> str:
    """A requirement as compared for reverts (A → B → A): a re-typed A must still count as A,
    so width and compatibility forms (NFKC: full-width ``ＡＢＣ``, half-width kana), case,
    punctuation (``.,!?`` and Japanese ``。、「」・！``) and runs of whitespace make no difference."""
    folded = unicodedata.normalize("NFKC", unicodedata.normalize("NFKC", text).casefold())
    kept = "".join(ch for ch in folded if not unicodedata.category(ch).startswith("P"))
    return " ".join(kept.split())


@dataclass(frozen=True, slots=True)
class Requirement:
    """One statement of what the work must be: a terms version's scope (``version``) or a
    revision request's text (``revision_id``), in the order they were made."""

    text: str
    version: int | None = None
    revision_id: int | None = None


def find_revert(text: str, timeline: Sequence[Requirement], *, besides: Sequence[str] = ()) -> Requirement | None:
    """The earlier requirement that ``text`` returns to (A → B → A), newest first, or None.

    Saying again what the latest requirement says is no revert (a revision asked again because
    it was not done, an amendment that writes down the request it came from), and neither is
    anything equal to one of ``besides`` (an amendment's current terms)."""
    wanted = normalize_scope(text)
    if not timeline or any(normalize_scope(other) == wanted for other in (timeline[-1].text, *besides)):
        return None
    for earlier in reversed(timeline[:-1]):
        if normalize_scope(earlier.text) == wanted:
            return earlier
    return None
