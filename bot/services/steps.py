"""Shared transaction steps: what several use cases do inside their own transaction.

A function belongs here when more than one service runs it as one step of its transaction
(load a contract for a guild, tell a party, post to the thread, retire buttons, free or
withdraw what a contract held on its job), or when it is a fact about contracts that several
services read (a user's role, the states in which a reply is awaited). Each takes the
transaction's connection and writes through the repositories; none opens a transaction,
awaits Discord or holds SQL. A use case of one service, and a step only one service runs,
stay in that service's module; the settling of cases lives with the cases
(``bot/services/cases.py``).
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from bot.db import Conn
from bot.errors import NotAllowed, NotFound
from bot.models.entities import Contract, Job
from bot.models.states import (
    CONTRACT_TRANSITIONS,
    JOB_TRANSITIONS,
    ApplicationStatus,
    ContractStatus,
    JobStatus,
    Role,
)
from bot.models.terms import Requirement
from bot.models.timeutil import default_zone
from bot.repositories import cases as cases_repo
from bot.repositories import contracts as repo
from bot.repositories import guilds as guilds_repo
from bot.repositories import jobs as jobs_repo
from bot.repositories import profiles as profiles_repo
from bot.repositories.audit import record_event
from bot.repositories.outbox import enqueue, retire_buttons
from bot.services.common import transition

_CS = ContractStatus
# the states in which a worker waiting for the client's reply in the thread counts (the
# thread tracking in contracts.py and the sweep in timers.py): those in which terms may be amended
REPLY_STATES = frozenset({_CS.AWAITING_FUNDING, _CS.FUNDING_SUBMITTED, _CS.ACTIVE, _CS.DELIVERED})
# the states whose clock (the delivery deadline, the review clock) a case or a silent client pauses
PAUSABLE_STATES = frozenset({_CS.ACTIVE, _CS.DELIVERED, _CS.DISPUTED})


def role_of(contract: Contract, user_id: int, *, is_moderator: bool = False) -> Role:
    if user_id == contract.client_id:
        return Role.CLIENT
    if user_id == contract.worker_id:
        return Role.WORKER
    return Role.MODERATOR if is_moderator else Role.OUTSIDER


def require_party(contract: Contract, role: Role) -> None:
    """Only the client or the worker acts on their contract (the offer, its answer, an
    amendment, an extension); a moderator acts through the cases instead."""
    if role in {Role.OUTSIDER, Role.MODERATOR}:
        raise NotAllowed("error.contract.not_party", contract_id=contract.id)


async def user_zone(conn: Conn, guild_id: int, user_id: int) -> str:
    """The time zone a date the user types as a deadline is meant in: their profile's, else
    the guild's default (from its language)."""
    profile = await profiles_repo.get_profile(conn, guild_id, user_id)
    if profile is not None and profile.timezone:
        return profile.timezone
    guild = await guilds_repo.get_guild(conn, guild_id)
    return default_zone(guild.locale if guild else None)


async def load_contract(conn: Conn, guild_id: int, contract_id: int) -> Contract:
    contract = await repo.get_contract(conn, contract_id)
    if contract is None or contract.guild_id != guild_id:
        raise NotFound("error.contract.not_found", contract_id=contract_id)
    return contract


async def requirement_timeline(conn: Conn, contract_id: int) -> list[Requirement]:
    """Every statement of what the work must be, oldest first: each terms version's scope, and
    each revision request's text after the version it was made under (for ``find_revert``)."""
    ordered: list[tuple[tuple[int, int, int], Requirement]] = [
        ((terms.version, 0, 0), Requirement(terms.scope, version=terms.version))
        for terms in await repo.all_terms(conn, contract_id)
    ]
    ordered += [
        ((request.terms_version, 1, request.id), Requirement(request.reason, revision_id=request.id))
        for request in await repo.revisions(conn, contract_id)
    ]
    return [requirement for _, requirement in sorted(ordered, key=lambda pair: pair[0])]


def revert_flag(found: Requirement | None) -> str:
    """How a message names what a requirement returns to: ``v2`` (terms version 2), ``#5``
    (revision request 5), ``-`` (nothing)."""
    if found is None:
        return "-"
    return f"v{found.version}" if found.version is not None else f"#{found.revision_id}"


async def notify(
    conn: Conn,
    contract: Contract,
    key: str,
    now: datetime,
    *,
    to: tuple[int, ...],
    buttons: tuple[str, ...] = (),
    dedupe: str | None = None,
    **args: Any,
) -> None:
    """DM each of ``to`` about this contract (falls back to the thread, then the mod channel)."""
    for user_id in to:
        await enqueue(
            conn,
            guild_id=contract.guild_id,
            target="dm",
            recipient_id=user_id,
            contract_id=contract.id,
            message_key=key,
            now=now,
            args={"contract_id": contract.id, **args},
            buttons=buttons,
            dedupe_key=f"{dedupe}:{user_id}" if dedupe else None,
        )


async def retire(conn: Conn, contract: Contract, now: datetime, *specs: str) -> None:
    """Grey out the buttons of this contract's messages whose action is done (``*``: all)."""
    await retire_buttons(conn, guild_id=contract.guild_id, specs=specs, now=now, contract_id=contract.id)


async def post_thread(conn: Conn, contract: Contract, key: str, now: datetime, **args: Any) -> None:
    await enqueue(conn, guild_id=contract.guild_id, target="thread", contract_id=contract.id,
                  message_key=key, now=now, args={"contract_id": contract.id, **args})


async def free_position(conn: Conn, contract: Contract, now: datetime) -> None:
    """A hire that ended before funding frees its position on the job again."""
    job = await jobs_repo.get_job(conn, contract.job_id)
    assert job is not None
    await jobs_repo.free_position(conn, job.id)
    if job.status == JobStatus.FILLED:
        target = transition(JOB_TRANSITIONS, "job", job.status, "reopen", Role.SYSTEM)
        await jobs_repo.set_job_status(conn, job.id, job.status, target, now)
        await record_event(conn, guild_id=job.guild_id, job_id=job.id, kind="job.reopened", now=now,
                           contract_id=contract.id)
    await enqueue(conn, guild_id=job.guild_id, target="board", job_id=job.id, message_key="board.job", now=now)


async def withdraw_open_offers(conn: Conn, job: Job, now: datetime, *, reason: str) -> None:
    """The job was filled or closed: offers still out to other workers end now (withdrawn by
    the system) instead of lingering with reminders until they expire."""
    for contract in await repo.offered_for_job(conn, job.id):
        target = transition(CONTRACT_TRANSITIONS, "contract", contract.status, "withdraw", Role.SYSTEM)
        await repo.close(conn, contract.id, contract.status, target, now)
        if contract.application_id is not None:
            await jobs_repo.set_application_status(conn, contract.application_id, ApplicationStatus.OFFERED,
                                                   ApplicationStatus.DECLINED, now)
        await retire(conn, contract, now, "*")
        await record_event(conn, guild_id=contract.guild_id, contract_id=contract.id, job_id=job.id,
                           kind="contract.withdrawn", now=now, reason=reason)
        await notify(conn, contract, f"notify.offer_withdrawn_{reason}", now, to=(contract.worker_id,),
                     title=job.title, job_id=job.id)


# -- clocks that stop while the worker cannot act ---------------------------------------------


async def pause_clock(conn: Conn, contract: Contract, since: datetime, reason: str) -> None:
    """Stop the delivery deadline and the review clock from ``since`` (``reason``: ``case`` or
    ``reply``). The worker's time must not run while they wait for the moderators or for the
    client; a pause already running is kept, not restarted. Contracts without such a clock
    (not funded yet, settled) are left alone."""
    if contract.status not in PAUSABLE_STATES:
        return
    await repo.pause_clock(conn, contract.id, since, reason)
    if contract.paused_at is None:
        await record_event(conn, guild_id=contract.guild_id, contract_id=contract.id, kind="clock.paused",
                           now=since, reason=reason)


def resumed_clocks(contract: Contract, now: datetime) -> tuple[datetime | None, datetime]:
    """The due time and the review anchor after the pause, moved by the paused time: the time
    that was left when the pause began is left again. A clock already past at the pause (an
    overdue deadline) or started during it (a delivery made meanwhile) does not move."""
    assert contract.paused_at is not None
    paused = max(now - contract.paused_at, timedelta(0))
    due_at = contract.due_at
    if due_at is not None and due_at > contract.paused_at:
        due_at += paused
    clock_at = contract.clock_at + paused if contract.clock_at <= contract.paused_at else contract.clock_at
    return due_at, clock_at


async def resume_clock(conn: Conn, contract_id: int, now: datetime, *, reason: str | None = None) -> bool:
    """End the contract's pause (only one of ``reason``, if given). False if none ended."""
    contract = await repo.get_contract(conn, contract_id)
    if contract is None or contract.paused_at is None or (reason is not None and contract.pause_reason != reason):
        return False
    due_at, clock_at = resumed_clocks(contract, now)
    if not await repo.resume_clock(conn, contract.id, contract.paused_at, now, due_at=due_at, clock_at=clock_at):
        return False
    await record_event(conn, guild_id=contract.guild_id, contract_id=contract.id, kind="clock.resumed", now=now,
                       paused_since=contract.paused_at.isoformat(),
                       due_at=due_at.isoformat() if due_at else None)
    return True


async def resume_after_cases(conn: Conn, contract_id: int, now: datetime) -> None:
    """A case on the contract closed: once none is open, its case pause ends (a client still
    silent in the thread pauses the clock again from now, see the sweep)."""
    if not (await cases_repo.open_cases_for_contract(conn, contract_id)
            or await cases_repo.open_linked_reports(conn, contract_id)):
        await resume_clock(conn, contract_id, now, reason="case")
