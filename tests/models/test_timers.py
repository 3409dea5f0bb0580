"""The timer table (bot/models/timers.py): each kind's policies, messages, buttons and final
action as the sweep has always sent them, the stored key forms that existing ``timer_fires``
rows depend on, and the planning of the table-driven parts (the deadline's early reminder,
the rating reveal's lone final)."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime, timedelta

import pytest

from bot.models.entities import Contract
from bot.models.policies import POLICY_SPECS, Policies, PolicyKind
from bot.models.states import ContractStatus
from bot.models.timers import (
    CASE,
    DEADLINE,
    DEPOSIT,
    ESCROW,
    OFFER,
    REPEAT_POLICY,
    REPLY,
    REVEAL,
    REVIEW,
    REVISION,
    TIMER_KINDS,
    UNFUNDED,
    Due,
    Escalation,
    FinalAction,
    Plan,
    Recipient,
    TimerKey,
    TimerKind,
    escalation_at_final,
    fire_key,
    party,
    plan_timer,
)

A = datetime(2026, 3, 1, 12, 0, tzinfo=UTC)
DAY = timedelta(days=1)
CID = 7
CLIENT_ID, WORKER_ID = 101, 202
POLICIES = Policies({name: spec.default for name, spec in POLICY_SPECS.items()})
CONTRACT = Contract(
    id=CID, guild_id=1, job_id=2, application_id=3, client_id=CLIENT_ID, worker_id=WORKER_ID,
    status=ContractStatus.ACTIVE, currency="JPY", terms_version=1, clock_at=A, timer_round=0, timer_due_at=None,
    offered_at=A, accepted_at=None, deposit_declared_at=None, funded_at=None, due_at=None, delivered_at=None,
    closed_at=None, awaiting_reply_since=None, topup_due=0, status_before_dispute=None, thread_id=None,
    terms_message_id=None,
)


def test_the_table_lists_every_kind_once_under_its_name() -> None:
    assert list(TIMER_KINDS) == ["offer", "escrow", "review", "revision", "deadline", "reply", "deposit", "reveal",
                                 "case", "unfunded"]
    assert [TIMER_KINDS[k] for k in TIMER_KINDS] == [OFFER, ESCROW, REVIEW, REVISION, DEADLINE, REPLY, DEPOSIT, REVEAL,
                                                     CASE, UNFUNDED]


@pytest.mark.parametrize(
    ("kind", "remind_after", "final_after", "final", "remind_with_final"),
    [
        (OFFER, "offer_reminder_after", "offer_expires_after", FinalAction.EXPIRE_OFFER, False),
        (ESCROW, "escrow_reminder_after", "escrow_escalate_after", FinalAction.ESCALATE, True),
        (REVIEW, "review_reminder_after", "review_auto_approve_after", FinalAction.AUTO_APPROVE, False),
        (REVISION, "reply_reminder_after", None, FinalAction.NONE, True),
        (DEADLINE, None, "overdue_escalate_after", FinalAction.ESCALATE, True),
        (REPLY, "reply_reminder_after", "reply_escalate_after", FinalAction.ESCALATE, True),
        (DEPOSIT, "deposit_confirm_reminder_after", None, FinalAction.NONE, True),
        (REVEAL, None, "rating_reveal_after", FinalAction.REVEAL_RATINGS, True),
        (CASE, "case_reminder_after", None, FinalAction.NONE, True),
        (UNFUNDED, None, "unfunded_expires_after", FinalAction.CANCEL_UNFUNDED, True),
    ],
)
def test_each_kind_is_timed_by_its_policies(kind: TimerKind, remind_after: str | None, final_after: str | None,
                                             final: FinalAction, remind_with_final: bool) -> None:
    assert (kind.remind_after, kind.final_after, kind.final, kind.remind_with_final) == (
        remind_after, final_after, final, remind_with_final)
    for name in (remind_after, final_after, kind.before.policy if kind.before else None, kind.repeat_every):
        assert name is None or POLICY_SPECS[name].kind is PolicyKind.DURATION


@pytest.mark.parametrize(
    ("kind", "target_id", "sent"),
    [
        (OFFER, None, [("remind.offer", Recipient.WORKER, ("contract:7:accept", "contract:7:decline"))]),
        (ESCROW, None, [("remind.escrow", Recipient.CLIENT, ("escrow:7:deposit",))]),
        (REVIEW, None, [("remind.review", Recipient.CLIENT, ("review:7:approve", "review:7:revise"))]),
        (REVISION, 12, [("remind.scope_revision", Recipient.WORKER, ("revision:12:accept", "revision:12:scope"))]),
        (DEADLINE, None, [("remind.overdue_worker", Recipient.WORKER, ()),
                          ("remind.overdue_client", Recipient.CLIENT, ())]),
        (REPLY, None, [("remind.reply", Recipient.CLIENT, ())]),
        (DEPOSIT, 3, [("remind.deposit_confirm", Recipient.MODERATORS, ("escrow:7:confirm",))]),
        (REVEAL, None, []),
        (CASE, 5, [("remind.case_open", Recipient.MODERATORS, ())]),
        (UNFUNDED, None, []),
    ],
)
def test_each_kind_reminds_whom_with_which_buttons(kind: TimerKind, target_id: int | None,
                                                   sent: list[tuple[str, Recipient, tuple[str, ...]]]) -> None:
    assert [(n.message_key, n.recipient, n.buttons_for(CID, target_id)) for n in kind.reminders] == sent


@pytest.mark.parametrize(
    ("kind", "topup_due", "escalation"),
    [
        (OFFER, 0, None),
        (ESCROW, 0, Escalation("escrow_unfunded", Recipient.CLIENT)),
        (REVIEW, 0, None),
        # a raised price not paid yet: the moderators decide instead of the auto-approval
        (REVIEW, 500, Escalation("topup_unpaid", Recipient.CLIENT)),
        (DEADLINE, 0, Escalation("overdue", Recipient.WORKER)),
        (REPLY, 0, Escalation("reply_silent", Recipient.CLIENT)),
        (REPLY, 500, Escalation("reply_silent", Recipient.CLIENT)),
        (REVEAL, 0, None),
        (REVISION, 0, None),
        (DEPOSIT, 0, None),
        (CASE, 0, None),
        (UNFUNDED, 0, None),
    ],
)
def test_which_final_moments_open_a_case(kind: TimerKind, topup_due: int, escalation: Escalation | None) -> None:
    assert escalation_at_final(kind, topup_due=topup_due) == escalation


@pytest.mark.parametrize(
    ("recipient", "users"),
    [
        (Recipient.CLIENT, (CLIENT_ID,)),
        (Recipient.WORKER, (WORKER_ID,)),
        (Recipient.PARTIES, (CLIENT_ID, WORKER_ID)),
    ],
)
def test_party_names_the_users(recipient: Recipient, users: tuple[int, ...]) -> None:
    assert party(recipient, CONTRACT) == users


def test_the_moderators_are_not_a_party() -> None:
    with pytest.raises(ValueError, match="moderators"):
        party(Recipient.MODERATORS, CONTRACT)


def test_the_reveal_notice_goes_to_both_parties() -> None:
    assert REVEAL.final_notice is not None
    assert (REVEAL.final_notice.message_key, party(REVEAL.final_notice.recipient, CONTRACT)) == (
        "notify.ratings_revealed", (CLIENT_ID, WORKER_ID))


# -- the stored forms ---------------------------------------------------------------------

@pytest.mark.parametrize(
    ("key", "stored"),
    [
        (TimerKey(OFFER), "offer"),
        (TimerKey(ESCROW), "escrow"),
        (TimerKey(REVIEW), "review"),
        (TimerKey(REVISION, 12), "revision12"),
        (TimerKey(DEADLINE), "deadline"),
        (TimerKey(REPLY), "reply"),
        (TimerKey(DEPOSIT, 3), "deposit3"),
        (TimerKey(DEPOSIT, 0), "deposit0"),
        (TimerKey(REVEAL), "reveal"),
        (TimerKey(UNFUNDED), "unfunded"),
    ],
)
def test_timer_keys_format_and_parse_back(key: TimerKey, stored: str) -> None:
    assert key.format() == stored
    assert TimerKey.parse(stored) == key
    assert Due(fire_key(CID, stored, A, "remind", 0), stored, "remind", 0).timer == key


@pytest.mark.parametrize("text", ["", "deposit", "revision", "escrow3", "nope", "nope3", "deposit03", "deposit-1",
                                  "revisionx", "3", " escrow", "Escrow"])
def test_parse_refuses_what_format_cannot_have_made(text: str) -> None:
    with pytest.raises(ValueError, match="not a timer key"):
        TimerKey.parse(text)


@pytest.mark.parametrize(("kind", "target_id"), [(DEPOSIT, None), (REVISION, None), (ESCROW, 1), (REVEAL, 0)])
def test_a_target_id_exactly_for_targeted_kinds(kind: TimerKind, target_id: int | None) -> None:
    with pytest.raises(ValueError, match=kind.name):
        TimerKey(kind, target_id)


@pytest.mark.parametrize(
    ("kind", "anchor", "stage", "repeat", "key"),
    [
        ("escrow", A, "remind", 0, "7:escrow:2026-03-01T12:00:00+00:00:remind:0"),
        ("deposit3", A + DAY, "remind", 4, "7:deposit3:2026-03-02T12:00:00+00:00:remind:4"),
        ("deadline", A, "before", 0, "7:deadline:2026-03-01T12:00:00+00:00:before:0"),
        ("reveal", A, "final", 0, "7:reveal:2026-03-01T12:00:00+00:00:final:0"),
    ],
)
def test_fire_keys_keep_their_stored_form(kind: str, anchor: datetime, stage: str, repeat: int, key: str) -> None:
    assert fire_key(CID, kind, anchor, stage, repeat) == key


# -- planning from the table -----------------------------------------------------------------

def _planned(key: TimerKey, now: datetime, policies: Policies = POLICIES) -> Plan:
    plan = Plan()
    plan_timer(plan, CID, key, A, now, policies)
    return plan


def _policies(**changed: str) -> Policies:
    return replace(POLICIES, values={**POLICIES.values, **changed})


@pytest.mark.parametrize(
    ("now", "stages", "next_at"),
    [
        # anchored at the due moment; the early reminder 1d before (the default policy)
        (A - 2 * DAY, [], A - DAY),
        (A - DAY, ["before"], A),
        (A - timedelta(seconds=1), ["before"], A),
        (A, ["remind"], A + DAY),
        (A + 2 * DAY, ["remind"], None),
    ],
)
def test_deadline_warns_before_the_due_moment_then_reminds_from_it(now: datetime, stages: list[str],
                                                                  next_at: datetime | None) -> None:
    plan = _planned(TimerKey(DEADLINE), now)
    assert [d.stage for d in plan.reminders] == stages
    assert plan.next_at == next_at


def test_deadline_without_the_early_reminder_policy() -> None:
    plan = _planned(TimerKey(DEADLINE), A - DAY, _policies(deadline_reminder_before="0s"))
    assert plan.reminders == [] and plan.next_at == A


@pytest.mark.parametrize(
    ("now", "finals", "next_at"),
    [
        (A, [], A + 7 * DAY),
        (A + 7 * DAY - timedelta(seconds=1), [], A + 7 * DAY),
        (A + 7 * DAY, [Due("7:reveal:2026-03-01T12:00:00+00:00:final:0", "reveal", "final", 0)], None),
    ],
)
def test_reveal_has_no_reminders_only_its_final(now: datetime, finals: list[Due], next_at: datetime | None) -> None:
    plan = _planned(TimerKey(REVEAL), now)
    assert plan.reminders == []
    assert plan.finals == finals
    assert plan.next_at == next_at


def test_targeted_kinds_key_their_reminders_by_target() -> None:
    plan = _planned(TimerKey(DEPOSIT, 3), A + DAY)
    assert plan.reminders == [Due("7:deposit3:2026-03-01T12:00:00+00:00:remind:0", "deposit3", "remind", 0)]
    assert plan.finals == [] and plan.next_at == A + 2 * DAY


def test_a_case_reminder_repeats_on_its_own_policy() -> None:
    assert CASE.repeat_every == "case_reminder_after"
    assert {kind.repeat_every for kind in TIMER_KINDS.values() if kind is not CASE} == {REPEAT_POLICY}
