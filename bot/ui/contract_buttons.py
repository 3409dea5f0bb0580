"""Persistent buttons for contracts, amendments and escrow (they survive a restart).

- ``contract:<id>:accept`` / ``contract:<id>:decline`` (the offer DM; decline asks the reason
  in a modal);
- ``amendment:<id>:accept`` / ``amendment:<id>:reject`` (the amendment DM);
- ``escrow:<id>:deposit`` (the client's DMs; a modal takes the optional reference);
- ``escrow:<id>:confirm`` (the mod channel; moderators only);
- ``contract:<id>:extend`` (the thread's pinned terms card: the worker asks for more time in a
  modal) and ``extension:<id>:accept`` / ``extension:<id>:decline`` (the client's DM).

Each calls the same service method as the matching command and answers ephemerally; when
the action succeeded, the clicked message's buttons are disabled. A click in a DM carries no
guild: the target's guild is looked up.
"""

from __future__ import annotations

from datetime import datetime
from typing import TYPE_CHECKING

import discord

from bot.checks import require_moderator
from bot.i18n import t
from bot.services.common import LIMITS
from bot.ui.buttons import MarketButton, disable_buttons, register_button
from bot.ui.contract_views import NO_MENTIONS
from bot.ui.format import format_money, format_time
from bot.ui.modals import MarketModal
from bot.ui.payment_buttons import send_checkout

if TYPE_CHECKING:
    from bot.app import MarketBot
    from bot.models.entities import Amendment, Contract, Deposit, ExtensionRequest
    from bot.services.contracts import ContractView

    Interaction = discord.Interaction[MarketBot]

REASON_LIMIT = LIMITS["reason"]
REFERENCE_LIMIT = LIMITS["reference"]
SCOPE_LIMIT = LIMITS["scope"]


async def answer(interaction: Interaction, text: str) -> None:
    await interaction.response.send_message(text, ephemeral=True, allowed_mentions=NO_MENTIONS)


# -- texts shared with the commands -------------------------------------------------------


def accepted_text(view: ContractView, locale: object, *, from_dm: bool) -> str:
    """What the worker reads after accepting, with where the contract's reminders will reach
    each party.

    Discord tells whether a DM arrives only by sending one, so the service reads how the last
    DM to each party went (``dm_open`` / ``dm_closed``); an offer accepted from its DM proves
    the worker's DMs work. A worker with closed DMs is told here that reminders come in the
    contract thread; one not known either way gets the note that they would; a client with
    closed DMs is named too (and told in the thread, with a mention).
    """
    contract = view.contract
    lines = [t(locale, "ui.contract.accepted", contract_id=contract.id, title=view.job_title)]
    if contract.worker_id in view.dm_closed and not from_dm:
        lines.append(t(locale, "ui.contract.accepted_dm_closed"))
    elif contract.worker_id not in view.dm_open and not from_dm:
        lines.append(t(locale, "ui.contract.accepted_dm_note"))
    if contract.client_id in view.dm_closed:
        lines.append(t(locale, "ui.contract.accepted_client_dm_closed"))
    return "\n".join(lines)


def declined_text(contract: Contract, locale: object) -> str:
    return t(locale, "ui.contract.declined", contract_id=contract.id)


def amendment_answer_text(amendment: Amendment, locale: object) -> str:
    if amendment.status == "accepted":
        return t(
            locale,
            "ui.contract.amendment_accepted",
            amendment_id=amendment.id,
            contract_id=amendment.contract_id,
            version=amendment.new_version,
        )
    return t(locale, "ui.contract.amendment_rejected", amendment_id=amendment.id, contract_id=amendment.contract_id)


def deposit_text(deposit: Deposit, currency: str, locale: object) -> str:
    key = "ui.escrow.declared_topup" if deposit.kind == "topup" else "ui.escrow.declared"
    return t(locale, key, contract_id=deposit.contract_id, amount=format_money(deposit.amount, currency, locale))


def confirmed_text(deposit: Deposit, currency: str, locale: object) -> str:
    key = "ui.escrow.confirmed_topup" if deposit.kind == "topup" else "ui.escrow.confirmed"
    return t(locale, key, contract_id=deposit.contract_id, amount=format_money(deposit.amount, currency, locale))


# -- offers ------------------------------------------------------------------------------


@register_button("contract", "accept")
class AcceptOfferButton(MarketButton):
    label_key = "button.contract.accept"
    style = discord.ButtonStyle.success

    async def run(self, interaction: Interaction) -> None:
        guild_id = await self.guild_id(interaction)
        view = await interaction.client.services.contracts.accept(
            guild_id, self.target_id, actor_id=interaction.user.id
        )
        await answer(interaction, accepted_text(view, interaction.locale, from_dm=interaction.guild_id is None))
        await disable_buttons(interaction.message)


class DeclineModal(MarketModal):
    def __init__(self, contract_id: int, guild_id: int, locale: object) -> None:
        super().__init__(
            title=t(locale, "ui.contract.decline_modal_title", contract_id=contract_id)[:45],
            custom_id=f"cw:decline_modal:{contract_id}",
        )
        self.contract_id = contract_id
        self.guild_id = guild_id
        self.reason: discord.ui.TextInput[DeclineModal] = discord.ui.TextInput(
            label=t(locale, "ui.contract.decline_reason_label")[:45],
            placeholder=t(locale, "ui.contract.decline_reason_placeholder")[:100],
            style=discord.TextStyle.paragraph,
            required=False,
            max_length=REASON_LIMIT,
            custom_id="reason",
        )
        self.add_item(self.reason)

    async def on_submit(self, interaction: Interaction) -> None:  # type: ignore[override]
        contract = await interaction.client.services.contracts.decline(
            self.guild_id, self.contract_id, actor_id=interaction.user.id, reason=self.reason.value or None
        )
        await answer(interaction, declined_text(contract, interaction.locale))
        await disable_buttons(interaction.message)


@register_button("contract", "decline")
class DeclineOfferButton(MarketButton):
    label_key = "button.contract.decline"
    style = discord.ButtonStyle.danger

    async def run(self, interaction: Interaction) -> None:
        guild_id = await self.guild_id(interaction)
        await interaction.response.send_modal(DeclineModal(self.target_id, guild_id, interaction.locale))


# -- amendments ----------------------------------------------------------------------------


class _AmendmentButton(MarketButton):
    accept = True

    async def run(self, interaction: Interaction) -> None:
        guild_id = await self.guild_id(interaction)
        amendment = await interaction.client.services.contracts.answer_amendment(
            guild_id, self.target_id, actor_id=interaction.user.id, accept=self.accept
        )
        await answer(interaction, amendment_answer_text(amendment, interaction.locale))
        await disable_buttons(interaction.message)


def amendment_proposed_text(amendment: Amendment, locale: object) -> str:
    text = t(locale, "ui.contract.amendment_proposed", amendment_id=amendment.id, contract_id=amendment.contract_id)
    if amendment.reverts_to:
        text = f"{text}\n{t(locale, 'ui.contract.amendment_reverts', version=amendment.reverts_to)}"
    elif amendment.reverts_to_revision:
        note = t(locale, "ui.scope.amendment_reverts_revision", revision_id=amendment.reverts_to_revision)
        text = f"{text}\n{note}"
    return text


class AmendModal(MarketModal):
    """``/contract amend`` without a change: edit the scope (prefilled with the current one) in a
    form, where long text is comfortable."""

    def __init__(self, contract_id: int, guild_id: int, locale: object, *, scope: str, reason: str) -> None:
        super().__init__(
            title=t(locale, "ui.contract.amend_modal_title", contract_id=contract_id)[:45],
            custom_id=f"cw:amend_modal:{contract_id}",
        )
        self.contract_id = contract_id
        self.guild_id = guild_id
        self.scope: discord.ui.TextInput[AmendModal] = discord.ui.TextInput(
            label=t(locale, "ui.contract.amend_scope_label")[:45],
            style=discord.TextStyle.paragraph,
            default=scope[:SCOPE_LIMIT],
            max_length=SCOPE_LIMIT,
            custom_id="scope",
        )
        self.reason: discord.ui.TextInput[AmendModal] = discord.ui.TextInput(
            label=t(locale, "ui.contract.amend_reason_label")[:45],
            style=discord.TextStyle.paragraph,
            default=reason[:REASON_LIMIT],
            max_length=REASON_LIMIT,
            custom_id="reason",
        )
        self.add_item(self.scope)
        self.add_item(self.reason)

    async def on_submit(self, interaction: Interaction) -> None:  # type: ignore[override]
        amendment = await interaction.client.services.contracts.propose_amendment(
            self.guild_id,
            self.contract_id,
            actor_id=interaction.user.id,
            reason=self.reason.value,
            scope=self.scope.value,
        )
        await answer(interaction, amendment_proposed_text(amendment, interaction.locale))


@register_button("amendment", "accept")
class AcceptAmendmentButton(_AmendmentButton):
    label_key = "button.amendment.accept"
    style = discord.ButtonStyle.success
    accept = True


@register_button("amendment", "reject")
class RejectAmendmentButton(_AmendmentButton):
    label_key = "button.amendment.reject"
    style = discord.ButtonStyle.danger
    accept = False


# -- escrow ----------------------------------------------------------------------------------


class DepositModal(MarketModal):
    def __init__(self, contract_id: int, guild_id: int, locale: object) -> None:
        super().__init__(
            title=t(locale, "ui.escrow.deposit_modal_title", contract_id=contract_id)[:45],
            custom_id=f"cw:deposit_modal:{contract_id}",
        )
        self.contract_id = contract_id
        self.guild_id = guild_id
        self.reference: discord.ui.TextInput[DepositModal] = discord.ui.TextInput(
            label=t(locale, "ui.escrow.reference_label")[:45],
            placeholder=t(locale, "ui.escrow.reference_placeholder")[:100],
            required=False,
            max_length=REFERENCE_LIMIT,
            custom_id="reference",
        )
        self.add_item(self.reference)

    async def on_submit(self, interaction: Interaction) -> None:  # type: ignore[override]
        services = interaction.client.services
        deposit = await services.escrow.deposit(
            self.guild_id, self.contract_id, actor_id=interaction.user.id, reference=self.reference.value or None
        )
        contract = await services.contracts.get(self.contract_id)
        currency = contract.currency if contract else ""
        await answer(interaction, deposit_text(deposit, currency, interaction.locale))
        await disable_buttons(interaction.message)


@register_button("escrow", "deposit")
class DepositButton(MarketButton):
    label_key = "button.escrow.deposit"
    style = discord.ButtonStyle.primary

    async def run(self, interaction: Interaction) -> None:
        guild_id = await self.guild_id(interaction)
        if await interaction.client.services.payments.provider(guild_id) == "stripe":
            await send_checkout(interaction, guild_id, self.target_id)
            return
        await interaction.response.send_modal(DepositModal(self.target_id, guild_id, interaction.locale))


@register_button("escrow", "confirm")
class ConfirmDepositButton(MarketButton):
    label_key = "button.escrow.confirm"
    style = discord.ButtonStyle.success

    async def run(self, interaction: Interaction) -> None:
        await require_moderator(interaction)
        assert interaction.guild_id is not None  # require_moderator refuses DMs
        services = interaction.client.services
        deposit = await services.escrow.confirm(interaction.guild_id, self.target_id, moderator_id=interaction.user.id)
        contract = await services.contracts.get(self.target_id)
        currency = contract.currency if contract else ""
        await answer(interaction, confirmed_text(deposit, currency, interaction.locale))
        await disable_buttons(interaction.message)


# -- deadline extensions -------------------------------------------------------------------


def extension_requested_text(extension: ExtensionRequest, locale: object) -> str:
    return t(locale, "ui.contract.extension_requested", extension_id=extension.id,
             contract_id=extension.contract_id, days=extension.days)


def extension_answer_text(extension: ExtensionRequest, due_at: datetime | None, locale: object) -> str:
    if extension.status == "accepted":
        return t(locale, "ui.contract.extension_accepted", extension_id=extension.id,
                 contract_id=extension.contract_id, version=extension.new_version,
                 due_at=format_time(due_at) if due_at else "-")
    return t(locale, "ui.contract.extension_declined", extension_id=extension.id, contract_id=extension.contract_id)


class ExtendModal(MarketModal):
    """The "Ask for more time" button: how many days and why, in a form."""

    def __init__(self, contract_id: int, guild_id: int, locale: object) -> None:
        super().__init__(
            title=t(locale, "ui.contract.extend_modal_title", contract_id=contract_id)[:45],
            custom_id=f"cw:extend_modal:{contract_id}",
        )
        self.contract_id = contract_id
        self.guild_id = guild_id
        self.days: discord.ui.TextInput[ExtendModal] = discord.ui.TextInput(
            label=t(locale, "ui.contract.extend_days_label")[:45], max_length=3, custom_id="days",
        )
        self.reason: discord.ui.TextInput[ExtendModal] = discord.ui.TextInput(
            label=t(locale, "ui.contract.extend_reason_label")[:45],
            style=discord.TextStyle.paragraph,
            max_length=REASON_LIMIT,
            custom_id="reason",
        )
        self.add_item(self.days)
        self.add_item(self.reason)

    async def on_submit(self, interaction: Interaction) -> None:  # type: ignore[override]
        text = self.days.value.strip()
        days = int(text) if text.isdigit() else 0  # not a whole number: refused as out of range
        extension = await interaction.client.services.contracts.request_extension(
            self.guild_id, self.contract_id, actor_id=interaction.user.id, days=days, reason=self.reason.value
        )
        await answer(interaction, extension_requested_text(extension, interaction.locale))


@register_button("contract", "extend")
class AskExtensionButton(MarketButton):
    """On the contract thread's pinned terms card: the worker asks for more time."""

    label_key = "button.contract.extend"
    style = discord.ButtonStyle.secondary

    async def run(self, interaction: Interaction) -> None:
        guild_id = await self.guild_id(interaction)
        await interaction.client.services.contracts.check_extension(
            guild_id, self.target_id, actor_id=interaction.user.id
        )
        await interaction.response.send_modal(ExtendModal(self.target_id, guild_id, interaction.locale))


class _ExtensionButton(MarketButton):
    accept = True

    async def run(self, interaction: Interaction) -> None:
        guild_id = await self.guild_id(interaction)
        services = interaction.client.services
        extension = await services.contracts.answer_extension(
            guild_id, self.target_id, actor_id=interaction.user.id, accept=self.accept
        )
        contract = await services.contracts.get(extension.contract_id)
        await answer(interaction, extension_answer_text(extension, contract.due_at if contract else None,
                                                        interaction.locale))
        await disable_buttons(interaction.message)


@register_button("extension", "accept")
class AcceptExtensionButton(_ExtensionButton):
    label_key = "button.extension.accept"
    style = discord.ButtonStyle.success
    accept = True


@register_button("extension", "decline")
class DeclineExtensionButton(_ExtensionButton):
    label_key = "button.extension.decline"
    style = discord.ButtonStyle.danger
    accept = False
