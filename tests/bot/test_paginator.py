"""The shared paginator of long lists (bot/ui/paginator.py), through discord.py's real views."""

from __future__ import annotations

from typing import Any

import discord
import pytest
import simcord
from discord import app_commands

from bot.app import MarketBot
from bot.i18n import t
from bot.ui.paginator import Paginator, pages_of_lines
from tests.bot.conftest import Market

LINES = [f"line {n:03d} " + "x" * 80 for n in range(60)]

paged_group = app_commands.Group(name="pagetest", description="test-only paginated list")


@paged_group.command(name="show", description="a long list")
async def show(interaction: discord.Interaction[MarketBot], count: int, public: bool = False) -> None:
    pages = pages_of_lines("Header", LINES[:count], empty="Nothing here")
    await Paginator(interaction.user.id, pages, interaction.locale).send(interaction, ephemeral=not public)


def _components(message: Any) -> dict[str, dict[str, Any]]:
    return {c["custom_id"]: c for row in message.components for c in row["components"]}


@pytest.fixture
async def market(setup_market: Market) -> Market:
    tree = setup_market.bot.tree
    tree.add_command(paged_group)
    await tree.sync()
    return setup_market


def test_pages_hold_whole_lines_within_the_limit() -> None:
    pages = pages_of_lines("Header", LINES, empty="-")
    assert len(pages) > 1
    shown = []
    for page in pages:
        assert page.content is not None and len(page.content) <= 2000
        header, *lines = page.content.splitlines()
        assert header == "Header"
        shown += lines
    assert shown == LINES
    assert pages_of_lines("Header", [], empty="Nothing") [0].content == "Nothing"
    per = pages_of_lines(None, LINES[:7], empty="-", per_page=3)
    assert [p.content.count("\n") + 1 for p in per if p.content] == [3, 3, 1]


def test_entry_buttons_travel_with_their_lines() -> None:
    pages = pages_of_lines("H", [f"app {n}" for n in range(30)], empty="-",
                           buttons=[[f"application:{n}:reject"] for n in range(30)])
    assert all(len(p.buttons) <= 20 for p in pages)
    assert [b for p in pages for b in p.buttons] == [f"application:{n}:reject" for n in range(30)]


async def test_the_owner_turns_pages_and_others_are_refused(market: Market) -> None:
    result = await market.worker.slash(market.general, "pagetest show", count=60)
    message = result.response
    assert message is not None and message.ephemeral
    first = message.content
    assert first.startswith("Header\nline 000")
    buttons = _components(message)
    assert buttons["cw:page:prev"]["disabled"] and not buttons["cw:page:next"]["disabled"]
    pages = int(buttons["cw:page:counter"]["label"].split(" / ")[1])
    assert pages > 1

    await market.worker.click(message, custom_id="cw:page:next")
    assert message.content != first and "line 000" not in message.content
    assert _components(message)["cw:page:counter"]["label"] == f"2 / {pages}"

    await market.worker.click(message, custom_id="cw:page:prev")
    assert message.content == first


async def test_only_the_owner_turns_a_public_list(market: Market) -> None:
    result = await market.worker.slash(market.general, "pagetest show", count=60, public=True)
    message = result.response
    assert message is not None and not message.ephemeral
    market.set_locale(market.outsider, "ja")
    refused = await market.outsider.click(message, custom_id="cw:page:next")
    simcord.assert_responded(refused, content=t("ja", "ui.page.not_yours"), ephemeral=True)
    assert _components(message)["cw:page:counter"]["label"].startswith("1 / ")  # unchanged


async def test_one_page_has_no_buttons_and_buttons_grey_out_on_timeout(market: Market) -> None:
    short = await market.worker.slash(market.general, "pagetest show", count=3)
    assert short.response is not None and short.response.components == []

    long = await market.worker.slash(market.general, "pagetest show", count=60)
    assert long.response is not None
    await market.env.advance_time(601)
    await market.settle()
    assert all(c["disabled"] for c in _components(long.response).values())
    with pytest.raises(simcord.SetupError, match="disabled"):
        await market.worker.click(long.response, custom_id="cw:page:next")
