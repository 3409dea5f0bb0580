"""Prometheus metrics (bot/metrics.py): what a scrape shows after commands, buttons, a modal
and a sweep run through SimCord; one registry per bot; the HTTP server; no ids in labels."""

from __future__ import annotations

import asyncio
import re
import urllib.request
from datetime import timedelta
from pathlib import Path

import pytest
import simcord
from prometheus_client.parser import text_string_to_metric_families

from bot.app import create_bot
from bot.clock import FakeClock
from bot.config import Settings
from bot.i18n import t
from bot.metrics import Metrics
from bot.tree import ERROR_CODE_ATTR
from tests.bot.conftest import Market
from tests.bot.helpers import funded, ledger, post


def samples(market: Market) -> dict[tuple[str, frozenset[tuple[str, str]]], float]:
    """Every sample of the bot's scrape, by name and labels."""
    text = market.bot.metrics.text().decode()
    return {
        (sample.name, frozenset(sample.labels.items())): sample.value
        for family in text_string_to_metric_families(text)
        for sample in family.samples
    }


def value(market: Market, name: str, **labels: str) -> float | None:
    return samples(market).get((name, frozenset(labels.items())))


async def test_interactions_are_counted_by_command_and_outcome(setup_market: Market) -> None:
    market = setup_market
    job_id = await post(market)  # /job post: ok
    refused = await market.client.slash(market.general, "job apply", job=job_id, proposal="Me", price=100)
    market.assert_refused(refused, "error.application.own_job", job_id=job_id)
    [board] = market.jobs.history()
    shown = await market.worker.click(board, custom_id=f"cw:job:{job_id}:apply")  # a button: ok
    assert shown.modal is not None
    submitted = await market.worker.submit_modal(shown, {"proposal": "Me", "price": "a lot"})  # a modal: refused
    market.assert_refused(submitted, "ui.job.price_not_number", value="a lot")
    shown = await market.worker.click(board, custom_id=f"cw:job:{job_id}:apply")
    await market.worker.submit_modal(shown, {"proposal": "Me", "price": "40000"})  # ok

    counted = "crowdwork_interactions_total"
    assert value(market, counted, kind="command", command="setup", outcome="ok") == 1
    assert value(market, counted, kind="command", command="job post", outcome="ok") == 1
    assert value(market, counted, kind="command", command="job apply", outcome="refused") == 1
    assert value(market, counted, kind="component", command="cw:job:apply", outcome="ok") == 2
    assert value(market, counted, kind="modal", command="job_apply", outcome="refused") == 1
    assert value(market, counted, kind="modal", command="job_apply", outcome="ok") == 1
    assert value(market, "crowdwork_interaction_seconds_count", kind="command", command="job post") == 1
    assert value(market, "crowdwork_interaction_seconds_count", kind="modal", command="job_apply") == 2


async def test_an_unexpected_error_is_counted_as_error(setup_market: Market, monkeypatch: pytest.MonkeyPatch) -> None:
    market = setup_market

    async def broken(*args: object, **kwargs: object) -> None:
        raise RuntimeError("broken search")

    monkeypatch.setattr(market.services.jobs, "search", broken)
    result = await market.worker.slash(market.general, "job list")
    [error] = market.env.errors  # acknowledged: the tree reported it with a code
    assert "broken search" in repr(error)
    code = getattr(getattr(error, "original", error), ERROR_CODE_ATTR)
    simcord.assert_responded(result, content=t("en", "error.unexpected", code=code), ephemeral=True)
    assert value(market, "crowdwork_interactions_total", kind="command", command="job list", outcome="error") == 1
    assert value(market, "crowdwork_interactions_total", kind="command", command="job list", outcome="ok") is None


async def test_a_sweep_sets_the_gauges_and_closed_dms_are_counted(setup_market: Market) -> None:
    market = setup_market
    contract = await funded(market)
    sweeps = value(market, "crowdwork_sweep_seconds_count")  # the sweep at start-up
    assert sweeps is not None
    market.env.inject_error(
        "POST", f"/channels/{market.worker.user.dm_channel.id}/messages", status=403, code=50007,
        message="Cannot send messages to this user",
    )  # fmt: skip
    # long past the deadline: the worker is reminded (by DM, closed: it falls back) and it escalates
    market.clock.advance(timedelta(days=40))
    await market.sweep()

    assert value(market, "crowdwork_sweep_seconds_count") == sweeps + 1
    assert value(market, "crowdwork_sweep_due_contracts") == 1
    held = await ledger(market, f"escrow:{contract.id}")
    assert held > 0
    assert value(market, "crowdwork_escrow_minor_units", currency="JPY") == held
    assert value(market, "crowdwork_outbox_backlog") == 0
    assert value(market, "crowdwork_outbox_oldest_pending_seconds") == 0
    failed = value(market, "crowdwork_dms_failed_total", reason="dms_closed")
    assert failed is not None and failed >= 1


async def test_no_user_guild_or_record_ids_in_labels(setup_market: Market) -> None:
    market = setup_market
    contract = await funded(market)
    job_id = await post(market)
    board = market.jobs.history()[-1]
    shown = await market.outsider.click(board, custom_id=f"cw:job:{job_id}:apply")
    assert shown.modal is not None
    await market.outsider.submit_modal(shown, {"proposal": "Me", "price": "1000"})
    await market.worker.slash(market.general, "contract view", contract=contract.id)
    await market.sweep()

    labels = {value for (_, pairs) in samples(market) for _, value in pairs}
    ids = {market.guild.id, market.admin.id, market.moderator.id, market.client.id, market.worker.id,
           market.outsider.id, market.general.id, market.jobs.id}  # fmt: skip
    assert not [label for label in labels if any(str(i) in label for i in ids)]
    assert not [label for label in labels if re.search(r"\d", label) and label not in {"+Inf"}
                and not re.fullmatch(r"[\d.e+-]+", label)]  # no numbers but bucket bounds  # fmt: skip
    assert "contract view" in labels and "cw:job:apply" in labels


# -- one registry per bot, the HTTP server ----------------------------------------------------------


def test_each_bot_has_its_own_registry(tmp_path: Path) -> None:
    first = create_bot(Settings(database_path=tmp_path / "a.db"), clock=FakeClock())
    second = create_bot(Settings(database_path=tmp_path / "b.db"), clock=FakeClock())
    assert first.metrics.registry is not second.metrics.registry
    first.metrics.dms_failed.labels("dms_closed").inc()
    assert b'crowdwork_dms_failed_total{reason="dms_closed"} 1.0' in first.metrics.text()
    assert b"dms_closed" not in second.metrics.text()


def scrape(port: int) -> bytes:
    with urllib.request.urlopen(f"http://127.0.0.1:{port}/metrics", timeout=5) as response:
        return bytes(response.read())


async def test_the_http_server_serves_the_registry_and_stops() -> None:
    metrics = Metrics()
    port = metrics.serve(0, "127.0.0.1")
    try:
        body = await asyncio.to_thread(scrape, port)
    finally:
        metrics.stop()
    assert b"crowdwork_outbox_backlog" in body
    with pytest.raises(OSError):
        await asyncio.to_thread(scrape, port)
