"""Stripe's link buttons: "Pay ¥45,000" (the client's Checkout Session) and "Connect with
Stripe" (a worker's onboarding). Links expire, so they are sent in ephemeral answers made at
the click, never stored in a DM."""

from __future__ import annotations

from typing import TYPE_CHECKING

import discord

from bot.i18n import t
from bot.ui.contract_views import NO_MENTIONS
from bot.ui.format import format_money

if TYPE_CHECKING:
    from bot.app import MarketBot

    Interaction = discord.Interaction[MarketBot]


def link_view(label: str, url: str) -> discord.ui.View:
    view = discord.ui.View(timeout=None)
    view.add_item(discord.ui.Button(label=label[:80], url=url, style=discord.ButtonStyle.link))
    return view


async def send_checkout(interaction: Interaction, guild_id: int, contract_id: int) -> None:
    """Defer (Stripe is called), then answer with the payment link."""
    await interaction.response.defer(ephemeral=True, thinking=True)
    link = await interaction.client.services.payments.checkout(guild_id, contract_id, actor_id=interaction.user.id)
    locale = interaction.locale
    amount = format_money(link.amount, link.currency, locale)
    key = "stripe.ui.pay_topup" if link.kind == "topup" else "stripe.ui.pay"
    await interaction.followup.send(t(locale, key, contract_id=contract_id, amount=amount),
                                    view=link_view(t(locale, "stripe.button.pay", amount=amount), link.url),
                                    ephemeral=True, allowed_mentions=NO_MENTIONS)


async def send_onboarding(interaction: Interaction, guild_id: int) -> None:
    """``/profile payout`` on a Stripe server: a "Connect with Stripe" link to the worker's
    Express onboarding (an Account Link works once and for minutes: made at each use)."""
    await interaction.response.defer(ephemeral=True, thinking=True)
    url = await interaction.client.services.payments.onboarding_link(guild_id, interaction.user.id)
    locale = interaction.locale
    await interaction.followup.send(t(locale, "stripe.ui.onboard"), view=link_view(t(locale, "stripe.button.connect"),
                                    url), ephemeral=True, allowed_mentions=NO_MENTIONS)
