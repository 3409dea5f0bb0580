"""Blind ratings and the reputation figures shown before anyone applies or accepts."""

from __future__ import annotations

import json
import logging
import statistics
from dataclasses import dataclass
from datetime import datetime, timedelta

from bot.clock import Clock
from bot.db import Conn, Database
from bot.errors import InvalidInput, NotAllowed, WrongState
from bot.models.entities import Contract, Rating
from bot.models.states import SETTLED_STATES, Role
from bot.models.timeutil import from_iso, opt_from_iso, to_iso
from bot.repositories import contracts as contracts_repo
from bot.repositories import reputation as repo
from bot.repositories.audit import record_event
from bot.services.common import clean_text
from bot.services.guilds import GuildService
from bot.services.steps import load_contract, notify, role_of

log = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True)
class ClientFigures:
    jobs_posted: int
    completed: int
    cancelled: int
    median_time_to_fund: timedelta | None
    median_time_to_review: timedelta | None
    escalations: int
    average_rating: float | None
    ratings: int
    # amendments and revision requests that took the scope back to an earlier version
    reverts: int = 0
    # reports about the user that a moderator upheld
    reports_upheld: int = 0


@dataclass(frozen=True, slots=True)
class WorkerFigures:
    completed: int
    on_time_rate: float | None
    average_rating: float | None
    ratings: int
    reports_upheld: int = 0


@dataclass(frozen=True, slots=True)
class Figures:
    client: ClientFigures
    worker: WorkerFigures


def _median(values: list[timedelta]) -> timedelta | None:
    if not values:
        return None
    return timedelta(seconds=statistics.median(v.total_seconds() for v in values))


@dataclass(frozen=True, slots=True)
class Review:
    contract_id: int
    as_role: str
    stars: int
    comment: str


class ReputationService:
    def __init__(self, db: Database, clock: Clock, guilds: GuildService) -> None:
        self.db = db
        self.clock = clock
        self.guilds = guilds

    async def rate(self, guild_id: int, contract_id: int, *, rater_id: int, stars: int,
                   comment: str | None = None) -> Rating:
        """Rate the other party once after the contract is settled. Ratings stay hidden until both
        have rated or ``rating_reveal_after`` has passed."""
        if not 1 <= stars <= 5:
            raise InvalidInput("error.rating.stars")
        text = clean_text("comment", comment, required=False)
        now = self.clock.now()
        reveal_after = (await self.guilds.policies(guild_id)).duration("rating_reveal_after")
        async with self.db.transaction() as conn:
            contract = await load_contract(conn, guild_id, contract_id)
            role = role_of(contract, rater_id)
            if role not in {Role.CLIENT, Role.WORKER}:
                raise NotAllowed("error.contract.not_party", contract_id=contract_id)
            if contract.status not in SETTLED_STATES:
                raise WrongState("error.rating.not_settled", status=contract.status)
            await self._refuse_after_reveal(conn, contract, rater_id, reveal_after, now)
            ratee = contract.other_party(rater_id)
            ratee_role = "worker" if role is Role.CLIENT else "client"
            if not await repo.insert_rating(conn, contract_id=contract.id, rater_id=rater_id, ratee_id=ratee,
                                            ratee_role=ratee_role, stars=stars, comment=text, created_at=to_iso(now)):
                raise WrongState("error.rating.already")
            await record_event(conn, guild_id=guild_id, contract_id=contract.id, kind="rating.given", now=now,
                               actor_id=rater_id)
            await contracts_repo.touch_timer(conn, contract.id)
            ratings = await repo.ratings_for_contract(conn, contract.id)
            if len(ratings) == 2:
                await notify(conn, contract, "notify.ratings_revealed", now, to=(contract.client_id,
                                                                                contract.worker_id))
            else:
                await notify(conn, contract, "notify.rated_by_other", now, to=(ratee,))
            mine = next(r for r in ratings if r.rater_id == rater_id)
        return mine

    @staticmethod
    async def _refuse_after_reveal(conn: Conn, contract: Contract, rater_id: int, reveal_after: timedelta,
                                   now: datetime) -> None:
        """Once the ratings are revealed (both rated, or the reveal period is over) nobody rates
        any more: a rating written after seeing the other's would be retaliation, not a review."""
        ratings = await repo.ratings_for_contract(conn, contract.id)
        if any(r.rater_id == rater_id for r in ratings):
            raise WrongState("error.rating.already")
        assert contract.closed_at is not None
        revealed_at = contract.closed_at + reveal_after
        if len(ratings) >= 2 or now >= revealed_at:
            raise WrongState("error.rating_window.closed", contract_id=contract.id, revealed_at=to_iso(revealed_at))

    async def visible_ratings(self, guild_id: int, contract_id: int, *, viewer_id: int) -> list[Rating]:
        """The ratings on a contract that the viewer may see (blind until revealed; one's own always)."""
        policies = await self.guilds.policies(guild_id)
        now = self.clock.now()
        async with self.db.read() as conn:
            contract = await load_contract(conn, guild_id, contract_id)
            ratings = await repo.ratings_for_contract(conn, contract.id)
        revealed = len(ratings) == 2 or (
            contract.closed_at is not None and contract.closed_at + policies.duration("rating_reveal_after") <= now
        )
        return [r for r in ratings if revealed or r.rater_id == viewer_id]

    async def recent_reviews(self, guild_id: int, user_id: int, limit: int = 3) -> list[Review]:
        """The newest revealed rating comments about this user (blind ones stay hidden)."""
        now = self.clock.now()
        reveal_after = (await self.guilds.policies(guild_id)).duration("rating_reveal_after")
        async with self.db.read() as conn:
            rows = await repo.ratings_with_comments(conn, guild_id, user_id, limit * 3)
        revealed = [r for r in rows if self._revealed_stars([r], reveal_after, now)]
        return [Review(r["contract_id"], r["ratee_role"], int(r["stars"]), r["comment"]) for r in revealed[:limit]]

    async def figures(self, guild_id: int, user_id: int) -> Figures:
        return Figures(client=await self.client_figures(guild_id, user_id),
                       worker=await self.worker_figures(guild_id, user_id))

    async def client_figures(self, guild_id: int, user_id: int) -> ClientFigures:
        now = self.clock.now()
        reveal_after = (await self.guilds.policies(guild_id)).duration("rating_reveal_after")
        async with self.db.read() as conn:
            contracts = await repo.client_contract_rows(conn, guild_id, user_id)
            reviews = await repo.client_review_rows(conn, guild_id, user_id)
            jobs = await repo.count_jobs(conn, guild_id, user_id)
            escalations = await repo.count_escalations(conn, guild_id, user_id)
            reverts = await repo.count_reverts(conn, guild_id, user_id)
            upheld = await repo.count_upheld_reports(conn, guild_id, user_id)
            ratings = await repo.ratings_received(conn, guild_id, user_id, "client")
        fund_times: list[timedelta] = []
        for row in contracts:
            accepted = opt_from_iso(row["accepted_at"])
            if accepted is None:
                continue
            declared = opt_from_iso(row["deposit_declared_at"])
            if declared is not None:
                fund_times.append(declared - accepted)
            elif row["status"] == "awaiting_funding":
                # a client still silent counts with the time waited so far; a contract ended
                # before any deposit is not a funding time (the cancelled count shows it)...
                fund_times.append(now - accepted)
            elif row["unfunded_expired"] and row["closed_at"]:
                # ...unless it ended because the client never funded it: the worker waited that long
                fund_times.append(from_iso(row["closed_at"]) - accepted)
        review_times = [
            (opt_from_iso(row["reviewed_at"]) or now) - from_iso(row["created_at"]) for row in reviews
        ]
        stars = self._revealed_stars(ratings, reveal_after, now)
        return ClientFigures(
            jobs_posted=jobs,
            completed=sum(1 for r in contracts if r["status"] == "completed"),
            cancelled=sum(1 for r in contracts if r["status"] == "cancelled"),
            median_time_to_fund=_median(fund_times),
            median_time_to_review=_median(review_times),
            escalations=escalations,
            average_rating=statistics.fmean(stars) if stars else None,
            ratings=len(stars),
            reverts=reverts,
            reports_upheld=upheld,
        )

    async def worker_figures(self, guild_id: int, user_id: int) -> WorkerFigures:
        now = self.clock.now()
        reveal_after = (await self.guilds.policies(guild_id)).duration("rating_reveal_after")
        async with self.db.read() as conn:
            rows = await repo.worker_first_deliveries(conn, guild_id, user_id)
            ratings = await repo.ratings_received(conn, guild_id, user_id, "worker")
            upheld = await repo.count_upheld_reports(conn, guild_id, user_id)
        delivered = [json.loads(r["first_delivery"]) for r in rows if r["first_delivery"]]
        on_time = sum(1 for d in delivered if d.get("on_time"))
        # settled without any delivery after the deadline had passed: late, never delivered
        never = sum(1 for r in rows if not r["first_delivery"] and r["due_at"] and r["closed_at"]
                    and from_iso(r["closed_at"]) > from_iso(r["due_at"]))
        counted = len(delivered) + never
        stars = self._revealed_stars(ratings, reveal_after, now)
        return WorkerFigures(
            completed=sum(1 for r in rows if r["status"] == "completed"),
            on_time_rate=on_time / counted if counted else None,
            average_rating=statistics.fmean(stars) if stars else None,
            ratings=len(stars),
            reports_upheld=upheld,
        )

    @staticmethod
    def _revealed_stars(rows: list, reveal_after: timedelta, now: datetime) -> list[int]:  # type: ignore[type-arg]
        return [
            int(r["stars"]) for r in rows
            if r["both_count"] >= 2 or (r["closed_at"] and from_iso(r["closed_at"]) + reveal_after <= now)
        ]
