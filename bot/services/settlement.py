"""Ledger movements for a contract's escrow. Each runs inside the caller's transaction and
posts one balanced ledger transaction under an idempotency key, so it happens once."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from bot.db import Conn
from bot.errors import WrongState
from bot.models.entities import Contract, Terms
from bot.models.money import fee_split, percent_of
from bot.repositories.ledger import (
    FEES_ACCOUNT,
    balance,
    escrow_account,
    owed_account,
    post_ledger,
    refund_account,
)
from bot.services.payment_steps import queue_settlement_calls


@dataclass(frozen=True, slots=True)
class Settlement:
    held: int
    fee: int
    to_worker: int
    to_client: int


async def held(conn: Conn, contract: Contract) -> int:
    return await balance(conn, contract.guild_id, escrow_account(contract.id), contract.currency)


async def _post(conn: Conn, contract: Contract, kind: str, settlement: Settlement, now: datetime,
                actor_id: int | None) -> Settlement:
    posted = await post_ledger(
        conn,
        guild_id=contract.guild_id,
        contract_id=contract.id,
        kind=kind,
        key=f"settle:{contract.id}",
        currency=contract.currency,
        entries=[
            (escrow_account(contract.id), -settlement.held),
            (FEES_ACCOUNT, settlement.fee),
            (owed_account(contract.worker_id), settlement.to_worker),
            (refund_account(contract.client_id), settlement.to_client),
        ],
        now=now,
        actor_id=actor_id,
        # every caller moved the contract out of its funded state in this transaction (or
        # read it there): a second settlement would roll the transaction back
        once_checked=True,
    )
    if not posted:
        raise WrongState("error.contract.already_settled", contract_id=contract.id)
    # paid with Stripe: the money moves by calls made after commit (nothing for manual payments)
    await queue_settlement_calls(conn, contract, to_worker=settlement.to_worker, to_client=settlement.to_client,
                                 ledger_key=f"settle:{contract.id}", now=now)
    return settlement


async def release(conn: Conn, contract: Contract, terms: Terms, now: datetime,
                  actor_id: int | None, *, shortfall_allowed: bool = False) -> Settlement:
    """Pay the price: fee to the platform, the rest owed to the worker; any excess (a price
    lowered after funding) is owed back to the client. While a top-up for a raised price is
    unpaid the escrow holds less than the price: an approval is refused (the client pays the
    top-up first), a moderator's release (``shortfall_allowed``) pays out what is held."""
    amount = await held(conn, contract)
    price = terms.price
    if amount < price:
        if not shortfall_allowed:
            raise WrongState("error.escrow.topup_pending", contract_id=contract.id,
                             topup_amount=price - amount, currency=contract.currency)
        price = amount
    fee, payout = fee_split(price, terms.fee_percent)
    return await _post(conn, contract, "release", Settlement(amount, fee, payout, amount - price), now,
                       actor_id)


async def refund(conn: Conn, contract: Contract, now: datetime, actor_id: int | None) -> Settlement:
    amount = await held(conn, contract)
    return await _post(conn, contract, "refund", Settlement(amount, 0, 0, amount), now, actor_id)


async def split(conn: Conn, contract: Contract, terms: Terms, percent: int, now: datetime,
                actor_id: int | None) -> Settlement:
    """``percent`` of the price to the worker (less the fee on that share), the rest of the escrow
    back to the client."""
    amount = await held(conn, contract)
    share = percent_of(min(amount, terms.price), percent)
    fee, payout = fee_split(share, terms.fee_percent)
    return await _post(conn, contract, "split", Settlement(amount, fee, payout, amount - share), now, actor_id)
