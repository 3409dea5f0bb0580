"""Contracts: offer, accept, decline, withdraw, expire, cancel; thread activity.

:class:`ContractService` is the one service object for a contract's use cases; the topics
that made this file too long live in mixins it inherits, so callers still reach them as
``services.contracts.<method>``:

- bot/services/amendments.py (:class:`AmendmentSteps`): propose, answer and apply amendments,
  a revision request outside the scope;
- bot/services/extensions.py (:class:`ExtensionSteps`): deadline extensions.

Steps shared with other services (loading a contract, a user's role, ``require_party``...)
are in bot/services/steps.py.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, replace
from datetime import datetime

from bot.clock import Clock
from bot.db import Conn, Database
from bot.errors import InvalidInput, NotAllowed, NotFound, WrongState
from bot.models.entities import Contract, Job, Terms
from bot.models.money import fee_split
from bot.models.states import (
    APPLICATION_TRANSITIONS,
    CONTRACT_TRANSITIONS,
    FUNDED_STATES,
    JOB_TRANSITIONS,
    NEXT_STEPS,
    SETTLED_STATES,
    ApplicationStatus,
    ContractStatus,
    JobStatus,
    Role,
)
from bot.models.terms import (
    DEFAULT_REVISIONS,
    MAX_REVISIONS,
    Deadline,
)
from bot.models.timeutil import local_today, to_iso
from bot.repositories import contracts as repo
from bot.repositories import jobs as jobs_repo
from bot.repositories.audit import record_event
from bot.repositories.outbox import enqueue, last_dm_outcomes
from bot.services.amendments import AMENDABLE, AmendmentSteps
from bot.services.cases import settle_cases
from bot.services.common import Amount, clean_text, parse_amount, parse_deadline, transition
from bot.services.extensions import ExtensionSteps
from bot.services.guilds import GuildService
from bot.services.steps import (
    REPLY_STATES,
    free_position,
    load_contract,
    notify,
    post_thread,
    require_party,
    resume_clock,
    retire,
    role_of,
    user_zone,
    withdraw_open_offers,
)

log = logging.getLogger(__name__)

_CS = ContractStatus


@dataclass(frozen=True, slots=True)
class ContractView:
    contract: Contract
    terms: Terms
    job_title: str
    # at acceptance: the parties whose last DM from the bot arrived / fell back (DMs closed)
    dm_open: frozenset[int] = frozenset()
    dm_closed: frozenset[int] = frozenset()

    @property
    def fee_and_payout(self) -> tuple[int, int]:
        return fee_split(self.terms.price, self.terms.fee_percent)


# Autocomplete purposes that are not a single transition of the contract state machine.
_PURPOSE_STATES: dict[str, frozenset[ContractStatus]] = {
    "rate": SETTLED_STATES,
    "dispute": frozenset({ContractStatus.FUNDING_SUBMITTED, ContractStatus.ACTIVE, ContractStatus.DELIVERED}),
    "amend": AMENDABLE,
    # /contract cancel: an offer is withdrawn or declined, before funding it cancels, after a
    # deposit it opens a case
    "cancel": AMENDABLE | {ContractStatus.OFFERED},
}


def _suits(contract: Contract, user_id: int, purpose: str) -> bool:
    role = role_of(contract, user_id)
    if purpose == "extend":  # only the worker asks for more time, while working
        return role is Role.WORKER and contract.status == ContractStatus.ACTIVE
    if purpose in _PURPOSE_STATES:
        return role in {Role.CLIENT, Role.WORKER} and contract.status in _PURPOSE_STATES[purpose]
    allowed = CONTRACT_TRANSITIONS.get((contract.status, purpose))
    return allowed is not None and role in allowed.roles


class ContractService(AmendmentSteps, ExtensionSteps):
    def __init__(self, db: Database, clock: Clock, guilds: GuildService) -> None:
        self.db = db
        self.clock = clock
        self.guilds = guilds

    # -- reading ----------------------------------------------------------------

    async def view(self, guild_id: int, contract_id: int, *, viewer_id: int,
                   is_moderator: bool = False) -> ContractView:
        async with self.db.read() as conn:
            contract = await load_contract(conn, guild_id, contract_id)
            if role_of(contract, viewer_id, is_moderator=is_moderator) is Role.OUTSIDER:
                raise NotAllowed("error.contract.not_party", contract_id=contract_id)
            terms = await repo.terms(conn, contract.id, contract.terms_version)
            job = await jobs_repo.get_job(conn, contract.job_id)
        assert job is not None
        return ContractView(contract=contract, terms=terms, job_title=job.title)

    async def get(self, contract_id: int) -> Contract | None:
        async with self.db.read() as conn:
            return await repo.get_contract(conn, contract_id)

    async def list_for(self, guild_id: int, user_id: int, status: str | None = None) -> list[Contract]:
        if status is not None and status not in {s.value for s in ContractStatus}:
            raise InvalidInput("error.contract.bad_status", status=status)
        async with self.db.read() as conn:
            return await repo.contracts_of(conn, guild_id, user_id, status, limit=25)

    async def next_steps(self, guild_id: int, user_id: int, limit: int = 10) -> list[tuple[Contract, str]]:
        """The user's open contracts, each with what is expected of them next (NEXT_STEPS),
        the ones waiting on this user first."""
        async with self.db.read() as conn:
            contracts = await repo.open_contracts_of(conn, guild_id, user_id, limit)
        steps = [(c, NEXT_STEPS[(c.status, role_of(c, user_id))]) for c in contracts]
        return sorted(steps, key=lambda pair: pair[1].startswith("wait_"))

    async def suggest(self, guild_id: int, user_id: int, text: str, *, purpose: str | None = None,
                      is_moderator: bool = False) -> list[Contract]:
        """Autocomplete: the user's contracts, newest first, matching the typed id. With a
        ``purpose`` (a contract action such as ``deliver`` or ``approve``, or ``rate`` /
        ``dispute``), only those on which the user's role may do that now. Without one (view,
        history, escrow status), a moderator, who may view any contract, also gets the guild's
        other contracts, newest first, after their own (25 in all)."""
        digits = "".join(ch for ch in text if ch.isdigit())
        async with self.db.read() as conn:
            found = await repo.contracts_of(conn, guild_id, user_id, None, limit=25 if purpose is None else 200,
                                            text=digits)
            if purpose is None and is_moderator and len(found) < 25:
                others = await repo.guild_contracts(conn, guild_id, limit=25, text=digits, excluding=user_id)
                found = [*found, *others][:25]
        if purpose is None:
            return found
        return [c for c in found if _suits(c, user_id, purpose)][:25]

    async def guild_of(self, resource: str, target_id: int) -> int:
        """The guild a contract, amendment, revision request, case or job belongs to: a button
        clicked in a DM carries no guild, so the target decides. NotFound if there is none."""
        async with self.db.read() as conn:
            guild_id = await repo.guild_of(conn, resource, target_id)
        if guild_id is None:
            raise NotFound(f"error.{resource}.not_found", **{f"{resource}_id": target_id})
        return guild_id

    async def thread_id_of(self, contract_id: int) -> int | None:
        contract = await self.get(contract_id)
        return contract.thread_id if contract else None

    async def set_thread(self, contract_id: int, thread_id: int) -> None:
        async with self.db.transaction() as conn:
            await repo.set_thread(conn, contract_id, thread_id)

    async def forget_thread(self, contract_id: int, thread_id: int) -> bool:
        """The contract's thread was deleted on Discord: forget it (and its pinned card), so
        the next message opens a new one. False if the contract had another thread by then."""
        async with self.db.transaction() as conn:
            forgotten = await repo.forget_thread(conn, contract_id, thread_id)
        if forgotten:
            log.warning("contract %s: thread %s is gone; a new one opens with the next message", contract_id,
                        thread_id)
        return forgotten

    async def set_terms_message(self, contract_id: int, message_id: int) -> None:
        async with self.db.transaction() as conn:
            await repo.set_terms_message(conn, contract_id, message_id)

    async def awaiting_reply(self, limit: int = 1000) -> list[Contract]:
        """Contracts whose worker waits for the client in the thread (for the start-up catch-up
        on messages written while the bot was down)."""
        async with self.db.read() as conn:
            return await repo.awaiting_reply(conn, REPLY_STATES, limit)

    async def record_thread_message(self, thread_id: int, author_id: int, at: datetime) -> None:
        """Track who spoke last in the contract thread (author and time only, never content)."""
        async with self.db.read() as conn:
            seen = await repo.contract_by_thread(conn, thread_id)
        if seen is None or author_id not in {seen.client_id, seen.worker_id}:
            return  # not a contract thread, or a moderator / the bot: nothing to write
        async with self.db.transaction() as conn:
            contract = await repo.contract_by_thread(conn, thread_id)
            if contract is None:
                return
            if author_id == contract.worker_id and contract.awaiting_reply_since is None:
                await repo.start_awaiting_reply(conn, contract.id, at)
                await repo.touch_timer(conn, contract.id)
            elif author_id == contract.client_id and contract.awaiting_reply_since is not None:
                await repo.stop_awaiting_reply(conn, contract.id)
                await settle_cases(conn, contract, at, why="replied", actor_id=author_id,
                                   reason_kinds=frozenset({"reply_silent"}))
                # the worker's delivery clock, stopped while the client was silent, runs again
                await resume_clock(conn, contract.id, at, reason="reply")

    # -- offer and answer --------------------------------------------------------

    async def offer(
        self,
        guild_id: int,
        client_id: int,
        job_id: int,
        worker_id: int,
        *,
        price: Amount | None = None,
        deadline: str | None = None,
        revisions: int | None = None,
        scope: str | None = None,
    ) -> ContractView:
        """Offer terms to an applicant; defaults come from the job and the application."""
        policies = await self.guilds.policies(guild_id)
        now = self.clock.now()
        if worker_id == client_id:
            raise InvalidInput("error.contract.self_hire")
        if revisions is not None and not 0 <= revisions <= MAX_REVISIONS:
            raise InvalidInput("error.contract.revisions", maximum=MAX_REVISIONS)
        async with self.db.transaction() as conn:
            job = await jobs_repo.get_job(conn, job_id)
            if job is None or job.guild_id != guild_id:
                raise NotFound("error.job.not_found", job_id=job_id)
            if job.client_id != client_id:
                raise NotAllowed("error.job.not_client", job_id=job_id)
            if job.status != JobStatus.OPEN:
                raise WrongState("error.contract.job_not_open", job_id=job_id, status=job.status)
            application = await jobs_repo.application_of(conn, job_id, worker_id)
            if application is None:
                raise InvalidInput("error.contract.no_application", job_id=job_id, worker_id=worker_id)
            if application.status != ApplicationStatus.PENDING:
                raise WrongState("error.contract.application_state", status=application.status)
            amount = (
                parse_amount("price", price, job.currency, max_major=policies.integer("max_budget"))
                if price is not None
                else application.price
            )
            zone = await user_zone(conn, guild_id, client_id)
            terms_deadline = (
                parse_deadline(deadline, local_today(now, zone), zone) if deadline is not None
                else Deadline(days=application.days) if application.days else job.deadline
            )
            if terms_deadline.on is not None and terms_deadline.on <= local_today(now, terms_deadline.tz or "UTC"):
                raise InvalidInput("error.deadline.invalid", value=terms_deadline.text())
            scope_text = clean_text("scope", scope if scope is not None else f"{job.title}\n\n{job.description}")
            assert scope_text is not None
            target = transition(APPLICATION_TRANSITIONS, "application", application.status, "offer", Role.CLIENT)
            await jobs_repo.set_application_status(conn, application.id, application.status, target, now)
            contract = await repo.insert_contract(
                conn, guild_id=guild_id, job_id=job_id, application_id=application.id, client_id=client_id,
                worker_id=worker_id, status=_CS.OFFERED.value, currency=job.currency, terms_version=1,
                clock_at=to_iso(now), offered_at=to_iso(now), timer_due_at=repo.TIMER_NOW,
            )
            contract_id = contract.id
            days, on = terms_deadline.columns()
            terms = await repo.insert_terms(
                conn, contract_id=contract_id, version=1, scope=scope_text, price=amount, deadline_days=days,
                deadline_date=on, deadline_tz=terms_deadline.tz,
                revisions_included=DEFAULT_REVISIONS if revisions is None else revisions,
                fee_percent=policies.integer("fee_percent"), created_by=client_id, created_at=to_iso(now),
            )
            offered = ContractView(contract=contract, terms=terms, job_title=job.title)
            await record_event(conn, guild_id=guild_id, contract_id=contract_id, job_id=job_id,
                               kind="contract.offered", now=now, actor_id=client_id, price=amount,
                               deadline=terms_deadline.text())
            await notify(conn, contract, "notify.offer_received", now, to=(worker_id,),
                         buttons=(f"contract:{contract_id}:accept", f"contract:{contract_id}:decline"),
                         title=job.title, price_amount=amount, currency=job.currency,
                         deadline=terms_deadline.text(), client_id=client_id)
        log.info("guild %s contract %s offered by %s to %s", guild_id, contract_id, client_id, worker_id)
        return offered

    async def accept(self, guild_id: int, contract_id: int, *, actor_id: int) -> ContractView:
        now = self.clock.now()
        async with self.db.transaction() as conn:
            contract = await load_contract(conn, guild_id, contract_id)
            role = role_of(contract, actor_id)
            require_party(contract, role)
            target = transition(CONTRACT_TRANSITIONS, "contract", contract.status, "accept", role)
            job = await jobs_repo.get_job(conn, contract.job_id)
            assert job is not None and contract.application_id is not None
            # another offer filled the last position (or the job was closed): no over-hiring
            if job.status != JobStatus.OPEN:
                raise WrongState("error.contract.job_not_open", job_id=job.id, status=job.status)
            await repo.accept(conn, contract.id, contract.status, target, now)
            await jobs_repo.set_application_status(conn, contract.application_id, ApplicationStatus.OFFERED,
                                                   ApplicationStatus.HIRED, now, checked=False)
            await self._take_position(conn, job, now)
            terms = await repo.terms(conn, contract.id, contract.terms_version)
            await retire(conn, contract, now, f"contract:{contract.id}:*")
            await record_event(conn, guild_id=guild_id, contract_id=contract.id, job_id=job.id,
                               kind="contract.accepted", now=now, actor_id=actor_id)
            await notify(conn, contract, "notify.offer_accepted_client", now, to=(contract.client_id,),
                         buttons=(f"escrow:{contract.id}:deposit",), title=job.title, worker_id=contract.worker_id,
                         price_amount=terms.price, currency=contract.currency)
            await post_thread(conn, contract, "thread.opened", now, title=job.title,
                              client_id=contract.client_id, worker_id=contract.worker_id)
            # Can the bot DM both parties? Discord tells only by a DM that fails, so the answer
            # is how the last DM to each went. Whoever has DMs closed is told at once, in the
            # thread, that the reminders of this contract will come there.
            dm_open, dm_closed = set(), set()
            outcomes = await last_dm_outcomes(conn, (contract.client_id, contract.worker_id))
            for party in (contract.client_id, contract.worker_id):
                outcome = outcomes.get(party)
                if outcome == "sent":
                    dm_open.add(party)
                elif outcome is not None:
                    dm_closed.add(party)
                    await enqueue(conn, guild_id=guild_id, target="thread", contract_id=contract.id,
                                  recipient_id=party, message_key="thread.dms_closed", now=now,
                                  args={"contract_id": contract.id})
            accepted = replace(contract, status=ContractStatus(target), accepted_at=now, clock_at=now)
        log.info("guild %s contract %s accepted", guild_id, contract_id)
        return ContractView(contract=accepted, terms=terms, job_title=job.title, dm_open=frozenset(dm_open),
                            dm_closed=frozenset(dm_closed))

    async def _take_position(self, conn: Conn, job: Job, now: datetime) -> None:
        fills = job.filled + 1 >= job.positions and job.status == JobStatus.OPEN
        target = transition(JOB_TRANSITIONS, "job", job.status, "fill", Role.SYSTEM) if fills else job.status
        await jobs_repo.take_position(conn, job.id, target)
        if fills:
            await record_event(conn, guild_id=job.guild_id, job_id=job.id, kind="job.filled", now=now)
            await withdraw_open_offers(conn, job, now, reason="job_filled")
            for application in await jobs_repo.applications_for_job(conn, job.id):
                if application.status == ApplicationStatus.PENDING:
                    await jobs_repo.set_application_status(conn, application.id, application.status,
                                                           ApplicationStatus.REJECTED, now)
                    await enqueue(conn, guild_id=job.guild_id, target="dm", recipient_id=application.worker_id,
                                  job_id=job.id, message_key="notify.job_filled_applicant", now=now,
                                  args={"job_id": job.id, "title": job.title})
        await enqueue(conn, guild_id=job.guild_id, target="board", job_id=job.id, message_key="board.job", now=now)

    async def decline(self, guild_id: int, contract_id: int, *, actor_id: int, reason: str | None = None) -> Contract:
        return await self._end_offer(guild_id, contract_id, actor_id, "decline", reason)

    async def withdraw(self, guild_id: int, contract_id: int, *, actor_id: int) -> Contract:
        return await self._end_offer(guild_id, contract_id, actor_id, "withdraw", None)

    async def expire(self, contract_id: int) -> bool:
        """The scheduler's: an offer not answered in time. False if it was answered meanwhile."""
        contract = await self.get(contract_id)
        if contract is None or contract.status != _CS.OFFERED:
            return False
        try:
            await self._end_offer(contract.guild_id, contract_id, None, "expire", None)
        except WrongState:
            return False
        return True

    async def _end_offer(self, guild_id: int, contract_id: int, actor_id: int | None, action: str,
                         reason: str | None) -> Contract:
        now = self.clock.now()
        text = clean_text("reason", reason, required=False)
        async with self.db.transaction() as conn:
            contract = await load_contract(conn, guild_id, contract_id)
            role = Role.SYSTEM if actor_id is None else role_of(contract, actor_id)
            require_party(contract, role)
            target = transition(CONTRACT_TRANSITIONS, "contract", contract.status, action, role)
            await repo.close(conn, contract.id, contract.status, target, now)
            if contract.application_id is not None:
                await jobs_repo.set_application_status(conn, contract.application_id, ApplicationStatus.OFFERED,
                                                       ApplicationStatus.DECLINED, now)
            await retire(conn, contract, now, "*")
            await record_event(conn, guild_id=guild_id, contract_id=contract.id, job_id=contract.job_id,
                               kind=f"contract.{target}", now=now, actor_id=actor_id, reason=text)
            recipients = {
                "decline": (contract.client_id,),
                "withdraw": (contract.worker_id,),
                "expire": (contract.client_id, contract.worker_id),
            }[action]
            await notify(conn, contract, f"notify.offer_{target}", now, to=recipients, reason=text or "-")
            updated = await load_contract(conn, guild_id, contract_id)
        log.info("guild %s contract %s %s", guild_id, contract_id, target)
        return updated

    # -- cancel -------------------------------------------------------------------

    async def cancel(self, guild_id: int, contract_id: int, *, actor_id: int, reason: str) -> Contract:
        """Before funding either party cancels; after a deposit it opens a case (see CaseService).
        An offer not yet accepted is withdrawn by the client or declined by the worker."""
        now = self.clock.now()
        text = clean_text("reason", reason)
        offer = await self.get(contract_id)
        if offer is not None and offer.guild_id == guild_id and offer.status == _CS.OFFERED:
            role = role_of(offer, actor_id)
            if role is Role.CLIENT:
                return await self._end_offer(guild_id, contract_id, actor_id, "withdraw", text)
            if role is Role.WORKER:
                return await self._end_offer(guild_id, contract_id, actor_id, "decline", text)
        async with self.db.transaction() as conn:
            contract = await load_contract(conn, guild_id, contract_id)
            role = role_of(contract, actor_id)
            require_party(contract, role)
            if contract.status in {_CS.FUNDING_SUBMITTED, *FUNDED_STATES}:
                raise WrongState("error.contract.cancel_needs_case", contract_id=contract_id, status=contract.status)
            target = transition(CONTRACT_TRANSITIONS, "contract", contract.status, "cancel", role)
            await repo.close(conn, contract.id, contract.status, target, now)
            await free_position(conn, contract, now)
            # an escalation of the unfunded contract has nothing left to decide
            await settle_cases(conn, contract, now, why="cancelled", actor_id=actor_id)
            await retire(conn, contract, now, "*")
            await record_event(conn, guild_id=guild_id, contract_id=contract.id, job_id=contract.job_id,
                               kind="contract.cancelled", now=now, actor_id=actor_id, reason=text)
            await notify(conn, contract, "notify.contract_cancelled", now, to=(contract.other_party(actor_id),),
                         by_id=actor_id, reason=text)
            await post_thread(conn, contract, "thread.cancelled", now, by_id=actor_id, reason=text)
            updated = await load_contract(conn, guild_id, contract_id)
        log.info("guild %s contract %s cancelled by %s", guild_id, contract_id, actor_id)
        return updated
