"""``/contract``: offer, accept, decline, view, list, history, amend, cancel, extend.

The contract thread, the offer DM's look and the pinned terms card's updates are the outbox
dispatcher's business (bot/notifications/).
"""

from __future__ import annotations

import io
from typing import TYPE_CHECKING

import discord
from discord import app_commands
from discord.ext import commands

from bot.checks import autocomplete_moderator, member_is_moderator
from bot.i18n import t
from bot.models.terms import MAX_REVISIONS
from bot.services.common import LIMITS
from bot.ui.contract_buttons import (
    AmendModal,
    accepted_text,
    amendment_proposed_text,
    declined_text,
    extension_requested_text,
)
from bot.ui.contract_views import (
    NO_MENTIONS,
    clip,
    contract_choice,
    history_filename,
    history_pages,
    list_pages,
    terms_embed,
)
from bot.ui.paginator import Page, Paginator

if TYPE_CHECKING:
    from bot.app import MarketBot

Interaction = discord.Interaction["MarketBot"]
Choices = list[app_commands.Choice[int]]

STATUS_CHOICES = [
    app_commands.Choice(name="Offered", value="offered"),
    app_commands.Choice(name="Awaiting the escrow deposit", value="awaiting_funding"),
    app_commands.Choice(name="Deposit waiting for confirmation", value="funding_submitted"),
    app_commands.Choice(name="In progress", value="active"),
    app_commands.Choice(name="Delivered", value="delivered"),
    app_commands.Choice(name="In dispute", value="disputed"),
    app_commands.Choice(name="Completed", value="completed"),
    app_commands.Choice(name="Refunded", value="refunded"),
    app_commands.Choice(name="Split", value="split"),
    app_commands.Choice(name="Cancelled", value="cancelled"),
    app_commands.Choice(name="Declined", value="declined"),
    app_commands.Choice(name="Expired", value="expired"),
    app_commands.Choice(name="Withdrawn", value="withdrawn"),
]

ContractId = app_commands.Range[int, 1]
Reason = app_commands.Range[str, 1, LIMITS["reason"]]
Scope = app_commands.Range[str, 1, LIMITS["scope"]]
Deadline = app_commands.Range[str, 1, 32]


@app_commands.guild_only()
class ContractsCog(
    commands.GroupCog, group_name="contract", group_description="Contracts between a client and a worker"
):
    def __init__(self, bot: MarketBot) -> None:
        self.bot = bot
        super().__init__()

    @app_commands.command(name="offer", description="Offer a contract to someone who applied to your job")
    @app_commands.describe(
        job="Your job",
        worker="The applicant you want to hire",
        price="The price in your server's currency (default: the applicant's proposal)",
        deadline="Delivery time: 7d (counted from the escrow confirmation) or a date YYYY-MM-DD",
        revisions="Revisions included (default 2)",
        scope="What is to be delivered (default: the job's title and description)",
    )
    async def contract_offer(
        self,
        interaction: Interaction,
        job: ContractId,
        worker: discord.Member,
        price: float | None = None,
        deadline: Deadline | None = None,
        revisions: app_commands.Range[int, 0, MAX_REVISIONS] | None = None,
        scope: Scope | None = None,
    ) -> None:
        assert interaction.guild_id is not None
        view = await self.bot.services.contracts.offer(
            interaction.guild_id,
            interaction.user.id,
            job,
            worker.id,
            price=price,
            deadline=deadline,
            revisions=revisions,
            scope=scope,
        )
        text = t(
            interaction.locale, "ui.contract.offered", contract_id=view.contract.id, job_id=job, worker=worker.mention
        )
        await interaction.response.send_message(
            text, embed=terms_embed(view, interaction.locale), ephemeral=True, allowed_mentions=NO_MENTIONS
        )

    @app_commands.command(name="accept", description="Accept a contract offered to you")
    @app_commands.describe(contract="The contract offered to you")
    async def contract_accept(self, interaction: Interaction, contract: ContractId) -> None:
        assert interaction.guild_id is not None
        view = await self.bot.services.contracts.accept(interaction.guild_id, contract, actor_id=interaction.user.id)
        text = accepted_text(view, interaction.locale, from_dm=False)
        await interaction.response.send_message(text, ephemeral=True, allowed_mentions=NO_MENTIONS)

    @app_commands.command(name="decline", description="Decline a contract offered to you")
    @app_commands.describe(contract="The contract offered to you", reason="Why (the client sees it)")
    async def contract_decline(
        self, interaction: Interaction, contract: ContractId, reason: Reason | None = None
    ) -> None:
        assert interaction.guild_id is not None
        declined = await self.bot.services.contracts.decline(
            interaction.guild_id, contract, actor_id=interaction.user.id, reason=reason
        )
        await interaction.response.send_message(
            declined_text(declined, interaction.locale), ephemeral=True, allowed_mentions=NO_MENTIONS
        )

    @app_commands.command(name="view", description="Show a contract and its current terms")
    @app_commands.describe(contract="The contract")
    async def contract_view(self, interaction: Interaction, contract: ContractId) -> None:
        assert interaction.guild_id is not None
        view = await self.bot.services.contracts.view(
            interaction.guild_id,
            contract,
            viewer_id=interaction.user.id,
            is_moderator=await member_is_moderator(interaction),
        )
        embed = terms_embed(view, interaction.locale, with_status=True)
        await interaction.response.send_message(embed=embed, ephemeral=True, allowed_mentions=NO_MENTIONS)

    @app_commands.command(name="list", description="List your contracts")
    @app_commands.describe(status="Only contracts in this state")
    @app_commands.choices(status=STATUS_CHOICES)
    async def contract_list(self, interaction: Interaction, status: app_commands.Choice[str] | None = None) -> None:
        assert interaction.guild_id is not None
        wanted = status.value if status else None
        found = await self.bot.services.contracts.list_for(interaction.guild_id, interaction.user.id, wanted)
        pages = list_pages(found, interaction.user.id, wanted, interaction.locale)
        await Paginator(interaction.user.id, pages, interaction.locale).send(interaction)

    @app_commands.command(name="history", description="Every version of the terms, request and event of a contract")
    @app_commands.describe(contract="The contract")
    async def contract_history(self, interaction: Interaction, contract: ContractId) -> None:
        assert interaction.guild_id is not None
        await interaction.response.defer(ephemeral=True, thinking=True)
        services = self.bot.services
        history = await services.history.history(
            interaction.guild_id,
            contract,
            viewer_id=interaction.user.id,
            is_moderator=await member_is_moderator(interaction),
        )
        file = discord.File(io.BytesIO(services.history.export(history)), filename=history_filename(contract))
        embeds = history_pages(history, interaction.locale)
        intro = t(interaction.locale, "ui.contract.history_intro", contract_id=contract, pages=len(embeds))
        pages = [Page(content=intro, embed=embed) for embed in embeds]
        await Paginator(interaction.user.id, pages, interaction.locale).send(interaction, file=file)

    @app_commands.command(name="amend", description="Propose a change of scope, price or deadline")
    @app_commands.describe(
        contract="The contract",
        reason="Why the terms should change (the other party sees it)",
        scope="The new scope (leave out all three changes to edit the scope in a form)",
        price="The new price",
        deadline="The new delivery time: 7d or a date YYYY-MM-DD",
    )
    async def contract_amend(
        self,
        interaction: Interaction,
        contract: ContractId,
        reason: Reason,
        scope: Scope | None = None,
        price: float | None = None,
        deadline: Deadline | None = None,
    ) -> None:
        assert interaction.guild_id is not None
        services = self.bot.services
        if scope is None and price is None and deadline is None:
            # long text belongs in a form: edit the current scope there
            view = await services.contracts.view(interaction.guild_id, contract, viewer_id=interaction.user.id)
            modal = AmendModal(
                contract, interaction.guild_id, interaction.locale, scope=view.terms.scope, reason=reason
            )
            await interaction.response.send_modal(modal)
            return
        amendment = await services.contracts.propose_amendment(
            interaction.guild_id,
            contract,
            actor_id=interaction.user.id,
            reason=reason,
            scope=scope,
            price=price,
            deadline=deadline,
        )
        text = amendment_proposed_text(amendment, interaction.locale)
        await interaction.response.send_message(text, ephemeral=True, allowed_mentions=NO_MENTIONS)

    @app_commands.command(name="cancel", description="Cancel a contract (after a deposit, a moderator decides)")
    @app_commands.describe(contract="The contract", reason="Why (the other party and the moderators see it)")
    async def contract_cancel(self, interaction: Interaction, contract: ContractId, reason: Reason) -> None:
        assert interaction.guild_id is not None
        outcome = await self.bot.services.cases.cancel(
            interaction.guild_id, contract, actor_id=interaction.user.id, reason=reason
        )
        if outcome.case is None:
            # an offer not yet accepted was withdrawn (client) or declined (worker) instead
            key = {"withdrawn": "ui.contract.withdrawn", "declined": "ui.contract.declined"}.get(
                outcome.contract.status, "ui.contract.cancelled")
            text = t(interaction.locale, key, contract_id=contract)
        else:
            text = t(interaction.locale, "ui.contract.cancel_case", contract_id=contract, case_id=outcome.case.id)
        await interaction.response.send_message(text, ephemeral=True, allowed_mentions=NO_MENTIONS)

    @app_commands.command(name="extend", description="Ask the client for more time (the worker)")
    @app_commands.describe(
        contract="The contract",
        days="How many extra days (1-365)",
        reason="Why you need more time (the client sees it)",
    )
    async def contract_extend(
        self, interaction: Interaction, contract: ContractId, days: app_commands.Range[int, 1, 365], reason: Reason
    ) -> None:
        assert interaction.guild_id is not None
        extension = await self.bot.services.contracts.request_extension(
            interaction.guild_id, contract, actor_id=interaction.user.id, days=days, reason=reason
        )
        await interaction.response.send_message(
            extension_requested_text(extension, interaction.locale), ephemeral=True, allowed_mentions=NO_MENTIONS
        )

    # -- autocomplete ------------------------------------------------------------------

    @contract_offer.autocomplete("job")
    async def offer_job(self, interaction: Interaction, current: str) -> Choices:
        if interaction.guild_id is None:
            return []
        jobs = await self.bot.services.jobs.suggest(interaction.guild_id, interaction.user.id, current, purpose="offer")
        return [app_commands.Choice(name=clip(f"#{job.id} {job.title}", 100), value=job.id) for job in jobs[:25]]

    async def _contracts(
        self, interaction: Interaction, current: str, purpose: str | None, *, is_moderator: bool = False
    ) -> Choices:
        if interaction.guild_id is None:
            return []
        found = await self.bot.services.contracts.suggest(
            interaction.guild_id, interaction.user.id, current, purpose=purpose, is_moderator=is_moderator
        )
        user_id = interaction.user.id
        return [
            app_commands.Choice(name=contract_choice(c, user_id, interaction.locale), value=c.id) for c in found[:25]
        ]

    @contract_accept.autocomplete("contract")
    async def accept_contract(self, interaction: Interaction, current: str) -> Choices:
        return await self._contracts(interaction, current, "accept")

    @contract_decline.autocomplete("contract")
    async def decline_contract(self, interaction: Interaction, current: str) -> Choices:
        return await self._contracts(interaction, current, "decline")

    @contract_view.autocomplete("contract")
    @contract_history.autocomplete("contract")
    async def any_contract(self, interaction: Interaction, current: str) -> Choices:
        return await self._contracts(interaction, current, None, is_moderator=await autocomplete_moderator(interaction))

    @contract_amend.autocomplete("contract")
    async def amend_contract(self, interaction: Interaction, current: str) -> Choices:
        return await self._contracts(interaction, current, "amend")

    @contract_cancel.autocomplete("contract")
    async def cancel_contract(self, interaction: Interaction, current: str) -> Choices:
        return await self._contracts(interaction, current, "cancel")

    @contract_extend.autocomplete("contract")
    async def extend_contract(self, interaction: Interaction, current: str) -> Choices:
        return await self._contracts(interaction, current, "extend")


async def setup(bot: MarketBot) -> None:
    await bot.add_cog(ContractsCog(bot))
