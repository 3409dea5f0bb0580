"""The contract history: every terms version, amendment, revision request, delivery (with file
hashes), deposit and event, and the thread's messages when they are recorded
(RECORD_THREAD_MESSAGES, bot/services/evidence.py) — also as a downloadable JSON file, the
evidence for a case."""

from __future__ import annotations

import dataclasses
import json
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from bot.clock import Clock
from bot.db import Database
from bot.errors import NotAllowed
from bot.models.entities import (
    Amendment,
    Contract,
    Delivery,
    DeliveryFile,
    Deposit,
    Event,
    RevisionRequest,
    Terms,
)
from bot.models.evidence import LoggedMessage
from bot.models.states import Role
from bot.models.timeutil import to_iso
from bot.repositories import contracts as repo
from bot.repositories import jobs as jobs_repo
from bot.repositories.audit import events_for_contract
from bot.services.evidence import logged_messages
from bot.services.steps import load_contract, role_of


@dataclass(frozen=True, slots=True)
class ContractHistory:
    contract: Contract
    job_title: str
    versions: list[Terms]
    amendments: list[Amendment]
    revisions: list[RevisionRequest]
    deliveries: list[Delivery]
    files: list[DeliveryFile]
    deposits: list[Deposit]
    events: list[Event]
    # whether the bot records the thread's messages now (RECORD_THREAD_MESSAGES), and those kept
    messages_recorded: bool = False
    messages: list[LoggedMessage] = field(default_factory=list)

    @property
    def reverts(self) -> list[tuple[str, int, int | None, int | None]]:
        """(what, id or version, earlier version, earlier revision request) for every terms
        version or revision request that returns to an earlier requirement (A → B → A)."""
        flagged: list[tuple[str, int, int | None, int | None]] = [
            ("version", t.version, t.reverts_to, t.reverts_to_revision)
            for t in self.versions if t.reverts_to or t.reverts_to_revision
        ]
        flagged += [("revision", r.id, r.reverts_to, r.reverts_to_revision)
                    for r in self.revisions if r.reverts_to or r.reverts_to_revision]
        return flagged


def _plain(value: Any) -> Any:
    if isinstance(value, datetime):
        return to_iso(value)
    return value


def _row(obj: Any) -> dict[str, Any]:
    return {f.name: _plain(getattr(obj, f.name)) for f in dataclasses.fields(obj)}


class HistoryService:
    def __init__(self, db: Database, clock: Clock, *, messages_recorded: bool = False) -> None:
        self.db = db
        self.clock = clock
        self.messages_recorded = messages_recorded

    async def history(self, guild_id: int, contract_id: int, *, viewer_id: int,
                      is_moderator: bool = False) -> ContractHistory:
        async with self.db.read() as conn:
            contract = await load_contract(conn, guild_id, contract_id)
            if role_of(contract, viewer_id, is_moderator=is_moderator) is Role.OUTSIDER:
                raise NotAllowed("error.contract.not_party", contract_id=contract_id)
            job = await jobs_repo.get_job(conn, contract.job_id)
            assert job is not None
            return ContractHistory(
                contract=contract,
                job_title=job.title,
                versions=await repo.all_terms(conn, contract.id),
                amendments=await repo.amendments(conn, contract.id),
                revisions=await repo.revisions(conn, contract.id),
                deliveries=await repo.deliveries(conn, contract.id),
                files=await repo.delivery_files(conn, contract.id),
                deposits=await repo.deposits(conn, contract.id),
                events=await events_for_contract(conn, contract.id),
                messages_recorded=self.messages_recorded,
                messages=await logged_messages(conn, contract.id),
            )

    def export(self, history: ContractHistory) -> bytes:
        """The whole history as a JSON document (UTF-8), with the time it was exported."""
        files_by_delivery: dict[int, list[dict[str, Any]]] = {}
        for f in history.files:
            files_by_delivery.setdefault(f.delivery_id, []).append(_row(f))
        document = {
            "exported_at": to_iso(self.clock.now()),
            "contract": _row(history.contract),
            "job_title": history.job_title,
            "terms_versions": [_row(t) for t in history.versions],
            "amendments": [_row(a) for a in history.amendments],
            "revision_requests": [_row(r) for r in history.revisions],
            "deliveries": [{**_row(d), "files": files_by_delivery.get(d.id, [])} for d in history.deliveries],
            "deposits": [_row(d) for d in history.deposits],
            "events": [{**_row(e), "data": e.payload} for e in history.events],
            "reverts": [{"what": w, "id": i, "reverts_to": v, "reverts_to_revision": r}
                        for w, i, v, r in history.reverts],
            "thread_messages": _thread_messages(history),
        }
        return json.dumps(document, ensure_ascii=False, indent=2).encode("utf-8")


MESSAGES_NOT_RECORDED = (
    "The contract thread's messages are not recorded: the bot runs without RECORD_THREAD_MESSAGES"
    " (Discord's Message Content intent), so what was written there is not part of this evidence."
)
MESSAGES_RECORDED = (
    "The contract thread's messages as the bot saw them while RECORD_THREAD_MESSAGES was on and the"
    " bot was online: original text, each edit (text and time), deletion time, attachments' sha256."
    " Times are the bot's; message_id is Discord's id, which encodes Discord's own creation time."
    " Text erased at its author's request (/profile delete) is null, with erased_at set."
)


def _thread_messages(history: ContractHistory) -> dict[str, Any]:
    """The thread's messages for the file (in English, like the rest of the file's keys)."""
    note = MESSAGES_RECORDED if history.messages_recorded else MESSAGES_NOT_RECORDED
    if not history.messages_recorded and history.messages:
        note += " Messages recorded while it was on are listed."
    return {
        "recorded": history.messages_recorded,
        "note": note,
        "messages": [
            {
                "message_id": logged.message.message_id,
                "thread_id": logged.message.thread_id,
                "author_id": logged.message.author_id,
                "created_at": to_iso(logged.message.created_at),
                "original_text": logged.message.content,
                "edits": [{"text": e.content, "edited_at": to_iso(e.edited_at)} for e in logged.edits],
                "attachments": [{"filename": f.filename, "size": f.size, "sha256": f.sha256, "not_hashed": f.note}
                                for f in logged.files],
                "deleted_at": _plain(logged.message.deleted_at),
                "erased_at": _plain(logged.message.erased_at),
            }
            for logged in history.messages
        ],
    }
