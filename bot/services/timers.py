"""The reminder and escalation sweep (docs/architecture.md, "Timers").

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
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from bot.clock import Clock
from bot.db import Conn, Database
from bot.models.entities import Contract
from bot.models.policies import Policies
from bot.models.states import CONTRACT_TRANSITIONS, SETTLED_STATES, ContractStatus, Role
from bot.models.timers import (
    CASE,
    DEADLINE,
    DEPOSIT,
    ESCROW,
    OFFER,
    REPLY,
    REVEAL,
    REVIEW,
    REVISION,
    UNFUNDED,
    Due,
    Escalation,
    FinalAction,
    Plan,
    Recipient,
    TimerKey,
    escalation_at_final,
    fire_key,
    party,
    plan_timer,
)
from bot.models.timeutil import to_iso
from bot.repositories import cases as cases_repo
from bot.repositories import contracts as repo
from bot.repositories import timers as timers_repo
from bot.repositories.audit import record_event
from bot.repositories.outbox import enqueue
from bot.services.cases import CaseService, settle_cases
from bot.services.common import transition
from bot.services.contracts import ContractService
from bot.services.deliveries import DeliveryService
from bot.services.guilds import GuildService
from bot.services.steps import REPLY_STATES, free_position, notify, pause_clock, post_thread, resume_clock, retire

log = logging.getLogger(__name__)
_CS = ContractStatus
BATCH = 500
# Expiry, auto-approval and the rating reveal run in their own transaction after the sweep's:
# until one of them has changed the contract, the contract is looked at again this soon, so a
# failure or a crash between the two transactions delays the action instead of losing it.
FINAL_RETRY = timedelta(minutes=1)


@dataclass
class SweepReport:
    contracts: int = 0
    reminders: int = 0
    escalations: int = 0
    auto_approved: int = 0
    expired: int = 0
    cancelled_unfunded: int = 0
    failed: int = 0


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
                due = await timers_repo.due_for_timers(conn, to_iso(when), BATCH + len(failed))
                ids = [i for i in due if i not in failed]
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
            found = await timers_repo.contract_for_sweep(conn, contract_id)
            if found is None:
                return
            contract, has_declared = found
            if contract.timer_due_at is None or contract.timer_due_at > now:
                return
            if contract.guild_id not in cache:
                cache[contract.guild_id] = await self.guilds.policies(contract.guild_id)
            contract = await self._reply_pause(conn, contract, cache[contract.guild_id], now)
            plan = await self._plan(conn, contract, cache[contract.guild_id], now, has_declared=has_declared)
            report.contracts += 1
            for due in plan.reminders:
                if await timers_repo.record_fire(conn, key=due.key, guild_id=contract.guild_id, contract_id=contract.id,
                                          kind=due.kind, now=to_iso(now)):
                    await self._remind(conn, contract, due, now)
                    report.reminders += 1
            for due in plan.finals:
                escalation = escalation_at_final(due.timer.kind, topup_due=contract.topup_due)
                if escalation is not None:
                    if await timers_repo.record_fire(conn, key=due.key, guild_id=contract.guild_id,
                                              contract_id=contract.id, kind=due.kind, now=to_iso(now)):
                        await self._escalate(conn, contract, escalation, now)
                        report.escalations += 1
                        # a wait that starts at the escalation (the case's reminder, UNFUNDED) is planned next
                        plan.later(now)
                else:
                    finals.append(due)
            if finals:
                plan.later(now + FINAL_RETRY)
            await timers_repo.set_timer(conn, contract.id, to_iso(plan.next_at) if plan.next_at else None, to_iso(now))
        # Expiry and auto-approval are state transitions with their own guarded transaction.
        for due in finals:
            action = due.timer.kind.final
            if action is FinalAction.EXPIRE_OFFER and await self.contracts.expire(contract_id):
                report.expired += 1
            elif action is FinalAction.AUTO_APPROVE and await self.deliveries.auto_approve(contract_id) is not None:
                report.auto_approved += 1
            elif action is FinalAction.REVEAL_RATINGS:
                await self._reveal(contract_id, due, now)
            elif action is FinalAction.CANCEL_UNFUNDED and await self._cancel_unfunded(contract_id, due, now):
                report.cancelled_unfunded += 1

    @staticmethod
    async def _reply_pause(conn: Conn, contract: Contract, p: Policies, now: datetime) -> Contract:
        """The worker asked in the thread and the client has not answered past
        ``reply_reminder_after``: the delivery clock stops from that moment until the client
        replies (never from before the last resume, so no time counts twice). A reply pause
        whose wait is over (the client replied, the work was delivered) ends here."""
        since = contract.awaiting_reply_since
        if contract.pause_reason == "reply" and (contract.status != _CS.ACTIVE or since is None):
            await resume_clock(conn, contract.id, now, reason="reply")
        elif (contract.paused_at is None and contract.status == _CS.ACTIVE and since is not None
              and contract.due_at is not None):
            start = since + p.duration("reply_reminder_after")
            if contract.resumed_at is not None and contract.resumed_at > start:
                start = contract.resumed_at
            if start > now or contract.due_at <= start:  # not yet, or the work was already late
                return contract
            await pause_clock(conn, contract, start, "reply")
        else:
            return contract
        reloaded = await repo.get_contract(conn, contract.id)
        assert reloaded is not None
        return reloaded

    async def _plan(self, conn: Conn, contract: Contract, p: Policies, now: datetime, *,
                    has_declared: bool = True) -> Plan:
        plan = Plan()
        for timer, anchor in await self._running(conn, contract, has_declared=has_declared):
            plan_timer(plan, contract.id, timer, anchor, now, p)
        # the reveal is recorded by its own transaction, after this one: once done, it is not due again
        plan.finals = [due for due in plan.finals
                       if due.timer.kind.final is not FinalAction.REVEAL_RATINGS
                       or not await timers_repo.has_fired(conn, due.key)]
        return plan

    @staticmethod
    async def _running(conn: Conn, contract: Contract, *, has_declared: bool) -> list[tuple[TimerKey, datetime]]:
        """The timers ``contract`` runs now, each with its anchor (the moment its wait began,
        or for the deadline the due moment). What each one does is in the ``TimerKind`` table."""
        running: list[tuple[TimerKey, datetime]] = []
        status = contract.status
        # a paused clock (a case open, the client silent) neither reminds, escalates nor auto-approves
        paused = contract.paused_at is not None
        if status == _CS.OFFERED:
            running.append((TimerKey(OFFER), contract.clock_at))
        elif status == _CS.AWAITING_FUNDING:
            running.append((TimerKey(ESCROW), contract.clock_at))
            # once the escrow escalation has fired, the contract expires if it stays unfunded
            escalation_key = fire_key(contract.id, ESCROW.name, contract.clock_at, "final", 0)
            escalated = await timers_repo.fired_at(conn, escalation_key)
            if escalated is not None:
                running.append((TimerKey(UNFUNDED), escalated))
        elif status == _CS.DELIVERED:
            extra = await repo.pending_extra_revision(conn, contract.id)
            if extra is not None:
                # the client asked for a revision beyond the included ones: the worker decides,
                # and the client's review clock waits (it starts again if the worker declines)
                running.append((TimerKey(REVISION, extra.id), extra.created_at))
            elif not paused:
                running.append((TimerKey(REVIEW), contract.clock_at))
        elif status == _CS.ACTIVE and contract.due_at is not None and not paused:
            running.append((TimerKey(DEADLINE), contract.due_at))
        if status in REPLY_STATES and contract.awaiting_reply_since is not None:
            running.append((TimerKey(REPLY), contract.awaiting_reply_since))
        for deposit in await repo.deposits(conn, contract.id) if has_declared else ():
            if deposit.status == "declared":
                running.append((TimerKey(DEPOSIT, deposit.id), deposit.declared_at))
        for case in await cases_repo.open_cases_for_contract(conn, contract.id):
            if case.kind == "report":  # about a person, possibly a moderator: never re-pinged in the mod channel
                continue
            running.append((TimerKey(CASE, case.id), case.acted_at or case.created_at))
        if (status in SETTLED_STATES and contract.closed_at is not None
                and await repo.count_ratings(conn, contract.id) == 1):
            running.append((TimerKey(REVEAL), contract.closed_at))
        return running

    async def _remind(self, conn: Conn, contract: Contract, due: Due, now: datetime) -> None:
        args: dict[str, Any] = {"repeat": due.repeat + 1, "due_at": to_iso(contract.due_at) if contract.due_at else "-"}
        timer = due.timer
        before = timer.kind.before
        notices = (before.notice,) if due.stage == "before" and before is not None else timer.kind.reminders
        for notice in notices:
            buttons = notice.buttons_for(contract.id, timer.target_id)
            if notice.recipient is Recipient.MODERATORS:
                await enqueue(conn, guild_id=contract.guild_id, target="mod", contract_id=contract.id,
                              message_key=notice.message_key, now=now,
                              args={"contract_id": contract.id, "target_id": timer.target_id or "-", **args},
                              buttons=buttons)
            else:
                await notify(conn, contract, notice.message_key, now, to=party(notice.recipient, contract),
                             buttons=buttons, **args)

    async def _escalate(self, conn: Conn, contract: Contract, escalation: Escalation, now: datetime) -> None:
        (subject,) = party(escalation.subject, contract)
        await self.cases.open_escalation(conn, contract, reason_kind=escalation.reason_kind, subject_id=subject,
                                         now=now)

    async def _cancel_unfunded(self, contract_id: int, due: Due, now: datetime) -> bool:
        """Cancel a contract still unfunded ``unfunded_expires_after`` past its escrow escalation:
        both parties are told, the escalation is settled with a note to the moderators, and the
        position on the job is free again. The event marks the cancellation as the client's
        (the time-to-fund figure counts the wait)."""
        async with self.db.transaction() as conn:
            contract = await repo.get_contract(conn, contract_id)
            if contract is None or contract.status != _CS.AWAITING_FUNDING:
                return False
            if not await timers_repo.record_fire(conn, key=due.key, guild_id=contract.guild_id, contract_id=contract.id,
                                          kind=due.kind, now=to_iso(now)):
                return False
            target = transition(CONTRACT_TRANSITIONS, "contract", contract.status, "expire_unfunded", Role.SYSTEM)
            await repo.close(conn, contract.id, contract.status, target, now)
            await free_position(conn, contract, now)
            await settle_cases(conn, contract, now, why="unfunded_expired", actor_id=None)
            await retire(conn, contract, now, "*")
            await record_event(conn, guild_id=contract.guild_id, contract_id=contract.id, job_id=contract.job_id,
                               kind="contract.unfunded_expired", now=now)
            await notify(conn, contract, "notify.unfunded_expired", now, to=(contract.client_id, contract.worker_id))
            await post_thread(conn, contract, "thread.unfunded_expired", now)
        log.info("guild %s contract %s cancelled: never funded", contract.guild_id, contract_id)
        return True

    async def _reveal(self, contract_id: int, due: Due, now: datetime) -> None:
        notice = due.timer.kind.final_notice
        assert notice is not None
        async with self.db.transaction() as conn:
            contract = await repo.get_contract(conn, contract_id)
            if contract is None:
                return
            if await timers_repo.record_fire(conn, key=due.key, guild_id=contract.guild_id, contract_id=contract.id,
                                      kind=due.kind, now=to_iso(now)):
                await notify(conn, contract, notice.message_key, now, to=party(notice.recipient, contract))
            await repo.touch_timer(conn, contract.id)  # planned again: nothing left, the timer ends
