"""Deliveries and reviews: files stored by content, approve (release), revisions, auto-approve."""

from __future__ import annotations

import asyncio
import hashlib
from dataclasses import replace
from datetime import timedelta
from pathlib import Path

import pytest

from bot.clock import FakeClock
from bot.config import Settings
from bot.errors import InvalidInput, NotAllowed, WrongState
from bot.models.entities import Guild
from bot.models.states import ContractStatus
from bot.services.container import Services
from bot.services.deliveries import DeliveryService, IncomingFile
from bot.services.settlement import Settlement
from tests.ids import CLIENT, GUILD_ID, MODERATOR, OUTSIDER, WORKER, WORKER2
from tests.services.helpers import (
    contract_outbox,
    delivered_contract,
    funded_contract,
    hired_contract,
    ledger,
    ledger_txns,
    reload,
    revised,
    snapshot,
)

PNG = IncomingFile("logo.png", b"\x89PNG the logo", "image/png")


def stored_files(root: Path) -> list[Path]:
    return sorted(p for p in root.rglob("*") if p.is_file()) if root.exists() else []


# -- deliver --------------------------------------------------------------------------------


async def test_deliver_stores_files_by_content(services: Services, guild: Guild, settings: Settings,
                                               clock: FakeClock) -> None:
    contract = await funded_contract(services)
    clock.advance(days=1)
    files = [PNG, IncomingFile("notes.txt", b"colour codes: #c0392b", "text/plain")]

    delivery = await services.deliveries.deliver(GUILD_ID, contract.id, actor_id=WORKER, files=files,
                                                 note="  first draft  ")

    assert delivery.note == "first draft"
    assert delivery.worker_id == WORKER
    assert delivery.outcome is None
    digests = [hashlib.sha256(f.data).hexdigest() for f in files]
    assert stored_files(settings.files_dir) == sorted(settings.files_dir / d[:2] / d for d in digests)
    for f, digest in zip(files, digests, strict=True):
        assert (settings.files_dir / digest[:2] / digest).read_bytes() == f.data
        assert await services.files.read(digest) == f.data
    rows = await services.db.fetchall("SELECT * FROM delivery_files WHERE delivery_id = ? ORDER BY position",
                                      (delivery.id,))
    assert [(r["position"], r["filename"], r["sha256"], r["size"], r["content_type"]) for r in rows] == [
        (1, "logo.png", digests[0], len(files[0].data), "image/png"),
        (2, "notes.txt", digests[1], len(files[1].data), "text/plain"),
    ]
    after = await reload(services, contract.id)
    assert after.status == ContractStatus.DELIVERED
    assert after.delivered_at == clock.now()
    review = await contract_outbox(services, contract.id, message_key="notify.delivered_client")
    assert [(r["recipient_id"], r["buttons"]) for r in review] == [
        (CLIENT, [f"review:{contract.id}:approve", f"review:{contract.id}:revise"])]
    assert f"sha256:{digests[0]}" in review[0]["args"]["files"]
    event = await services.db.fetchone("SELECT data FROM events WHERE contract_id = ? AND kind = 'delivery.submitted'",
                                       (contract.id,))
    assert event is not None and '"on_time": true' in event["data"]


async def test_a_path_in_the_filename_never_touches_the_file_system(services: Services, guild: Guild,
                                                                    settings: Settings, tmp_path: Path) -> None:
    contract = await funded_contract(services)
    evil = IncomingFile("../../etc/passwd", b"root:x:0:0", None)

    await services.deliveries.deliver(GUILD_ID, contract.id, actor_id=WORKER, files=[evil])

    digest = hashlib.sha256(evil.data).hexdigest()
    assert stored_files(settings.files_dir) == [settings.files_dir / digest[:2] / digest]
    assert not (tmp_path / "etc").exists()
    assert not (settings.files_dir.parent.parent / "etc" / "passwd").exists()
    assert not any("passwd" in p.name for p in stored_files(tmp_path))
    row = await services.db.fetchone("SELECT filename FROM delivery_files")
    assert row is not None and row["filename"] == "passwd"


async def test_same_content_twice_is_stored_once(services: Services, guild: Guild, settings: Settings) -> None:
    contract = await funded_contract(services)
    await services.deliveries.deliver(GUILD_ID, contract.id, actor_id=WORKER,
                                      files=[PNG, IncomingFile("copy.png", PNG.data)])
    assert len(stored_files(settings.files_dir)) == 1
    assert len(await services.db.fetchall("SELECT * FROM delivery_files")) == 2


async def test_too_large_file_is_refused_and_nothing_is_stored(services: Services, guild: Guild,
                                                               settings: Settings) -> None:
    small = replace(settings, max_file_bytes=16)
    deliveries = DeliveryService(services.db, services.clock, small, services.files)
    contract = await funded_contract(services)
    before = await snapshot(services)

    with pytest.raises(InvalidInput) as refused:
        await deliveries.deliver(GUILD_ID, contract.id, actor_id=WORKER,
                                 files=[IncomingFile("ok.txt", b"x" * 16), IncomingFile("big.bin", b"x" * 17)])

    assert refused.value.key == "error.delivery.too_large"
    assert refused.value.args_map["filename"] == "big.bin"
    assert await snapshot(services) == before
    assert stored_files(settings.files_dir) == []
    # exactly at the limit is fine
    await deliveries.deliver(GUILD_ID, contract.id, actor_id=WORKER, files=[IncomingFile("ok.txt", b"x" * 16)])
    assert (await reload(services, contract.id)).status == ContractStatus.DELIVERED


async def test_empty_file_is_refused(services: Services, guild: Guild) -> None:
    contract = await funded_contract(services)
    before = await snapshot(services)
    with pytest.raises(InvalidInput) as refused:
        await services.deliveries.deliver(GUILD_ID, contract.id, actor_id=WORKER, files=[IncomingFile("e", b"")])
    assert refused.value.key == "error.delivery.empty"
    assert await snapshot(services) == before


@pytest.mark.parametrize("how_many", [0, 4])
async def test_file_count_outside_one_to_three_is_refused(services: Services, guild: Guild, settings: Settings,
                                                          how_many: int) -> None:
    contract = await funded_contract(services)
    before = await snapshot(services)
    files = [IncomingFile(f"f{i}.txt", f"file {i}".encode()) for i in range(how_many)]
    with pytest.raises(InvalidInput) as refused:
        await services.deliveries.deliver(GUILD_ID, contract.id, actor_id=WORKER, files=files)
    assert refused.value.key == "error.delivery.file_count"
    assert await snapshot(services) == before
    assert stored_files(settings.files_dir) == []


async def test_three_files_are_accepted(services: Services, guild: Guild) -> None:
    contract = await funded_contract(services)
    files = [IncomingFile(f"f{i}.txt", f"file {i}".encode()) for i in range(3)]
    await services.deliveries.deliver(GUILD_ID, contract.id, actor_id=WORKER, files=files)
    assert len(await services.db.fetchall("SELECT * FROM delivery_files")) == 3


async def test_deliver_before_funding_is_refused(services: Services, guild: Guild, settings: Settings) -> None:
    contract = await hired_contract(services)
    before = await snapshot(services)
    with pytest.raises(WrongState) as refused:
        await services.deliveries.deliver(GUILD_ID, contract.id, actor_id=WORKER, files=[PNG])
    assert refused.value.key == "error.contract.state"
    assert await snapshot(services) == before
    assert stored_files(settings.files_dir) == []


async def test_deliver_twice_is_refused(services: Services, guild: Guild) -> None:
    contract = await delivered_contract(services)
    before = await snapshot(services)
    with pytest.raises(WrongState) as refused:
        await services.deliveries.deliver(GUILD_ID, contract.id, actor_id=WORKER, files=[PNG])
    assert refused.value.key == "error.contract.state"
    assert await snapshot(services) == before


@pytest.mark.parametrize("actor", [CLIENT, OUTSIDER, MODERATOR])
async def test_only_the_worker_delivers(services: Services, guild: Guild, settings: Settings, actor: int) -> None:
    contract = await funded_contract(services)
    before = await snapshot(services)
    with pytest.raises(NotAllowed) as refused:
        await services.deliveries.deliver(GUILD_ID, contract.id, actor_id=actor, files=[PNG])
    assert refused.value.key == "error.delivery.worker_only"
    assert await snapshot(services) == before
    assert stored_files(settings.files_dir) == []


async def test_two_concurrent_deliveries_one_wins(services: Services, guild: Guild) -> None:
    contract = await funded_contract(services)
    results = await asyncio.gather(
        services.deliveries.deliver(GUILD_ID, contract.id, actor_id=WORKER, files=[PNG]),
        services.deliveries.deliver(GUILD_ID, contract.id, actor_id=WORKER, files=[IncomingFile("b", b"other")]),
        return_exceptions=True,
    )
    assert sum(isinstance(r, WrongState) for r in results) == 1
    assert len(await services.db.fetchall("SELECT * FROM deliveries")) == 1


async def test_late_delivery_is_recorded_as_late(services: Services, guild: Guild, clock: FakeClock) -> None:
    contract = await funded_contract(services)
    clock.advance(days=8)
    await services.deliveries.deliver(GUILD_ID, contract.id, actor_id=WORKER, files=[PNG])
    event = await services.db.fetchone("SELECT data FROM events WHERE kind = 'delivery.submitted'")
    assert event is not None and '"on_time": false' in event["data"]


# -- approve --------------------------------------------------------------------------------


async def test_approve_releases_escrow_less_the_fee(services: Services, guild: Guild, clock: FakeClock) -> None:
    contract = await delivered_contract(services, price=12345)
    clock.advance(hours=20)

    result = await services.deliveries.approve(GUILD_ID, contract.id, actor_id=CLIENT)

    # fee 10% of 12345 = 1234.5, rounded down to the yen
    assert result == Settlement(held=12345, fee=1234, to_worker=11111, to_client=0)
    after = await reload(services, contract.id)
    assert after.status == ContractStatus.COMPLETED
    assert after.closed_at == clock.now()
    balances = await ledger(services)
    assert balances[f"escrow:{contract.id}"] == 0
    assert balances[f"owed:{WORKER}"] == 11111
    assert balances["fees"] == 1234
    assert f"refund:{CLIENT}" not in balances
    release = await ledger_txns(services, contract_id=contract.id, kind="release")
    assert [(t["idempotency_key"], t["actor_id"]) for t in release] == [(f"settle:{contract.id}", CLIENT)]
    delivery = (await services.deliveries.deliveries(GUILD_ID, contract.id))[-1]
    assert (delivery.outcome, delivery.reviewed_at) == ("approved", clock.now())
    dms = {(r["recipient_id"], r["message_key"]) for r in await contract_outbox(services, contract.id, target="dm")}
    assert {(WORKER, "notify.approved_worker"), (CLIENT, "notify.approved_client"),
            (CLIENT, "notify.rate_prompt"), (WORKER, "notify.rate_prompt")} <= dms


@pytest.mark.parametrize(("fee_percent", "price", "fee"), [(0, 999, 0), (15, 999, 149), (100, 999, 999)])
async def test_fee_is_the_guild_percent_at_signing_rounded_down(services: Services, guild: Guild, fee_percent: int,
                                                                price: int, fee: int) -> None:
    await services.guilds.set_policy(GUILD_ID, "fee_percent", str(fee_percent), actor_id=MODERATOR)
    contract = await delivered_contract(services, price=price)
    # a later change of the guild fee does not touch signed terms
    await services.guilds.set_policy(GUILD_ID, "fee_percent", "50", actor_id=MODERATOR)
    result = await services.deliveries.approve(GUILD_ID, contract.id, actor_id=CLIENT)
    assert (result.fee, result.to_worker) == (fee, price - fee)


async def test_second_approve_is_refused_and_pays_once(services: Services, guild: Guild) -> None:
    contract = await delivered_contract(services)
    await services.deliveries.approve(GUILD_ID, contract.id, actor_id=CLIENT)
    before = await snapshot(services)
    with pytest.raises(WrongState) as refused:
        await services.deliveries.approve(GUILD_ID, contract.id, actor_id=CLIENT)
    assert refused.value.key == "error.contract.state"
    assert await snapshot(services) == before


async def test_two_concurrent_approves_move_the_ledger_once(services: Services, guild: Guild) -> None:
    contract = await delivered_contract(services)
    results = await asyncio.gather(
        services.deliveries.approve(GUILD_ID, contract.id, actor_id=CLIENT),
        services.deliveries.approve(GUILD_ID, contract.id, actor_id=CLIENT),
        return_exceptions=True,
    )
    assert sum(isinstance(r, Settlement) for r in results) == 1
    assert sum(isinstance(r, WrongState) for r in results) == 1
    assert len(await ledger_txns(services, contract_id=contract.id, kind="release")) == 1
    assert (await ledger(services))[f"owed:{WORKER}"] == 45000


@pytest.mark.parametrize("actor", [WORKER, OUTSIDER])
async def test_only_the_client_approves(services: Services, guild: Guild, actor: int) -> None:
    contract = await delivered_contract(services)
    before = await snapshot(services)
    with pytest.raises(NotAllowed) as refused:
        await services.deliveries.approve(GUILD_ID, contract.id, actor_id=actor)
    assert refused.value.key == "error.review.client_only"
    assert await snapshot(services) == before


async def test_approve_before_delivery_is_refused(services: Services, guild: Guild) -> None:
    contract = await funded_contract(services)
    before = await snapshot(services)
    with pytest.raises(WrongState) as refused:
        await services.deliveries.approve(GUILD_ID, contract.id, actor_id=CLIENT)
    assert refused.value.key == "error.contract.state"
    assert await snapshot(services) == before


# -- revisions ------------------------------------------------------------------------------


async def test_an_included_revision_waits_for_the_worker_then_goes_back_to_work(services: Services, guild: Guild,
                                                                                clock: FakeClock) -> None:
    contract = await delivered_contract(services)  # two revisions included by default
    clock.advance(hours=2)

    outcome = await services.deliveries.request_revision(GUILD_ID, contract.id, actor_id=CLIENT,
                                                         reason="Make the bowl red.")

    # nothing is forced on the worker: the request waits, with the current terms next to it
    assert outcome.included
    assert (outcome.request.status, outcome.request.included, outcome.request.reason) == (
        "pending_worker", 1, "Make the bowl red.")
    assert (await reload(services, contract.id)).status == ContractStatus.DELIVERED
    rid = outcome.request.id
    dm = await contract_outbox(services, contract.id, message_key="notify.scope_revision_included")
    assert [(r["recipient_id"], r["buttons"], r["args"]["used"], r["args"]["allowed"], r["args"]["version"])
            for r in dm] == [(WORKER, [f"revision:{rid}:accept", f"revision:{rid}:scope"], 1, 2, 1)]
    terms = (await services.contracts.view(GUILD_ID, contract.id, viewer_id=WORKER)).terms
    assert dm[0]["args"]["scope"] == terms.scope
    thread = await contract_outbox(services, contract.id, message_key="thread.scope_revision")
    assert [r["args"]["reverts"] for r in thread] == ["-"]

    clock.advance(hours=1)
    answered = await services.deliveries.answer_extra_revision(GUILD_ID, rid, actor_id=WORKER, accept=True)

    assert answered.status == "accepted"
    after = await reload(services, contract.id)
    assert after.status == ContractStatus.ACTIVE
    assert after.due_at == contract.due_at  # still well before the deadline
    assert after.timer_round == contract.timer_round + 1
    delivery = (await services.deliveries.deliveries(GUILD_ID, contract.id))[-1]
    assert (delivery.outcome, delivery.reviewed_at) == ("revision", clock.now())
    told = await contract_outbox(services, contract.id, message_key="notify.scope_revision_accepted")
    assert [r["recipient_id"] for r in told] == [CLIENT]
    # the second one is counted too
    await services.deliveries.deliver(GUILD_ID, contract.id, actor_id=WORKER, files=[PNG])
    second = await services.deliveries.request_revision(GUILD_ID, contract.id, actor_id=CLIENT, reason="Bigger.")
    assert second.included
    dm = await contract_outbox(services, contract.id, message_key="notify.scope_revision_included")
    assert [r["args"]["used"] for r in dm] == [1, 2]


async def test_an_included_revision_cannot_be_declined(services: Services, guild: Guild) -> None:
    contract = await delivered_contract(services)
    outcome = await services.deliveries.request_revision(GUILD_ID, contract.id, actor_id=CLIENT, reason="Red.")
    before = await snapshot(services)

    with pytest.raises(WrongState) as refused:
        await services.deliveries.answer_extra_revision(GUILD_ID, outcome.request.id, actor_id=WORKER, accept=False)

    assert refused.value.key == "error.scope.included_decline"
    assert await snapshot(services) == before


async def test_revision_after_the_deadline_leaves_time_to_redo(services: Services, guild: Guild,
                                                               clock: FakeClock) -> None:
    contract = await delivered_contract(services)
    clock.advance(days=9)
    await revised(services, contract, "Fix it")
    assert (await reload(services, contract.id)).due_at == clock.now() + timedelta(days=3)


async def test_revision_beyond_included_waits_for_the_worker(services: Services, guild: Guild) -> None:
    contract = await delivered_contract(services, revisions=0)
    before_money = await ledger(services)

    outcome = await services.deliveries.request_revision(GUILD_ID, contract.id, actor_id=CLIENT,
                                                         reason="One more colour scheme.")

    assert not outcome.included
    assert (outcome.request.status, outcome.request.included) == ("pending_worker", 0)
    assert (await reload(services, contract.id)).status == ContractStatus.DELIVERED
    dm = await contract_outbox(services, contract.id, message_key="notify.scope_revision_extra")
    rid = outcome.request.id
    assert [(r["recipient_id"], r["buttons"]) for r in dm] == [
        (WORKER, [f"revision:{rid}:accept", f"revision:{rid}:decline", f"revision:{rid}:scope"])]
    assert await ledger(services) == before_money
    delivery = (await services.deliveries.deliveries(GUILD_ID, contract.id))[-1]
    assert delivery.outcome is None
    # a second request while one waits is refused
    with pytest.raises(WrongState) as refused:
        await services.deliveries.request_revision(GUILD_ID, contract.id, actor_id=CLIENT, reason="And another")
    assert refused.value.key == "error.scope.revision_pending"


async def test_worker_accepts_an_extra_revision(services: Services, guild: Guild) -> None:
    contract = await delivered_contract(services, revisions=0)
    outcome = await services.deliveries.request_revision(GUILD_ID, contract.id, actor_id=CLIENT, reason="Extra")

    answered = await services.deliveries.answer_extra_revision(GUILD_ID, outcome.request.id, actor_id=WORKER,
                                                               accept=True)

    assert answered.status == "accepted"
    assert (await reload(services, contract.id)).status == ContractStatus.ACTIVE
    dm = await contract_outbox(services, contract.id, message_key="notify.extra_revision_accepted")
    assert [r["recipient_id"] for r in dm] == [CLIENT]
    with pytest.raises(WrongState) as refused:
        await services.deliveries.answer_extra_revision(GUILD_ID, outcome.request.id, actor_id=WORKER, accept=False)
    assert refused.value.key == "error.review.revision_answered"


async def test_worker_declines_an_extra_revision(services: Services, guild: Guild) -> None:
    contract = await delivered_contract(services, revisions=0)
    outcome = await services.deliveries.request_revision(GUILD_ID, contract.id, actor_id=CLIENT, reason="Extra")

    answered = await services.deliveries.answer_extra_revision(GUILD_ID, outcome.request.id, actor_id=WORKER,
                                                               accept=False)

    assert answered.status == "declined"
    assert (await reload(services, contract.id)).status == ContractStatus.DELIVERED
    dm = await contract_outbox(services, contract.id, message_key="notify.extra_revision_declined")
    assert [r["recipient_id"] for r in dm] == [CLIENT]
    # the client can still approve
    await services.deliveries.approve(GUILD_ID, contract.id, actor_id=CLIENT)
    assert (await reload(services, contract.id)).status == ContractStatus.COMPLETED


@pytest.mark.parametrize("actor", [CLIENT, OUTSIDER])
async def test_only_the_worker_answers_an_extra_revision(services: Services, guild: Guild, actor: int) -> None:
    contract = await delivered_contract(services, revisions=0)
    outcome = await services.deliveries.request_revision(GUILD_ID, contract.id, actor_id=CLIENT, reason="Extra")
    before = await snapshot(services)
    with pytest.raises(NotAllowed) as refused:
        await services.deliveries.answer_extra_revision(GUILD_ID, outcome.request.id, actor_id=actor, accept=True)
    assert refused.value.key == "error.delivery.worker_only"
    assert await snapshot(services) == before


@pytest.mark.parametrize("accept", [True, False])
async def test_answering_an_extra_revision_after_approval_is_refused(services: Services, guild: Guild,
                                                                     accept: bool) -> None:
    contract = await delivered_contract(services, revisions=0)
    outcome = await services.deliveries.request_revision(GUILD_ID, contract.id, actor_id=CLIENT, reason="Extra")
    await services.deliveries.approve(GUILD_ID, contract.id, actor_id=CLIENT)
    lapsed = await services.db.fetchone("SELECT status FROM revision_requests WHERE id = ?", (outcome.request.id,))
    assert lapsed is not None and lapsed["status"] == "lapsed"  # the approval made it moot
    before = await snapshot(services)
    with pytest.raises(WrongState) as refused:
        await services.deliveries.answer_extra_revision(GUILD_ID, outcome.request.id, actor_id=WORKER, accept=accept)
    assert refused.value.key == "error.review.revision_answered"
    assert await snapshot(services) == before
    assert (await reload(services, contract.id)).status == ContractStatus.COMPLETED


async def test_answering_an_extra_revision_on_a_disputed_contract_is_refused(services: Services,
                                                                             guild: Guild) -> None:
    contract = await delivered_contract(services, revisions=0)
    outcome = await services.deliveries.request_revision(GUILD_ID, contract.id, actor_id=CLIENT, reason="Extra")
    await services.cases.dispute(GUILD_ID, contract.id, actor_id=CLIENT, reason="not what we agreed")
    with pytest.raises(WrongState) as refused:
        await services.deliveries.answer_extra_revision(GUILD_ID, outcome.request.id, actor_id=WORKER, accept=False)
    assert refused.value.key == "error.contract.state"
    assert (await reload(services, contract.id)).status == ContractStatus.DISPUTED


async def test_a_declined_extra_revision_starts_the_review_period_again(services: Services, guild: Guild,
                                                                        clock: FakeClock) -> None:
    contract = await delivered_contract(services, revisions=0)
    outcome = await services.deliveries.request_revision(GUILD_ID, contract.id, actor_id=CLIENT, reason="Extra")
    clock.advance(timedelta(days=2))
    await services.deliveries.answer_extra_revision(GUILD_ID, outcome.request.id, actor_id=WORKER, accept=False)
    declined = await reload(services, contract.id)
    assert declined.status == ContractStatus.DELIVERED
    assert declined.clock_at == clock.now().replace(microsecond=0)


@pytest.mark.parametrize(("actor", "error", "key"), [
    (WORKER, NotAllowed, "error.review.client_only"),
    (OUTSIDER, NotAllowed, "error.review.client_only"),
])
async def test_only_the_client_requests_revisions(services: Services, guild: Guild, actor: int,
                                                  error: type[Exception], key: str) -> None:
    contract = await delivered_contract(services)
    before = await snapshot(services)
    with pytest.raises(error) as refused:
        await services.deliveries.request_revision(GUILD_ID, contract.id, actor_id=actor, reason="x")
    assert refused.value.key == key  # type: ignore[attr-defined]
    assert await snapshot(services) == before


async def test_revision_before_delivery_or_without_reason_is_refused(services: Services, guild: Guild) -> None:
    contract = await funded_contract(services)
    with pytest.raises(WrongState) as refused:
        await services.deliveries.request_revision(GUILD_ID, contract.id, actor_id=CLIENT, reason="x")
    assert refused.value.key == "error.contract.state"
    delivered = await delivered_contract(services, worker_id=WORKER2)
    with pytest.raises(InvalidInput) as empty:
        await services.deliveries.request_revision(GUILD_ID, delivered.id, actor_id=CLIENT, reason="  ")
    assert empty.value.key == "error.text.required"
    assert await services.db.fetchall("SELECT * FROM revision_requests") == []


# -- auto-approve ---------------------------------------------------------------------------


async def test_auto_approve_releases_exactly_once(services: Services, guild: Guild, clock: FakeClock) -> None:
    contract = await delivered_contract(services)
    clock.advance(days=7)

    first = await services.deliveries.auto_approve(contract.id)
    second = await services.deliveries.auto_approve(contract.id)

    assert first == Settlement(held=50000, fee=5000, to_worker=45000, to_client=0)
    assert second is None
    assert (await reload(services, contract.id)).status == ContractStatus.COMPLETED
    release = await ledger_txns(services, contract_id=contract.id, kind="release")
    assert [t["actor_id"] for t in release] == [None]
    assert (await ledger(services))[f"owed:{WORKER}"] == 45000
    delivery = (await services.deliveries.deliveries(GUILD_ID, contract.id))[-1]
    assert delivery.outcome == "auto_approved"
    dms = {(r["recipient_id"], r["message_key"]) for r in await contract_outbox(services, contract.id, target="dm")}
    assert {(WORKER, "notify.auto_approved_worker"), (CLIENT, "notify.auto_approved_client")} <= dms


async def test_auto_approve_racing_the_client(services: Services, guild: Guild) -> None:
    contract = await delivered_contract(services)
    results = await asyncio.gather(
        services.deliveries.auto_approve(contract.id),
        services.deliveries.approve(GUILD_ID, contract.id, actor_id=CLIENT),
        return_exceptions=True,
    )
    assert sum(isinstance(r, Settlement) for r in results) == 1
    assert len(await ledger_txns(services, contract_id=contract.id, kind="release")) == 1


async def test_auto_approve_ignores_contracts_not_delivered(services: Services, guild: Guild) -> None:
    contract = await funded_contract(services)
    assert await services.deliveries.auto_approve(contract.id) is None
    assert await services.deliveries.auto_approve(999_999) is None
    assert (await reload(services, contract.id)).status == ContractStatus.ACTIVE


async def test_approve_voids_a_topup_no_longer_needed(services: Services, guild: Guild) -> None:
    contract = await funded_contract(services)
    for price, proposer, answerer in ((60000, WORKER, CLIENT), (50000, CLIENT, WORKER)):
        amendment = await services.contracts.propose_amendment(GUILD_ID, contract.id, actor_id=proposer,
                                                               reason="price", price=price)
        await services.contracts.answer_amendment(GUILD_ID, amendment.id, actor_id=answerer, accept=True)
        if price == 60000:
            await services.escrow.deposit(GUILD_ID, contract.id, actor_id=CLIENT, reference="topup")
    assert (await reload(services, contract.id)).topup_due == 0
    await services.deliveries.deliver(GUILD_ID, contract.id, actor_id=WORKER, files=[PNG])

    await services.deliveries.approve(GUILD_ID, contract.id, actor_id=CLIENT)

    assert (await ledger(services))[f"owed:{WORKER}"] == 45000
    assert await services.escrow.pending_deposits(GUILD_ID) == []
    rows = await services.db.fetchall("SELECT kind, status FROM deposits WHERE contract_id = ? ORDER BY id",
                                      (contract.id,))
    assert [(r["kind"], r["status"]) for r in rows] == [("initial", "confirmed"), ("topup", "void")]
