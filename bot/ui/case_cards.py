"""Case cards in the mod channel and the moderator's one-click decisions on them.

A case card is an outbox row (``case.card.<reason>``) that :class:`CaseCards`
renders as the service's text plus an embed: the contract (parties, status, price of the
current terms), its last events and the figures of the party concerned; with the buttons
the service chose for the contract's state (``cw:case:<id>:<action>``). Once sent, the
card's message id is stored on the case so a decision can be found from ``/mod cases``.

Every button checks the moderator role, then opens a modal: money decisions (release,
refund, split, cancel) and a report's outcome (uphold, dismiss) ask why (split also the
worker's percentage, extend a duration); nudge and close take an optional note. The
decision goes to ``services.cases.act``, which refuses a moderator who is a party and
tells both parties the outcome. The card then shows who decided what, when; a decision
that resolves the case disables its buttons.
"""

from __future__ import annotations

import logging
import re
from datetime import datetime
from typing import TYPE_CHECKING, Any

import discord

from bot.checks import require_case_moderator, require_moderator
from bot.errors import InvalidInput, WrongState
from bot.i18n import has, language_of, t
from bot.models.entities import Case, Event, OutboxItem
from bot.notifications.dispatcher import Rendered, Undeliverable
from bot.services.reputation import Figures
from bot.ui.buttons import MarketButton, build_view, disabled_view, register_button
from bot.ui.format import format_args, format_money, format_time
from bot.ui.job_board import client_line, worker_line
from bot.ui.modals import MarketModal

if TYPE_CHECKING:
    from bot.app import MarketBot

log = logging.getLogger(__name__)

Interaction = discord.Interaction["MarketBot"]

CARD_PREFIX = "case.card."
TIMELINE_EVENTS = 10
FIELD_LIMIT = 1024
# Discord's embed limits: a card over any of them is refused with a 400
EMBED_TOTAL = 6000
EMBED_FIELDS = 25
TITLE_LIMIT = 256
DESCRIPTION_LIMIT = 4096
FIELD_NAME_LIMIT = 256
REASON_LIMIT = 1000
MONEY_ACTIONS = ("release", "refund", "split", "cancel")
REPORT_OUTCOMES = ("uphold", "dismiss")  # a report's Close: both ask why
WHY_ACTIONS = MONEY_ACTIONS + REPORT_OUTCOMES
COLOUR_OPEN = discord.Colour.orange()
COLOUR_DECIDED = discord.Colour.green()


# -- rendering the card ----------------------------------------------------------------


def _clip(text: str, limit: int = FIELD_LIMIT) -> str:
    return text if len(text) <= limit else text[: limit - 1] + "…"


def kind_word(language: object, reason_kind: str) -> str:
    """``dispute`` -> "dispute" / "異議申し立て" (the raw word for a kind without a translation)."""
    key = f"ui.case.kind.{reason_kind}"
    return t(language, key) if has(key) else reason_kind


def event_line(language: str, event: Event) -> str:
    key = f"ui.case.event.{event.kind}"
    what = t(language, key) if has(key) else f"`{event.kind}`"
    by = f" · <@{event.actor_id}>" if event.actor_id else ""
    return f"{format_time(event.created_at)} · {what}{by}"


def figures_text(language: str, figures: Figures) -> str:
    """The party's reputation, the same lines as on job posts and offers."""
    return f"{client_line(figures, language)}\n{worker_line(figures, language)}"


class CaseCards:
    """Render ``case.card.*`` rows as cards and remember each card's message (its follow-up)."""

    def __init__(self, bot: MarketBot) -> None:
        self.bot = bot

    async def render(self, item: OutboxItem, language: str) -> Rendered:
        bot = self.bot
        services = bot.services
        text = t(language, item.message_key, **format_args(item.arguments, language))
        if item.case_id is None:
            return Rendered(text, None, build_view(item.button_list, language))
        case, contract = await services.cases.get(item.guild_id, item.case_id)
        # moderators join the contract's private thread on escalation, one click each
        joinable = contract is not None and contract.thread_id is not None
        view = build_view([*item.button_list, *([f"case:{case.id}:join"] if joinable else [])], language)
        title = t(language, "ui.case.title", case_id=case.id, kind=kind_word(language, case.reason_kind))
        embed = discord.Embed(title=title, colour=COLOUR_OPEN)
        embed.add_field(name=t(language, "ui.case.reason"), value=_clip(case.reason or "-"), inline=False)
        viewer = bot.user.id if bot.user is not None else 0
        if contract is not None:
            terms = (
                await services.contracts.view(item.guild_id, contract.id, viewer_id=viewer, is_moderator=True)
            ).terms
            summary = t(
                language,
                "ui.case.contract_line",
                **format_args(
                    {
                        "contract_id": contract.id,
                        "client_id": contract.client_id,
                        "worker_id": contract.worker_id,
                        "status": str(contract.status),
                        "price_amount": terms.price,
                        "currency": contract.currency,
                    },
                    language,
                ),
            )
            embed.add_field(name=t(language, "ui.case.contract"), value=_clip(summary), inline=False)
            history = await services.history.history(item.guild_id, contract.id, viewer_id=viewer, is_moderator=True)
            lines = [event_line(language, event) for event in history.events[-TIMELINE_EVENTS:]]
            embed.add_field(name=t(language, "ui.case.timeline"), value=_clip("\n".join(lines) or "-"), inline=False)
        if case.subject_id is not None:
            figures = await services.reputation.figures(item.guild_id, case.subject_id)
            embed.add_field(
                name=t(language, "ui.case.figures"),
                value=_clip(f"<@{case.subject_id}>\n{figures_text(language, figures)}"),
                inline=False,
            )
        return Rendered(text, embed, view)

    async def remember(self, item: OutboxItem, message: discord.Message) -> None:
        if item.case_id is not None and item.target == "mod":
            await self.bot.services.cases.set_mod_message(item.case_id, message.id)

    async def to_owner(self, item: OutboxItem) -> int | None:
        """Target ``owner``: a report about a moderator, who can read the mod channel, goes as
        a card to the server owner's DMs (in the owner's language). Never to the mod channel,
        not even when the owner's DMs are closed (the row then fails and is logged)."""
        guild = self.bot.get_guild(item.guild_id)
        if guild is None or guild.owner_id is None:
            raise Undeliverable(f"guild {item.guild_id} or its owner is unknown")
        setup = await self.bot.services.guilds.get(item.guild_id)
        language = language_of(await self.bot.services.guilds.user_locale(guild.owner_id) or
                               (setup.locale if setup else None))
        rendered = await self.render(item, language)
        channel = await self.bot.create_dm(discord.Object(guild.owner_id))
        kwargs: dict[str, Any] = {"allowed_mentions": discord.AllowedMentions.none()}
        if rendered.embed is not None:
            kwargs["embed"] = rendered.embed
        if rendered.view is not None:
            kwargs["view"] = rendered.view
        message = await channel.send(rendered.content, **kwargs)
        log.info("case %s: report card sent to the owner of guild %s", item.case_id, item.guild_id)
        return message.id


def card_link(guild_id: int, channel_id: int, message_id: int) -> str:
    return f"https://discord.com/channels/{guild_id}/{channel_id}/{message_id}"


# -- deciding ------------------------------------------------------------------------------


def action_label(locale: Any, action: str) -> str:
    return t(locale, f"button.case.{action}")


def decided_card(
    message: discord.Message, locale: Any, case: Case, action: str, moderator_id: int, at: datetime, reason: str
) -> tuple[discord.Embed, discord.ui.View | None]:
    """The card's embed with the decision added, and its buttons (disabled once resolved)."""
    embed = message.embeds[0].copy() if message.embeds else discord.Embed()
    resolved = case.status != "open"
    line = t(
        locale,
        "ui.case.decision_line",
        moderator=f"<@{moderator_id}>",
        action=action_label(locale, action),
        at=format_time(at),
        reason=reason.strip() or "-",
    )
    if resolved:
        embed.colour = COLOUR_DECIDED
        embed.add_field(name=t(locale, "ui.case.decision"), value=_clip(line), inline=False)
        return fit_card(embed, locale), disabled_view(message)
    embed.add_field(name=t(locale, "ui.case.note"), value=_clip(line), inline=False)
    return fit_card(embed, locale), None


def _earlier_count(value: str | None) -> int:
    """N in the "and N earlier" field (the card itself is the only record of how many it hides)."""
    digits = re.search(r"\d+", value or "")
    return int(digits.group()) if digits else 0


def fit_card(embed: discord.Embed, locale: Any) -> discord.Embed:
    """The card within Discord's embed limits whatever was added to it: the card's own
    fields stay, the latest moderator entries are shown, older ones are summarised as
    "and N earlier (see /contract history)" (the history keeps every one of them)."""
    entry_names = {t(locale, "ui.case.note"), t(locale, "ui.case.decision")}
    earlier_name = t(locale, "ui.abuse.case_earlier_name")
    base: list[tuple[str, str]] = []
    entries: list[tuple[str, str]] = []
    earlier = 0
    for f in embed.fields:
        name, value = _clip(f.name or "-", FIELD_NAME_LIMIT), _clip(f.value or "-")
        if name == earlier_name:
            earlier += _earlier_count(value)
        elif name in entry_names:
            entries.append((name, value))
        else:
            base.append((name, value))
    if embed.title is not None:
        embed.title = _clip(embed.title, TITLE_LIMIT)
    if embed.description is not None:
        embed.description = _clip(embed.description, DESCRIPTION_LIMIT)

    def fields_now() -> list[tuple[str, str]]:
        summary = [(earlier_name, t(locale, "ui.abuse.case_earlier", count=earlier))] if earlier else []
        return [*base, *summary, *entries]

    def total(fields: list[tuple[str, str]]) -> int:
        rest = len(embed.title or "") + len(embed.description or "") + len(embed.footer.text or "")
        return rest + len(embed.author.name or "") + sum(len(n) + len(v) for n, v in fields)

    while entries and (len(fields_now()) > EMBED_FIELDS or total(fields_now()) > EMBED_TOTAL):
        entries.pop(0)
        earlier += 1
    embed.clear_fields()
    for name, value in fields_now():
        embed.add_field(name=name, value=value, inline=False)
    return embed


class CaseActionModal(MarketModal):
    """Why (and, for split and extend, how much) before a decision is recorded."""

    def __init__(self, case_id: int, action: str, locale: Any, guild_id: int, *,
                 deposit_arrived: bool | None = None) -> None:
        title = t(locale, "ui.case.modal_title", case_id=case_id, action=action_label(locale, action))
        super().__init__(title=title[:45])
        self.case_id = case_id
        self.guild_id = guild_id
        self.action = action
        self.deposit_arrived = deposit_arrived  # a cancel's answer to "did the declared deposit arrive?"
        self.percent: discord.ui.TextInput[CaseActionModal] | None = None
        self.duration: discord.ui.TextInput[CaseActionModal] | None = None
        if action == "split":
            self.percent = discord.ui.TextInput(
                label=t(locale, "ui.case.modal_percent")[:45], custom_id="percent", max_length=4, placeholder="50"
            )
            self.add_item(self.percent)
        if action == "extend":
            self.duration = discord.ui.TextInput(
                label=t(locale, "ui.case.modal_duration")[:45], custom_id="duration", max_length=16, default="1d"
            )
            self.add_item(self.duration)
        self.reason: discord.ui.TextInput[CaseActionModal] = discord.ui.TextInput(
            label=t(locale, "ui.case.modal_reason" if action in WHY_ACTIONS else "ui.case.modal_note")[:45],
            style=discord.TextStyle.paragraph,
            custom_id="reason",
            required=action in WHY_ACTIONS,
            max_length=REASON_LIMIT,
        )
        self.add_item(self.reason)

    def _percent(self) -> int | None:
        if self.percent is None:
            return None
        text = self.percent.value.strip().rstrip("%").strip()
        if not (text.isascii() and text.isdigit()):
            raise InvalidInput("error.case.percent")
        return int(text)

    async def on_submit(self, interaction: Interaction) -> None:  # type: ignore[override]
        await require_case_moderator(interaction, self.guild_id)
        bot = interaction.client
        case = await bot.services.cases.act(
            self.guild_id,
            self.case_id,
            moderator_id=interaction.user.id,
            action=self.action,
            reason=self.reason.value or None,
            percent=self._percent(),
            extend=self.duration.value.strip() if self.duration is not None else None,
            deposit_arrived=self.deposit_arrived,
        )
        at = case.resolved_at or bot.clock.now()
        if self.deposit_arrived is not None:  # answered on the private question, not on the card
            await self._answered(interaction, case, at)
            return
        done = t(
            interaction.locale,
            "ui.case.done" if case.status != "open" else "ui.case.nudged",
            case_id=case.id,
            action=action_label(interaction.locale, self.action),
        )
        mentions = discord.AllowedMentions.none()
        if interaction.message is None:
            await interaction.response.send_message(done, ephemeral=True, allowed_mentions=mentions)
            return
        guild = await bot.services.guilds.require(self.guild_id)  # the card is in the guild's language
        embed, view = decided_card(
            interaction.message, guild.locale, case, self.action, interaction.user.id, at, self.reason.value
        )
        log.info("case %s: %s by moderator %s", case.id, self.action, interaction.user.id)
        # The action is recorded and sent: updating the card is a follow-up whose failure is
        # logged, never reported to the moderator as a failure of the action.
        try:
            if view is None:
                await interaction.response.edit_message(embed=embed, allowed_mentions=mentions)
            else:
                await interaction.response.edit_message(embed=embed, view=view, allowed_mentions=mentions)
        except discord.HTTPException:
            log.warning("case %s: the card %s was not updated after %s", case.id, interaction.message.id,
                        self.action, exc_info=True)
        if interaction.response.is_done():
            await interaction.followup.send(done, ephemeral=True, allowed_mentions=mentions)
        else:
            await interaction.response.send_message(done, ephemeral=True, allowed_mentions=mentions)


    async def _answered(self, interaction: Interaction, case: Case, at: datetime) -> None:
        """The cancel was decided from the private deposit question: say what happened there,
        then add the decision to the case card (its buttons are retired through the outbox)."""
        assert interaction.guild_id is not None
        bot = interaction.client
        key = "ui.money.cancel_refunded" if self.deposit_arrived else "ui.money.cancel_voided"
        mentions = discord.AllowedMentions.none()
        await interaction.response.edit_message(
            content=t(interaction.locale, key, contract_id=case.contract_id), view=None, allowed_mentions=mentions
        )
        log.info("case %s: cancel (deposit arrived: %s) by moderator %s", case.id, self.deposit_arrived,
                 interaction.user.id)
        guild = await bot.services.guilds.require(interaction.guild_id)
        if case.mod_message_id is None:
            return
        try:
            card = await bot.get_partial_messageable(guild.mod_channel_id).fetch_message(case.mod_message_id)
            embed, view = decided_card(card, guild.locale, case, self.action, interaction.user.id, at,
                                       self.reason.value)
            await card.edit(embed=embed, view=view, allowed_mentions=mentions)
        except discord.HTTPException as error:  # the card is gone: the decision is recorded anyway
            log.warning("case %s: could not show the decision on its card: %s", case.id, error)


class _CaseButton(MarketButton):
    async def run(self, interaction: Interaction) -> None:
        services = interaction.client.services
        guild_id = await self.guild_id(interaction)
        await require_case_moderator(interaction, guild_id)
        await services.cases.check_action(guild_id, self.target_id, moderator_id=interaction.user.id,
                                          action=self.action)
        await interaction.response.send_modal(
            CaseActionModal(self.target_id, self.action, interaction.locale, guild_id)
        )


@register_button("case", "nudge")
class NudgeButton(_CaseButton):
    label_key = "button.case.nudge"
    style = discord.ButtonStyle.primary


@register_button("case", "extend")
class ExtendButton(_CaseButton):
    label_key = "button.case.extend"
    style = discord.ButtonStyle.secondary


@register_button("case", "cancel")
class CancelButton(_CaseButton):
    """Cancel before funding. If the client declared a deposit nobody confirmed, first ask the
    moderator, privately, whether the money arrived (two buttons); their answer opens the modal."""

    label_key = "button.case.cancel"
    style = discord.ButtonStyle.danger

    async def run(self, interaction: Interaction) -> None:
        services = interaction.client.services
        guild_id = await self.guild_id(interaction)
        await require_case_moderator(interaction, guild_id)
        declared = await services.cases.check_action(
            guild_id, self.target_id, moderator_id=interaction.user.id, action="cancel"
        )
        if declared is None:
            await interaction.response.send_modal(CaseActionModal(self.target_id, "cancel", interaction.locale,
                                                                  guild_id))
            return
        _, contract = await services.cases.get(guild_id, self.target_id)
        assert contract is not None
        locale = interaction.locale
        text = t(locale, "ui.money.cancel_question", contract_id=contract.id,
                 amount=format_money(declared.amount, contract.currency, locale), reference=declared.reference or "-")
        view = build_view([f"case:{self.target_id}:cancel_arrived", f"case:{self.target_id}:cancel_nothing"],
                          language_of(locale))
        assert view is not None
        await interaction.response.send_message(text, view=view, ephemeral=True,
                                                allowed_mentions=discord.AllowedMentions.none())


class _DepositAnswer(MarketButton):
    """An answer to the cancel's deposit question: the reason modal, then the cancel."""

    arrived: bool = False

    async def run(self, interaction: Interaction) -> None:
        services = interaction.client.services
        guild_id = await self.guild_id(interaction)
        await require_case_moderator(interaction, guild_id)
        await services.cases.check_action(
            guild_id, self.target_id, moderator_id=interaction.user.id, action="cancel"
        )
        await interaction.response.send_modal(
            CaseActionModal(self.target_id, "cancel", interaction.locale, guild_id, deposit_arrived=self.arrived)
        )


@register_button("case", "cancel_arrived")
class DepositArrivedButton(_DepositAnswer):
    label_key = "button.money.arrived"
    style = discord.ButtonStyle.success
    arrived = True


@register_button("case", "cancel_nothing")
class NothingArrivedButton(_DepositAnswer):
    label_key = "button.money.nothing"
    style = discord.ButtonStyle.secondary
    arrived = False


@register_button("case", "release")
class ReleaseButton(_CaseButton):
    label_key = "button.case.release"
    style = discord.ButtonStyle.success


@register_button("case", "refund")
class RefundButton(_CaseButton):
    label_key = "button.case.refund"
    style = discord.ButtonStyle.danger


@register_button("case", "split")
class SplitButton(_CaseButton):
    label_key = "button.case.split"
    style = discord.ButtonStyle.primary


@register_button("case", "close")
class CloseButton(_CaseButton):
    label_key = "button.case.close"
    style = discord.ButtonStyle.secondary


@register_button("case", "uphold")
class UpholdButton(_CaseButton):
    """Closes a report as upheld: it counts in the reported user's figures."""

    label_key = "button.case.uphold"
    style = discord.ButtonStyle.danger


@register_button("case", "dismiss")
class DismissButton(_CaseButton):
    label_key = "button.case.dismiss"
    style = discord.ButtonStyle.secondary


@register_button("case", "join")
class JoinThreadButton(MarketButton):
    """Adds the moderator who clicks to the contract's private thread."""

    label_key = "button.case.join"
    style = discord.ButtonStyle.secondary

    async def run(self, interaction: Interaction) -> None:
        await require_moderator(interaction)
        assert interaction.guild_id is not None
        bot = interaction.client
        _, contract = await bot.services.cases.get(interaction.guild_id, self.target_id)
        if contract is None or contract.thread_id is None:
            raise WrongState("error.case.no_thread", case_id=self.target_id)
        await interaction.response.defer(ephemeral=True, thinking=True)
        thread = await bot.fetch_channel(contract.thread_id)
        if not isinstance(thread, discord.Thread):
            raise WrongState("error.case.no_thread", case_id=self.target_id)
        await thread.add_user(interaction.user)
        await interaction.followup.send(
            t(interaction.locale, "ui.case.joined", thread=thread.mention, contract_id=contract.id),
            ephemeral=True,
            allowed_mentions=discord.AllowedMentions.none(),
        )
