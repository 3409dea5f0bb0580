"""What contracts look like on Discord: the terms card, the offer DM, the history pages, the
escrow status. The contract's private thread itself is opened by
``bot.notifications.threads.ContractThreads``.

Everything here renders in the ``language`` it is given: the reader's for DMs and ephemeral
answers, the guild's for thread posts.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable
from datetime import datetime
from typing import TYPE_CHECKING

import discord

from bot.errors import MarketError
from bot.i18n import has, t
from bot.models.entities import Amendment, Contract, OutboxItem, Terms
from bot.models.evidence import TOO_LARGE, UNAVAILABLE
from bot.notifications.dispatcher import Rendered
from bot.services.contracts import ContractView
from bot.services.escrow import EscrowStatus
from bot.services.history import ContractHistory
from bot.services.reputation import ClientFigures
from bot.ui.buttons import build_view
from bot.ui.format import format_args, format_money, format_time
from bot.ui.job_board import client_line
from bot.ui.paginator import Page, pages_of_lines

if TYPE_CHECKING:
    from bot.app import MarketBot

log = logging.getLogger(__name__)

NO_MENTIONS = discord.AllowedMentions.none()

# Discord's limits (https://discord.com/developers/docs/resources/message#embed-object-embed-limits)
EMBED_TITLE = 256
EMBED_DESCRIPTION = 4096
EMBED_FIELD = 1024
CONTENT = 2000

# History: one page (an embed) per message; the JSON file attached to the first holds everything.
HISTORY_PAGE = 3800
HISTORY_MESSAGES = 5  # the answer and up to four followups
EVENTS_PER_BLOCK = 10


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


def reverts_flag(version: int | None, language: object, revision_id: int | None = None) -> str:
    """The A → B → A flag: back to an earlier terms version, or to an earlier revision request."""
    if version:
        return t(language, "ui.contract.reverts", version=version)
    return t(language, "ui.scope.reverts_revision", revision_id=revision_id) if revision_id else ""


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
    if terms.reverts_to or terms.reverts_to_revision:
        version = f"{version}\n{reverts_flag(terms.reverts_to, language, terms.reverts_to_revision)}"
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
        if contract.paused_at is not None:
            embed.add_field(name=t(language, "ui.contract.field_paused"), inline=False,
                            value=t(language, f"ui.contract.paused_{contract.pause_reason or 'case'}",
                                    since=format_time(contract.paused_at)))
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


def list_pages(contracts: list[Contract], user_id: int, status: str | None, language: object) -> list[Page]:
    """``/contract list``: a header and one line per contract, cut into pages of whole lines."""
    empty_key = "ui.contract.list_empty_status" if status else "ui.contract.list_empty"
    lines = [
        t(
            language,
            "ui.contract.list_line",
            contract_id=contract.id,
            status=status_word(contract.status, language),
            role=role_word(contract, user_id, language),
            client=mention(contract.client_id),
            worker=mention(contract.worker_id),
        )
        for contract in contracts
    ]
    return pages_of_lines(t(language, "ui.contract.list_header", count=len(contracts)), lines,
                          empty=t(language, empty_key, status=status_word(status or "", language)))


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
    it can. One function per section, each returning its heading (if any) and its blocks."""
    return [
        *_header_blocks(history, language),
        *_version_blocks(history, language),
        *_amendment_blocks(history, language),
        *_revision_blocks(history, language),
        *_delivery_blocks(history, language),
        *_deposit_blocks(history, language),
        *_message_blocks(history, language),
        *_event_blocks(history, language),
    ]


def _header_blocks(history: ContractHistory, language: object) -> list[str]:
    contract = history.contract
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
    return blocks


def _version_blocks(history: ContractHistory, language: object) -> list[str]:
    code = history.contract.currency
    blocks = [t(language, "ui.contract.history_versions")]
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
        if terms.reverts_to or terms.reverts_to_revision:
            lines.append(f"**{reverts_flag(terms.reverts_to, language, terms.reverts_to_revision)}**")
        if terms.reason:
            lines.append(t(language, "ui.contract.history_reason", reason=terms.reason))
        lines.append(_quote(terms.scope))
        blocks.append("\n".join(lines))
    return blocks


def _amendment_changes(amendment: Amendment, code: str, language: object) -> str:
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
    return ", ".join(changes) or "-"


def _amendment_blocks(history: ContractHistory, language: object) -> list[str]:
    code = history.contract.currency
    blocks = [t(language, "ui.contract.history_amendments")] if history.amendments else []
    for amendment in history.amendments:
        lines = [
            t(
                language,
                "ui.contract.history_amendment",
                amendment_id=amendment.id,
                at=_at(amendment.created_at),
                by=mention(amendment.proposed_by),
                status=word("ui.contract.amendment_status", amendment.status, language),
                base=amendment.base_version,
                changes=_amendment_changes(amendment, code, language),
            )
        ]
        if amendment.reverts_to or amendment.reverts_to_revision:
            lines.append(f"**{reverts_flag(amendment.reverts_to, language, amendment.reverts_to_revision)}**")
        if amendment.new_version:
            lines.append(t(language, "ui.contract.history_became", version=amendment.new_version))
        lines.append(t(language, "ui.contract.history_reason", reason=amendment.reason))
        if amendment.scope is not None:
            lines.append(_quote(amendment.scope))
        blocks.append("\n".join(lines))
    return blocks


def _revision_blocks(history: ContractHistory, language: object) -> list[str]:
    blocks = [t(language, "ui.contract.history_revisions")] if history.revisions else []
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
        if revision.reverts_to or revision.reverts_to_revision:
            lines.append(f"**{reverts_flag(revision.reverts_to, language, revision.reverts_to_revision)}**")
        if revision.amendment_id:
            lines.append(t(language, "ui.scope.history_became_amendment", amendment_id=revision.amendment_id))
        lines.append(_quote(revision.reason))
        blocks.append("\n".join(lines))
    return blocks


def _delivery_blocks(history: ContractHistory, language: object) -> list[str]:
    blocks = [t(language, "ui.contract.history_deliveries")] if history.deliveries else []
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
    return blocks


def _deposit_blocks(history: ContractHistory, language: object) -> list[str]:
    code = history.contract.currency
    blocks = [t(language, "ui.contract.history_deposits")] if history.deposits else []
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
    return blocks


def _message_blocks(history: ContractHistory, language: object) -> list[str]:
    """The thread's kept messages (RECORD_THREAD_MESSAGES), or why there are none."""
    if not history.messages:
        key = "ui.evidence.none_yet" if history.messages_recorded else "ui.evidence.not_recorded"
        return [t(language, "ui.evidence.heading"), t(language, key)]
    note = "ui.evidence.recorded" if history.messages_recorded else "ui.evidence.off_now"
    blocks = [t(language, "ui.evidence.heading"), t(language, note)]
    for logged in history.messages:
        kept = logged.message
        lines = [t(language, "ui.evidence.message", at=_at(kept.created_at), by=mention(kept.author_id))]
        if kept.erased_at is not None:
            lines.append(t(language, "ui.evidence.erased", at=_at(kept.erased_at)))
        elif kept.content:
            lines.append(_quote(kept.content))
        for edit in logged.edits:
            lines.append(t(language, "ui.evidence.edited", at=_at(edit.edited_at)))
            if edit.content:
                lines.append(_quote(edit.content))
        for file in logged.files:
            name = file.filename if file.filename is not None else t(language, "ui.evidence.erased_name")
            key = {TOO_LARGE: "ui.evidence.file_too_large", UNAVAILABLE: "ui.evidence.file_unavailable"}.get(
                file.note or "", "ui.evidence.file")
            lines.append(t(language, key, filename=name, size=file.size, sha256=file.sha256 or "-"))
        if kept.deleted_at is not None:
            lines.append(t(language, "ui.evidence.deleted", at=_at(kept.deleted_at)))
        blocks.append("\n".join(lines))
    return blocks


def _event_blocks(history: ContractHistory, language: object) -> list[str]:
    if not history.events:
        return []
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
    blocks = [t(language, "ui.contract.history_events")]
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
