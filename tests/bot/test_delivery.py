"""/deliver: the worker's files are read at once, stored by the bot, listed to the client
with their hashes and re-posted from storage into the contract thread.
"""

from __future__ import annotations

import hashlib
from datetime import timedelta
from pathlib import Path
from typing import Any

import discord
import pytest
import simcord

from bot.config import Settings
from bot.i18n import t
from bot.services.deliveries import IncomingFile
from tests.bot.conftest import Market
from tests.bot.helpers import LOGO, active_contract, contract_thread, custom_ids, delivered_contract, last_dm

SOURCE = ("logo.svg", b"<svg>a fake logo</svg>")


@pytest.fixture
def bot_settings(tmp_path: Path) -> Settings:
    """A 1 MiB file limit, so that a test can go over it cheaply."""
    return Settings(database_path=tmp_path / "bot.db", files_dir=tmp_path / "files", max_file_bytes=1024 * 1024)


# -- helpers ------------------------------------------------------------------------------


def sha(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def file_line(language: str, name: str, data: bytes) -> str:
    from bot.ui.review_buttons import format_size

    return t(language, "ui.delivery.file_line", filename=name, size=format_size(len(data)), sha256=sha(data))


# -- /deliver -----------------------------------------------------------------------------


async def test_deliver_stores_the_files_and_tells_the_client(setup_market: Market) -> None:
    market = setup_market
    contract = await active_contract(market)
    thread = await contract_thread(market, contract)

    result = await market.worker.slash(
        market.general, "deliver", contract=contract.id, file=LOGO, file2=SOURCE, note="Two versions."
    )

    lines = "\n".join(file_line("en", *f) for f in (LOGO, SOURCE))
    [delivery] = await market.services.deliveries.deliveries(market.guild.id, contract.id)
    simcord.assert_responded(
        result,
        content=t("en", "ui.delivery.done", contract_id=contract.id, delivery_id=delivery.id, files=lines),
        ephemeral=True,
    )
    reloaded = await market.services.contracts.get(contract.id)
    assert reloaded is not None and reloaded.status == "delivered"
    assert delivery.note == "Two versions."
    for _, data in (LOGO, SOURCE):
        assert await market.services.files.read(sha(data)) == data

    # The client's DM lists the names and hashes, attaches nothing and has the review buttons.
    dm = last_dm(market, market.client, "📦")
    assert dm.content == t(
        "en",
        "notify.delivered_client",
        contract_id=contract.id,
        delivery_id=delivery.id,
        files=lines,
        note="Two versions.",
    )
    assert dm.attachments == []
    assert custom_ids(dm) == [f"cw:review:{contract.id}:approve", f"cw:review:{contract.id}:revise"]

    # The thread gets the files themselves, from the bot's storage, with their hashes in the text.
    post = thread.last_message
    assert post is not None
    assert sha(LOGO[1]) in post.content and sha(SOURCE[1]) in post.content
    assert [(a.filename, a.size) for a in post.attachments] == [(LOGO[0], len(LOGO[1])), (SOURCE[0], len(SOURCE[1]))]
    assert [await a.read() for a in post.attachments] == [LOGO[1], SOURCE[1]]


async def test_deliver_in_japanese(setup_market: Market) -> None:
    market = setup_market
    contract = await active_contract(market)
    market.set_locale(market.worker, "ja")
    await market.services.guilds.remember_locale(market.client.id, "ja")  # as after any interaction in Japanese

    result = await market.worker.slash(market.general, "deliver", contract=contract.id, file=LOGO)

    [delivery] = await market.services.deliveries.deliveries(market.guild.id, contract.id)
    simcord.assert_responded(
        result,
        content=t(
            "ja", "ui.delivery.done", contract_id=contract.id, delivery_id=delivery.id, files=file_line("ja", *LOGO)
        ),
        ephemeral=True,
    )
    dm = market.dms(market.client)[-1]
    assert dm.content == t(
        "ja",
        "notify.delivered_client",
        contract_id=contract.id,
        delivery_id=delivery.id,
        files=file_line("ja", *LOGO),
        note="-",
    )
    assert [c.label for row in dm.components for c in getattr(row, "children", [])] == [
        t("ja", "button.review.approve"),
        t("ja", "button.review.revise"),
    ]


async def test_a_file_over_the_limit_is_refused_before_it_is_read(
    setup_market: Market, monkeypatch: pytest.MonkeyPatch
) -> None:
    market = setup_market
    contract = await active_contract(market)
    big = ("video.mp4", b"x" * (1024 * 1024 + 1))
    downloads: list[str] = []
    read = discord.Attachment.read

    async def counting_read(self: discord.Attachment, **kwargs: Any) -> bytes:
        downloads.append(self.filename)
        return await read(self, **kwargs)

    monkeypatch.setattr(discord.Attachment, "read", counting_read)

    result = await market.worker.slash(market.general, "deliver", contract=contract.id, file=LOGO, file2=big)

    market.assert_refused(result, "error.delivery.too_large", filename="video.mp4", limit_mb=1)
    assert not result.deferred
    assert downloads == []
    assert not market.services.files.exists(sha(LOGO[1]))
    reloaded = await market.services.contracts.get(contract.id)
    assert reloaded is not None and reloaded.status == "active"


async def test_an_empty_file_is_refused(setup_market: Market) -> None:
    market = setup_market
    contract = await active_contract(market)

    result = await market.worker.slash(market.general, "deliver", contract=contract.id, file=("empty.txt", b""))

    market.assert_refused(result, "error.delivery.empty", filename="empty.txt")
    assert await market.services.deliveries.deliveries(market.guild.id, contract.id) == []


async def test_only_the_worker_delivers(setup_market: Market) -> None:
    market = setup_market
    contract = await active_contract(market)

    for member in (market.client, market.outsider):
        result = await member.slash(market.general, "deliver", contract=contract.id, file=LOGO)
        market.assert_refused(result, "error.delivery.worker_only", contract_id=contract.id)

    result = await market.worker.slash(market.general, "deliver", contract=contract.id + 100, file=LOGO)
    market.assert_refused(result, "error.contract.not_found", contract_id=contract.id + 100)
    reloaded = await market.services.contracts.get(contract.id)
    assert reloaded is not None and reloaded.status == "active"


async def test_a_refused_delivery_downloads_nothing(setup_market: Market, monkeypatch: pytest.MonkeyPatch) -> None:
    """An outsider, a missing contract or a wrong state: refused before any CDN request."""
    market = setup_market
    contract = await active_contract(market)
    big = ("video.mp4", b"x" * (1024 * 1024))
    http_class = type(market.bot.http)
    original = http_class.get_from_cdn
    cdn_requests: list[str] = []

    async def counting(self: Any, url: str) -> bytes:
        cdn_requests.append(url)
        return await original(self, url)

    monkeypatch.setattr(http_class, "get_from_cdn", counting)

    result = await market.outsider.slash(market.general, "deliver", contract=contract.id, file=big, file2=LOGO)
    market.assert_refused(result, "error.delivery.worker_only", contract_id=contract.id)
    result = await market.outsider.slash(market.general, "deliver", contract=contract.id + 100, file=big)
    market.assert_refused(result, "error.contract.not_found", contract_id=contract.id + 100)
    await market.services.deliveries.deliver(
        market.guild.id, contract.id, actor_id=market.worker.id, files=[IncomingFile(*LOGO)]
    )
    result = await market.worker.slash(market.general, "deliver", contract=contract.id, file=big)
    market.assert_refused(result, "error.contract.state", status="delivered", action="deliver")

    assert cdn_requests == []
    assert not market.services.files.exists(sha(big[1]))
    assert len(await market.services.deliveries.deliveries(market.guild.id, contract.id)) == 1


async def test_a_second_delivery_waits_for_the_review(setup_market: Market) -> None:
    market = setup_market
    contract = await delivered_contract(market)

    result = await market.worker.slash(market.general, "deliver", contract=contract.id, file=SOURCE)

    market.assert_refused(result, "error.contract.state", status="delivered", action="deliver")
    assert len(await market.services.deliveries.deliveries(market.guild.id, contract.id)) == 1


async def test_the_contract_option_suggests_what_the_worker_can_deliver(setup_market: Market) -> None:
    market = setup_market
    active = await active_contract(market)
    delivered = await delivered_contract(market)

    choices = await market.worker.autocomplete(market.general, "deliver", "contract", "")
    assert [c["value"] for c in choices] == [active.id]
    assert choices[0]["name"] == t(
        "en", "ui.delivery.contract_choice", contract_id=active.id, status=t("en", "status.active")
    )
    assert await market.client.autocomplete(market.general, "deliver", "contract", "") == []
    assert delivered.id != active.id


async def test_files_too_big_for_the_thread_are_listed_not_attached(setup_market: Market) -> None:
    market = setup_market
    contract = await active_contract(market)
    thread = await contract_thread(market, contract)
    guild = market.bot.get_guild(market.guild.id)
    assert guild is not None
    # A server whose upload limit is smaller than the delivery (as without boosts, at 10 MiB).
    original = type(guild).filesize_limit
    type(guild).filesize_limit = property(lambda self: 100)  # type: ignore[assignment]
    try:
        big = ("big.bin", b"y" * 200)
        await market.worker.slash(market.general, "deliver", contract=contract.id, file=LOGO, file2=big)
    finally:
        type(guild).filesize_limit = original  # type: ignore[method-assign]

    post = thread.last_message
    assert post is not None
    assert [a.filename for a in post.attachments] == [LOGO[0]]
    assert post.content.endswith(t("en", "ui.delivery.not_attached", files="big.bin"))
    assert sha(b"y" * 200) in post.content


async def test_closed_dms_bring_the_delivery_notice_to_the_thread(setup_market: Market) -> None:
    market = setup_market
    contract = await active_contract(market)
    thread = await contract_thread(market, contract)
    market.env.inject_error(
        "POST",
        f"/channels/{market.client.user.dm_channel.id}/messages",
        status=403,
        code=50007,
        message="Cannot send messages to this user",
    )

    await market.worker.slash(market.general, "deliver", contract=contract.id, file=LOGO)

    [delivery] = await market.services.deliveries.deliveries(market.guild.id, contract.id)
    texts = [m.content for m in thread.history()]
    notice = t(
        "en",
        "notify.delivered_client",
        contract_id=contract.id,
        delivery_id=delivery.id,
        files=file_line("en", *LOGO),
        note="-",
    )
    assert t("en", "dispatch.fallback_thread", mention=market.client.mention, message=notice) in texts


async def test_a_rate_limited_file_attachment_is_retried_without_posting_the_delivery_again(
    setup_market: Market,
) -> None:
    market = setup_market
    contract = await active_contract(market)
    thread = await contract_thread(market, contract)
    # the delivery post goes out; attaching the files to it (an edit) is rate limited once
    market.env.inject_error("PATCH", f"/channels/{thread.id}/messages/*", status=429, message="slow down")

    await market.worker.slash(market.general, "deliver", contract=contract.id, file=LOGO)

    def delivery_posts() -> list[discord.Message]:
        return [m for m in thread.history() if "📦 Delivery" in m.content]

    [post] = delivery_posts()
    assert post.attachments == []
    [row] = await market.services.db.fetchall("SELECT * FROM outbox WHERE message_key = 'thread.delivered'")
    assert (row["status"], row["message_id"]) == ("followup_pending", post.id)
    assert "429" in row["last_error"]

    market.clock.advance(timedelta(hours=1))
    await market.dispatch()

    [post] = delivery_posts()
    assert [(a.filename, await a.read()) for a in post.attachments] == [LOGO]
    [row] = await market.services.db.fetchall("SELECT * FROM outbox WHERE message_key = 'thread.delivered'")
    assert (row["status"], row["message_id"], row["last_error"]) == ("sent", post.id, None)


async def test_a_download_is_streamed_to_disk_in_chunks(tmp_path: Path) -> None:
    """The production path: the CDN body is read through an HTTP session chunk by chunk,
    hashed while written and stored under its content address; over the limit nothing stays."""
    import aiohttp
    from aiohttp import web
    from aiohttp.test_utils import TestServer

    from bot.cogs.delivery import CHUNK_BYTES, url_chunks
    from bot.services.files import FileStore, TooLarge

    body = bytes(range(256)) * (3 * CHUNK_BYTES // 256 + 7)

    async def handler(request: web.Request) -> web.StreamResponse:
        return web.Response(body=body)

    app = web.Application()
    app.router.add_get("/file", handler)
    store = FileStore(tmp_path / "files")
    async with TestServer(app) as server, aiohttp.ClientSession() as session:
        url = str(server.make_url("/file"))
        sizes: list[int] = []

        async def recorded() -> Any:
            async for chunk in url_chunks(session, url):
                sizes.append(len(chunk))
                yield chunk

        digest, size = await store.put_stream(recorded(), limit=len(body))
        assert (digest, size) == (sha(body), len(body))
        assert await store.read(digest) == body
        assert max(sizes) <= CHUNK_BYTES and len(sizes) > 3

        with pytest.raises(TooLarge):
            await store.put_stream(url_chunks(session, url), limit=len(body) - 1)
        with pytest.raises(discord.HTTPException):
            await store.put_stream(url_chunks(session, str(server.make_url("/missing"))), limit=len(body))
    assert sorted(p.name for p in (tmp_path / "files").rglob("*")) == sorted([digest[:2], digest])
