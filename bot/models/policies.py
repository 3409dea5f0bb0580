"""The per-guild policies: names, kinds and built-in defaults (README "Configuration";
each has an environment default in .env.example)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta
from enum import StrEnum

from bot.models.durations import DurationError, format_duration, parse_duration


class PolicyKind(StrEnum):
    DURATION = "duration"
    INTEGER = "integer"
    PERCENT = "percent"


@dataclass(frozen=True, slots=True)
class PolicySpec:
    name: str
    kind: PolicyKind
    default: str
    minimum: int = 0
    maximum: int | None = None

    @property
    def env_name(self) -> str:
        return self.name.upper()


def _d(name: str, default: str) -> PolicySpec:
    return PolicySpec(name, PolicyKind.DURATION, default)


POLICY_SPECS: dict[str, PolicySpec] = {
    spec.name: spec
    for spec in (
        _d("escrow_reminder_after", "1d"),
        _d("escrow_escalate_after", "3d"),
        _d("review_reminder_after", "2d"),
        _d("review_auto_approve_after", "7d"),
        _d("reply_reminder_after", "1d"),
        _d("reply_escalate_after", "3d"),
        _d("offer_reminder_after", "1d"),
        _d("offer_expires_after", "3d"),
        _d("deadline_reminder_before", "1d"),
        _d("overdue_escalate_after", "2d"),
        _d("deposit_confirm_reminder_after", "1d"),
        _d("reminder_repeat_every", "1d"),
        _d("rating_reveal_after", "7d"),
        _d("post_cooldown", "1m"),
        _d("apply_cooldown", "30s"),
        _d("report_cooldown", "10m"),
        _d("dispute_cooldown", "10m"),
        _d("case_reminder_after", "1d"),
        _d("payout_reminder_after", "2d"),
        _d("unfunded_expires_after", "7d"),
        _d("job_expires_after", "30d"),
        PolicySpec("fee_percent", PolicyKind.PERCENT, "10", 0, 100),
        PolicySpec("max_budget", PolicyKind.INTEGER, "10000000", 1, 10**12),
        PolicySpec("max_open_jobs", PolicyKind.INTEGER, "20", 1, 10_000),
        PolicySpec("max_open_applications", PolicyKind.INTEGER, "50", 1, 10_000),
    )
}

# Durations that must never be zero: a zero repeat would fire on every tick.
NON_ZERO = frozenset({"reminder_repeat_every"})


class PolicyValueError(ValueError):
    def __init__(self, name: str, value: str) -> None:
        super().__init__(f"{name}={value!r}")
        self.name = name
        self.value = value


def normalize(name: str, raw: str) -> str:
    """Validate ``raw`` for policy ``name`` and return its canonical text."""
    spec = POLICY_SPECS[name]
    text = raw.strip()
    if spec.kind is PolicyKind.DURATION:
        try:
            value = parse_duration(text)
        except DurationError:
            raise PolicyValueError(name, raw) from None
        if name in NON_ZERO and not value:
            raise PolicyValueError(name, raw)
        return format_duration(value)
    if not (text.isascii() and text.isdigit()):
        raise PolicyValueError(name, raw)
    number = int(text)
    if number < spec.minimum or (spec.maximum is not None and number > spec.maximum):
        raise PolicyValueError(name, raw)
    return str(number)


@dataclass(frozen=True, slots=True)
class Policies:
    """Resolved policy values for one guild."""

    values: dict[str, str]

    def duration(self, name: str) -> timedelta:
        assert POLICY_SPECS[name].kind is PolicyKind.DURATION
        return parse_duration(self.values[name])

    def integer(self, name: str) -> int:
        assert POLICY_SPECS[name].kind is not PolicyKind.DURATION
        return int(self.values[name])
