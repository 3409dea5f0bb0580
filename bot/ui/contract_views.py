"""What contracts look like on Discord: the terms card, the offer DM, the history pages, the
escrow status; and the contract's private thread.

The thread is created lazily (:class:`ContractThreads`, installed as the outbox dispatcher's
``thread_resolver`` by the contracts cog): the first row that must go to the thread of an
accepted contract creates a private thread in the guild's contracts channel (the jobs channel
if none is set), adds both parties, posts the terms card and pins it. Offers that were never
accepted have no thread (the dispatcher then writes a note in the mod channel). A
``thread.terms_changed`` row edits the pinned card to the new version.

Everything here renders in the ``language`` it is given: the reader's for DMs and ephemeral
answers, the guild's for thread posts.
"""

from __future__ import annotations

import contextlib
import logging
from collections.abc import Iterable
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Literal, NoReturn

import discord

from bot.errors import MarketError
from bot.i18n import has, t
from bot.models.entities import Contract, OutboxItem, Terms
from bot.services.contracts import ContractView
from bot.services.escrow import EscrowStatus
from bot.services.history import ContractHistory
from bot.services.reputation import ClientFigures
from bot.ui.buttons import build_view
from bot.ui.format import format_args, format_money, format_time
from bot.ui.job_board import client_line
from bot.ui.notify import Rendered, ThreadUnavailable

if TYPE_CHECKING:
    from bot.app import MarketBot

log = logging.getLogger(__name__)

NO_MENTIONS = discord.AllowedMentions.none()

# Discord's limits (https://discord.com/developers/docs/resources/message#embed-object-embed-limits)
EMBED_TITLE = 256
EMBED_DESCRIPTION = 4096
EMBED_FIELD = 1024
CONTENT = 2000
THREAD_NAME = 100

# History: one page (an embed) per message; the JSON file attached to the first holds everything.
HISTORY_PAGE = 3800
HISTORY_MESSAGES = 5  # the answer and up to four followups
EVENTS_PER_BLOCK = 10

THREAD_ARCHIVE_MINUTES: Literal[10080] = 10080  # a week: contracts run for days


def clip(text: str, limit: int) -> str:
    return text if len(text) <= limit else text[: limit - 1] + "…"


def mention(user_id: int | None) -> str:
    return f"<@{user_id}>" if user_id else "-"


def money(amount: int, code: str, language: object) -> str:
    return format_money(amount, code, language)


def word(table: str, value: str, language: object) -> str:
    """``value`` translated from the ``table`` vocabulary (e.g. ``status``), else as it is."""
    key = f"{table}.{value}"
    return t(language, key) if has(key) else value


def status_word(status: str, language: object) -> str:
    return word("status", status, language)


def deadline_text(terms: Terms, language: object) -> str:
    deadline = terms.deadline
    if deadline.days is not None:
        return t(language, "ui.contract.deadline_days", days=deadline.days)
    assert deadline.on is not None
    return t(language, "ui.contract.deadline_date", date=deadline.on.isoformat())


def reverts_flag(version: int | None, language: object) -> str:
    return t(language, "ui.contract.reverts", version=version) if version else ""


# -- the terms card ------------------------------------------------------------------


def terms_embed(view: ContractView, language: object, *, with_status: bool = False) -> discord.Embed:
    """The current terms of a contract: scope, price, fee, payout, delivery time, revisions."""
    contract, terms = view.contract, view.terms
    fee, payout = view.fee_and_payout
    code = contract.currency
    embed = discord.Embed(
        title=clip(t(language, "ui.contract.card_title", contract_id=contract.id, title=view.job_title), EMBED_TITLE),
        description=clip(terms.scope, EMBED_DESCRIPTION - 200),
        colour=discord.Colour.blurple(),
        timestamp=terms.created_at,
    )
    version = t(language, "ui.contract.version_value", version=terms.version)
    if terms.reverts_to:
        version = f"{version}\n{reverts_flag(terms.reverts_to, language)}"
    embed.add_field(name=t(language, "ui.contract.field_price"), value=money(terms.price, code, language))
    embed.add_field(
        name=t(language, "ui.contract.field_fee", percent=terms.fee_percent), value=money(fee, code, language)
    )
    embed.add_field(name=t(language, "ui.contract.field_payout"), value=money(payout, code, language))
    embed.add_field(name=t(language, "ui.contract.field_deadline"), value=deadline_text(terms, language))
    embed.add_field(name=t(language, "ui.contract.field_revisions"), value=str(terms.revisions_included))
    embed.add_field(name=t(language, "ui.contract.field_version"), value=version)
    embed.add_field(name=t(language, "ui.contract.field_client"), value=mention(contract.client_id))
    embed.add_field(name=t(language, "ui.contract.field_worker"), value=mention(contract.worker_id))
    if with_status:
        embed.add_field(name=t(language, "ui.contract.field_status"), value=status_word(contract.status, language))
        if contract.due_at is not None:
            embed.add_field(name=t(language, "ui.contract.field_due"), value=format_time(contract.due_at))
        if contract.topup_due:
            embed.add_field(
                name=t(language, "ui.contract.field_topup"), value=money(contract.topup_due, code, language)
            )
    embed.set_footer(text=t(language, "ui.contract.card_footer", version=terms.version))
    return embed


# -- the offer DM --------------------------------------------------------------------


def offer_embed(view: ContractView, figures: ClientFigures | None, language: object) -> discord.Embed:
    embed = terms_embed(view, language)
    if figures is not None:
        embed.add_field(
            name=t(language, "ui.contract.field_about_client"),
            value=clip(client_line(figures, language), EMBED_FIELD),
            inline=False,
        )
    return embed


class OfferRenderer:
    """``notify.offer_received``: the offer text, the terms card with the client's figures, and
    the Accept / Decline buttons."""

    def __init__(self, bot: MarketBot) -> None:
        self.bot = bot

    async def __call__(self, item: OutboxItem, language: str) -> Rendered:
        services = self.bot.services
        text = t(language, item.message_key, **format_args(item.arguments, language))
        buttons = build_view(item.button_list, language)
        embed: discord.Embed | None = None
        if item.contract_id is not None and item.recipient_id is not None:
            try:
                view = await services.contracts.view(item.guild_id, item.contract_id, viewer_id=item.recipient_id)
                figures = await services.reputation.client_figures(item.guild_id, view.contract.client_id)
                embed = offer_embed(view, figures, language)
            except MarketError as error:
                # the text and the buttons still go out; the card is a convenience
                log.warning("outbox %s: no terms card for contract %s: %s", item.id, item.contract_id, error)
        return Rendered(text, embed, buttons)


# -- the contract list ----------------------------------------------------------------


def role_word(contract: Contract, user_id: int, language: object) -> str:
    role = contract.party_role(user_id)
    return t(language, f"ui.contract.role_{role or 'moderator'}")


def contract_choice(contract: Contract, user_id: int, language: object) -> str:
    """An autocomplete entry (at most 100 characters)."""
    return clip(
        t(
            language,
            "ui.contract.choice",
            contract_id=contract.id,
            status=status_word(contract.status, language),
            role=role_word(contract, user_id, language),
        ),
        100,
    )


def list_text(contracts: list[Contract], user_id: int, status: str | None, language: object) -> str:
    if not contracts:
        key = "ui.contract.list_empty_status" if status else "ui.contract.list_empty"
        return t(language, key, status=status_word(status or "", language))
    text = t(language, "ui.contract.list_header", count=len(contracts))
    for contract in contracts:
        line = t(
            language,
            "ui.contract.list_line",
            contract_id=contract.id,
            status=status_word(contract.status, language),
            role=role_word(contract, user_id, language),
            client=mention(contract.client_id),
            worker=mention(contract.worker_id),
        )
        if len(text) + len(line) + 3 > CONTENT:
            return f"{text}\n…"  # whole lines only; the status option narrows the list
        text = f"{text}\n{line}"
    return text


# -- the history ------------------------------------------------------------------------


def _quote(text: str) -> str:
    return "\n".join(f"> {line}" if line else ">" for line in text.splitlines())


def _at(when: datetime | None) -> str:
    return format_time(when) if when is not None else "-"


def event_label(kind: str, language: object) -> str:
    key = f"ui.contract.event.{kind.replace('.', '_')}"
    return t(language, key) if has(key) else f"`{kind}`"  # a kind added later: its code


def history_blocks(history: ContractHistory, language: object) -> list[str]:
    """The history as text blocks, in reading order; each block stays together on a page when
    it can."""
    contract = history.contract
    code = contract.currency
    blocks = [
        t(
            language,
            "ui.contract.history_header",
            contract_id=contract.id,
            title=history.job_title,
            status=status_word(contract.status, language),
            client=mention(contract.client_id),
            worker=mention(contract.worker_id),
        )
    ]
    reverts = history.reverts
    if reverts:
        blocks.append(t(language, "ui.contract.history_reverts_summary", count=len(reverts)))

    blocks.append(t(language, "ui.contract.history_versions"))
    for terms in history.versions:
        head = t(
            language,
            "ui.contract.history_version",
            version=terms.version,
            at=_at(terms.created_at),
            by=mention(terms.created_by),
            price=money(terms.price, code, language),
            deadline=deadline_text(terms, language),
            revisions=terms.revisions_included,
        )
        lines = [head]
        if terms.reverts_to:
            lines.append(f"**{reverts_flag(terms.reverts_to, language)}**")
        if terms.reason:
            lines.append(t(language, "ui.contract.history_reason", reason=terms.reason))
        lines.append(_quote(terms.scope))
        blocks.append("\n".join(lines))

    if history.amendments:
        blocks.append(t(language, "ui.contract.history_amendments"))
    for amendment in history.amendments:
        changes = []
        if amendment.scope is not None:
            changes.append(t(language, "ui.contract.history_change_scope"))
        if amendment.price is not None:
            price = money(amendment.price, code, language)
            changes.append(t(language, "ui.contract.history_change_price", price=price))
        if amendment.deadline_days is not None or amendment.deadline_date is not None:
            deadline = (
                t(language, "ui.contract.deadline_days", days=amendment.deadline_days)
                if amendment.deadline_days is not None
                else t(language, "ui.contract.deadline_date", date=amendment.deadline_date)
            )
            changes.append(t(language, "ui.contract.history_change_deadline", deadline=deadline))
        lines = [
            t(
                language,
                "ui.contract.history_amendment",
                amendment_id=amendment.id,
                at=_at(amendment.created_at),
                by=mention(amendment.proposed_by),
                status=word("ui.contract.amendment_status", amendment.status, language),
                base=amendment.base_version,
                changes=", ".join(changes) or "-",
            )
        ]
        if amendment.reverts_to:
            lines.append(f"**{reverts_flag(amendment.reverts_to, language)}**")
        if amendment.new_version:
            lines.append(t(language, "ui.contract.history_became", version=amendment.new_version))
        lines.append(t(language, "ui.contract.history_reason", reason=amendment.reason))
        if amendment.scope is not None:
            lines.append(_quote(amendment.scope))
        blocks.append("\n".join(lines))

    if history.revisions:
        blocks.append(t(language, "ui.contract.history_revisions"))
    for revision in history.revisions:
        kind = "ui.contract.history_included" if revision.included else "ui.contract.history_extra"
        lines = [
            t(
                language,
                "ui.contract.history_revision",
                revision_id=revision.id,
                at=_at(revision.created_at),
                by=mention(revision.requested_by),
                delivery_id=revision.delivery_id,
                version=revision.terms_version,
                kind=t(language, kind),
                status=word("ui.contract.revision_status", revision.status, language),
            )
        ]
        if revision.reverts_to:
            lines.append(f"**{reverts_flag(revision.reverts_to, language)}**")
        lines.append(_quote(revision.reason))
        blocks.append("\n".join(lines))

    if history.deliveries:
        blocks.append(t(language, "ui.contract.history_deliveries"))
    for delivery in history.deliveries:
        lines = [
            t(
                language,
                "ui.contract.history_delivery",
                delivery_id=delivery.id,
                at=_at(delivery.created_at),
                version=delivery.terms_version,
                outcome=word("ui.contract.outcome", delivery.outcome, language) if delivery.outcome else "-",
            )
        ]
        if delivery.note:
            lines.append(t(language, "ui.contract.history_note", note=delivery.note))
        for file in (f for f in history.files if f.delivery_id == delivery.id):
            lines.append(
                t(language, "ui.contract.history_file", filename=file.filename, size=file.size, sha256=file.sha256)
            )
        blocks.append("\n".join(lines))

    if history.deposits:
        blocks.append(t(language, "ui.contract.history_deposits"))
    for deposit in history.deposits:
        blocks.append(
            deposit_line(
                deposit.id,
                deposit.kind,
                deposit.amount,
                code,
                deposit.status,
                deposit.reference,
                deposit.declared_at,
                deposit.confirmed_at,
                language,
            )
        )

    if history.events:
        blocks.append(t(language, "ui.contract.history_events"))
        lines = [
            t(
                language,
                "ui.contract.history_event",
                at=_at(event.created_at),
                event=event_label(event.kind, language),
                by=mention(event.actor_id) if event.actor_id else t(language, "ui.contract.by_system"),
            )
            for event in history.events
        ]
        # consecutive lines, a few per block so that a page break can fall between them
        blocks.extend("\n".join(lines[i : i + EVENTS_PER_BLOCK]) for i in range(0, len(lines), EVENTS_PER_BLOCK))
    return blocks


def paginate(blocks: Iterable[str], size: int = HISTORY_PAGE) -> list[str]:
    """Join blocks into pages of at most ``size`` characters; a block longer than a page is cut
    across pages."""
    pages: list[str] = []
    current = ""
    for block in blocks:
        while len(block) > size:
            if current:
                pages.append(current)
                current = ""
            pages.append(block[:size])
            block = block[size:]
        candidate = f"{current}\n\n{block}" if current else block
        if len(candidate) > size:
            pages.append(current)
            current = block
        else:
            current = candidate
    if current:
        pages.append(current)
    return pages


def history_pages(history: ContractHistory, language: object) -> list[discord.Embed]:
    """The history as page embeds, one per message (a page stays under Discord's 6000-character
    total per message). Beyond :data:`HISTORY_MESSAGES` pages the last one says that the
    attached file has everything."""
    pages = paginate(history_blocks(history, language))
    truncated = len(pages) > HISTORY_MESSAGES
    pages = pages[:HISTORY_MESSAGES]
    if truncated:
        pages[-1] = f"{pages[-1]}\n\n{t(language, 'ui.contract.history_truncated')}"
    title = clip(t(language, "ui.contract.history_title", contract_id=history.contract.id), EMBED_TITLE)
    embeds = []
    for number, page in enumerate(pages, start=1):
        embed = discord.Embed(title=title, description=clip(page, EMBED_DESCRIPTION), colour=discord.Colour.dark_teal())
        embed.set_footer(text=t(language, "ui.contract.history_page", page=number, pages=len(pages)))
        embeds.append(embed)
    return embeds


def history_filename(contract_id: int) -> str:
    return f"contract-{contract_id}-history.json"


# -- escrow ----------------------------------------------------------------------------


def deposit_line(
    deposit_id: int,
    kind: str,
    amount: int,
    code: str,
    status: str,
    reference: str | None,
    declared_at: datetime,
    confirmed_at: datetime | None,
    language: object,
) -> str:
    key = "ui.escrow.deposit_confirmed" if confirmed_at is not None else "ui.escrow.deposit_declared"
    return t(
        language,
        key,
        deposit_id=deposit_id,
        kind=word("ui.escrow.kind", kind, language),
        amount=money(amount, code, language),
        status=word("ui.escrow.deposit_status", status, language),
        reference=reference or "-",
        declared_at=_at(declared_at),
        confirmed_at=_at(confirmed_at),
    )


def escrow_embed(status: EscrowStatus, language: object) -> discord.Embed:
    contract = status.contract
    code = contract.currency
    embed = discord.Embed(
        title=t(language, "ui.escrow.status_title", contract_id=contract.id), colour=discord.Colour.gold()
    )
    embed.add_field(name=t(language, "ui.contract.field_status"), value=status_word(contract.status, language))
    embed.add_field(name=t(language, "ui.contract.field_price"), value=money(status.price, code, language))
    embed.add_field(name=t(language, "ui.escrow.field_held"), value=money(status.held, code, language))
    if status.topup_due:
        embed.add_field(name=t(language, "ui.contract.field_topup"), value=money(status.topup_due, code, language))
    embed.add_field(name=t(language, "ui.contract.field_client"), value=mention(contract.client_id))
    embed.add_field(name=t(language, "ui.contract.field_worker"), value=mention(contract.worker_id))
    lines = [
        deposit_line(d.id, d.kind, d.amount, code, d.status, d.reference, d.declared_at, d.confirmed_at, language)
        for d in status.deposits
    ]
    embed.description = clip("\n".join(lines) or t(language, "ui.escrow.no_deposits"), EMBED_DESCRIPTION)
    return embed


# -- buttons after a click -------------------------------------------------------------


# -- the contract thread ----------------------------------------------------------------


class ContractThreads:
    """The outbox dispatcher's ``thread_resolver`` and the pinned terms card.

    Called only by the dispatcher, whose passes are serialized, so two rows never create two
    threads for one contract. The thread id is stored as soon as Discord created the thread;
    both parties are then added (again on the next row if Discord answered 429 / 5xx, so a
    thread is never created twice). The terms card is a convenience (``/contract view`` shows
    the same), so failing to post or pin it is logged and the row still goes to the thread.

    When Discord refuses to create the thread for good (403: a permission is missing; any
    other 4xx), a note tells the moderators and :class:`ThreadUnavailable` sends the row to the
    mod channel; the contract's later rows go there too without asking Discord again until
    :attr:`RETRY_AFTER` has passed (time for an admin to fix the permissions).
    """

    RETRY_AFTER = timedelta(hours=1)

    def __init__(self, bot: MarketBot) -> None:
        self.bot = bot
        # contract id -> (when, why) Discord refused to create its thread
        self._refused: dict[int, tuple[datetime, str]] = {}
        # contract id -> its thread, created and stored, whose parties are not all added yet
        self._opening: dict[int, discord.Thread] = {}

    async def resolve(self, item: OutboxItem) -> int | None:
        if item.contract_id is None:
            return None
        services = self.bot.services
        thread_id = await services.contracts.thread_id_of(item.contract_id)
        opening = self._opening.get(item.contract_id)
        if thread_id is not None and opening is None:
            return thread_id
        contract = await services.contracts.get(item.contract_id)
        if contract is None:
            return thread_id
        if opening is not None:  # created by an earlier row that Discord then failed
            await self._open(contract, opening)
            return opening.id
        if contract.accepted_at is None:
            return None  # offered, declined, expired, withdrawn: no thread
        refused = self._refused.get(contract.id)
        if refused is not None and self.bot.clock.now() - refused[0] < self.RETRY_AFTER:
            raise ThreadUnavailable(refused[1])
        thread = await self._create(contract)
        if thread is None:
            return None
        self._refused.pop(contract.id, None)
        await services.contracts.set_thread(contract.id, thread.id)
        stored = await services.contracts.thread_id_of(contract.id)
        if stored != thread.id:  # cannot happen while only the dispatcher creates threads
            log.warning("contract %s: thread %s already set; %s left unused", contract.id, stored, thread.id)
            return stored
        self._opening[contract.id] = thread
        await self._open(contract, thread)
        return thread.id

    async def _language(self, guild_id: int) -> str:
        guild = await self.bot.services.guilds.get(guild_id)
        return guild.locale if guild is not None else "en"

    async def _create(self, contract: Contract) -> discord.Thread | None:
        """A private thread in the contracts channel (else the jobs channel)."""
        guild = await self.bot.services.guilds.get(contract.guild_id)
        if guild is None:
            return None
        parent_id = guild.contracts_channel_id or guild.jobs_channel_id
        parent = self.bot.get_channel(parent_id)
        if parent is None:
            try:
                parent = await self.bot.fetch_channel(parent_id)
            except discord.NotFound:
                log.warning(
                    "guild %s: channel %s is gone; no thread for contract %s", contract.guild_id, parent_id, contract.id
                )
                return None
        if not isinstance(parent, discord.TextChannel):
            # a forum jobs channel cannot hold private threads: rows go to the mod channel
            log.warning(
                "guild %s: channel %s cannot hold private threads; no thread for contract %s",
                contract.guild_id,
                parent_id,
                contract.id,
            )
            return None
        view = await self.bot.services.contracts.view(contract.guild_id, contract.id, viewer_id=contract.client_id)
        name = t(guild.locale, "ui.contract.thread_name", contract_id=contract.id, title=view.job_title)
        try:
            thread = await parent.create_thread(
                name=clip(name, THREAD_NAME),
                type=discord.ChannelType.private_thread,
                invitable=False,
                auto_archive_duration=THREAD_ARCHIVE_MINUTES,
            )
        except discord.HTTPException as error:
            if self._transient(error):
                raise  # the row is retried
            await self._refuse(contract, guild.locale, guild.mod_channel_id, parent_id, error)
        log.info("guild %s contract %s: thread %s created", contract.guild_id, contract.id, thread.id)
        return thread

    async def _refuse(
        self, contract: Contract, language: str, mod_channel_id: int, parent_id: int, error: discord.HTTPException
    ) -> NoReturn:
        """Discord will not create the thread: remember it, tell the moderators, and raise."""
        why = f"contract thread not created in channel {parent_id}: {type(error).__name__}: {error}"
        log.warning("guild %s contract %s: %s", contract.guild_id, contract.id, why)
        self._refused[contract.id] = (self.bot.clock.now(), why)
        channel = f"<#{parent_id}>"
        if isinstance(error, discord.Forbidden):
            text = t(language, "dispatch.thread_forbidden", contract_id=contract.id, channel=channel)
        else:
            text = t(
                language, "dispatch.thread_not_created", contract_id=contract.id, channel=channel, error=error.text
            )
        mod = self.bot.get_partial_messageable(mod_channel_id, guild_id=contract.guild_id)
        try:
            await mod.send(clip(text, CONTENT), allowed_mentions=NO_MENTIONS)
        except discord.HTTPException:
            log.exception("guild %s contract %s: the moderators were not told", contract.guild_id, contract.id)
        raise ThreadUnavailable(why) from error

    @staticmethod
    def _transient(error: discord.HTTPException) -> bool:
        """429 and 5xx: worth another try later."""
        return error.status == 429 or error.status >= 500

    async def _open(self, contract: Contract, thread: discord.Thread) -> None:
        """Add both parties to the new thread, then post the pinned card. A 429 / 5xx is
        raised (the row is retried and this runs again); a party Discord will not add (left
        the server, no access) is logged and the thread is used all the same."""
        for user_id in (contract.client_id, contract.worker_id):
            try:
                await thread.add_user(discord.Object(user_id))
            except discord.HTTPException as error:
                if self._transient(error):
                    raise
                log.warning("contract %s: user %s not added to thread %s: %s", contract.id, user_id, thread.id, error)
        del self._opening[contract.id]
        await self._post_card(contract, thread)

    async def _post_card(self, contract: Contract, thread: discord.Thread) -> None:
        """Post the terms card in the new thread and pin it."""
        services = self.bot.services
        language = await self._language(contract.guild_id)
        view = await services.contracts.view(contract.guild_id, contract.id, viewer_id=contract.client_id)
        try:
            card = await thread.send(embed=terms_embed(view, language), allowed_mentions=NO_MENTIONS)
            await services.contracts.set_terms_message(contract.id, card.id)
            await card.pin()
        except discord.HTTPException as error:
            log.warning("contract %s: terms card in thread %s not posted or pinned: %s", contract.id, thread.id, error)

    async def terms_changed(self, item: OutboxItem, message: discord.Message) -> None:
        """After ``thread.terms_changed`` is posted: show the new version on the pinned card."""
        if item.contract_id is None:
            return
        services = self.bot.services
        contract = await services.contracts.get(item.contract_id)
        if contract is None or contract.thread_id is None or contract.terms_message_id is None:
            return
        language = await self._language(contract.guild_id)
        view = await services.contracts.view(contract.guild_id, contract.id, viewer_id=contract.client_id)
        card = self.bot.get_partial_messageable(contract.thread_id, guild_id=contract.guild_id).get_partial_message(
            contract.terms_message_id
        )
        with contextlib.suppress(discord.NotFound):
            await card.edit(embed=terms_embed(view, language), allowed_mentions=NO_MENTIONS)
