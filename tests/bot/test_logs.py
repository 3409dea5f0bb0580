"""Every line logged while an interaction is handled carries its ids (bot/logs.py, bound
by ``MarketBot.note_locale``, which commands, buttons and modals all call first)."""

from __future__ import annotations

import io
import json
from typing import Any

from bot.logs import setup_logging
from tests.bot.conftest import Market
from tests.bot.helpers import last_dm, offered
from tests.test_logs import restore_logging

__all__ = ["restore_logging"]  # the autouse fixture, shared


def accepted_lines(stream: io.StringIO, contract_id: int) -> list[dict[str, Any]]:
    entries = [json.loads(line) for line in stream.getvalue().splitlines()]
    return [e for e in entries if e["logger"] == "bot.services.contracts" and e["msg"].endswith(
        f"contract {contract_id} accepted")]


def answered_interaction(market: Market) -> int:
    """The id of the last interaction the bot answered (``/interactions/<id>/<token>/callback``)."""
    paths = [r.path for r in market.env.http_requests if r.path.startswith("/interactions/")]
    return int(paths[-1].split("/")[2])


async def test_a_command_binds_interaction_guild_user_and_contract(setup_market: Market) -> None:
    market = setup_market
    contract = await offered(market)
    stream = io.StringIO()
    setup_logging(log_format="json", stream=stream)

    await market.worker.slash(market.general, "contract accept", contract=contract.id)

    (line,) = accepted_lines(stream, contract.id)
    assert (line["interaction"], line["guild"], line["user"], line["contract"]) == (
        answered_interaction(market), market.guild.id, market.worker.id, contract.id
    )


async def test_a_button_in_a_dm_binds_its_contract(setup_market: Market) -> None:
    market = setup_market
    contract = await offered(market)
    offer = last_dm(market, market.worker)
    stream = io.StringIO()
    setup_logging(log_format="json", stream=stream)

    await market.worker.user.click(offer, custom_id=f"cw:contract:{contract.id}:accept")

    (line,) = accepted_lines(stream, contract.id)
    assert (line["interaction"], line["user"], line["contract"]) == (
        answered_interaction(market), market.worker.id, contract.id
    )
    assert "guild" not in line  # a DM
