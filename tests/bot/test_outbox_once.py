"""Notifications exactly once: a send whose result cannot be recorded, a crash between
Discord accepting a message and the row's mark, a crash before a follow-up."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable
from datetime import timedelta
from typing import Any

import pytest

from bot.i18n import catalogue
from bot.ops.health import health_path, read_health
from bot.repositories.outbox import enqueue
from tests.bot.conftest import Market
from tests.bot.helpers import JOB, LOGO, active_contract, contract_thread, custom_ids


@pytest.fixture(autouse=True)
def test_messages(monkeypatch: pytest.MonkeyPatch) -> None:
    for language, text in (("en", "Your payout for contract #{contract_id} is ready."),
                           ("ja", "契約 #{contract_id} の支払いの準備ができました。")):
        monkeypatch.setitem(catalogue(language), "oncetest.payout", text)


async def put(market: Market, **row: Any) -> int:
    """Write an outbox row as a service would; the commit kicks the dispatcher."""
    row.setdefault("message_key", "oncetest.payout")
    row.setdefault("args", {"contract_id": 7})
    async with market.services.db.transaction() as conn:
        await enqueue(conn, guild_id=market.guild.id, now=market.clock.now(), **row)
    latest = await market.services.db.fetchone("SELECT MAX(id) FROM outbox")
    assert latest is not None and latest[0] is not None
    await market.settle()
    return int(latest[0])


def after_each_send(market: Market, monkeypatch: pytest.MonkeyPatch, action: Callable[[], Any], *,
                    before: bool = False, channel_id: int | None = None) -> list[int]:
    """Run ``action`` right after Discord accepted a message (a test double at the HTTP
    boundary: the real request is made first), or with ``before`` instead of sending it; with
    ``channel_id`` only for messages to that channel. Returns the ids of the messages sent."""
    http = market.bot.http
    original = http.send_message
    sent: list[int] = []

    async def send_message(to: int, *args: Any, **kwargs: Any) -> Any:
        concerned = channel_id is None or int(to) == channel_id
        if before and concerned:
            await action()
        data = await original(to, *args, **kwargs)
        sent.append(int(data["id"]))
        if concerned:
            await action()
        return data

    monkeypatch.setattr(http, "send_message", send_message)
    return sent


async def killed() -> None:
    """The process dies here: the dispatcher's task ends, nothing after this line runs."""
    raise asyncio.CancelledError


def message_posts(market: Market, channel_id: int) -> list[Any]:
    return [r for r in market.env.http_requests if r.method == "POST" and r.path == f"/channels/{channel_id}/messages"]


async def set_read_only(market: Market, read_only: bool) -> None:
    """The database refuses every write ("attempt to write a readonly database"), as a disk
    remounted read-only does."""
    await market.services.db.conn.execute(f"PRAGMA query_only={'ON' if read_only else 'OFF'}")


def health(market: Market) -> tuple[bool, str]:
    result = read_health(health_path(market.settings.database_path), tick=market.settings.scheduler_tick,
                         now=market.clock.now())
    return result.healthy, result.line


async def test_a_send_that_cannot_be_recorded_is_not_repeated(
    setup_market: Market, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    market = setup_market

    async def break_writes() -> None:
        await set_read_only(market, True)

    after_each_send(market, monkeypatch, break_writes)
    caplog.set_level(logging.INFO)

    row_id = await put(market, target="dm", recipient_id=market.worker.id)
    for _ in range(3):  # three retry passes while the database refuses writes
        market.clock.advance(timedelta(minutes=10))
        await market.sweep()

    assert [m.content for m in market.dms(market.worker)] == ["Your payout for contract #7 is ready."]
    loud = [r for r in caplog.records if r.levelno >= logging.ERROR]
    assert len(loud) == 1, [r.getMessage() for r in loud]
    assert loud[0].levelno == logging.CRITICAL and f"outbox {row_id}" in loud[0].getMessage()
    assert loud[0].exc_info is None  # one line, no traceback
    healthy, line = health(market)
    assert not healthy and line.endswith("outbox dispatcher stopped: cannot record sends"), line
    row = await market.services.outbox.get(row_id)
    assert row is not None and row.status == "pending"

    # the disk is writable again: the dispatcher resumes, finds the DM it sent and records it
    await set_read_only(market, False)
    market.clock.advance(timedelta(minutes=10))
    await market.sweep()
    [dm] = market.dms(market.worker)
    row = await market.services.outbox.get(row_id)
    assert row is not None and (row.status, row.message_id) == ("sent", dm.id)
    assert health(market)[0]


async def test_a_crash_between_the_send_and_its_mark_does_not_send_twice(
    setup_market: Market, monkeypatch: pytest.MonkeyPatch
) -> None:
    market = setup_market
    sent = after_each_send(market, monkeypatch, killed)
    row_id = await put(market, target="dm", recipient_id=market.worker.id)
    assert len(sent) == 1
    row = await market.services.outbox.get(row_id)
    assert row is not None and row.status == "pending"  # the process died before the mark

    await market.restart()

    [dm] = market.dms(market.worker)
    assert dm.id == sent[0]
    row = await market.services.outbox.get(row_id)
    assert row is not None and (row.status, row.message_id) == ("sent", dm.id)
    # Discord would have deduplicated a resend within minutes by the row's nonce
    [request] = message_posts(market, market.worker.user.dm_channel.id)
    assert (request.json["nonce"], request.json["enforce_nonce"]) == (f"cw{row_id}", True)


async def test_a_mod_channel_post_survives_a_crash_after_its_send_once(
    setup_market: Market, monkeypatch: pytest.MonkeyPatch
) -> None:
    market = setup_market
    after_each_send(market, monkeypatch, killed)
    row_id = await put(market, target="mod")

    await market.restart()
    market.clock.advance(timedelta(days=1))  # a much later pass: long after Discord's nonce window
    await market.sweep()

    assert [m.content for m in market.mod.history()] == ["Your payout for contract #7 is ready."]
    row = await market.services.outbox.get(row_id)
    assert row is not None and row.status == "sent"


async def test_a_crash_before_the_send_still_sends_it_once(
    setup_market: Market, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The attempt was recorded but the process died before Discord got the message: the
    channel does not have it, so it is sent after the restart."""
    market = setup_market
    # the same text sent and recorded before: it is another row's message, not this one's
    first = await put(market, target="dm", recipient_id=market.worker.id)
    sent = after_each_send(market, monkeypatch, killed, before=True)
    second = await put(market, target="dm", recipient_id=market.worker.id)
    assert sent == []

    await market.restart()

    dms = market.dms(market.worker)
    assert [m.content for m in dms] == ["Your payout for contract #7 is ready."] * 2
    rows = [await market.services.outbox.get(row_id) for row_id in (first, second)]
    assert [(r.status, r.message_id) for r in rows if r is not None] == [("sent", dms[0].id), ("sent", dms[1].id)]


async def delivery_after_a_crash(market: Market, monkeypatch: pytest.MonkeyPatch, *, at: str) -> None:
    """/deliver, the process killed ``at`` "send" (Discord accepted the delivery post, its row
    not marked yet) or "follow-up" (the post recorded, its files not attached yet); then a
    restart: one delivery post, with its files."""
    contract = await active_contract(market)
    thread = await contract_thread(market, contract)
    if at == "send":
        after_each_send(market, monkeypatch, killed, channel_id=thread.id)
    else:
        async def edit_message(*args: Any, **kwargs: Any) -> Any:
            await killed()

        monkeypatch.setattr(market.bot.http, "edit_message", edit_message)

    await market.worker.slash(market.general, "deliver", contract=contract.id, file=LOGO)
    [row] = await market.services.db.fetchall("SELECT * FROM outbox WHERE message_key = 'thread.delivered'")
    assert row["status"] == ("pending" if at == "send" else "followup_pending")

    await market.restart()
    market.clock.advance(timedelta(hours=1))
    await market.sweep()

    [post] = [m for m in thread.history() if "📦 Delivery" in m.content]
    assert [(a.filename, await a.read()) for a in post.attachments] == [LOGO]
    [row] = await market.services.db.fetchall("SELECT * FROM outbox WHERE message_key = 'thread.delivered'")
    assert (row["status"], row["message_id"], row["last_error"]) == ("sent", post.id, None)


async def test_a_crash_after_the_delivery_post_before_its_mark(
    setup_market: Market, monkeypatch: pytest.MonkeyPatch
) -> None:
    await delivery_after_a_crash(setup_market, monkeypatch, at="send")


async def test_a_crash_after_the_delivery_post_before_its_files(
    setup_market: Market, monkeypatch: pytest.MonkeyPatch
) -> None:
    await delivery_after_a_crash(setup_market, monkeypatch, at="follow-up")


# -- the job board: a post made before a crash is adopted, not posted again ------------------


def after_forum_post(market: Market, monkeypatch: pytest.MonkeyPatch, action: Callable[[], Any]) -> list[int]:
    """Run ``action`` right after Discord created a forum post (the real request first)."""
    http = market.bot.http
    original = http.start_thread_in_forum
    made: list[int] = []

    async def start_thread_in_forum(*args: Any, **kwargs: Any) -> Any:
        data = await original(*args, **kwargs)
        made.append(int(data["id"]))
        await action()
        return data

    monkeypatch.setattr(http, "start_thread_in_forum", start_thread_in_forum)
    return made


def apply_buttons(messages: list[Any], job_id: int) -> list[Any]:
    return [m for m in messages if f"cw:job:{job_id}:apply" in custom_ids(m)]


async def test_a_crash_after_a_job_post_in_a_text_channel_does_not_post_it_twice(
    setup_market: Market, monkeypatch: pytest.MonkeyPatch
) -> None:
    market = setup_market
    sent = after_each_send(market, monkeypatch, killed, channel_id=market.jobs.id)
    result = await market.client.slash(market.general, "job post", **JOB)
    assert result.response is not None
    await market.settle()
    assert len(sent) == 1
    [job] = (await market.services.jobs.search(market.guild.id, client_id=market.client.id)).jobs
    assert job.board_message_id is None  # the process died before the post was recorded

    monkeypatch.undo()
    await market.restart()
    market.clock.advance(timedelta(minutes=10))
    await market.sweep()

    [post] = apply_buttons(market.jobs.history(), job.id)
    assert post.id == sent[0]
    after = await market.services.jobs.get(market.guild.id, job.id)
    assert (after.board_channel_id, after.board_message_id) == (market.jobs.id, post.id)


async def test_a_crash_after_a_forum_post_does_not_open_a_second_thread(
    market: Market, monkeypatch: pytest.MonkeyPatch
) -> None:
    forum = market.guild.create_forum_channel("job-board")
    await market.run_setup(jobs_channel=forum)
    made = after_forum_post(market, monkeypatch, killed)
    await market.client.slash(market.general, "job post", **JOB)
    await market.settle()
    assert len(made) == 1
    [job] = (await market.services.jobs.search(market.guild.id, client_id=market.client.id)).jobs
    assert job.board_message_id is None

    monkeypatch.undo()
    await market.restart()
    market.clock.advance(timedelta(minutes=10))
    await market.sweep()

    [thread] = forum.threads
    assert thread.id == made[0] and thread.name.startswith(f"#{job.id} ")
    after = await market.services.jobs.get(market.guild.id, job.id)
    assert (after.board_channel_id, after.board_message_id) == (thread.id, thread.id)
