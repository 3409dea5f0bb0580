from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

import pytest

from bot.models.terms import (
    MAX_DEADLINE_DAYS,
    Deadline,
    DeadlineError,
    Requirement,
    find_revert,
    normalize_scope,
)

TODAY = date(2026, 1, 5)


@pytest.mark.parametrize(
    ("text", "days"),
    [("7d", 7), ("7", 7), (" 14D ", 14), ("1d", 1), ("2w", 14), ("1W", 7), (f"{MAX_DEADLINE_DAYS}d", 365)],
)
def test_parse_days_and_weeks(text: str, days: int) -> None:
    assert Deadline.parse(text, today=TODAY) == Deadline(days=days)


@pytest.mark.parametrize(("text", "on"), [("2026-01-06", date(2026, 1, 6)), ("2026-03-01", date(2026, 3, 1))])
def test_parse_future_dates(text: str, on: date) -> None:
    deadline = Deadline.parse(text, today=TODAY)
    assert deadline == Deadline(on=on)
    assert deadline.text() == text


@pytest.mark.parametrize(
    "text",
    [
        "0d",
        "0",
        "366d",
        "53w",
        "2026-01-05",  # today
        "2026-01-04",  # past
        "2025-12-31",
        "2027-01-06",  # more than a year ahead
        "2026-02-30",
        "next week",
        "",
        "-3d",
        "3 days",
    ],
)
def test_parse_refuses(text: str) -> None:
    with pytest.raises(DeadlineError):
        Deadline.parse(text, today=TODAY)


def test_exactly_one_of_days_or_date() -> None:
    with pytest.raises(DeadlineError):
        Deadline()
    with pytest.raises(DeadlineError):
        Deadline(days=3, on=TODAY)


def test_columns_round_trip() -> None:
    for deadline in (Deadline(days=7), Deadline(on=date(2026, 2, 1))):
        assert Deadline.from_columns(*deadline.columns()) == deadline
    assert Deadline(days=7).columns() == (7, None)
    assert Deadline(on=date(2026, 2, 1)).columns() == (None, "2026-02-01")


ACCEPTED = datetime(2026, 1, 5, 9, 0, tzinfo=UTC)


def test_days_count_from_funding() -> None:
    funded = ACCEPTED + timedelta(days=2, hours=3)
    assert Deadline(days=7).due_at(accepted_at=ACCEPTED, funded_at=funded) == funded + timedelta(days=7)


def test_date_is_the_end_of_that_day_when_funded_at_once() -> None:
    due = Deadline(on=date(2026, 1, 20)).due_at(accepted_at=ACCEPTED, funded_at=ACCEPTED)
    assert due == datetime(2026, 1, 20, 23, 59, 59, tzinfo=UTC)


def test_date_moves_by_the_funding_delay() -> None:
    delay = timedelta(days=3, hours=5)
    due = Deadline(on=date(2026, 1, 20)).due_at(accepted_at=ACCEPTED, funded_at=ACCEPTED + delay)
    assert due == datetime(2026, 1, 20, 23, 59, 59, tzinfo=UTC) + delay


def test_funding_before_acceptance_does_not_shorten_a_date() -> None:
    due = Deadline(on=date(2026, 1, 20)).due_at(accepted_at=ACCEPTED, funded_at=ACCEPTED - timedelta(hours=1))
    assert due == datetime(2026, 1, 20, 23, 59, 59, tzinfo=UTC)


def test_normalize_scope_ignores_whitespace_and_case() -> None:
    assert normalize_scope("  Logo  in\nRED ") == normalize_scope("logo in red")
    assert normalize_scope("logo in red") != normalize_scope("logo in blue")


@pytest.mark.parametrize(
    ("typed", "normalized"),
    [
        ("Logo in red", "logo in red"),
        ("  Logo\t in\n\nRED.  ", "logo in red"),
        ("Logo, in red!", "logo in red"),
        ("\"Logo\" (in red)?", "logo in red"),
        ("ＬＯＧＯ　ｉｎ　ＲＥＤ", "logo in red"),  # full-width letters and the ideographic space
        ("Straße", "strasse"),  # case-folded, not only lower-cased
        ("ロゴを赤に。", "ロゴを赤に"),
        ("「ロゴ」を、赤に！", "ロゴを赤に"),
        ("ﾛｺﾞを赤に", "ロゴを赤に"),  # half-width kana
        ("ロゴ・赤　（濃いめ）", "ロゴ赤 濃いめ"),
        ("", ""),
    ],
)
def test_normalize_scope_table(typed: str, normalized: str) -> None:
    assert normalize_scope(typed) == normalized


@pytest.mark.parametrize(
    ("a", "b"),
    [("logo in red", "logo in blue"), ("ロゴを赤に", "ロゴを青に"), ("10 pages", "100 pages"), ("v1", "v2")],
)
def test_normalize_scope_keeps_what_differs(a: str, b: str) -> None:
    assert normalize_scope(a) != normalize_scope(b)


V1 = Requirement("Logo in red", version=1)
V2 = Requirement("Logo in blue", version=2)
R1 = Requirement("Make it green.", revision_id=11)
R2 = Requirement("Bigger letters", revision_id=12)


@pytest.mark.parametrize(
    ("text", "timeline", "besides", "expected"),
    [
        ("logo in red", [V1], (), None),  # the only requirement: said again, not reverted
        ("LOGO, in red!", [V1, V2], (), V1),  # A -> B -> A, re-typed
        ("logo in blue", [V1, V2], (), None),  # the latest one again
        ("make it green", [V1, R1, R2], (), R1),  # back to an earlier revision request
        ("make it green", [V1, R1], (), None),  # the same request again: not done yet, no revert
        ("logo in red", [V1, R1], (), V1),  # the terms, after asking for something else
        ("logo in red", [V1, R1], ("Logo in red",), None),  # an amendment back to the current terms
        ("something new", [V1, V2, R1], (), None),
        ("logo in red", [], (), None),
        ("ロゴを赤に", [Requirement("ロゴを赤に。", version=1), Requirement("ロゴを青に", version=2)], (),
         Requirement("ロゴを赤に。", version=1)),
    ],
)
def test_find_revert(text: str, timeline: list[Requirement], besides: tuple[str, ...],
                     expected: Requirement | None) -> None:
    assert find_revert(text, timeline, besides=besides) == expected
