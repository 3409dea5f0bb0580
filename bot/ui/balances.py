"""How money owed and paid is shown: ``/profile balance``, ``/mod balance`` (the totals and the
list of everyone owed) and the daily payout digest in the mod channel. Every amount is shown
in the currency it is held in; a list longer than a message is paged (bot/ui/paginator.py)."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import TYPE_CHECKING, Any

from bot.i18n import t
from bot.models.entities import OutboxItem
from bot.models.timeutil import from_iso
from bot.notifications.dispatcher import Rendered
from bot.services.escrow import Balance, MyMoney, Owed
from bot.ui.format import format_money, format_relative, format_time
from bot.ui.paginator import MAX_CONTENT, Page, pages_of_lines

if TYPE_CHECKING:
    from bot.app import MarketBot


def owed_line(language: object, user_id: int, currency: str, owed: int, refund: int, since: datetime) -> str:
    return t(language, "ui.money.owed_line", user=f"<@{user_id}>", owed=format_money(owed, currency, language),
             refund=format_money(refund, currency, language), since=format_relative(since))


def user_balance_text(language: object, mention: str, balances: Sequence[Balance]) -> str:
    """``/mod balance user``: what one user is owed, a block per currency."""
    return "\n\n".join(
        t(language, "ui.mod.balance_user", user=mention, owed=format_money(b.owed, b.currency, language),
          refund=format_money(b.refund, b.currency, language), total=format_money(b.total_owed, b.currency, language))
        for b in balances
    )


def guild_balance_pages(language: object, balances: Sequence[Balance], owed: Sequence[Owed]) -> list[Page]:
    """``/mod balance``: the server's totals per currency, then everyone owed money, paged."""
    totals = "\n\n".join(
        t(language, "ui.mod.balance_guild", escrow=format_money(b.escrow_total, b.currency, language),
          owed=format_money(b.owed, b.currency, language), refund=format_money(b.refund, b.currency, language),
          fees=format_money(b.fees, b.currency, language))
        for b in balances
    )
    lines = [owed_line(language, o.user_id, o.currency, o.owed, o.refund, o.since) for o in owed]
    return pages_of_lines(f"{totals}\n\n{t(language, 'ui.money.owed_header')}", lines,
                          empty=f"{totals}\n\n{t(language, 'ui.money.nobody_owed')}")


def my_money_pages(language: object, money: MyMoney) -> list[Page]:
    """``/profile balance``: per currency what is owed, held and paid; then each payout, latest first."""
    blocks = [
        t(language, "ui.money.mine_currency", currency=line.currency,
          owed=format_money(line.owed, line.currency, language),
          refund=format_money(line.refund, line.currency, language),
          escrow_worker=format_money(line.escrow_as_worker, line.currency, language),
          escrow_client=format_money(line.escrow_as_client, line.currency, language),
          paid=format_money(line.paid_out, line.currency, language))
        for line in money.lines
    ]
    summary = "\n\n".join([t(language, "ui.money.mine_header"), *blocks])
    lines = [
        t(language, "ui.money.payout_line", at=format_time(p.at, "d"),
          amount=format_money(p.amount, p.currency, language), reference=p.reference or "-")
        for p in money.payouts
    ]
    return pages_of_lines(f"{summary}\n\n{t(language, 'ui.money.payouts_header')}", lines,
                          empty=f"{summary}\n\n{t(language, 'ui.money.no_payouts')}")


class PayoutDigest:
    """Render the daily ``mod.payout_digest`` row: one line per user and currency owed for too
    long, cut to one message (``/mod balance`` has the whole list)."""

    def __init__(self, bot: MarketBot) -> None:
        self.bot = bot

    async def render(self, item: OutboxItem, language: str) -> Rendered:
        entries: list[dict[str, Any]] = list(item.arguments.get("owed") or [])
        lines = [
            owed_line(language, int(e["user_id"]), str(e["currency"]), int(e["owed_amount"]),
                      int(e["refund_amount"]), from_iso(str(e["since_at"])))
            for e in entries
        ]
        more = t(language, "ui.money.digest_more")
        room = MAX_CONTENT - len(t(language, "ui.money.digest", lines="")) - len(more) - 2
        shown: list[str] = []
        for line in lines:
            if sum(len(s) + 1 for s in shown) + len(line) > room:
                shown.append(more)
                break
            shown.append(line)
        return Rendered(t(language, "ui.money.digest", lines="\n".join(shown)))
