"""Contracts on a real database: offer, accept, decline, withdraw, expire, cancel; races."""

from __future__ import annotations

import asyncio
from collections.abc import Sequence
from typing import Any

import pytest

from bot.clock import FakeClock
from bot.errors import InvalidInput, MarketError, NotAllowed, NotFound, WrongState
from bot.models.entities import Guild
from bot.models.states import ApplicationStatus, ContractStatus, JobStatus
from bot.models.terms import DEFAULT_REVISIONS, MAX_REVISIONS
from bot.services.common import LIMITS
from bot.services.container import Services
from tests.ids import CLIENT, GUILD_ID, MODERATOR, OUTSIDER, WORKER, WORKER2
from tests.services.helpers import (
    apply,
    balance,
    count,
    deposited_contract,
    events,
    funded_contract,
    hired_contract,
    no_cooldowns,
    offered_contract,
    outbox,
    post_job,
    snapshot,
)

CS = ContractStatus


# -- offer --------------------------------------------------------------------------


async def test_offer_takes_price_and_days_from_the_application(
    services: Services, guild: Guild, clock: FakeClock
) -> None:
    job = await post_job(services, budget=50000, deadline="14d")
    application = await apply(services, job, price=42000, days=5)
    view = await services.contracts.offer(GUILD_ID, CLIENT, job.id, WORKER)
    contract, terms = view.contract, view.terms
    assert (contract.status, contract.client_id, contract.worker_id) == (CS.OFFERED, CLIENT, WORKER)
    assert (contract.job_id, contract.application_id, contract.currency) == (job.id, application.id, "JPY")
    assert (contract.terms_version, contract.offered_at, contract.accepted_at) == (1, clock.now(), None)
    assert (terms.version, terms.price, terms.deadline_days, terms.deadline_date) == (1, 42000, 5, None)
    assert terms.scope == f"{job.title}\n\n{job.description}"
    assert (terms.revisions_included, terms.fee_percent, terms.created_by) == (DEFAULT_REVISIONS, 10, CLIENT)
    assert view.job_title == job.title
    assert view.fee_and_payout == (4200, 37800)
    assert (await services.jobs.application_of(GUILD_ID, job.id, WORKER)).status == ApplicationStatus.OFFERED  # type: ignore[union-attr]
    (dm,) = await outbox(services, message_key="notify.offer_received")
    assert (dm["target"], dm["recipient_id"], dm["contract_id"]) == ("dm", WORKER, contract.id)
    assert dm["buttons"] == [f"contract:{contract.id}:accept", f"contract:{contract.id}:decline"]
    assert dm["args"]["price_amount"] == 42000 and dm["args"]["deadline"] == "5d"
    (event,) = await events(services, "contract.offered")
    assert (event["contract_id"], event["actor_id"], event["data"]) == (
        contract.id, CLIENT, {"price": 42000, "deadline": "5d"},
    )


async def test_offer_takes_the_deadline_from_the_job_when_the_application_has_no_days(
    services: Services, guild: Guild
) -> None:
    job = await post_job(services, deadline="2026-02-01")
    await apply(services, job)
    terms = (await services.contracts.offer(GUILD_ID, CLIENT, job.id, WORKER)).terms
    assert (terms.deadline_days, terms.deadline_date) == (None, "2026-02-01")
    assert terms.price == job.budget


async def test_offer_with_explicit_terms(services: Services, guild: Guild) -> None:
    job = await post_job(services)
    await apply(services, job, price=42000, days=5)
    view = await services.contracts.offer(GUILD_ID, CLIENT, job.id, WORKER, price="45000", deadline="2026-03-01",
                                          revisions=0, scope="  Only the logo, SVG.  ")
    terms = view.terms
    assert (terms.price, terms.deadline_days, terms.deadline_date) == (45000, None, "2026-03-01")
    assert (terms.revisions_included, terms.scope) == (0, "Only the logo, SVG.")


async def test_offer_uses_the_guild_fee_at_signing(services: Services, guild: Guild) -> None:
    await services.guilds.set_policy(GUILD_ID, "fee_percent", "15", actor_id=MODERATOR)
    offer = await offered_contract(services)
    await services.guilds.set_policy(GUILD_ID, "fee_percent", "5", actor_id=MODERATOR)
    view = await services.contracts.view(GUILD_ID, offer.id, viewer_id=WORKER)
    assert view.terms.fee_percent == 15


async def test_offer_default_date_deadline_that_has_passed_is_refused(
    services: Services, guild: Guild, clock: FakeClock
) -> None:
    job = await post_job(services, deadline="2026-01-10")
    await apply(services, job)
    clock.set(clock.now().replace(day=10))
    before = await snapshot(services)
    with pytest.raises(InvalidInput) as refused:
        await services.contracts.offer(GUILD_ID, CLIENT, job.id, WORKER)
    assert refused.value.key == "error.deadline.invalid"
    assert await snapshot(services) == before
    view = await services.contracts.offer(GUILD_ID, CLIENT, job.id, WORKER, deadline="7d")
    assert view.terms.deadline_days == 7


BAD_TERMS: list[tuple[str, dict[str, Any], str]] = [
    ("revisions negative", {"revisions": -1}, "error.contract.revisions"),
    ("revisions too many", {"revisions": MAX_REVISIONS + 1}, "error.contract.revisions"),
    ("price 0", {"price": 0}, "error.money.not_positive"),
    ("price decimals", {"price": "10.5"}, "error.money.decimals"),
    ("price over max", {"price": 10_000_001}, "error.money.too_large"),
    ("deadline past", {"deadline": "2026-01-01"}, "error.deadline.invalid"),
    ("deadline garbage", {"deadline": "tomorrow"}, "error.deadline.invalid"),
    ("scope blank", {"scope": "  "}, "error.text.required"),
    ("scope too long", {"scope": "x" * (LIMITS["scope"] + 1)}, "error.text.too_long"),
]


@pytest.mark.parametrize(("terms", "key"), [b[1:] for b in BAD_TERMS], ids=[b[0] for b in BAD_TERMS])
async def test_bad_terms_are_refused_and_change_nothing(
    services: Services, guild: Guild, terms: dict[str, Any], key: str
) -> None:
    job = await post_job(services)
    await apply(services, job)
    before = await snapshot(services)
    with pytest.raises(InvalidInput) as refused:
        await services.contracts.offer(GUILD_ID, CLIENT, job.id, WORKER, **terms)
    assert refused.value.key == key
    assert await snapshot(services) == before


async def test_offer_by_someone_else_than_the_client(services: Services, guild: Guild) -> None:
    job = await post_job(services)
    await apply(services, job)
    before = await snapshot(services)
    for actor in (OUTSIDER, MODERATOR, WORKER2):
        with pytest.raises(NotAllowed) as refused:
            await services.contracts.offer(GUILD_ID, actor, job.id, WORKER)
        assert refused.value.key == "error.job.not_client"
    assert await snapshot(services) == before


async def test_self_hire_is_refused(services: Services, guild: Guild) -> None:
    job = await post_job(services)
    before = await snapshot(services)
    with pytest.raises(InvalidInput) as refused:
        await services.contracts.offer(GUILD_ID, CLIENT, job.id, CLIENT)
    assert refused.value.key == "error.contract.self_hire"
    assert await snapshot(services) == before


async def test_offer_without_an_application(services: Services, guild: Guild) -> None:
    job = await post_job(services)
    await apply(services, job, WORKER2)
    before = await snapshot(services)
    with pytest.raises(InvalidInput) as refused:
        await services.contracts.offer(GUILD_ID, CLIENT, job.id, WORKER)
    assert refused.value.key == "error.contract.no_application"
    assert await snapshot(services) == before


async def test_offer_on_an_unknown_job(services: Services, guild: Guild) -> None:
    job = await post_job(services)
    with pytest.raises(NotFound) as refused:
        await services.contracts.offer(GUILD_ID, CLIENT, job.id + 1, WORKER)
    assert refused.value.key == "error.job.not_found"
    with pytest.raises(NotFound):
        await services.contracts.offer(GUILD_ID + 1, CLIENT, job.id, WORKER)


@pytest.mark.parametrize("how", ["withdrawn", "rejected", "offered", "declined"])
async def test_offer_when_the_application_is_not_pending(services: Services, guild: Guild, how: str) -> None:
    job = await post_job(services)
    application = await apply(services, job)
    if how == "withdrawn":
        await services.jobs.withdraw_application(GUILD_ID, job.id, WORKER)
    elif how == "rejected":
        await services.jobs.reject_application(GUILD_ID, application.id, actor_id=CLIENT)
    else:
        offer = await services.contracts.offer(GUILD_ID, CLIENT, job.id, WORKER)
        if how == "declined":
            await services.contracts.decline(GUILD_ID, offer.contract.id, actor_id=WORKER)
    before = await snapshot(services)
    with pytest.raises(WrongState) as refused:
        await services.contracts.offer(GUILD_ID, CLIENT, job.id, WORKER)
    assert refused.value.key == "error.contract.application_state"
    assert await snapshot(services) == before


@pytest.mark.parametrize("how", ["closed", "filled"])
async def test_offer_when_the_job_is_not_open(services: Services, guild: Guild, how: str) -> None:
    job = await post_job(services)
    await apply(services, job, WORKER)
    await apply(services, job, WORKER2)
    if how == "closed":
        await services.jobs.close(GUILD_ID, job.id, actor_id=CLIENT)
    else:
        offer = await services.contracts.offer(GUILD_ID, CLIENT, job.id, WORKER2)
        await services.contracts.accept(GUILD_ID, offer.contract.id, actor_id=WORKER2)
    # the remaining application was rejected by the close/fill; put it back to pending to test the job check
    await services.db.conn.execute("UPDATE applications SET status = 'pending' WHERE worker_id = ?", (WORKER,))
    before = await snapshot(services)
    with pytest.raises(WrongState) as refused:
        await services.contracts.offer(GUILD_ID, CLIENT, job.id, WORKER)
    assert refused.value.key == "error.contract.job_not_open"
    assert await snapshot(services) == before


# -- accept ------------------------------------------------------------------------------


async def test_accept_hires_fills_the_job_and_rejects_the_others(
    services: Services, guild: Guild, clock: FakeClock
) -> None:
    job = await post_job(services)
    await apply(services, job, WORKER)
    await apply(services, job, WORKER2)
    await apply(services, job, OUTSIDER)
    await services.jobs.withdraw_application(GUILD_ID, job.id, OUTSIDER)
    offer = (await services.contracts.offer(GUILD_ID, CLIENT, job.id, WORKER)).contract
    clock.advance(hours=2)

    view = await services.contracts.accept(GUILD_ID, offer.id, actor_id=WORKER)

    contract = view.contract
    assert contract.status == CS.AWAITING_FUNDING
    assert contract.accepted_at == contract.clock_at == clock.now()
    statuses = {a.worker_id: a.status for a in await services.jobs.applications(GUILD_ID, job.id, actor_id=CLIENT)}
    assert statuses == {WORKER: "hired", WORKER2: "rejected", OUTSIDER: "withdrawn"}
    filled = await services.jobs.get(GUILD_ID, job.id)
    assert (filled.status, filled.filled) == (JobStatus.FILLED, 1)
    (told,) = await outbox(services, message_key="notify.job_filled_applicant")
    assert told["recipient_id"] == WORKER2
    (client_dm,) = await outbox(services, message_key="notify.offer_accepted_client")
    assert client_dm["recipient_id"] == CLIENT
    assert client_dm["buttons"] == [f"escrow:{contract.id}:deposit"]
    (thread,) = await outbox(services, target="thread")
    assert (thread["message_key"], thread["contract_id"]) == ("thread.opened", contract.id)
    board = await outbox(services, target="board")
    assert [row["job_id"] for row in board] == [job.id, job.id]  # posted, filled
    assert [e["kind"] for e in await events(services, job_id=job.id)][-2:] == ["job.filled", "contract.accepted"]


async def test_accept_on_a_job_with_two_positions(services: Services, guild: Guild) -> None:
    job = await post_job(services, positions=2)
    first = await offered_contract(services, job=job, worker_id=WORKER)
    second = await offered_contract(services, job=job, worker_id=WORKER2)
    await apply(services, job, OUTSIDER)
    await services.contracts.accept(GUILD_ID, first.id, actor_id=WORKER)
    half = await services.jobs.get(GUILD_ID, job.id)
    assert (half.status, half.filled) == (JobStatus.OPEN, 1)
    assert (await services.jobs.application_of(GUILD_ID, job.id, OUTSIDER)).status == "pending"  # type: ignore[union-attr]
    await services.contracts.accept(GUILD_ID, second.id, actor_id=WORKER2)
    full = await services.jobs.get(GUILD_ID, job.id)
    assert (full.status, full.filled) == (JobStatus.FILLED, 2)
    assert (await services.jobs.application_of(GUILD_ID, job.id, OUTSIDER)).status == "rejected"  # type: ignore[union-attr]


async def test_an_offer_on_a_job_filled_meanwhile_cannot_be_accepted(services: Services, guild: Guild) -> None:
    """Two offers out for one position: the first accept fills the job and ends the other offer
    (the worker is told); the second worker cannot over-hire."""
    job = await post_job(services)
    first = await offered_contract(services, job=job, worker_id=WORKER)
    second = await offered_contract(services, job=job, worker_id=WORKER2)
    await services.contracts.accept(GUILD_ID, first.id, actor_id=WORKER)
    ended = await services.contracts.get(second.id)
    assert ended is not None and ended.status == ContractStatus.WITHDRAWN
    told = await services.db.fetchall(
        "SELECT message_key FROM outbox WHERE contract_id = ? AND recipient_id = ?", (second.id, WORKER2))
    assert "notify.offer_withdrawn_job_filled" in [r["message_key"] for r in told]
    before = await snapshot(services)
    with pytest.raises(WrongState) as refused:
        await services.contracts.accept(GUILD_ID, second.id, actor_id=WORKER2)
    assert refused.value.key == "error.contract.state"
    assert await snapshot(services) == before
    filled = await services.jobs.get(GUILD_ID, job.id)
    assert (filled.status, filled.filled) == (JobStatus.FILLED, 1)


async def test_accept_by_the_wrong_user(services: Services, guild: Guild) -> None:
    offer = await offered_contract(services)
    before = await snapshot(services)
    with pytest.raises(NotAllowed) as by_client:
        await services.contracts.accept(GUILD_ID, offer.id, actor_id=CLIENT)
    assert by_client.value.key == "error.contract.role"
    for actor in (OUTSIDER, MODERATOR, WORKER2):
        with pytest.raises(NotAllowed) as refused:
            await services.contracts.accept(GUILD_ID, offer.id, actor_id=actor)
        assert refused.value.key == "error.contract.not_party"
    with pytest.raises(NotFound):
        await services.contracts.accept(GUILD_ID + 1, offer.id, actor_id=WORKER)
    assert await snapshot(services) == before


async def test_second_accept_is_refused(services: Services, guild: Guild) -> None:
    contract = await hired_contract(services)
    before = await snapshot(services)
    with pytest.raises(WrongState) as refused:
        await services.contracts.accept(GUILD_ID, contract.id, actor_id=WORKER)
    assert refused.value.key == "error.contract.state"
    assert refused.value.args_map == {"status": "awaiting_funding", "action": "accept"}
    assert await snapshot(services) == before


# -- decline / withdraw / expire ----------------------------------------------------------


async def test_decline(services: Services, guild: Guild, clock: FakeClock) -> None:
    offer = await offered_contract(services)
    clock.advance(hours=1)
    declined = await services.contracts.decline(GUILD_ID, offer.id, actor_id=WORKER, reason=" too busy ")
    assert (declined.status, declined.closed_at) == (CS.DECLINED, clock.now())
    assert (await services.jobs.application_of(GUILD_ID, offer.job_id, WORKER)).status == "declined"  # type: ignore[union-attr]
    assert (await services.jobs.get(GUILD_ID, offer.job_id)).status == JobStatus.OPEN
    (dm,) = await outbox(services, message_key="notify.offer_declined")
    assert (dm["recipient_id"], dm["args"]["reason"]) == (CLIENT, "too busy")
    (event,) = await events(services, "contract.declined")
    assert (event["actor_id"], event["data"]) == (WORKER, {"reason": "too busy"})
    before = await snapshot(services)
    with pytest.raises(WrongState):
        await services.contracts.decline(GUILD_ID, offer.id, actor_id=WORKER)
    with pytest.raises(WrongState):
        await services.contracts.accept(GUILD_ID, offer.id, actor_id=WORKER)
    assert await snapshot(services) == before


async def test_decline_refusals(services: Services, guild: Guild) -> None:
    offer = await offered_contract(services)
    before = await snapshot(services)
    with pytest.raises(NotAllowed) as by_client:
        await services.contracts.decline(GUILD_ID, offer.id, actor_id=CLIENT)
    assert by_client.value.key == "error.contract.role"
    with pytest.raises(NotAllowed):
        await services.contracts.decline(GUILD_ID, offer.id, actor_id=OUTSIDER)
    with pytest.raises(InvalidInput):
        await services.contracts.decline(GUILD_ID, offer.id, actor_id=WORKER, reason="x" * (LIMITS["reason"] + 1))
    assert await snapshot(services) == before


async def test_withdraw(services: Services, guild: Guild) -> None:
    offer = await offered_contract(services)
    with pytest.raises(NotAllowed):
        await services.contracts.withdraw(GUILD_ID, offer.id, actor_id=WORKER)
    withdrawn = await services.contracts.withdraw(GUILD_ID, offer.id, actor_id=CLIENT)
    assert withdrawn.status == CS.WITHDRAWN
    assert (await services.jobs.application_of(GUILD_ID, offer.job_id, WORKER)).status == "declined"  # type: ignore[union-attr]
    (dm,) = await outbox(services, message_key="notify.offer_withdrawn")
    assert dm["recipient_id"] == WORKER
    with pytest.raises(WrongState):
        await services.contracts.withdraw(GUILD_ID, offer.id, actor_id=CLIENT)


async def test_withdraw_after_accept_is_refused(services: Services, guild: Guild) -> None:
    contract = await hired_contract(services)
    with pytest.raises(WrongState) as refused:
        await services.contracts.withdraw(GUILD_ID, contract.id, actor_id=CLIENT)
    assert refused.value.key == "error.contract.state"


async def test_expire(services: Services, guild: Guild) -> None:
    offer = await offered_contract(services)
    assert await services.contracts.expire(offer.id) is True
    expired = await services.contracts.get(offer.id)
    assert expired is not None and expired.status == CS.EXPIRED
    told = await outbox(services, message_key="notify.offer_expired")
    assert sorted(row["recipient_id"] for row in told) == [CLIENT, WORKER]
    (event,) = await events(services, "contract.expired")
    assert event["actor_id"] is None
    assert await services.contracts.expire(offer.id) is False  # already ended
    assert await services.contracts.expire(offer.id + 100) is False  # unknown
    with pytest.raises(WrongState):
        await services.contracts.accept(GUILD_ID, offer.id, actor_id=WORKER)


async def test_expire_after_accept_does_nothing(services: Services, guild: Guild) -> None:
    contract = await hired_contract(services)
    before = await snapshot(services)
    assert await services.contracts.expire(contract.id) is False
    assert await snapshot(services) == before


# -- cancel --------------------------------------------------------------------------------


@pytest.mark.parametrize(("actor", "other"), [(CLIENT, WORKER), (WORKER, CLIENT)])
async def test_cancel_before_funding_frees_the_position(
    services: Services, guild: Guild, clock: FakeClock, actor: int, other: int
) -> None:
    contract = await hired_contract(services)
    assert (await services.jobs.get(GUILD_ID, contract.job_id)).status == JobStatus.FILLED
    clock.advance(hours=3)
    cancelled = await services.contracts.cancel(GUILD_ID, contract.id, actor_id=actor, reason="changed plans")
    assert (cancelled.status, cancelled.closed_at) == (CS.CANCELLED, clock.now())
    job = await services.jobs.get(GUILD_ID, contract.job_id)
    assert (job.status, job.filled) == (JobStatus.OPEN, 0)
    (dm,) = await outbox(services, message_key="notify.contract_cancelled")
    assert (dm["recipient_id"], dm["args"]["by_id"], dm["args"]["reason"]) == (other, actor, "changed plans")
    assert [r["message_key"] for r in await outbox(services, target="thread")][-1] == "thread.cancelled"
    kinds = [e["kind"] for e in await events(services, job_id=contract.job_id)]
    assert kinds[-2:] == ["job.reopened", "contract.cancelled"]
    # the job takes applications and offers again
    await apply(services, job, WORKER2)
    again = await services.contracts.offer(GUILD_ID, CLIENT, job.id, WORKER2)
    assert again.contract.status == CS.OFFERED


async def test_cancel_on_a_job_still_open_keeps_it_open(services: Services, guild: Guild) -> None:
    job = await post_job(services, positions=2)
    contract = await hired_contract(services, job=job)
    await services.contracts.cancel(GUILD_ID, contract.id, actor_id=CLIENT, reason="no")
    job = await services.jobs.get(GUILD_ID, job.id)
    assert (job.status, job.filled) == (JobStatus.OPEN, 0)
    assert await events(services, "job.reopened") == []


async def test_cancel_refusals_before_funding(services: Services, guild: Guild) -> None:
    contract = await hired_contract(services)
    before = await snapshot(services)
    for actor in (OUTSIDER, MODERATOR):
        with pytest.raises(NotAllowed) as refused:
            await services.contracts.cancel(GUILD_ID, contract.id, actor_id=actor, reason="x")
        assert refused.value.key == "error.contract.not_party"
    with pytest.raises(InvalidInput) as no_reason:
        await services.contracts.cancel(GUILD_ID, contract.id, actor_id=CLIENT, reason="  ")
    assert no_reason.value.key == "error.text.required"
    assert await snapshot(services) == before
    await services.contracts.cancel(GUILD_ID, contract.id, actor_id=CLIENT, reason="x")
    with pytest.raises(WrongState) as twice:
        await services.contracts.cancel(GUILD_ID, contract.id, actor_id=WORKER, reason="x")
    assert twice.value.key == "error.contract.state"


@pytest.mark.parametrize(("actor", "status", "told"), [(CLIENT, "withdrawn", WORKER), (WORKER, "declined", CLIENT)])
async def test_cancel_an_offer_withdraws_or_declines_it(services: Services, guild: Guild, actor: int, status: str,
                                                        told: int) -> None:
    offer = await offered_contract(services)
    ended = await services.contracts.cancel(GUILD_ID, offer.id, actor_id=actor, reason="changed my mind")
    assert ended.status == status
    assert (await services.contracts.get(offer.id)).status == status  # type: ignore[union-attr]
    (told_row,) = await outbox(services, message_key=f"notify.offer_{status}")
    assert told_row["recipient_id"] == told
    app = await services.jobs.application_of(GUILD_ID, offer.job_id, WORKER)
    assert app is not None and app.status == "declined"


async def test_cancel_an_offer_by_an_outsider_is_refused(services: Services, guild: Guild) -> None:
    offer = await offered_contract(services)
    before = await snapshot(services)
    with pytest.raises(NotAllowed):
        await services.contracts.cancel(GUILD_ID, offer.id, actor_id=OUTSIDER, reason="x")
    assert await snapshot(services) == before


@pytest.mark.parametrize("stage", ["deposited", "funded"])
async def test_cancel_after_a_deposit_needs_a_case(services: Services, guild: Guild, stage: str) -> None:
    make = deposited_contract if stage == "deposited" else funded_contract
    contract = await make(services)
    before = await snapshot(services)
    for actor in (CLIENT, WORKER):
        with pytest.raises(WrongState) as refused:
            await services.contracts.cancel(GUILD_ID, contract.id, actor_id=actor, reason="please cancel")
        assert refused.value.key == "error.contract.cancel_needs_case"
    assert await snapshot(services) == before


async def test_case_cancel_after_funding_opens_a_case(services: Services, guild: Guild) -> None:
    contract = await funded_contract(services)
    outcome = await services.cases.cancel(GUILD_ID, contract.id, actor_id=WORKER, reason="client vanished")
    assert outcome.case is not None
    case = outcome.case
    assert (case.kind, case.reason_kind, case.status) == ("dispute", "cancel_request", "open")
    assert (case.contract_id, case.opened_by, case.subject_id, case.reason) == (
        contract.id, WORKER, CLIENT, "client vanished",
    )
    assert outcome.contract.status == CS.DISPUTED
    assert outcome.contract.status_before_dispute == "active"
    (card,) = [r for r in await outbox(services, target="mod") if r["case_id"] == case.id]
    assert card["message_key"] == "case.card.cancel_request"
    assert await balance(services, f"escrow:{contract.id}") == 50000  # nothing moved
    told = await outbox(services, message_key="notify.case_opened")
    assert sorted(r["recipient_id"] for r in told) == [CLIENT, WORKER]
    # a second request while the case is open
    with pytest.raises(WrongState):
        await services.cases.cancel(GUILD_ID, contract.id, actor_id=CLIENT, reason="me too")


async def test_case_cancel_while_the_deposit_waits_for_confirmation(services: Services, guild: Guild) -> None:
    contract = await deposited_contract(services)
    outcome = await services.cases.cancel(GUILD_ID, contract.id, actor_id=CLIENT, reason="wrong amount")
    assert outcome.case is not None and outcome.case.reason_kind == "cancel_request"
    assert outcome.contract.status == CS.FUNDING_SUBMITTED


async def test_case_cancel_before_funding_just_cancels(services: Services, guild: Guild) -> None:
    contract = await hired_contract(services)
    outcome = await services.cases.cancel(GUILD_ID, contract.id, actor_id=CLIENT, reason="no")
    assert outcome.case is None
    assert outcome.contract.status == CS.CANCELLED
    assert await count(services, "cases") == 0


# -- reading ------------------------------------------------------------------------------


async def test_view_and_list(services: Services, guild: Guild) -> None:
    contract = await hired_contract(services)
    for viewer, moderator in ((CLIENT, False), (WORKER, False), (MODERATOR, True)):
        view = await services.contracts.view(GUILD_ID, contract.id, viewer_id=viewer, is_moderator=moderator)
        assert view.contract == contract
    with pytest.raises(NotAllowed):
        await services.contracts.view(GUILD_ID, contract.id, viewer_id=OUTSIDER)
    assert [c.id for c in await services.contracts.list_for(GUILD_ID, WORKER)] == [contract.id]
    assert await services.contracts.list_for(GUILD_ID, WORKER, "offered") == []
    assert await services.contracts.list_for(GUILD_ID, OUTSIDER) == []
    with pytest.raises(InvalidInput):
        await services.contracts.list_for(GUILD_ID, WORKER, "bogus")


async def test_suggest_gives_a_moderator_the_guilds_contracts_after_their_own(
    services: Services, guild: Guild
) -> None:
    await no_cooldowns(services)
    await services.guilds.set_policy(GUILD_ID, "max_open_jobs", "100", actor_id=MODERATOR)
    own = await offered_contract(services, client_id=MODERATOR, worker_id=OUTSIDER)
    others = [await offered_contract(services) for _ in range(25)]
    newest_first = [c.id for c in reversed(others)]

    found = await services.contracts.suggest(GUILD_ID, MODERATOR, "", is_moderator=True)
    assert [c.id for c in found] == [own.id, *newest_first[:24]]
    typed = await services.contracts.suggest(GUILD_ID, MODERATOR, f"#{others[0].id}", is_moderator=True)
    assert [c.id for c in typed] == [i for i in newest_first if str(others[0].id) in str(i)]
    # not a moderator, or an action: only the user's own contracts
    assert [c.id for c in await services.contracts.suggest(GUILD_ID, MODERATOR, "")] == [own.id]
    assert await services.contracts.suggest(GUILD_ID, MODERATOR, "", purpose="accept", is_moderator=True) == []
    assert await services.contracts.suggest(GUILD_ID, OUTSIDER, "", purpose="accept") == [own]


# -- races ----------------------------------------------------------------------------------


def outcomes(results: Sequence[Any]) -> tuple[list[Any], list[BaseException]]:
    won = [r for r in results if not isinstance(r, BaseException)]
    lost = [r for r in results if isinstance(r, BaseException)]
    return won, lost


async def test_two_concurrent_accepts_exactly_one_wins(services: Services, guild: Guild) -> None:
    offer = await offered_contract(services)
    results = await asyncio.gather(
        services.contracts.accept(GUILD_ID, offer.id, actor_id=WORKER),
        services.contracts.accept(GUILD_ID, offer.id, actor_id=WORKER),
        return_exceptions=True,
    )
    won, lost = outcomes(results)
    assert len(won) == 1 and len(lost) == 1
    assert isinstance(lost[0], WrongState)
    assert await count(services, "events", "kind = 'contract.accepted'") == 1
    assert len(await outbox(services, message_key="notify.offer_accepted_client")) == 1
    job = await services.jobs.get(GUILD_ID, offer.job_id)
    assert job.filled == 1


async def test_two_concurrent_offers_to_one_application_exactly_one_wins(services: Services, guild: Guild) -> None:
    job = await post_job(services)
    await apply(services, job)
    results = await asyncio.gather(
        services.contracts.offer(GUILD_ID, CLIENT, job.id, WORKER, price=40000),
        services.contracts.offer(GUILD_ID, CLIENT, job.id, WORKER, price=45000),
        return_exceptions=True,
    )
    won, lost = outcomes(results)
    assert len(won) == 1 and len(lost) == 1
    assert isinstance(lost[0], WrongState) and lost[0].key == "error.contract.application_state"
    assert await count(services, "contracts") == 1
    assert await count(services, "contract_terms") == 1
    assert len(await outbox(services, message_key="notify.offer_received")) == 1


async def test_accept_and_withdraw_race_exactly_one_wins(services: Services, guild: Guild) -> None:
    offer = await offered_contract(services)
    results = await asyncio.gather(
        services.contracts.withdraw(GUILD_ID, offer.id, actor_id=CLIENT),
        services.contracts.accept(GUILD_ID, offer.id, actor_id=WORKER),
        return_exceptions=True,
    )
    won, lost = outcomes(results)
    assert len(won) == 1 and len(lost) == 1 and isinstance(lost[0], WrongState)
    contract = await services.contracts.get(offer.id)
    assert contract is not None and contract.status in {CS.WITHDRAWN, CS.AWAITING_FUNDING}


async def test_two_concurrent_cancels_exactly_one_wins(services: Services, guild: Guild) -> None:
    contract = await hired_contract(services)
    results = await asyncio.gather(
        services.contracts.cancel(GUILD_ID, contract.id, actor_id=CLIENT, reason="a"),
        services.contracts.cancel(GUILD_ID, contract.id, actor_id=WORKER, reason="b"),
        return_exceptions=True,
    )
    won, lost = outcomes(results)
    assert len(won) == 1 and len(lost) == 1 and isinstance(lost[0], MarketError)
    job = await services.jobs.get(GUILD_ID, contract.job_id)
    assert (job.status, job.filled) == (JobStatus.OPEN, 0)


async def test_concurrent_accepts_of_offers_for_the_last_position(services: Services, guild: Guild) -> None:
    await no_cooldowns(services)
    job = await post_job(services)
    first = await offered_contract(services, job=job, worker_id=WORKER)
    second = await offered_contract(services, job=job, worker_id=WORKER2)
    results = await asyncio.gather(
        services.contracts.accept(GUILD_ID, first.id, actor_id=WORKER),
        services.contracts.accept(GUILD_ID, second.id, actor_id=WORKER2),
        return_exceptions=True,
    )
    won, lost = outcomes(results)
    assert len(won) == 1 and len(lost) == 1 and isinstance(lost[0], WrongState)
    job = await services.jobs.get(GUILD_ID, job.id)
    assert (job.status, job.filled) == (JobStatus.FILLED, 1)


async def test_acceptance_reads_whether_each_party_gets_dms(services: Services, guild: Guild) -> None:
    offer = await offered_contract(services)
    # nothing delivered yet: not known either way, nobody is told anything
    first = await services.contracts.accept(GUILD_ID, offer.id, actor_id=WORKER)
    assert (first.dm_open, first.dm_closed) == (frozenset(), frozenset())
    assert await outbox(services, message_key="thread.dms_closed") == []


async def test_acceptance_tells_a_party_with_closed_dms_in_the_thread(services: Services, guild: Guild) -> None:
    offer = await offered_contract(services)
    (to_client,) = await outbox(services, message_key="notify.application_received")
    (to_worker,) = await outbox(services, message_key="notify.offer_received")
    await services.outbox.mark_delivered(to_client["id"], status="fallback_thread", message_id=1)
    await services.outbox.mark_delivered(to_worker["id"], status="sent", message_id=2)

    view = await services.contracts.accept(GUILD_ID, offer.id, actor_id=WORKER)

    assert (view.dm_open, view.dm_closed) == (frozenset({WORKER}), frozenset({CLIENT}))
    (notice,) = await outbox(services, message_key="thread.dms_closed")
    assert (notice["target"], notice["recipient_id"], notice["contract_id"]) == ("thread", CLIENT, offer.id)
