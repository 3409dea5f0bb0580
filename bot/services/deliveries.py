"""Deliveries and reviews: deliver files, approve (release), request revision, auto-approve."""

from __future__ import annotations

import logging
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from bot.clock import Clock
from bot.config import Settings
from bot.db import Conn, Database
from bot.errors import InvalidInput, NotAllowed, NotFound, WrongState
from bot.models.entities import Contract, Delivery, DeliveryFile, RevisionRequest
from bot.models.states import CONTRACT_TRANSITIONS, ContractStatus, Role
from bot.models.terms import find_revert, normalize_scope
from bot.models.text import defuse_links
from bot.models.timeutil import to_iso
from bot.repositories import contracts as repo
from bot.repositories.audit import record_event
from bot.services.cases import settle_cases
from bot.services.common import clean_text, transition
from bot.services.files import FileStore
from bot.services.settlement import Settlement, release
from bot.services.steps import (
    load_contract,
    notify,
    post_thread,
    requirement_timeline,
    retire,
    revert_flag,
    role_of,
)

log = logging.getLogger(__name__)
_CS = ContractStatus

MAX_FILES = 3
# A revision asked for after the deadline still leaves the worker this long to redo the work.
REVISION_MIN_WINDOW = timedelta(days=3)


@dataclass(frozen=True, slots=True)
class IncomingFile:
    filename: str
    data: bytes
    content_type: str | None = None


@dataclass(frozen=True, slots=True)
class StoredUpload:
    """A file already streamed into the FileStore (the bot's /deliver), by its content address."""

    filename: str
    sha256: str
    size: int
    content_type: str | None = None


@dataclass(frozen=True, slots=True)
class RevisionOutcome:
    request: RevisionRequest
    included: bool


def display_name(filename: str) -> str:
    """A file name for display only: no directories, no control characters, bounded length."""
    base = filename.replace("\\", "/").rsplit("/", 1)[-1]
    cleaned = defuse_links("".join(ch for ch in base if ch.isprintable())).strip() or "file"
    return cleaned[:100]


class DeliveryService:
    def __init__(self, db: Database, clock: Clock, settings: Settings, files: FileStore) -> None:
        self.db = db
        self.clock = clock
        self.settings = settings
        self.files = files

    async def check_deliver(self, guild_id: int, contract_id: int, *, actor_id: int) -> None:
        """Refuse a delivery before a byte is downloaded: the contract exists in this guild,
        the actor is its worker and its state allows a delivery (checked again in deliver)."""
        async with self.db.read() as conn:
            contract = await load_contract(conn, guild_id, contract_id)
        role = role_of(contract, actor_id)
        if role is not Role.WORKER:
            raise NotAllowed("error.delivery.worker_only", contract_id=contract_id)
        transition(CONTRACT_TRANSITIONS, "contract", contract.status, "deliver", role)

    async def deliver(self, guild_id: int, contract_id: int, *, actor_id: int,
                      files: Sequence[IncomingFile | StoredUpload], note: str | None = None) -> Delivery:
        if not 1 <= len(files) <= MAX_FILES:
            raise InvalidInput("error.delivery.file_count", maximum=MAX_FILES)
        limit = self.settings.max_file_bytes
        for incoming in files:
            size = len(incoming.data) if isinstance(incoming, IncomingFile) else incoming.size
            if size > limit:
                raise InvalidInput("error.delivery.too_large", filename=display_name(incoming.filename),
                                   limit_mb=limit // (1024 * 1024))
            if not size:
                raise InvalidInput("error.delivery.empty", filename=display_name(incoming.filename))
        note_text = clean_text("note", note, required=False)
        await self.check_deliver(guild_id, contract_id, actor_id=actor_id)
        role = Role.WORKER
        # Files are written before the transaction (content-addressed, so a retry is harmless).
        stored = [await self._store(incoming) for incoming in files]
        now = self.clock.now()
        async with self.db.transaction() as conn:
            contract = await load_contract(conn, guild_id, contract_id)
            target = transition(CONTRACT_TRANSITIONS, "contract", contract.status, "deliver", role)
            await repo.mark_delivered(conn, contract.id, contract.status, target, now)
            delivery = await repo.insert_delivery(conn, contract_id=contract.id, worker_id=actor_id,
                                                  terms_version=contract.terms_version, note=note_text,
                                                  created_at=to_iso(now))
            delivery_id = delivery.id
            hashes = []
            for position, upload in enumerate(stored, start=1):
                await repo.insert_delivery_file(conn, delivery_id=delivery_id, position=position,
                                                filename=display_name(upload.filename), sha256=upload.sha256,
                                                size=upload.size, content_type=upload.content_type)
                hashes.append(f"{display_name(upload.filename)} sha256:{upload.sha256}")
            on_time = contract.due_at is None or now <= contract.due_at
            await record_event(conn, guild_id=guild_id, contract_id=contract.id, kind="delivery.submitted", now=now,
                               actor_id=actor_id, delivery_id=delivery_id, files=hashes, on_time=on_time)
            await notify(conn, contract, "notify.delivered_client", now, to=(contract.client_id,),
                         buttons=(f"review:{contract.id}:approve", f"review:{contract.id}:revise"),
                         delivery_id=delivery_id, note=note_text or "-", files="\n".join(hashes))
            await post_thread(conn, contract, "thread.delivered", now, delivery_id=delivery_id,
                              note=note_text or "-")
            await settle_cases(conn, contract, now, why="delivered", actor_id=actor_id,
                               reason_kinds=frozenset({"overdue"}))
        log.info("guild %s contract %s delivery %s (%d files)", guild_id, contract_id, delivery_id, len(files))
        return delivery

    async def _store(self, incoming: IncomingFile | StoredUpload) -> StoredUpload:
        if isinstance(incoming, StoredUpload):
            return incoming
        digest = await self.files.put(incoming.data)
        return StoredUpload(incoming.filename, digest, len(incoming.data), incoming.content_type)

    async def approve(self, guild_id: int, contract_id: int, *, actor_id: int) -> Settlement:
        return await self._approve(guild_id, contract_id, actor_id)

    async def auto_approve(self, contract_id: int) -> Settlement | None:
        """The scheduler's: the client did not review in time. None if something changed meanwhile."""
        contract = await self._contract(contract_id)
        if contract is None or contract.status != _CS.DELIVERED:
            return None
        try:
            return await self._approve(contract.guild_id, contract_id, None)
        except WrongState:
            return None

    async def _approve(self, guild_id: int, contract_id: int, actor_id: int | None) -> Settlement:
        now = self.clock.now()
        async with self.db.transaction() as conn:
            contract = await load_contract(conn, guild_id, contract_id)
            role = Role.SYSTEM if actor_id is None else role_of(contract, actor_id)
            if role not in {Role.CLIENT, Role.SYSTEM}:
                raise NotAllowed("error.review.client_only", contract_id=contract_id)
            target = transition(CONTRACT_TRANSITIONS, "contract", contract.status, "approve", role)
            terms = await repo.terms(conn, contract.id, contract.terms_version)
            await repo.close(conn, contract.id, contract.status, target, now)
            settlement = await release(conn, contract, terms, now, actor_id)
            outcome = "auto_approved" if actor_id is None else "approved"
            # a case still open on it (a cancel request, an escalation) is settled by the approval
            await settle_cases(conn, contract, now, why=outcome, actor_id=actor_id)
            # an extra revision the worker did not answer is moot once the client approved
            await repo.lapse_extra_revisions(conn, contract.id, now)
            # a top-up declared but no longer needed (the price came down again) can never be confirmed now
            await repo.void_declared_deposits(conn, contract.id)
            await repo.review_open_deliveries(conn, contract.id, outcome, now)
            await retire(conn, contract, now, "*")
            await record_event(conn, guild_id=guild_id, contract_id=contract.id, kind=f"delivery.{outcome}", now=now,
                               actor_id=actor_id, fee=settlement.fee, to_worker=settlement.to_worker,
                               to_client=settlement.to_client)
            args: dict[str, Any] = {"payout_amount": settlement.to_worker, "fee_amount": settlement.fee,
                    "currency": contract.currency}
            await notify(conn, contract, f"notify.{outcome}_worker", now, to=(contract.worker_id,), **args)
            await notify(conn, contract, f"notify.{outcome}_client", now, to=(contract.client_id,), **args)
            await notify(conn, contract, "notify.rate_prompt", now, to=(contract.client_id, contract.worker_id))
            await post_thread(conn, contract, "thread.completed", now, **args)
        log.info("guild %s contract %s %s", guild_id, contract_id, outcome)
        return settlement

    async def request_revision(self, guild_id: int, contract_id: int, *, actor_id: int,
                               reason: str) -> RevisionOutcome:
        """The client says what the delivery misses against the current terms. Nothing is forced
        on the worker: the request waits (and the client's review clock with it) until the worker
        takes it on, answers that it is outside the agreed scope (an amendment proposal, see
        ``ContractService.outside_scope``), or, for one beyond the included revisions, declines it."""
        now = self.clock.now()
        text = clean_text("reason", reason)
        assert text is not None
        async with self.db.transaction() as conn:
            contract = await load_contract(conn, guild_id, contract_id)
            role = role_of(contract, actor_id)
            if role is not Role.CLIENT:
                raise NotAllowed("error.review.client_only", contract_id=contract_id)
            transition(CONTRACT_TRANSITIONS, "contract", contract.status, "revise", role)
            terms = await repo.terms(conn, contract.id, contract.terms_version)
            earlier = await repo.revisions(conn, contract.id)
            if any(r.status == "pending_worker" for r in earlier):
                raise WrongState("error.scope.revision_pending", contract_id=contract_id)
            used = revisions_used(earlier)
            included = used < terms.revisions_included
            reverts = find_revert(text, await requirement_timeline(conn, contract.id))
            deliveries = await repo.deliveries(conn, contract.id)
            revision_id = await repo.insert_revision(
                conn, contract_id=contract.id, delivery_id=deliveries[-1].id, requested_by=actor_id, reason=text,
                terms_version=contract.terms_version, included=int(included), status="pending_worker",
                reverts_to=reverts.version if reverts else None,
                reverts_to_revision=reverts.revision_id if reverts else None, created_at=to_iso(now),
            )
            repeats = next((r.id for r in earlier if normalize_scope(r.reason) == normalize_scope(text)), None)
            await retire(conn, contract, now, f"review:{contract.id}:*")
            await record_event(conn, guild_id=guild_id, contract_id=contract.id, kind="revision.requested", now=now,
                               actor_id=actor_id, revision_id=revision_id, included=included, reason=text,
                               used=used + int(included), allowed=terms.revisions_included,
                               reverts_to=reverts.version if reverts else None,
                               reverts_to_revision=reverts.revision_id if reverts else None, repeats_request=repeats)
            flag = revert_flag(reverts)
            answers = ("accept", "scope") if included else ("accept", "decline", "scope")
            key = "notify.scope_revision_included" if included else "notify.scope_revision_extra"
            await notify(conn, contract, key, now, to=(contract.worker_id,),
                         buttons=tuple(f"revision:{revision_id}:{a}" for a in answers),
                         revision_id=revision_id, reason=text, used=used + int(included),
                         allowed=terms.revisions_included, reverts=flag, version=terms.version,
                         scope=excerpt(terms.scope))
            await post_thread(conn, contract, "thread.scope_revision", now, revision_id=revision_id, reason=text,
                              reverts=flag, version=terms.version, used=used + int(included),
                              allowed=terms.revisions_included)
            request = await repo.get_revision(conn, revision_id)
        assert request is not None
        log.info("guild %s contract %s revision request %s (included: %s, reverts: %s)", guild_id, contract_id,
                 revision_id, included, flag)
        return RevisionOutcome(request=request, included=included)

    async def answer_extra_revision(self, guild_id: int, revision_id: int, *, actor_id: int,
                                    accept: bool) -> RevisionRequest:
        """The worker takes a revision request on (the contract is back in progress) or declines
        one beyond the included revisions (the delivery is back with the client). An included one
        cannot be declined: if it asks for more than the terms, it is outside the agreed scope."""
        now = self.clock.now()
        async with self.db.transaction() as conn:
            request = await repo.get_revision(conn, revision_id)
            if request is None:
                raise NotFound("error.review.revision_not_found", revision_id=revision_id)
            contract = await load_contract(conn, guild_id, request.contract_id)
            if role_of(contract, actor_id) is not Role.WORKER:
                raise NotAllowed("error.delivery.worker_only", contract_id=contract.id)
            if request.status != "pending_worker":
                raise WrongState("error.review.revision_answered", status=request.status)
            if contract.status != _CS.DELIVERED:  # settled or disputed meanwhile: nothing to answer
                raise WrongState("error.contract.state", status=contract.status,
                                 action="accept_revision" if accept else "decline")
            if not accept and request.included:
                raise WrongState("error.scope.included_decline", revision_id=request.id)
            if accept:
                target = transition(CONTRACT_TRANSITIONS, "contract", contract.status, "accept_revision", Role.WORKER)
                await back_to_work(conn, contract, target, now)
                await repo.send_back_for_revision(conn, request.delivery_id, now)
            else:  # declined: the delivery is back with the client, whose review period starts again
                await repo.restart_clock(conn, contract.id, contract.status, now)
            await repo.set_revision_status(conn, request.id, "pending_worker", "accepted" if accept else "declined",
                                           to_iso(now))
            await retire(conn, contract, now, f"revision:{request.id}:*")
            if request.included:
                await record_event(conn, guild_id=guild_id, contract_id=contract.id, kind="revision.accepted",
                                   now=now, actor_id=actor_id, revision_id=request.id)
                await notify(conn, contract, "notify.scope_revision_accepted", now, to=(contract.client_id,),
                             revision_id=request.id)
            else:
                kind = "accepted" if accept else "declined"
                await record_event(conn, guild_id=guild_id, contract_id=contract.id, kind=f"revision.extra_{kind}",
                                   now=now, actor_id=actor_id, revision_id=request.id)
                await notify(conn, contract, f"notify.extra_revision_{kind}", now, to=(contract.client_id,))
            updated = await repo.get_revision(conn, request.id)
        assert updated is not None
        return updated

    async def deliveries(self, guild_id: int, contract_id: int) -> list[Delivery]:
        async with self.db.read() as conn:
            contract = await load_contract(conn, guild_id, contract_id)
            return await repo.deliveries(conn, contract.id)

    async def files_of(self, contract_id: int, delivery_id: int) -> list[DeliveryFile]:
        """The files of one delivery, in the order they were attached (for re-posting them)."""
        async with self.db.read() as conn:
            found = await repo.delivery_files(conn, contract_id)
        return [f for f in found if f.delivery_id == delivery_id]

    async def _contract(self, contract_id: int) -> Contract | None:
        async with self.db.read() as conn:
            return await repo.get_contract(conn, contract_id)


# -- steps shared with the amendment flow (ContractService.outside_scope) -------------------

# the statuses of a revision request that used up one of the included revisions
_USED = frozenset({"applied", "accepted", "pending_worker", "lapsed"})
EXCERPT_LIMIT = 700


def revisions_used(requests: list[RevisionRequest]) -> int:
    """Included revisions used so far: one the worker answered "outside the agreed scope" is
    given back (it became an amendment proposal instead)."""
    return sum(1 for r in requests if r.included and r.status in _USED)


def excerpt(text: str, limit: int = EXCERPT_LIMIT) -> str:
    """The scope as quoted next to a revision request (a DM has 2000 characters)."""
    return text if len(text) <= limit else text[: limit - 1].rstrip() + "…"


async def back_to_work(conn: Conn, contract: Contract, target: str, now: datetime) -> None:
    """A revision taken on: the work clock starts again, with at least REVISION_MIN_WINDOW left."""
    due = contract.due_at
    if due is not None and due < now + REVISION_MIN_WINDOW:
        due = now + REVISION_MIN_WINDOW
    await repo.back_to_work(conn, contract.id, contract.status, target, now, due, contract.timer_round + 1)


async def pending_request(conn: Conn, contract: Contract, revision_id: int, actor_id: int) -> RevisionRequest:
    """The revision request the worker answers "outside the agreed scope": it must be theirs to
    answer, still waiting, and the delivery still with the client."""
    request = await repo.get_revision(conn, revision_id)
    if request is None or request.contract_id != contract.id:
        raise NotFound("error.review.revision_not_found", revision_id=revision_id)
    if role_of(contract, actor_id) is not Role.WORKER:
        raise NotAllowed("error.delivery.worker_only", contract_id=contract.id)
    if request.status != "pending_worker":
        raise WrongState("error.review.revision_answered", status=request.status)
    if contract.status != _CS.DELIVERED:
        raise WrongState("error.contract.state", status=contract.status, action="outside_scope")
    return request


async def mark_outside_scope(conn: Conn, contract: Contract, request: RevisionRequest, amendment_id: int,
                             actor_id: int, now: datetime, *, price: int) -> None:
    """The request became amendment ``amendment_id``: it no longer uses up an included
    revision, and the delivery is back with the client, whose review period starts again (they
    accept the amendment, and the work resumes on the new terms, or reject it and review)."""
    if not await repo.mark_revision_outside_scope(conn, request.id, amendment_id, to_iso(now)):
        raise WrongState("error.review.revision_answered", status="outside_scope")
    await repo.restart_clock(conn, contract.id, contract.status, now)
    await retire(conn, contract, now, f"revision:{request.id}:*")
    await record_event(conn, guild_id=contract.guild_id, contract_id=contract.id, kind="revision.outside_scope",
                       now=now, actor_id=actor_id, revision_id=request.id, amendment_id=amendment_id, price=price,
                       included_given_back=bool(request.included))
    await notify(conn, contract, "notify.scope_outside", now, to=(contract.client_id,),
                 buttons=(f"amendment:{amendment_id}:accept", f"amendment:{amendment_id}:reject"),
                 revision_id=request.id, amendment_id=amendment_id, price_amount=price, currency=contract.currency)
    await post_thread(conn, contract, "thread.scope_outside", now, revision_id=request.id,
                      amendment_id=amendment_id, price_amount=price, currency=contract.currency)


async def resume_outside_scope(conn: Conn, contract: Contract, amendment_id: int, now: datetime) -> None:
    """The client accepted the amendment a revision request became: the delivery goes back for
    that work, on the new terms (if the contract is still waiting for the client's review)."""
    request = await repo.revision_of_amendment(conn, amendment_id)
    if request is None or contract.status != _CS.DELIVERED:
        return
    target = transition(CONTRACT_TRANSITIONS, "contract", contract.status, "scope_revision", Role.CLIENT)
    await back_to_work(conn, contract, target, now)
    await repo.send_back_for_revision(conn, request.delivery_id, now)
    await record_event(conn, guild_id=contract.guild_id, contract_id=contract.id, kind="revision.resumed", now=now,
                       revision_id=request.id, amendment_id=amendment_id)
    resumed = await load_contract(conn, contract.guild_id, contract.id)
    await notify(conn, resumed, "notify.scope_resumed", now, to=(contract.worker_id,), revision_id=request.id,
                 amendment_id=amendment_id, due_at=to_iso(resumed.due_at) if resumed.due_at else "-")
