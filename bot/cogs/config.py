"""``/config show``, ``/config set name value``: the guild's policies, and ``/config categories``:
the job categories that may become forum tags (moderators)."""

from __future__ import annotations

from typing import TYPE_CHECKING

import discord
from discord import app_commands
from discord.ext import commands

from bot.checks import is_moderator
from bot.i18n import t
from bot.models.durations import format_duration
from bot.models.policies import POLICY_SPECS

if TYPE_CHECKING:
    from bot.app import MarketBot

Interaction = discord.Interaction["MarketBot"]


@app_commands.guild_only()
class ConfigCog(commands.GroupCog, group_name="config", group_description="Marketplace policies (moderators)"):
    def __init__(self, bot: MarketBot) -> None:
        self.bot = bot
        super().__init__()

    @app_commands.command(name="show", description="Show every policy and its value")
    @is_moderator()
    async def config_show(self, interaction: Interaction) -> None:
        assert interaction.guild_id is not None
        views = await self.bot.services.guilds.list_policies(interaction.guild_id)
        lines = [t(interaction.locale, "config.show_header")]
        for view in views:
            key = "config.show_changed" if view.overridden else "config.show_default"
            lines.append(t(interaction.locale, key, name=view.name, value=view.value, default=view.default))
        categories = await self.bot.services.guilds.categories(interaction.guild_id)
        lines.append(categories_line(interaction.locale, categories))
        await interaction.response.send_message("\n".join(lines), ephemeral=True)

    @app_commands.command(name="categories", description="Set the job categories (comma-separated; - clears)")
    @app_commands.describe(categories="e.g. design, translation, video; only these become forum tags")
    @is_moderator()
    async def config_categories(self, interaction: Interaction, categories: app_commands.Range[str, 1, 500]) -> None:
        assert interaction.guild_id is not None
        names = await self.bot.services.guilds.set_categories(
            interaction.guild_id, categories, actor_id=interaction.user.id
        )
        text = t(interaction.locale, "config.abuse.categories_done", categories=", ".join(names)) if names else t(
            interaction.locale, "config.abuse.categories_cleared"
        )
        await interaction.response.send_message(text, ephemeral=True, allowed_mentions=discord.AllowedMentions.none())

    @app_commands.command(name="set", description="Change one policy")
    @app_commands.describe(name="The policy to change", value="The new value, e.g. 3d, 12h, 10")
    @is_moderator()
    async def config_set(
        self,
        interaction: Interaction,
        name: app_commands.Range[str, 1, 64],
        value: app_commands.Range[str, 1, 32],
    ) -> None:
        assert interaction.guild_id is not None
        canonical = await self.bot.services.guilds.set_policy(
            interaction.guild_id, name, value, actor_id=interaction.user.id
        )
        tick = format_duration(self.bot.settings.scheduler_tick)
        text = t(interaction.locale, "config.set_done", name=name.strip().lower(), value=canonical, tick=tick)
        await interaction.response.send_message(text, ephemeral=True)

    @config_set.autocomplete("name")
    async def config_set_name(self, interaction: Interaction, current: str) -> list[app_commands.Choice[str]]:
        text = current.strip().lower()
        return [
            app_commands.Choice(name=f"{spec.name} ({spec.kind.value})", value=spec.name)
            for spec in POLICY_SPECS.values()
            if text in spec.name
        ][:25]


def categories_line(locale: object, categories: list[str]) -> str:
    if not categories:
        return t(locale, "config.abuse.categories_none")
    return t(locale, "config.abuse.categories_show", categories=", ".join(categories))


async def setup(bot: MarketBot) -> None:
    await bot.add_cog(ConfigCog(bot))
