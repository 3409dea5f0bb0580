"""Moderator cases: escalations, disputes, reports, and the one-click decisions on them."""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any

from bot.clock import Clock
from bot.db import Conn, Database
from bot.errors import InvalidInput, NotAllowed, NotFound, WrongState
from bot.models.durations import DurationError, parse_duration
from bot.models.entities import Case, Contract, Deposit
from bot.models.states import (
    CONTRACT_TRANSITIONS,
    FUNDED_STATES,
    UNFUNDED_STATES,
    ContractStatus,
    Role,
)
from bot.models.timeutil import to_iso
from bot.repositories import cases as repo
from bot.repositories import contracts as contracts_repo
from bot.repositories.audit import record_event
from bot.repositories.ledger import DEPOSITS_EXTERNAL, escrow_account, post_ledger
from bot.repositories.outbox import enqueue, retire_buttons
from bot.services import settlement
from bot.services.common import check_cooldown, clean_text, transition
from bot.services.guilds import GuildService
from bot.services.steps import (
    free_position,
    load_contract,
    notify,
    pause_clock,
    post_thread,
    resume_after_cases,
    resume_clock,
    role_of,
)

if TYPE_CHECKING:  # contracts.py imports settle_cases from here
    from bot.services.contracts import ContractService

log = logging.getLogger(__name__)
_CS = ContractStatus

MONEY_ACTIONS = frozenset({"release", "refund", "split", "cancel"})
# how a moderator closes a report: upheld reports count in the reported user's figures
REPORT_OUTCOMES = frozenset({"uphold", "dismiss"})
ALL_ACTIONS = ("nudge", "extend", "cancel", "release", "refund", "split", "close", "uphold", "dismiss")
MAX_EXTEND = timedelta(days=60)


@dataclass(frozen=True, slots=True)
class CancelOutcome:
    contract: Contract
    case: Case | None


# Why an open case was settled without a moderator: the wait it was opened for is over.
SETTLED_BY = frozenset({"funded", "topup_declared", "delivered", "replied", "approved", "auto_approved",
                        "cancelled", "unfunded_expired"})


async def settle_cases(conn: Conn, contract: Contract, now: datetime, *, why: str, actor_id: int | None,
                       reason_kinds: frozenset[str] | None = None) -> None:
    """The parties did what an open case on this contract waited for (the client funded,
    the worker delivered, the client replied, the delivery was approved): the case is settled,
    its card's buttons are greyed out and the moderators get a note saying why. With
    ``reason_kinds``, only cases of those reasons (an escalation of silence); otherwise all."""
    assert why in SETTLED_BY, why
    for case in await repo.open_cases_for_contract(conn, contract.id):
        if case.kind == "report" or (reason_kinds is not None and case.reason_kind not in reason_kinds):
            continue  # a report is about a person, not the wait: a moderator decides it
        if not await repo.resolve(conn, case.id, resolution="settled", moderator_id=None, note=why, now=now):
            continue
        await record_event(conn, guild_id=contract.guild_id, contract_id=contract.id, case_id=case.id,
                           kind="case.settled", now=now, actor_id=actor_id, why=why)
        await retire_buttons(conn, guild_id=contract.guild_id, specs=[f"case:{case.id}:*"], now=now,
                             contract_id=contract.id, case_id=case.id)
        await enqueue(conn, guild_id=contract.guild_id, target="mod", case_id=case.id, contract_id=contract.id,
                      message_key=f"mod.case_settled.{why}", now=now,
                      args={"case_id": case.id, "contract_id": contract.id})
    await resume_after_cases(conn, contract.id, now)


def available_actions(case: Case, contract: Contract | None) -> list[str]:
    """The case-card buttons that fit the contract's state. A report closes as upheld or
    dismissed (instead of Close); one naming a contract also has the contract's buttons."""
    if case.status != "open":
        return []
    closing = ["uphold", "dismiss"] if case.kind == "report" else ["close"]
    if contract is None:
        return closing
    actions = ["nudge"]
    if contract.status in {*UNFUNDED_STATES, _CS.ACTIVE, _CS.DELIVERED, _CS.DISPUTED}:
        actions.append("extend")
    if contract.status in UNFUNDED_STATES:
        actions.append("cancel")
    if contract.status in FUNDED_STATES:
        actions += ["release", "refund", "split"]
    return actions + closing


class CaseService:
    def __init__(self, db: Database, clock: Clock, guilds: GuildService, contracts: ContractService) -> None:
        self.db = db
        self.clock = clock
        self.guilds = guilds
        self.contracts = contracts

    # -- opening -------------------------------------------------------------------

    async def open_case(self, conn: Conn, contract: Contract | None, *, guild_id: int, kind: str, reason_kind: str,
                        subject_id: int | None, opened_by: int | None, reason: str | None,
                        now: datetime) -> Case | None:
        """Open a case and post its card to the mod channel; None if one is already open."""
        case_id = await repo.open_case(conn, guild_id=guild_id, contract_id=contract.id if contract else None,
                                       kind=kind, reason_kind=reason_kind, opened_by=opened_by,
                                       subject_id=subject_id, reason=reason, now=now)
        if case_id is None:
            return None
        case = await repo.get_case(conn, case_id)
        assert case is not None
        await record_event(conn, guild_id=guild_id, contract_id=contract.id if contract else None, case_id=case_id,
                           kind=f"case.opened.{reason_kind}", now=now, actor_id=opened_by, subject_id=subject_id)
        await enqueue(conn, guild_id=guild_id, target="mod", case_id=case_id,
                      contract_id=contract.id if contract else None, message_key=f"case.card.{reason_kind}", now=now,
                      args={"case_id": case_id, "contract_id": contract.id if contract else "-",
                            "subject_id": subject_id or "-", "reason": reason or "-"},
                      buttons=[f"case:{case_id}:{action}" for action in available_actions(case, contract)])
        if contract is not None and kind != "report":
            # the worker cannot act while the moderators decide: the deadline and review clock stop
            # (an unpaid top-up is escalated when the review clock has run out: nothing is left to stop)
            if reason_kind != "topup_unpaid":
                await pause_clock(conn, contract, now, "case")
            await notify(conn, contract, "notify.case_opened", now, to=(contract.client_id, contract.worker_id),
                         case_id=case_id)
        return case

    async def dispute(self, guild_id: int, contract_id: int, *, actor_id: int, reason: str,
                      reason_kind: str = "dispute") -> Case:
        """A party asks the moderators to decide (``cancel_request``: a cancel after a deposit).
        Each opens a case that pings the moderator role: ``dispute_cooldown`` stops open/close loops."""
        now = self.clock.now()
        text = clean_text("reason", reason)
        policies = await self.guilds.policies(guild_id)
        async with self.db.transaction() as conn:
            contract = await load_contract(conn, guild_id, contract_id)
            role = role_of(contract, actor_id)
            if role not in {Role.CLIENT, Role.WORKER}:
                raise NotAllowed("error.contract.not_party", contract_id=contract_id)
            check_cooldown(await repo.last_dispute_at(conn, guild_id, actor_id),
                           policies.duration("dispute_cooldown"), now)
            case = await self._dispute(conn, contract, role, actor_id, text, reason_kind, now)
        return case

    async def _dispute(self, conn: Conn, contract: Contract, role: Role, actor_id: int, text: str | None,
                       reason_kind: str, now: datetime) -> Case:
        if contract.status in {_CS.ACTIVE, _CS.DELIVERED}:
            target = transition(CONTRACT_TRANSITIONS, "contract", contract.status, "dispute", role)
            await contracts_repo.dispute(conn, contract.id, contract.status, target)
            # the case card's buttons must fit the disputed contract, not the one before
            contract = await load_contract(conn, contract.guild_id, contract.id)
        elif contract.status not in {_CS.FUNDING_SUBMITTED, _CS.DISPUTED}:
            raise WrongState("error.case.dispute_state", status=contract.status)
        case = await self.open_case(conn, contract, guild_id=contract.guild_id, kind="dispute",
                                    reason_kind=reason_kind, subject_id=contract.other_party(actor_id),
                                    opened_by=actor_id, reason=text, now=now)
        if case is None:
            raise WrongState("error.case.already_open", contract_id=contract.id)
        await post_thread(conn, contract, "thread.disputed", now, case_id=case.id)
        return case

    async def cancel(self, guild_id: int, contract_id: int, *, actor_id: int, reason: str) -> CancelOutcome:
        """``/contract cancel``: before a deposit it cancels; after one it opens a case."""
        async with self.db.read() as conn:
            contract = await load_contract(conn, guild_id, contract_id)
        if contract.status in {_CS.FUNDING_SUBMITTED, *FUNDED_STATES}:
            case = await self.dispute(guild_id, contract_id, actor_id=actor_id, reason=reason,
                                      reason_kind="cancel_request")
            updated = await self.contracts.get(contract_id)
            assert updated is not None
            return CancelOutcome(contract=updated, case=case)
        return CancelOutcome(contract=await self.contracts.cancel(guild_id, contract_id, actor_id=actor_id,
                                                                   reason=reason), case=None)

    async def report(self, guild_id: int, *, reporter_id: int, user_id: int, reason: str,
                     contract_id: int | None = None, to_owner: bool = False) -> Case:
        """Report a user to the moderators. The reported user is never told who reported.
        A report naming a contract (one the reporter and the reported user are the parties of)
        links it to the case: its card shows the contract and its timeline, with the contract's
        buttons, and the contract's clocks pause like for any case on it. One open report per
        reporter and contract: another is refused, naming it. ``to_owner``: the user is a
        moderator, who can read the mod channel: the card goes to the server owner's DMs
        instead (target ``owner``, bot/ui/case_cards.py)."""
        await self.guilds.require(guild_id)  # the report goes to the mod channel: there must be one
        policies = await self.guilds.policies(guild_id)
        if reporter_id == user_id:
            raise InvalidInput("error.case.report_self")
        text = clean_text("reason", reason)
        assert text is not None
        now = self.clock.now()
        async with self.db.transaction() as conn:
            contract = await load_contract(conn, guild_id, contract_id) if contract_id is not None else None
            if contract is not None:
                if role_of(contract, reporter_id) not in {Role.CLIENT, Role.WORKER}:
                    raise NotAllowed("error.contract.not_party", contract_id=contract.id)
                if contract.other_party(reporter_id) != user_id:
                    raise InvalidInput("error.report.not_other_party", contract_id=contract.id)
                existing = await repo.open_report_on(conn, contract.id, reporter_id)
                if existing is not None:
                    raise WrongState("error.report.already_open", case_id=existing.id, contract_id=contract.id)
            check_cooldown(await repo.last_report_at(conn, guild_id, reporter_id),
                           policies.duration("report_cooldown"), now)
            case_id = await repo.open_report(conn, guild_id=guild_id, contract_id=contract.id if contract else None,
                                             reporter_id=reporter_id, subject_id=user_id, reason=text, now=now)
            if case_id is None:  # a report of the same reporter in a race: the index refused it
                raise WrongState("error.report.already_open", case_id="?", contract_id=contract_id)
            if contract is not None:
                # a report about a contract stops its clocks like any other case on it
                await pause_clock(conn, contract, now, "case")
            case = await repo.get_case(conn, case_id)
            assert case is not None
            # not in the contract's history, which the reported party reads
            await record_event(conn, guild_id=guild_id, case_id=case_id, kind="case.opened.report", now=now,
                               actor_id=reporter_id, subject_id=user_id,
                               contract_id_reported=contract.id if contract else None)
            # the card is the case's row only: a contract's retired buttons must not grey out Uphold / Dismiss
            await enqueue(conn, guild_id=guild_id, target="owner" if to_owner else "mod", case_id=case_id,
                          message_key="case.card.report",
                          now=now, args={"case_id": case_id, "subject_id": user_id, "reporter_id": reporter_id,
                                         "contract_id": contract.id if contract else "-", "reason": text},
                          buttons=[f"case:{case_id}:{action}" for action in available_actions(case, contract)])
        log.info("guild %s case %s: report filed", guild_id, case_id)
        return case

    async def escalate(self, contract_id: int, *, reason_kind: str, subject_id: int) -> Case | None:
        """:meth:`open_escalation` in a transaction of its own. None if already open."""
        now = self.clock.now()
        async with self.db.transaction() as conn:
            contract = await contracts_repo.get_contract(conn, contract_id)
            if contract is None:
                return None
            return await self.open_escalation(conn, contract, reason_kind=reason_kind, subject_id=subject_id,
                                              now=now)

    async def open_escalation(self, conn: Conn, contract: Contract, *, reason_kind: str, subject_id: int,
                              now: datetime) -> Case | None:
        """The sweep's: a party went silent past the policy. In the caller's transaction, so the
        case opens together with the record that it fired. None if already open."""
        return await self.open_case(conn, contract, guild_id=contract.guild_id, kind="escalation",
                                    reason_kind=reason_kind, subject_id=subject_id, opened_by=None, reason=None,
                                    now=now)

    # -- reading ----------------------------------------------------------------------

    async def list(self, guild_id: int, status: str | None = "open", *, viewer_id: int | None = None) -> list[Case]:
        """The guild's cases; a moderator (``viewer_id``) does not see the cases about themselves."""
        if status not in {None, "open", "resolved"}:
            raise InvalidInput("error.case.bad_status", status=status)
        async with self.db.read() as conn:
            found = await repo.list_cases(conn, guild_id, status)
        return [case for case in found if viewer_id is None or case.subject_id != viewer_id]

    async def get(self, guild_id: int, case_id: int) -> tuple[Case, Contract | None]:
        async with self.db.read() as conn:
            case = await repo.get_case(conn, case_id)
            if case is None or case.guild_id != guild_id:
                raise NotFound("error.case.not_found", case_id=case_id)
            contract = await contracts_repo.get_contract(conn, case.contract_id) if case.contract_id else None
        return case, contract

    async def set_mod_message(self, case_id: int, message_id: int) -> None:
        async with self.db.transaction() as conn:
            await repo.set_field(conn, case_id, mod_message_id=message_id)

    # -- deciding ------------------------------------------------------------------------

    async def check_action(self, guild_id: int, case_id: int, *, moderator_id: int, action: str) -> Deposit | None:
        """Refuse early (before a moderator types a reason) what :meth:`act` would refuse:
        a moderator who is a party, a resolved case, an action that no longer fits. For a cancel,
        the deposit declared and not confirmed, if any: the moderator must say whether it arrived."""
        async with self.db.read() as conn:
            _, contract = await self._actionable(conn, guild_id, case_id, moderator_id, action)
            if action != "cancel" or contract is None:
                return None
            declared = [d for d in await contracts_repo.deposits(conn, contract.id) if d.status == "declared"]
        return declared[0] if declared else None

    @staticmethod
    async def _actionable(conn: Conn, guild_id: int, case_id: int, moderator_id: int,
                          action: str) -> tuple[Case, Contract | None]:
        case = await repo.get_case(conn, case_id)
        if case is None or case.guild_id != guild_id:
            raise NotFound("error.case.not_found", case_id=case_id)
        if moderator_id in {case.opened_by, case.subject_id}:
            raise NotAllowed("error.mod.party", case_id=case_id)
        contract = await contracts_repo.get_contract(conn, case.contract_id) if case.contract_id else None
        if contract is not None and role_of(contract, moderator_id) is not Role.OUTSIDER:
            raise NotAllowed("error.mod.party", case_id=case_id)
        if case.status != "open":
            raise WrongState("error.case.closed", case_id=case_id)
        if action not in available_actions(case, contract):
            raise WrongState("error.case.action_state", action=action,
                             status=contract.status if contract else case.status)
        return case, contract

    async def act(self, guild_id: int, case_id: int, *, moderator_id: int, action: str, reason: str | None = None,
                  percent: int | None = None, extend: str | None = None,
                  deposit_arrived: bool | None = None) -> Case:
        """One moderator decision on a case. Money decisions need a reason; every action records
        who, when and why; both parties are told the outcome. A cancel while a deposit is declared
        needs ``deposit_arrived``: whether the money reached the operators."""
        if action not in ALL_ACTIONS:
            raise InvalidInput("error.case.bad_action", action=action)
        note = clean_text("reason", reason, required=action in MONEY_ACTIONS or action in REPORT_OUTCOMES)
        now = self.clock.now()
        async with self.db.transaction() as conn:
            case, contract = await self._actionable(conn, guild_id, case_id, moderator_id, action)
            if action == "nudge":
                await self._nudge(conn, case, contract, moderator_id, note, now)
            else:
                assert contract is not None or action == "close" or action in REPORT_OUTCOMES
                detail = await self._decide(conn, case, contract, action, moderator_id, note, percent, extend, now,
                                            deposit_arrived)
                if not await repo.resolve(conn, case.id, resolution=action, moderator_id=moderator_id, note=note,
                                          now=now):
                    raise WrongState("error.case.closed", case_id=case_id)
                await retire_buttons(conn, guild_id=guild_id, now=now, contract_id=case.contract_id, case_id=case.id,
                     specs=["*"] if action in MONEY_ACTIONS else [f"case:{case.id}:*"])
                paused = case.contract_id if case.contract_id is not None else case.linked_contract_id
                if paused is not None:
                    await resume_after_cases(conn, paused, now)
                await record_event(conn, guild_id=guild_id, case_id=case.id,
                                   contract_id=None if action in REPORT_OUTCOMES else case.contract_id,
                                   kind=f"case.{action}", now=now, actor_id=moderator_id, reason=note, **detail)
                if action in REPORT_OUTCOMES:
                    await self._report_outcome(conn, case, action, now)
                elif contract is not None:
                    refunded = detail.get("deposit") == "arrived"  # a cancel after the money arrived
                    await notify(conn, contract, "notify.case_cancel_refunded" if refunded else f"notify.case_{action}",
                                 now,
                                 to=(contract.client_id, contract.worker_id), case_id=case.id, reason=note or "-",
                                 **{k: v for k, v in detail.items() if k.endswith(("_amount", "percent", "extend"))},
                                 currency=contract.currency)
            updated = await repo.get_case(conn, case.id)
        assert updated is not None
        log.info("guild %s case %s: %s by moderator %s", guild_id, case_id, action, moderator_id)
        return updated

    @staticmethod
    async def _report_outcome(conn: Conn, case: Case, action: str, now: datetime) -> None:
        """Only the reporter hears how a report ended; the reported user is not told of it."""
        if case.opened_by is not None:
            await enqueue(conn, guild_id=case.guild_id, target="dm", recipient_id=case.opened_by, case_id=case.id,
                          message_key=f"notify.report_{action}", now=now,
                          args={"case_id": case.id, "subject_id": case.subject_id or "-"})

    async def _nudge(self, conn: Conn, case: Case, contract: Contract | None, moderator_id: int, note: str | None,
                     now: datetime) -> None:
        assert contract is not None
        await repo.set_field(conn, case.id, acted_at=to_iso(now))  # the case reminder waits from here
        subject = case.subject_id or contract.client_id
        await record_event(conn, guild_id=case.guild_id, contract_id=contract.id, case_id=case.id, kind="case.nudge",
                           now=now, actor_id=moderator_id, reason=note, subject_id=subject)
        await notify(conn, contract, f"notify.nudge.{case.reason_kind}", now, to=(subject,), case_id=case.id,
                     reason=note or "-")

    async def _decide(self, conn: Conn, case: Case, contract: Contract | None, action: str, moderator_id: int,
                      note: str | None, percent: int | None, extend: str | None,
                      now: datetime, deposit_arrived: bool | None = None) -> dict[str, Any]:
        if contract is None or action in REPORT_OUTCOMES:  # a report's outcome leaves the contract as it is
            return {}
        terms = await contracts_repo.terms(conn, contract.id, contract.terms_version)
        if action == "close":
            # the contract stays disputed while another dispute on it is still open
            other_disputes = [c for c in await repo.open_cases_for_contract(conn, contract.id)
                              if c.id != case.id and c.kind == "dispute"]
            if contract.status == _CS.DISPUTED and contract.status_before_dispute and not other_disputes:
                target = transition(CONTRACT_TRANSITIONS, "contract", contract.status,
                                    f"resume_{contract.status_before_dispute}", Role.MODERATOR)
                await self._move(conn, contract, target, now, closed=False)
            return {}
        if action == "extend":
            return await self._extend(conn, case, contract, extend, now)
        if action == "cancel":
            target = transition(CONTRACT_TRANSITIONS, "contract", contract.status, "mod_cancel", Role.MODERATOR)
            await self._move(conn, contract, target, now, closed=True)
            detail = await self._declared_at_cancel(conn, contract, moderator_id, deposit_arrived, now)
            await contracts_repo.void_declared_deposits(conn, contract.id)
            await free_position(conn, contract, now)
            await self._resolve_others(conn, contract, case, now, moderator_id)
            return detail
        target = transition(CONTRACT_TRANSITIONS, "contract", contract.status, action, Role.MODERATOR)
        if action == "release":
            result = await settlement.release(conn, contract, terms, now, moderator_id, shortfall_allowed=True)
        elif action == "refund":
            result = await settlement.refund(conn, contract, now, moderator_id)
        else:
            if percent is None or not 0 <= percent <= 100:
                raise InvalidInput("error.case.percent")
            result = await settlement.split(conn, contract, terms, percent, now, moderator_id)
        await self._move(conn, contract, target, now, closed=True)
        await contracts_repo.review_open_deliveries(conn, contract.id, "settled", now)
        # a top-up declared but not confirmed can never be confirmed on a settled contract
        await contracts_repo.void_declared_deposits(conn, contract.id)
        await self._resolve_others(conn, contract, case, now, moderator_id)
        await post_thread(conn, contract, f"thread.case_{action}", now, case_id=case.id,
                          worker_amount=result.to_worker, client_amount=result.to_client, currency=contract.currency)
        return {"worker_amount": result.to_worker, "client_amount": result.to_client, "fee_amount": result.fee,
                "percent": percent if percent is not None else "-"}

    async def _declared_at_cancel(self, conn: Conn, contract: Contract, moderator_id: int,
                                  arrived: bool | None, now: datetime) -> dict[str, Any]:
        """A cancel while a deposit is declared but not confirmed: the moderator said whether the
        money arrived. If it did, it is confirmed into escrow and the whole escrow is owed back to
        the client, in this transaction; if not, the declaration is voided with that reason. So no
        money a client really sent falls outside the books, and none comes from a declaration alone."""
        declared = [d for d in await contracts_repo.deposits(conn, contract.id) if d.status == "declared"]
        if not declared:
            if arrived is not None:  # answered, but the deposit was confirmed or voided meanwhile
                raise WrongState("error.money.cancel_answered", contract_id=contract.id)
            return {}
        if arrived is None:
            raise WrongState("error.money.cancel_ask_deposit", contract_id=contract.id)
        for deposit in declared:
            if arrived:
                await contracts_repo.confirm_deposit(conn, deposit.id, moderator_id, now)
                await record_event(conn, guild_id=contract.guild_id, contract_id=contract.id, kind="escrow.confirmed",
                                   now=now, actor_id=moderator_id, deposit_id=deposit.id, amount=deposit.amount,
                                   reason="arrived_at_cancel")
                await post_ledger(
                    conn, guild_id=contract.guild_id, contract_id=contract.id, kind="deposit",
                    key=f"deposit:{deposit.id}", currency=contract.currency, now=now, actor_id=moderator_id,
                    entries=[(escrow_account(contract.id), deposit.amount), (DEPOSITS_EXTERNAL, -deposit.amount)],
                    once_checked=True,  # read "declared" and confirmed in this transaction
                )
            else:
                await contracts_repo.void_deposit(conn, deposit.id, "nothing_arrived")
                await record_event(conn, guild_id=contract.guild_id, contract_id=contract.id, kind="escrow.voided",
                                   now=now, actor_id=moderator_id, deposit_id=deposit.id, amount=deposit.amount,
                                   reason="nothing_arrived")
        if not arrived:
            return {"deposit": "nothing_arrived"}
        result = await settlement.refund(conn, contract, now, moderator_id)
        return {"deposit": "arrived", "client_amount": result.to_client}

    async def _extend(self, conn: Conn, case: Case, contract: Contract, extend: str | None,
                      now: datetime) -> dict[str, Any]:
        try:
            delta = parse_duration(extend or "1d")
        except DurationError:
            raise InvalidInput("error.case.extend", value=extend) from None
        if not timedelta(0) < delta <= MAX_EXTEND:
            raise InvalidInput("error.case.extend", value=extend)
        if contract.status == _CS.DISPUTED and contract.status_before_dispute:
            # a dispute extended: the contract goes back to work (or review) with more time
            target = transition(CONTRACT_TRANSITIONS, "contract", contract.status,
                                f"resume_{contract.status_before_dispute}", Role.MODERATOR)
            await self._move(conn, contract, target, now, closed=False)
        if not [c for c in await repo.open_cases_for_contract(conn, contract.id) if c.id != case.id]:
            # the time left resumes first; the extension comes on top of it
            await resume_clock(conn, contract.id, now)
        contract = await load_contract(conn, contract.guild_id, contract.id)
        # more time for the wait the case is about, and only that one: extending a silent
        # client's reply must not also delay the auto-approval of a delivery
        timer_round = contract.timer_round + 1
        if case.reason_kind == "reply_silent" and contract.awaiting_reply_since is not None:
            await contracts_repo.extend_reply_wait(conn, contract.id, contract.status,
                                                   max(contract.awaiting_reply_since, now) + delta, timer_round)
        else:  # the contract's own wait: funding, review, or the work and its deadline
            due_at: datetime | None = None
            if contract.due_at is not None and contract.status == _CS.ACTIVE:
                due_at = max(contract.due_at, now) + delta
            await contracts_repo.extend_clock(conn, contract.id, contract.status, max(contract.clock_at, now) + delta,
                                              due_at, timer_round)
        return {"extend": extend or "1d"}

    async def _move(self, conn: Conn, contract: Contract, target: str, now: datetime, *, closed: bool) -> None:
        if closed:
            await contracts_repo.close(conn, contract.id, contract.status, target, now)
        else:
            await contracts_repo.set_status(conn, contract.id, contract.status, target)

    async def _resolve_others(self, conn: Conn, contract: Contract, decided: Case, now: datetime,
                              moderator_id: int) -> None:
        for other in await repo.open_cases_for_contract(conn, contract.id):
            if other.id != decided.id and other.kind != "report":
                await repo.resolve(conn, other.id, resolution="settled", moderator_id=moderator_id,
                                   note=f"case {decided.id}", now=now)
