"""The reminder and escalation sweep (PRODUCT.md "Reminders and escalation").

The database is the truth: each contract carries ``timer_due_at``, the next moment the sweep
must look at it (every state change sets it to "now"). The sweep selects only contracts whose
moment has come (an indexed range: nothing due reads no contract rows), works out from the
contract's facts and the guild's current policies which reminders and escalations are due,
records each under a unique key (contract, kind, anchor, stage, repeat) in the same transaction
as the notifications it writes to the outbox, and sets the next moment. A reminder missed
while the bot was down is sent once (the latest repeat), never once per missed tick.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from bot.clock import Clock
from bot.db import Conn, Database
from bot.models.entities import Contract, Deposit
from bot.models.policies import Policies
from bot.models.states import SETTLED_STATES, ContractStatus
from bot.models.timeutil import to_iso
from bot.repositories import contracts as repo
from bot.repositories.outbox import enqueue
from bot.services.cases import CaseService
from bot.services.contracts import ContractService
from bot.services.deliveries import DeliveryService
from bot.services.guilds import GuildService
from bot.services.steps import REPLY_STATES, notify

log = logging.getLogger(__name__)
_CS = ContractStatus
BATCH = 500
# Expiry, auto-approval and the rating reveal run in their own transaction after the sweep's:
# until one of them has changed the contract, the contract is looked at again this soon, so a
# failure or a crash between the two transactions delays the action instead of losing it.
FINAL_RETRY = timedelta(minutes=1)


@dataclass(frozen=True, slots=True)
class Due:
    key: str
    kind: str
    stage: str
    repeat: int


@dataclass
class Plan:
    reminders: list[Due] = field(default_factory=list)
    finals: list[Due] = field(default_factory=list)
    next_at: datetime | None = None

    def later(self, when: datetime | None) -> None:
        if when is not None and (self.next_at is None or when < self.next_at):
            self.next_at = when


@dataclass
class SweepReport:
    contracts: int = 0
    reminders: int = 0
    escalations: int = 0
    auto_approved: int = 0
    expired: int = 0
    failed: int = 0


def _key(contract_id: int, kind: str, anchor: datetime, stage: str, repeat: int) -> str:
    return f"{contract_id}:{kind}:{to_iso(anchor)}:{stage}:{repeat}"


def plan_waiting(plan: Plan, contract_id: int, kind: str, anchor: datetime, now: datetime, *,
                 remind_after: timedelta, repeat: timedelta, final_after: timedelta | None,
                 remind_with_final: bool = True) -> None:
    """Reminders from ``anchor + remind_after``, repeated every ``repeat``, until the final
    action at ``anchor + final_after`` (escalation, expiry or auto-approval). Only the latest
    due repeat is planned: a sweep after downtime sends one reminder, not every missed one.
    With ``remind_with_final`` false, a reminder not yet sent when the final moment has come
    is dropped (a "please accept" next to "the offer expired" would only confuse)."""
    final_at = anchor + final_after if final_after is not None else None
    final_due = final_at is not None and now >= final_at
    if final_due:
        plan.finals.append(Due(_key(contract_id, kind, anchor, "final", 0), kind, "final", 0))
    first = anchor + remind_after
    if (final_at is None or first < final_at) and not (final_due and not remind_with_final):
        if now < first:
            plan.later(first)
        else:
            repeat_n = (now - first) // repeat
            if final_at is not None:
                # the last repeat that falls strictly before the final moment
                repeat_n = min(repeat_n, -(-(final_at - first) // repeat) - 1)
            plan.reminders.append(Due(_key(contract_id, kind, anchor, "remind", repeat_n), kind, "remind", repeat_n))
            following = first + (repeat_n + 1) * repeat
            if final_at is None or following < final_at:
                plan.later(following)
    if final_at is not None and now < final_at:
        plan.later(final_at)


class TimerService:
    def __init__(self, db: Database, clock: Clock, guilds: GuildService, contracts: ContractService,
                 deliveries: DeliveryService, cases: CaseService) -> None:
        self.db = db
        self.clock = clock
        self.guilds = guilds
        self.contracts = contracts
        self.deliveries = deliveries
        self.cases = cases

    async def sweep(self, now: datetime | None = None, *, max_batches: int = 100) -> SweepReport:
        """Act on every contract whose timer moment has come. Safe to run at any time, repeatedly."""
        when = now or self.clock.now()
        report = SweepReport()
        policies: dict[int, Policies] = {}
        failed: set[int] = set()
        for _ in range(max_batches):
            async with self.db.read() as conn:
                ids = [i for i in await repo.due_for_timers(conn, to_iso(when), BATCH + len(failed)) if i not in failed]
            if not ids:
                break
            for contract_id in ids:
                try:
                    await self._process(contract_id, when, policies, report)
                except Exception:
                    # One broken contract must not stop every other reminder: it stays due and
                    # is tried again on the next tick; the traceback names it.
                    log.exception("sweep: contract %s failed; it will be retried next tick", contract_id)
                    failed.add(contract_id)
                    report.failed += 1
            if len(ids) < BATCH:
                break
        if report.contracts:
            log.info("sweep at %s: %s", to_iso(when), report)
        return report

    async def _process(self, contract_id: int, now: datetime, cache: dict[int, Policies],
                       report: SweepReport) -> None:
        finals: list[Due] = []
        contract: Contract | None = None
        async with self.db.transaction() as conn:
            found = await repo.contract_for_sweep(conn, contract_id)
            if found is None:
                return
            contract, has_declared = found
            if contract.timer_due_at is None or contract.timer_due_at > now:
                return
            if contract.guild_id not in cache:
                cache[contract.guild_id] = await self.guilds.policies(contract.guild_id)
            plan = await self._plan(conn, contract, cache[contract.guild_id], now, has_declared=has_declared)
            report.contracts += 1
            for due in plan.reminders:
                if await repo.record_fire(conn, key=due.key, guild_id=contract.guild_id, contract_id=contract.id,
                                          kind=due.kind, now=to_iso(now)):
                    await self._remind(conn, contract, due, now)
                    report.reminders += 1
            for due in plan.finals:
                # a delivery whose price was raised and whose top-up is still unpaid cannot be
                # released: at the auto-approval moment the moderators decide instead
                if due.kind in {"escrow", "reply", "deadline"} or (due.kind == "review" and contract.topup_due > 0):
                    if await repo.record_fire(conn, key=due.key, guild_id=contract.guild_id,
                                              contract_id=contract.id, kind=due.kind, now=to_iso(now)):
                        await self._escalate(conn, contract, due, now)
                        report.escalations += 1
                else:
                    finals.append(due)
            if finals:
                plan.later(now + FINAL_RETRY)
            await repo.set_timer(conn, contract.id, to_iso(plan.next_at) if plan.next_at else None, to_iso(now))
        # Expiry and auto-approval are state transitions with their own guarded transaction.
        for due in finals:
            if due.kind == "offer" and await self.contracts.expire(contract_id):
                report.expired += 1
            elif due.kind == "review" and await self.deliveries.auto_approve(contract_id) is not None:
                report.auto_approved += 1
            elif due.kind == "reveal":
                await self._reveal(contract_id, due, now)

    async def _plan(self, conn: Conn, contract: Contract, p: Policies, now: datetime, *,
                    has_declared: bool = True) -> Plan:
        plan = Plan()
        repeat = p.duration("reminder_repeat_every")
        status = contract.status
        if status == _CS.OFFERED:
            plan_waiting(plan, contract.id, "offer", contract.clock_at, now,
                         remind_after=p.duration("offer_reminder_after"), repeat=repeat,
                         final_after=p.duration("offer_expires_after"), remind_with_final=False)
        elif status == _CS.AWAITING_FUNDING:
            plan_waiting(plan, contract.id, "escrow", contract.clock_at, now,
                         remind_after=p.duration("escrow_reminder_after"), repeat=repeat,
                         final_after=p.duration("escrow_escalate_after"))
        elif status == _CS.DELIVERED:
            extra = await repo.pending_extra_revision(conn, contract.id)
            if extra is not None:
                # the client asked for a revision beyond the included ones: the worker decides,
                # and the client's review clock waits (it starts again if the worker declines)
                plan_waiting(plan, contract.id, f"revision{extra.id}", extra.created_at, now,
                             remind_after=p.duration("reply_reminder_after"), repeat=repeat, final_after=None)
            else:
                plan_waiting(plan, contract.id, "review", contract.clock_at, now,
                             remind_after=p.duration("review_reminder_after"), repeat=repeat,
                             final_after=p.duration("review_auto_approve_after"), remind_with_final=False)
        elif status == _CS.ACTIVE and contract.due_at is not None:
            before = p.duration("deadline_reminder_before")
            if before:
                pre_at = contract.due_at - before
                if pre_at <= now < contract.due_at:
                    plan.reminders.append(Due(_key(contract.id, "deadline", contract.due_at, "before", 0),
                                              "deadline", "before", 0))
                elif now < pre_at:
                    plan.later(pre_at)
            plan_waiting(plan, contract.id, "deadline", contract.due_at, now, remind_after=timedelta(0),
                         repeat=repeat, final_after=p.duration("overdue_escalate_after"))
        if status in REPLY_STATES and contract.awaiting_reply_since is not None:
            plan_waiting(plan, contract.id, "reply", contract.awaiting_reply_since, now,
                         remind_after=p.duration("reply_reminder_after"), repeat=repeat,
                         final_after=p.duration("reply_escalate_after"))
        for deposit in await repo.deposits(conn, contract.id) if has_declared else ():
            if deposit.status == "declared":
                self._plan_deposit(plan, contract, deposit, p, now, repeat)
        if status in SETTLED_STATES and contract.closed_at is not None:
            reveal_at = contract.closed_at + p.duration("rating_reveal_after")
            if await repo.count_ratings(conn, contract.id) == 1:
                reveal = Due(_key(contract.id, "reveal", contract.closed_at, "final", 0), "reveal", "final", 0)
                if now < reveal_at:
                    plan.later(reveal_at)
                elif not await repo.has_fired(conn, reveal.key):
                    plan.finals.append(reveal)
        return plan

    @staticmethod
    def _plan_deposit(plan: Plan, contract: Contract, deposit: Deposit, p: Policies, now: datetime,
                      repeat: timedelta) -> None:
        plan_waiting(plan, contract.id, f"deposit{deposit.id}", deposit.declared_at, now,
                     remind_after=p.duration("deposit_confirm_reminder_after"), repeat=repeat, final_after=None)

    async def _remind(self, conn: Conn, contract: Contract, due: Due, now: datetime) -> None:
        args: dict[str, Any] = {"repeat": due.repeat + 1, "due_at": to_iso(contract.due_at) if contract.due_at else "-"}
        if due.kind.startswith("deposit"):
            await enqueue(conn, guild_id=contract.guild_id, target="mod", contract_id=contract.id,
                          message_key="remind.deposit_confirm", now=now,
                          args={"contract_id": contract.id, **args}, buttons=(f"escrow:{contract.id}:confirm",))
            return
        if due.kind.startswith("revision"):
            revision_id = int(due.kind.removeprefix("revision"))
            await notify(conn, contract, "remind.extra_revision", now, to=(contract.worker_id,),
                         buttons=(f"revision:{revision_id}:accept", f"revision:{revision_id}:decline"), **args)
            return
        if due.kind == "deadline":
            if due.stage == "before":
                await notify(conn, contract, "remind.deadline_soon", now, to=(contract.worker_id,), **args)
            else:
                await notify(conn, contract, "remind.overdue_worker", now, to=(contract.worker_id,), **args)
                await notify(conn, contract, "remind.overdue_client", now, to=(contract.client_id,), **args)
            return
        recipient, buttons = {
            "offer": (contract.worker_id, (f"contract:{contract.id}:accept", f"contract:{contract.id}:decline")),
            "escrow": (contract.client_id, (f"escrow:{contract.id}:deposit",)),
            "review": (contract.client_id, (f"review:{contract.id}:approve", f"review:{contract.id}:revise")),
            "reply": (contract.client_id, ()),
        }[due.kind]
        await notify(conn, contract, f"remind.{due.kind}", now, to=(recipient,), buttons=buttons, **args)

    async def _escalate(self, conn: Conn, contract: Contract, due: Due, now: datetime) -> None:
        reason_kind, subject = {
            "escrow": ("escrow_unfunded", contract.client_id),
            "reply": ("reply_silent", contract.client_id),
            "deadline": ("overdue", contract.worker_id),
            "review": ("topup_unpaid", contract.client_id),
        }[due.kind]
        await self.cases.open_case(conn, contract, guild_id=contract.guild_id, kind="escalation",
                                   reason_kind=reason_kind, subject_id=subject, opened_by=None, reason=None, now=now)

    async def _reveal(self, contract_id: int, due: Due, now: datetime) -> None:
        async with self.db.transaction() as conn:
            contract = await repo.get_contract(conn, contract_id)
            if contract is None:
                return
            if await repo.record_fire(conn, key=due.key, guild_id=contract.guild_id, contract_id=contract.id,
                                      kind="reveal", now=to_iso(now)):
                await notify(conn, contract, "notify.ratings_revealed", now,
                             to=(contract.client_id, contract.worker_id))
            await repo.touch_timer(conn, contract.id)  # planned again: nothing left, the timer ends
