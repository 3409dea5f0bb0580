"""Deadline extensions: the worker of an active contract asks for more days, the client
accepts (a new terms version with the later deadline) or declines.

:class:`ExtensionSteps` is a mixin of :class:`bot.services.contracts.ContractService`, not a
service of its own: the contract's use cases stay one service object
(``services.contracts.request_extension(...)`` for cogs, ui and tests), split by topic into
modules only to keep each file readable. It uses the service's ``db`` and ``clock``; the
shared steps come from bot/services/steps.py.
"""

from __future__ import annotations

import logging
from datetime import datetime, timedelta

from bot.clock import Clock
from bot.db import Conn, Database
from bot.errors import InvalidInput, NotAllowed, NotFound, WrongState
from bot.models.entities import Contract, ExtensionRequest
from bot.models.states import ContractStatus, Role
from bot.models.terms import MAX_DEADLINE_DAYS, Deadline
from bot.models.timeutil import to_iso
from bot.repositories import contracts as repo
from bot.repositories import extensions as ext_repo
from bot.repositories.audit import record_event
from bot.services.common import clean_text
from bot.services.steps import load_contract, notify, post_thread, require_party, retire, role_of

log = logging.getLogger(__name__)

_CS = ContractStatus


class ExtensionSteps:
    """The deadline-extension use cases of :class:`~bot.services.contracts.ContractService`."""

    db: Database
    clock: Clock

    async def check_extension(self, guild_id: int, contract_id: int, *, actor_id: int) -> None:
        """Refuse early (before the worker fills the form) what :meth:`request_extension` would."""
        async with self.db.read() as conn:
            contract = await load_contract(conn, guild_id, contract_id)
            self._extension_allowed(contract, actor_id)
            pending = await ext_repo.open_extension(conn, contract.id)
        if pending is not None:
            raise WrongState("error.extension.pending", extension_id=pending.id)

    def _extension_allowed(self, contract: Contract, actor_id: int) -> None:
        role = role_of(contract, actor_id)
        require_party(contract, role)
        if role is not Role.WORKER:
            raise NotAllowed("error.extension.worker_only", contract_id=contract.id)
        if contract.status != _CS.ACTIVE or contract.due_at is None:
            raise WrongState("error.extension.state", status=contract.status)

    async def request_extension(self, guild_id: int, contract_id: int, *, actor_id: int, days: int,
                                reason: str) -> ExtensionRequest:
        """The worker asks for more time; the client answers with buttons (DM, thread fallback).
        One open request per contract, on a contract being worked on."""
        if not 1 <= days <= MAX_DEADLINE_DAYS:
            raise InvalidInput("error.extension.days", maximum=MAX_DEADLINE_DAYS)
        text = clean_text("reason", reason)
        assert text is not None
        now = self.clock.now()
        async with self.db.transaction() as conn:
            contract = await load_contract(conn, guild_id, contract_id)
            self._extension_allowed(contract, actor_id)
            assert contract.due_at is not None
            extension = await ext_repo.insert_extension(
                conn, contract_id=contract.id, requested_by=actor_id, base_version=contract.terms_version, days=days,
                reason=text, status="proposed", created_at=to_iso(now),
            )
            if extension is None:
                pending = await ext_repo.open_extension(conn, contract.id)
                raise WrongState("error.extension.pending", extension_id=pending.id if pending else "-")
            await record_event(conn, guild_id=guild_id, contract_id=contract.id, kind="extension.requested", now=now,
                               actor_id=actor_id, extension_id=extension.id, days=days, reason=text)
            await notify(conn, contract, "notify.extension_requested", now, to=(contract.client_id,),
                         buttons=(f"extension:{extension.id}:accept", f"extension:{extension.id}:decline"),
                         extension_id=extension.id, days=days, reason=text, worker_id=actor_id,
                         due_at=to_iso(contract.due_at), new_due_at=to_iso(contract.due_at + timedelta(days=days)))
        log.info("guild %s contract %s: extension %s of %s days asked", guild_id, contract_id, extension.id, days)
        return extension

    async def answer_extension(self, guild_id: int, extension_id: int, *, actor_id: int,
                               accept: bool) -> ExtensionRequest:
        """The client accepts (a new terms version with the later deadline) or declines."""
        now = self.clock.now()
        stale: str | None = None
        async with self.db.transaction() as conn:
            extension = await ext_repo.get_extension(conn, extension_id)
            if extension is None:
                raise NotFound("error.extension.not_found", extension_id=extension_id)
            contract = await load_contract(conn, guild_id, extension.contract_id)
            role = role_of(contract, actor_id)
            require_party(contract, role)
            if role is not Role.CLIENT:
                raise NotAllowed("error.extension.client_only")
            if extension.status != "proposed":
                raise WrongState("error.extension.answered", status=f"extension_{extension.status}")
            if not accept:
                await ext_repo.set_extension_status(conn, extension.id, "proposed", "declined", decided_at=to_iso(now),
                                                decided_by=actor_id)
                await retire(conn, contract, now, f"extension:{extension.id}:*")
                await record_event(conn, guild_id=guild_id, contract_id=contract.id, kind="extension.declined",
                                   now=now, actor_id=actor_id, extension_id=extension.id)
                await notify(conn, contract, "notify.extension_declined", now, to=(contract.worker_id,),
                             extension_id=extension.id)
            elif contract.status != _CS.ACTIVE or contract.due_at is None:
                # the lapse is committed (raising here would roll it back), then refused below
                stale = contract.status
                await ext_repo.set_extension_status(conn, extension.id, "proposed", "lapsed", decided_at=to_iso(now))
                await retire(conn, contract, now, f"extension:{extension.id}:*")
                await record_event(conn, guild_id=guild_id, contract_id=contract.id, kind="extension.lapsed",
                                   now=now, actor_id=actor_id, extension_id=extension.id)
            else:
                await self._apply_extension(conn, contract, extension, actor_id, now)
            updated = await ext_repo.get_extension(conn, extension.id)
        assert updated is not None
        if stale is not None:
            raise WrongState("error.extension.stale", status=stale)
        return updated

    async def _apply_extension(self, conn: Conn, contract: Contract, extension: ExtensionRequest, actor_id: int,
                               now: datetime) -> None:
        """Terms version n+1, the same as n with the deadline ``days`` later; the due time moves too."""
        assert contract.due_at is not None
        current = await repo.terms(conn, contract.id, contract.terms_version)
        later = timedelta(days=extension.days)
        old = current.deadline
        if old.days is not None:
            deadline = Deadline(days=old.days + extension.days)
        else:
            assert old.on is not None
            deadline = Deadline(on=old.on + later, tz=old.tz)
        days, on = deadline.columns()
        version = current.version + 1
        await repo.insert_terms(
            conn, contract_id=contract.id, version=version, scope=current.scope, price=current.price,
            deadline_days=days, deadline_date=on, deadline_tz=deadline.tz,
            revisions_included=current.revisions_included,
            fee_percent=current.fee_percent, created_by=extension.requested_by, reason=extension.reason,
            created_at=to_iso(now),
        )
        due_at = contract.due_at + later
        await repo.change_terms(conn, contract.id, contract.status, version, due_at=due_at, topup_due=None)
        await ext_repo.set_extension_status(conn, extension.id, "proposed", "accepted", decided_at=to_iso(now),
                                        decided_by=actor_id, new_version=version)
        await retire(conn, contract, now, f"extension:{extension.id}:*")
        await record_event(conn, guild_id=contract.guild_id, contract_id=contract.id, kind="extension.accepted",
                           now=now, actor_id=actor_id, extension_id=extension.id, version=version,
                           days=extension.days, deadline=deadline.text(), due_at=to_iso(due_at))
        await notify(conn, contract, "notify.extension_accepted", now, to=(contract.client_id, contract.worker_id),
                     extension_id=extension.id, version=version, due_at=to_iso(due_at))
        await post_thread(conn, contract, "thread.terms_changed", now, version=version)
