"""Persistent buttons of the review flow (they arrive in DMs, so they carry no guild).

- ``cw:review:<contract>:approve``: the client approves the delivery (escrow released);
- ``cw:review:<contract>:revise``: the client asks for a revision, in a modal;
- ``cw:revision:<id>:accept`` / ``cw:revision:<id>:decline``: the worker's answer to a
  revision request (decline: only one beyond those included in the terms);
- ``cw:revision:<id>:scope``: the worker answers "outside the agreed scope" with a price, in a
  modal: the request becomes an amendment proposal for the client.

After a success the buttons of the clicked message are disabled, so the message shows
that it was answered; a click on another copy (a reminder) is refused by the service.
"""

from __future__ import annotations

import io
import logging
from typing import TYPE_CHECKING, Any

import discord

from bot.i18n import language_of, t
from bot.models.entities import DeliveryFile, OutboxItem
from bot.notifications.dispatcher import Rendered
from bot.services.deliveries import RevisionOutcome
from bot.ui.buttons import MarketButton, build_view, disabled_view, register_button
from bot.ui.format import format_args
from bot.ui.modals import MarketModal

if TYPE_CHECKING:
    from bot.app import MarketBot

log = logging.getLogger(__name__)

Interaction = discord.Interaction["MarketBot"]

REASON_INPUT = "reason"
REASON_LIMIT = 1000


async def close_buttons(interaction: Interaction, content: str) -> None:
    """Disable the buttons of the message the interaction came from, and answer privately."""
    mentions = discord.AllowedMentions.none()
    view = disabled_view(interaction.message)
    if view is not None:
        await interaction.response.edit_message(view=view)
        await interaction.followup.send(content, ephemeral=True, allowed_mentions=mentions)
    else:
        await interaction.response.send_message(content, ephemeral=True, allowed_mentions=mentions)


@register_button("review", "approve")
class ApproveDeliveryButton(MarketButton):
    label_key = "button.review.approve"
    style = discord.ButtonStyle.success

    async def run(self, interaction: Interaction) -> None:
        services = interaction.client.services
        guild_id = await self.guild_id(interaction)
        await services.deliveries.approve(guild_id, self.target_id, actor_id=interaction.user.id)
        await close_buttons(interaction, t(interaction.locale, "ui.review.approved", contract_id=self.target_id))


@register_button("review", "revise")
class ReviseDeliveryButton(MarketButton):
    label_key = "button.review.revise"
    style = discord.ButtonStyle.secondary

    async def run(self, interaction: Interaction) -> None:
        services = interaction.client.services
        guild_id = await self.guild_id(interaction)
        view = await services.contracts.view(guild_id, self.target_id, viewer_id=interaction.user.id)
        await interaction.response.send_modal(
            RevisionModal(self.target_id, interaction.locale, version=view.terms.version, scope=view.terms.scope)
        )


def clipped(text: str, limit: int) -> str:
    return text if len(text) <= limit else text[: limit - 1] + "…"


class RevisionModal(MarketModal):
    """The client's revision request, written against the current terms: the field names the
    terms version and starts from its scope, so the request says what the delivery misses."""

    def __init__(self, contract_id: int, locale: Any, *, version: int, scope: str) -> None:
        super().__init__(title=t(locale, "ui.review.modal_title", contract_id=contract_id)[:45])
        self.contract_id = contract_id
        self.reason: discord.ui.TextInput[RevisionModal] = discord.ui.TextInput(
            label=clipped(t(locale, "ui.scope.modal_reason", version=version), 45),
            placeholder=clipped(t(locale, "ui.scope.modal_placeholder", version=version, scope=" ".join(scope.split())),
                                100),
            style=discord.TextStyle.paragraph,
            custom_id=REASON_INPUT,
            max_length=REASON_LIMIT,
        )
        self.add_item(self.reason)

    async def on_submit(self, interaction: Interaction) -> None:  # type: ignore[override]
        services = interaction.client.services
        guild_id = await services.contracts.guild_of("contract", self.contract_id)
        outcome = await services.deliveries.request_revision(
            guild_id, self.contract_id, actor_id=interaction.user.id, reason=self.reason.value
        )
        await close_buttons(interaction, revision_reply(interaction.locale, outcome))


def revision_reply(locale: Any, outcome: RevisionOutcome) -> str:
    request = outcome.request
    key = "ui.scope.revised" if outcome.included else "ui.scope.revised_extra"
    return t(locale, key, contract_id=request.contract_id, revision_id=request.id, version=request.terms_version)


class _RevisionAnswer(MarketButton):
    accept: bool = True

    async def run(self, interaction: Interaction) -> None:
        services = interaction.client.services
        guild_id = await self.guild_id(interaction)
        request = await services.deliveries.answer_extra_revision(
            guild_id, self.target_id, actor_id=interaction.user.id, accept=self.accept
        )
        key = "ui.revision.accepted" if self.accept else "ui.revision.declined"
        if request.included:
            key = "ui.scope.accepted"
        await close_buttons(
            interaction, t(interaction.locale, key, contract_id=request.contract_id, revision_id=request.id)
        )


@register_button("revision", "accept")
class AcceptRevisionButton(_RevisionAnswer):
    label_key = "button.revision.accept"
    style = discord.ButtonStyle.success
    accept = True


@register_button("revision", "decline")
class DeclineRevisionButton(_RevisionAnswer):
    label_key = "button.revision.decline"
    style = discord.ButtonStyle.secondary
    accept = False


@register_button("revision", "scope")
class OutsideScopeButton(MarketButton):
    """The worker's answer "this is outside the agreed scope": a price in a modal, and the
    request becomes an amendment proposal for the client."""

    label_key = "button.revision.scope"
    style = discord.ButtonStyle.primary

    async def run(self, interaction: Interaction) -> None:
        guild_id = await self.guild_id(interaction)
        await interaction.response.send_modal(OutsideScopeModal(self.target_id, guild_id, interaction.locale))


PRICE_INPUT = "price"


class OutsideScopeModal(MarketModal):
    def __init__(self, revision_id: int, guild_id: int, locale: Any) -> None:
        super().__init__(
            title=clipped(t(locale, "ui.scope.scope_modal_title", revision_id=revision_id), 45),
            custom_id=f"cw:scope_modal:{revision_id}",
        )
        self.revision_id = revision_id
        self.guild_id = guild_id
        self.price: discord.ui.TextInput[OutsideScopeModal] = discord.ui.TextInput(
            label=clipped(t(locale, "ui.scope.price_label"), 45),
            placeholder=clipped(t(locale, "ui.scope.price_placeholder"), 100),
            custom_id=PRICE_INPUT,
            max_length=20,
        )
        self.reason: discord.ui.TextInput[OutsideScopeModal] = discord.ui.TextInput(
            label=clipped(t(locale, "ui.scope.reason_label"), 45),
            placeholder=clipped(t(locale, "ui.scope.reason_placeholder"), 100),
            style=discord.TextStyle.paragraph,
            custom_id=REASON_INPUT,
            max_length=REASON_LIMIT,
        )
        self.add_item(self.price)
        self.add_item(self.reason)

    async def on_submit(self, interaction: Interaction) -> None:  # type: ignore[override]
        amendment = await interaction.client.services.contracts.outside_scope(
            self.guild_id, self.revision_id, actor_id=interaction.user.id, price=self.price.value.strip(),
            reason=self.reason.value,
        )
        await close_buttons(
            interaction,
            t(interaction.locale, "ui.scope.proposed", revision_id=self.revision_id, amendment_id=amendment.id,
              contract_id=amendment.contract_id),
        )


# -- the delivery as the client and the contract thread see it ----------------------------

DELIVERED_CLIENT = "notify.delivered_client"
THREAD_DELIVERED = "thread.delivered"
DEFAULT_UPLOAD_LIMIT = 10 * 1024 * 1024  # Discord's per-message upload limit without boosts


def format_size(size: int) -> str:
    """``812 B``, ``12.5 KB``, ``3.2 MB``."""
    if size < 1024:
        return f"{size} B"
    if size < 1024 * 1024:
        return f"{size / 1024:.1f} KB"
    return f"{size / (1024 * 1024):.1f} MB"


def file_lines(language: object, files: list[DeliveryFile]) -> str:
    return "\n".join(
        t(language, "ui.delivery.file_line", filename=f.filename, size=format_size(f.size), sha256=f.sha256)
        for f in files
    )


class DeliveryRendering:
    """The delivery DM and thread post list each file with its size and sha256 (the renderer
    computes ``files`` from the stored files); the thread post then gets the stored files
    attached (its follow-up: Discord's own links would expire)."""

    def __init__(self, bot: MarketBot) -> None:
        self.bot = bot

    async def render(self, item: OutboxItem, language: str) -> Rendered:
        services = self.bot.services
        args = dict(item.arguments)
        delivery_id = args.get("delivery_id")
        if item.contract_id is not None and isinstance(delivery_id, int):
            files = await services.deliveries.files_of(item.contract_id, delivery_id)
            if files:
                args["files"] = file_lines(language, files)
        args.setdefault("files", "-")
        text = t(language, item.message_key, **format_args(args, language))
        return Rendered(text, None, build_view(item.button_list, language))

    async def attach_files(self, item: OutboxItem, message: discord.Message) -> None:
        services = self.bot.services
        delivery_id = item.arguments.get("delivery_id")
        if item.contract_id is None or not isinstance(delivery_id, int):
            return
        limit = message.guild.filesize_limit if message.guild is not None else DEFAULT_UPLOAD_LIMIT
        attached: list[discord.File] = []
        left_out: list[str] = []
        total = 0
        for stored in await services.deliveries.files_of(item.contract_id, delivery_id):
            if total + stored.size > limit or not services.files.exists(stored.sha256):
                left_out.append(stored.filename)
                continue
            data = await services.files.read(stored.sha256)
            total += len(data)
            attached.append(
                discord.File(io.BytesIO(data), filename=stored.filename, description=f"sha256:{stored.sha256}")
            )
        if not attached and not left_out:
            return
        content = message.content
        if left_out:
            guild = await services.guilds.get(item.guild_id)
            language = language_of(guild.locale if guild is not None else None)
            note = t(language, "ui.delivery.not_attached", files=", ".join(left_out))
            content = f"{content}\n{note}"[:2000]
        try:
            await message.edit(content=content, attachments=attached)
        except discord.HTTPException as error:
            if error.status == 429 or error.status >= 500:
                raise  # the dispatcher retries this follow-up (the post is not sent again)
            log.error(
                "contract %s delivery %s: could not attach the files to thread message %s: %s",
                item.contract_id,
                delivery_id,
                message.id,
                error,
            )
        else:
            log.info(
                "contract %s delivery %s: %d files attached in the thread, %d left out",
                item.contract_id,
                delivery_id,
                len(attached),
                len(left_out),
            )
