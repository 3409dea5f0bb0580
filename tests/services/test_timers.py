"""The reminder and escalation sweep (docs/architecture.md,
"Timers"): for each policy row, nothing before the moment, the reminder at the moment, its
repeats, the final action, and nothing twice; downtime, restarts, crashes, ``/config set``
on the next tick, and the indexed due query.
"""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from bot.models.money import fee_split
from bot.models.timers import Due, Plan, plan_waiting
from bot.models.timeutil import to_iso
from bot.repositories import timers as timers_repo
from bot.services import timers as timers_module
from bot.services.container import Services
from tests.ids import CLIENT, GUILD_ID, MODERATOR, WORKER
from tests.services.helpers import (
    DAY,
    DEFAULT_FILE,
    HOUR,
    MINUTE,
    SECOND,
    THREAD_ID,
    Changes,
    RecordingConn,
    StatementLog,
    balance,
    cases_of,
    completed_contract,
    delivered_contract,
    deposited_contract,
    fake_clock,
    fires_of,
    funded_contract,
    hired_contract,
    no_cooldowns,
    offered_contract,
    outbox_totals,
    reload,
    restarted,
    step,
    sweep_at,
    worker_speaks,
)

pytestmark = pytest.mark.usefixtures("guild")


def opened_case(card: str) -> dict[tuple[str, int | None], int]:
    """What an escalation writes: the case card to the mod channel, both parties told."""
    return {(card, None): 1, ("notify.case_opened", CLIENT): 1, ("notify.case_opened", WORKER): 1}


async def assert_quiet(services: Services, changes: Changes, *moments: datetime) -> None:
    """Sweeps at each moment add no outbox row and no case for the contract, besides the
    moderators' reminder of a case still open (its own tests are in test_clocks.py)."""
    for when in moments:
        added = await step(services, changes, when)
        added.pop(("remind.case_open", None), None)
        assert added == {}, f"something fired at {to_iso(when)}"
        assert await changes.take_cases() == [], f"a case opened at {to_iso(when)}"


# -- plan_waiting, the pure part ---------------------------------------------------------

A = datetime(2026, 3, 1, 12, 0, tzinfo=UTC)
CID = 7


def _key(stage: str, repeat: int, kind: str = "escrow", anchor: datetime = A) -> str:
    return f"{CID}:{kind}:{to_iso(anchor)}:{stage}:{repeat}"


def _plan(now: datetime, *, remind: timedelta = DAY, repeat: timedelta = DAY,
          final: timedelta | None = 3 * DAY, kind: str = "escrow") -> Plan:
    plan = Plan()
    plan_waiting(plan, CID, kind, A, now, remind_after=remind, repeat=repeat, final_after=final)
    return plan


def R(n: int) -> Due:
    return Due(_key("remind", n), "escrow", "remind", n)


FINAL = Due(_key("final", 0), "escrow", "final", 0)


@pytest.mark.parametrize(
    ("now", "reminders", "finals", "next_at"),
    [
        pytest.param(A, [], [], A + DAY, id="at-anchor"),
        pytest.param(A + DAY - SECOND, [], [], A + DAY, id="before-first"),
        pytest.param(A + DAY, [R(0)], [], A + 2 * DAY, id="at-first"),
        pytest.param(A + DAY + 12 * HOUR, [R(0)], [], A + 2 * DAY, id="between-first-and-repeat"),
        pytest.param(A + 2 * DAY - SECOND, [R(0)], [], A + 2 * DAY, id="just-before-repeat"),
        pytest.param(A + 2 * DAY, [R(1)], [], A + 3 * DAY, id="at-repeat"),
        pytest.param(A + 3 * DAY - SECOND, [R(1)], [], A + 3 * DAY, id="just-before-final"),
        pytest.param(A + 3 * DAY, [R(1)], [FINAL], None, id="at-final"),
        pytest.param(A + 30 * DAY, [R(1)], [FINAL], None, id="long-after-final"),
    ],
)
def test_plan_waiting_table(now: datetime, reminders: list[Due], finals: list[Due],
                            next_at: datetime | None) -> None:
    plan = _plan(now)
    assert plan.reminders == reminders
    assert plan.finals == finals
    assert plan.next_at == next_at


def test_plan_waiting_long_after_final_plans_one_reminder_and_the_final() -> None:
    # downtime across every repeat: the latest repeat before the final (same key as a repeat
    # already sent at that moment, so never a second copy), plus the final, nothing else
    plan = _plan(A + 365 * DAY)
    assert [d.key for d in plan.reminders] == [_key("remind", 1)]
    assert [d.key for d in plan.finals] == [_key("final", 0)]
    assert plan.next_at is None


@pytest.mark.parametrize(
    ("now", "repeat_n", "next_at"),
    [
        (A + DAY, 0, A + 2 * DAY),
        (A + 5 * DAY - SECOND, 3, A + 5 * DAY),
        (A + 5 * DAY, 4, A + 6 * DAY),
        (A + 400 * DAY, 399, A + 401 * DAY),
    ],
)
def test_plan_waiting_without_final_repeats_forever(now: datetime, repeat_n: int, next_at: datetime) -> None:
    plan = _plan(now, final=None, kind="deposit3")
    assert plan.reminders == [Due(_key("remind", repeat_n, "deposit3"), "deposit3", "remind", repeat_n)]
    assert plan.finals == []
    assert plan.next_at == next_at


@pytest.mark.parametrize(
    ("now", "repeats", "finals", "next_at"),
    [
        # repeat every 2d, final at 3d: only the first reminder fits before the final
        (A + DAY, [0], [], A + 3 * DAY),
        (A + 3 * DAY, [0], ["final"], None),
    ],
)
def test_plan_waiting_repeat_longer_than_the_rest_of_the_wait(now: datetime, repeats: list[int],
                                                              finals: list[str], next_at: datetime | None) -> None:
    plan = _plan(now, repeat=2 * DAY)
    assert [d.repeat for d in plan.reminders] == repeats
    assert [d.stage for d in plan.finals] == finals
    assert plan.next_at == next_at


@pytest.mark.parametrize("now", [A + DAY, A + 2 * DAY - SECOND])
def test_plan_waiting_reminder_not_before_final_means_no_reminder(now: datetime) -> None:
    plan = _plan(now, remind=2 * DAY, final=2 * DAY)
    assert plan.reminders == [] and plan.finals == [] and plan.next_at == A + 2 * DAY
    plan = _plan(A + 2 * DAY, remind=3 * DAY, final=2 * DAY)
    assert plan.reminders == [] and plan.finals == [FINAL] and plan.next_at is None


def test_plan_waiting_zero_remind_after_fires_at_the_anchor() -> None:
    # the deadline's overdue reminders: from the due moment itself
    assert _plan(A - SECOND, remind=timedelta(0), final=2 * DAY).next_at == A
    plan = _plan(A, remind=timedelta(0), final=2 * DAY)
    assert [d.repeat for d in plan.reminders] == [0] and plan.next_at == A + DAY


def test_plan_waiting_keeps_the_earliest_next_moment() -> None:
    plan = Plan()
    plan.later(A + 5 * DAY)
    plan_waiting(plan, CID, "escrow", A, A, remind_after=DAY, repeat=DAY, final_after=3 * DAY)
    assert plan.next_at == A + DAY
    plan_waiting(plan, CID, "reply", A, A, remind_after=2 * DAY, repeat=DAY, final_after=3 * DAY)
    assert plan.next_at == A + DAY


# -- escrow funding ---------------------------------------------------------------------

async def test_escrow_funding_reminds_the_client_repeats_then_escalates(services: Services) -> None:
    contract = await hired_contract(services)
    t0 = contract.clock_at
    changes = await Changes.start(services, contract.id)

    await assert_quiet(services, changes, t0, t0 + DAY - SECOND)
    assert await step(services, changes, t0 + DAY) == {("remind.escrow", CLIENT): 1}
    (reminder,) = changes.rows
    assert reminder["target"] == "dm"
    assert reminder["buttons"] == [f"escrow:{contract.id}:deposit"]
    assert reminder["args"]["repeat"] == 1

    await assert_quiet(services, changes, t0 + DAY, t0 + DAY + HOUR, t0 + 2 * DAY - SECOND)
    assert await step(services, changes, t0 + 2 * DAY) == {("remind.escrow", CLIENT): 1}
    assert changes.rows[0]["args"]["repeat"] == 2

    await assert_quiet(services, changes, t0 + 2 * DAY, t0 + 3 * DAY - SECOND)
    assert await step(services, changes, t0 + 3 * DAY) == opened_case("case.card.escrow_unfunded")
    (case,) = await changes.take_cases()
    assert (case["kind"], case["reason_kind"], case["subject_id"], case["opened_by"], case["status"]) == (
        "escalation", "escrow_unfunded", CLIENT, None, "open")
    (card,) = [row for row in changes.rows if row["target"] == "mod"]
    assert card["case_id"] == case["id"]
    assert f"case:{case['id']}:cancel" in card["buttons"]
    assert f"case:{case['id']}:nudge" in card["buttons"]

    await assert_quiet(services, changes, t0 + 3 * DAY, t0 + 3 * DAY + HOUR, t0 + 4 * DAY, t0 + 10 * DAY - SECOND)
    totals = await outbox_totals(services, contract.id)
    assert totals[("remind.escrow", CLIENT)] == 2
    assert ("remind.escrow", WORKER) not in totals
    assert len(await cases_of(services, contract.id)) == 1
    after = await reload(services, contract.id)
    assert after.status == "awaiting_funding"
    # what is left to wait for: unfunded_expires_after (7d) past the escalation, then it ends
    assert after.timer_due_at == t0 + 10 * DAY


async def test_a_contract_never_funded_is_cancelled_after_the_escalation(services: Services) -> None:
    contract = await hired_contract(services)
    t0 = contract.clock_at
    changes = await Changes.start(services, contract.id)
    await sweep_at(services, t0 + 3 * DAY)
    await changes.take()
    (case,) = await changes.take_cases()
    job_before = await services.jobs.get(GUILD_ID, contract.job_id)
    assert (job_before.status, job_before.filled) == ("filled", 1)

    await assert_quiet(services, changes, t0 + 10 * DAY - SECOND)
    fired = await step(services, changes, t0 + 10 * DAY)
    fired.pop(("remind.case_open", None), None)  # the open case's daily reminder falls on the same moment
    assert fired == {
        ("notify.unfunded_expired", CLIENT): 1, ("notify.unfunded_expired", WORKER): 1,
        ("thread.unfunded_expired", None): 1, ("mod.case_settled.unfunded_expired", None): 1}

    after = await reload(services, contract.id)
    assert (after.status, after.closed_at) == ("cancelled", t0 + 10 * DAY)
    settled = await services.db.fetchone("SELECT * FROM cases WHERE id = ?", (case["id"],))
    assert (settled["status"], settled["resolution"], settled["resolution_note"]) == (
        "resolved", "settled", "unfunded_expired")
    job = await services.jobs.get(GUILD_ID, contract.job_id)
    assert (job.status, job.filled) == ("open", 0)  # the position is free again
    # the worker waited 10 days for a deposit that never came: the client's time to fund says so
    figures = await services.reputation.client_figures(GUILD_ID, CLIENT)
    assert (figures.cancelled, figures.median_time_to_fund) == (1, 10 * DAY)
    # it happens once
    await assert_quiet(services, changes, t0 + 10 * DAY + HOUR, t0 + 40 * DAY)


async def test_an_extension_of_the_escalation_postpones_the_expiry(services: Services) -> None:
    contract = await hired_contract(services)
    t0 = contract.clock_at
    changes = await Changes.start(services, contract.id)
    await step(services, changes, t0 + 3 * DAY)
    (case,) = await changes.take_cases()
    fake_clock(services).set(t0 + 4 * DAY)
    await services.cases.act(GUILD_ID, case["id"], moderator_id=MODERATOR, action="extend", extend="2d")
    await changes.take()

    # the funding clock runs again from day 6 (4 + 2): a new escalation at day 9, the expiry 7 days later
    for moment in (t0 + 9 * DAY, t0 + 10 * DAY, t0 + 16 * DAY - SECOND):
        await sweep_at(services, moment)
        assert (await reload(services, contract.id)).status == "awaiting_funding", to_iso(moment)
    assert len(await cases_of(services, contract.id)) == 2
    await changes.take()
    assert ("notify.unfunded_expired", CLIENT) in await step(services, changes, t0 + 16 * DAY)
    assert (await reload(services, contract.id)).status == "cancelled"


async def test_escrow_reminders_stop_once_the_deposit_is_declared(services: Services) -> None:
    contract = await hired_contract(services)
    t0 = contract.clock_at
    changes = await Changes.start(services, contract.id)
    assert await step(services, changes, t0 + DAY) == {("remind.escrow", CLIENT): 1}
    await services.escrow.deposit(GUILD_ID, contract.id, actor_id=CLIENT, reference="ref 1")
    await changes.take()
    for when in (t0 + 2 * DAY, t0 + 3 * DAY, t0 + 4 * DAY):
        added = await step(services, changes, when)
        assert ("remind.escrow", CLIENT) not in added
        assert not any(key.startswith("case.card") for key, _ in added)
    assert await cases_of(services, contract.id) == []


# -- review -------------------------------------------------------------------------------

async def test_review_reminds_repeats_then_auto_approves_once(services: Services) -> None:
    contract = await delivered_contract(services)
    t0 = contract.clock_at
    assert t0 == contract.delivered_at
    changes = await Changes.start(services, contract.id)

    await assert_quiet(services, changes, t0, t0 + 2 * DAY - SECOND)
    assert await step(services, changes, t0 + 2 * DAY) == {("remind.review", CLIENT): 1}
    assert changes.rows[0]["buttons"] == [f"review:{contract.id}:approve", f"review:{contract.id}:revise"]
    await assert_quiet(services, changes, t0 + 2 * DAY, t0 + 2 * DAY + HOUR)
    for day in (3, 4, 5, 6):
        await assert_quiet(services, changes, t0 + day * DAY - SECOND)
        assert await step(services, changes, t0 + day * DAY) == {("remind.review", CLIENT): 1}
    await assert_quiet(services, changes, t0 + 7 * DAY - SECOND)
    assert (await reload(services, contract.id)).status == "delivered"

    added = await step(services, changes, t0 + 7 * DAY)
    assert added == {
        ("notify.auto_approved_worker", WORKER): 1,
        ("notify.auto_approved_client", CLIENT): 1,
        ("notify.rate_prompt", CLIENT): 1,
        ("notify.rate_prompt", WORKER): 1,
        ("thread.completed", None): 1,
    }
    done = await reload(services, contract.id)
    assert done.status == "completed"
    assert done.closed_at == t0 + 7 * DAY

    view = await services.contracts.view(GUILD_ID, contract.id, viewer_id=CLIENT)
    fee, payout = fee_split(view.terms.price, view.terms.fee_percent)
    assert await balance(services, f"escrow:{contract.id}") == 0
    assert await balance(services, f"owed:{WORKER}") == payout
    assert await balance(services, "fees") == fee

    await assert_quiet(services, changes, t0 + 7 * DAY, t0 + 7 * DAY + HOUR, t0 + 8 * DAY, t0 + 60 * DAY)
    released = await services.db.fetchall(
        "SELECT kind FROM ledger_transactions WHERE contract_id = ? AND kind <> 'deposit'", (contract.id,))
    assert [row["kind"] for row in released] == ["release"]
    assert (await outbox_totals(services, contract.id))[("remind.review", CLIENT)] == 5
    deliveries = await services.deliveries.deliveries(GUILD_ID, contract.id)
    assert [d.outcome for d in deliveries] == ["auto_approved"]
    assert (await reload(services, contract.id)).timer_due_at is None


async def test_review_already_approved_is_not_auto_approved_again(services: Services) -> None:
    contract = await completed_contract(services)
    changes = await Changes.start(services, contract.id)
    await assert_quiet(services, changes, contract.clock_at + 7 * DAY, contract.clock_at + 8 * DAY)
    rows = await services.db.fetchall(
        "SELECT kind FROM ledger_transactions WHERE contract_id = ? AND kind <> 'deposit'", (contract.id,))
    assert [row["kind"] for row in rows] == ["release"]


# -- reply in the contract thread ----------------------------------------------------------

async def test_reply_reminds_the_client_repeats_then_escalates(services: Services) -> None:
    contract = await funded_contract(services, deadline="30d")
    t0 = contract.clock_at + HOUR
    contract = await worker_speaks(services, contract, t0)
    assert contract.awaiting_reply_since == t0
    changes = await Changes.start(services, contract.id)

    await assert_quiet(services, changes, t0, t0 + DAY - SECOND)
    assert await step(services, changes, t0 + DAY) == {("remind.reply", CLIENT): 1}
    assert changes.rows[0]["buttons"] == []
    await assert_quiet(services, changes, t0 + DAY, t0 + 2 * DAY - SECOND)
    assert await step(services, changes, t0 + 2 * DAY) == {("remind.reply", CLIENT): 1}
    await assert_quiet(services, changes, t0 + 3 * DAY - SECOND)
    assert await step(services, changes, t0 + 3 * DAY) == opened_case("case.card.reply_silent")
    (case,) = await changes.take_cases()
    assert (case["kind"], case["reason_kind"], case["subject_id"]) == ("escalation", "reply_silent", CLIENT)
    await assert_quiet(services, changes, t0 + 3 * DAY, t0 + 4 * DAY, t0 + 10 * DAY)
    assert ("remind.reply", WORKER) not in await outbox_totals(services, contract.id)


async def test_a_second_worker_message_does_not_restart_the_wait(services: Services) -> None:
    contract = await funded_contract(services, deadline="30d")
    t0 = contract.clock_at + HOUR
    await worker_speaks(services, contract, t0)
    contract = await worker_speaks(services, contract, t0 + 20 * HOUR)
    assert contract.awaiting_reply_since == t0
    changes = await Changes.start(services, contract.id)
    assert await step(services, changes, t0 + DAY) == {("remind.reply", CLIENT): 1}


async def test_a_client_reply_clears_the_wait_and_nothing_more_fires(services: Services) -> None:
    contract = await funded_contract(services, deadline="30d")
    t0 = contract.clock_at + HOUR
    await worker_speaks(services, contract, t0)
    changes = await Changes.start(services, contract.id)
    assert await step(services, changes, t0 + DAY) == {("remind.reply", CLIENT): 1}

    fake_clock(services).set(t0 + DAY + HOUR)
    await services.contracts.record_thread_message(THREAD_ID, CLIENT, t0 + DAY + HOUR)
    assert (await reload(services, contract.id)).awaiting_reply_since is None
    await assert_quiet(services, changes, t0 + DAY + HOUR, t0 + 2 * DAY, t0 + 3 * DAY, t0 + 5 * DAY)

    # the worker writes again later: a new wait, with its own reminder
    t1 = t0 + 5 * DAY + HOUR
    await worker_speaks(services, contract, t1)
    await assert_quiet(services, changes, t1, t1 + DAY - SECOND)
    assert await step(services, changes, t1 + DAY) == {("remind.reply", CLIENT): 1}


# -- offer -----------------------------------------------------------------------------------

async def test_offer_reminds_the_worker_repeats_then_expires(services: Services) -> None:
    contract = await offered_contract(services)
    t0 = contract.clock_at
    changes = await Changes.start(services, contract.id)

    await assert_quiet(services, changes, t0, t0 + DAY - SECOND)
    assert await step(services, changes, t0 + DAY) == {("remind.offer", WORKER): 1}
    assert changes.rows[0]["buttons"] == [f"contract:{contract.id}:accept", f"contract:{contract.id}:decline"]
    await assert_quiet(services, changes, t0 + DAY, t0 + 2 * DAY - SECOND)
    assert await step(services, changes, t0 + 2 * DAY) == {("remind.offer", WORKER): 1}
    await assert_quiet(services, changes, t0 + 3 * DAY - SECOND)
    assert (await reload(services, contract.id)).status == "offered"

    assert await step(services, changes, t0 + 3 * DAY) == {
        ("notify.offer_expired", CLIENT): 1,
        ("notify.offer_expired", WORKER): 1,
    }
    expired = await reload(services, contract.id)
    assert expired.status == "expired"
    application = await services.jobs.application_of(GUILD_ID, contract.job_id, WORKER)
    assert application is not None and application.status == "declined"
    await assert_quiet(services, changes, t0 + 3 * DAY, t0 + 4 * DAY, t0 + 30 * DAY)
    assert ("remind.offer", CLIENT) not in await outbox_totals(services, contract.id)


async def test_an_accepted_offer_neither_reminds_nor_expires(services: Services) -> None:
    contract = await offered_contract(services)
    t0 = contract.clock_at
    changes = await Changes.start(services, contract.id)
    fake_clock(services).set(t0 + 12 * HOUR)
    await services.contracts.accept(GUILD_ID, contract.id, actor_id=WORKER)
    await changes.take()
    for when in (t0 + DAY, t0 + 2 * DAY, t0 + 3 * DAY):
        added = await step(services, changes, when)
        assert ("remind.offer", WORKER) not in added and ("notify.offer_expired", WORKER) not in added
    assert (await reload(services, contract.id)).status == "awaiting_funding"


# -- delivery deadline ------------------------------------------------------------------------

async def test_deadline_reminds_before_then_overdue_then_escalates(services: Services) -> None:
    contract = await funded_contract(services)
    due = contract.due_at
    assert due is not None and due == contract.funded_at + 7 * DAY  # type: ignore[operator]
    changes = await Changes.start(services, contract.id)

    await assert_quiet(services, changes, contract.clock_at, due - DAY - SECOND)
    assert await step(services, changes, due - DAY) == {("remind.deadline_soon", WORKER): 1}
    await assert_quiet(services, changes, due - DAY, due - HOUR, due - SECOND)

    overdue = {("remind.overdue_worker", WORKER): 1, ("remind.overdue_client", CLIENT): 1}
    assert await step(services, changes, due) == overdue
    await assert_quiet(services, changes, due, due + DAY - SECOND)
    assert await step(services, changes, due + DAY) == overdue
    await assert_quiet(services, changes, due + DAY, due + 2 * DAY - SECOND)

    assert await step(services, changes, due + 2 * DAY) == opened_case("case.card.overdue")
    (case,) = await changes.take_cases()
    assert (case["kind"], case["reason_kind"], case["subject_id"]) == ("escalation", "overdue", WORKER)
    (card,) = [row for row in changes.rows if row["target"] == "mod"]
    for action in ("nudge", "extend", "release", "refund", "split", "close"):
        assert f"case:{case['id']}:{action}" in card["buttons"]
    assert f"case:{case['id']}:cancel" not in card["buttons"]

    await assert_quiet(services, changes, due + 2 * DAY, due + 3 * DAY, due + 30 * DAY)
    totals = await outbox_totals(services, contract.id)
    assert totals[("remind.deadline_soon", WORKER)] == 1
    assert totals[("remind.overdue_worker", WORKER)] == 2
    assert totals[("remind.overdue_client", CLIENT)] == 2
    assert ("remind.deadline_soon", CLIENT) not in totals
    assert (await reload(services, contract.id)).status == "active"


async def test_a_delivery_before_the_deadline_stops_the_deadline_timers(services: Services) -> None:
    contract = await funded_contract(services)
    due = contract.due_at
    assert due is not None
    fake_clock(services).set(due - 2 * DAY)
    await services.deliveries.deliver(GUILD_ID, contract.id, actor_id=WORKER,
                                      files=[DEFAULT_FILE])
    changes = await Changes.start(services, contract.id)
    for when in (due - DAY, due, due + DAY, due + 2 * DAY):
        added = await step(services, changes, when)
        assert not {key for key, _ in added} & {"remind.deadline_soon", "remind.overdue_worker",
                                                 "remind.overdue_client", "case.card.overdue"}


# -- moderator confirming a declared deposit -------------------------------------------------

async def _declared_topup(services: Services) -> Any:
    contract = await funded_contract(services)
    amendment = await services.contracts.propose_amendment(GUILD_ID, contract.id, actor_id=CLIENT,
                                                           reason="two more colours", price=60000)
    await services.contracts.answer_amendment(GUILD_ID, amendment.id, actor_id=WORKER, accept=True)
    await services.escrow.deposit(GUILD_ID, contract.id, actor_id=CLIENT, reference="top-up")
    return await reload(services, contract.id)


@pytest.mark.parametrize("kind", ["initial", "topup"])
async def test_declared_deposit_re_pings_the_moderators_until_confirmed(services: Services, kind: str) -> None:
    contract = await (deposited_contract(services) if kind == "initial" else _declared_topup(services))
    (deposit,) = [d for d in (await services.escrow.status(GUILD_ID, contract.id, viewer_id=CLIENT)).deposits
                  if d.status == "declared"]
    assert deposit.kind == kind
    t0 = deposit.declared_at
    changes = await Changes.start(services, contract.id)

    await assert_quiet(services, changes, t0, t0 + DAY - SECOND)
    assert await step(services, changes, t0 + DAY) == {("remind.deposit_confirm", None): 1}
    (ping,) = changes.rows
    assert ping["target"] == "mod"
    assert ping["buttons"] == [f"escrow:{contract.id}:confirm"]
    await assert_quiet(services, changes, t0 + DAY, t0 + DAY + HOUR, t0 + 2 * DAY - SECOND)
    assert await step(services, changes, t0 + 2 * DAY) == {("remind.deposit_confirm", None): 1}
    assert await step(services, changes, t0 + 3 * DAY) == {("remind.deposit_confirm", None): 1}
    await assert_quiet(services, changes, t0 + 3 * DAY)
    assert await cases_of(services, contract.id) == []  # re-pinged, never escalated

    fake_clock(services).set(t0 + 3 * DAY + HOUR)
    await services.escrow.confirm(GUILD_ID, contract.id, moderator_id=MODERATOR)
    await changes.take()
    for when in (t0 + 4 * DAY, t0 + 5 * DAY):
        assert ("remind.deposit_confirm", None) not in await step(services, changes, when)
    assert (await outbox_totals(services, contract.id))[("remind.deposit_confirm", None)] == 3


# -- downtime, restart, crash -----------------------------------------------------------------

@pytest.mark.parametrize("swept_before_going_down", [False, True])
async def test_three_days_down_then_restart_sends_one_reminder_and_one_escalation(
        services: Services, swept_before_going_down: bool) -> None:
    contract = await hired_contract(services)
    t0 = contract.clock_at
    if swept_before_going_down:
        await sweep_at(services, t0)
    back = t0 + 3 * DAY + HOUR
    async with restarted(services) as fresh:
        changes = await Changes.start(fresh, contract.id)
        added = await step(fresh, changes, back)
        assert added == {("remind.escrow", CLIENT): 1, **opened_case("case.card.escrow_unfunded")}
        (reminder,) = [row for row in changes.rows if row["message_key"] == "remind.escrow"]
        assert reminder["args"]["repeat"] == 2  # the latest missed repeat, alone
        assert len(await changes.take_cases()) == 1
        await assert_quiet(fresh, changes, back, back + MINUTE, back + DAY)
        fired = [key for key in await fires_of(fresh, contract.id) if ":case" not in key]
        assert len(fired) == 2


async def test_crash_after_the_sweep_committed_sends_once(services: Services) -> None:
    contract = await hired_contract(services)
    t0 = contract.clock_at
    await sweep_at(services, t0)
    await sweep_at(services, t0 + DAY)
    # the process dies here: the sweep committed, the dispatcher never ran
    async with restarted(services, close_old=False) as fresh:
        rows = await fresh.db.fetchall(
            "SELECT status FROM outbox WHERE contract_id = ? AND message_key = 'remind.escrow'", (contract.id,))
        assert [row["status"] for row in rows] == ["pending"]
        assert len(await fires_of(fresh, contract.id)) == 1
        await sweep_at(fresh, t0 + DAY)
        await sweep_at(fresh, t0 + DAY + MINUTE)
        totals = await outbox_totals(fresh, contract.id)
        assert totals[("remind.escrow", CLIENT)] == 1
        assert len(await fires_of(fresh, contract.id)) == 1


async def test_crash_inside_the_sweep_transaction_loses_nothing(services: Services,
                                                                monkeypatch: pytest.MonkeyPatch) -> None:
    contract = await hired_contract(services)
    t0 = contract.clock_at
    await sweep_at(services, t0)

    async def crash(*args: Any, **kwargs: Any) -> None:
        raise RuntimeError("power cut between the fire record and the outbox row")

    monkeypatch.setattr(timers_module, "notify", crash)
    report = await sweep_at(services, t0 + DAY)
    assert report.failed == 1  # logged, and the other contracts' reminders still go out
    monkeypatch.undo()
    # rolled back as one: no fire record without its notification, and still due
    assert await fires_of(services, contract.id) == []
    assert ("remind.escrow", CLIENT) not in await outbox_totals(services, contract.id)
    assert (await reload(services, contract.id)).timer_due_at == t0 + DAY

    async with restarted(services, close_old=False) as fresh:
        await sweep_at(fresh, t0 + DAY + MINUTE)
        await sweep_at(fresh, t0 + DAY + 2 * MINUTE)
        assert (await outbox_totals(fresh, contract.id))[("remind.escrow", CLIENT)] == 1
        assert len(await fires_of(fresh, contract.id)) == 1


# -- /config set applies on the next tick -----------------------------------------------------

async def test_shorter_reminder_policy_applies_on_the_next_tick(services: Services) -> None:
    contract = await hired_contract(services)
    t0 = contract.clock_at
    changes = await Changes.start(services, contract.id)
    await assert_quiet(services, changes, t0, t0 + 3 * HOUR)
    assert (await reload(services, contract.id)).timer_due_at == t0 + DAY  # planned for 1d

    await services.guilds.set_policy(GUILD_ID, "escrow_reminder_after", "2h", actor_id=MODERATOR)
    assert await step(services, changes, t0 + 3 * HOUR) == {("remind.escrow", CLIENT): 1}
    await assert_quiet(services, changes, t0 + 3 * HOUR, t0 + DAY, t0 + DAY + 2 * HOUR - SECOND)
    assert await step(services, changes, t0 + DAY + 2 * HOUR) == {("remind.escrow", CLIENT): 1}


async def test_shorter_escalation_policy_applies_on_the_next_tick(services: Services) -> None:
    contract = await hired_contract(services)
    t0 = contract.clock_at
    changes = await Changes.start(services, contract.id)
    await assert_quiet(services, changes, t0, t0 + 7 * HOUR)
    await services.guilds.set_policy(GUILD_ID, "escrow_escalate_after", "6h", actor_id=MODERATOR)
    # the escalation is now overdue; the 1d reminder no longer falls before it
    assert await step(services, changes, t0 + 7 * HOUR) == opened_case("case.card.escrow_unfunded")
    assert len(await changes.take_cases()) == 1
    await assert_quiet(services, changes, t0 + 7 * HOUR, t0 + DAY, t0 + 3 * DAY)


async def test_policy_of_another_guild_does_not_touch_these_timers(services: Services) -> None:
    contract = await hired_contract(services)
    await sweep_at(services, contract.clock_at)
    await services.guilds.setup(2000, actor_id=1, jobs_channel_id=20, mod_channel_id=21, moderator_role_id=22)
    await services.guilds.set_policy(2000, "escrow_reminder_after", "1m", actor_id=MODERATOR)
    assert (await reload(services, contract.id)).timer_due_at == contract.clock_at + DAY


# -- indexed queries: nothing due reads no contract row -------------------------------------

async def _due_sql(services: Services, now: str) -> tuple[str, tuple[Any, ...]]:
    async with services.db.read() as conn:
        recorder = RecordingConn(conn)
        await timers_repo.due_for_timers(recorder, now, 500)  # type: ignore[arg-type]
    (call,) = recorder.calls
    return call


async def test_due_query_uses_the_timer_index(services: Services) -> None:
    sql, params = await _due_sql(services, to_iso(services.clock.now()))
    rows = await services.db.fetchall(f"EXPLAIN QUERY PLAN {sql}", params)
    details = [str(row["detail"]) for row in rows]
    assert any("contracts_timer" in d for d in details), details
    assert not any(d.startswith("SCAN") for d in details), details
    assert not any("TEMP B-TREE" in d for d in details), details  # ordered by the index itself


async def test_after_a_sweep_nothing_is_due_until_the_next_moment(services: Services) -> None:
    await no_cooldowns(services)
    waiting = {
        "offered": await offered_contract(services),
        "awaiting_funding": await hired_contract(services),
        "funding_submitted": await deposited_contract(services),
        "active": await funded_contract(services),
        "delivered": await delivered_contract(services),
        "reply": await funded_contract(services, deadline="30d"),
    }
    settled = await completed_contract(services)
    now = services.clock.now()
    await worker_speaks(services, waiting["reply"], now)

    report = await sweep_at(services, now)
    assert report.contracts == len(waiting) + 1
    for name, contract in waiting.items():
        after = await reload(services, contract.id)
        assert after.timer_due_at is not None and after.timer_due_at > now, name
    assert (await reload(services, settled.id)).timer_due_at is None  # nothing to wait for

    async with services.db.read() as conn:
        assert await timers_repo.due_for_timers(conn, to_iso(now), 500) == []
        assert await timers_repo.due_for_timers(conn, to_iso(now + HOUR), 500) == []

    # the next sweep with nothing due runs the due query and reads no contract row
    log = StatementLog()
    await services.db.conn.set_trace_callback(log)
    try:
        report = await sweep_at(services, now + HOUR)
    finally:
        await services.db.conn.set_trace_callback(None)  # type: ignore[arg-type]
    assert report.contracts == 0
    touching = [s for s in log.statements if "contracts" in s]
    assert len(touching) == 1 and "timer_due_at <=" in touching[0], log.statements

    # and each contract comes due exactly at its own next moment
    next_moment = min(c.timer_due_at for c in [await reload(services, c.id) for c in waiting.values()]
                      if c.timer_due_at is not None)
    async with services.db.read() as conn:
        assert await timers_repo.due_for_timers(conn, to_iso(next_moment - SECOND), 500) == []
        assert await timers_repo.due_for_timers(conn, to_iso(next_moment), 500) != []


async def test_a_sweep_looks_at_each_due_contract_once(services: Services) -> None:
    await no_cooldowns(services)
    contracts = [await hired_contract(services) for _ in range(3)]
    t0 = max(c.clock_at for c in contracts)
    report = await sweep_at(services, t0)
    assert report.contracts == 3
    report = await sweep_at(services, t0 + DAY)
    assert (report.contracts, report.reminders, report.escalations) == (3, 3, 0)
    report = await sweep_at(services, t0 + DAY)
    assert (report.contracts, report.reminders) == (0, 0)


# -- a final action that fails is retried, never lost ------------------------------------------

async def test_an_expiry_that_fails_is_retried_on_a_later_tick(services: Services,
                                                               monkeypatch: pytest.MonkeyPatch) -> None:
    contract = await offered_contract(services)
    t0 = contract.clock_at
    changes = await Changes.start(services, contract.id)
    original = services.contracts.expire

    async def broken(contract_id: int) -> bool:
        raise RuntimeError("the database thread died between the sweep and the expiry")

    monkeypatch.setattr(services.contracts, "expire", broken)
    report = await sweep_at(services, t0 + 3 * DAY)
    assert report.failed == 1
    assert (await reload(services, contract.id)).status == "offered"
    assert (await reload(services, contract.id)).timer_due_at == t0 + 3 * DAY + timers_module.FINAL_RETRY
    monkeypatch.setattr(services.contracts, "expire", original)
    await changes.take()

    await assert_quiet(services, changes, t0 + 3 * DAY + SECOND)  # not before the retry moment
    added = await step(services, changes, t0 + 3 * DAY + timers_module.FINAL_RETRY)
    assert added == {("notify.offer_expired", CLIENT): 1, ("notify.offer_expired", WORKER): 1}
    assert (await reload(services, contract.id)).status == "expired"
    await assert_quiet(services, changes, t0 + 4 * DAY, t0 + 30 * DAY)
    assert (await reload(services, contract.id)).timer_due_at is None


async def test_an_auto_approval_lost_in_a_crash_happens_after_the_restart(services: Services,
                                                                          monkeypatch: pytest.MonkeyPatch) -> None:
    contract = await delivered_contract(services)
    t0 = contract.clock_at
    await sweep_at(services, t0 + 6 * DAY)

    async def crash(contract_id: int) -> None:
        raise RuntimeError("killed after the sweep committed, before the auto-approval")

    monkeypatch.setattr(services.deliveries, "auto_approve", crash)
    await sweep_at(services, t0 + 7 * DAY)
    monkeypatch.undo()
    assert (await reload(services, contract.id)).status == "delivered"
    async with restarted(services, close_old=False) as fresh:
        await sweep_at(fresh, t0 + 7 * DAY + HOUR)  # the start-up sweep, an hour later
        done = await reload(fresh, contract.id)
        assert done.status == "completed"
        assert (await outbox_totals(fresh, contract.id))[("notify.auto_approved_worker", WORKER)] == 1
        await sweep_at(fresh, t0 + 8 * DAY)
        rows = await fresh.db.fetchall(
            "SELECT kind FROM ledger_transactions WHERE contract_id = ? AND kind = 'release'", (contract.id,))
        assert len(rows) == 1


async def test_the_rating_reveal_is_sent_once_and_then_the_timer_ends(services: Services) -> None:
    contract = await completed_contract(services)
    await services.reputation.rate(GUILD_ID, contract.id, rater_id=CLIENT, stars=4)
    closed = (await reload(services, contract.id)).closed_at
    assert closed is not None
    changes = await Changes.start(services, contract.id)
    await assert_quiet(services, changes, closed + 7 * DAY - SECOND)
    added = await step(services, changes, closed + 7 * DAY)
    assert added == {("notify.ratings_revealed", CLIENT): 1, ("notify.ratings_revealed", WORKER): 1}
    await assert_quiet(services, changes, closed + 7 * DAY + timers_module.FINAL_RETRY, closed + 8 * DAY)
    assert (await reload(services, contract.id)).timer_due_at is None


# -- a raised price whose top-up is unpaid at the auto-approval moment -------------------------

async def raised_and_delivered(services: Services) -> Any:
    contract = await funded_contract(services, price=50000)
    amendment = await services.contracts.propose_amendment(GUILD_ID, contract.id, actor_id=WORKER,
                                                           reason="more pages", price=60000)
    await services.contracts.answer_amendment(GUILD_ID, amendment.id, actor_id=CLIENT, accept=True)
    await services.deliveries.deliver(GUILD_ID, contract.id, actor_id=WORKER, files=[DEFAULT_FILE])
    return await reload(services, contract.id)


async def test_an_unpaid_top_up_escalates_instead_of_auto_approving(services: Services) -> None:
    contract = await raised_and_delivered(services)
    assert contract.topup_due == 10000
    t0 = contract.clock_at
    changes = await Changes.start(services, contract.id)
    added = await step(services, changes, t0 + 7 * DAY)
    assert added == opened_case("case.card.topup_unpaid")
    (case,) = await changes.take_cases()
    assert (case["kind"], case["reason_kind"], case["subject_id"]) == ("escalation", "topup_unpaid", CLIENT)
    assert (await reload(services, contract.id)).status == "delivered"
    assert await balance(services, f"escrow:{contract.id}") == 50000
    await assert_quiet(services, changes, t0 + 7 * DAY + HOUR, t0 + 8 * DAY, t0 + 30 * DAY)

    # the client pays the difference: the case settles, and the delivery is approved at once
    fake_clock(services).set(t0 + 30 * DAY + HOUR)
    await services.escrow.deposit(GUILD_ID, contract.id, actor_id=CLIENT, reference="top-up")
    (settled,) = await cases_of(services, contract.id)
    assert (settled["status"], settled["resolution"]) == ("resolved", "settled")
    await services.escrow.confirm(GUILD_ID, contract.id, moderator_id=MODERATOR)
    await sweep_at(services, t0 + 30 * DAY + 2 * HOUR)
    assert (await reload(services, contract.id)).status == "completed"
    fee, payout = fee_split(60000, 10)
    assert await balance(services, f"owed:{WORKER}") == payout
    assert await balance(services, "fees") == fee


async def test_a_moderator_release_with_the_top_up_unpaid_pays_out_what_escrow_holds(services: Services) -> None:
    contract = await raised_and_delivered(services)
    await sweep_at(services, contract.clock_at + 7 * DAY)
    (case,) = await cases_of(services, contract.id)
    await services.cases.act(GUILD_ID, case["id"], moderator_id=MODERATOR, action="release",
                             reason="the client will not pay the top-up; the work was done")
    fee, payout = fee_split(50000, 10)
    assert await balance(services, f"escrow:{contract.id}") == 0
    assert await balance(services, f"owed:{WORKER}") == payout
    assert await balance(services, "fees") == fee
    assert (await reload(services, contract.id)).status == "completed"


# -- an extra revision waits for the worker: the review clock waits too -------------------------

async def test_an_extra_revision_reminds_the_worker_and_holds_the_auto_approval(services: Services) -> None:
    contract = await delivered_contract(services, revisions=0)
    t0 = contract.clock_at
    fake_clock(services).set(t0 + HOUR)
    outcome = await services.deliveries.request_revision(GUILD_ID, contract.id, actor_id=CLIENT,
                                                         reason="also a dark version")
    assert not outcome.included
    asked = t0 + HOUR
    changes = await Changes.start(services, contract.id)
    await assert_quiet(services, changes, asked + DAY - SECOND)
    assert await step(services, changes, asked + DAY) == {("remind.scope_revision", WORKER): 1}
    rid = outcome.request.id
    assert changes.rows[0]["buttons"] == [f"revision:{rid}:accept", f"revision:{rid}:scope"]
    for day in (2, 3, 4, 5, 6, 7, 8):
        assert await step(services, changes, asked + day * DAY) == {("remind.scope_revision", WORKER): 1}
    assert (await reload(services, contract.id)).status == "delivered"  # no auto-approval meanwhile
    assert ("remind.review", CLIENT) not in await outbox_totals(services, contract.id)

    # the worker declines: the delivery is back with the client, whose review period restarts
    declined_at = asked + 8 * DAY + HOUR
    fake_clock(services).set(declined_at)
    await services.deliveries.answer_extra_revision(GUILD_ID, rid, actor_id=WORKER, accept=False)
    await changes.take()
    await assert_quiet(services, changes, declined_at + 2 * DAY - SECOND)
    assert await step(services, changes, declined_at + 2 * DAY) == {("remind.review", CLIENT): 1}
    await step(services, changes, declined_at + 7 * DAY)
    assert (await reload(services, contract.id)).status == "completed"


# -- an escalation is settled when the awaited action happens -----------------------------------

async def test_an_escrow_escalation_is_settled_when_the_client_declares_the_deposit(services: Services) -> None:
    contract = await hired_contract(services)
    await sweep_at(services, contract.clock_at + 3 * DAY)
    (case,) = await cases_of(services, contract.id)
    assert case["status"] == "open"
    await services.escrow.deposit(GUILD_ID, contract.id, actor_id=CLIENT, reference="paid")
    (case,) = await cases_of(services, contract.id)
    assert (case["status"], case["resolution"], case["resolved_by"]) == ("resolved", "settled", None)
    rows = await services.db.fetchall("SELECT * FROM outbox WHERE case_id = ? ORDER BY id", (case["id"],))
    assert [r["message_key"] for r in rows if r["target"] == "mod"][-1] == "mod.case_settled.funded"
    retire = [json.loads(r["args"]) for r in rows if r["target"] == "retire"]
    assert {"buttons": [f"case:{case['id']}:*"]} in retire
    assert await services.cases.list(GUILD_ID, "open") == []


async def test_an_overdue_escalation_is_settled_by_the_delivery(services: Services) -> None:
    contract = await funded_contract(services, deadline="7d")
    assert contract.due_at is not None
    await sweep_at(services, contract.due_at + 2 * DAY)
    (case,) = await cases_of(services, contract.id)
    assert case["reason_kind"] == "overdue"
    await services.deliveries.deliver(GUILD_ID, contract.id, actor_id=WORKER, files=[DEFAULT_FILE])
    (case,) = await cases_of(services, contract.id)
    assert (case["status"], case["resolution"]) == ("resolved", "settled")


async def test_a_reply_escalation_is_settled_by_the_client_reply(services: Services) -> None:
    contract = await funded_contract(services, deadline="30d")
    t0 = contract.clock_at + HOUR
    await worker_speaks(services, contract, t0)
    await sweep_at(services, t0 + 3 * DAY)
    (case,) = await cases_of(services, contract.id)
    assert case["reason_kind"] == "reply_silent"
    await services.contracts.record_thread_message(THREAD_ID, CLIENT, t0 + 3 * DAY + HOUR)
    (case,) = await cases_of(services, contract.id)
    assert (case["status"], case["resolution"]) == ("resolved", "settled")
    (note,) = await services.db.fetchall(
        "SELECT message_key FROM outbox WHERE case_id = ? AND target = 'mod' AND message_key LIKE 'mod.%'",
        (case["id"],))
    assert note["message_key"] == "mod.case_settled.replied"


async def test_an_escalation_of_another_kind_stays_open(services: Services) -> None:
    contract = await funded_contract(services, deadline="7d")
    assert contract.due_at is not None
    await sweep_at(services, contract.due_at + 2 * DAY)  # overdue: the worker's silence
    await services.contracts.record_thread_message(THREAD_ID, CLIENT, contract.due_at + 2 * DAY + HOUR)
    (case,) = await cases_of(services, contract.id)
    assert case["status"] == "open"
