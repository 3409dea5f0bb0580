"""Escrow (仮払い) through a payment-provider interface; the manual provider by default.

Manual flow: the client declares a deposit (optional reference), a moderator confirms the
money arrived, the contract becomes active and the delivery clock starts. A top-up after a
price raise goes through the same declare → confirm flow. Payouts made outside are recorded
by moderators and clear what is owed.
"""

from __future__ import annotations

import logging
import uuid
from dataclasses import dataclass, replace
from datetime import datetime
from typing import Protocol

from bot.clock import Clock
from bot.db import Conn, Database
from bot.errors import InvalidInput, NotAllowed, WrongState
from bot.models.entities import Contract, Deposit
from bot.models.states import CONTRACT_TRANSITIONS, FUNDED_STATES, ContractStatus, Role
from bot.models.timeutil import from_iso, to_iso
from bot.repositories import contracts as repo
from bot.repositories.audit import record_event
from bot.repositories.ledger import (
    DEPOSITS_EXTERNAL,
    FEES_ACCOUNT,
    PAYOUTS_EXTERNAL,
    balance,
    balance_of_accounts,
    escrow_account,
    owed_account,
    post_ledger,
    refund_account,
)
from bot.repositories.outbox import enqueue
from bot.services.cases import settle_cases
from bot.services.common import Amount, clean_text, parse_amount, transition
from bot.services.guilds import GuildService
from bot.services.settlement import held
from bot.services.steps import load_contract, notify, post_thread, retire, role_of

log = logging.getLogger(__name__)
_CS = ContractStatus


class PaymentProvider(Protocol):
    """Where escrow money comes from. A processor integration implements this without
    touching the workflow: it may confirm deposits itself instead of a moderator."""

    name: str

    def needs_moderator_confirmation(self) -> bool: ...

    def check_reference(self, reference: str | None) -> str | None: ...


class ManualProvider:
    """The server's operators hold the money; a moderator confirms each deposit by hand."""

    name = "manual"

    def needs_moderator_confirmation(self) -> bool:
        return True

    def check_reference(self, reference: str | None) -> str | None:
        return clean_text("reference", reference, required=False)


@dataclass(frozen=True, slots=True)
class EscrowStatus:
    contract: Contract
    price: int
    held: int
    topup_due: int
    deposits: list[Deposit]


@dataclass(frozen=True, slots=True)
class Balance:
    user_id: int | None
    currency: str
    owed: int
    refund: int
    escrow_total: int
    fees: int

    @property
    def total_owed(self) -> int:
        return self.owed + self.refund


class EscrowService:
    def __init__(self, db: Database, clock: Clock, guilds: GuildService,
                 provider: PaymentProvider | None = None) -> None:
        self.db = db
        self.clock = clock
        self.guilds = guilds
        self.provider: PaymentProvider = provider or ManualProvider()

    async def deposit(self, guild_id: int, contract_id: int, *, actor_id: int,
                      reference: str | None = None) -> Deposit:
        """The client declares the escrow deposit (or a top-up after a price raise)."""
        now = self.clock.now()
        ref = self.provider.check_reference(reference)
        async with self.db.transaction() as conn:
            contract = await load_contract(conn, guild_id, contract_id)
            role = role_of(contract, actor_id)
            if role is not Role.CLIENT:
                raise NotAllowed("error.escrow.client_only", contract_id=contract_id)
            terms = await repo.terms(conn, contract.id, contract.terms_version)
            if contract.status in FUNDED_STATES:
                deposit = await self._declare_topup(conn, contract, actor_id, ref, now)
            else:
                target = transition(CONTRACT_TRANSITIONS, "contract", contract.status, "deposit", role)
                await repo.declare_deposit(conn, contract.id, contract.status, target, now)
                deposit = await repo.insert_deposit(
                    conn, contract_id=contract.id, kind="initial", amount=terms.price, provider=self.provider.name,
                    reference=ref, status="declared", declared_by=actor_id, declared_at=to_iso(now),
                )
            await retire(conn, contract, now, f"escrow:{contract.id}:deposit")
            # the client acted: an escalation of the unpaid escrow (or top-up) has nothing left to wait for
            if deposit.kind == "initial":
                await settle_cases(conn, contract, now, why="funded", actor_id=actor_id,
                                   reason_kinds=frozenset({"escrow_unfunded"}))
            else:
                await settle_cases(conn, contract, now, why="topup_declared", actor_id=actor_id,
                                   reason_kinds=frozenset({"topup_unpaid"}))
            await record_event(conn, guild_id=guild_id, contract_id=contract.id, kind="escrow.declared", now=now,
                               actor_id=actor_id, deposit_id=deposit.id, amount=deposit.amount, kind_=deposit.kind,
                               reference=ref)
            await enqueue(conn, guild_id=guild_id, target="mod", contract_id=contract.id,
                          message_key="mod.deposit_declared", now=now,
                          args={"contract_id": contract.id, "client_id": actor_id, "deposit_amount": deposit.amount,
                                "currency": contract.currency, "reference": ref or "-"},
                          buttons=(f"escrow:{contract.id}:confirm",))
            await notify(conn, contract, "notify.deposit_declared_worker", now, to=(contract.worker_id,),
                         deposit_amount=deposit.amount, currency=contract.currency)
        log.info("guild %s contract %s deposit %s declared", guild_id, contract_id, deposit.id)
        return deposit

    async def _declare_topup(self, conn: Conn, contract: Contract, actor_id: int, ref: str | None,
                             now: datetime) -> Deposit:
        if contract.topup_due <= 0:
            raise WrongState("error.escrow.already_funded", contract_id=contract.id)
        for existing in await repo.deposits(conn, contract.id):
            if existing.status == "declared":
                raise WrongState("error.escrow.already_declared", contract_id=contract.id)
        deposit = await repo.insert_deposit(
            conn, contract_id=contract.id, kind="topup", amount=contract.topup_due, provider=self.provider.name,
            reference=ref, status="declared", declared_by=actor_id, declared_at=to_iso(now),
        )
        await repo.touch_timer(conn, contract.id)
        return deposit

    async def confirm(self, guild_id: int, contract_id: int, *, moderator_id: int) -> Deposit:
        """A moderator confirms the declared deposit arrived: escrow is credited once."""
        now = self.clock.now()
        async with self.db.transaction() as conn:
            contract = await load_contract(conn, guild_id, contract_id)
            if role_of(contract, moderator_id) is not Role.OUTSIDER:
                raise NotAllowed("error.mod.party", contract_id=contract_id)
            declared = [d for d in await repo.deposits(conn, contract.id) if d.status == "declared"]
            if not declared:
                raise WrongState("error.escrow.nothing_declared", contract_id=contract_id, status=contract.status)
            confirmed = await self.confirm_in(conn, contract, declared[0], moderator_id, now)
        log.info("guild %s contract %s deposit %s confirmed by %s", guild_id, contract_id, confirmed.id, moderator_id)
        return confirmed

    async def confirm_in(self, conn: Conn, contract: Contract, deposit: Deposit, actor_id: int | None,
                         now: datetime) -> Deposit:
        """Credit a declared deposit to escrow in the caller's transaction: the moderator's
        confirm and a processor's paid webhook (bot/services/payments.py) share this path."""
        if deposit.kind == "initial":
            target = transition(CONTRACT_TRANSITIONS, "contract", contract.status, "confirm", Role.MODERATOR)
            terms = await repo.terms(conn, contract.id, contract.terms_version)
            assert contract.accepted_at is not None
            due = terms.deadline.due_at(accepted_at=contract.accepted_at, funded_at=now)
            await repo.start_delivery_clock(conn, contract.id, contract.status, target, now, due)
            # a price raised while the deposit was pending: the difference is a top-up
            if terms.price > deposit.amount:
                await repo.set_topup_due(conn, contract.id, terms.price - deposit.amount)
        else:
            due = contract.due_at  # type: ignore[assignment]
            if contract.status not in FUNDED_STATES:
                raise WrongState("error.contract.state", status=contract.status, action="confirm")
            await repo.reduce_topup_due(conn, contract.id, deposit.amount)
            await repo.touch_timer(conn, contract.id)
        await repo.confirm_deposit(conn, deposit.id, actor_id, now)
        await post_ledger(
            conn, guild_id=contract.guild_id, contract_id=contract.id, kind="deposit", key=f"deposit:{deposit.id}",
            currency=contract.currency, now=now, actor_id=actor_id,
            entries=[(escrow_account(contract.id), deposit.amount), (DEPOSITS_EXTERNAL, -deposit.amount)],
            once_checked=True,  # the deposit was read "declared" and is confirmed in this transaction
        )
        await retire(conn, contract, now, f"escrow:{contract.id}:confirm")
        await record_event(conn, guild_id=contract.guild_id, contract_id=contract.id, kind="escrow.confirmed", now=now,
                           actor_id=actor_id, deposit_id=deposit.id, amount=deposit.amount)
        if deposit.kind == "initial":
            await notify(conn, contract, "notify.funded_worker", now, to=(contract.worker_id,),
                         due_at=to_iso(due) if due else "-")
            await notify(conn, contract, "notify.funded_client", now, to=(contract.client_id,),
                         deposit_amount=deposit.amount, currency=contract.currency,
                         due_at=to_iso(due) if due else "-")
            await post_thread(conn, contract, "thread.funded", now, due_at=to_iso(due) if due else "-")
        else:
            await notify(conn, contract, "notify.topup_confirmed", now, to=(contract.client_id, contract.worker_id),
                         deposit_amount=deposit.amount, currency=contract.currency)
        return replace(deposit, status="confirmed", confirmed_by=actor_id, confirmed_at=from_iso(to_iso(now)))

    async def processor_paid(self, conn: Conn, contract: Contract, *, kind: str, amount: int, reference: str,
                             provider: str, now: datetime) -> Deposit:
        """A payment processor took the client's payment (bot/services/payments.py): the deposit
        is declared and confirmed at once, in the caller's transaction, by the same path as a
        moderator's confirm."""
        if kind == "initial":
            target = transition(CONTRACT_TRANSITIONS, "contract", contract.status, "deposit", Role.CLIENT)
            await repo.declare_deposit(conn, contract.id, contract.status, target, now)
            contract = replace(contract, status=ContractStatus(target))
        deposit = await repo.insert_deposit(
            conn, contract_id=contract.id, kind=kind, amount=amount, provider=provider, reference=reference,
            status="declared", declared_by=contract.client_id, declared_at=to_iso(now),
        )
        await retire(conn, contract, now, f"escrow:{contract.id}:deposit")
        await settle_cases(conn, contract, now, why="funded" if kind == "initial" else "topup_declared",
                           actor_id=contract.client_id,
                           reason_kinds=frozenset({"escrow_unfunded" if kind == "initial" else "topup_unpaid"}))
        return await self.confirm_in(conn, contract, deposit, None, now)

    async def status(self, guild_id: int, contract_id: int, *, viewer_id: int,
                     is_moderator: bool = False) -> EscrowStatus:
        async with self.db.read() as conn:
            contract = await load_contract(conn, guild_id, contract_id)
            if role_of(contract, viewer_id, is_moderator=is_moderator) is Role.OUTSIDER:
                raise NotAllowed("error.contract.not_party", contract_id=contract_id)
            terms = await repo.terms(conn, contract.id, contract.terms_version)
            return EscrowStatus(contract=contract, price=terms.price, held=await held(conn, contract),
                                topup_due=contract.topup_due, deposits=await repo.deposits(conn, contract.id))

    async def pending_deposits(self, guild_id: int) -> list[Deposit]:
        """The declared deposits of the guild waiting for a moderator, oldest first."""
        async with self.db.read() as conn:
            return await repo.declared_deposits(conn, guild_id)

    async def suggest_confirm(self, guild_id: int, user_id: int, text: str, *,
                              is_moderator: bool) -> list[Deposit]:
        """Autocomplete of ``/escrow confirm``: for a moderator, the declared deposits (oldest
        first, 25 at most) whose contract id contains the typed digits, except on contracts
        where they are a party (they may not confirm those). Nobody else sees any."""
        if not is_moderator:
            return []
        digits = "".join(ch for ch in text if ch.isdigit())
        async with self.db.read() as conn:
            return await repo.declared_deposits(conn, guild_id, text=digits, excluding=user_id, limit=25)

    # -- balances and payouts -----------------------------------------------------

    async def balance(self, guild_id: int, user_id: int | None = None) -> Balance:
        guild = await self.guilds.require(guild_id)
        code = guild.currency
        async with self.db.read() as conn:
            fees = await balance(conn, guild_id, FEES_ACCOUNT, code)
            escrow_total = await balance_of_accounts(conn, guild_id, "escrow:", code)
            if user_id is None:
                owed = await balance_of_accounts(conn, guild_id, "owed:", code)
                refund = await balance_of_accounts(conn, guild_id, "refund:", code)
            else:
                owed = await balance(conn, guild_id, owed_account(user_id), code)
                refund = await balance(conn, guild_id, refund_account(user_id), code)
        return Balance(user_id=user_id, currency=code, owed=owed, refund=refund, escrow_total=escrow_total, fees=fees)

    async def record_payout(self, guild_id: int, *, moderator_id: int, user_id: int, amount: Amount,
                            reference: str, request_id: str | None = None) -> Balance:
        """A moderator paid ``user_id`` outside the bot: clear that much of what is owed to them
        (owed as a worker first, then refunds owed as a client)."""
        guild = await self.guilds.require(guild_id)
        policies = await self.guilds.policies(guild_id)
        if moderator_id == user_id:
            raise NotAllowed("error.mod.payout_self")
        ref = clean_text("reference", reference)
        minor = parse_amount("amount", amount, guild.currency, max_major=policies.integer("max_budget"))
        now = self.clock.now()
        async with self.db.transaction() as conn:
            owed = await balance(conn, guild_id, owed_account(user_id), guild.currency)
            refund = await balance(conn, guild_id, refund_account(user_id), guild.currency)
            if minor > owed + refund:
                raise InvalidInput("error.mod.payout_too_much", owed_amount=owed + refund, currency=guild.currency)
            from_owed = min(minor, owed)
            posted = await post_ledger(
                conn, guild_id=guild_id, kind="payout", key=f"payout:{request_id or uuid.uuid4().hex}",
                currency=guild.currency, now=now, actor_id=moderator_id, memo=ref,
                entries=[(owed_account(user_id), -from_owed), (refund_account(user_id), -(minor - from_owed)),
                         (PAYOUTS_EXTERNAL, minor)],
            )
            if not posted:
                raise WrongState("error.mod.payout_duplicate")
            await record_event(conn, guild_id=guild_id, kind="payout.recorded", now=now, actor_id=moderator_id,
                               user_id=user_id, amount=minor, reference=ref)
            await enqueue(conn, guild_id=guild_id, target="dm", recipient_id=user_id,
                          message_key="notify.payout_recorded", now=now,
                          args={"paid_amount": minor, "currency": guild.currency, "reference": ref})
        log.info("guild %s payout of %s to %s recorded by %s", guild_id, minor, user_id, moderator_id)
        return await self.balance(guild_id, user_id)
