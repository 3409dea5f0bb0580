"""Profiles: the public part, private payout details, deleting one's personal data."""

from __future__ import annotations

import pytest

from bot.clock import FakeClock
from bot.errors import InvalidInput, NotAllowed, NotConfigured
from bot.models.entities import Guild
from bot.services.common import LIMITS
from bot.services.container import Services
from tests.ids import CLIENT, GUILD_ID, MODERATOR, OUTSIDER, WORKER
from tests.services.helpers import balance, completed_contract, count, events, snapshot

FULL = {
    "display_name": "Aki",
    "headline": "Logo designer",
    "bio": "Ten years of logos.",
    "skills": "illustrator, figma",
    "portfolio_url": "https://example.com/aki",
}


async def test_edit_stores_and_get_returns_the_profile(services: Services, guild: Guild, clock: FakeClock) -> None:
    assert await services.profiles.get(GUILD_ID, WORKER) is None
    profile = await services.profiles.edit(GUILD_ID, WORKER, **FULL)
    assert {name: getattr(profile, name) for name in FULL} == FULL
    assert profile.created_at == profile.updated_at == clock.now()
    assert await services.profiles.get(GUILD_ID, WORKER) == profile
    assert await services.profiles.get(GUILD_ID + 1, WORKER) is None  # per guild
    assert [(e["kind"], e["actor_id"]) for e in await events(services, "profile.edited")] == [
        ("profile.edited", WORKER)
    ]


async def test_edit_strips_text(services: Services, guild: Guild) -> None:
    profile = await services.profiles.edit(GUILD_ID, WORKER, display_name="  Aki \n", portfolio_url=" http://a.b ")
    assert profile.display_name == "Aki"
    assert profile.portfolio_url == "http://a.b"


async def test_edit_again_replaces_and_keeps_created_at(services: Services, guild: Guild, clock: FakeClock) -> None:
    first = await services.profiles.edit(GUILD_ID, WORKER, **FULL)
    clock.advance(hours=1)
    second = await services.profiles.edit(GUILD_ID, WORKER, **{**FULL, "headline": "Illustrator"})
    assert second.headline == "Illustrator"
    assert second.created_at == first.created_at
    assert second.updated_at == clock.now()
    assert await count(services, "profiles") == 1


@pytest.mark.parametrize("cleared", ["", "   ", None])
async def test_empty_text_clears_a_field(services: Services, guild: Guild, cleared: str | None) -> None:
    await services.profiles.edit(GUILD_ID, WORKER, **FULL)
    profile = await services.profiles.edit(GUILD_ID, WORKER, **{**FULL, "bio": cleared, "portfolio_url": cleared})
    assert profile.bio is None
    assert profile.portfolio_url is None
    assert profile.display_name == "Aki"
    row = await services.db.fetchone("SELECT bio, portfolio_url FROM profiles WHERE user_id = ?", (WORKER,))
    assert row is not None and tuple(row) == (None, None)


@pytest.mark.parametrize("url", ["example.com", "javascript:alert(1)", "ftp://example.com", "www.example.com"])
async def test_bad_url_is_refused_and_nothing_changes(services: Services, guild: Guild, url: str) -> None:
    await services.profiles.edit(GUILD_ID, WORKER, **FULL)
    before = await snapshot(services)
    with pytest.raises(InvalidInput) as refused:
        await services.profiles.edit(GUILD_ID, WORKER, **{**FULL, "headline": "changed", "portfolio_url": url})
    assert refused.value.key == "error.profile.url"
    assert await snapshot(services) == before
    profile = await services.profiles.get(GUILD_ID, WORKER)
    assert profile is not None and profile.headline == FULL["headline"]


@pytest.mark.parametrize("field", ["display_name", "headline", "bio", "skills", "portfolio_url"])
async def test_too_long_text_is_refused_and_nothing_is_stored(services: Services, guild: Guild, field: str) -> None:
    limit = LIMITS[field]
    prefix = "https://" if field == "portfolio_url" else ""
    at_limit = prefix + "x" * (limit - len(prefix))
    assert (await services.profiles.edit(GUILD_ID, CLIENT, **{field: at_limit})) is not None  # the limit itself is fine
    before = await snapshot(services)
    with pytest.raises(InvalidInput) as refused:
        await services.profiles.edit(GUILD_ID, WORKER, **{**FULL, field: at_limit + "x"})
    assert refused.value.key == "error.text.too_long"
    assert refused.value.args_map["field"] == field
    assert refused.value.args_map["limit"] == limit
    assert await services.profiles.get(GUILD_ID, WORKER) is None
    assert await snapshot(services) == before


async def test_unknown_field_is_a_programming_error(services: Services, guild: Guild) -> None:
    with pytest.raises(ValueError, match="unknown profile fields"):
        await services.profiles.edit(GUILD_ID, WORKER, email="a@b.c")
    assert await count(services, "profiles") == 0


async def test_edit_in_a_guild_not_set_up(services: Services) -> None:
    with pytest.raises(NotConfigured):
        await services.profiles.edit(GUILD_ID, WORKER, **FULL)
    with pytest.raises(NotConfigured):
        await services.profiles.set_payout(GUILD_ID, WORKER, "bank 123")
    assert await count(services, "profiles") == 0
    assert await count(services, "payout_details") == 0


# -- payout details ---------------------------------------------------------------


async def test_payout_details_are_shown_to_the_owner_and_moderators_only(services: Services, guild: Guild) -> None:
    await services.profiles.set_payout(GUILD_ID, WORKER, "  Bank X, account 1234567  ")
    own = await services.profiles.payout_details(GUILD_ID, WORKER, viewer_id=WORKER, viewer_is_moderator=False)
    assert own == "Bank X, account 1234567"
    by_mod = await services.profiles.payout_details(GUILD_ID, WORKER, viewer_id=MODERATOR, viewer_is_moderator=True)
    assert by_mod == own
    for viewer in (CLIENT, OUTSIDER):
        with pytest.raises(NotAllowed) as refused:
            await services.profiles.payout_details(GUILD_ID, WORKER, viewer_id=viewer, viewer_is_moderator=False)
        assert refused.value.key == "error.profile.payout_private"
    # the audit event never carries the details
    (event,) = await events(services, "payout_details.set")
    assert event["actor_id"] == WORKER
    assert "1234567" not in str(event["data"])


async def test_payout_details_replace_and_none_before_set(services: Services, guild: Guild) -> None:
    assert await services.profiles.payout_details(GUILD_ID, WORKER, viewer_id=WORKER,
                                                  viewer_is_moderator=False) is None
    await services.profiles.set_payout(GUILD_ID, WORKER, "old")
    await services.profiles.set_payout(GUILD_ID, WORKER, "new")
    assert await services.profiles.payout_details(GUILD_ID, WORKER, viewer_id=WORKER,
                                                  viewer_is_moderator=False) == "new"
    assert await count(services, "payout_details") == 1


@pytest.mark.parametrize(("details", "key"), [("", "error.text.required"), ("  ", "error.text.required"),
                                               ("x" * (LIMITS["payout"] + 1), "error.text.too_long")])
async def test_bad_payout_details_are_refused(services: Services, guild: Guild, details: str, key: str) -> None:
    await services.profiles.set_payout(GUILD_ID, WORKER, "kept")
    with pytest.raises(InvalidInput) as refused:
        await services.profiles.set_payout(GUILD_ID, WORKER, details)
    assert refused.value.key == key
    assert await services.profiles.payout_details(GUILD_ID, WORKER, viewer_id=WORKER,
                                                  viewer_is_moderator=False) == "kept"


# -- delete ---------------------------------------------------------------------------


async def test_delete_removes_profile_and_payout_but_keeps_the_money_trail(services: Services, guild: Guild) -> None:
    contract = await completed_contract(services)
    await services.profiles.edit(GUILD_ID, WORKER, **FULL)
    await services.profiles.set_payout(GUILD_ID, WORKER, "Bank X")
    await services.profiles.edit(GUILD_ID, CLIENT, display_name="Client")
    owed_before = await balance(services, f"owed:{WORKER}")
    ledger_before = await count(services, "ledger_entries")
    assert owed_before > 0

    assert await services.profiles.delete(GUILD_ID, WORKER) is True

    assert await services.profiles.get(GUILD_ID, WORKER) is None
    assert await services.profiles.payout_details(GUILD_ID, WORKER, viewer_id=WORKER,
                                                  viewer_is_moderator=False) is None
    assert await services.profiles.get(GUILD_ID, CLIENT) is not None  # only the user's own data
    assert await services.contracts.get(contract.id) == contract
    assert await count(services, "ledger_entries") == ledger_before
    assert await balance(services, f"owed:{WORKER}") == owed_before
    assert await count(services, "contract_terms", "contract_id = ?", (contract.id,)) == 1
    (event,) = await events(services, "profile.deleted")
    assert event["actor_id"] == WORKER and event["data"] == {"had_data": True}


async def test_delete_only_payout_details(services: Services, guild: Guild) -> None:
    await services.profiles.set_payout(GUILD_ID, WORKER, "Bank X")
    assert await services.profiles.delete(GUILD_ID, WORKER) is True
    assert await count(services, "payout_details") == 0


async def test_delete_without_data_says_so(services: Services, guild: Guild) -> None:
    assert await services.profiles.delete(GUILD_ID, WORKER) is False
    (event,) = await events(services, "profile.deleted")
    assert event["data"] == {"had_data": False}
