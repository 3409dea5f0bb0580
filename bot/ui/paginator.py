"""One paginator for every long list the bot answers with (ephemeral, owner-only).

A list is cut into :class:`Page` s (text and/or an embed, and optionally the persistent
buttons that belong to that page's entries, such as a Reject button per application). The
first page is sent with ◀ / "2 / 5" / ▶ buttons when there is more than one page; only the
member who asked may turn the pages (anyone else is told so, privately), and after
``timeout`` the buttons are greyed out on the message, so a stale list never looks alive.

Using it (a cog's callback)::

    pages = pages_of_lines(header, lines, empty=t(locale, "ui.x.none"))
    await Paginator(interaction.user.id, pages, locale).send(interaction)

The page buttons are not persistent (a list is a snapshot; after a restart the user runs
the command again), so their custom ids need no target: ``cw:page:prev`` / ``cw:page:next``.
Entry buttons on a page are the registered persistent ones (``"<resource>:<id>:<action>"``
specs, as in outbox rows), so they keep working after a restart.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import discord

from bot.i18n import language_of, t
from bot.tree import report_error
from bot.ui.buttons import button_items

if TYPE_CHECKING:
    from bot.app import MarketBot

log = logging.getLogger(__name__)

MAX_CONTENT = 2000
PAGE_TEXT = 1900  # leaves room for the page header a caller may add
TIMEOUT = 600.0  # well inside the 15 minutes an interaction token can edit its messages
PREV_ID = "cw:page:prev"
NEXT_ID = "cw:page:next"
COUNTER_ID = "cw:page:counter"
ENTRY_ROWS = 4  # the page buttons take the last row (Discord allows 5 rows of 5 buttons)
NO_MENTIONS = discord.AllowedMentions.none()


@dataclass(frozen=True, slots=True)
class Page:
    """One page: text, an embed, and the persistent buttons of its entries."""

    content: str | None = None
    embed: discord.Embed | None = None
    buttons: tuple[str, ...] = ()


def pages_of_lines(
    header: str | None,
    lines: Sequence[str],
    *,
    empty: str,
    limit: int = PAGE_TEXT,
    per_page: int | None = None,
    buttons: Sequence[Sequence[str]] | None = None,
) -> list[Page]:
    """Cut ``lines`` into text pages of at most ``limit`` characters (and ``per_page`` lines),
    each starting with ``header``. ``buttons[i]`` are the entry buttons of ``lines[i]``; a
    page holds at most 20 of them. No lines: one page with ``empty``.

    A line longer than a page is clipped (the full text is in the source the list shows)."""
    if not lines:
        return [Page(content=empty)]
    top = f"{header}\n" if header else ""
    room = max(limit - len(top), 100)
    pages: list[Page] = []
    current: list[str] = []
    current_buttons: list[str] = []
    size = 0
    max_buttons = ENTRY_ROWS * 5
    for index, raw in enumerate(lines):
        line = raw if len(raw) <= room else raw[: room - 1] + "…"
        entry_buttons = list(buttons[index]) if buttons is not None else []
        full = current and (
            size + len(line) + 1 > room
            or (per_page is not None and len(current) >= per_page)
            or len(current_buttons) + len(entry_buttons) > max_buttons
        )
        if full:
            pages.append(Page(content=top + "\n".join(current), buttons=tuple(current_buttons)))
            current, current_buttons, size = [], [], 0
        current.append(line)
        current_buttons.extend(entry_buttons)
        size += len(line) + 1
    pages.append(Page(content=top + "\n".join(current), buttons=tuple(current_buttons)))
    return pages


class Paginator(discord.ui.View):
    """Turns the pages of one ephemeral answer; see the module docstring."""

    def __init__(self, owner_id: int, pages: Sequence[Page], locale: object, *, timeout: float = TIMEOUT) -> None:
        super().__init__(timeout=timeout)
        if not pages:
            raise ValueError("a paginator needs at least one page")
        self.owner_id = owner_id
        self.pages = list(pages)
        self.language = language_of(locale)
        self.index = 0
        self.message: discord.Message | discord.InteractionMessage | None = None
        self._render_buttons()

    # -- sending ---------------------------------------------------------------------------

    async def send(self, interaction: discord.Interaction[MarketBot], *, ephemeral: bool = True,
                   file: discord.File | None = None) -> None:
        """Answer the interaction (or follow up a deferred one) with the first page."""
        page = self.pages[0]
        kwargs: dict[str, Any] = {"ephemeral": ephemeral, "allowed_mentions": NO_MENTIONS}
        if page.content is not None:
            kwargs["content"] = page.content
        if page.embed is not None:
            kwargs["embed"] = page.embed
        if file is not None:
            kwargs["file"] = file
        if self.children:
            kwargs["view"] = self
        if interaction.response.is_done():
            self.message = await interaction.followup.send(wait=True, **kwargs)
        else:
            await interaction.response.send_message(**kwargs)
            self.message = await interaction.original_response()
        if not self._turns():
            self.stop()

    # -- the buttons -----------------------------------------------------------------------

    def _turns(self) -> bool:
        return len(self.pages) > 1

    def _render_buttons(self) -> None:
        self.clear_items()
        page = self.pages[self.index]
        for entry in button_items(page.buttons, self.language, limit=ENTRY_ROWS * 5):
            self.add_item(entry)
        if not self._turns():
            return
        row = ENTRY_ROWS
        prev: discord.ui.Button[Paginator] = discord.ui.Button(
            label="◀", custom_id=PREV_ID, style=discord.ButtonStyle.secondary, row=row, disabled=self.index == 0)
        counter: discord.ui.Button[Paginator] = discord.ui.Button(
            label=t(self.language, "ui.page.counter", page=self.index + 1, pages=len(self.pages)),
            custom_id=COUNTER_ID, style=discord.ButtonStyle.secondary, row=row, disabled=True)
        nxt: discord.ui.Button[Paginator] = discord.ui.Button(
            label="▶", custom_id=NEXT_ID, style=discord.ButtonStyle.secondary, row=row,
            disabled=self.index >= len(self.pages) - 1)
        prev.callback = self._previous  # type: ignore[method-assign]
        nxt.callback = self._next  # type: ignore[method-assign]
        for turn in (prev, counter, nxt):
            self.add_item(turn)

    async def interaction_check(self, interaction: discord.Interaction[Any]) -> bool:
        await interaction.client.note_locale(interaction)
        if interaction.user.id == self.owner_id:
            return True
        await interaction.response.send_message(
            t(interaction.locale, "ui.page.not_yours"), ephemeral=True, allowed_mentions=NO_MENTIONS)
        return False

    async def _previous(self, interaction: discord.Interaction[Any]) -> None:
        await self._turn(interaction, self.index - 1)

    async def _next(self, interaction: discord.Interaction[Any]) -> None:
        await self._turn(interaction, self.index + 1)

    async def _turn(self, interaction: discord.Interaction[Any], index: int) -> None:
        self.index = max(0, min(index, len(self.pages) - 1))
        self._render_buttons()
        page = self.pages[self.index]
        await interaction.response.edit_message(content=page.content, embed=page.embed, view=self,
                                                allowed_mentions=NO_MENTIONS)

    async def on_error(  # type: ignore[override]
        self, interaction: discord.Interaction[Any], error: Exception, item: discord.ui.Item[Any], /
    ) -> None:
        await report_error(interaction, error)

    async def on_timeout(self) -> None:
        """Grey out the page buttons (entry buttons stay usable: they are persistent)."""
        if self.message is None:
            return
        for item in self.children:
            if isinstance(item, discord.ui.Button) and item.custom_id in (PREV_ID, NEXT_ID, COUNTER_ID):
                item.disabled = True
        try:
            await self.message.edit(view=self)
        except discord.HTTPException as error:  # the token expired or the message is gone: nothing to grey out
            log.info("paginator %s not greyed out on timeout: %s", getattr(self.message, "id", None), error)
