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
from datetime import datetime, timedelta
from typing import Protocol

from bot.clock import Clock
from bot.db import Conn, Database
from bot.errors import InvalidInput, NotAllowed, WrongState
from bot.models.balances import owed_since
from bot.models.entities import Contract, Deposit
from bot.models.money import CURRENCIES, format_plain
from bot.models.states import CONTRACT_TRANSITIONS, FUNDED_STATES, ContractStatus, Role
from bot.models.timeutil import from_iso, to_iso
from bot.repositories import contracts as repo
from bot.repositories import guilds as guilds_repo
from bot.repositories.audit import record_event
from bot.repositories.ledger import (
    DEPOSITS_EXTERNAL,
    FEES_ACCOUNT,
    PAYOUTS_EXTERNAL,
    EntryLine,
    PayoutLine,
    account_sums,
    balance,
    escrow_account,
    escrow_of_party,
    guilds_with_unpaid,
    owed_account,
    payouts_to,
    post_ledger,
    refund_account,
    sums_by_currency,
    unpaid_entries,
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


@dataclass(frozen=True, slots=True)
class Owed:
    """What one user is owed in one currency (as a worker, as a client) and since when: the
    earliest credit that later payouts have not covered (bot/models/balances.py)."""

    user_id: int
    currency: str
    owed: int
    refund: int
    since: datetime

    @property
    def total(self) -> int:
        return self.owed + self.refund


@dataclass(frozen=True, slots=True)
class MoneyLine:
    """A user's own money in one currency, as ``/profile balance`` shows it."""

    currency: str
    owed: int
    refund: int
    escrow_as_worker: int
    escrow_as_client: int
    paid_out: int


@dataclass(frozen=True, slots=True)
class MyMoney:
    lines: list[MoneyLine]
    payouts: list[PayoutLine]


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
    # Every amount is read in the currency it was earned in (each ledger entry carries its
    # contract's currency): a contract made from a job posted before the guild changed its
    # currency is shown and paid out in the job's currency, never as 0 in the guild's one.

    async def balances(self, guild_id: int, user_id: int | None = None) -> list[Balance]:
        """One :class:`Balance` per currency holding anything (the guild's currency always, first);
        the escrow and fee figures are the guild's."""
        guild = await self.guilds.require(guild_id)
        async with self.db.read() as conn:
            fees = await sums_by_currency(conn, guild_id, FEES_ACCOUNT)
            escrow = await sums_by_currency(conn, guild_id, "escrow:")
            if user_id is None:
                owed = await sums_by_currency(conn, guild_id, "owed:")
                refund = await sums_by_currency(conn, guild_id, "refund:")
            else:
                owed, refund = await self._user_sums(conn, guild_id, user_id)
        return [
            Balance(user_id=user_id, currency=code, owed=owed.get(code, 0), refund=refund.get(code, 0),
                    escrow_total=escrow.get(code, 0), fees=fees.get(code, 0))
            for code in _currencies(guild.currency, owed, refund, *([escrow, fees] if user_id is None else []))
        ]

    async def balance(self, guild_id: int, user_id: int | None = None, currency: str | None = None) -> Balance:
        """The :class:`Balance` in one currency (the guild's by default)."""
        code = currency or (await self.guilds.require(guild_id)).currency
        for found in await self.balances(guild_id, user_id):
            if found.currency == code:
                return found
        return Balance(user_id=user_id, currency=code, owed=0, refund=0, escrow_total=0, fees=0)

    @staticmethod
    async def _user_sums(conn: Conn, guild_id: int, user_id: int) -> tuple[dict[str, int], dict[str, int]]:
        """(owed as a worker, refunds owed as a client), per currency."""
        sums = await account_sums(conn, guild_id, [owed_account(user_id), refund_account(user_id)])
        owed = {code: amount for (account, code), amount in sums.items() if account == owed_account(user_id)}
        refund = {code: amount for (account, code), amount in sums.items() if account == refund_account(user_id)}
        return owed, refund

    async def owed_currencies(self, guild_id: int, user_id: int) -> list[Balance]:
        """What ``user_id`` is owed, one :class:`Balance` per currency with something to pay out."""
        return [b for b in await self.balances(guild_id, user_id) if b.total_owed > 0]

    async def owed_list(self, guild_id: int) -> list[Owed]:
        """Everyone owed money (as a worker or as a client), per currency, the longest owed first."""
        await self.guilds.require(guild_id)
        async with self.db.read() as conn:
            entries = await unpaid_entries(conn, guild_id)
        return _owed_from(entries)

    async def my_money(self, guild_id: int, user_id: int) -> MyMoney:
        """``/profile balance``: one's own money, per currency, and the payouts recorded to them."""
        guild = await self.guilds.require(guild_id)
        async with self.db.read() as conn:
            owed, refund = await self._user_sums(conn, guild_id, user_id)
            for_worker = await escrow_of_party(conn, guild_id, user_id, as_worker=True)
            from_client = await escrow_of_party(conn, guild_id, user_id, as_worker=False)
            payouts = await payouts_to(conn, guild_id, user_id)
        paid: dict[str, int] = {}
        for payout in payouts:
            paid[payout.currency] = paid.get(payout.currency, 0) + payout.amount
        lines = [
            MoneyLine(currency=code, owed=owed.get(code, 0), refund=refund.get(code, 0),
                      escrow_as_worker=for_worker.get(code, 0), escrow_as_client=from_client.get(code, 0),
                      paid_out=paid.get(code, 0))
            for code in _currencies(guild.currency, owed, refund, for_worker, from_client, paid)
        ]
        return MyMoney(lines=lines, payouts=payouts)

    async def record_payout(self, guild_id: int, *, moderator_id: int, user_id: int, amount: Amount,
                            reference: str, request_id: str | None = None, currency: str | None = None) -> Balance:
        """A moderator paid ``user_id`` outside the bot: clear that much of what is owed to them
        (owed as a worker first, then refunds owed as a client), in the currency it is owed in:
        ``currency`` if given, else the only one they are owed in (several: refused, naming them)."""
        guild = await self.guilds.require(guild_id)
        policies = await self.guilds.policies(guild_id)
        if moderator_id == user_id:
            raise NotAllowed("error.mod.payout_self")
        ref = clean_text("reference", reference)
        code = await self._payout_currency(guild_id, user_id, currency, guild.currency)
        minor = parse_amount("amount", amount, code, max_major=policies.integer("max_budget"))
        now = self.clock.now()
        async with self.db.transaction() as conn:
            owed = await balance(conn, guild_id, owed_account(user_id), code)
            refund = await balance(conn, guild_id, refund_account(user_id), code)
            if minor > owed + refund:
                raise InvalidInput("error.mod.payout_too_much", owed_amount=owed + refund, currency=code)
            from_owed = min(minor, owed)
            posted = await post_ledger(
                conn, guild_id=guild_id, kind="payout", key=f"payout:{request_id or uuid.uuid4().hex}",
                currency=code, now=now, actor_id=moderator_id, memo=ref,
                entries=[(owed_account(user_id), -from_owed), (refund_account(user_id), -(minor - from_owed)),
                         (PAYOUTS_EXTERNAL, minor)],
            )
            if not posted:
                raise WrongState("error.mod.payout_duplicate")
            await record_event(conn, guild_id=guild_id, kind="payout.recorded", now=now, actor_id=moderator_id,
                               user_id=user_id, amount=minor, currency=code, reference=ref)
            await enqueue(conn, guild_id=guild_id, target="dm", recipient_id=user_id,
                          message_key="notify.payout_recorded", now=now,
                          args={"paid_amount": minor, "currency": code, "reference": ref})
        log.info("guild %s payout of %s %s to %s recorded by %s", guild_id, minor, code, user_id, moderator_id)
        return await self.balance(guild_id, user_id, code)

    async def _payout_currency(self, guild_id: int, user_id: int, currency: str | None, default: str) -> str:
        owed = await self.owed_currencies(guild_id, user_id)
        listed = ", ".join(f"{format_plain(b.total_owed, b.currency)} ({b.currency})" for b in owed) or "-"
        if currency is not None:
            code = currency.strip().upper()
            if code not in CURRENCIES:
                raise InvalidInput("error.money.payout_currency_unknown", currency=currency, balances=listed)
            return code
        if len(owed) > 1:
            raise InvalidInput("error.money.payout_currency_ambiguous", balances=listed)
        return owed[0].currency if owed else default

    async def payout_digests(self, now: datetime | None = None) -> int:
        """The sweep's, every tick: to each guild where money has been owed for longer than its
        ``payout_reminder_after``, the daily digest in the mod channel (one outbox row), at most
        once a day; nothing when nothing is overdue. Returns how many digests were queued."""
        when = now or self.clock.now()
        async with self.db.read() as conn:
            guild_ids = await guilds_with_unpaid(conn)
        sent = 0
        for guild_id in guild_ids:
            try:
                sent += await self._payout_digest(guild_id, when)
            except Exception:
                # one guild's failure must not keep the others' digests back: retried next tick
                log.exception("guild %s: payout digest failed; it is tried again next tick", guild_id)
        return sent

    async def _payout_digest(self, guild_id: int, now: datetime) -> int:
        if await self.guilds.get(guild_id) is None:
            return 0
        after = (await self.guilds.policies(guild_id)).duration("payout_reminder_after")
        async with self.db.read() as conn:  # sent less than a day ago: nothing to read this tick
            last = await guilds_repo.payout_digest_at(conn, guild_id)
        if last is not None and last > to_iso(now - DIGEST_EVERY):
            return 0
        async with self.db.transaction() as conn:
            overdue = [o for o in _owed_from(await unpaid_entries(conn, guild_id)) if o.since <= now - after]
            if not overdue:
                return 0
            if not await guilds_repo.claim_payout_digest(conn, guild_id, to_iso(now), to_iso(now - DIGEST_EVERY)):
                return 0
            await enqueue(conn, guild_id=guild_id, target="mod", message_key=DIGEST_KEY, now=now,
                          args={"count": len(overdue),
                                "owed": [{"user_id": o.user_id, "currency": o.currency, "owed_amount": o.owed,
                                          "refund_amount": o.refund, "since_at": to_iso(o.since)}
                                         for o in overdue]})
        log.info("guild %s: payout digest queued (%s overdue)", guild_id, len(overdue))
        return 1


DIGEST_KEY = "mod.payout_digest"
DIGEST_EVERY = timedelta(days=1)


def _currencies(first: str, *amounts: dict[str, int]) -> list[str]:
    """``first``, then every other currency with a nonzero amount in ``amounts``, sorted."""
    others = {code for mapping in amounts for code, value in mapping.items() if value}
    return [first, *sorted(others - {first})]


def _owed_from(entries: list[EntryLine]) -> list[Owed]:
    """Group the entries of unpaid accounts per (user, currency): amounts and the FIFO age."""
    grouped: dict[tuple[int, str], dict[str, list[tuple[int, datetime]]]] = {}
    for entry in entries:
        kind, _, user = entry.account.partition(":")
        accounts = grouped.setdefault((int(user), entry.currency), {})
        accounts.setdefault(kind, []).append((entry.amount, entry.at))
    found: list[Owed] = []
    for (user_id, code), accounts in grouped.items():
        moments = [m for m in (owed_since(lines) for lines in accounts.values()) if m is not None]
        owed = sum(a for a, _ in accounts.get("owed", []))
        refund = sum(a for a, _ in accounts.get("refund", []))
        if moments and owed + refund:
            found.append(Owed(user_id=user_id, currency=code, owed=owed, refund=refund, since=min(moments)))
    found.sort(key=lambda o: (o.since, o.user_id, o.currency))
    return found
