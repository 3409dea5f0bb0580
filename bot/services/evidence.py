"""The contract thread's conversation kept as evidence (opt-in: RECORD_THREAD_MESSAGES).

"You said A in the thread" must stay provable after the message was edited or deleted, so the
bot keeps, for contract threads only, each message's author, time, original text and
attachments (name, size, sha256 of the bytes read from Discord's CDN), every edit with its
text and time, and the deletion's time. They are kept as long as the contract's other
records; ``/profile delete`` erases the author's text and file names and keeps the skeleton
(see :meth:`bot.services.profiles.ProfileService.delete`). The bot reads the attachments
before calling :meth:`EvidenceService.record` (never inside a transaction); this module
only hashes them.
"""

from __future__ import annotations

import asyncio
import hashlib
import logging
from collections.abc import Iterable
from datetime import datetime

from bot.clock import Clock
from bot.db import Conn, Database
from bot.models.evidence import TOO_LARGE, IncomingAttachment, LoggedMessage
from bot.repositories import contracts as contracts_repo
from bot.repositories import thread_messages as repo
from bot.services.deliveries import display_name

log = logging.getLogger(__name__)


def _sha256(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


class EvidenceService:
    def __init__(self, db: Database, clock: Clock, *, enabled: bool, max_file_bytes: int) -> None:
        self.db = db
        self.clock = clock
        # RECORD_THREAD_MESSAGES: the bot also asks for the message content intent only then
        self.enabled = enabled
        self.max_file_bytes = max_file_bytes

    async def is_contract_thread(self, thread_id: int) -> bool:
        """Whether messages in this channel are recorded (checked before any attachment is read)."""
        if not self.enabled:
            return False
        async with self.db.read() as conn:
            return await contracts_repo.contract_by_thread(conn, thread_id) is not None

    async def record(self, thread_id: int, message_id: int, author_id: int, content: str, at: datetime,
                     attachments: Iterable[IncomingAttachment] = ()) -> bool:
        """Keep a new message of a contract thread; False if recording is off, the thread is no
        contract's or the message was already kept (a replayed event, the start-up catch-up)."""
        if not self.enabled:
            return False
        files = []
        for attachment in attachments:
            digest, problem = None, attachment.problem
            if attachment.data is not None and len(attachment.data) <= self.max_file_bytes:
                digest = await asyncio.to_thread(_sha256, attachment.data)
            elif problem is None:
                problem = TOO_LARGE
            files.append((display_name(attachment.filename), attachment.size, digest, problem))
        async with self.db.transaction() as conn:
            contract = await contracts_repo.contract_by_thread(conn, thread_id)
            if contract is None:
                return False
            if not await repo.insert_message(conn, message_id=message_id, contract_id=contract.id,
                                             guild_id=contract.guild_id, thread_id=thread_id, author_id=author_id,
                                             content=content, created_at=at):
                return False
            for position, (filename, size, digest, problem) in enumerate(files, start=1):
                await repo.insert_file(conn, message_id=message_id, position=position, filename=filename,
                                       size=size, sha256=digest, note=problem)
        log.debug("contract %s: kept message %s of user %s (%d files)", contract.id, message_id, author_id,
                  len(files))
        return True

    async def edited(self, message_id: int, content: str, at: datetime) -> bool:
        """Keep an edit of a kept message with its new text; False if the message is not kept,
        already deleted, erased, or its text did not change (Discord also sends an edit when a
        link preview appears)."""
        if not self.enabled:
            return False
        async with self.db.read() as conn:  # edits anywhere in the server come here: no write lock for them
            if await repo.get_message(conn, message_id) is None:
                return False
        async with self.db.transaction() as conn:
            kept = await repo.get_message(conn, message_id)
            if kept is None or kept.deleted_at is not None or kept.erased_at is not None:
                return False
            if await repo.current_text(conn, message_id) == content:
                return False
            await repo.insert_edit(conn, message_id, content, at)
        log.debug("contract %s: message %s edited", kept.contract_id, message_id)
        return True

    async def deleted(self, message_ids: Iterable[int], at: datetime) -> int:
        """Note when kept messages were deleted on Discord (their text stays); returns how many."""
        if not self.enabled:
            return 0
        async with self.db.read() as conn:  # deletions anywhere in the server come here
            kept = await repo.kept_among(conn, message_ids)
        if not kept:
            return 0
        count = 0
        async with self.db.transaction() as conn:
            for message_id in kept:
                count += await repo.mark_deleted(conn, message_id, at)
        if count:
            log.debug("%d kept thread message(s) deleted on Discord", count)
        return count

    async def messages(self, contract_id: int) -> list[LoggedMessage]:
        async with self.db.read() as conn:
            return await logged_messages(conn, contract_id)


async def logged_messages(conn: Conn, contract_id: int) -> list[LoggedMessage]:
    """The contract's kept messages, oldest first, each with its edits and files (kept whatever
    the setting is now: turning recording off does not hide what was recorded)."""
    kept = await repo.messages_for_contract(conn, contract_id)
    edits = await repo.edits_for_contract(conn, contract_id)
    files = await repo.files_for_contract(conn, contract_id)
    return [
        LoggedMessage(m, [e for e in edits if e.message_id == m.message_id],
                      [f for f in files if f.message_id == m.message_id])
        for m in kept
    ]
