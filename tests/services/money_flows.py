"""Helpers for the escrow, delivery, case and reputation tests (on top of flows.py).

Like flows.py they drive the real services only; the readers below are plain SQL on the
test database.
"""

from __future__ import annotations

import json
from typing import Any

from bot.models.entities import Case, Contract
from bot.services.container import Services
from tests.ids import GUILD_ID
from tests.services.flows import delivered_contract, funded_contract


async def reload(services: Services, contract_id: int) -> Contract:
    contract = await services.contracts.get(contract_id)
    assert contract is not None
    return contract


async def ledger(services: Services, *, guild_id: int = GUILD_ID) -> dict[str, int]:
    """Every account's balance (accounts with a zero balance included once touched)."""
    rows = await services.db.fetchall(
        "SELECT account, SUM(amount) AS total FROM ledger_entries WHERE guild_id = ? GROUP BY account",
        (guild_id,),
    )
    return {row["account"]: int(row["total"]) for row in rows}


async def ledger_txns(services: Services, *, contract_id: int | None = None,
                      kind: str | None = None) -> list[dict[str, Any]]:
    where, params = ["1"], []
    for column, value in (("contract_id", contract_id), ("kind", kind)):
        if value is not None:
            where.append(f"{column} = ?")
            params.append(value)
    rows = await services.db.fetchall(
        f"SELECT * FROM ledger_transactions WHERE {' AND '.join(where)} ORDER BY id", params)
    return [dict(row) for row in rows]


async def contract_outbox(services: Services, contract_id: int, *, target: str | None = None,
                          message_key: str | None = None) -> list[dict[str, Any]]:
    """Outbox rows about one contract, ``args`` and ``buttons`` decoded, oldest first."""
    where, params = ["contract_id = ?"], [contract_id]
    for column, value in (("target", target), ("message_key", message_key)):
        if value is not None:
            where.append(f"{column} = ?")
            params.append(value)
    rows = await services.db.fetchall(f"SELECT * FROM outbox WHERE {' AND '.join(where)} ORDER BY id", params)
    return [{**dict(row), "args": json.loads(row["args"]), "buttons": json.loads(row["buttons"])} for row in rows]


async def case_outbox(services: Services, case_id: int) -> list[dict[str, Any]]:
    rows = await services.db.fetchall("SELECT * FROM outbox WHERE case_id = ? ORDER BY id", (case_id,))
    return [{**dict(row), "args": json.loads(row["args"]), "buttons": json.loads(row["buttons"])} for row in rows]


async def disputed_contract(services: Services, *, delivered: bool = False, by: str = "worker",
                            reason: str = "The client changed the requirement.",
                            **kwargs: Any) -> tuple[Contract, Case]:
    """A funded (optionally delivered) contract that a party disputed: status ``disputed``."""
    make = delivered_contract if delivered else funded_contract
    contract = await make(services, **kwargs)
    actor = contract.worker_id if by == "worker" else contract.client_id
    case = await services.cases.dispute(contract.guild_id, contract.id, actor_id=actor, reason=reason)
    return await reload(services, contract.id), case
