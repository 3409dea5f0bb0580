"""The contract history and its JSON export: the evidence for a case."""

from __future__ import annotations

import hashlib
import json
from typing import Any

import pytest

from bot.clock import FakeClock
from bot.errors import NotAllowed, NotFound
from bot.models.entities import Contract, Guild
from bot.models.timeutil import to_iso
from bot.services.container import Services
from bot.services.deliveries import IncomingFile
from tests.ids import CLIENT, GUILD_ID, MODERATOR, OUTSIDER, WORKER
from tests.services.helpers import deliver, funded_contract, hired_contract

SCOPE_A = "A logo, two colours, SVG."
SCOPE_B = "A logo and a mascot."
DRAFT = [IncomingFile("draft.png", b"draft one"), IncomingFile("../../etc/notes.txt", b"notes", "text/plain")]
FINAL = [IncomingFile("final.svg", b"<svg>final</svg>", "image/svg+xml")]


def sha(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


async def busy_contract(services: Services, clock: FakeClock) -> Contract:
    """Offer → accept → fund → amend (A → B) → deliver two files → revision asking for A again
    → deliver → approve. The clock moves one hour between steps."""
    contract = await funded_contract(services, scope=SCOPE_A, price=50000)
    clock.advance(hours=1)
    amendment = await services.contracts.propose_amendment(GUILD_ID, contract.id, actor_id=CLIENT,
                                                           reason="Add a mascot", scope=SCOPE_B)
    clock.advance(hours=1)
    await services.contracts.answer_amendment(GUILD_ID, amendment.id, actor_id=WORKER, accept=True)
    clock.advance(hours=1)
    await deliver(services, contract, DRAFT, note="draft")
    clock.advance(hours=1)
    outcome = await services.deliveries.request_revision(GUILD_ID, contract.id, actor_id=CLIENT,
                                                         reason="a logo,  two colours, SVG.")
    clock.advance(hours=1)
    await services.deliveries.answer_extra_revision(GUILD_ID, outcome.request.id, actor_id=WORKER, accept=True)
    await deliver(services, contract, FINAL, note="final")
    clock.advance(hours=1)
    await services.deliveries.approve(GUILD_ID, contract.id, actor_id=CLIENT)
    updated = await services.contracts.get(contract.id)
    assert updated is not None
    return updated


async def test_history_shows_everything_in_order(services: Services, guild: Guild, clock: FakeClock) -> None:
    contract = await busy_contract(services, clock)
    history = await services.history.history(GUILD_ID, contract.id, viewer_id=WORKER)

    assert history.contract == contract
    assert history.job_title == "Logo for a ramen shop"
    assert [(t.version, t.scope, t.reverts_to) for t in history.versions] == [(1, SCOPE_A, None), (2, SCOPE_B, None)]
    assert history.versions[1].reason == "Add a mascot"
    (amendment,) = history.amendments
    assert (amendment.status, amendment.base_version, amendment.new_version, amendment.scope) == (
        "accepted", 1, 2, SCOPE_B,
    )
    (revision,) = history.revisions
    assert (revision.reason, revision.included, revision.status, revision.terms_version) == (
        "a logo,  two colours, SVG.", 1, "accepted", 2,
    )
    assert revision.reverts_to == 1  # asks for version 1's scope again
    assert ("revision", revision.id, 1, None) in history.reverts
    first, second = history.deliveries
    assert (first.note, first.outcome, first.terms_version) == ("draft", "revision", 2)
    assert (second.note, second.outcome) == ("final", "approved")
    assert revision.delivery_id == first.id
    files = [(f.delivery_id, f.position, f.filename, f.sha256, f.size) for f in history.files]
    assert files == [
        (first.id, 1, "draft.png", sha(b"draft one"), 9),
        (first.id, 2, "notes.txt", sha(b"notes"), 5),  # no directories in a stored name
        (second.id, 1, "final.svg", sha(b"<svg>final</svg>"), 16),
    ]
    assert all(services.files.exists(f.sha256) for f in history.files)
    (deposit,) = history.deposits
    assert (deposit.kind, deposit.amount, deposit.status, deposit.confirmed_by) == ("initial", 50000, "confirmed",
                                                                                   MODERATOR)
    kinds = [e.kind for e in history.events]
    assert kinds == [
        "contract.offered",
        "contract.accepted",
        "escrow.declared",
        "escrow.confirmed",
        "amendment.proposed",
        "amendment.accepted",
        "delivery.submitted",
        "revision.requested",
        "revision.accepted",
        "delivery.submitted",
        "delivery.approved",
    ]
    assert [e.id for e in history.events] == sorted(e.id for e in history.events)
    times = [e.created_at for e in history.events]
    assert times == sorted(times)
    revision_event = history.events[kinds.index("revision.requested")]
    assert revision_event.payload["reason"] == "a logo,  two colours, SVG."
    assert revision_event.payload["reverts_to"] == 1
    delivered = history.events[kinds.index("delivery.submitted")]
    assert delivered.payload["files"] == [f"draft.png sha256:{sha(b'draft one')}", f"notes.txt sha256:{sha(b'notes')}"]


async def test_history_with_only_an_offer(services: Services, guild: Guild) -> None:
    contract = await hired_contract(services)
    history = await services.history.history(GUILD_ID, contract.id, viewer_id=CLIENT)
    assert len(history.versions) == 1
    assert (history.amendments, history.revisions, history.deliveries, history.files, history.deposits) == (
        [], [], [], [], [],
    )
    assert [e.kind for e in history.events] == ["contract.offered", "contract.accepted"]
    assert history.reverts == []


async def test_history_is_for_the_parties_and_moderators(services: Services, guild: Guild) -> None:
    contract = await hired_contract(services)
    for viewer, moderator in ((CLIENT, False), (WORKER, False), (MODERATOR, True)):
        history = await services.history.history(GUILD_ID, contract.id, viewer_id=viewer, is_moderator=moderator)
        assert history.contract.id == contract.id
    with pytest.raises(NotAllowed) as refused:
        await services.history.history(GUILD_ID, contract.id, viewer_id=OUTSIDER)
    assert refused.value.key == "error.contract.not_party"
    with pytest.raises(NotAllowed):
        await services.history.history(GUILD_ID, contract.id, viewer_id=MODERATOR, is_moderator=False)
    with pytest.raises(NotFound):
        await services.history.history(GUILD_ID + 1, contract.id, viewer_id=CLIENT)
    with pytest.raises(NotFound):
        await services.history.history(GUILD_ID, contract.id + 1, viewer_id=CLIENT)


async def test_export_is_json_with_every_part_and_the_file_hashes(
    services: Services, guild: Guild, clock: FakeClock
) -> None:
    contract = await busy_contract(services, clock)
    history = await services.history.history(GUILD_ID, contract.id, viewer_id=CLIENT)
    clock.advance(days=1)
    raw = services.history.export(history)
    assert isinstance(raw, bytes)
    document: dict[str, Any] = json.loads(raw.decode("utf-8"))

    assert set(document) >= {"exported_at", "contract", "job_title", "terms_versions", "amendments",
                             "revision_requests", "deliveries", "deposits", "events", "reverts"}
    assert document["exported_at"] == to_iso(clock.now())
    assert document["contract"]["id"] == contract.id
    assert document["contract"]["status"] == "completed"
    assert document["contract"]["funded_at"] == to_iso(contract.funded_at)  # type: ignore[arg-type]
    assert [(v["version"], v["scope"], v["price"]) for v in document["terms_versions"]] == [
        (1, SCOPE_A, 50000), (2, SCOPE_B, 50000),
    ]
    assert [a["status"] for a in document["amendments"]] == ["accepted"]
    assert [r["reason"] for r in document["revision_requests"]] == ["a logo,  two colours, SVG."]
    hashes = [[(f["filename"], f["sha256"]) for f in d["files"]] for d in document["deliveries"]]
    assert hashes == [
        [("draft.png", sha(b"draft one")), ("notes.txt", sha(b"notes"))],
        [("final.svg", sha(b"<svg>final</svg>"))],
    ]
    assert [d["amount"] for d in document["deposits"]] == [50000]
    assert [e["kind"] for e in document["events"]] == [e.kind for e in history.events]
    assert all(isinstance(e["data"], dict) for e in document["events"])
    revision_id = history.revisions[0].id
    assert {"what": "revision", "id": revision_id, "reverts_to": 1, "reverts_to_revision": None} in document["reverts"]


async def test_export_keeps_japanese_text_readable(services: Services, guild: Guild, clock: FakeClock) -> None:
    contract = await hired_contract(services, scope="ロゴのデザイン（2色）")
    raw = services.history.export(await services.history.history(GUILD_ID, contract.id, viewer_id=WORKER))
    assert "ロゴのデザイン（2色）".encode() in raw
    assert json.loads(raw)["terms_versions"][0]["scope"] == "ロゴのデザイン（2色）"
