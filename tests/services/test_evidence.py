"""The contract thread's messages kept as evidence (RECORD_THREAD_MESSAGES): recording, edits,
deletions, the history and its file, and erasure by /profile delete."""

from __future__ import annotations

import dataclasses
import hashlib
import json
from typing import Any

import pytest

from bot.clock import FakeClock
from bot.config import Settings
from bot.db import Database
from bot.models.entities import Contract
from bot.models.evidence import TOO_LARGE, UNAVAILABLE, IncomingAttachment
from bot.models.timeutil import to_iso
from bot.services.container import Services
from tests.ids import CLIENT, GUILD_ID, OUTSIDER, WORKER
from tests.services.helpers import HOUR, THREAD_ID, count, events, hired_contract, setup_guild

LIMIT = 1024


@pytest.fixture
def services(db: Database, clock: FakeClock, settings: Settings) -> Services:
    """Recording on, with a small size limit for attachments."""
    recording = dataclasses.replace(settings, record_thread_messages=True, max_file_bytes=LIMIT)
    return Services.build(db, clock, recording)


async def contract_with_thread(services: Services) -> Contract:
    await setup_guild(services)
    contract = await hired_contract(services)
    await services.contracts.set_thread(contract.id, THREAD_ID)
    return contract


async def exported(services: Services, contract: Contract, viewer: int = CLIENT) -> dict[str, Any]:
    history = await services.history.history(GUILD_ID, contract.id, viewer_id=viewer)
    document: dict[str, Any] = json.loads(services.history.export(history))
    return document["thread_messages"]


async def test_a_message_its_edits_and_its_deletion_are_kept(services: Services, clock: FakeClock) -> None:
    contract = await contract_with_thread(services)
    t0 = clock.now()
    assert await services.evidence.record(THREAD_ID, 501, CLIENT, "You can use red.", t0)
    clock.advance(hours=1)
    assert await services.evidence.edited(501, "You can use blue.", clock.now())
    assert not await services.evidence.edited(501, "You can use blue.", clock.now())  # a link preview: same text
    clock.advance(hours=1)
    assert await services.evidence.deleted([501, 999], clock.now()) == 1
    assert await services.evidence.deleted([501], clock.now()) == 0  # a second delete event
    assert not await services.evidence.edited(501, "after deletion", clock.now())

    thread = await exported(services, contract)
    assert thread["recorded"] is True
    [message] = thread["messages"]
    assert message["message_id"] == 501 and message["author_id"] == CLIENT
    assert message["original_text"] == "You can use red."
    assert message["created_at"] == to_iso(t0)
    assert message["edits"] == [{"text": "You can use blue.", "edited_at": to_iso(t0 + HOUR)}]
    assert message["deleted_at"] == to_iso(t0 + 2 * HOUR) and message["erased_at"] is None


async def test_attachments_are_hashed_up_to_the_size_limit(services: Services, clock: FakeClock) -> None:
    contract = await contract_with_thread(services)
    small = b"the brief, version 2"
    files = [
        IncomingAttachment("brief.txt", len(small), small),
        IncomingAttachment("../video.mp4", LIMIT + 1, None, TOO_LARGE),
        IncomingAttachment("gone.png", 10, None, UNAVAILABLE),
        IncomingAttachment("liar.bin", 10, b"x" * (LIMIT + 1)),  # bigger than announced: not hashed
    ]
    assert await services.evidence.record(THREAD_ID, 502, WORKER, "Here is the brief", clock.now(), files)

    [message] = (await exported(services, contract))["messages"]
    assert message["attachments"] == [
        {"filename": "brief.txt", "size": len(small), "sha256": hashlib.sha256(small).hexdigest(),
         "not_hashed": None},
        {"filename": "video.mp4", "size": LIMIT + 1, "sha256": None, "not_hashed": TOO_LARGE},
        {"filename": "gone.png", "size": 10, "sha256": None, "not_hashed": UNAVAILABLE},
        {"filename": "liar.bin", "size": 10, "sha256": None, "not_hashed": TOO_LARGE},
    ]  # fmt: skip


async def test_only_contract_threads_are_kept_and_only_once(services: Services, clock: FakeClock) -> None:
    await contract_with_thread(services)
    assert await services.evidence.is_contract_thread(THREAD_ID)
    assert not await services.evidence.is_contract_thread(THREAD_ID + 1)
    assert not await services.evidence.record(THREAD_ID + 1, 503, CLIENT, "elsewhere", clock.now())
    assert await services.evidence.record(THREAD_ID, 504, CLIENT, "first", clock.now())
    assert not await services.evidence.record(THREAD_ID, 504, CLIENT, "replayed", clock.now())
    assert not await services.evidence.edited(503, "not kept", clock.now())
    assert await count(services, "thread_messages") == 1


async def test_nothing_is_kept_with_the_setting_off(db: Database, clock: FakeClock, settings: Settings) -> None:
    services = Services.build(db, clock, settings)  # RECORD_THREAD_MESSAGES defaults to false
    contract = await contract_with_thread(services)
    assert not await services.evidence.is_contract_thread(THREAD_ID)
    assert not await services.evidence.record(THREAD_ID, 505, CLIENT, "said", clock.now())
    assert await count(services, "thread_messages") == 0

    thread = await exported(services, contract)
    assert thread["recorded"] is False and thread["messages"] == []
    assert "not recorded" in thread["note"]


async def test_profile_delete_erases_the_authors_text_and_keeps_the_skeleton(
    services: Services, clock: FakeClock
) -> None:
    contract = await contract_with_thread(services)
    t0 = clock.now()
    data = b"moodboard"
    await services.evidence.record(THREAD_ID, 601, CLIENT, "My phone is 090-1234", t0,
                                   [IncomingAttachment("me.jpg", len(data), data)])
    await services.evidence.edited(601, "Call me", t0 + HOUR)
    await services.evidence.record(THREAD_ID, 602, WORKER, "Noted.", t0 + HOUR)
    clock.advance(hours=2)

    assert await services.profiles.delete(GUILD_ID, CLIENT)  # no profile, but text to erase

    client_message, worker_message = (await exported(services, contract, viewer=WORKER))["messages"]
    assert client_message == {
        "message_id": 601, "thread_id": THREAD_ID, "author_id": CLIENT, "created_at": to_iso(t0),
        "original_text": None, "edits": [{"text": None, "edited_at": to_iso(t0 + HOUR)}],
        "attachments": [{"filename": None, "size": len(data), "sha256": hashlib.sha256(data).hexdigest(),
                         "not_hashed": None}],
        "deleted_at": None, "erased_at": to_iso(t0 + 2 * HOUR),
    }  # fmt: skip
    assert worker_message["original_text"] == "Noted."  # other people's words stay
    (event,) = await events(services, "profile.deleted")
    assert event["data"] == {"had_data": True, "messages_erased": 1}
    assert not await services.evidence.edited(601, "new words after erasure", clock.now())
    # a second /profile delete has nothing left to erase
    assert not await services.profiles.delete(GUILD_ID, CLIENT)


async def test_erasure_is_per_guild(services: Services, clock: FakeClock) -> None:
    contract = await contract_with_thread(services)
    await services.evidence.record(THREAD_ID, 701, CLIENT, "kept", clock.now())
    assert not await services.profiles.delete(GUILD_ID + 1, CLIENT)
    assert not await services.profiles.delete(GUILD_ID, OUTSIDER)
    [message] = (await exported(services, contract))["messages"]
    assert message["original_text"] == "kept"
