"""The contract thread's messages kept as evidence (RECORD_THREAD_MESSAGES): rows and what the
bot hands the service. Pure: no I/O."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime

# Why an attachment has no sha256 (thread_message_files.note).
TOO_LARGE = "too_large"
UNAVAILABLE = "unavailable"


@dataclass(frozen=True, slots=True)
class ThreadMessage:
    message_id: int
    contract_id: int
    guild_id: int
    thread_id: int
    author_id: int
    content: str | None  # the original text; None once erased at the author's request
    created_at: datetime
    deleted_at: datetime | None
    erased_at: datetime | None


@dataclass(frozen=True, slots=True)
class MessageEdit:
    id: int
    message_id: int
    content: str | None  # the text after this edit; None once erased
    edited_at: datetime


@dataclass(frozen=True, slots=True)
class MessageFile:
    message_id: int
    position: int
    filename: str | None  # None once erased
    size: int
    sha256: str | None
    note: str | None  # TOO_LARGE or UNAVAILABLE when sha256 is None


@dataclass(frozen=True, slots=True)
class IncomingAttachment:
    """An attachment as the bot read it: ``data`` is None when it was not downloaded
    (``problem`` says why)."""

    filename: str
    size: int
    data: bytes | None
    problem: str | None = None


@dataclass(frozen=True, slots=True)
class LoggedMessage:
    """One recorded message with its edits (oldest first) and its attachments."""

    message: ThreadMessage
    edits: list[MessageEdit] = field(default_factory=list)
    files: list[MessageFile] = field(default_factory=list)
