from __future__ import annotations

from datetime import timedelta

import pytest
from hypothesis import given
from hypothesis import strategies as st

from bot.models.durations import parse_duration
from bot.models.policies import NON_ZERO, POLICY_SPECS, Policies, PolicyKind, PolicyValueError, normalize

DURATIONS = [name for name, spec in POLICY_SPECS.items() if spec.kind is PolicyKind.DURATION]
NUMBERS = [name for name, spec in POLICY_SPECS.items() if spec.kind is not PolicyKind.DURATION]
COOLDOWNS = ["post_cooldown", "apply_cooldown", "report_cooldown", "dispute_cooldown"]


def test_every_policy_named_in_the_product_exists() -> None:
    assert set(POLICY_SPECS) == {
        "escrow_reminder_after", "escrow_escalate_after", "review_reminder_after",
        "review_auto_approve_after", "reply_reminder_after", "reply_escalate_after",
        "offer_reminder_after", "offer_expires_after", "deadline_reminder_before",
        "overdue_escalate_after", "deposit_confirm_reminder_after", "reminder_repeat_every",
        "rating_reveal_after", "post_cooldown", "apply_cooldown", "report_cooldown",
        "dispute_cooldown", "case_reminder_after", "payout_reminder_after", "unfunded_expires_after",
        "job_expires_after", "fee_percent", "max_budget", "max_open_jobs", "max_open_applications",
    }  # fmt: skip
    for name, spec in POLICY_SPECS.items():
        assert spec.env_name == name.upper()


@pytest.mark.parametrize("name", POLICY_SPECS)
def test_every_default_is_already_canonical(name: str) -> None:
    assert normalize(name, POLICY_SPECS[name].default) == POLICY_SPECS[name].default


@pytest.mark.parametrize("name", DURATIONS)
def test_durations_are_canonicalized(name: str) -> None:
    assert normalize(name, " 24H ") == "1d"
    assert normalize(name, "1d12h") == "1d12h"
    assert normalize(name, "90s") == "1m30s"


@pytest.mark.parametrize("name", DURATIONS)
@pytest.mark.parametrize("value", ["soon", "", "1.5d", "-1d", "12", "1h1d"])
def test_bad_durations_are_refused(name: str, value: str) -> None:
    with pytest.raises(PolicyValueError) as refused:
        normalize(name, value)
    assert (refused.value.name, refused.value.value) == (name, value)


@pytest.mark.parametrize("name", COOLDOWNS)
def test_zero_turns_a_cooldown_off(name: str) -> None:
    assert normalize(name, "0s") == "0s"
    assert normalize(name, "0m") == "0s"


@pytest.mark.parametrize("value", ["0s", "0m", "0d"])
def test_reminder_repeat_every_cannot_be_zero(value: str) -> None:
    assert "reminder_repeat_every" in NON_ZERO
    with pytest.raises(PolicyValueError):
        normalize("reminder_repeat_every", value)


@pytest.mark.parametrize(
    ("name", "value", "canonical"),
    [
        ("fee_percent", "0", "0"),
        ("fee_percent", "100", "100"),
        ("fee_percent", " 15 ", "15"),
        ("fee_percent", "05", "5"),
        ("max_budget", "1", "1"),
        ("max_open_jobs", "10000", "10000"),
        ("max_open_applications", "1", "1"),
    ],
)
def test_numbers(name: str, value: str, canonical: str) -> None:
    assert normalize(name, value) == canonical


@pytest.mark.parametrize(
    ("name", "value"),
    [
        ("fee_percent", "101"),
        ("fee_percent", "-1"),
        ("fee_percent", "10%"),
        ("fee_percent", "7.5"),
        ("fee_percent", "²"),
        ("max_budget", "0"),
        ("max_budget", str(10**12 + 1)),
        ("max_budget", "1e6"),
        ("max_open_jobs", "0"),
        ("max_open_jobs", "10001"),
        ("max_open_applications", ""),
        ("max_open_applications", "many"),
    ],
)
def test_bad_numbers_are_refused(name: str, value: str) -> None:
    with pytest.raises(PolicyValueError):
        normalize(name, value)


@given(st.sampled_from(sorted(POLICY_SPECS)), st.text(max_size=10))
def test_any_text_is_canonicalized_or_refused(name: str, value: str) -> None:
    try:
        canonical = normalize(name, value)
    except PolicyValueError:
        return
    assert normalize(name, canonical) == canonical


def test_policies_resolve_typed_values() -> None:
    policies = Policies({name: spec.default for name, spec in POLICY_SPECS.items()})
    assert policies.duration("escrow_escalate_after") == timedelta(days=3)
    assert policies.duration("apply_cooldown") == parse_duration("30s")
    assert policies.integer("fee_percent") == 10
    assert policies.integer("max_budget") == 10_000_000
    for name in NUMBERS:
        assert isinstance(policies.integer(name), int)
