"""Validation and transition helpers shared by the services."""

from __future__ import annotations

from datetime import date, datetime, timedelta
from decimal import Decimal

from bot.errors import CooldownActive, InvalidInput, NotAllowed, WrongState
from bot.models.money import MoneyError, currency, to_minor
from bot.models.states import Role, Transition, TransitionRefused, next_state
from bot.models.terms import Deadline, DeadlineError
from bot.models.text import is_visible, safe_text
from bot.models.timeutil import from_iso, to_iso

# Discord's limits for a modal paragraph (4000) and our own tighter ones.
LIMITS = {
    "title": 100,
    "description": 4000,
    "proposal": 2000,
    "scope": 4000,
    "reason": 1000,
    "comment": 1000,
    "category": 50,
    "reference": 200,
    "note": 1000,
    "bio": 1000,
    "headline": 100,
    "skills": 500,
    "display_name": 80,
    "portfolio_url": 300,
    "payout": 1000,
}

# One-line fields: a newline or tab in them becomes a space; the others keep their lines.
SINGLE_LINE = frozenset({"title", "category", "reference", "headline", "display_name", "portfolio_url"})

Amount = Decimal | float | int | str


def clean_text(field: str, value: str | None, *, required: bool = True) -> str | None:
    """Every user text input goes through here before it is stored or reposted: control and
    bidi-override characters removed, masked links spelled out (bot/models/text.py), trimmed;
    refuse text that shows nothing, empty (when required) and over-long text, each with a
    message naming the field."""
    raw = (value or "").strip()
    text = safe_text(raw, multiline=field not in SINGLE_LINE)
    if text and not is_visible(text):
        raise InvalidInput("error.abuse.invisible", field=field)
    if not text:
        if raw:
            raise InvalidInput("error.abuse.invisible", field=field)
        if required:
            raise InvalidInput("error.text.required", field=field)
        return None
    limit = LIMITS[field]
    if len(text) > limit:
        raise InvalidInput("error.text.too_long", field=field, limit=limit, length=len(text))
    return text


def parse_amount(field: str, amount: Amount, code: str, *, max_major: int) -> int:
    """Major units as typed (12.50) to minor units; positive, within the guild maximum."""
    try:
        minor = to_minor(amount, code)
    except MoneyError:
        raise InvalidInput(
            "error.money.decimals", field=field, currency=code, decimals=currency(code).decimals
        ) from None
    if minor <= 0:
        raise InvalidInput("error.money.not_positive", field=field)
    max_minor = to_minor(max_major, code)
    if minor > max_minor:
        raise InvalidInput("error.money.too_large", field=field, max_amount=max_minor, currency=code)
    return minor


def parse_deadline(text: str, today: date, tz: str | None = None) -> Deadline:
    """``7d`` (days counted from funding) or a future ``YYYY-MM-DD`` (``today`` and the end of
    that day in the typist's zone ``tz``)."""
    try:
        return Deadline.parse(text, today=today, tz=tz)
    except DeadlineError:
        raise InvalidInput("error.deadline.invalid", value=text) from None


def check_cooldown(last: str | None, cooldown: timedelta, now: datetime) -> None:
    if last is None or not cooldown:
        return
    retry_at = from_iso(last) + cooldown
    if retry_at > now:
        raise CooldownActive("error.cooldown", retry_at=to_iso(retry_at))


def transition(
    table: dict[tuple[str, str], Transition] | dict,  # type: ignore[type-arg]
    resource: str,
    state: str,
    action: str,
    role: Role,
) -> str:
    """The next state, or a MarketError saying why not (wrong state vs. not your role)."""
    try:
        return next_state(table, state, action, role)  # type: ignore[arg-type]
    except TransitionRefused as refused:
        if refused.wrong_role:
            raise NotAllowed(f"error.{resource}.role", action=action, status=state) from None
        raise WrongState(f"error.{resource}.state", status=state, action=action) from None
