"""Every text input refuses text that shows nothing and stores user text made safe
(bot/models/text.py through services/common.clean_text)."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

import pytest

from bot.errors import InvalidInput
from bot.models.entities import Guild
from bot.services.container import Services
from tests.ids import CLIENT, GUILD_ID, OUTSIDER, WORKER
from tests.services.helpers import funded_contract, no_cooldowns, post_job

BLANK = "\u200b\u2800\u3164\ufe0f"

Call = Callable[[Services], Awaitable[Any]]


async def _post(services: Services, **text: str) -> Any:
    values = {"title": "Logo", "description": "A logo.", "budget": 1000, "deadline": "7d", **text}
    return await services.jobs.post(GUILD_ID, CLIENT, **values)


async def _apply(services: Services) -> Any:
    job = await post_job(services)
    return await services.jobs.apply(GUILD_ID, job.id, WORKER, proposal=BLANK, price=1000)


async def _report(services: Services) -> Any:
    return await services.cases.report(GUILD_ID, reporter_id=OUTSIDER, user_id=WORKER, reason=BLANK)


async def _dispute(services: Services) -> Any:
    contract = await funded_contract(services)
    return await services.cases.dispute(GUILD_ID, contract.id, actor_id=CLIENT, reason=BLANK)


CALLS: dict[str, tuple[str, Call]] = {
    "job title": ("title", lambda s: _post(s, title=BLANK)),
    "job description": ("description", lambda s: _post(s, description=BLANK)),
    "job category": ("category", lambda s: _post(s, category=BLANK)),
    "proposal": ("proposal", _apply),
    "report reason": ("reason", _report),
    "dispute reason": ("reason", _dispute),
    "profile bio": ("bio", lambda s: s.profiles.edit(GUILD_ID, WORKER, bio=BLANK)),
    "payout details": ("payout", lambda s: s.profiles.set_payout(GUILD_ID, WORKER, BLANK)),
}


@pytest.mark.parametrize("name", CALLS)
async def test_text_that_shows_nothing_is_refused(services: Services, guild: Guild, name: str) -> None:
    await no_cooldowns(services)
    field, call = CALLS[name]
    with pytest.raises(InvalidInput) as refused:
        await call(services)
    assert refused.value.key == "error.abuse.invisible"
    assert refused.value.args_map == {"field": field}


async def test_stored_text_is_safe_to_repost(services: Services, guild: Guild) -> None:
    job = await _post(
        services,
        title="Nitro\u202e [free](https://evil.example)\x00",
        description="One\nTwo [x](<https://evil.example>)\u2066",
    )
    assert job.title == "Nitro free (https://evil.example)"
    assert job.description == "One\nTwo x (https://evil.example)"
