"""Clocks that stop while the worker cannot act (PRODUCT.md "Lifecycle"): an open case or a
client silent in the thread pauses the delivery deadline and the review clock; they resume
with the time that was left. And the moderators' own deadline: an open case re-pings them."""

from __future__ import annotations

import pytest

from bot.models.states import ContractStatus
from bot.services.container import Services
from tests.ids import CLIENT, GUILD_ID, MODERATOR, WORKER
from tests.services.helpers import (
    DAY,
    HOUR,
    MINUTE,
    THREAD_ID,
    Changes,
    cases_of,
    deliver,
    delivered_contract,
    events,
    fake_clock,
    funded_contract,
    reload,
    step,
    sweep_at,
    worker_speaks,
)

pytestmark = pytest.mark.usefixtures("guild")


async def test_a_dispute_on_day_2_does_not_make_the_worker_overdue(services: Services) -> None:
    """The story: a 7-day job, a dispute on day 2, ten days with the moderators. The worker
    comes back with the five days that were left, not five days overdue and escalated."""
    contract = await funded_contract(services)  # deadline 7d from funding
    t0 = contract.funded_at
    assert t0 is not None and contract.due_at == t0 + 7 * DAY
    clock = fake_clock(services)
    clock.set(t0 + 2 * DAY)
    case = await services.cases.dispute(GUILD_ID, contract.id, actor_id=WORKER, reason="The goalposts moved.")
    paused = await reload(services, contract.id)
    assert (paused.paused_at, paused.pause_reason) == (t0 + 2 * DAY, "case")

    changes = await Changes.start(services, contract.id)
    await sweep_at(services, t0 + 12 * DAY)
    assert not [r for r in await changes.take() if r["message_key"].startswith(("remind.overdue", "case.card"))]
    await services.cases.act(GUILD_ID, case.id, moderator_id=MODERATOR, action="close", reason="Talked it through.")

    after = await reload(services, contract.id)
    assert (after.status, after.paused_at, after.pause_reason) == (ContractStatus.ACTIVE, None, None)
    assert after.due_at == t0 + 17 * DAY  # five days left, as on day 2
    added = await step(services, changes, t0 + 12 * DAY + HOUR)
    assert not [key for key, _ in added if key.startswith(("remind.overdue", "case.card"))]
    assert len(await cases_of(services, contract.id)) == 1
    assert [e["kind"] for e in await events(services, contract_id=contract.id)
            if e["kind"].startswith("clock.")] == ["clock.paused", "clock.resumed"]


async def test_a_disputed_delivery_is_not_auto_approved_when_the_case_closes(services: Services) -> None:
    """The story: the client disputes a delivery on day 6 of the 7-day review; the case closes
    ten days later. The client has the day that was left, not one minute."""
    contract = await delivered_contract(services)
    t0 = contract.clock_at
    clock = fake_clock(services)
    clock.set(t0 + 6 * DAY)
    case = await services.cases.dispute(GUILD_ID, contract.id, actor_id=CLIENT, reason="Not what we agreed.")
    await sweep_at(services, t0 + 10 * DAY)
    assert (await reload(services, contract.id)).status == ContractStatus.DISPUTED
    clock.set(t0 + 16 * DAY)
    await services.cases.act(GUILD_ID, case.id, moderator_id=MODERATOR, action="close", reason="Resolved.")

    resumed = await reload(services, contract.id)
    assert resumed.status == ContractStatus.DELIVERED
    assert resumed.clock_at == t0 + 10 * DAY  # the review anchor moved by the ten paused days
    report = await sweep_at(services, t0 + 16 * DAY + MINUTE)
    assert report.auto_approved == 0
    assert (await reload(services, contract.id)).status == ContractStatus.DELIVERED
    report = await sweep_at(services, t0 + 17 * DAY)
    assert report.auto_approved == 1
    assert (await reload(services, contract.id)).status == ContractStatus.COMPLETED


async def test_an_escalation_pauses_the_review_clock_until_it_is_settled(services: Services) -> None:
    contract = await delivered_contract(services)
    t0 = contract.clock_at
    fake_clock(services).set(t0 + DAY)
    case = await services.cases.escalate(contract.id, reason_kind="overdue", subject_id=WORKER)
    assert case is not None
    paused = await reload(services, contract.id)
    assert paused.paused_at == t0 + DAY
    # no auto-approval while a moderator case is open, however long it takes
    assert (await sweep_at(services, t0 + 20 * DAY)).auto_approved == 0
    fake_clock(services).set(t0 + 21 * DAY)
    await services.cases.act(GUILD_ID, case.id, moderator_id=MODERATOR, action="close", reason="OK")
    assert (await reload(services, contract.id)).clock_at == t0 + 20 * DAY
    assert (await sweep_at(services, t0 + 26 * DAY)).auto_approved == 0
    assert (await sweep_at(services, t0 + 27 * DAY)).auto_approved == 1


async def test_a_second_case_does_not_restart_the_pause_and_the_clock_waits_for_both(services: Services) -> None:
    contract = await funded_contract(services)
    t0 = contract.funded_at
    assert t0 is not None
    clock = fake_clock(services)
    clock.set(t0 + DAY)
    first = await services.cases.escalate(contract.id, reason_kind="reply_silent", subject_id=CLIENT)
    clock.set(t0 + 2 * DAY)
    second = await services.cases.dispute(GUILD_ID, contract.id, actor_id=WORKER, reason="No answers at all.")
    assert first is not None
    assert (await reload(services, contract.id)).paused_at == t0 + DAY
    clock.set(t0 + 3 * DAY)
    await services.cases.act(GUILD_ID, first.id, moderator_id=MODERATOR, action="close", reason="Dup.")
    assert (await reload(services, contract.id)).paused_at == t0 + DAY  # the dispute is still open
    clock.set(t0 + 4 * DAY)
    await services.cases.act(GUILD_ID, second.id, moderator_id=MODERATOR, action="close", reason="Done.")
    after = await reload(services, contract.id)
    assert (after.paused_at, after.due_at) == (None, t0 + 10 * DAY)


# -- waiting on the client ---------------------------------------------------------------------

async def test_a_silent_client_pauses_the_delivery_clock_until_they_reply(services: Services) -> None:
    contract = await funded_contract(services)
    t0 = contract.funded_at
    assert t0 is not None and contract.due_at == t0 + 7 * DAY
    await worker_speaks(services, contract, t0 + DAY)
    await sweep_at(services, t0 + DAY + 23 * HOUR)
    assert (await reload(services, contract.id)).paused_at is None  # reply_reminder_after not yet past
    await sweep_at(services, t0 + 2 * DAY + HOUR)
    paused = await reload(services, contract.id)
    assert (paused.paused_at, paused.pause_reason) == (t0 + 2 * DAY, "reply")

    at = t0 + 2 * DAY + 12 * HOUR
    fake_clock(services).set(at)
    await services.contracts.record_thread_message(THREAD_ID, CLIENT, at)
    after = await reload(services, contract.id)
    assert (after.paused_at, after.awaiting_reply_since) == (None, None)
    assert after.due_at == t0 + 7 * DAY + 12 * HOUR


async def test_a_reply_pause_becomes_a_case_pause_and_restarts_after_it(services: Services) -> None:
    """The silence escalates (reply_escalate_after): the case takes the pause over, not
    restarting it; the case closed with the client still silent, the pause starts again then."""
    contract = await funded_contract(services)
    t0 = contract.funded_at
    assert t0 is not None
    await worker_speaks(services, contract, t0)
    await sweep_at(services, t0 + DAY)
    await sweep_at(services, t0 + 3 * DAY)  # reply_escalate_after: a case opens
    (case,) = await cases_of(services, contract.id)
    paused = await reload(services, contract.id)
    assert (paused.paused_at, paused.pause_reason) == (t0 + DAY, "case")
    fake_clock(services).set(t0 + 4 * DAY)
    await services.cases.act(GUILD_ID, case["id"], moderator_id=MODERATOR, action="close", reason="Wait more.")
    resumed = await reload(services, contract.id)
    assert (resumed.paused_at, resumed.due_at) == (None, t0 + 10 * DAY)
    await sweep_at(services, t0 + 4 * DAY)
    again = await reload(services, contract.id)
    assert (again.paused_at, again.pause_reason, again.due_at) == (t0 + 4 * DAY, "reply", t0 + 10 * DAY)


async def test_a_delivery_ends_a_reply_pause(services: Services) -> None:
    contract = await funded_contract(services)
    t0 = contract.funded_at
    assert t0 is not None
    await worker_speaks(services, contract, t0)
    await sweep_at(services, t0 + DAY)
    assert (await reload(services, contract.id)).pause_reason == "reply"
    fake_clock(services).set(t0 + 2 * DAY)
    await deliver(services, contract)
    await sweep_at(services, t0 + 2 * DAY)
    after = await reload(services, contract.id)
    assert (after.status, after.paused_at, after.clock_at) == (ContractStatus.DELIVERED, None, t0 + 2 * DAY)


# -- the moderators' deadline ------------------------------------------------------------------

async def test_an_open_case_re_pings_the_mod_channel_until_a_moderator_acts(services: Services) -> None:
    contract = await funded_contract(services)
    fake_clock(services).set(contract.clock_at + HOUR)
    case = await services.cases.dispute(GUILD_ID, contract.id, actor_id=WORKER, reason="Help.")
    t0 = case.created_at
    changes = await Changes.start(services, contract.id)
    assert await step(services, changes, t0 + DAY - MINUTE) == {}
    assert await step(services, changes, t0 + DAY) == {("remind.case_open", None): 1}
    (ping,) = changes.rows
    assert (ping["target"], ping["args"]["target_id"], ping["args"]["repeat"]) == ("mod", case.id, 1)
    assert await step(services, changes, t0 + DAY + HOUR) == {}
    assert await step(services, changes, t0 + 2 * DAY) == {("remind.case_open", None): 1}
    # a nudge is a moderator action: the wait starts again from it
    fake_clock(services).set(t0 + 2 * DAY + HOUR)
    await services.cases.act(GUILD_ID, case.id, moderator_id=MODERATOR, action="nudge")
    await changes.take()
    assert await step(services, changes, t0 + 3 * DAY) == {}
    assert await step(services, changes, t0 + 3 * DAY + HOUR) == {("remind.case_open", None): 1}
    await services.cases.act(GUILD_ID, case.id, moderator_id=MODERATOR, action="close", reason="Done.")
    await changes.take()
    added = await step(services, changes, t0 + 10 * DAY)
    assert ("remind.case_open", None) not in added


async def test_the_case_reminder_repeats_every_case_reminder_after_and_zero_turns_it_off(
        services: Services) -> None:
    await services.guilds.set_policy(GUILD_ID, "case_reminder_after", "12h", actor_id=MODERATOR)
    contract = await funded_contract(services)
    case = await services.cases.dispute(GUILD_ID, contract.id, actor_id=WORKER, reason="Help.")
    t0 = case.created_at
    changes = await Changes.start(services, contract.id)
    assert await step(services, changes, t0 + 12 * HOUR) == {("remind.case_open", None): 1}
    assert await step(services, changes, t0 + DAY) == {("remind.case_open", None): 1}
    await services.guilds.set_policy(GUILD_ID, "case_reminder_after", "0s", actor_id=MODERATOR)
    assert await step(services, changes, t0 + 3 * DAY) == {}


async def test_a_report_naming_the_contract_pauses_it_until_closed(services: Services) -> None:
    contract = await funded_contract(services)
    t0 = contract.funded_at
    assert t0 is not None and contract.due_at is not None
    fake_clock(services).set(t0 + DAY)
    report = await services.cases.report(GUILD_ID, reporter_id=WORKER, user_id=CLIENT,
                                         reason="Threatens to leave a bad rating.", contract_id=contract.id)
    assert report.contract_id == contract.id  # the report names the contract
    assert (await reload(services, contract.id)).paused_at == t0 + DAY
    fake_clock(services).set(t0 + 3 * DAY)
    await services.cases.act(GUILD_ID, report.id, moderator_id=MODERATOR, action="uphold", reason="Warned.")
    after = await reload(services, contract.id)
    assert (after.paused_at, after.due_at) == (None, contract.due_at + 2 * DAY)
