"""Deadline extensions: the worker asks, the client accepts (terms version n+1 with the later
deadline) or declines; every refusal changes nothing."""

from __future__ import annotations

import asyncio

import pytest

from bot.errors import InvalidInput, NotAllowed, WrongState
from bot.models.states import ContractStatus
from bot.services.container import Services
from tests.ids import CLIENT, GUILD_ID, OUTSIDER, WORKER
from tests.services.helpers import (
    DAY,
    contract_outbox,
    deliver,
    delivered_contract,
    events,
    funded_contract,
    hired_contract,
    reload,
    snapshot,
)

pytestmark = pytest.mark.usefixtures("guild")


async def test_an_accepted_extension_is_a_new_terms_version_with_a_later_deadline(services: Services) -> None:
    contract = await funded_contract(services, deadline="7d")
    assert contract.due_at is not None
    asked = await services.contracts.request_extension(GUILD_ID, contract.id, actor_id=WORKER, days=3,
                                                       reason="The client sent the assets late.")
    assert (asked.status, asked.days, asked.base_version) == ("proposed", 3, 1)
    (dm,) = await contract_outbox(services, contract.id, target="dm", message_key="notify.extension_requested")
    assert dm["recipient_id"] == CLIENT
    assert dm["buttons"] == [f"extension:{asked.id}:accept", f"extension:{asked.id}:decline"]

    accepted = await services.contracts.answer_extension(GUILD_ID, asked.id, actor_id=CLIENT, accept=True)
    assert (accepted.status, accepted.new_version, accepted.decided_by) == ("accepted", 2, CLIENT)
    after = await reload(services, contract.id)
    assert (after.terms_version, after.due_at) == (2, contract.due_at + 3 * DAY)
    history = await services.history.history(GUILD_ID, contract.id, viewer_id=CLIENT)
    v2 = history.versions[-1]
    assert (v2.version, v2.deadline_days, v2.reason, v2.created_by) == (2, 10, "The client sent the assets late.",
                                                                        WORKER)
    told = await contract_outbox(services, contract.id, target="dm", message_key="notify.extension_accepted")
    assert sorted(r["recipient_id"] for r in told) == [CLIENT, WORKER]
    assert await contract_outbox(services, contract.id, target="thread", message_key="thread.terms_changed")
    assert [e["kind"] for e in await events(services, contract_id=contract.id)
            if e["kind"].startswith("extension.")] == ["extension.requested", "extension.accepted"]


async def test_a_date_deadline_moves_by_the_extra_days(services: Services) -> None:
    contract = await funded_contract(services, deadline="2026-03-01")
    asked = await services.contracts.request_extension(GUILD_ID, contract.id, actor_id=WORKER, days=2, reason="More")
    await services.contracts.answer_extension(GUILD_ID, asked.id, actor_id=CLIENT, accept=True)
    history = await services.history.history(GUILD_ID, contract.id, viewer_id=CLIENT)
    assert history.versions[-1].deadline_date == "2026-03-03"


async def test_a_declined_extension_keeps_the_deadline_and_tells_the_worker(services: Services) -> None:
    contract = await funded_contract(services)
    asked = await services.contracts.request_extension(GUILD_ID, contract.id, actor_id=WORKER, days=3, reason="x")
    declined = await services.contracts.answer_extension(GUILD_ID, asked.id, actor_id=CLIENT, accept=False)
    assert declined.status == "declined"
    after = await reload(services, contract.id)
    assert (after.terms_version, after.due_at) == (1, contract.due_at)
    (dm,) = await contract_outbox(services, contract.id, target="dm", message_key="notify.extension_declined")
    assert dm["recipient_id"] == WORKER
    # a new request may follow once the first one was answered
    again = await services.contracts.request_extension(GUILD_ID, contract.id, actor_id=WORKER, days=1, reason="y")
    assert again.status == "proposed"


@pytest.mark.parametrize(("actor", "error", "key"), [
    (CLIENT, NotAllowed, "error.extension.worker_only"),
    (OUTSIDER, NotAllowed, "error.contract.not_party"),
])
async def test_only_the_worker_may_ask(services: Services, actor: int, error: type[Exception], key: str) -> None:
    contract = await funded_contract(services)
    before = await snapshot(services)
    with pytest.raises(error) as refused:
        await services.contracts.request_extension(GUILD_ID, contract.id, actor_id=actor, days=3, reason="x")
    assert refused.value.key == key  # type: ignore[attr-defined]
    assert await snapshot(services) == before


@pytest.mark.parametrize("days", [0, -1, 366])
async def test_days_out_of_range_are_refused(services: Services, days: int) -> None:
    contract = await funded_contract(services)
    before = await snapshot(services)
    with pytest.raises(InvalidInput) as refused:
        await services.contracts.request_extension(GUILD_ID, contract.id, actor_id=WORKER, days=days, reason="x")
    assert refused.value.key == "error.extension.days"
    assert await snapshot(services) == before


@pytest.mark.parametrize("make", [hired_contract, delivered_contract])
async def test_only_a_contract_being_worked_on_can_be_extended(services: Services, make: object) -> None:
    contract = await make(services)  # type: ignore[operator]
    with pytest.raises(WrongState) as refused:
        await services.contracts.request_extension(GUILD_ID, contract.id, actor_id=WORKER, days=3, reason="x")
    assert refused.value.key == "error.extension.state"


async def test_one_open_request_per_contract(services: Services) -> None:
    contract = await funded_contract(services)
    results = await asyncio.gather(
        *(services.contracts.request_extension(GUILD_ID, contract.id, actor_id=WORKER, days=d, reason="x")
          for d in (2, 3)), return_exceptions=True)
    assert sorted(type(r).__name__ for r in results) == ["ExtensionRequest", "WrongState"]
    with pytest.raises(WrongState) as refused:
        await services.contracts.check_extension(GUILD_ID, contract.id, actor_id=WORKER)
    assert refused.value.key == "error.extension.pending"


async def test_only_the_client_answers_and_only_once(services: Services) -> None:
    contract = await funded_contract(services)
    asked = await services.contracts.request_extension(GUILD_ID, contract.id, actor_id=WORKER, days=3, reason="x")
    with pytest.raises(NotAllowed) as refused:
        await services.contracts.answer_extension(GUILD_ID, asked.id, actor_id=WORKER, accept=True)
    assert refused.value.key == "error.extension.client_only"
    await services.contracts.answer_extension(GUILD_ID, asked.id, actor_id=CLIENT, accept=True)
    before = await snapshot(services)
    with pytest.raises(WrongState) as second:
        await services.contracts.answer_extension(GUILD_ID, asked.id, actor_id=CLIENT, accept=False)
    assert second.value.key == "error.extension.answered"
    assert await snapshot(services) == before


async def test_a_request_lapses_when_the_work_was_delivered_meanwhile(services: Services) -> None:
    contract = await funded_contract(services)
    asked = await services.contracts.request_extension(GUILD_ID, contract.id, actor_id=WORKER, days=3, reason="x")
    await deliver(services, contract)
    with pytest.raises(WrongState) as refused:
        await services.contracts.answer_extension(GUILD_ID, asked.id, actor_id=CLIENT, accept=True)
    assert refused.value.key == "error.extension.stale"
    after = await reload(services, contract.id)
    assert (after.status, after.terms_version) == (ContractStatus.DELIVERED, 1)
    history_events = [e["kind"] for e in await events(services, contract_id=contract.id)]
    assert "extension.lapsed" in history_events
