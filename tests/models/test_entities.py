"""Rows to models (bot/models/entities.py): every field holds what its annotation says."""

from __future__ import annotations

import dataclasses
import typing
from datetime import UTC, datetime
from enum import StrEnum
from typing import Any

import pytest

from bot.models import entities
from bot.models.entities import Application, Case, Contract, Job, from_row
from bot.models.states import ApplicationStatus, ContractStatus, JobStatus


def _row(cls: type, **values: Any) -> dict[str, Any]:
    return {f.name: None for f in dataclasses.fields(cls)} | values


@pytest.mark.parametrize(
    ("cls", "stored", "status"),
    [
        (Contract, "delivered", ContractStatus.DELIVERED),
        (Contract, "awaiting_funding", ContractStatus.AWAITING_FUNDING),
        (Job, "filled", JobStatus.FILLED),
        (Application, "hired", ApplicationStatus.HIRED),
    ],
)
def test_enum_columns_become_their_enum(cls: type, stored: str, status: StrEnum) -> None:
    value = from_row(cls, _row(cls, status=stored)).status
    assert value is status
    assert value == stored and f"{value}" == stored and str(value) == stored


def test_str_columns_stay_str_and_times_become_aware() -> None:
    case = from_row(Case, _row(Case, status="open", created_at="2026-03-01T12:00:00+00:00"))
    assert case.status.__class__ is str
    assert case.created_at == datetime(2026, 3, 1, 12, tzinfo=UTC)


def test_a_status_outside_its_enum_is_refused() -> None:
    with pytest.raises(ValueError, match="bogus"):
        from_row(Contract, _row(Contract, status="bogus"))


def test_the_enum_fields_are_the_ones_tested_above() -> None:
    enum_fields = {(cls.__name__, name) for cls in vars(entities).values()
                   if isinstance(cls, type) and dataclasses.is_dataclass(cls)
                   for name, hint in typing.get_type_hints(cls).items()
                   if isinstance(hint, type) and issubclass(hint, StrEnum)}
    assert enum_fields == {("Contract", "status"), ("Job", "status"), ("Application", "status")}
