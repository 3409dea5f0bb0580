"""How long money has been owed: the earliest credit that later payouts did not cover (FIFO)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from bot.models.balances import owed_since

T0 = datetime(2026, 1, 1, tzinfo=UTC)


def at(days: int) -> datetime:
    return T0 + timedelta(days=days)


@pytest.mark.parametrize(
    ("entries", "since"),
    [
        ([], None),
        ([(100, at(0))], at(0)),
        ([(100, at(0)), (-100, at(1))], None),  # paid in full
        ([(100, at(0)), (-99, at(1))], at(0)),  # one unit of the first credit still owed
        ([(100, at(0)), (50, at(2)), (-100, at(3))], at(2)),  # the first credit paid: the second's age
        ([(100, at(0)), (50, at(2)), (-120, at(3))], at(2)),  # partly into the second
        ([(50, at(2)), (-100, at(3)), (100, at(0))], at(2)),  # order of the input does not matter
        ([(100, at(0)), (-100, at(1)), (30, at(5))], at(5)),  # owed again later: counted from then
        ([(-10, at(0))], None),  # nothing credited
    ],
)
def test_owed_since(entries: list[tuple[int, datetime]], since: datetime | None) -> None:
    assert owed_since(entries) == since
