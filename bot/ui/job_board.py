"""The job board: one post per job in the guild's jobs channel, and how a job is shown.

The ``board`` outbox target (bot/notifications/dispatcher.py) is handled by :class:`JobBoard`; the jobs
cog registers it. Services write a ``board`` row whenever a job is posted, closed, filled
or reopened; the handler renders the job *as it is now* (so rows are idempotent) and:

- posts it, if the job has no post yet: in a forum channel one thread per job, tagged with
  its category when the category is on the guild's list (/config categories; the tag is
  created if missing and the bot may: users cannot make tags of their own), else one embed
  message;
- edits the post otherwise: status shown, the Apply button only while the job is open; a
  forum thread is locked and archived when the job is closed or filled (and reopened when
  a filled job opens again).

The post is stored with ``services.jobs.set_board_message`` (for a forum: the thread id as
the channel and the starter message id). Nothing is awaited inside a transaction.

Shared helpers for other features: :func:`client_line` / :func:`worker_line` (a party's
reputation figures on one line, as on a job post or a contract offer), the multi-line
:func:`client_details` / :func:`worker_details`, and :func:`human_duration`.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from datetime import timedelta
from typing import TYPE_CHECKING

import discord

from bot.errors import NotFound
from bot.i18n import language_of, t
from bot.models.entities import Job
from bot.models.states import JobStatus
from bot.notifications.dispatcher import Undeliverable
from bot.services.reputation import ClientFigures, Figures, WorkerFigures
from bot.ui.buttons import build_view
from bot.ui.format import format_money

if TYPE_CHECKING:
    from bot.app import MarketBot
    from bot.models.entities import OutboxItem

log = logging.getLogger(__name__)

NO_MENTIONS = discord.AllowedMentions.none()
MAX_TAG_NAME = 20
MAX_TAGS = 20
THREAD_NAME = 100
EMBED_TITLE = 256
EMBED_DESCRIPTION = 4096
COLOURS = {
    JobStatus.OPEN: discord.Colour.green(),
    JobStatus.FILLED: discord.Colour.blurple(),
    JobStatus.CLOSED: discord.Colour.dark_grey(),
}


def clip(text: str, limit: int) -> str:
    return text if len(text) <= limit else text[: limit - 1] + "…"


# -- figures -------------------------------------------------------------------------


def human_duration(value: timedelta | None, language: object) -> str:
    """``1d 6h`` / ``1日6時間``: the two largest units; ``—`` for no value."""
    if value is None:
        return t(language, "ui.job.none")
    minutes = int(value.total_seconds() // 60)
    if minutes < 1:
        return t(language, "ui.duration.under_minute")
    days, rest = divmod(minutes, 24 * 60)
    hours, minutes = divmod(rest, 60)
    if days:
        key = "ui.duration.days_hours" if hours else "ui.duration.days"
    elif hours:
        key = "ui.duration.hours_minutes" if minutes else "ui.duration.hours"
    else:
        key = "ui.duration.minutes"
    return t(language, key, days=days, hours=hours, minutes=minutes)


def rating_text(average: float | None, count: int, language: object) -> str:
    if average is None:
        return t(language, "ui.figures.no_rating")
    return t(language, "ui.figures.rating", average=f"{average:.1f}", count=count)


def _on_time(rate: float | None, language: object) -> str:
    return t(language, "ui.job.none") if rate is None else f"{round(rate * 100)}%"


def _client_args(figures: ClientFigures, language: object) -> dict[str, object]:
    return {
        "jobs": figures.jobs_posted,
        "completed": figures.completed,
        "cancelled": figures.cancelled,
        "fund": human_duration(figures.median_time_to_fund, language),
        "review": human_duration(figures.median_time_to_review, language),
        "escalations": figures.escalations,
        "reverts": figures.reverts,
        "rating": rating_text(figures.average_rating, figures.ratings, language),
    }


def _worker_args(figures: WorkerFigures, language: object) -> dict[str, object]:
    return {
        "completed": figures.completed,
        "on_time": _on_time(figures.on_time_rate, language),
        "rating": rating_text(figures.average_rating, figures.ratings, language),
    }


def client_line(figures: ClientFigures | Figures, language: object) -> str:
    """A client's reputation on one line (job posts, contract offers, case cards)."""
    client = figures.client if isinstance(figures, Figures) else figures
    return t(language, "ui.figures.client_line", **_client_args(client, language)) + _upheld(client, language)


def worker_line(figures: WorkerFigures | Figures, language: object) -> str:
    """A worker's reputation on one line (the proposals on a job)."""
    worker = figures.worker if isinstance(figures, Figures) else figures
    return t(language, "ui.figures.worker_line", **_worker_args(worker, language)) + _upheld(worker, language)


def _upheld(figures: ClientFigures | WorkerFigures, language: object) -> str:
    """`` · reports upheld 2``, only when there is one (most people have none)."""
    if not figures.reports_upheld:
        return ""
    return " · " + t(language, "ui.figures.reports_upheld", count=figures.reports_upheld)


def client_details(figures: ClientFigures, language: object) -> str:
    """The client figures, one per line (profiles)."""
    details = t(language, "ui.figures.client_details", **_client_args(figures, language))
    if figures.reports_upheld:
        details += "\n" + t(language, "ui.figures.reports_upheld_detail", count=figures.reports_upheld)
    return details


def worker_details(figures: WorkerFigures, language: object) -> str:
    return t(language, "ui.figures.worker_details", **_worker_args(figures, language))


# -- a job ---------------------------------------------------------------------------


def deadline_text(job: Job, language: object, *, short: bool = False) -> str:
    deadline = job.deadline
    if deadline.days is not None:
        key = "ui.job.deadline_days_short" if short else "ui.job.deadline_days"
        return t(language, key, days=deadline.days)
    assert deadline.on is not None
    key = "ui.job.deadline_date_short" if short else "ui.job.deadline_date"
    return t(language, key, date=deadline.on.isoformat())


def status_text(job: Job, language: object) -> str:
    return t(language, f"status.{job.status}")


def job_embed(job: Job, client: ClientFigures, language: object) -> discord.Embed:
    """The job as on the board: everything a worker needs before applying."""
    embed = discord.Embed(
        title=clip(f"#{job.id} {job.title}", EMBED_TITLE),
        description=clip(job.description, EMBED_DESCRIPTION),
        colour=COLOURS.get(job.status, discord.Colour.default()),
        timestamp=job.created_at,
    )
    embed.add_field(name=t(language, "ui.job.embed.budget"), value=format_money(job.budget, job.currency, language))
    embed.add_field(name=t(language, "ui.job.embed.deadline"), value=deadline_text(job, language))
    embed.add_field(
        name=t(language, "ui.job.embed.positions"),
        value=t(language, "ui.job.positions", filled=job.filled, positions=job.positions),
    )
    embed.add_field(name=t(language, "ui.job.embed.category"), value=job.category or t(language, "ui.job.none"))
    embed.add_field(name=t(language, "ui.job.embed.status"), value=status_text(job, language))
    embed.add_field(
        name=t(language, "ui.job.embed.client"),
        value=f"<@{job.client_id}>\n{client_line(client, language)}",
        inline=False,
    )
    return embed


def apply_view(job: Job, language: object) -> discord.ui.View | None:
    """The persistent Apply button (``cw:job:<id>:apply``) while the job is open."""
    if job.status != JobStatus.OPEN:
        return None
    return build_view([f"job:{job.id}:apply"], language_of(language))


def list_line(job: Job, language: object) -> str:
    return t(
        language,
        "ui.job.list_line",
        job_id=job.id,
        title=job.title,
        budget=format_money(job.budget, job.currency, language),
        deadline=deadline_text(job, language, short=True),
        category=job.category or t(language, "ui.job.none"),
        status=status_text(job, language),
    )


def board_url(job: Job) -> str | None:
    if job.board_channel_id is None or job.board_message_id is None:
        return None
    return f"https://discord.com/channels/{job.guild_id}/{job.board_channel_id}/{job.board_message_id}"


# -- the board handler ---------------------------------------------------------------


class JobBoard:
    """Sends ``board`` outbox rows: posts or updates a job's post. Returns the message id."""

    def __init__(self, bot: MarketBot) -> None:
        self.bot = bot

    async def handle(self, item: OutboxItem) -> int | None:
        if item.job_id is None:
            raise Undeliverable("board row without a job")
        services = self.bot.services
        guild = await services.guilds.get(item.guild_id)
        if guild is None:
            raise Undeliverable("the guild is not set up: no jobs channel")
        try:
            job = await services.jobs.get(item.guild_id, item.job_id)
        except NotFound:
            raise Undeliverable(f"job {item.job_id} does not exist in guild {item.guild_id}") from None
        language = language_of(guild.locale)
        figures = await services.reputation.client_figures(job.guild_id, job.client_id)
        embed = job_embed(job, figures, language)
        if job.board_channel_id is not None and job.board_message_id is not None:
            edited = await self._edit(job, embed, language)
            if edited is not None:
                return edited
        if job.status != JobStatus.OPEN:
            # never shown (closed before its first post) or its post was deleted: nothing to add
            log.info("job %s is %s and has no board post; not posting it", job.id, job.status)
            return None
        return await self._post(job, guild.jobs_channel_id, embed, language, after_id=item.attempt_after_id)

    async def _earlier_post(self, job: Job, channel: discord.ForumChannel | discord.TextChannel,
                            after_id: int) -> tuple[int, int] | None:
        """The job's post made by an earlier attempt, as (channel or thread id, message id):
        in a text channel a message of the bot's since ``after_id`` carrying this job's Apply
        button (its custom id names the job); in a forum a thread the bot opened named
        ``#<job id> …`` (a forum post's starter message has the thread's id)."""
        me = self.bot.user
        if me is None:
            return None
        apply_id = f"cw:job:{job.id}:apply"
        try:
            if isinstance(channel, discord.TextChannel):
                async for message in channel.history(limit=50, after=discord.Object(after_id)):
                    if message.author.id == me.id and any(
                        getattr(child, "custom_id", None) == apply_id
                        for row in message.components for child in getattr(row, "children", [])
                    ):
                        return channel.id, message.id
                return None
            threads = [t for t in await channel.guild.active_threads() if t.parent_id == channel.id]
        except discord.HTTPException as error:  # no history access: post (a duplicate is possible)
            log.warning("job %s: could not look for an earlier post in %s: %s", job.id, channel.id, error)
            return None
        for thread in threads:
            if thread.owner_id == me.id and thread.id > after_id and thread.name.startswith(f"#{job.id} "):
                return thread.id, thread.id
        return None

    async def _channel(self, channel_id: int) -> discord.abc.GuildChannel | discord.Thread | None:
        channel = self.bot.get_channel(channel_id)
        if channel is None:
            try:
                fetched = await self.bot.fetch_channel(channel_id)
            except discord.NotFound:
                return None
            channel = fetched
        if isinstance(channel, discord.abc.GuildChannel | discord.Thread):
            return channel
        return None

    async def _post(self, job: Job, channel_id: int, embed: discord.Embed, language: str, *,
                    after_id: int | None = None) -> int:
        """A new post for an open job. ``after_id``: an earlier attempt of this row may have
        posted it already (the process died before the post was recorded): a post found since
        that moment is adopted and refreshed instead of posting the job twice."""
        channel = await self._channel(channel_id)
        view = build_view([f"job:{job.id}:apply"], language)
        assert view is not None
        if after_id is not None and isinstance(channel, discord.ForumChannel | discord.TextChannel):
            found = await self._earlier_post(job, channel, after_id)
            if found is not None:
                where, message_id = found
                await self.bot.services.jobs.set_board_message(job.id, where, message_id)
                log.info("job %s: its post %s from an interrupted attempt is kept", job.id, message_id)
                refreshed = await self._edit(await self.bot.services.jobs.get(job.guild_id, job.id), embed, language)
                return refreshed if refreshed is not None else message_id
        if isinstance(channel, discord.ForumChannel):
            allowed = await self.bot.services.guilds.categories(job.guild_id)
            listed = job.category is not None and job.category.casefold() in {n.casefold() for n in allowed}
            tag = await self._tag(channel, job.category) if listed else None
            thread, message = await channel.create_thread(
                name=clip(f"#{job.id} {job.title}", THREAD_NAME),
                embed=embed,
                view=view,
                applied_tags=[tag] if tag is not None else [],
                allowed_mentions=NO_MENTIONS,
            )
            await self.bot.services.jobs.set_board_message(job.id, thread.id, message.id)
            log.info("job %s posted on the forum %s as thread %s", job.id, channel.id, thread.id)
            return message.id
        if not isinstance(channel, discord.TextChannel):
            raise Undeliverable(f"the jobs channel {channel_id} is not a text or forum channel")
        posted = await channel.send(embed=embed, view=view, allowed_mentions=NO_MENTIONS)
        await self.bot.services.jobs.set_board_message(job.id, channel.id, posted.id)
        log.info("job %s posted in channel %s as message %s", job.id, channel.id, posted.id)
        return posted.id

    async def _edit(self, job: Job, embed: discord.Embed, language: str) -> int | None:
        """Update the existing post; None if it no longer exists."""
        assert job.board_channel_id is not None and job.board_message_id is not None
        channel = await self._channel(job.board_channel_id)
        if not isinstance(channel, discord.Thread | discord.TextChannel):
            return None
        is_open = job.status == JobStatus.OPEN
        if isinstance(channel, discord.Thread) and (channel.archived or channel.locked):
            # a filled job reopened, or a thread Discord archived for inactivity: a message in
            # an archived thread cannot be edited
            await channel.edit(archived=False, locked=False)
        try:
            await channel.get_partial_message(job.board_message_id).edit(
                embed=embed, view=apply_view(job, language), allowed_mentions=NO_MENTIONS
            )
        except discord.NotFound:
            log.warning("job %s: board message %s is gone", job.id, job.board_message_id)
            return None
        if isinstance(channel, discord.Thread) and not is_open:
            await channel.edit(archived=True, locked=True)
        log.info("job %s: board post %s updated (%s)", job.id, job.board_message_id, job.status)
        return job.board_message_id

    async def _tag(self, forum: discord.ForumChannel, category: str | None) -> discord.ForumTag | None:
        """The forum tag for the category, created if missing and possible; None otherwise."""
        if not category:
            return None
        name = clip(category, MAX_TAG_NAME)
        found = _find_tag(forum.available_tags, name)
        if found is not None:
            return found
        if len(forum.available_tags) >= MAX_TAGS or not forum.permissions_for(forum.guild.me).manage_channels:
            log.info("forum %s: cannot add a tag for category %r", forum.id, name)
            return None
        try:
            edited = await forum.edit(available_tags=[*forum.available_tags, discord.ForumTag(name=name)])
        except discord.HTTPException as error:
            log.warning("forum %s: could not add the tag %r: %s", forum.id, name, error)
            return None
        tags = edited.available_tags if edited is not None else forum.available_tags
        return _find_tag(tags, name)


def _find_tag(tags: Sequence[discord.ForumTag], name: str) -> discord.ForumTag | None:
    wanted = name.casefold()
    return next((tag for tag in tags if tag.name.casefold() == wanted), None)
