"""``/profile view | edit | payout | balance | delete``: the public profile with its reputation
figures, edited in a modal; private payout details; one's own money; deleting one's personal data.

Payout details are only ever shown to their owner (prefilled in their own modal) and are
never echoed in a reply; moderators see them through the moderator tools.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

import discord
from discord import app_commands
from discord.ext import commands

from bot.i18n import t
from bot.models.entities import Profile
from bot.models.timeutil import known_zones
from bot.services.common import LIMITS
from bot.services.profiles import PROFILE_FIELDS
from bot.services.reputation import Figures, Review
from bot.tree import report_error
from bot.ui.balances import my_money_pages
from bot.ui.job_board import client_details, worker_details
from bot.ui.modals import MarketModal
from bot.ui.paginator import Paginator
from bot.ui.payment_buttons import send_onboarding

if TYPE_CHECKING:
    from bot.app import MarketBot

log = logging.getLogger(__name__)

Interaction = discord.Interaction["MarketBot"]

NO_MENTIONS = discord.AllowedMentions.none()
DELETE_TIMEOUT = 120.0
# Long fields are paragraphs; the rest one line.
PARAGRAPHS = frozenset({"bio", "skills"})


@app_commands.guild_only()
class ProfileCog(commands.GroupCog, group_name="profile", group_description="Your marketplace profile"):
    def __init__(self, bot: MarketBot) -> None:
        self.bot = bot
        super().__init__()

    @app_commands.command(name="view", description="Show a profile with its reputation figures")
    @app_commands.describe(user="Whose profile (default: yours)")
    async def profile_view(self, interaction: Interaction, user: discord.Member | None = None) -> None:
        assert interaction.guild_id is not None
        member = user or interaction.user
        services = self.bot.services
        profile = await services.profiles.get(interaction.guild_id, member.id)
        figures = await services.reputation.figures(interaction.guild_id, member.id)
        reviews = await services.reputation.recent_reviews(interaction.guild_id, member.id)
        own = member.id == interaction.user.id
        embed = profile_embed(member, profile, figures, interaction.locale, own=own, reviews=reviews)
        await interaction.response.send_message(embed=embed, ephemeral=True, allowed_mentions=NO_MENTIONS)

    @app_commands.command(name="edit", description="Edit your public profile")
    @app_commands.describe(timezone="Your time zone for deadline dates, e.g. Asia/Tokyo (set it alone, no form)")
    async def profile_edit(
        self, interaction: Interaction, timezone: app_commands.Range[str, 1, 64] | None = None
    ) -> None:
        assert interaction.guild_id is not None
        if timezone is not None:
            zone = await self.bot.services.profiles.set_timezone(interaction.guild_id, interaction.user.id, timezone)
            text = t(interaction.locale, "ui.profile.timezone_set", zone=zone)
            await interaction.response.send_message(text, ephemeral=True, allowed_mentions=NO_MENTIONS)
            return
        profile = await self.bot.services.profiles.get(interaction.guild_id, interaction.user.id)
        await interaction.response.send_modal(ProfileModal(interaction.guild_id, profile, interaction.locale))

    @profile_edit.autocomplete("timezone")
    async def timezone_names(self, interaction: Interaction, current: str) -> list[app_commands.Choice[str]]:
        wanted = current.strip().casefold()
        found = [zone for zone in known_zones() if wanted in zone.casefold()][:25]
        return [app_commands.Choice(name=zone, value=zone) for zone in found]

    @app_commands.command(name="payout", description="Set your private payout details")
    async def profile_payout(self, interaction: Interaction) -> None:
        assert interaction.guild_id is not None
        if await self.bot.services.payments.provider(interaction.guild_id) == "stripe":
            await send_onboarding(interaction, interaction.guild_id)
            return
        user_id = interaction.user.id
        current = await self.bot.services.profiles.payout_details(
            interaction.guild_id, user_id, viewer_id=user_id, viewer_is_moderator=False
        )
        await interaction.response.send_modal(PayoutModal(interaction.guild_id, current, interaction.locale))

    @app_commands.command(name="balance", description="Your money here: owed to you, paid out, in escrow, refunds owed")
    async def profile_balance(self, interaction: Interaction) -> None:
        assert interaction.guild_id is not None
        money = await self.bot.services.escrow.my_money(interaction.guild_id, interaction.user.id)
        await Paginator(interaction.user.id, my_money_pages(interaction.locale, money), interaction.locale).send(
            interaction
        )

    @app_commands.command(name="delete", description="Delete your profile and payout details")
    async def profile_delete(self, interaction: Interaction) -> None:
        assert interaction.guild_id is not None
        view = DeleteProfileView(interaction.guild_id, interaction.user.id, interaction.locale)
        view.interaction = interaction
        text = t(interaction.locale, "ui.profile.delete_confirm")
        await interaction.response.send_message(text, view=view, ephemeral=True)


def profile_embed(
    member: discord.abc.User,
    profile: Profile | None,
    figures: Figures,
    language: object,
    *,
    own: bool,
    reviews: Sequence[Review] = (),
) -> discord.Embed:
    name = profile.display_name if profile is not None and profile.display_name else member.display_name
    embed = discord.Embed(title=name, colour=discord.Colour.blurple())
    embed.set_author(name=f"@{member.name}")
    parts = []
    if profile is not None and profile.headline:
        parts.append(f"**{profile.headline}**")
    if profile is not None and profile.bio:
        parts.append(profile.bio)
    if not parts:
        key = "ui.profile.empty_own" if own else "ui.profile.empty_other"
        parts.append(t(language, key, user=member.mention))
    embed.description = "\n\n".join(parts)
    if profile is not None and profile.skills:
        embed.add_field(name=t(language, "ui.profile.field.skills"), value=profile.skills, inline=False)
    if profile is not None and profile.portfolio_url:
        embed.add_field(name=t(language, "ui.profile.field.portfolio_url"), value=profile.portfolio_url, inline=False)
    embed.add_field(name=t(language, "ui.profile.as_client"), value=client_details(figures.client, language))
    embed.add_field(name=t(language, "ui.profile.as_worker"), value=worker_details(figures.worker, language))
    if reviews:
        lines = [
            t(language, f"ui.profile.review_as_{r.as_role}", stars="★" * r.stars, comment=r.comment[:200],
              contract_id=r.contract_id)
            for r in reviews
        ]  # fmt: skip
        embed.add_field(name=t(language, "ui.profile.reviews"), value="\n".join(lines)[:1024], inline=False)
    return embed


class ProfileModal(MarketModal):
    """Every public field, prefilled with the current value; empty clears a field."""

    def __init__(self, guild_id: int, profile: Profile | None, language: object) -> None:
        super().__init__(title=t(language, "ui.profile.edit_title"), custom_id="profile_edit")
        self.guild_id = guild_id
        self.inputs: dict[str, discord.ui.TextInput[ProfileModal]] = {}
        for name in PROFILE_FIELDS:
            current = getattr(profile, name) if profile is not None else None
            text_input: discord.ui.TextInput[ProfileModal] = discord.ui.TextInput(
                label=t(language, f"ui.profile.field.{name}"),
                placeholder=t(language, f"ui.profile.placeholder.{name}"),
                style=discord.TextStyle.paragraph if name in PARAGRAPHS else discord.TextStyle.short,
                custom_id=name,
                required=False,
                max_length=LIMITS[name],
                default=current,
            )
            self.inputs[name] = text_input
            self.add_item(text_input)

    async def on_submit(self, interaction: Interaction) -> None:  # type: ignore[override]
        values = {name: text_input.value for name, text_input in self.inputs.items()}
        await interaction.client.services.profiles.edit(self.guild_id, interaction.user.id, **values)
        await interaction.response.send_message(t(interaction.locale, "ui.profile.saved"), ephemeral=True)


class PayoutModal(MarketModal):
    """The private payout details; prefilled for their owner only."""

    def __init__(self, guild_id: int, current: str | None, language: object) -> None:
        super().__init__(title=t(language, "ui.profile.payout_title"), custom_id="profile_payout")
        self.guild_id = guild_id
        self.details: discord.ui.TextInput[PayoutModal] = discord.ui.TextInput(
            label=t(language, "ui.profile.payout_label"),
            placeholder=t(language, "ui.profile.payout_placeholder"),
            style=discord.TextStyle.paragraph,
            custom_id="details",
            max_length=LIMITS["payout"],
            default=current,
        )
        self.add_item(self.details)

    async def on_submit(self, interaction: Interaction) -> None:  # type: ignore[override]
        await interaction.client.services.profiles.set_payout(self.guild_id, interaction.user.id, self.details.value)
        await interaction.response.send_message(t(interaction.locale, "ui.profile.payout_saved"), ephemeral=True)


class DeleteProfileView(discord.ui.View):
    """Delete / Keep, for the user who ran /profile delete."""

    def __init__(self, guild_id: int, owner_id: int, language: object) -> None:
        super().__init__(timeout=DELETE_TIMEOUT)
        self.guild_id = guild_id
        self.owner_id = owner_id
        self.language = language
        self.interaction: Interaction | None = None
        self.confirm.label = t(language, "button.profile.delete")
        self.keep.label = t(language, "button.profile.keep")

    async def interaction_check(self, interaction: Interaction) -> bool:  # type: ignore[override]
        await interaction.client.note_locale(interaction)
        return interaction.user.id == self.owner_id

    @discord.ui.button(label="Delete", custom_id="profile_delete:confirm", style=discord.ButtonStyle.danger)
    async def confirm(self, interaction: Interaction, button: discord.ui.Button[DeleteProfileView]) -> None:
        self.stop()
        deleted = await interaction.client.services.profiles.delete(self.guild_id, interaction.user.id)
        key = "ui.profile.deleted" if deleted else "ui.profile.nothing_to_delete"
        await interaction.response.edit_message(content=t(interaction.locale, key), view=None)

    @discord.ui.button(label="Keep", custom_id="profile_delete:keep", style=discord.ButtonStyle.secondary)
    async def keep(self, interaction: Interaction, button: discord.ui.Button[DeleteProfileView]) -> None:
        self.stop()
        await interaction.response.edit_message(content=t(interaction.locale, "ui.profile.delete_cancelled"), view=None)

    async def on_timeout(self) -> None:
        if self.interaction is None:
            return
        try:
            await self.interaction.edit_original_response(
                content=t(self.language, "ui.profile.delete_expired"), view=None
            )
        except discord.HTTPException as error:
            log.debug("could not expire the delete confirmation: %s", error)

    async def on_error(  # type: ignore[override]
        self, interaction: Interaction, error: Exception, item: discord.ui.Item[Any], /
    ) -> None:
        await report_error(interaction, error)


async def setup(bot: MarketBot) -> None:
    await bot.add_cog(ProfileCog(bot))
