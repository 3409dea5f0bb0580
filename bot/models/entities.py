"""Rows as frozen dataclasses. Columns ending in ``_at`` or ``_since`` are aware UTC datetimes."""

from __future__ import annotations

import dataclasses
import functools
import json
import types
import typing
from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum
from typing import Any, TypeVar

from bot.models.states import ApplicationStatus, ContractStatus, JobStatus
from bot.models.terms import Deadline
from bot.models.timeutil import from_iso

T = TypeVar("T")


def _enum_of(hint: Any) -> type[StrEnum] | None:
    """The StrEnum a field is annotated with (also inside ``X | None``), if any."""
    options = typing.get_args(hint) if isinstance(hint, types.UnionType) else (hint,)
    for option in options:
        if isinstance(option, type) and issubclass(option, StrEnum):
            return option
    return None


@functools.cache
def _columns(cls: type) -> tuple[tuple[str, bool, type[StrEnum] | None], ...]:
    """``cls``'s field names, each with whether it holds a time (``_at`` / ``_since``) and the
    StrEnum its annotation names, if any."""
    hints = typing.get_type_hints(cls)
    return tuple((f.name, f.name.endswith(("_at", "_since")), _enum_of(hints[f.name]))
                 for f in dataclasses.fields(cls))


def from_row(cls: type[T], row: Any) -> T:
    """Build ``cls`` from a row whose column names match its fields. Times become aware
    datetimes and StrEnum-typed fields their enum, so a field holds what its annotation says."""
    values: dict[str, Any] = {}
    for name, is_time, enum in _columns(cls):  # type: ignore[arg-type]
        value = row[name]
        if is_time and value.__class__ is str:
            value = from_iso(value)
        elif enum is not None and value is not None:
            value = enum(value)
        values[name] = value
    return cls(**values)


@dataclass(frozen=True, slots=True)
class Guild:
    guild_id: int
    jobs_channel_id: int
    mod_channel_id: int
    moderator_role_id: int
    contracts_channel_id: int | None
    currency: str
    locale: str


@dataclass(frozen=True, slots=True)
class Profile:
    guild_id: int
    user_id: int
    display_name: str | None
    headline: str | None
    bio: str | None
    skills: str | None
    portfolio_url: str | None
    created_at: datetime
    updated_at: datetime
    timezone: str | None = None


@dataclass(frozen=True, slots=True)
class Job:
    id: int
    guild_id: int
    client_id: int
    title: str
    description: str
    category: str | None
    budget: int
    currency: str
    deadline_days: int | None
    deadline_date: str | None
    positions: int
    filled: int
    status: JobStatus
    created_at: datetime
    closed_at: datetime | None
    closed_by: int | None
    board_channel_id: int | None
    board_message_id: int | None
    deadline_tz: str | None = None

    @property
    def deadline(self) -> Deadline:
        return Deadline.from_columns(self.deadline_days, self.deadline_date, self.deadline_tz)


@dataclass(frozen=True, slots=True)
class Application:
    id: int
    job_id: int
    guild_id: int
    worker_id: int
    proposal: str
    price: int
    days: int | None
    status: ApplicationStatus
    created_at: datetime
    updated_at: datetime


@dataclass(frozen=True, slots=True)
class Contract:
    id: int
    guild_id: int
    job_id: int
    application_id: int | None
    client_id: int
    worker_id: int
    status: ContractStatus
    currency: str
    terms_version: int
    clock_at: datetime
    timer_round: int
    timer_due_at: datetime | None
    offered_at: datetime
    accepted_at: datetime | None
    deposit_declared_at: datetime | None
    funded_at: datetime | None
    due_at: datetime | None
    delivered_at: datetime | None
    closed_at: datetime | None
    awaiting_reply_since: datetime | None
    topup_due: int
    status_before_dispute: str | None
    thread_id: int | None
    terms_message_id: int | None
    # the delivery deadline and review clock are stopped since (a case is open / a reply awaited)
    paused_at: datetime | None = None
    pause_reason: str | None = None
    resumed_at: datetime | None = None

    def party_role(self, user_id: int) -> str | None:
        if user_id == self.client_id:
            return "client"
        if user_id == self.worker_id:
            return "worker"
        return None

    def other_party(self, user_id: int) -> int:
        return self.worker_id if user_id == self.client_id else self.client_id


@dataclass(frozen=True, slots=True)
class Terms:
    contract_id: int
    version: int
    scope: str
    price: int
    deadline_days: int | None
    deadline_date: str | None
    revisions_included: int
    fee_percent: int
    reverts_to: int | None
    created_by: int
    reason: str | None
    created_at: datetime
    # the revision request whose text this scope returns to (A -> B -> A), if not a version
    reverts_to_revision: int | None = None
    deadline_tz: str | None = None

    @property
    def deadline(self) -> Deadline:
        return Deadline.from_columns(self.deadline_days, self.deadline_date, self.deadline_tz)


@dataclass(frozen=True, slots=True)
class Amendment:
    id: int
    contract_id: int
    proposed_by: int
    base_version: int
    scope: str | None
    price: int | None
    deadline_days: int | None
    deadline_date: str | None
    reason: str
    reverts_to: int | None
    status: str
    created_at: datetime
    decided_at: datetime | None
    decided_by: int | None
    new_version: int | None
    reverts_to_revision: int | None = None
    deadline_tz: str | None = None


@dataclass(frozen=True, slots=True)
class ExtensionRequest:
    id: int
    contract_id: int
    requested_by: int
    base_version: int
    days: int
    reason: str
    status: str
    created_at: datetime
    decided_at: datetime | None
    decided_by: int | None
    new_version: int | None


@dataclass(frozen=True, slots=True)
class Deposit:
    id: int
    contract_id: int
    kind: str
    amount: int
    provider: str
    reference: str | None
    status: str
    declared_by: int
    declared_at: datetime
    confirmed_by: int | None
    confirmed_at: datetime | None


@dataclass(frozen=True, slots=True)
class DeliveryFile:
    delivery_id: int
    position: int
    filename: str
    sha256: str
    size: int
    content_type: str | None


@dataclass(frozen=True, slots=True)
class Delivery:
    id: int
    contract_id: int
    worker_id: int
    terms_version: int
    note: str | None
    created_at: datetime
    reviewed_at: datetime | None
    outcome: str | None


@dataclass(frozen=True, slots=True)
class RevisionRequest:
    id: int
    contract_id: int
    delivery_id: int
    requested_by: int
    reason: str
    terms_version: int
    included: int
    reverts_to: int | None
    status: str
    created_at: datetime
    decided_at: datetime | None
    # the amendment proposed when the worker answered that it is outside the agreed scope
    amendment_id: int | None = None
    reverts_to_revision: int | None = None


@dataclass(frozen=True, slots=True)
class Rating:
    contract_id: int
    rater_id: int
    ratee_id: int
    ratee_role: str
    stars: int
    comment: str | None
    created_at: datetime


@dataclass(frozen=True, slots=True)
class Case:
    id: int
    guild_id: int
    contract_id: int | None
    kind: str
    reason_kind: str
    opened_by: int | None
    subject_id: int | None
    reason: str | None
    status: str
    resolution: str | None
    resolution_note: str | None
    resolved_by: int | None
    resolved_at: datetime | None
    mod_message_id: int | None
    created_at: datetime
    acted_at: datetime | None = None
    linked_contract_id: int | None = None  # a report's contract (reports have no contract_id)


@dataclass(frozen=True, slots=True)
class Suspension:
    """A moderator stopped ``user_id`` posting jobs and applying until ``ends_at``."""

    id: int
    guild_id: int
    user_id: int
    suspended_by: int
    reason: str
    created_at: datetime
    ends_at: datetime
    lifted_by: int | None
    lifted_at: datetime | None


@dataclass(frozen=True, slots=True)
class Event:
    id: int
    guild_id: int
    contract_id: int | None
    job_id: int | None
    case_id: int | None
    actor_id: int | None
    kind: str
    data: str
    created_at: datetime

    @property
    def payload(self) -> dict[str, Any]:
        loaded: dict[str, Any] = json.loads(self.data)
        return loaded


@dataclass(frozen=True, slots=True)
class OutboxItem:
    id: int
    guild_id: int
    target: str
    recipient_id: int | None
    contract_id: int | None
    job_id: int | None
    case_id: int | None
    message_key: str
    args: str
    buttons: str
    dedupe_key: str | None
    status: str
    attempts: int
    next_attempt_at: datetime
    last_error: str | None
    created_at: datetime
    sent_at: datetime | None
    message_id: int | None
    # a Discord snowflake before the first send attempt (None: never attempted), see
    # migrations/0005_outbox_once.sql
    attempt_after_id: int | None = None

    @property
    def arguments(self) -> dict[str, Any]:
        loaded: dict[str, Any] = json.loads(self.args)
        return loaded

    @property
    def button_list(self) -> list[str]:
        loaded: list[str] = json.loads(self.buttons)
        return loaded
