"""Service-level test helpers: set up a guild, bring a contract to each state through the
real services, read the ledger, outbox and events, and drive the timer sweep.

Every setup helper calls the services exactly as the bot does (no SQL shortcuts), so what
they leave in the database is what a real user would leave; the readers are plain SQL on
the test database. They assume the guild is set up (use the ``guild`` fixture, or
:func:`setup_guild` for another guild or currency).

Time: the helpers never move the clock, with two exceptions: when a post/apply cooldown
refuses them (several jobs or applications by the same user in one test), they move
``services.clock`` (a FakeClock in tests) to the ``retry_at`` of the refusal and try
once more; and the timer helpers (:func:`sweep_at`, :func:`step`, :func:`worker_speaks`)
set the clock to the moment they are given. A test that cares about exact times should
move the clock itself between calls, or call :func:`no_cooldowns` first.

Signatures are stable (many test files use them); add keyword arguments, never reorder.

    job = await post_job(services)                               # open job by CLIENT
    app = await apply(services, job)                             # pending application by WORKER
    offer = await offered_contract(services)                     # Contract, status offered
    c = await hired_contract(services)                           # awaiting_funding
    c = await deposited_contract(services)                       # funding_submitted
    c = await funded_contract(services)                          # active (MODERATOR confirmed)
    c = await delivered_contract(services)                       # delivered (one file)
    c = await completed_contract(services)                       # completed (client approved)
    c, case = await disputed_contract(services)                  # disputed (a case is open)

Each contract helper returns the contract as re-read from the database after the last
step. Pass ``job=`` to reuse a job, ``worker_id=`` for another worker, and the offer
terms (``price``, ``deadline``, ``revisions``, ``scope``) as keyword arguments.

Timer sweeps:

    changes = await Changes.start(services, contract.id)     # baseline: what exists now
    assert await step(services, changes, t0 + DAY) == {("remind.escrow", CLIENT): 1}
    assert await step(services, changes, t0 + DAY) == {}      # nothing twice

``step`` returns the outbox rows the sweep added for that contract, counted by
(message_key, recipient_id) (``recipient_id`` is None for mod-channel and thread rows).
"""

from __future__ import annotations

import json
from collections import Counter
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from datetime import datetime, timedelta
from decimal import Decimal
from typing import Any, TypeVar

from bot.clock import FakeClock
from bot.db import Database
from bot.errors import CooldownActive
from bot.models.entities import Application, Case, Contract, Guild, Job
from bot.models.money import to_major
from bot.models.timeutil import from_iso
from bot.services.container import Services
from bot.services.deliveries import IncomingFile
from bot.services.timers import SweepReport
from tests.ids import (
    CLIENT,
    CONTRACTS_CHANNEL,
    GUILD_ID,
    JOBS_CHANNEL,
    MOD_CHANNEL,
    MODERATOR,
    MODERATOR_ROLE,
    SETUP_ACTOR,
    WORKER,
)

T = TypeVar("T")

Amount = Decimal | float | int | str

DEFAULT_TITLE = "Logo for a ramen shop"
DEFAULT_DESCRIPTION = "A simple logo, vector files, two colours."
DEFAULT_BUDGET = 50000  # major units (JPY)
DEFAULT_FILE = IncomingFile("logo.png", b"\x89PNG fake logo bytes", "image/png")

SECOND = timedelta(seconds=1)
MINUTE = timedelta(minutes=1)
HOUR = timedelta(hours=1)
DAY = timedelta(days=1)

THREAD_ID = 7000

Key = tuple[str, int | None]


# -- guild, job, application ---------------------------------------------------------------


async def setup_guild(services: Services, guild_id: int = GUILD_ID, *, currency: str | None = None,
                      fee_percent: int | None = None) -> Guild:
    """Run /setup for ``guild_id`` with the channel ids of tests/ids.py."""
    return await services.guilds.setup(
        guild_id,
        actor_id=SETUP_ACTOR,
        jobs_channel_id=JOBS_CHANNEL,
        mod_channel_id=MOD_CHANNEL,
        moderator_role_id=MODERATOR_ROLE,
        contracts_channel_id=CONTRACTS_CHANNEL,
        currency=currency,
        fee_percent=fee_percent,
    )


async def no_cooldowns(services: Services, guild_id: int = GUILD_ID) -> None:
    """Turn the post, apply and report cooldowns off (``0s``) for this guild."""
    for name in ("post_cooldown", "apply_cooldown", "report_cooldown"):
        await services.guilds.set_policy(guild_id, name, "0s", actor_id=MODERATOR)


async def _past_cooldown(services: Services, call: Callable[[], Awaitable[T]]) -> T:
    try:
        return await call()
    except CooldownActive as refused:
        clock = services.clock
        if not isinstance(clock, FakeClock):
            raise
        retry_at: datetime = from_iso(refused.args_map["retry_at"])
        if retry_at > clock.now():
            clock.set(retry_at)
        return await call()


async def post_job(
    services: Services,
    *,
    client_id: int = CLIENT,
    guild_id: int = GUILD_ID,
    title: str = DEFAULT_TITLE,
    description: str = DEFAULT_DESCRIPTION,
    budget: Amount = DEFAULT_BUDGET,
    deadline: str = "7d",
    category: str | None = None,
    positions: int = 1,
) -> Job:
    """An open job posted by ``client_id`` (moves the clock past the post cooldown if needed)."""
    return await _past_cooldown(services, lambda: services.jobs.post(
        guild_id, client_id, title=title, description=description, budget=budget, deadline=deadline,
        category=category, positions=positions,
    ))


async def apply(
    services: Services,
    job: Job,
    worker_id: int = WORKER,
    *,
    proposal: str = "I have drawn logos for ten shops.",
    price: Amount | None = None,
    days: int | None = None,
) -> Application:
    """A pending application by ``worker_id``; ``price`` defaults to the job's budget."""
    amount: Amount = price if price is not None else _major(job.budget, job.currency)
    return await _past_cooldown(services, lambda: services.jobs.apply(
        job.guild_id, job.id, worker_id, proposal=proposal, price=amount, days=days,
    ))


def _major(minor: int, code: str) -> Decimal:
    return to_major(minor, code)


async def reload(services: Services, contract_id: int) -> Contract:
    """The contract as the database holds it now."""
    contract = await services.contracts.get(contract_id)
    assert contract is not None
    return contract


# -- a contract at each state --------------------------------------------------------------


async def offered_contract(
    services: Services,
    *,
    job: Job | None = None,
    worker_id: int = WORKER,
    client_id: int = CLIENT,
    guild_id: int = GUILD_ID,
    application_price: Amount | None = None,
    application_days: int | None = None,
    **terms: Any,
) -> Contract:
    """Post a job (unless ``job`` is given), apply as ``worker_id`` and offer.

    ``terms`` go to ``contracts.offer``: price, deadline, revisions, scope.
    """
    if job is None:
        job = await post_job(services, client_id=client_id, guild_id=guild_id)
    await apply(services, job, worker_id, price=application_price, days=application_days)
    view = await services.contracts.offer(job.guild_id, job.client_id, job.id, worker_id, **terms)
    return view.contract


async def hired_contract(services: Services, clock: FakeClock | None = None, **kwargs: Any) -> Contract:
    """An offer the worker accepted: status ``awaiting_funding``.

    ``clock`` is accepted for symmetry with callers that pass it; the helpers use
    ``services.clock``, which is the same object under the fixtures.
    """
    offer = await offered_contract(services, **kwargs)
    await services.contracts.accept(offer.guild_id, offer.id, actor_id=offer.worker_id)
    return await reload(services, offer.id)


async def deposited_contract(services: Services, clock: FakeClock | None = None, *,
                             reference: str | None = "bank transfer 0001", **kwargs: Any) -> Contract:
    """The client declared the deposit: status ``funding_submitted``."""
    contract = await hired_contract(services, clock, **kwargs)
    await services.escrow.deposit(contract.guild_id, contract.id, actor_id=contract.client_id, reference=reference)
    return await reload(services, contract.id)


async def funded_contract(services: Services, clock: FakeClock | None = None, *, moderator_id: int = MODERATOR,
                          **kwargs: Any) -> Contract:
    """A moderator confirmed the deposit: status ``active``, escrow holds the price."""
    contract = await deposited_contract(services, clock, **kwargs)
    await services.escrow.confirm(contract.guild_id, contract.id, moderator_id=moderator_id)
    return await reload(services, contract.id)


async def deliver(services: Services, contract: Contract, files: list[IncomingFile] | None = None,
                  note: str | None = "First draft attached.") -> Contract:
    """The worker delivers ``files`` (one PNG by default) to an active contract."""
    await services.deliveries.deliver(contract.guild_id, contract.id, actor_id=contract.worker_id,
                                      files=files or [DEFAULT_FILE], note=note)
    return await reload(services, contract.id)


async def delivered_contract(services: Services, clock: FakeClock | None = None, *,
                             files: list[IncomingFile] | None = None, note: str | None = "First draft attached.",
                             **kwargs: Any) -> Contract:
    """The worker delivered: status ``delivered``."""
    contract = await funded_contract(services, clock, **kwargs)
    return await deliver(services, contract, files, note)


async def revised(services: Services, contract: Contract, reason: str = "Please fix it.") -> Contract:
    """The client asks for a revision and the worker takes it on: status ``active`` again."""
    outcome = await services.deliveries.request_revision(contract.guild_id, contract.id, actor_id=contract.client_id,
                                                         reason=reason)
    await services.deliveries.answer_extra_revision(contract.guild_id, outcome.request.id,
                                                    actor_id=contract.worker_id, accept=True)
    return await reload(services, contract.id)


async def completed_contract(services: Services, clock: FakeClock | None = None, **kwargs: Any) -> Contract:
    """The client approved the delivery: status ``completed``, escrow released."""
    contract = await delivered_contract(services, clock, **kwargs)
    await services.deliveries.approve(contract.guild_id, contract.id, actor_id=contract.client_id)
    return await reload(services, contract.id)


async def disputed_contract(services: Services, *, delivered: bool = False, by: str = "worker",
                            reason: str = "The client changed the requirement.",
                            **kwargs: Any) -> tuple[Contract, Case]:
    """A funded (optionally delivered) contract that a party disputed: status ``disputed``."""
    make = delivered_contract if delivered else funded_contract
    contract = await make(services, **kwargs)
    actor = contract.worker_id if by == "worker" else contract.client_id
    case = await services.cases.dispute(contract.guild_id, contract.id, actor_id=actor, reason=reason)
    return await reload(services, contract.id), case


# -- what the database holds ---------------------------------------------------------------


def _decode_outbox(row: Any) -> dict[str, Any]:
    """An outbox row as a dict, its JSON ``args`` and ``buttons`` decoded."""
    return {**dict(row), "args": json.loads(row["args"]), "buttons": json.loads(row["buttons"])}


async def balance(services: Services, account: str, *, guild_id: int = GUILD_ID) -> int:
    """The ledger balance of ``account`` (``escrow:<id>``, ``owed:<user>``, ``refund:<user>``, ``fees``)."""
    row = await services.db.fetchone(
        "SELECT COALESCE(SUM(amount), 0) FROM ledger_entries WHERE guild_id = ? AND account = ?",
        (guild_id, account),
    )
    assert row is not None
    return int(row[0])


async def count(services: Services, table: str, where: str = "1", params: tuple[Any, ...] = ()) -> int:
    """``SELECT COUNT(*) FROM table WHERE where``."""
    row = await services.db.fetchone(f"SELECT COUNT(*) FROM {table} WHERE {where}", params)
    assert row is not None
    return int(row[0])


async def snapshot(services: Services) -> dict[str, list[tuple[Any, ...]]]:
    """Every row of every table that a refused action must leave alone (compare before/after)."""
    tables = ("jobs", "applications", "contracts", "contract_terms", "amendments", "deposits", "deliveries",
              "delivery_files", "revision_requests", "ledger_transactions", "ledger_entries", "ratings", "cases",
              "events", "outbox", "profiles", "payout_details", "guild_policies")
    result: dict[str, list[tuple[Any, ...]]] = {}
    for table in tables:
        rows = await services.db.fetchall(f"SELECT * FROM {table} ORDER BY rowid")
        result[table] = [tuple(row) for row in rows]
    return result


async def outbox(services: Services, *, message_key: str | None = None, recipient_id: int | None = None,
                 target: str | None = None) -> list[dict[str, Any]]:
    """Outbox rows (as dicts, ``args`` decoded) filtered by key, recipient and target, oldest first."""
    where, params = ["1"], []
    for column, value in (("message_key", message_key), ("recipient_id", recipient_id), ("target", target)):
        if value is not None:
            where.append(f"{column} = ?")
            params.append(value)
    rows = await services.db.fetchall(f"SELECT * FROM outbox WHERE {' AND '.join(where)} ORDER BY id", params)
    return [_decode_outbox(row) for row in rows]


async def events(services: Services, kind: str | None = None, *, contract_id: int | None = None,
                 job_id: int | None = None) -> list[dict[str, Any]]:
    """Event rows (as dicts, ``data`` decoded), oldest first."""
    where, params = ["1"], []
    for column, value in (("kind", kind), ("contract_id", contract_id), ("job_id", job_id)):
        if value is not None:
            where.append(f"{column} = ?")
            params.append(value)
    rows = await services.db.fetchall(f"SELECT * FROM events WHERE {' AND '.join(where)} ORDER BY id", params)
    return [{**dict(row), "data": json.loads(row["data"])} for row in rows]


async def ledger(services: Services, *, guild_id: int = GUILD_ID) -> dict[str, int]:
    """Every account's balance (accounts with a zero balance included once touched)."""
    rows = await services.db.fetchall(
        "SELECT account, SUM(amount) AS total FROM ledger_entries WHERE guild_id = ? GROUP BY account",
        (guild_id,),
    )
    return {row["account"]: int(row["total"]) for row in rows}


async def ledger_txns(services: Services, *, contract_id: int | None = None,
                      kind: str | None = None) -> list[dict[str, Any]]:
    where, params = ["1"], []
    for column, value in (("contract_id", contract_id), ("kind", kind)):
        if value is not None:
            where.append(f"{column} = ?")
            params.append(value)
    rows = await services.db.fetchall(
        f"SELECT * FROM ledger_transactions WHERE {' AND '.join(where)} ORDER BY id", params)
    return [dict(row) for row in rows]


async def contract_outbox(services: Services, contract_id: int, *, target: str | None = None,
                          message_key: str | None = None) -> list[dict[str, Any]]:
    """Outbox rows about one contract, ``args`` and ``buttons`` decoded, oldest first."""
    where, params = ["contract_id = ?"], [contract_id]
    for column, value in (("target", target), ("message_key", message_key)):
        if value is not None:
            where.append(f"{column} = ?")
            params.append(value)
    rows = await services.db.fetchall(f"SELECT * FROM outbox WHERE {' AND '.join(where)} ORDER BY id", params)
    return [_decode_outbox(row) for row in rows]


async def case_outbox(services: Services, case_id: int) -> list[dict[str, Any]]:
    rows = await services.db.fetchall("SELECT * FROM outbox WHERE case_id = ? ORDER BY id", (case_id,))
    return [_decode_outbox(row) for row in rows]


# -- timer sweeps and restarts -------------------------------------------------------------


def fake_clock(services: Services) -> FakeClock:
    clock = services.clock
    assert isinstance(clock, FakeClock), "timer tests need the FakeClock"
    return clock


async def sweep_at(services: Services, when: datetime) -> SweepReport:
    """Move the clock to ``when`` and run one sweep there (as the scheduler's tick would)."""
    fake_clock(services).set(when)
    return await services.timers.sweep(when)


class Changes:
    """The outbox rows and cases of one contract added since the last look."""

    def __init__(self, services: Services, contract_id: int) -> None:
        self.services = services
        self.contract_id = contract_id
        self.last_outbox_id = 0
        self.last_case_id = 0
        self.rows: list[dict[str, Any]] = []

    @classmethod
    async def start(cls, services: Services, contract_id: int) -> Changes:
        changes = cls(services, contract_id)
        await changes.take()
        await changes.take_cases()
        return changes

    async def take(self) -> list[dict[str, Any]]:
        """Outbox rows of the contract (case cards included) written since the last call."""
        rows = await self.services.db.fetchall(
            "SELECT * FROM outbox WHERE contract_id = ? AND id > ? ORDER BY id",
            (self.contract_id, self.last_outbox_id),
        )
        decoded = [_decode_outbox(row) for row in rows]
        if decoded:
            self.last_outbox_id = decoded[-1]["id"]
        self.rows = decoded
        return decoded

    async def take_cases(self) -> list[dict[str, Any]]:
        rows = await self.services.db.fetchall(
            "SELECT * FROM cases WHERE contract_id = ? AND id > ? ORDER BY id", (self.contract_id, self.last_case_id)
        )
        found = [dict(row) for row in rows]
        if found:
            self.last_case_id = found[-1]["id"]
        return found


def counted(rows: list[dict[str, Any]]) -> dict[Key, int]:
    """Notifications by (message_key, recipient); "retire" rows (greying out buttons whose action
    is done) are not messages to anyone."""
    return dict(Counter((row["message_key"], row["recipient_id"]) for row in rows if row["target"] != "retire"))


async def step(services: Services, changes: Changes, when: datetime) -> dict[Key, int]:
    """Sweep at ``when``; what it added to the outbox for the contract, by (message_key, recipient)."""
    await sweep_at(services, when)
    return counted(await changes.take())


async def outbox_totals(services: Services, contract_id: int) -> dict[Key, int]:
    """Every outbox row of the contract so far, by (message_key, recipient)."""
    rows = await services.db.fetchall(
        "SELECT message_key, recipient_id, COUNT(*) AS n FROM outbox WHERE contract_id = ? AND target <> 'retire'"
        " GROUP BY message_key, recipient_id", (contract_id,))
    return {(row["message_key"], row["recipient_id"]): int(row["n"]) for row in rows}


async def cases_of(services: Services, contract_id: int) -> list[dict[str, Any]]:
    rows = await services.db.fetchall("SELECT * FROM cases WHERE contract_id = ? ORDER BY id", (contract_id,))
    return [dict(row) for row in rows]


async def fires_of(services: Services, contract_id: int) -> list[str]:
    rows = await services.db.fetchall("SELECT key FROM timer_fires WHERE contract_id = ? ORDER BY key",
                                      (contract_id,))
    return [str(row["key"]) for row in rows]


async def worker_speaks(services: Services, contract: Contract, at: datetime, *,
                        thread_id: int = THREAD_ID) -> Contract:
    """Give the contract its thread (once) and post a worker message there at ``at``."""
    fake_clock(services).set(at)
    await services.contracts.set_thread(contract.id, thread_id)
    await services.contracts.record_thread_message(thread_id, contract.worker_id, at)
    return await reload(services, contract.id)


@asynccontextmanager
async def restarted(services: Services, *, close_old: bool = True) -> AsyncIterator[Services]:
    """A new bot process: a NEW Database object on the same file, migrated, and new Services.

    ``close_old=False`` abandons the old connection as a crashed process would (nothing more
    is written through it). Use only the yielded services afterwards.
    """
    if close_old:
        await services.db.close()
    database = Database(services.db.path)
    await database.connect()
    try:
        await database.migrate()
        yield Services.build(database, services.clock, services.settings)
    finally:
        await database.close()


class StatementLog:
    """Every SQL statement a connection runs while attached (sqlite3's trace callback)."""

    def __init__(self) -> None:
        self.statements: list[str] = []

    def __call__(self, statement: str) -> None:
        self.statements.append(statement)


class RecordingConn:
    """Stands in for a connection to learn which SQL a repository function runs."""

    def __init__(self, conn: Any) -> None:
        self.conn = conn
        self.calls: list[tuple[str, tuple[Any, ...]]] = []

    def execute(self, sql: str, params: tuple[Any, ...] = ()) -> Any:
        self.calls.append((sql, tuple(params)))
        return self.conn.execute(sql, params)

    def execute_fetchall(self, sql: str, params: tuple[Any, ...] = ()) -> Any:
        self.calls.append((sql, tuple(params)))
        return self.conn.execute_fetchall(sql, params)


async def force_currency(services: Services, code: str, guild_id: int = GUILD_ID) -> None:
    """Set the guild's currency behind /setup's back, as a database from before the currency
    change was refused with open jobs may hold (a job, hence a contract, in the old one)."""
    async with services.db.transaction() as conn:
        await conn.execute("UPDATE guilds SET currency = ? WHERE guild_id = ?", (code, guild_id))
    services.guilds._forget(guild_id)
