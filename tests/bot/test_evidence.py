"""The contract thread's conversation as evidence (RECORD_THREAD_MESSAGES): members post, edit
and delete in the thread; /contract history (its pages and its file) holds the original text,
the edit and the deletion; without the setting nothing is kept and the history says so;
/profile delete erases that member's text."""

from __future__ import annotations

import hashlib
import json
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
import simcord

from bot.config import Settings
from bot.i18n import t
from bot.models.timeutil import to_iso
from bot.ui.format import format_time
from tests.bot.conftest import Market
from tests.bot.helpers import hired, reload

BRIEF = b"colours: red and white"
HOUR = timedelta(hours=1)


@pytest.fixture
def recording() -> bool:
    return True


@pytest.fixture
def bot_settings(tmp_path: Path, recording: bool) -> Settings:
    return Settings(database_path=tmp_path / "bot.db", files_dir=tmp_path / "files",
                    record_thread_messages=recording)


def only_thread(market: Market) -> simcord.ChannelHandle:
    [thread] = market.contracts.threads
    return thread


async def history_of(market: Market, member: simcord.MemberActor, contract_id: int) -> tuple[str, dict[str, Any]]:
    """/contract history as ``member``: the pages' text and the file's thread_messages."""
    result = await member.slash(market.general, "contract history", contract=contract_id)
    assert result.response is not None and result.ephemeral, result
    pages = [m for m in (result.response, *result.followups) if m is not None]
    text = "\n".join(embed.description or "" for m in pages for embed in m.embeds)
    [attachment] = result.response.attachments
    document = json.loads(await attachment.read())
    return text, document["thread_messages"]


async def test_the_history_holds_the_original_text_the_edit_and_the_deletion(setup_market: Market) -> None:
    market = setup_market
    assert market.bot.intents.message_content  # asked for only because the setting is on
    contract = await hired(market)
    thread = only_thread(market)
    t0 = market.clock.now()

    said = await market.client.send(thread, "You can use red.", attachments=[("brief.txt", BRIEF)])
    market.clock.advance(hours=1)
    await market.worker.send(market.general, "not in the contract thread")
    await market.client.edit(said, "You can use blue.")
    market.clock.advance(hours=1)
    await market.client.delete(said)
    await market.worker.send(thread, "Blue it is.")
    await market.settle()

    text, kept = await history_of(market, market.worker, contract.id)

    assert kept["recorded"] is True
    first, second = kept["messages"]
    assert first["message_id"] == said.id and first["author_id"] == market.client.id
    assert first["original_text"] == "You can use red." and first["created_at"] == to_iso(t0)
    assert [(e["text"], e["edited_at"]) for e in first["edits"]] == [
        ("You can use blue.", to_iso(t0 + HOUR)),
    ]
    assert first["deleted_at"] == to_iso(t0 + 2 * HOUR)
    assert first["attachments"] == [
        {"filename": "brief.txt", "size": len(BRIEF), "sha256": hashlib.sha256(BRIEF).hexdigest(), "not_hashed": None}
    ]
    assert (second["author_id"], second["original_text"], second["deleted_at"]) == (
        market.worker.id, "Blue it is.", None,
    )  # fmt: skip

    assert t("en", "ui.evidence.recorded") in text
    assert "> You can use red." in text and "> You can use blue." in text
    assert t("en", "ui.evidence.edited", at=format_time(t0 + HOUR)) in text
    assert t("en", "ui.evidence.deleted", at=format_time(t0 + 2 * HOUR)) in text
    assert f"sha256 `{hashlib.sha256(BRIEF).hexdigest()}`" in text
    assert "not in the contract thread" not in json.dumps(kept)


async def test_the_history_in_japanese(setup_market: Market) -> None:
    market = setup_market
    contract = await hired(market)
    said = await market.client.send(only_thread(market), "赤でお願いします")
    await market.client.edit(said, "青でお願いします")
    await market.settle()
    market.set_locale(market.client, "ja")

    text, _ = await history_of(market, market.client, contract.id)

    assert t("ja", "ui.evidence.heading") in text and t("ja", "ui.evidence.recorded") in text
    assert t("ja", "ui.evidence.edited", at=format_time(market.clock.now())) in text
    assert "> 赤でお願いします" in text and "> 青でお願いします" in text


@pytest.mark.parametrize("recording", [False])
async def test_without_the_setting_nothing_is_kept_and_the_history_says_so(setup_market: Market) -> None:
    market = setup_market
    assert not market.bot.intents.message_content  # no privileged intent by default
    contract = await hired(market)
    said = await market.client.send(only_thread(market), "You can use red.", attachments=[("brief.txt", BRIEF)])
    await market.client.edit(said, "You can use blue.")
    await market.client.delete(said)
    await market.settle()

    text, kept = await history_of(market, market.worker, contract.id)

    assert kept["recorded"] is False and kept["messages"] == []
    assert "not recorded" in kept["note"]
    assert t("en", "ui.evidence.not_recorded") in text
    row = await market.services.db.fetchone("SELECT COUNT(*) AS n FROM thread_messages")
    assert row is not None and row["n"] == 0

    market.set_locale(market.worker, "ja")
    text, _ = await history_of(market, market.worker, contract.id)
    assert t("ja", "ui.evidence.not_recorded") in text


async def test_profile_delete_erases_that_members_text(setup_market: Market) -> None:
    market = setup_market
    contract = await hired(market)
    thread = only_thread(market)
    mine = await market.client.send(thread, "My phone is 090-0000-0000", attachments=[("me.jpg", BRIEF)])
    await market.client.edit(mine, "Call me on 090-0000-0000")
    await market.worker.send(thread, "Noted, I will call.")
    await market.settle()

    asked = await market.client.slash(market.general, "profile delete")
    assert asked.response is not None
    done = await market.client.click(asked.response.message, custom_id="profile_delete:confirm")
    simcord.assert_responded(done, content=t("en", "ui.profile.deleted"))

    text, kept = await history_of(market, market.worker, contract.id)
    erased, other = kept["messages"]
    assert erased["message_id"] == mine.id and erased["author_id"] == market.client.id
    assert erased["original_text"] is None and [e["text"] for e in erased["edits"]] == [None]
    assert erased["attachments"][0]["filename"] is None
    assert erased["attachments"][0]["sha256"] == hashlib.sha256(BRIEF).hexdigest()  # the skeleton stays
    assert erased["erased_at"] == to_iso(market.clock.now())
    assert other["original_text"] == "Noted, I will call."
    assert "090" not in text and "090" not in json.dumps(kept)
    assert t("en", "ui.evidence.erased", at=format_time(market.clock.now())) in text


async def test_a_reply_written_while_the_bot_was_down_is_kept_by_the_start_up_catch_up(
    setup_market: Market,
) -> None:
    market = setup_market
    contract = await hired(market)
    thread = only_thread(market)
    await discord_time_is_the_clock(market)
    await market.worker.send(thread, "Any news?")  # the worker now waits for the client
    waiting = (await reload(market, contract.id)).awaiting_reply_since
    assert waiting is not None
    market.clock.advance(hours=1)
    await discord_time_is_the_clock(market)
    reply = await market.client.send(thread, "Red, please.")
    # The event never reached the bot: the same database state a missed event leaves.
    await market.sql("DELETE FROM thread_messages WHERE message_id = ?", reply.id)
    await market.sql("UPDATE contracts SET awaiting_reply_since = ? WHERE id = ?", to_iso(waiting), contract.id)

    await market.restart()

    assert (await reload(market, contract.id)).awaiting_reply_since is None  # the catch-up still works
    _, kept = await history_of(market, market.worker, contract.id)
    assert [(m["author_id"], m["original_text"]) for m in kept["messages"]] == [
        (market.worker.id, "Any news?"), (market.client.id, "Red, please."),
    ]  # fmt: skip


async def discord_time_is_the_clock(market: Market) -> None:
    """Move SimCord's clock (Discord's timestamps) up to the bot's FakeClock, as in production."""
    gap = (market.clock.now() - market.env.now()).total_seconds()
    if gap > 0:
        await market.env.advance_time(gap)
