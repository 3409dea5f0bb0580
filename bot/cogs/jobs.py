"""``/job post | list | view | apply | withdraw | applications | close``, and the job board.

The board (posting and updating each job's post) is the ``board`` outbox target, handled
by :class:`bot.ui.job_board.JobBoard` (wired in bot/notifications/registry.py).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import discord
from discord import app_commands
from discord.ext import commands

from bot.checks import autocomplete_moderator, member_is_moderator
from bot.i18n import t
from bot.models.entities import Application, Job
from bot.models.states import ApplicationStatus
from bot.services.common import LIMITS
from bot.services.jobs import MAX_POSITIONS, JobPage
from bot.ui.format import format_money
from bot.ui.job_board import apply_view, board_url, clip, job_embed, worker_line
from bot.ui.job_buttons import JobListView, applied_text, applied_view, list_embed
from bot.ui.paginator import Paginator, pages_of_lines

if TYPE_CHECKING:
    from bot.app import MarketBot

Interaction = discord.Interaction["MarketBot"]

NO_MENTIONS = discord.AllowedMentions.none()
PROPOSAL_PREVIEW = 300
PROPOSALS_PER_PAGE = 5
TITLE_MAX = LIMITS["title"]
DESCRIPTION_MAX = LIMITS["description"]
CATEGORY_MAX = LIMITS["category"]
PROPOSAL_MAX = LIMITS["proposal"]
SORT_CHOICES = [
    app_commands.Choice(name="Newest first", value="newest"),
    app_commands.Choice(name="Largest budget first", value="budget"),
    app_commands.Choice(name="Soonest deadline first", value="deadline"),
]


@app_commands.guild_only()
class JobsCog(commands.GroupCog, group_name="job", group_description="Post, find and apply to jobs"):
    def __init__(self, bot: MarketBot) -> None:
        self.bot = bot
        super().__init__()

    @app_commands.command(name="post", description="Post a job on the job board")
    @app_commands.describe(
        title="A short title for the job",
        description="What needs to be done",
        budget="The budget in the server's currency, e.g. 45000 or 12.50",
        deadline="Delivery time wanted: days from funding (7d) or a date (YYYY-MM-DD)",
        category="A category, e.g. design or translation",
        positions="How many workers you want to hire (default 1)",
    )
    async def job_post(
        self,
        interaction: Interaction,
        title: app_commands.Range[str, 1, TITLE_MAX],
        description: app_commands.Range[str, 1, DESCRIPTION_MAX],
        budget: app_commands.Range[float, 0],
        deadline: app_commands.Range[str, 1, 32],
        category: app_commands.Range[str, 1, CATEGORY_MAX] | None = None,
        positions: app_commands.Range[int, 1, MAX_POSITIONS] = 1,
    ) -> None:
        assert interaction.guild_id is not None
        services = self.bot.services
        job = await services.jobs.post(
            interaction.guild_id, interaction.user.id, title=title, description=description, budget=budget,
            deadline=deadline, category=category, positions=positions,
        )  # fmt: skip
        guild = await services.guilds.require(interaction.guild_id)
        text = t(interaction.locale, "ui.job.posted", job_id=job.id, title=job.title,
                 channel=f"<#{guild.jobs_channel_id}>")  # fmt: skip
        await interaction.response.send_message(text, ephemeral=True, allowed_mentions=NO_MENTIONS)

    @app_commands.command(name="list", description="Browse and search open jobs")
    @app_commands.describe(
        category="Only jobs in this category",
        query="Words to look for in titles and descriptions",
        mine="Show the jobs you posted, in any state",
        min_budget="Only jobs with at least this budget, in the server's currency",
        max_budget="Only jobs with at most this budget, in the server's currency",
        max_days="Only jobs to be delivered within this many days",
        sort="The order: newest first (default), largest budget or soonest deadline",
    )
    @app_commands.choices(sort=SORT_CHOICES)
    async def job_list(
        self,
        interaction: Interaction,
        category: app_commands.Range[str, 1, CATEGORY_MAX] | None = None,
        query: app_commands.Range[str, 1, 100] | None = None,
        mine: bool = False,
        min_budget: app_commands.Range[float, 0] | None = None,
        max_budget: app_commands.Range[float, 0] | None = None,
        max_days: app_commands.Range[int, 1, 3650] | None = None,
        sort: app_commands.Choice[str] | None = None,
    ) -> None:
        assert interaction.guild_id is not None
        guild_id, client_id = interaction.guild_id, interaction.user.id if mine else None
        order = sort.value if sort else "newest"

        async def load(number: int) -> JobPage:
            return await self.bot.services.jobs.search(
                guild_id, category=category, query=query, client_id=client_id, page=number,
                min_budget=min_budget, max_budget=max_budget, max_days=max_days, sort=order,
            )  # fmt: skip

        page = await load(1)
        if not page.jobs:
            filtered = min_budget is not None or max_budget is not None or max_days is not None
            key = "ui.job.list_empty_mine" if mine else "job_list.empty_filtered" if filtered else "ui.job.list_empty"
            await interaction.response.send_message(t(interaction.locale, key), ephemeral=True)
            return
        view = JobListView(interaction.user.id, load, page, interaction.locale, mine=mine)
        view.interaction = interaction
        embed = list_embed(page, interaction.locale, mine=mine)
        await interaction.response.send_message(embed=embed, view=view, ephemeral=True)

    @app_commands.command(name="view", description="Show a job in full")
    @app_commands.describe(job="The job")
    async def job_view(self, interaction: Interaction, job: int) -> None:
        assert interaction.guild_id is not None
        services = self.bot.services
        found = await services.jobs.get(interaction.guild_id, job)
        figures = await services.reputation.client_figures(found.guild_id, found.client_id)
        url = board_url(found)
        content = t(interaction.locale, "ui.job.board_link", url=url) if url else None
        view = apply_view(found, interaction.locale) if found.client_id != interaction.user.id else None
        embed = job_embed(found, figures, interaction.locale)
        if view is not None:
            await interaction.response.send_message(content, embed=embed, view=view, ephemeral=True)
        else:
            await interaction.response.send_message(content, embed=embed, ephemeral=True)

    @app_commands.command(name="apply", description="Apply to a job")
    @app_commands.describe(
        job="The job to apply to",
        proposal="Your proposal: what you will do, and how",
        price="Your price in the server's currency",
        days="Days you need to deliver (default: the job's deadline)",
    )
    async def job_apply(
        self,
        interaction: Interaction,
        job: int,
        proposal: app_commands.Range[str, 1, PROPOSAL_MAX],
        price: app_commands.Range[float, 0],
        days: app_commands.Range[int, 1, 365] | None = None,
    ) -> None:
        assert interaction.guild_id is not None
        services = self.bot.services
        application = await services.jobs.apply(
            interaction.guild_id, job, interaction.user.id, proposal=proposal, price=price, days=days
        )
        found = await services.jobs.get(interaction.guild_id, job)
        text = applied_text(interaction.locale, found, application.price)
        await interaction.response.send_message(text, view=applied_view(application.id, interaction.locale),
                                                ephemeral=True, allowed_mentions=NO_MENTIONS)

    @app_commands.command(name="withdraw", description="Withdraw your pending application to a job")
    @app_commands.describe(job="A job you applied to")
    async def job_withdraw(self, interaction: Interaction, job: int) -> None:
        assert interaction.guild_id is not None
        services = self.bot.services
        await services.jobs.withdraw_application(interaction.guild_id, job, interaction.user.id)
        found = await services.jobs.get(interaction.guild_id, job)
        text = t(interaction.locale, "ui.application.withdrawn", job_id=found.id, title=found.title)
        await interaction.response.send_message(text, ephemeral=True, allowed_mentions=NO_MENTIONS)

    @app_commands.command(name="applications", description="See the proposals on your job")
    @app_commands.describe(job="One of your jobs")
    async def job_applications(self, interaction: Interaction, job: int) -> None:
        assert interaction.guild_id is not None
        await interaction.response.defer(ephemeral=True, thinking=True)
        services = self.bot.services
        moderator = await member_is_moderator(interaction)
        applications = await services.jobs.applications(
            interaction.guild_id, job, actor_id=interaction.user.id, is_moderator=moderator
        )
        found = await services.jobs.get(interaction.guild_id, job)
        locale = interaction.locale
        entries = [await self._entry(found, application, locale) for application in applications]
        # the client turns a pending proposal down from the list: one Reject button per entry
        rejectable = interaction.user.id == found.client_id
        buttons = [[f"application:{a.id}:reject"] if rejectable and a.status == ApplicationStatus.PENDING else []
                   for a in applications]
        header = t(locale, "ui.job.applications_header", job_id=found.id, title=found.title, count=len(entries))
        pages = pages_of_lines(header, entries, buttons=buttons, per_page=PROPOSALS_PER_PAGE,
                               empty=t(locale, "ui.job.applications_empty", job_id=found.id, title=found.title))
        await Paginator(interaction.user.id, pages, locale).send(interaction)

    async def _entry(self, job: Job, application: Application, language: object) -> str:
        figures = await self.bot.services.reputation.worker_figures(job.guild_id, application.worker_id)
        entry = application_entry(job, application, worker_line(figures, language), language)
        # the number names the entry's Reject button; a blank line sets the entries apart
        return f"\n`#{application.id}` {entry}"

    @app_commands.command(name="close", description="Close your job to new applications")
    @app_commands.describe(job="One of your jobs")
    async def job_close(self, interaction: Interaction, job: int) -> None:
        assert interaction.guild_id is not None
        moderator = await member_is_moderator(interaction)
        closed = await self.bot.services.jobs.close(
            interaction.guild_id, job, actor_id=interaction.user.id, is_moderator=moderator
        )
        text = t(interaction.locale, "ui.job.closed", job_id=closed.id, title=closed.title)
        await interaction.response.send_message(text, ephemeral=True, allowed_mentions=NO_MENTIONS)

    # -- autocomplete -------------------------------------------------------------

    async def _suggest(
        self, interaction: Interaction, current: str, purpose: str, *, is_moderator: bool = False
    ) -> list[app_commands.Choice[int]]:
        if interaction.guild_id is None:
            return []
        jobs = await self.bot.services.jobs.suggest(
            interaction.guild_id, interaction.user.id, current, purpose=purpose, is_moderator=is_moderator
        )
        return [app_commands.Choice(name=clip(f"#{job.id} {job.title}", 100), value=job.id) for job in jobs]

    @job_view.autocomplete("job")
    async def job_view_job(self, interaction: Interaction, current: str) -> list[app_commands.Choice[int]]:
        return await self._suggest(interaction, current, "view")

    @job_apply.autocomplete("job")
    async def job_apply_job(self, interaction: Interaction, current: str) -> list[app_commands.Choice[int]]:
        return await self._suggest(interaction, current, "apply")

    @job_withdraw.autocomplete("job")
    async def job_withdraw_job(self, interaction: Interaction, current: str) -> list[app_commands.Choice[int]]:
        return await self._suggest(interaction, current, "withdraw")

    @job_applications.autocomplete("job")
    async def job_applications_job(self, interaction: Interaction, current: str) -> list[app_commands.Choice[int]]:
        # a moderator may read the proposals of any job, as /job close may close it
        moderator = await autocomplete_moderator(interaction)
        return await self._suggest(interaction, current, "close", is_moderator=moderator)

    @job_close.autocomplete("job")
    async def job_close_job(self, interaction: Interaction, current: str) -> list[app_commands.Choice[int]]:
        moderator = await autocomplete_moderator(interaction)
        return await self._suggest(interaction, current, "close", is_moderator=moderator)

    @job_list.autocomplete("category")
    async def job_category(self, interaction: Interaction, current: str) -> list[app_commands.Choice[str]]:
        if interaction.guild_id is None:
            return []
        text = current.strip().casefold()
        names = await self.bot.services.jobs.categories(interaction.guild_id)
        return [app_commands.Choice(name=name, value=name) for name in names if text in name.casefold()][:25]

    @job_post.autocomplete("category")
    async def job_post_category(self, interaction: Interaction, current: str) -> list[app_commands.Choice[str]]:
        """The guild's list (/config categories): only those are accepted and become tags."""
        if interaction.guild_id is None:
            return []
        text = current.strip().casefold()
        names = await self.bot.services.guilds.categories(interaction.guild_id)
        return [app_commands.Choice(name=name, value=name) for name in names if text in name.casefold()][:25]


def application_entry(job: Job, application: Application, figures: str, language: object) -> str:
    proposal = clip(application.proposal, PROPOSAL_PREVIEW).replace("\n", "\n> ")
    days = (
        t(language, "ui.job.days", days=application.days)
        if application.days is not None
        else t(language, "ui.job.days_job")
    )
    return t(
        language,
        "ui.job.application_entry",
        worker=f"<@{application.worker_id}>",
        price=format_money(application.price, job.currency, language),
        days=days,
        status=t(language, f"status.{application.status}"),
        figures=figures,
        proposal=proposal,
    )


async def setup(bot: MarketBot) -> None:
    await bot.add_cog(JobsCog(bot))
