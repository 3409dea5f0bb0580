"""The one error type of the admin commands."""

from __future__ import annotations


class OpsError(Exception):
    """An admin command cannot proceed; the message is one line, printed as ``error: ...``."""
