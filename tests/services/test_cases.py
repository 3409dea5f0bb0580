"""Moderator cases: disputes, reports, escalations and the one-click decisions on them."""

from __future__ import annotations

import asyncio
import json
from datetime import timedelta

import pytest

from bot.clock import FakeClock
from bot.errors import CooldownActive, InvalidInput, NotAllowed, NotFound, WrongState
from bot.models.entities import Case, Guild
from bot.models.states import ContractStatus, JobStatus
from bot.models.timeutil import from_iso
from bot.services.container import Services
from bot.services.deliveries import IncomingFile
from tests.ids import CLIENT, GUILD_ID, MODERATOR, OUTSIDER, WORKER, WORKER2
from tests.services.helpers import (
    case_outbox,
    completed_contract,
    contract_outbox,
    count,
    deliver,
    delivered_contract,
    deposited_contract,
    disputed_contract,
    events,
    funded_contract,
    hired_contract,
    ledger,
    ledger_txns,
    reload,
    snapshot,
)

PRICE = 50000


async def get_case(services: Services, case_id: int) -> Case:
    case, _ = await services.cases.get(GUILD_ID, case_id)
    return case


async def outcome_dms(services: Services, contract_id: int, action: str) -> list[int]:
    rows = await contract_outbox(services, contract_id, target="dm", message_key=f"notify.case_{action}")
    return sorted(r["recipient_id"] for r in rows)


# -- disputes -------------------------------------------------------------------------------


async def test_dispute_on_an_active_contract(services: Services, guild: Guild, clock: FakeClock) -> None:
    contract = await funded_contract(services)

    case = await services.cases.dispute(GUILD_ID, contract.id, actor_id=WORKER, reason="  Scope keeps growing.  ")

    assert (case.kind, case.reason_kind, case.status) == ("dispute", "dispute", "open")
    assert (case.contract_id, case.opened_by, case.subject_id, case.reason) == (
        contract.id, WORKER, CLIENT, "Scope keeps growing.")
    after = await reload(services, contract.id)
    assert after.status == ContractStatus.DISPUTED
    assert after.status_before_dispute == ContractStatus.ACTIVE
    card = [r for r in await case_outbox(services, case.id) if r["target"] == "mod"]
    assert len(card) == 1
    assert card[0]["message_key"] == "case.card.dispute"
    assert card[0]["buttons"] == [f"case:{case.id}:{a}"
                                  for a in ("nudge", "extend", "release", "refund", "split", "close")]
    assert card[0]["args"]["reason"] == "Scope keeps growing."
    assert await outcome_dms(services, contract.id, "opened") == [CLIENT, WORKER]
    assert len(await contract_outbox(services, contract.id, target="thread", message_key="thread.disputed")) == 1
    # no money moved
    assert (await ledger(services))[f"escrow:{contract.id}"] == PRICE


async def test_dispute_on_a_delivered_contract_by_the_client(services: Services, guild: Guild) -> None:
    contract, case = await disputed_contract(services, delivered=True, by="client")
    assert contract.status == ContractStatus.DISPUTED
    assert contract.status_before_dispute == ContractStatus.DELIVERED
    assert (case.opened_by, case.subject_id) == (CLIENT, WORKER)


async def test_dispute_before_funding_or_after_settlement_is_refused(services: Services, guild: Guild) -> None:
    hired = await hired_contract(services)
    done = await completed_contract(services, worker_id=WORKER2)
    before = await snapshot(services)
    for contract in (hired, done):
        with pytest.raises(WrongState) as refused:
            await services.cases.dispute(GUILD_ID, contract.id, actor_id=CLIENT, reason="x")
        assert refused.value.key == "error.case.dispute_state"
    assert await snapshot(services) == before


@pytest.mark.parametrize("actor", [OUTSIDER, MODERATOR])
async def test_dispute_by_a_non_party_is_refused(services: Services, guild: Guild, actor: int) -> None:
    contract = await funded_contract(services)
    before = await snapshot(services)
    with pytest.raises(NotAllowed) as refused:
        await services.cases.dispute(GUILD_ID, contract.id, actor_id=actor, reason="x")
    assert refused.value.key == "error.contract.not_party"
    assert await snapshot(services) == before


async def test_second_dispute_while_one_is_open_is_refused(services: Services, guild: Guild) -> None:
    contract, _ = await disputed_contract(services)
    before = await snapshot(services)
    with pytest.raises(WrongState) as refused:
        await services.cases.dispute(GUILD_ID, contract.id, actor_id=CLIENT, reason="me too")
    assert refused.value.key == "error.case.already_open"
    assert await snapshot(services) == before


async def test_dispute_needs_a_reason(services: Services, guild: Guild) -> None:
    contract = await funded_contract(services)
    with pytest.raises(InvalidInput) as refused:
        await services.cases.dispute(GUILD_ID, contract.id, actor_id=WORKER, reason=" ")
    assert refused.value.key == "error.text.required"
    assert (await reload(services, contract.id)).status == ContractStatus.ACTIVE


# -- reports --------------------------------------------------------------------------------


async def test_report_reaches_only_the_moderators(services: Services, guild: Guild) -> None:
    contract = await funded_contract(services)
    outbox_before = {r["id"] for r in await services.db.fetchall("SELECT id FROM outbox")}

    case = await services.cases.report(GUILD_ID, reporter_id=WORKER, user_id=CLIENT, reason="Rude in DMs.",
                                       contract_id=contract.id)

    # the contract is linked to the case (its card shows it), not the case to the contract's history
    assert (case.kind, case.reason_kind, case.opened_by, case.subject_id, case.contract_id) == (
        "report", "report", WORKER, CLIENT, contract.id)
    new_rows = [r for r in await services.db.fetchall("SELECT * FROM outbox ORDER BY id")
                if r["id"] not in outbox_before]
    # one mod card; no DM to anyone, no post in the contract thread the reported user can read
    assert [(r["target"], r["message_key"], r["recipient_id"]) for r in new_rows] == [
        ("mod", "case.card.report", None)]
    # the contract's buttons, as on an escalation; the report closes as upheld or dismissed
    assert json.loads(new_rows[0]["buttons"]) == [
        f"case:{case.id}:{action}" for action in ("nudge", "extend", "release", "refund", "split", "uphold", "dismiss")]
    reported_rows = await services.db.fetchall("SELECT * FROM outbox WHERE recipient_id = ? AND case_id = ?",
                                               (CLIENT, case.id))
    assert reported_rows == []
    # nothing in the contract's history (which the reported user can read) names the report
    history = await services.history.history(GUILD_ID, contract.id, viewer_id=CLIENT)
    assert not [e for e in history.events if "report" in e.kind or e.case_id == case.id]
    assert not any(e.case_id == case.id for e in history.events)
    # the contract is untouched
    assert (await reload(services, contract.id)).status == ContractStatus.ACTIVE


async def test_report_without_contract(services: Services, guild: Guild) -> None:
    case = await services.cases.report(GUILD_ID, reporter_id=OUTSIDER, user_id=WORKER, reason="Spam")
    assert case.contract_id is None
    rows = await case_outbox(services, case.id)
    assert [(r["target"], r["args"]["contract_id"]) for r in rows] == [("mod", "-")]
    assert not await services.db.fetchall("SELECT * FROM outbox WHERE recipient_id = ?", (WORKER,))


async def test_self_report_is_refused(services: Services, guild: Guild) -> None:
    before = await snapshot(services)
    with pytest.raises(InvalidInput) as refused:
        await services.cases.report(GUILD_ID, reporter_id=WORKER, user_id=WORKER, reason="me")
    assert refused.value.key == "error.case.report_self"
    assert await snapshot(services) == before


async def test_report_cooldown(services: Services, guild: Guild, clock: FakeClock) -> None:
    await services.cases.report(GUILD_ID, reporter_id=WORKER, user_id=CLIENT, reason="one")
    clock.advance(minutes=9)
    before = await snapshot(services)
    with pytest.raises(CooldownActive) as refused:
        await services.cases.report(GUILD_ID, reporter_id=WORKER, user_id=OUTSIDER, reason="two")
    assert refused.value.key == "error.cooldown"
    assert from_iso(refused.value.args_map["retry_at"]) == clock.now() + timedelta(minutes=1)
    assert await snapshot(services) == before
    # another reporter is not held back, and after the cooldown the first may report again
    await services.cases.report(GUILD_ID, reporter_id=WORKER2, user_id=CLIENT, reason="three")
    clock.advance(minutes=1)
    await services.cases.report(GUILD_ID, reporter_id=WORKER, user_id=OUTSIDER, reason="two")
    assert len(await services.cases.list(GUILD_ID)) == 3


async def test_a_report_closes_as_upheld_or_dismissed_with_a_reason(services: Services, guild: Guild) -> None:
    case = await services.cases.report(GUILD_ID, reporter_id=WORKER, user_id=CLIENT, reason="rude")
    for action in ("release", "close"):
        with pytest.raises(WrongState) as refused:
            await services.cases.act(GUILD_ID, case.id, moderator_id=MODERATOR, action=action, reason="no")
        assert refused.value.key == "error.case.action_state"
    for party in (WORKER, CLIENT):
        with pytest.raises(NotAllowed) as party_refused:
            await services.cases.act(GUILD_ID, case.id, moderator_id=party, action="uphold", reason="x")
        assert party_refused.value.key == "error.mod.party"
    with pytest.raises(InvalidInput) as no_reason:
        await services.cases.act(GUILD_ID, case.id, moderator_id=MODERATOR, action="uphold")
    assert no_reason.value.key == "error.text.required"
    closed = await services.cases.act(GUILD_ID, case.id, moderator_id=MODERATOR, action="uphold", reason="warned")
    assert (closed.status, closed.resolution, closed.resolved_by, closed.resolution_note) == (
        "resolved", "uphold", MODERATOR, "warned")
    # only the reporter hears the outcome
    dms = await services.db.fetchall("SELECT recipient_id, message_key FROM outbox WHERE target = 'dm'")
    assert [(r["recipient_id"], r["message_key"]) for r in dms] == [(WORKER, "notify.report_uphold")]
    [event] = await events(services, "case.uphold")
    assert (event["actor_id"], event["contract_id"]) == (MODERATOR, None)
    with pytest.raises(WrongState):
        await services.cases.act(GUILD_ID, case.id, moderator_id=MODERATOR, action="dismiss", reason="again")


async def test_a_report_naming_a_contract_offers_its_actions(services: Services, guild: Guild) -> None:
    contract = await hired_contract(services)
    case = await services.cases.report(GUILD_ID, reporter_id=WORKER, user_id=CLIENT, reason="Will not pay",
                                       contract_id=contract.id)
    [card] = await case_outbox(services, case.id)
    assert card["buttons"] == [f"case:{case.id}:{action}" for action in ("nudge", "extend", "cancel", "uphold",
                                                                          "dismiss")]
    await services.cases.act(GUILD_ID, case.id, moderator_id=MODERATOR, action="nudge", reason="Please fund it")
    [nudge] = await contract_outbox(services, contract.id, target="dm", message_key="notify.nudge.report")
    assert (nudge["recipient_id"], nudge["args"]["reason"]) == (CLIENT, "Please fund it")
    # a moderator's cancel from the report card ends the contract and resolves the report
    await services.cases.act(GUILD_ID, case.id, moderator_id=MODERATOR, action="cancel", reason="Never funded")
    assert (await reload(services, contract.id)).status == ContractStatus.CANCELLED
    assert (await get_case(services, case.id)).resolution == "cancel"


async def test_upheld_reports_count_in_the_reported_users_figures(services: Services, guild: Guild,
                                                                 clock: FakeClock) -> None:
    upheld = await services.cases.report(GUILD_ID, reporter_id=WORKER, user_id=CLIENT, reason="rude")
    await services.cases.act(GUILD_ID, upheld.id, moderator_id=MODERATOR, action="uphold", reason="seen")
    clock.advance(hours=1)
    dismissed = await services.cases.report(GUILD_ID, reporter_id=WORKER, user_id=CLIENT, reason="again")
    await services.cases.act(GUILD_ID, dismissed.id, moderator_id=MODERATOR, action="dismiss", reason="no proof")
    clock.advance(hours=1)
    await services.cases.report(GUILD_ID, reporter_id=OUTSIDER, user_id=CLIENT, reason="still open")

    figures = await services.reputation.figures(GUILD_ID, CLIENT)
    assert (figures.client.reports_upheld, figures.worker.reports_upheld) == (1, 1)
    assert (await services.reputation.figures(GUILD_ID, WORKER)).client.reports_upheld == 0


async def test_a_report_naming_a_contract_one_open_per_reporter(services: Services, guild: Guild,
                                                               clock: FakeClock) -> None:
    contract = await funded_contract(services)
    case = await services.cases.report(GUILD_ID, reporter_id=WORKER, user_id=CLIENT, reason="rude",
                                       contract_id=contract.id)
    clock.advance(hours=1)
    with pytest.raises(WrongState) as again:
        await services.cases.report(GUILD_ID, reporter_id=WORKER, user_id=CLIENT, reason="rude again",
                                    contract_id=contract.id)
    assert (again.value.key, again.value.args_map) == (
        "error.report.already_open", {"case_id": case.id, "contract_id": contract.id})
    # the other party may report too, and an outsider may not name the contract
    other = await services.cases.report(GUILD_ID, reporter_id=CLIENT, user_id=WORKER, reason="slow",
                                        contract_id=contract.id)
    assert other.contract_id == contract.id
    with pytest.raises(NotAllowed):
        await services.cases.report(GUILD_ID, reporter_id=OUTSIDER, user_id=CLIENT, reason="x",
                                    contract_id=contract.id)
    # about someone who is not the other party: refused
    clock.advance(hours=1)
    with pytest.raises(InvalidInput) as wrong_user:
        await services.cases.report(GUILD_ID, reporter_id=WORKER, user_id=OUTSIDER, reason="x",
                                    contract_id=contract.id)
    assert wrong_user.value.key == "error.report.not_other_party"
    # a decided report frees the slot; the contract's own events never settle a report
    await services.cases.act(GUILD_ID, case.id, moderator_id=MODERATOR, action="dismiss", reason="talked")
    again_ok = await services.cases.report(GUILD_ID, reporter_id=WORKER, user_id=CLIENT, reason="rude, again",
                                           contract_id=contract.id)
    assert again_ok.status == "open"
    await deliver(services, contract)
    assert (await reload(services, contract.id)).status == ContractStatus.DELIVERED
    assert await count(services, "cases", "kind = 'report' AND status = 'open'") == 2


# -- money decisions --------------------------------------------------------------------------


async def test_release_pays_the_worker_less_the_fee(services: Services, guild: Guild, clock: FakeClock) -> None:
    contract, case = await disputed_contract(services)
    clock.advance(hours=6)

    decided = await services.cases.act(GUILD_ID, case.id, moderator_id=MODERATOR, action="release",
                                       reason="Work matches the terms.")

    assert (decided.status, decided.resolution, decided.resolved_by, decided.resolution_note, decided.resolved_at) == (
        "resolved", "release", MODERATOR, "Work matches the terms.", clock.now())
    after = await reload(services, contract.id)
    assert (after.status, after.closed_at) == (ContractStatus.COMPLETED, clock.now())
    balances = await ledger(services)
    assert (balances[f"escrow:{contract.id}"], balances[f"owed:{WORKER}"], balances["fees"]) == (0, 45000, 5000)
    assert await outcome_dms(services, contract.id, "release") == [CLIENT, WORKER]
    dm = (await contract_outbox(services, contract.id, message_key="notify.case_release"))[0]
    assert (dm["args"]["worker_amount"], dm["args"]["client_amount"], dm["args"]["reason"]) == (
        45000, 0, "Work matches the terms.")
    event = await services.db.fetchone("SELECT actor_id, data FROM events WHERE kind = 'case.release'")
    assert event is not None and event["actor_id"] == MODERATOR and "Work matches the terms." in event["data"]


async def test_refund_returns_the_escrow_to_the_client(services: Services, guild: Guild) -> None:
    contract, case = await disputed_contract(services, delivered=True)
    await services.cases.act(GUILD_ID, case.id, moderator_id=MODERATOR, action="refund", reason="Nothing usable.")
    assert (await reload(services, contract.id)).status == ContractStatus.REFUNDED
    balances = await ledger(services)
    assert (balances[f"escrow:{contract.id}"], balances[f"refund:{CLIENT}"]) == (0, PRICE)
    assert balances.get(f"owed:{WORKER}", 0) == 0 and balances.get("fees", 0) == 0
    assert await outcome_dms(services, contract.id, "refund") == [CLIENT, WORKER]
    delivery = (await services.deliveries.deliveries(GUILD_ID, contract.id))[-1]
    assert delivery.outcome == "settled"


async def test_split_thirty_percent(services: Services, guild: Guild) -> None:
    contract, case = await disputed_contract(services, price=12345)

    await services.cases.act(GUILD_ID, case.id, moderator_id=MODERATOR, action="split", reason="Half done.",
                             percent=30)

    # 30% of 12345 = 3703 (rounded down); fee 10% of that share = 370; the rest goes back
    assert (await reload(services, contract.id)).status == ContractStatus.SPLIT
    balances = await ledger(services)
    assert balances[f"escrow:{contract.id}"] == 0
    assert balances[f"owed:{WORKER}"] == 3333
    assert balances["fees"] == 370
    assert balances[f"refund:{CLIENT}"] == 8642
    txns = await ledger_txns(services, contract_id=contract.id, kind="split")
    assert len(txns) == 1
    dm = (await contract_outbox(services, contract.id, message_key="notify.case_split"))[0]
    assert (dm["args"]["worker_amount"], dm["args"]["client_amount"], dm["args"]["percent"]) == (3333, 8642, 30)
    assert await outcome_dms(services, contract.id, "split") == [CLIENT, WORKER]


@pytest.mark.parametrize("percent", [None, -1, 101])
async def test_split_needs_a_percentage(services: Services, guild: Guild, percent: int | None) -> None:
    _, case = await disputed_contract(services)
    before = await snapshot(services)
    with pytest.raises(InvalidInput) as refused:
        await services.cases.act(GUILD_ID, case.id, moderator_id=MODERATOR, action="split", reason="r",
                                 percent=percent)
    assert refused.value.key == "error.case.percent"
    assert await snapshot(services) == before


@pytest.mark.parametrize("action", ["release", "refund", "split", "cancel"])
async def test_money_actions_need_a_reason(services: Services, guild: Guild, action: str) -> None:
    _, case = await disputed_contract(services)
    before = await snapshot(services)
    with pytest.raises(InvalidInput) as refused:
        await services.cases.act(GUILD_ID, case.id, moderator_id=MODERATOR, action=action, reason="  ",
                                 percent=50)
    assert refused.value.key == "error.text.required"
    assert await snapshot(services) == before


async def test_moderator_who_is_a_party_cannot_act(services: Services, guild: Guild) -> None:
    # the moderator is the client of this contract; the case was opened by the worker
    _, case = await disputed_contract(services, client_id=MODERATOR, moderator_id=OUTSIDER)
    before = await snapshot(services)
    with pytest.raises(NotAllowed) as refused:
        await services.cases.act(GUILD_ID, case.id, moderator_id=MODERATOR, action="refund", reason="mine")
    assert refused.value.key == "error.mod.party"
    assert await snapshot(services) == before
    # and for an escalation the scheduler opened
    escalated = await funded_contract(services, worker_id=MODERATOR, client_id=OUTSIDER, moderator_id=CLIENT)
    esc = await services.cases.escalate(escalated.id, reason_kind="overdue", subject_id=MODERATOR)
    assert esc is not None
    with pytest.raises(NotAllowed):
        await services.cases.act(GUILD_ID, esc.id, moderator_id=MODERATOR, action="release", reason="pay me")


async def test_second_action_on_a_resolved_case_is_refused(services: Services, guild: Guild) -> None:
    _, case = await disputed_contract(services)
    await services.cases.act(GUILD_ID, case.id, moderator_id=MODERATOR, action="release", reason="ok")
    before = await snapshot(services)
    for action in ("refund", "close", "nudge"):
        with pytest.raises(WrongState) as refused:
            await services.cases.act(GUILD_ID, case.id, moderator_id=MODERATOR, action=action, reason="again")
        assert refused.value.key == "error.case.closed"
    assert await snapshot(services) == before


async def test_two_concurrent_money_decisions_exactly_one(services: Services, guild: Guild) -> None:
    contract, case = await disputed_contract(services)
    results = await asyncio.gather(
        services.cases.act(GUILD_ID, case.id, moderator_id=MODERATOR, action="release", reason="a"),
        services.cases.act(GUILD_ID, case.id, moderator_id=OUTSIDER, action="refund", reason="b"),
        return_exceptions=True,
    )
    assert sum(isinstance(r, Case) for r in results) == 1
    assert sum(isinstance(r, WrongState) for r in results) == 1
    assert len(await ledger_txns(services, contract_id=contract.id, kind="release")
               + await ledger_txns(services, contract_id=contract.id, kind="refund")) == 1
    assert (await ledger(services))[f"escrow:{contract.id}"] == 0


async def test_deciding_settles_the_other_open_cases(services: Services, guild: Guild) -> None:
    contract = await funded_contract(services)
    escalation = await services.cases.escalate(contract.id, reason_kind="overdue", subject_id=WORKER)
    assert escalation is not None
    dispute = await services.cases.dispute(GUILD_ID, contract.id, actor_id=CLIENT, reason="late")
    await services.cases.act(GUILD_ID, dispute.id, moderator_id=MODERATOR, action="refund", reason="late")
    other = await get_case(services, escalation.id)
    assert (other.status, other.resolution) == ("resolved", "settled")
    assert await services.cases.list(GUILD_ID) == []


@pytest.mark.parametrize("action", ["release", "refund", "split"])
async def test_money_actions_refused_on_unfunded_contract(services: Services, guild: Guild, action: str) -> None:
    contract = await hired_contract(services)
    case = await services.cases.escalate(contract.id, reason_kind="escrow_unfunded", subject_id=CLIENT)
    assert case is not None
    before = await snapshot(services)
    with pytest.raises(WrongState) as refused:
        await services.cases.act(GUILD_ID, case.id, moderator_id=MODERATOR, action=action, reason="r", percent=50)
    assert refused.value.key == "error.case.action_state"
    assert await snapshot(services) == before


# -- cancel, extend, close, nudge -------------------------------------------------------------


async def test_cancel_an_unfunded_contract(services: Services, guild: Guild) -> None:
    contract = await hired_contract(services)
    job = await services.jobs.get(GUILD_ID, contract.job_id)
    assert job.status == JobStatus.FILLED
    case = await services.cases.escalate(contract.id, reason_kind="escrow_unfunded", subject_id=CLIENT)
    assert case is not None
    card = next(r for r in await case_outbox(services, case.id) if r["target"] == "mod")
    assert card["buttons"] == [f"case:{case.id}:{a}" for a in ("nudge", "extend", "cancel", "close")]

    decided = await services.cases.act(GUILD_ID, case.id, moderator_id=MODERATOR, action="cancel",
                                       reason="Client silent for a week.")

    assert decided.resolution == "cancel"
    assert (await reload(services, contract.id)).status == ContractStatus.CANCELLED
    job = await services.jobs.get(GUILD_ID, contract.job_id)
    assert (job.status, job.filled) == (JobStatus.OPEN, 0)
    assert await outcome_dms(services, contract.id, "cancel") == [CLIENT, WORKER]
    assert await ledger_txns(services, contract_id=contract.id) == []


async def test_cancel_after_a_declared_deposit_voids_it(services: Services, guild: Guild) -> None:
    contract = await deposited_contract(services)
    cancel = await services.cases.cancel(GUILD_ID, contract.id, actor_id=CLIENT, reason="Changed my mind.")
    assert cancel.case is not None and cancel.case.reason_kind == "cancel_request"
    assert cancel.contract.status == ContractStatus.FUNDING_SUBMITTED
    await services.cases.act(GUILD_ID, cancel.case.id, moderator_id=MODERATOR, action="cancel", reason="agreed",
                             deposit_arrived=False)  # nothing arrived: the declaration is voided
    assert (await reload(services, contract.id)).status == ContractStatus.CANCELLED
    deposits = await services.db.fetchall("SELECT status FROM deposits WHERE contract_id = ?", (contract.id,))
    assert [d["status"] for d in deposits] == ["void"]
    with pytest.raises(WrongState):
        await services.escrow.confirm(GUILD_ID, contract.id, moderator_id=MODERATOR)
    assert await ledger_txns(services, contract_id=contract.id) == []


async def test_cancel_is_refused_on_a_funded_contract(services: Services, guild: Guild) -> None:
    _, case = await disputed_contract(services)
    before = await snapshot(services)
    with pytest.raises(WrongState) as refused:
        await services.cases.act(GUILD_ID, case.id, moderator_id=MODERATOR, action="cancel", reason="no")
    assert refused.value.key == "error.case.action_state"
    assert await snapshot(services) == before
    active = await funded_contract(services, worker_id=WORKER2)
    esc = await services.cases.escalate(active.id, reason_kind="overdue", subject_id=WORKER2)
    assert esc is not None
    with pytest.raises(WrongState):
        await services.cases.act(GUILD_ID, esc.id, moderator_id=MODERATOR, action="cancel", reason="no")
    assert (await reload(services, active.id)).status == ContractStatus.ACTIVE


async def test_extend_moves_the_deadline_and_the_clock(services: Services, guild: Guild, clock: FakeClock) -> None:
    contract = await funded_contract(services)
    clock.advance(days=9)  # two days overdue
    case = await services.cases.escalate(contract.id, reason_kind="overdue", subject_id=WORKER)
    assert case is not None

    await services.cases.act(GUILD_ID, case.id, moderator_id=MODERATOR, action="extend", extend="3d")

    after = await reload(services, contract.id)
    assert after.status == ContractStatus.ACTIVE
    # the deadline was in the past: three days from now
    assert after.due_at == clock.now() + timedelta(days=3)
    assert after.clock_at == clock.now() + timedelta(days=3)
    assert after.timer_round == contract.timer_round + 1
    resolved = await get_case(services, case.id)
    assert (resolved.status, resolved.resolution) == ("resolved", "extend")
    dms = await contract_outbox(services, contract.id, message_key="notify.case_extend")
    assert sorted(r["recipient_id"] for r in dms) == [CLIENT, WORKER]
    assert dms[0]["args"]["extend"] == "3d"


async def test_extend_before_the_deadline_adds_to_it(services: Services, guild: Guild) -> None:
    contract = await funded_contract(services)
    case = await services.cases.escalate(contract.id, reason_kind="reply_silent", subject_id=CLIENT)
    assert case is not None and contract.due_at is not None
    await services.cases.act(GUILD_ID, case.id, moderator_id=MODERATOR, action="extend", extend="1d12h")
    assert (await reload(services, contract.id)).due_at == contract.due_at + timedelta(days=1, hours=12)


@pytest.mark.parametrize("value", ["soon", "0s", "61d"])
async def test_bad_extend_is_refused(services: Services, guild: Guild, value: str) -> None:
    contract = await funded_contract(services)
    case = await services.cases.escalate(contract.id, reason_kind="overdue", subject_id=WORKER)
    assert case is not None
    before = await snapshot(services)
    with pytest.raises(InvalidInput) as refused:
        await services.cases.act(GUILD_ID, case.id, moderator_id=MODERATOR, action="extend", extend=value)
    assert refused.value.key == "error.case.extend"
    assert await snapshot(services) == before


async def test_extend_on_a_dispute_returns_to_work_with_more_time(services: Services, guild: Guild,
                                                                   clock: FakeClock) -> None:
    contract, case = await disputed_contract(services)
    assert contract.due_at is not None
    clock.advance(timedelta(days=3))  # three days with the moderators: paused, then two more days given
    await services.cases.act(GUILD_ID, case.id, moderator_id=MODERATOR, action="extend", extend="2d")
    after = await reload(services, contract.id)
    assert (after.status, after.paused_at) == (ContractStatus.ACTIVE, None)
    assert after.due_at == contract.due_at + timedelta(days=5)


@pytest.mark.parametrize("delivered", [False, True])
async def test_close_returns_a_disputed_contract_to_where_it_was(services: Services, guild: Guild,
                                                                 delivered: bool) -> None:
    contract, case = await disputed_contract(services, delivered=delivered)
    closed = await services.cases.act(GUILD_ID, case.id, moderator_id=MODERATOR, action="close",
                                      reason="Talked it through.")
    assert (closed.status, closed.resolution) == ("resolved", "close")
    after = await reload(services, contract.id)
    assert after.status == (ContractStatus.DELIVERED if delivered else ContractStatus.ACTIVE)
    assert after.closed_at is None
    assert (await ledger(services))[f"escrow:{contract.id}"] == PRICE
    assert await outcome_dms(services, contract.id, "close") == [CLIENT, WORKER]
    # the contract goes on as before
    if delivered:
        await services.deliveries.approve(GUILD_ID, contract.id, actor_id=CLIENT)
        assert (await reload(services, contract.id)).status == ContractStatus.COMPLETED


async def test_closing_an_escalation_leaves_an_open_dispute_in_place(services: Services, guild: Guild) -> None:
    contract = await funded_contract(services)
    escalation = await services.cases.escalate(contract.id, reason_kind="overdue", subject_id=WORKER)
    assert escalation is not None
    dispute = await services.cases.dispute(GUILD_ID, contract.id, actor_id=CLIENT, reason="Late and silent.")

    await services.cases.act(GUILD_ID, escalation.id, moderator_id=MODERATOR, action="close", reason="dup")

    # the dispute is still open, so the contract stays disputed
    assert (await get_case(services, dispute.id)).status == "open"
    assert (await reload(services, contract.id)).status == ContractStatus.DISPUTED
    with pytest.raises(WrongState):
        await services.deliveries.deliver(GUILD_ID, contract.id, actor_id=WORKER, files=[IncomingFile("a", b"a")])
    await services.cases.act(GUILD_ID, dispute.id, moderator_id=MODERATOR, action="close", reason="resolved")
    assert (await reload(services, contract.id)).status == ContractStatus.ACTIVE


async def test_nudge_keeps_the_case_open(services: Services, guild: Guild) -> None:
    contract = await hired_contract(services)
    case = await services.cases.escalate(contract.id, reason_kind="escrow_unfunded", subject_id=CLIENT)
    assert case is not None

    same = await services.cases.act(GUILD_ID, case.id, moderator_id=MODERATOR, action="nudge")

    assert (same.status, same.resolution) == ("open", None)
    nudges = await contract_outbox(services, contract.id, message_key="notify.nudge.escrow_unfunded")
    assert [r["recipient_id"] for r in nudges] == [CLIENT]
    assert (await reload(services, contract.id)).status == ContractStatus.AWAITING_FUNDING
    # nudging again is fine; the case can still be decided
    await services.cases.act(GUILD_ID, case.id, moderator_id=MODERATOR, action="nudge", reason="second try")
    assert len(await contract_outbox(services, contract.id, message_key="notify.nudge.escrow_unfunded")) == 2
    await services.cases.act(GUILD_ID, case.id, moderator_id=MODERATOR, action="cancel", reason="silent")
    assert (await reload(services, contract.id)).status == ContractStatus.CANCELLED


async def test_unknown_action_and_unknown_case(services: Services, guild: Guild) -> None:
    _, case = await disputed_contract(services)
    with pytest.raises(InvalidInput) as bad:
        await services.cases.act(GUILD_ID, case.id, moderator_id=MODERATOR, action="ban", reason="x")
    assert bad.value.key == "error.case.bad_action"
    with pytest.raises(NotFound) as missing:
        await services.cases.act(GUILD_ID, 9999, moderator_id=MODERATOR, action="close")
    assert missing.value.key == "error.case.not_found"
    with pytest.raises(NotFound):
        await services.cases.act(GUILD_ID + 1, case.id, moderator_id=MODERATOR, action="close")


async def test_cases_listing(services: Services, guild: Guild) -> None:
    _, case = await disputed_contract(services)
    report = await services.cases.report(GUILD_ID, reporter_id=OUTSIDER, user_id=CLIENT, reason="x")
    assert [c.id for c in await services.cases.list(GUILD_ID)] == [report.id, case.id]
    await services.cases.act(GUILD_ID, report.id, moderator_id=MODERATOR, action="dismiss", reason="x")
    assert [c.id for c in await services.cases.list(GUILD_ID, "resolved")] == [report.id]
    assert len(await services.cases.list(GUILD_ID, None)) == 2
    with pytest.raises(InvalidInput):
        await services.cases.list(GUILD_ID, "whatever")


async def test_delivered_contract_dispute_then_release(services: Services, guild: Guild) -> None:
    contract = await delivered_contract(services)
    case = await services.cases.dispute(GUILD_ID, contract.id, actor_id=WORKER, reason="Client does not review.")
    await services.cases.act(GUILD_ID, case.id, moderator_id=MODERATOR, action="release", reason="Delivered.")
    assert (await reload(services, contract.id)).status == ContractStatus.COMPLETED
    assert (await ledger(services))[f"owed:{WORKER}"] == 45000


async def test_approving_settles_an_open_cancel_request(services: Services, guild: Guild) -> None:
    # the client asked to cancel after declaring the deposit, then the work went ahead anyway
    contract = await deposited_contract(services)
    cancel = await services.cases.cancel(GUILD_ID, contract.id, actor_id=CLIENT, reason="Maybe not.")
    assert cancel.case is not None
    await services.escrow.confirm(GUILD_ID, contract.id, moderator_id=MODERATOR)
    await services.deliveries.deliver(GUILD_ID, contract.id, actor_id=WORKER, files=[IncomingFile("a", b"a")])

    await services.deliveries.approve(GUILD_ID, contract.id, actor_id=CLIENT)

    # nothing is left for the moderators to decide on a paid-out contract
    case = await get_case(services, cancel.case.id)
    assert (case.status, case.resolution, case.resolved_by) == ("resolved", "settled", None)
    assert await services.cases.list(GUILD_ID) == []


async def test_cancelling_resolves_the_escalation_of_an_unfunded_contract(services: Services, guild: Guild) -> None:
    contract = await hired_contract(services)
    escalation = await services.cases.escalate(contract.id, reason_kind="escrow_unfunded", subject_id=CLIENT)
    assert escalation is not None

    await services.contracts.cancel(GUILD_ID, contract.id, actor_id=CLIENT, reason="Found someone else.")

    case = await get_case(services, escalation.id)
    assert (case.status, case.resolution) == ("resolved", "settled")
    assert await services.cases.list(GUILD_ID) == []


async def test_extending_a_reply_case_does_not_delay_the_review(services: Services, guild: Guild,
                                                                 clock: FakeClock) -> None:
    contract = await delivered_contract(services)
    await services.contracts.set_thread(contract.id, 7000)
    await services.contracts.record_thread_message(7000, WORKER, clock.now())
    waiting = await reload(services, contract.id)
    assert waiting.awaiting_reply_since is not None
    case = await services.cases.escalate(contract.id, reason_kind="reply_silent", subject_id=CLIENT)
    assert case is not None

    await services.cases.act(GUILD_ID, case.id, moderator_id=MODERATOR, action="extend", extend="2d")

    after = await reload(services, contract.id)
    assert after.awaiting_reply_since == waiting.awaiting_reply_since + timedelta(days=2)
    assert after.clock_at == waiting.clock_at  # the delivery's review period (auto-approval) is unchanged
