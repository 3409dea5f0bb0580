"""User-facing errors: each carries a message key and its arguments, never a bare string.

The command tree's ``on_error`` renders them as an ephemeral message in the user's locale.
"""

from __future__ import annotations

from typing import Any


class MarketError(Exception):
    """A refusal the user can act on. ``key`` names a message in every catalogue."""

    default_key = "error.generic"

    def __init__(self, key: str | None = None, /, **args: Any) -> None:
        self.key = key or self.default_key
        self.args_map: dict[str, Any] = args
        super().__init__(self.key, args)

    def __repr__(self) -> str:
        return f"{type(self).__name__}({self.key!r}, {self.args_map!r})"


class NotFound(MarketError):
    """The job, contract, case or user does not exist here (or is not visible to you)."""

    default_key = "error.not_found"


class NotAllowed(MarketError):
    """You are not a party / not the client / not a moderator for this."""

    default_key = "error.not_allowed"


class WrongState(MarketError):
    """The action is not possible from the current state (a second click, a closed job)."""

    default_key = "error.wrong_state"


class InvalidInput(MarketError):
    """A value out of range, malformed, too long, in the past."""

    default_key = "error.invalid_input"


class CooldownActive(MarketError):
    """Too soon after the previous one; ``retry_at`` says when."""

    default_key = "error.cooldown"


class LimitReached(MarketError):
    """A cap such as open jobs or open applications per user."""

    default_key = "error.limit"


class NotConfigured(MarketError):
    """The guild has not run /setup yet."""

    default_key = "error.not_configured"
