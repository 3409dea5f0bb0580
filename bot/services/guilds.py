"""Guild setup and per-guild policies."""

from __future__ import annotations

import logging
from dataclasses import dataclass

from bot.clock import Clock
from bot.config import Settings
from bot.db import Conn, Database
from bot.errors import InvalidInput, NotConfigured, WrongState
from bot.models.entities import Guild
from bot.models.money import CURRENCIES
from bot.models.policies import POLICY_SPECS, Policies, PolicyValueError, normalize
from bot.models.states import OPEN_CONTRACT_STATES, ApplicationStatus, JobStatus
from bot.models.timeutil import to_iso
from bot.repositories import contracts as contracts_repo
from bot.repositories import guilds as repo
from bot.repositories import jobs as jobs_repo
from bot.repositories import ledger
from bot.repositories.audit import record_event
from bot.services.common import clean_text

log = logging.getLogger(__name__)
NAMED_IDS = 5  # how many open job / pending application ids a refused currency change names


def _id_list(ids: list[int], total: int) -> str:
    """``#3, #5, …`` (``-`` for none): the first few ids, an ellipsis when there are more."""
    text = ", ".join(f"#{i}" for i in ids) or "-"
    return f"{text}, …" if total > len(ids) else text

# A category becomes a forum tag: Discord allows 20 tags per forum, of at most 20 characters.
MAX_CATEGORIES = 20
MAX_CATEGORY_NAME = 20


@dataclass(frozen=True, slots=True)
class PolicyView:
    name: str
    value: str
    default: str
    overridden: bool


class GuildService:
    def __init__(self, db: Database, clock: Clock, settings: Settings) -> None:
        self.db = db
        self.clock = clock
        self.settings = settings
        # Read on nearly every command; written only by /setup and /config set through this
        # service (one bot process owns the database), which drop the entry after commit.
        self._guilds: dict[int, Guild] = {}
        self._policies: dict[int, Policies] = {}

    async def setup(
        self,
        guild_id: int,
        *,
        actor_id: int,
        jobs_channel_id: int,
        mod_channel_id: int,
        moderator_role_id: int,
        contracts_channel_id: int | None = None,
        currency: str | None = None,
        fee_percent: int | None = None,
        locale: str | None = None,
    ) -> Guild:
        """Create or update the guild's configuration (idempotent: run it again to change it).

        The currency changes only while no money is in flight (no contract that is not closed,
        nothing owed to a worker or a client) and no open job or pending application could make
        a contract in the old one."""
        code = (currency or self.settings.currency).upper()
        if code not in CURRENCIES:
            raise InvalidInput("error.setup.currency", currency=code, allowed=", ".join(CURRENCIES))
        if fee_percent is not None and not 0 <= fee_percent <= 100:
            raise InvalidInput("error.setup.fee_percent", value=fee_percent)
        now = to_iso(self.clock.now())
        async with self.db.transaction() as conn:
            existing = await repo.currency_of(conn, guild_id)
            if existing is not None and currency is None:
                code = existing
            if existing is not None and code != existing:
                await self._require_no_money_in_flight(conn, guild_id, existing, code)
            await repo.save_guild(conn, guild_id, jobs_channel_id=jobs_channel_id, mod_channel_id=mod_channel_id,
                                  moderator_role_id=moderator_role_id, contracts_channel_id=contracts_channel_id,
                                  currency=code, locale=locale or "en", now=now)
            if fee_percent is not None:
                await repo.set_policy(conn, guild_id, "fee_percent", str(fee_percent), actor_id, now)
            await record_event(
                conn,
                guild_id=guild_id,
                kind="guild.setup",
                now=self.clock.now(),
                actor_id=actor_id,
                currency=code,
                fee_percent=fee_percent,
            )
        self._forget(guild_id)
        log.info("guild %s set up by %s", guild_id, actor_id)
        return await self.require(guild_id)

    @staticmethod
    async def _require_no_money_in_flight(conn: Conn, guild_id: int, current: str, code: str) -> None:
        """Balances and payouts read the guild's currency only (bot/services/escrow.py): refuse to
        change it while a contract is not closed or an owed-to-worker / refund-owed balance is
        not paid out, or those amounts would vanish from view."""
        open_contracts = await contracts_repo.count_in_states(conn, guild_id, OPEN_CONTRACT_STATES)
        unpaid = await ledger.count_unpaid(conn, guild_id)
        if open_contracts or unpaid:
            raise WrongState(
                "error.setup.currency_locked",
                current=current,
                currency=code,
                open_contracts=open_contracts,
                unpaid_balances=unpaid,
            )
        # A job or application keeps the currency it was made in: a contract made from it
        # later would hold money in a currency the guild no longer uses.
        jobs, job_count = await jobs_repo.ids_in_status(conn, guild_id, table="jobs", status=JobStatus.OPEN,
                                                        limit=NAMED_IDS)
        apps, app_count = await jobs_repo.ids_in_status(conn, guild_id, table="applications",
                                                        status=ApplicationStatus.PENDING, limit=NAMED_IDS)
        if job_count or app_count:
            raise WrongState(
                "error.money.currency_open_jobs",
                current=current,
                currency=code,
                job_count=job_count,
                job_ids=_id_list(jobs, job_count),
                application_count=app_count,
                application_ids=_id_list(apps, app_count),
            )

    async def get(self, guild_id: int) -> Guild | None:
        """The guild's setup; cached (one entry per guild, dropped when /setup changes it)."""
        guild = self._guilds.get(guild_id)
        if guild is None:
            async with self.db.read() as conn:
                found = await repo.get_guild(conn, guild_id)
            if found is None:
                return None
            guild = self._guilds[guild_id] = found
        return guild

    async def require(self, guild_id: int) -> Guild:
        guild = await self.get(guild_id)
        if guild is None:
            raise NotConfigured()
        return guild

    async def policies(self, guild_id: int) -> Policies:
        """Environment defaults overridden by the guild's /config set values; cached per guild and
        dropped on every change, so a change applies from the next use."""
        cached = self._policies.get(guild_id)
        if cached is not None:
            return cached
        values = dict(self.settings.policy_defaults)
        async with self.db.read() as conn:
            overrides = await repo.policy_overrides(conn, guild_id)
        values.update({name: value for name, value in overrides.items() if name in POLICY_SPECS})
        policies = self._policies[guild_id] = Policies(values)
        return policies

    def _forget(self, guild_id: int) -> None:
        self._guilds.pop(guild_id, None)
        self._policies.pop(guild_id, None)

    async def list_policies(self, guild_id: int) -> list[PolicyView]:
        await self.require(guild_id)
        async with self.db.read() as conn:
            overrides = await repo.policy_overrides(conn, guild_id)
        return [
            PolicyView(
                name=name,
                value=overrides.get(name, self.settings.policy_defaults[name]),
                default=self.settings.policy_defaults[name],
                overridden=name in overrides,
            )
            for name in POLICY_SPECS
        ]

    async def set_policy(self, guild_id: int, name: str, value: str, *, actor_id: int) -> str:
        """Validate and store a policy; it applies from the next use (the next sweep tick)."""
        await self.require(guild_id)
        key = name.strip().lower()
        if key not in POLICY_SPECS:
            raise InvalidInput("error.config.unknown_policy", name=name)
        try:
            canonical = normalize(key, value)
        except PolicyValueError:
            raise InvalidInput(
                f"error.config.bad_{POLICY_SPECS[key].kind.value}", name=key, value=value
            ) from None
        now = to_iso(self.clock.now())
        async with self.db.transaction() as conn:
            await repo.set_policy(conn, guild_id, key, canonical, actor_id, now)
            await contracts_repo.touch_guild_timers(conn, guild_id)
            await record_event(
                conn, guild_id=guild_id, kind="policy.set", now=self.clock.now(), actor_id=actor_id,
                name=key, value=canonical,
            )
        self._forget(guild_id)
        log.info("guild %s policy %s set to %s by %s", guild_id, key, canonical, actor_id)
        return canonical

    async def categories(self, guild_id: int) -> list[str]:
        """The job categories moderators allow: only these are accepted by /job post and
        become forum tags (empty: jobs keep their category as text, without a tag)."""
        async with self.db.read() as conn:
            return await repo.categories(conn, guild_id)

    async def set_categories(self, guild_id: int, text: str, *, actor_id: int) -> list[str]:
        """Set the list from comma-separated names (``-`` clears it); each name is a forum tag
        name (at most MAX_CATEGORY_NAME characters), at most MAX_CATEGORIES of them."""
        await self.require(guild_id)
        names: list[str] = []
        if text.strip() != "-":
            for part in text.split(","):
                name = clean_text("category", part, required=False)
                if name is None:
                    continue
                if len(name) > MAX_CATEGORY_NAME:
                    raise InvalidInput("error.abuse.category_too_long", category=name, limit=MAX_CATEGORY_NAME)
                if name.casefold() not in {n.casefold() for n in names}:
                    names.append(name)
            if not names:
                raise InvalidInput("error.text.required", field="category")
        if len(names) > MAX_CATEGORIES:
            raise InvalidInput("error.abuse.too_many_categories", count=len(names), limit=MAX_CATEGORIES)
        async with self.db.transaction() as conn:
            await repo.set_categories(conn, guild_id, names)
            await record_event(conn, guild_id=guild_id, kind="categories.set", now=self.clock.now(),
                               actor_id=actor_id, categories=names)
        log.info("guild %s: %d job categories set by %s", guild_id, len(names), actor_id)
        return names

    async def allowed_category(self, guild_id: int, category: str | None) -> str | None:
        """The category as the guild's list spells it; refused if a list is set and it is not in it.
        With no list, the category is kept as the user typed it."""
        if category is None:
            return None
        allowed = await self.categories(guild_id)
        if not allowed:
            return category
        found = next((name for name in allowed if name.casefold() == category.casefold()), None)
        if found is None:
            raise InvalidInput("error.abuse.category_unknown", category=category, allowed=", ".join(allowed))
        return found

    async def remember_locale(self, user_id: int, locale: str) -> None:
        """Store the locale Discord gave for this user: DMs are written in it."""
        now = to_iso(self.clock.now())
        async with self.db.transaction() as conn:
            await repo.set_user_locale(conn, user_id, locale, now)

    async def user_locale(self, user_id: int) -> str | None:
        async with self.db.read() as conn:
            return await repo.user_locale(conn, user_id)
