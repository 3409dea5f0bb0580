"""Contract amendments: a party proposes new terms (scope, price, deadline), the other accepts
or rejects; a revision request "outside the agreed scope" becomes one (``outside_scope``).

:class:`AmendmentSteps` is a mixin of :class:`bot.services.contracts.ContractService`, not a
service of its own: the contract's use cases stay one service object
(``services.contracts.propose_amendment(...)`` for cogs, ui and tests), split by topic into
modules only to keep each file readable. It uses the service's ``db``, ``clock`` and
``guilds``; the shared steps come from bot/services/steps.py.
"""

from __future__ import annotations

import logging
from datetime import datetime

from bot.clock import Clock
from bot.db import Conn, Database
from bot.errors import InvalidInput, NotAllowed, NotFound, WrongState
from bot.models.entities import Amendment, Contract, Terms
from bot.models.states import FUNDED_STATES, ContractStatus
from bot.models.terms import Deadline, Requirement, find_revert
from bot.models.timeutil import local_today, to_iso
from bot.repositories import contracts as repo
from bot.repositories.audit import record_event
from bot.services.common import Amount, clean_text, parse_amount, parse_deadline
from bot.services.deliveries import mark_outside_scope, pending_request, resume_outside_scope
from bot.services.guilds import GuildService
from bot.services.steps import (
    load_contract,
    notify,
    post_thread,
    require_party,
    requirement_timeline,
    retire,
    revert_flag,
    role_of,
    user_zone,
)

log = logging.getLogger(__name__)

_CS = ContractStatus
AMENDABLE = frozenset({_CS.AWAITING_FUNDING, _CS.FUNDING_SUBMITTED, _CS.ACTIVE, _CS.DELIVERED})


class AmendmentSteps:
    """The amendment use cases of :class:`~bot.services.contracts.ContractService`."""

    db: Database
    clock: Clock
    guilds: GuildService

    async def propose_amendment(
        self,
        guild_id: int,
        contract_id: int,
        *,
        actor_id: int,
        reason: str,
        scope: str | None = None,
        price: Amount | None = None,
        deadline: str | None = None,
        revision_id: int | None = None,
    ) -> Amendment:
        """With ``revision_id``: the worker's answer that this revision request is outside the
        agreed scope (see ``outside_scope``)."""
        policies = await self.guilds.policies(guild_id)
        now = self.clock.now()
        reason_text = clean_text("reason", reason)
        scope_text = clean_text("scope", scope, required=False)
        if scope_text is None and price is None and deadline is None:
            raise InvalidInput("error.amendment.empty")
        async with self.db.transaction() as conn:
            contract = await load_contract(conn, guild_id, contract_id)
            require_party(contract, role_of(contract, actor_id))
            request = await pending_request(conn, contract, revision_id, actor_id) if revision_id else None
            if contract.status not in AMENDABLE:
                raise WrongState("error.amendment.state", status=contract.status)
            for pending in await repo.amendments(conn, contract.id):
                if pending.status == "proposed":
                    raise WrongState("error.amendment.pending", amendment_id=pending.id)
            current = await repo.terms(conn, contract.id, contract.terms_version)
            amount = (
                parse_amount("price", price, contract.currency, max_major=policies.integer("max_budget"))
                if price is not None else None
            )
            zone = await user_zone(conn, guild_id, actor_id)
            new_deadline = parse_deadline(deadline, local_today(now, zone), zone) if deadline is not None else None
            if (scope_text is None or scope_text == current.scope) and amount in (None, current.price) and (
                new_deadline is None or new_deadline == current.deadline
            ):
                raise InvalidInput("error.amendment.no_change")
            reverts = await self._reverts_to(conn, contract, scope_text, current)
            reverts_to = reverts.version if reverts else None
            days, on = new_deadline.columns() if new_deadline else (None, None)
            amendment_id = await repo.insert_amendment(
                conn, contract_id=contract.id, proposed_by=actor_id, base_version=contract.terms_version,
                scope=scope_text, price=amount, deadline_days=days, deadline_date=on,
                deadline_tz=new_deadline.tz if new_deadline else None, reason=reason_text,
                reverts_to=reverts_to, status="proposed", created_at=to_iso(now),
                reverts_to_revision=reverts.revision_id if reverts else None,
            )
            await record_event(conn, guild_id=guild_id, contract_id=contract.id, kind="amendment.proposed",
                               now=now, actor_id=actor_id, amendment_id=amendment_id, reverts_to=reverts_to,
                               reverts_to_revision=reverts.revision_id if reverts else None,
                               price=amount, deadline=new_deadline.text() if new_deadline else None,
                               scope_changed=scope_text is not None, reason=reason_text)
            if request is not None:
                await mark_outside_scope(conn, contract, request, amendment_id, actor_id, now,
                                         price=amount if amount is not None else current.price)
            else:
                await notify(conn, contract, "notify.amendment_proposed", now, to=(contract.other_party(actor_id),),
                             buttons=(f"amendment:{amendment_id}:accept", f"amendment:{amendment_id}:reject"),
                             amendment_id=amendment_id, by_id=actor_id, reason=reason_text,
                             reverts=revert_flag(reverts))
            amendment = await repo.get_amendment(conn, amendment_id)
        assert amendment is not None
        return amendment

    async def _reverts_to(self, conn: Conn, contract: Contract, scope: str | None,
                          current: Terms) -> Requirement | None:
        """The earlier terms version or revision request this scope returns to (A → B → A), if any."""
        if scope is None:
            return None
        return find_revert(scope, await requirement_timeline(conn, contract.id), besides=(current.scope,))

    async def outside_scope(self, guild_id: int, revision_id: int, *, actor_id: int, price: Amount,
                            reason: str) -> Amendment:
        """The worker answers a revision request "this is outside the agreed scope": it becomes
        an amendment proposal (the request's text as the scope, at ``price``) for the client to
        accept or reject, and it does not use up an included revision."""
        async with self.db.read() as conn:
            request = await repo.get_revision(conn, revision_id)
        if request is None:
            raise NotFound("error.review.revision_not_found", revision_id=revision_id)
        amendment = await self.propose_amendment(guild_id, request.contract_id, actor_id=actor_id, reason=reason,
                                                 scope=request.reason, price=price, revision_id=revision_id)
        log.info("guild %s contract %s: revision request %s is outside the scope, amendment %s", guild_id,
                 request.contract_id, revision_id, amendment.id)
        return amendment

    async def answer_amendment(self, guild_id: int, amendment_id: int, *, actor_id: int, accept: bool) -> Amendment:
        now = self.clock.now()
        stale: str | None = None
        async with self.db.transaction() as conn:
            amendment = await repo.get_amendment(conn, amendment_id)
            if amendment is None:
                raise NotFound("error.amendment.not_found", amendment_id=amendment_id)
            contract = await load_contract(conn, guild_id, amendment.contract_id)
            require_party(contract, role_of(contract, actor_id))
            if actor_id == amendment.proposed_by:
                raise NotAllowed("error.amendment.own")
            if amendment.status != "proposed":
                raise WrongState("error.amendment.answered", status=f"amendment_{amendment.status}")
            if not accept:
                await repo.set_amendment_status(conn, amendment.id, "proposed", "rejected", decided_at=to_iso(now),
                                                decided_by=actor_id)
                await retire(conn, contract, now, f"amendment:{amendment.id}:*")
                await record_event(conn, guild_id=guild_id, contract_id=contract.id, kind="amendment.rejected",
                                   now=now, actor_id=actor_id, amendment_id=amendment.id)
                await notify(conn, contract, "notify.amendment_rejected", now, to=(amendment.proposed_by,),
                             amendment_id=amendment.id)
            elif contract.status not in AMENDABLE or amendment.base_version != contract.terms_version:
                # the lapse is committed (raising here would roll it back), then refused below
                stale = contract.status
                await repo.set_amendment_status(conn, amendment.id, "proposed", "lapsed", decided_at=to_iso(now))
                await record_event(conn, guild_id=guild_id, contract_id=contract.id, kind="amendment.lapsed",
                                   now=now, actor_id=actor_id, amendment_id=amendment.id)
            else:
                await self._apply_amendment(conn, contract, amendment, actor_id, now)
            updated = await repo.get_amendment(conn, amendment.id)
        assert updated is not None
        if stale is not None:
            raise WrongState("error.amendment.stale", status=stale)
        return updated

    async def _apply_amendment(self, conn: Conn, contract: Contract, amendment: Amendment, actor_id: int,
                               now: datetime) -> None:
        if contract.status not in AMENDABLE or amendment.base_version != contract.terms_version:
            await repo.set_amendment_status(conn, amendment.id, "proposed", "lapsed", decided_at=to_iso(now))
            raise WrongState("error.amendment.stale", status=contract.status)
        current = await repo.terms(conn, contract.id, contract.terms_version)
        version = current.version + 1
        deadline = (
            Deadline.from_columns(amendment.deadline_days, amendment.deadline_date, amendment.deadline_tz)
            if amendment.deadline_days is not None or amendment.deadline_date is not None
            else current.deadline
        )
        days, on = deadline.columns()
        price = amendment.price if amendment.price is not None else current.price
        await repo.insert_terms(
            conn, contract_id=contract.id, version=version, scope=amendment.scope or current.scope, price=price,
            deadline_days=days, deadline_date=on, deadline_tz=deadline.tz,
            revisions_included=current.revisions_included,
            fee_percent=current.fee_percent, reverts_to=amendment.reverts_to, created_by=amendment.proposed_by,
            reason=amendment.reason, created_at=to_iso(now), reverts_to_revision=amendment.reverts_to_revision,
        )
        due_at: datetime | None = None
        if contract.funded_at is not None and contract.accepted_at is not None and deadline != current.deadline:
            # a date agreed on a funded contract is taken as given: no funding delay to make up
            due_at = deadline.due_at(accepted_at=contract.accepted_at, funded_at=contract.funded_at, shift=False)
        topup = 0
        topup_due: int | None = None
        if contract.status in {_CS.FUNDING_SUBMITTED, *FUNDED_STATES} and price > current.price:
            topup = contract.topup_due + price - current.price
            topup_due = topup
        elif price < current.price and contract.topup_due:
            topup_due = max(contract.topup_due - (current.price - price), 0)
        await repo.change_terms(conn, contract.id, contract.status, version, due_at=due_at, topup_due=topup_due)
        await repo.set_amendment_status(conn, amendment.id, "proposed", "accepted", decided_at=to_iso(now),
                                        decided_by=actor_id, new_version=version)
        await retire(conn, contract, now, f"amendment:{amendment.id}:*")
        await record_event(conn, guild_id=contract.guild_id, contract_id=contract.id, kind="amendment.accepted",
                           now=now, actor_id=actor_id, amendment_id=amendment.id, version=version,
                           reverts_to=amendment.reverts_to, reverts_to_revision=amendment.reverts_to_revision,
                           price=price, topup_due=topup)
        # an amendment a revision request "outside the agreed scope" became: that work starts now
        await resume_outside_scope(conn, await load_contract(conn, contract.guild_id, contract.id), amendment.id, now)
        reverts = (Requirement("", version=amendment.reverts_to, revision_id=amendment.reverts_to_revision)
                   if amendment.reverts_to or amendment.reverts_to_revision else None)
        await notify(conn, contract, "notify.amendment_accepted", now, to=(contract.client_id, contract.worker_id),
                     amendment_id=amendment.id, version=version, price_amount=price, currency=contract.currency,
                     reverts=revert_flag(reverts))
        if topup:
            await notify(conn, contract, "notify.topup_needed", now, to=(contract.client_id,),
                         buttons=(f"escrow:{contract.id}:deposit",), topup_amount=topup, currency=contract.currency)
        await post_thread(conn, contract, "thread.terms_changed", now, version=version)
