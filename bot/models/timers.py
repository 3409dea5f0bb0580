"""The kinds of timer the sweep runs, as one table, and the arithmetic of what is due when.

Each wait a contract can be in (an offer not answered, escrow not funded, a delivery not
reviewed, ...) is a :class:`TimerKind`: which policies time it, who is reminded with which
message and buttons, and what happens at its final moment. The sweep
(``bot/services/timers.py``) only finds the waits a contract is in and reads this table, so a
timer's behaviour is written down once. Pure: no I/O.

How to add a timer:

1. Add its policy durations to ``POLICY_SPECS`` (``bot/models/policies.py``) and its reminder
   messages (``remind.<name>``) to both locales.
2. Add a :class:`TimerKind` constant below and list it in ``TIMER_KINDS``: name, policies,
   the :class:`Notice` of its reminders, its :class:`FinalAction` and :class:`Escalation`.
   ``targeted=True`` if one contract can run several at once (the key then carries an id).
3. Say when it runs and from which moment in ``TimerService._running``
   (``bot/services/timers.py``): one ``TimerKey`` and its anchor.
4. Add a row to the tables in ``tests/models/test_timers.py`` and a sweep test in
   ``tests/services/test_timers.py``.

The stored keys (``timer_fires.key`` and ``.kind``) are made by :meth:`TimerKey.format`
and :func:`fire_key` only, and read back by :meth:`TimerKey.parse` only: existing rows
depend on their exact form.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from enum import StrEnum
from types import MappingProxyType

from bot.models.entities import Contract
from bot.models.policies import Policies
from bot.models.timeutil import to_iso

REPEAT_POLICY = "reminder_repeat_every"


class Recipient(StrEnum):
    CLIENT = "client"
    WORKER = "worker"
    PARTIES = "parties"  # client and worker
    MODERATORS = "moderators"  # the guild's mod channel


class FinalAction(StrEnum):
    """What the sweep does when a wait's final moment has come."""

    NONE = "none"  # no final moment: the reminders repeat until the wait ends
    ESCALATE = "escalate"  # open an escalation case (the kind's ``escalation``)
    EXPIRE_OFFER = "expire_offer"
    AUTO_APPROVE = "auto_approve"  # release the delivery, unless a top-up is unpaid: then escalate
    REVEAL_RATINGS = "reveal_ratings"  # the kind's ``final_notice`` to both parties
    CANCEL_UNFUNDED = "cancel_unfunded"  # cancel a contract never funded, tell both parties


@dataclass(frozen=True, slots=True)
class Notice:
    """One message a timer sends. Button templates may use ``{contract_id}`` and ``{target_id}``."""

    message_key: str
    recipient: Recipient
    buttons: tuple[str, ...] = ()

    def buttons_for(self, contract_id: int, target_id: int | None) -> tuple[str, ...]:
        return tuple(b.format(contract_id=contract_id, target_id=target_id) for b in self.buttons)


@dataclass(frozen=True, slots=True)
class Escalation:
    """The case a final moment opens: its ``reason_kind`` and the party it is about."""

    reason_kind: str
    subject: Recipient


@dataclass(frozen=True, slots=True)
class Before:
    """One reminder ``policy`` before the anchor (a duration of zero turns it off)."""

    policy: str
    notice: Notice


@dataclass(frozen=True, slots=True)
class TimerKind:
    """One kind of wait. ``name`` is stored in every timer key: never rename a kind."""

    name: str
    # policy: the first reminder this long after the anchor (None: at the anchor itself)
    remind_after: str | None
    # policy: the final action this long after the anchor (None: reminders only)
    final_after: str | None
    # sent at each reminder (empty: no reminders)
    reminders: tuple[Notice, ...] = ()
    final: FinalAction = FinalAction.NONE
    escalation: Escalation | None = None
    # False: a reminder not yet sent when the final moment has come is dropped
    remind_with_final: bool = True
    # True: the key carries the id of the row the wait is about (a deposit, a revision request)
    targeted: bool = False
    before: Before | None = None
    final_notice: Notice | None = None
    # policy: how often an unanswered reminder repeats
    repeat_every: str = REPEAT_POLICY

    def __post_init__(self) -> None:
        assert self.name.isalpha(), self.name  # TimerKey.parse splits a target id off the end
        assert (self.final is FinalAction.NONE) == (self.final_after is None), self.name
        assert (self.final in {FinalAction.ESCALATE, FinalAction.AUTO_APPROVE}) == (self.escalation is not None)
        assert (self.final is FinalAction.REVEAL_RATINGS) == (self.final_notice is not None), self.name


OFFER = TimerKind(
    "offer", "offer_reminder_after", "offer_expires_after",
    reminders=(Notice("remind.offer", Recipient.WORKER,
                      ("contract:{contract_id}:accept", "contract:{contract_id}:decline")),),
    final=FinalAction.EXPIRE_OFFER, remind_with_final=False,
)
ESCROW = TimerKind(
    "escrow", "escrow_reminder_after", "escrow_escalate_after",
    reminders=(Notice("remind.escrow", Recipient.CLIENT, ("escrow:{contract_id}:deposit",)),),
    final=FinalAction.ESCALATE, escalation=Escalation("escrow_unfunded", Recipient.CLIENT),
)
REVIEW = TimerKind(
    "review", "review_reminder_after", "review_auto_approve_after",
    reminders=(Notice("remind.review", Recipient.CLIENT,
                      ("review:{contract_id}:approve", "review:{contract_id}:revise")),),
    final=FinalAction.AUTO_APPROVE, remind_with_final=False,
    escalation=Escalation("topup_unpaid", Recipient.CLIENT),
)
# a revision request waiting for the worker's answer (the review clock waits): take it on, or
# answer that it is outside the agreed scope (one beyond the included ones may also be declined)
REVISION = TimerKind(
    "revision", "reply_reminder_after", None,
    reminders=(Notice("remind.scope_revision", Recipient.WORKER,
                      ("revision:{target_id}:accept", "revision:{target_id}:scope")),),
    targeted=True,
)
# anchored at the due moment: overdue reminders from that moment on
DEADLINE = TimerKind(
    "deadline", None, "overdue_escalate_after",
    reminders=(Notice("remind.overdue_worker", Recipient.WORKER), Notice("remind.overdue_client", Recipient.CLIENT)),
    final=FinalAction.ESCALATE, escalation=Escalation("overdue", Recipient.WORKER),
    before=Before("deadline_reminder_before", Notice("remind.deadline_soon", Recipient.WORKER)),
)
REPLY = TimerKind(
    "reply", "reply_reminder_after", "reply_escalate_after",
    reminders=(Notice("remind.reply", Recipient.CLIENT),),
    final=FinalAction.ESCALATE, escalation=Escalation("reply_silent", Recipient.CLIENT),
)
# a declared deposit the moderators have not confirmed yet
DEPOSIT = TimerKind(
    "deposit", "deposit_confirm_reminder_after", None,
    reminders=(Notice("remind.deposit_confirm", Recipient.MODERATORS, ("escrow:{contract_id}:confirm",)),),
    targeted=True,
)
# one party rated, the other did not: the rating is shown anyway after a while
REVEAL = TimerKind(
    "reveal", None, "rating_reveal_after",
    final=FinalAction.REVEAL_RATINGS, final_notice=Notice("notify.ratings_revealed", Recipient.PARTIES),
)

# an open case on the contract no moderator acted on: the mod channel is pinged again
# (anchored at the case's opening or its last moderator action)
CASE = TimerKind(
    "case", "case_reminder_after", None,
    reminders=(Notice("remind.case_open", Recipient.MODERATORS),),
    targeted=True, repeat_every="case_reminder_after",
)

# anchored at the escrow escalation (the ESCROW kind's final moment): still unfunded this long
# after it, the contract is cancelled and its position on the job freed
UNFUNDED = TimerKind(
    "unfunded", None, "unfunded_expires_after", final=FinalAction.CANCEL_UNFUNDED,
)

TIMER_KINDS: Mapping[str, TimerKind] = MappingProxyType(
    {kind.name: kind for kind in (OFFER, ESCROW, REVIEW, REVISION, DEADLINE, REPLY, DEPOSIT, REVEAL,
                                  CASE, UNFUNDED)}
)


@dataclass(frozen=True, slots=True)
class TimerKey:
    """One running timer of a contract: its kind and, for a targeted kind, the row's id."""

    kind: TimerKind
    target_id: int | None = None

    def __post_init__(self) -> None:
        if self.kind.targeted != (self.target_id is not None):
            raise ValueError(f"timer {self.kind.name}: target id {self.target_id}")

    def format(self) -> str:
        """The stored form (``"escrow"``, ``"deposit12"``): part of every timer key."""
        return self.kind.name if self.target_id is None else f"{self.kind.name}{self.target_id}"

    @classmethod
    def parse(cls, text: str) -> TimerKey:
        """The inverse of :meth:`format`; ValueError for a string it cannot have made."""
        name = text.rstrip("0123456789")
        digits = text[len(name):]
        kind = TIMER_KINDS.get(name)
        if kind is None or kind.targeted != bool(digits) or (digits and digits != str(int(digits))):
            raise ValueError(f"not a timer key: {text!r}")
        return cls(kind, int(digits) if digits else None)


def fire_key(contract_id: int, kind: str, anchor: datetime, stage: str, repeat: int) -> str:
    """The unique key a reminder or final action is recorded under (``timer_fires.key``):
    (contract, timer, anchor, stage, repeat), so nothing fires twice, and a new anchor (an
    extension, a new deadline) starts a new series. ``kind`` is a :meth:`TimerKey.format`."""
    return f"{contract_id}:{kind}:{to_iso(anchor)}:{stage}:{repeat}"


def party(recipient: Recipient, contract: Contract) -> tuple[int, ...]:
    """The users a party recipient names on ``contract`` (the moderators are not users)."""
    if recipient is Recipient.CLIENT:
        return (contract.client_id,)
    if recipient is Recipient.WORKER:
        return (contract.worker_id,)
    if recipient is Recipient.PARTIES:
        return (contract.client_id, contract.worker_id)
    raise ValueError(f"not a party: {recipient}")


def escalation_at_final(kind: TimerKind, *, topup_due: int) -> Escalation | None:
    """The case a final moment opens instead of an action of its own, if any. An
    auto-approval cannot release a delivery whose raised price is not paid yet: the
    moderators decide instead."""
    if kind.final is FinalAction.ESCALATE or (kind.final is FinalAction.AUTO_APPROVE and topup_due > 0):
        return kind.escalation
    return None


# -- what is due when --------------------------------------------------------------------

@dataclass(frozen=True, slots=True)
class Due:
    """A reminder or final action due now. ``kind`` is the stored :meth:`TimerKey.format`."""

    key: str
    kind: str
    stage: str
    repeat: int

    @property
    def timer(self) -> TimerKey:
        return TimerKey.parse(self.kind)


@dataclass
class Plan:
    reminders: list[Due] = field(default_factory=list)
    finals: list[Due] = field(default_factory=list)
    next_at: datetime | None = None

    def later(self, when: datetime | None) -> None:
        if when is not None and (self.next_at is None or when < self.next_at):
            self.next_at = when


def plan_waiting(plan: Plan, contract_id: int, kind: str, anchor: datetime, now: datetime, *,
                 remind_after: timedelta | None, repeat: timedelta, final_after: timedelta | None,
                 remind_with_final: bool = True) -> None:
    """Reminders from ``anchor + remind_after`` (none if it is None), repeated every ``repeat``,
    until the final action at ``anchor + final_after`` (escalation, expiry or auto-approval).
    Only the latest due repeat is planned: a sweep after downtime sends one reminder, not every
    missed one. With ``remind_with_final`` false, a reminder not yet sent when the final moment
    has come is dropped (a "please accept" next to "the offer expired" would only confuse)."""
    final_at = anchor + final_after if final_after is not None else None
    final_due = final_at is not None and now >= final_at
    if final_due:
        plan.finals.append(Due(fire_key(contract_id, kind, anchor, "final", 0), kind, "final", 0))
    first = anchor + remind_after if remind_after is not None else None
    if first is not None and (final_at is None or first < final_at) and not (final_due and not remind_with_final):
        if now < first:
            plan.later(first)
        else:
            repeat_n = (now - first) // repeat
            if final_at is not None:
                # the last repeat that falls strictly before the final moment
                repeat_n = min(repeat_n, -(-(final_at - first) // repeat) - 1)
            plan.reminders.append(Due(fire_key(contract_id, kind, anchor, "remind", repeat_n), kind, "remind",
                                      repeat_n))
            following = first + (repeat_n + 1) * repeat
            if final_at is None or following < final_at:
                plan.later(following)
    if final_at is not None and now < final_at:
        plan.later(final_at)


def plan_timer(plan: Plan, contract_id: int, timer: TimerKey, anchor: datetime, now: datetime,
               policies: Policies) -> None:
    """Plan one running timer from its kind's row in the table and the guild's policies."""
    kind = timer.kind
    stored = timer.format()
    repeat = policies.duration(kind.repeat_every)
    if not repeat:  # a repeat policy of zero turns the kind off (reminder_repeat_every is never zero)
        return
    if kind.before is not None:
        before = policies.duration(kind.before.policy)
        if before:
            pre_at = anchor - before
            if pre_at <= now < anchor:
                plan.reminders.append(Due(fire_key(contract_id, stored, anchor, "before", 0), stored, "before", 0))
            elif now < pre_at:
                plan.later(pre_at)
    remind_after = None
    if kind.reminders:
        remind_after = policies.duration(kind.remind_after) if kind.remind_after else timedelta(0)
    plan_waiting(plan, contract_id, stored, anchor, now, remind_after=remind_after,
                 repeat=repeat,
                 final_after=policies.duration(kind.final_after) if kind.final_after else None,
                 remind_with_final=kind.remind_with_final)
