"""Small helpers that drive the real services through the usual steps of a contract.

Every helper calls the services exactly as the bot does (no SQL shortcuts), so what they
leave in the database is what a real user would leave. They assume the guild is set up
(use the ``guild`` fixture, or :func:`setup_guild` for another guild or currency).

Time: the helpers never move the clock, with one exception: when a post/apply cooldown
refuses them (several jobs or applications by the same user in one test), they move
``services.clock`` (a FakeClock in tests) to the ``retry_at`` of the refusal and try
once more. A test that cares about exact times should move the clock itself between
calls, or call :func:`no_cooldowns` first.

Signatures are stable (other test files use them); add keyword arguments, never reorder.

    job = await post_job(services)                               # open job by CLIENT
    app = await apply(services, job)                             # pending application by WORKER
    offer = await offered_contract(services)                     # Contract, status offered
    c = await hired_contract(services)                           # awaiting_funding
    c = await deposited_contract(services)                       # funding_submitted
    c = await funded_contract(services)                          # active (MODERATOR confirmed)
    c = await delivered_contract(services)                       # delivered (one file)
    c = await completed_contract(services)                       # completed (client approved)

Each contract helper returns the contract as re-read from the database after the last
step. Pass ``job=`` to reuse a job, ``worker_id=`` for another worker, and the offer
terms (``price``, ``deadline``, ``revisions``, ``scope``) as keyword arguments.
"""

from __future__ import annotations

import json
from collections.abc import Awaitable, Callable
from datetime import datetime
from decimal import Decimal
from typing import Any, TypeVar

from bot.clock import FakeClock
from bot.errors import CooldownActive
from bot.models.entities import Application, Contract, Guild, Job
from bot.models.money import to_major
from bot.models.timeutil import from_iso
from bot.services.container import Services
from bot.services.deliveries import IncomingFile
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


async def _reload(services: Services, contract_id: int) -> Contract:
    contract = await services.contracts.get(contract_id)
    assert contract is not None
    return contract


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
    return await _reload(services, offer.id)


async def deposited_contract(services: Services, clock: FakeClock | None = None, *,
                             reference: str | None = "bank transfer 0001", **kwargs: Any) -> Contract:
    """The client declared the deposit: status ``funding_submitted``."""
    contract = await hired_contract(services, clock, **kwargs)
    await services.escrow.deposit(contract.guild_id, contract.id, actor_id=contract.client_id, reference=reference)
    return await _reload(services, contract.id)


async def funded_contract(services: Services, clock: FakeClock | None = None, *, moderator_id: int = MODERATOR,
                          **kwargs: Any) -> Contract:
    """A moderator confirmed the deposit: status ``active``, escrow holds the price."""
    contract = await deposited_contract(services, clock, **kwargs)
    await services.escrow.confirm(contract.guild_id, contract.id, moderator_id=moderator_id)
    return await _reload(services, contract.id)


async def deliver(services: Services, contract: Contract, files: list[IncomingFile] | None = None,
                  note: str | None = "First draft attached.") -> Contract:
    """The worker delivers ``files`` (one PNG by default) to an active contract."""
    await services.deliveries.deliver(contract.guild_id, contract.id, actor_id=contract.worker_id,
                                      files=files or [DEFAULT_FILE], note=note)
    return await _reload(services, contract.id)


async def delivered_contract(services: Services, clock: FakeClock | None = None, *,
                             files: list[IncomingFile] | None = None, note: str | None = "First draft attached.",
                             **kwargs: Any) -> Contract:
    """The worker delivered: status ``delivered``."""
    contract = await funded_contract(services, clock, **kwargs)
    return await deliver(services, contract, files, note)


async def completed_contract(services: Services, clock: FakeClock | None = None, **kwargs: Any) -> Contract:
    """The client approved the delivery: status ``completed``, escrow released."""
    contract = await delivered_contract(services, clock, **kwargs)
    await services.deliveries.approve(contract.guild_id, contract.id, actor_id=contract.client_id)
    return await _reload(services, contract.id)


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
    return [{**dict(row), "args": json.loads(row["args"]), "buttons": json.loads(row["buttons"])} for row in rows]


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
