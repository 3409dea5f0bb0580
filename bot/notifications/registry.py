"""Every message kind of the outbox and who renders it: one table, wired once at start-up.

Services write outbox rows naming a ``message_key`` (a catalogue key such as
``thread.delivered``). A key not in :func:`message_kinds` is sent as its catalogue text with
the row's buttons (``Dispatcher.compose``); the keys below have their own look or a follow-up
that runs on the sent message. The longest matching prefix wins. ``MarketBot.setup_hook``
calls :func:`wire` right after building the dispatcher, before any cog loads, so no row is
ever sent before its renderer is known.

The renderers themselves (embeds, views) live with the rest of their feature's look in
``bot/ui/``; only the table and the wiring live here.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

from bot.notifications.threads import ContractThreads
from bot.ui.balances import PayoutDigest
from bot.ui.case_cards import CARD_PREFIX, CaseCards
from bot.ui.contract_views import OfferRenderer
from bot.ui.job_board import JobBoard
from bot.ui.review_buttons import DELIVERED_CLIENT, THREAD_DELIVERED, DeliveryRendering

if TYPE_CHECKING:
    from bot.app import MarketBot
    from bot.notifications.dispatcher import Dispatcher, Handler, Renderer, SentHook


@dataclass(frozen=True, slots=True)
class Kind:
    """Rows whose message key starts with ``prefix``: how they are rendered (None: the
    catalogue text and the row's buttons) and what runs on the message once it is sent
    (None: nothing; a 429 / 5xx there retries the follow-up alone)."""

    prefix: str
    render: Renderer | None = None
    after_send: SentHook | None = None


def message_kinds(bot: MarketBot, threads: ContractThreads) -> tuple[Kind, ...]:
    """The table: each message key prefix with its own rendering or follow-up."""
    delivery = DeliveryRendering(bot)
    cards = CaseCards(bot)
    return (
        # the offer DM: text, the terms card with the client's figures, Accept / Decline
        Kind("notify.offer_received", render=OfferRenderer(bot)),
        # the delivery DM: each file with its size and sha256, the review buttons
        Kind(DELIVERED_CLIENT, render=delivery.render),
        # the delivery post in the contract thread, then the stored files attached to it
        Kind(THREAD_DELIVERED, render=delivery.render, after_send=delivery.attach_files),
        # the new terms announced in the thread, then the pinned terms card edited
        Kind("thread.terms_changed", after_send=threads.terms_changed),
        # a case card in the mod channel (embed, decision buttons), then its message remembered
        Kind(CARD_PREFIX, render=cards.render, after_send=cards.remember),
        # the daily digest of money owed for too long, one line per user and currency
        Kind("mod.payout_digest", render=PayoutDigest(bot).render),
    )


def target_handlers(bot: MarketBot) -> dict[str, Handler]:
    """Targets that a feature sends itself (not a DM, thread or mod channel post)."""
    return {
        # a job's post on the job board (a forum post or a message), created or updated
        "board": JobBoard(bot).handle,
        # a report about a moderator: its case card in the server owner's DMs, never the mod channel
        "owner": CaseCards(bot).to_owner,
    }


def wire(bot: MarketBot, dispatcher: Dispatcher) -> None:
    """Register the table, the handlers and the contract thread resolver on ``dispatcher``."""
    threads = ContractThreads(bot)
    dispatcher.thread_resolver = threads.resolve
    for kind in message_kinds(bot, threads):
        if kind.render is not None:
            dispatcher.register_renderer(kind.prefix, kind.render)
        if kind.after_send is not None:
            dispatcher.register_sent_hook(kind.prefix, kind.after_send)
    for target, handler in target_handlers(bot).items():
        dispatcher.register_handler(target, handler)
