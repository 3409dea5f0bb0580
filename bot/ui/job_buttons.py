"""Job buttons: the persistent Apply button on each job post (``cw:job:<id>:apply``) and
its modal, the Withdraw button on the apply confirmation and the Reject button on each
proposal of ``/job applications`` (``cw:application:<id>:withdraw | reject``), and the
Previous / Next pages of ``/job list``.

The list's paging buttons are a plain ``View`` with a timeout (the list is an ephemeral
answer to one user; its filters live in the view), not persistent buttons.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable
from typing import TYPE_CHECKING, Any

import discord

from bot.errors import InvalidInput
from bot.i18n import language_of, t
from bot.models.entities import Job
from bot.services.common import LIMITS
from bot.services.jobs import JobPage
from bot.tree import report_error
from bot.ui.amounts import parse_amount
from bot.ui.buttons import MarketButton, build_view, register_button
from bot.ui.format import format_money
from bot.ui.job_board import clip, list_line
from bot.ui.modals import MarketModal

if TYPE_CHECKING:
    from bot.app import MarketBot  # noqa: F401  (the string annotation below)

log = logging.getLogger(__name__)

Interaction = discord.Interaction["MarketBot"]

MODAL_TITLE = 45
LIST_TIMEOUT = 600.0


def parse_days(text: str) -> int | None:
    value = (text or "").strip()
    if not value:
        return None
    if not value.isascii() or not value.isdigit():
        raise InvalidInput("ui.job.days_not_number", value=value)
    return int(value)


def applied_text(language: object, job: Job, price: int) -> str:
    return t(
        language, "ui.job.applied", job_id=job.id, title=job.title, price=format_money(price, job.currency, language)
    )


def applied_view(application_id: int, language: object) -> discord.ui.View:
    """The apply confirmation's Withdraw button."""
    view = build_view([f"application:{application_id}:withdraw"], language_of(language))
    assert view is not None
    return view


class ApplyModal(MarketModal):
    """Proposal, price and (optional) days for one job."""

    def __init__(self, guild_id: int, job: Job, language: object) -> None:
        super().__init__(
            title=clip(t(language, "ui.job.modal.title", job_id=job.id, title=job.title), MODAL_TITLE),
            custom_id=f"job_apply:{job.id}",
        )
        self.guild_id = guild_id
        self.job_id = job.id
        self.currency = job.currency
        self.proposal: discord.ui.TextInput[ApplyModal] = discord.ui.TextInput(
            label=t(language, "ui.job.modal.proposal"),
            placeholder=t(language, "ui.job.modal.proposal_placeholder"),
            style=discord.TextStyle.paragraph,
            custom_id="proposal",
            max_length=LIMITS["proposal"],
        )
        self.price: discord.ui.TextInput[ApplyModal] = discord.ui.TextInput(
            label=t(language, "ui.job.modal.price", currency=job.currency),
            placeholder=t(language, "ui.job.modal.price_placeholder"),
            custom_id="price",
            max_length=20,
        )
        self.days: discord.ui.TextInput[ApplyModal] = discord.ui.TextInput(
            label=t(language, "ui.job.modal.days"),
            placeholder=t(language, "ui.job.modal.days_placeholder"),
            custom_id="days",
            required=False,
            max_length=3,
        )
        for item in (self.proposal, self.price, self.days):
            self.add_item(item)

    async def on_submit(self, interaction: Interaction) -> None:  # type: ignore[override]
        # read in the submitter's number format (12,50 is 12.50 in German, refused in English);
        # the answer shows the price as read
        price = parse_amount(
            self.price.value, self.currency, interaction.locale, not_a_number="ui.job.price_not_number"
        )
        days = parse_days(self.days.value)
        services = interaction.client.services
        application = await services.jobs.apply(
            self.guild_id, self.job_id, interaction.user.id, proposal=self.proposal.value, price=price, days=days
        )
        job = await services.jobs.get(self.guild_id, self.job_id)
        await interaction.response.send_message(
            applied_text(interaction.locale, job, application.price),
            view=applied_view(application.id, interaction.locale),
            ephemeral=True,
            allowed_mentions=discord.AllowedMentions.none(),
        )


@register_button("job", "apply")
class ApplyButton(MarketButton):
    label_key = "button.job.apply"
    style = discord.ButtonStyle.primary

    async def run(self, interaction: Interaction) -> None:
        services = interaction.client.services
        guild_id = await self.guild_id(interaction)
        job = await services.jobs.check_apply(guild_id, self.target_id, interaction.user.id)
        await interaction.response.send_modal(ApplyModal(guild_id, job, interaction.locale))


@register_button("application", "withdraw")
class WithdrawApplicationButton(MarketButton):
    """On the apply confirmation: the worker takes the application back."""

    label_key = "button.application.withdraw"
    style = discord.ButtonStyle.secondary

    async def run(self, interaction: Interaction) -> None:
        services = interaction.client.services
        guild_id = await self.guild_id(interaction)
        application = await services.jobs.withdraw_application_by_id(guild_id, self.target_id, interaction.user.id)
        job = await services.jobs.get(guild_id, application.job_id)
        text = t(interaction.locale, "ui.application.withdrawn", job_id=job.id, title=job.title)
        await interaction.response.edit_message(content=text, view=None,
                                                allowed_mentions=discord.AllowedMentions.none())


@register_button("application", "reject")
class RejectApplicationButton(MarketButton):
    """One per pending proposal on ``/job applications``: the client turns it down (the worker
    is told by DM). The label names the proposal's number, shown on its entry."""

    label_key = "button.application.reject"
    style = discord.ButtonStyle.danger

    def __init__(self, target_id: int, *, language: str = "en", label: str | None = None,
                 row: int | None = None) -> None:
        super().__init__(target_id, language=language, row=row,
                         label=label if label is not None else t(language, self.label_key, application_id=target_id))

    async def run(self, interaction: Interaction) -> None:
        services = interaction.client.services
        guild_id = await self.guild_id(interaction)
        application = await services.jobs.reject_application(guild_id, self.target_id, actor_id=interaction.user.id)
        text = t(interaction.locale, "ui.application.rejected", application_id=application.id,
                 worker=f"<@{application.worker_id}>")
        await interaction.response.send_message(text, ephemeral=True, allowed_mentions=discord.AllowedMentions.none())


# -- /job list pages ------------------------------------------------------------------

PageLoader = Callable[[int], Awaitable[JobPage]]


def list_embed(page: JobPage, language: object, *, mine: bool) -> discord.Embed:
    key = "ui.job.list_mine_title" if mine else "ui.job.list_title"
    embed = discord.Embed(
        title=t(language, key, page=page.page, pages=page.pages, total=page.total),
        description="\n".join(list_line(job, language) for job in page.jobs),
        colour=discord.Colour.green(),
    )
    embed.set_footer(text=t(language, "ui.job.list_footer"))
    return embed


class JobListView(discord.ui.View):
    """Previous / Next over the pages of one search (10 jobs a page)."""

    def __init__(self, owner_id: int, load: PageLoader, page: JobPage, language: object, *, mine: bool) -> None:
        super().__init__(timeout=LIST_TIMEOUT)
        self.owner_id = owner_id
        self.load = load
        self.page = page
        self.mine = mine
        self.interaction: Interaction | None = None
        self._relabel(language)
        self._enable()

    def _enable(self) -> None:
        self.previous_page.disabled = self.page.page <= 1
        self.next_page.disabled = self.page.page >= self.page.pages

    async def interaction_check(self, interaction: Interaction) -> bool:  # type: ignore[override]
        await interaction.client.note_locale(interaction)
        return interaction.user.id == self.owner_id

    @discord.ui.button(label="<", custom_id="job_list:previous", style=discord.ButtonStyle.secondary)
    async def previous_page(self, interaction: Interaction, button: discord.ui.Button[JobListView]) -> None:
        await self._show(interaction, self.page.page - 1)

    @discord.ui.button(label=">", custom_id="job_list:next", style=discord.ButtonStyle.secondary)
    async def next_page(self, interaction: Interaction, button: discord.ui.Button[JobListView]) -> None:
        await self._show(interaction, self.page.page + 1)

    async def _show(self, interaction: Interaction, number: int) -> None:
        page = await self.load(max(number, 1))
        if page.page > page.pages and page.total:
            page = await self.load(page.pages)  # the list shrank meanwhile
        self.page = page
        self.interaction = interaction
        if not page.jobs:
            key = "ui.job.list_empty_mine" if self.mine else "ui.job.list_empty"
            self.stop()
            await interaction.response.edit_message(content=t(interaction.locale, key), embed=None, view=None)
            return
        self._relabel(interaction.locale)
        self._enable()
        await interaction.response.edit_message(embed=list_embed(page, interaction.locale, mine=self.mine), view=self)

    def _relabel(self, language: object) -> None:
        self.previous_page.label = t(language, "button.job.previous")
        self.next_page.label = t(language, "button.job.next")

    async def on_timeout(self) -> None:
        if self.interaction is None:
            return
        for item in (self.previous_page, self.next_page):
            item.disabled = True
        try:
            await self.interaction.edit_original_response(view=self)
        except discord.HTTPException as error:
            log.debug("could not disable the job list buttons: %s", error)

    async def on_error(  # type: ignore[override]
        self, interaction: Interaction, error: Exception, item: discord.ui.Item[Any], /
    ) -> None:
        await report_error(interaction, error)
