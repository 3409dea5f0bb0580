"""Jobs and applications: post, list and search, view, close, fill; apply, withdraw, reject."""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import datetime
from decimal import ROUND_CEILING, ROUND_FLOOR, Decimal

from bot.clock import Clock
from bot.db import Conn, Database
from bot.errors import InvalidInput, LimitReached, NotAllowed, NotFound
from bot.models.entities import Application, Job
from bot.models.money import currency
from bot.models.states import (
    APPLICATION_TRANSITIONS,
    JOB_TRANSITIONS,
    ApplicationStatus,
    JobStatus,
    Role,
)
from bot.models.timeutil import local_today, to_iso
from bot.repositories import jobs as repo
from bot.repositories.audit import record_event
from bot.repositories.outbox import enqueue
from bot.services.common import Amount, check_cooldown, clean_text, parse_amount, parse_deadline, transition
from bot.services.guilds import GuildService
from bot.services.steps import user_zone, withdraw_open_offers
from bot.services.suspensions import check_not_suspended

log = logging.getLogger(__name__)

PAGE_SIZE = 10
SORTS = ("newest", "budget", "deadline")
# a budget bound beyond any job's budget (and within SQLite's integers)
BUDGET_CEILING = 2**62


def budget_bound(amount: Amount, code: str, rounding: str) -> int:
    """A budget filter in major units as minor units: a lower bound rounded up, an upper
    bound rounded down (12.505 dollars keeps budgets from 12.51 / up to 12.50)."""
    value = Decimal(str(amount)).scaleb(currency(code).decimals).to_integral_value(rounding=rounding)
    return min(max(int(value), 0), BUDGET_CEILING)


MAX_POSITIONS = 50
EXPIRY_BATCH = 200


@dataclass(frozen=True, slots=True)
class JobPage:
    jobs: list[Job]
    total: int
    page: int
    pages: int


class JobService:
    def __init__(self, db: Database, clock: Clock, guilds: GuildService) -> None:
        self.db = db
        self.clock = clock
        self.guilds = guilds

    # -- jobs -----------------------------------------------------------------

    async def post(
        self,
        guild_id: int,
        client_id: int,
        *,
        title: str,
        description: str,
        budget: Amount,
        deadline: str,
        category: str | None = None,
        positions: int = 1,
    ) -> Job:
        guild = await self.guilds.require(guild_id)
        policies = await self.guilds.policies(guild_id)
        now = self.clock.now()
        clean_title = clean_text("title", title)
        clean_description = clean_text("description", description)
        clean_category = await self.guilds.allowed_category(
            guild_id, clean_text("category", category, required=False)
        )
        amount = parse_amount("budget", budget, guild.currency, max_major=policies.integer("max_budget"))
        async with self.db.read() as conn:
            zone = await user_zone(conn, guild_id, client_id)
        wanted = parse_deadline(deadline, local_today(now, zone), zone)
        if not 1 <= positions <= MAX_POSITIONS:
            raise InvalidInput("error.job.positions", maximum=MAX_POSITIONS)
        days, on = wanted.columns()
        async with self.db.transaction() as conn:
            await check_not_suspended(conn, guild_id, client_id, now)
            last_posted, open_jobs = await repo.client_posting(conn, guild_id, client_id)
            check_cooldown(last_posted, policies.duration("post_cooldown"), now)
            limit = policies.integer("max_open_jobs")
            if open_jobs >= limit:
                raise LimitReached("error.job.too_many_open", limit=limit)
            job = await repo.insert_job(
                conn,
                guild_id=guild_id,
                client_id=client_id,
                title=clean_title,
                description=clean_description,
                category=clean_category,
                budget=amount,
                currency=guild.currency,
                deadline_days=days,
                deadline_date=on,
                deadline_tz=wanted.tz,
                positions=positions,
                status=JobStatus.OPEN.value,
                created_at=to_iso(now),
            )
            await record_event(conn, guild_id=guild_id, job_id=job.id, kind="job.posted", now=now,
                               actor_id=client_id, budget=amount, currency=guild.currency)
            await enqueue(conn, guild_id=guild_id, target="board", job_id=job.id,
                          message_key="board.job", now=now)
        log.info("guild %s job %s posted by %s", guild_id, job.id, client_id)
        return job

    async def get(self, guild_id: int, job_id: int) -> Job:
        async with self.db.read() as conn:
            job = await repo.get_job(conn, job_id)
        if job is None or job.guild_id != guild_id:
            raise NotFound("error.job.not_found", job_id=job_id)
        return job

    async def search(
        self,
        guild_id: int,
        *,
        category: str | None = None,
        query: str | None = None,
        client_id: int | None = None,
        page: int = 1,
        include_closed: bool = False,
        min_budget: Amount | None = None,
        max_budget: Amount | None = None,
        max_days: int | None = None,
        sort: str = "newest",
    ) -> JobPage:
        """Open jobs (or, with ``client_id``, that client's jobs in any state), newest first
        unless ``sort`` says ``budget`` (largest first) or ``deadline`` (soonest first).

        Budget bounds are major units of the guild's currency (45000, 12.50), inclusive;
        ``max_days`` keeps jobs to be delivered within that many days.
        """
        guild = await self.guilds.require(guild_id)
        if sort not in SORTS:
            raise ValueError(f"unknown job sort {sort!r}")
        low = None if min_budget is None else budget_bound(min_budget, guild.currency, ROUND_CEILING)
        high = None if max_budget is None else budget_bound(max_budget, guild.currency, ROUND_FLOOR)
        if low is not None and high is not None and low > high:
            raise InvalidInput("job_list.budget_range", min_amount=low, max_amount=high, currency=guild.currency)
        page = max(page, 1)
        status = None if include_closed or client_id is not None else JobStatus.OPEN.value
        today = self.clock.now().date().isoformat()
        async with self.db.read() as conn:
            jobs, total = await repo.search_jobs(
                conn, guild_id, status=status, category=category, query=(query or "").strip() or None,
                client_id=client_id, budget_currency=guild.currency, min_budget=low, max_budget=high,
                max_days=max_days, today=today, sort=sort, limit=PAGE_SIZE, offset=(page - 1) * PAGE_SIZE,
            )
        pages = max((total + PAGE_SIZE - 1) // PAGE_SIZE, 1)
        return JobPage(jobs=jobs, total=total, page=page, pages=pages)

    async def categories(self, guild_id: int) -> list[str]:
        async with self.db.read() as conn:
            return await repo.categories(conn, guild_id)

    async def close(self, guild_id: int, job_id: int, *, actor_id: int, is_moderator: bool = False) -> Job:
        now = self.clock.now()
        async with self.db.transaction() as conn:
            job = await self._job(conn, guild_id, job_id)
            role = Role.CLIENT if actor_id == job.client_id else Role.MODERATOR if is_moderator else Role.OUTSIDER
            if role is Role.OUTSIDER:
                raise NotAllowed("error.job.not_client", job_id=job_id)
            target = transition(JOB_TRANSITIONS, "job", job.status, "close", role)
            await self._close(conn, job, target, now, actor_id=actor_id, by=role.value)
        log.info("guild %s job %s closed by %s", guild_id, job_id, actor_id)
        return await self.get(guild_id, job_id)

    async def _close(self, conn: Conn, job: Job, target: str, now: datetime, *, actor_id: int | None,
                     by: str) -> None:
        """Close ``job``: its pending applications are rejected (each worker told), offers still
        out are withdrawn, and its board post shows it closed."""
        if not await repo.set_job_status(conn, job.id, job.status, target, now, actor_id):
            raise NotFound("error.job.not_found", job_id=job.id)
        for application in await repo.applications_for_job(conn, job.id):
            if application.status == ApplicationStatus.PENDING:
                await repo.set_application_status(conn, application.id, application.status,
                                                  ApplicationStatus.REJECTED, now)
                await enqueue(conn, guild_id=job.guild_id, target="dm", recipient_id=application.worker_id,
                              job_id=job.id, message_key="notify.job_closed_applicant", now=now,
                              args={"job_id": job.id, "title": job.title})
        await withdraw_open_offers(conn, job, now, reason="job_closed")
        await record_event(conn, guild_id=job.guild_id, job_id=job.id, kind="job.closed", now=now,
                           actor_id=actor_id, by=by)
        await enqueue(conn, guild_id=job.guild_id, target="board", job_id=job.id, message_key="board.job", now=now)

    async def expire_due(self, now: datetime | None = None) -> int:
        """Close every open job older than its guild's ``job_expires_after`` (``0s``: never),
        telling the client. Run by the scheduler's sweep; safe to run at any time, repeatedly."""
        when = now or self.clock.now()
        async with self.db.read() as conn:
            guild_ids = await repo.guilds_with_open_jobs(conn)
        closed = 0
        for guild_id in guild_ids:
            after = (await self.guilds.policies(guild_id)).duration("job_expires_after")
            if not after:
                continue
            async with self.db.read() as conn:
                due = await repo.open_jobs_since(conn, guild_id, when - after, EXPIRY_BATCH)
            for job_id in due:
                if await self._expire(job_id, when):
                    closed += 1
        if closed:
            log.info("job expiry at %s: %s jobs closed", to_iso(when), closed)
        return closed

    async def _expire(self, job_id: int, now: datetime) -> bool:
        async with self.db.transaction() as conn:
            job = await repo.get_job(conn, job_id)
            if job is None or job.status != JobStatus.OPEN:
                return False  # filled or closed meanwhile
            target = transition(JOB_TRANSITIONS, "job", job.status, "expire", Role.SYSTEM)
            await self._close(conn, job, target, now, actor_id=None, by="expiry")
            await enqueue(conn, guild_id=job.guild_id, target="dm", recipient_id=job.client_id, job_id=job.id,
                          message_key="notify.job_expired", now=now, args={"job_id": job.id, "title": job.title})
        log.info("guild %s job %s closed by expiry", job.guild_id, job_id)
        return True

    async def set_board_message(self, job_id: int, channel_id: int, message_id: int) -> None:
        async with self.db.transaction() as conn:
            await repo.set_board_message(conn, job_id, channel_id, message_id)

    # -- applications ---------------------------------------------------------

    async def apply(
        self,
        guild_id: int,
        job_id: int,
        worker_id: int,
        *,
        proposal: str,
        price: Amount,
        days: int | None = None,
    ) -> Application:
        policies = await self.guilds.policies(guild_id)
        now = self.clock.now()
        text = clean_text("proposal", proposal)
        if days is not None and not 1 <= days <= 365:
            raise InvalidInput("error.application.days", value=days)
        async with self.db.transaction() as conn:
            job = await self._job(conn, guild_id, job_id)
            if job.client_id == worker_id:
                raise NotAllowed("error.application.own_job", job_id=job_id)
            await check_not_suspended(conn, guild_id, worker_id, now)
            if job.status != JobStatus.OPEN:
                raise InvalidInput("error.application.job_not_open", job_id=job_id, status=job.status)
            amount = parse_amount("price", price, job.currency, max_major=policies.integer("max_budget"))
            if await repo.application_of(conn, job_id, worker_id) is not None:
                raise InvalidInput("error.application.already_applied", job_id=job_id)
            last_applied, open_applications = await repo.worker_applying(conn, guild_id, worker_id)
            check_cooldown(last_applied, policies.duration("apply_cooldown"), now)
            limit = policies.integer("max_open_applications")
            if open_applications >= limit:
                raise LimitReached("error.application.too_many_open", limit=limit)
            application = await repo.insert_application(
                conn, job_id=job_id, guild_id=guild_id, worker_id=worker_id, proposal=text, price=amount,
                days=days, status=ApplicationStatus.PENDING.value, created_at=to_iso(now), updated_at=to_iso(now),
            )
            if application is None:
                raise InvalidInput("error.application.already_applied", job_id=job_id)
            await record_event(conn, guild_id=guild_id, job_id=job_id, kind="application.submitted", now=now,
                               actor_id=worker_id, application_id=application.id, price=amount)
            await enqueue(conn, guild_id=guild_id, target="dm", recipient_id=job.client_id, job_id=job_id,
                          message_key="notify.application_received", now=now,
                          args={"job_id": job_id, "title": job.title, "worker_id": worker_id,
                                "price_amount": amount, "currency": job.currency})
        log.info("guild %s job %s application %s by %s", guild_id, job_id, application.id, worker_id)
        return application

    async def check_apply(self, guild_id: int, job_id: int, worker_id: int) -> Job:
        """Refuse early what :meth:`apply` would refuse about this job (own job, not open,
        already applied), so the Apply button does not open a modal only to refuse it.
        ``apply`` checks everything again."""
        async with self.db.read() as conn:
            job = await self._job(conn, guild_id, job_id)
            if job.client_id == worker_id:
                raise NotAllowed("error.application.own_job", job_id=job_id)
            await check_not_suspended(conn, guild_id, worker_id, self.clock.now())
            if job.status != JobStatus.OPEN:
                raise InvalidInput("error.application.job_not_open", job_id=job_id, status=job.status)
            if await repo.application_of(conn, job_id, worker_id) is not None:
                raise InvalidInput("error.application.already_applied", job_id=job_id)
        return job

    async def withdraw_application(self, guild_id: int, job_id: int, worker_id: int) -> Application:
        """``/job withdraw``: the worker takes back a pending application (its slot is free again)."""
        async with self.db.transaction() as conn:
            await self._job(conn, guild_id, job_id)
            application = await repo.application_of(conn, job_id, worker_id)
            if application is None:
                raise NotFound("error.application.not_found", job_id=job_id)
            return await self._withdraw(conn, application, worker_id)

    async def withdraw_application_by_id(self, guild_id: int, application_id: int, worker_id: int) -> Application:
        """The Withdraw button on the apply confirmation."""
        async with self.db.transaction() as conn:
            application = await repo.get_application(conn, application_id)
            if application is None or application.guild_id != guild_id:
                raise NotFound("error.application.not_found", job_id=0)
            if application.worker_id != worker_id:
                raise NotAllowed("error.application.not_yours")
            return await self._withdraw(conn, application, worker_id)

    async def _withdraw(self, conn: Conn, application: Application, worker_id: int) -> Application:
        now = self.clock.now()
        job = await self._job(conn, application.guild_id, application.job_id)
        target = transition(APPLICATION_TRANSITIONS, "application", application.status, "withdraw", Role.WORKER)
        await repo.set_application_status(conn, application.id, application.status, target, now)
        await record_event(conn, guild_id=job.guild_id, job_id=job.id, kind="application.withdrawn", now=now,
                           actor_id=worker_id, application_id=application.id)
        await enqueue(conn, guild_id=job.guild_id, target="dm", recipient_id=job.client_id, job_id=job.id,
                      message_key="notify.application_withdrawn", now=now,
                      args={"job_id": job.id, "title": job.title, "worker_id": worker_id})
        updated = await repo.get_application(conn, application.id)
        assert updated is not None
        log.info("guild %s application %s withdrawn", job.guild_id, application.id)
        return updated

    async def reject_application(self, guild_id: int, application_id: int, *, actor_id: int) -> Application:
        now = self.clock.now()
        async with self.db.transaction() as conn:
            application = await repo.get_application(conn, application_id)
            if application is None or application.guild_id != guild_id:
                raise NotFound("error.application.not_found", job_id=0)
            job = await self._job(conn, guild_id, application.job_id)
            role = Role.CLIENT if actor_id == job.client_id else Role.OUTSIDER
            if role is Role.OUTSIDER:
                raise NotAllowed("error.job.not_client", job_id=job.id)
            target = transition(APPLICATION_TRANSITIONS, "application", application.status, "reject", role)
            await repo.set_application_status(conn, application.id, application.status, target, now)
            await record_event(conn, guild_id=guild_id, job_id=job.id, kind="application.rejected", now=now,
                               actor_id=actor_id, application_id=application.id)
            await enqueue(conn, guild_id=guild_id, target="dm", recipient_id=application.worker_id, job_id=job.id,
                          message_key="notify.application_rejected", now=now,
                          args={"job_id": job.id, "title": job.title})
            updated = await repo.get_application(conn, application.id)
        assert updated is not None
        return updated

    async def applications(self, guild_id: int, job_id: int, *, actor_id: int,
                           is_moderator: bool = False) -> list[Application]:
        """The proposals for a job: the client's (and moderators') view."""
        async with self.db.read() as conn:
            job = await self._job(conn, guild_id, job_id)
            if actor_id != job.client_id and not is_moderator:
                raise NotAllowed("error.job.not_client", job_id=job_id)
            return await repo.applications_for_job(conn, job_id)

    async def application_of(self, guild_id: int, job_id: int, worker_id: int) -> Application | None:
        async with self.db.read() as conn:
            await self._job(conn, guild_id, job_id)
            return await repo.application_of(conn, job_id, worker_id)

    # -- autocomplete -----------------------------------------------------------

    async def suggest(self, guild_id: int, user_id: int, text: str, *, purpose: str, limit: int = 25,
                      is_moderator: bool = False) -> list[Job]:
        """Jobs this user may act on: ``apply`` (open, not theirs, not yet applied to), ``own``
        (theirs, open or filled), ``offer`` (theirs, open, with a pending application), ``close``
        (theirs, open or filled; for a moderator also every open job of the guild, theirs first),
        ``withdraw`` (those with a pending application of theirs), ``view`` (open ones and theirs)."""
        if purpose == "close":
            purpose = "close_any" if is_moderator else "own"
        async with self.db.read() as conn:
            return await repo.suggest_jobs(conn, guild_id, user_id, text, purpose=purpose, limit=limit)

    @staticmethod
    async def _job(conn: Conn, guild_id: int, job_id: int) -> Job:
        job = await repo.get_job(conn, job_id)
        if job is None or job.guild_id != guild_id:
            raise NotFound("error.job.not_found", job_id=job_id)
        return job
