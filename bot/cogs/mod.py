"""``/mod cases [status]``, ``/mod payout user amount reference``, ``/mod balance [user]``,
``/mod suspend user duration reason``, ``/mod unsuspend user`` (moderators). Case cards and
their buttons live in bot/ui/case_cards.py."""

from __future__ import annotations

from typing import TYPE_CHECKING

import discord
from discord import app_commands
from discord.ext import commands

from bot.checks import autocomplete_moderator, is_moderator, is_moderator_member
from bot.i18n import has, t
from bot.models.entities import Case
from bot.services.suspensions import Target
from bot.ui.balances import guild_balance_pages, user_balance_text
from bot.ui.case_cards import card_link, kind_word
from bot.ui.format import format_money, format_relative, format_time
from bot.ui.paginator import Paginator, pages_of_lines

if TYPE_CHECKING:
    from bot.app import MarketBot

Interaction = discord.Interaction["MarketBot"]

MAX_LENGTH = 2000
REFERENCE_LIMIT = 200
SUSPEND_REASON_LIMIT = 500

# Choice values are unique words (the catalogue keys them as choice.<value>).
CASE_STATUS_CHOICES = [
    app_commands.Choice(name="Open cases", value="cases_open"),
    app_commands.Choice(name="Resolved cases", value="cases_resolved"),
    app_commands.Choice(name="All cases", value="cases_all"),
]
CASE_STATUS = {"cases_open": "open", "cases_resolved": "resolved", "cases_all": None}


def case_line(locale: object, case: Case, guild_id: int, mod_channel_id: int) -> str:
    link = (
        card_link(guild_id, mod_channel_id, case.mod_message_id)
        if case.mod_message_id is not None
        else t(locale, "ui.mod.no_card")
    )
    return t(
        locale,
        "ui.mod.case_line",
        case_id=case.id,
        kind=kind_word(locale, case.reason_kind),
        contract=f"#{case.contract_id}" if case.contract_id is not None else "-",
        status=t(locale, f"status.{case.status}") if has(f"status.{case.status}") else case.status,
        opened=format_relative(case.created_at),
        link=link,
    )


@app_commands.guild_only()
class ModCog(commands.GroupCog, group_name="mod", group_description="Moderator tools: cases, payouts, balances"):
    def __init__(self, bot: MarketBot) -> None:
        self.bot = bot
        super().__init__()

    @app_commands.command(name="cases", description="List the moderator cases, with links to their cards")
    @app_commands.describe(status="Which cases to list (open by default)")
    @app_commands.choices(status=CASE_STATUS_CHOICES)
    @is_moderator()
    async def mod_cases(self, interaction: Interaction, status: app_commands.Choice[str] | None = None) -> None:
        assert interaction.guild_id is not None
        services = self.bot.services
        guild = await services.guilds.require(interaction.guild_id)
        cases = await services.cases.list(
            interaction.guild_id, CASE_STATUS[status.value] if status else "open", viewer_id=interaction.user.id
        )
        lines = [case_line(interaction.locale, case, guild.guild_id, guild.mod_channel_id) for case in cases]
        pages = pages_of_lines(t(interaction.locale, "ui.mod.cases_header", count=len(cases)), lines,
                               empty=t(interaction.locale, "ui.mod.no_cases"))
        await Paginator(interaction.user.id, pages, interaction.locale).send(interaction)

    @app_commands.command(name="payout", description="Record a payout you made to a user outside the bot")
    @app_commands.describe(
        user="Who was paid",
        amount="How much was paid, in the currency it was owed in",
        reference="The transfer's reference (bank or payment id)",
        currency="The currency paid (needed when the user is owed in several)",
    )
    @is_moderator()
    async def mod_payout(
        self,
        interaction: Interaction,
        user: discord.User,
        amount: float,
        reference: app_commands.Range[str, 1, REFERENCE_LIMIT],
        currency: app_commands.Range[str, 1, 8] | None = None,
    ) -> None:
        assert interaction.guild_id is not None
        services = self.bot.services
        balance = await services.escrow.record_payout(
            interaction.guild_id,
            moderator_id=interaction.user.id,
            user_id=user.id,
            amount=amount,
            reference=reference,
            request_id=str(interaction.id),
            currency=currency,
        )
        details = await services.profiles.payout_details(
            interaction.guild_id, user.id, viewer_id=interaction.user.id, viewer_is_moderator=True
        )
        locale = interaction.locale
        text = t(
            locale,
            "ui.mod.payout_done",
            user=user.mention,
            reference=reference,
            owed=format_money(balance.total_owed, balance.currency, locale),
            details=details or t(locale, "ui.mod.no_payout_details"),
        )
        await interaction.response.send_message(text, ephemeral=True, allowed_mentions=discord.AllowedMentions.none())

    @mod_payout.autocomplete("currency")
    async def payout_currency(self, interaction: Interaction, current: str) -> list[app_commands.Choice[str]]:
        """The currencies the chosen user is owed in, with the amount (moderators only)."""
        user = getattr(interaction.namespace, "user", None)
        user_id = getattr(user, "id", None)
        if interaction.guild_id is None or user_id is None or not await autocomplete_moderator(interaction):
            return []
        owed = await self.bot.services.escrow.owed_currencies(interaction.guild_id, int(user_id))
        return [
            app_commands.Choice(name=f"{b.currency} · {format_money(b.total_owed, b.currency, interaction.locale)}",
                                value=b.currency)
            for b in owed
            if current.strip().upper() in b.currency
        ][:25]

    @app_commands.command(name="balance", description="What is owed to a user, or the server's totals")
    @app_commands.describe(user="The user (leave empty for the server's totals)")
    @is_moderator()
    async def mod_balance(self, interaction: Interaction, user: discord.User | None = None) -> None:
        assert interaction.guild_id is not None
        escrow = self.bot.services.escrow
        locale = interaction.locale
        if user is not None:
            text = user_balance_text(locale, user.mention, await escrow.balances(interaction.guild_id, user.id))
            await interaction.response.send_message(text, ephemeral=True,
                                                    allowed_mentions=discord.AllowedMentions.none())
            return
        pages = guild_balance_pages(locale, await escrow.balances(interaction.guild_id),
                                    await escrow.owed_list(interaction.guild_id))
        await Paginator(interaction.user.id, pages, locale).send(interaction)

    @app_commands.command(name="suspend", description="Stop a user posting jobs and applying for a time")
    @app_commands.describe(
        user="The user to suspend",
        duration="For how long, e.g. 12h, 3d or 1w",
        reason="Why: the user is shown it",
    )
    @is_moderator()
    async def mod_suspend(
        self,
        interaction: Interaction,
        user: discord.User,
        duration: app_commands.Range[str, 1, 16],
        reason: app_commands.Range[str, 1, SUSPEND_REASON_LIMIT],
    ) -> None:
        assert interaction.guild_id is not None
        target = Target(user.id, is_bot=user.bot, is_moderator=await is_moderator_member(self.bot, user))
        suspension = await self.bot.services.suspensions.suspend(
            interaction.guild_id, moderator_id=interaction.user.id, target=target, duration=duration, reason=reason
        )
        text = t(interaction.locale, "ui.mod.suspension.done", user=user.mention,
                 ends_at=format_time(suspension.ends_at))  # fmt: skip
        await interaction.response.send_message(text, ephemeral=True, allowed_mentions=discord.AllowedMentions.none())

    @app_commands.command(name="unsuspend", description="End a user's suspension now")
    @app_commands.describe(user="The suspended user")
    @is_moderator()
    async def mod_unsuspend(self, interaction: Interaction, user: discord.User) -> None:
        assert interaction.guild_id is not None
        await self.bot.services.suspensions.unsuspend(
            interaction.guild_id, moderator_id=interaction.user.id, user_id=user.id
        )
        text = t(interaction.locale, "ui.mod.suspension.lifted", user=user.mention)
        await interaction.response.send_message(text, ephemeral=True, allowed_mentions=discord.AllowedMentions.none())


async def setup(bot: MarketBot) -> None:
    await bot.add_cog(ModCog(bot))
