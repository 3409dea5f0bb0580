"""How long money has been owed, read from ledger entries. Pure: no I/O.

An owed-to-worker or refund-owed account is credited by settlements and debited by payouts.
Payouts clear the oldest credits first (FIFO), so the debt is as old as the earliest credit
that later payouts have not covered: that moment is what the moderators' list and the daily
digest show, and what ``payout_reminder_after`` is counted from.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime


def owed_since(entries: Iterable[tuple[int, datetime]]) -> datetime | None:
    """The time of the earliest credit not covered by the debits (FIFO); None if nothing is owed.

    ``entries`` are (amount, time) of one account in one currency, in any order: credits are
    positive, payouts negative."""
    ordered = sorted(entries, key=lambda entry: entry[1])
    paid = -sum(amount for amount, _ in ordered if amount < 0)
    for amount, at in ordered:
        if amount <= 0:
            continue
        if paid < amount:
            return at
        paid -= amount
    return None
