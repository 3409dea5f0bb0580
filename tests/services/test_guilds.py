from __future__ import annotations

from collections.abc import Awaitable, Callable

import pytest

from bot import i18n
from bot.errors import InvalidInput, NotConfigured, WrongState
from bot.models.entities import Contract, Guild
from bot.models.policies import POLICY_SPECS
from bot.repositories.ledger import owed_account, refund_account
from bot.services.container import Services
from tests.ids import CLIENT, GUILD_ID, MODERATOR, WORKER
from tests.services.helpers import (
    balance,
    completed_contract,
    count,
    delivered_contract,
    deposited_contract,
    disputed_contract,
    funded_contract,
    hired_contract,
    offered_contract,
    reload,
)


async def setup(
    services: Services,
    guild_id: int = GUILD_ID,
    *,
    jobs_channel_id: int = 10,
    currency: str | None = None,
    fee_percent: int | None = None,
) -> Guild:
    return await services.guilds.setup(
        guild_id,
        actor_id=1,
        jobs_channel_id=jobs_channel_id,
        mod_channel_id=11,
        moderator_role_id=12,
        currency=currency,
        fee_percent=fee_percent,
    )


async def test_setup_stores_the_guild(services: Services, guild: Guild) -> None:
    assert guild == Guild(
        guild_id=GUILD_ID,
        jobs_channel_id=10,
        mod_channel_id=11,
        moderator_role_id=12,
        contracts_channel_id=13,
        currency="JPY",
        locale="en",
    )
    assert await services.guilds.require(GUILD_ID) == guild
    events = await services.db.fetchall("SELECT kind, actor_id FROM events WHERE guild_id = ?", (GUILD_ID,))
    assert [(e["kind"], e["actor_id"]) for e in events] == [("guild.setup", 1)]


async def test_unconfigured_guild(services: Services) -> None:
    assert await services.guilds.get(GUILD_ID) is None
    with pytest.raises(NotConfigured):
        await services.guilds.require(GUILD_ID)
    with pytest.raises(NotConfigured):
        await services.guilds.set_policy(GUILD_ID, "fee_percent", "5", actor_id=MODERATOR)


async def test_setup_with_currency_and_fee(services: Services) -> None:
    guild = await setup(services, currency="usd", fee_percent=15)
    assert guild.currency == "USD"
    assert (await services.guilds.policies(GUILD_ID)).integer("fee_percent") == 15


async def test_setup_again_changes_channels_and_keeps_currency(services: Services, guild: Guild) -> None:
    await setup(services, currency="EUR")
    again = await setup(services, jobs_channel_id=20)
    assert again.jobs_channel_id == 20
    assert again.contracts_channel_id is None
    assert again.currency == "EUR"
    assert await count(services, "guilds") == 1


async def test_setup_uses_the_configured_default_currency(services: Services) -> None:
    assert (await setup(services)).currency == services.settings.currency


@pytest.mark.parametrize(
    "bad",
    [{"currency": "DOGE"}, {"fee_percent": 101}, {"fee_percent": -1}],
    ids=["currency", "fee>100", "fee<0"],
)
async def test_bad_setup_is_refused_and_stores_nothing(services: Services, bad: dict[str, object]) -> None:
    with pytest.raises(InvalidInput) as refused:
        await setup(services, **bad)  # type: ignore[arg-type]
    assert i18n.has(refused.value.key)
    assert await services.guilds.get(GUILD_ID) is None
    assert await count(services, "guild_policies") == 0
    assert await count(services, "events") == 0


async def test_bad_resetup_changes_nothing(services: Services, guild: Guild) -> None:
    with pytest.raises(InvalidInput):
        await setup(services, jobs_channel_id=99, currency="XXX")
    assert await services.guilds.require(GUILD_ID) == guild


async def currency_refused(services: Services, currency: str = "USD") -> WrongState:
    """/setup with another currency is refused and changes nothing (the guild, its events)."""
    before = await services.guilds.require(GUILD_ID)
    events = await count(services, "events")
    with pytest.raises(WrongState) as refused:
        await setup(services, jobs_channel_id=99, currency=currency)
    assert refused.value.key == "error.setup.currency_locked"
    assert i18n.has(refused.value.key)
    assert await services.guilds.require(GUILD_ID) == before
    assert await count(services, "events") == events
    return refused.value


async def _disputed(services: Services) -> Contract:
    contract, _ = await disputed_contract(services)
    return contract


@pytest.mark.parametrize(
    "make",
    [offered_contract, hired_contract, deposited_contract, funded_contract, delivered_contract, _disputed],
    ids=["offered", "awaiting_funding", "funding_submitted", "active", "delivered", "disputed"],
)
async def test_the_currency_cannot_change_while_a_contract_is_open(
    services: Services, guild: Guild, make: Callable[[Services], Awaitable[Contract]]
) -> None:
    await make(services)

    refused = await currency_refused(services)

    assert refused.args_map == {"current": "JPY", "currency": "USD", "open_contracts": 1, "unpaid_balances": 0}
    # the same currency, or none given, changes the rest as before
    assert (await setup(services, jobs_channel_id=20, currency="jpy")).jobs_channel_id == 20
    assert (await setup(services, jobs_channel_id=21)).currency == "JPY"


async def test_the_currency_cannot_change_until_the_worker_is_paid_out(services: Services, guild: Guild) -> None:
    await completed_contract(services)
    owed = await balance(services, owed_account(WORKER))
    assert owed > 0

    refused = await currency_refused(services)
    assert (refused.args_map["open_contracts"], refused.args_map["unpaid_balances"]) == (0, 1)

    await services.escrow.record_payout(
        GUILD_ID, moderator_id=MODERATOR, user_id=WORKER, amount=owed - 1, reference="bank 1"
    )
    await currency_refused(services)  # one yen still owed
    await services.escrow.record_payout(GUILD_ID, moderator_id=MODERATOR, user_id=WORKER, amount=1, reference="bank 2")
    assert (await setup(services, currency="USD")).currency == "USD"


async def test_the_currency_cannot_change_until_a_refund_is_paid_out(services: Services, guild: Guild) -> None:
    contract = await _disputed(services)
    [case] = await services.cases.list(GUILD_ID)
    await services.cases.act(GUILD_ID, case.id, moderator_id=MODERATOR, action="refund", reason="Not delivered")
    assert (await reload(services, contract.id)).status == "refunded"  # closed, but the client is owed
    refund = await balance(services, refund_account(CLIENT))
    assert refund > 0

    refused = await currency_refused(services, "EUR")
    assert (refused.args_map["open_contracts"], refused.args_map["unpaid_balances"]) == (0, 1)

    await services.escrow.record_payout(
        GUILD_ID, moderator_id=MODERATOR, user_id=CLIENT, amount=refund, reference="refund 1"
    )
    assert (await setup(services, currency="EUR")).currency == "EUR"


async def test_the_currency_can_change_when_every_contract_ended_without_money(
    services: Services, guild: Guild
) -> None:
    offer = await offered_contract(services)
    await services.contracts.decline(GUILD_ID, offer.id, actor_id=WORKER)
    await services.jobs.close(GUILD_ID, offer.job_id, actor_id=CLIENT)  # an open job keeps the old currency
    assert (await setup(services, currency="USD")).currency == "USD"


async def test_policies_default_to_the_settings(services: Services, guild: Guild) -> None:
    policies = await services.guilds.policies(GUILD_ID)
    assert policies.values == dict(services.settings.policy_defaults)
    views = await services.guilds.list_policies(GUILD_ID)
    assert [v.name for v in views] == list(POLICY_SPECS)
    assert not any(v.overridden for v in views)


@pytest.mark.parametrize(
    ("name", "value", "canonical"),
    [
        ("escrow_escalate_after", "72h", "3d"),
        ("Escrow_Escalate_After ", "1d12h", "1d12h"),
        ("post_cooldown", "0s", "0s"),
        ("fee_percent", " 07 ", "7"),
    ],
)
async def test_set_policy_canonicalizes_and_overrides(
    services: Services, guild: Guild, name: str, value: str, canonical: str
) -> None:
    assert await services.guilds.set_policy(GUILD_ID, name, value, actor_id=MODERATOR) == canonical
    key = name.strip().lower()
    assert (await services.guilds.policies(GUILD_ID)).values[key] == canonical
    view = next(v for v in await services.guilds.list_policies(GUILD_ID) if v.name == key)
    assert (view.value, view.default, view.overridden) == (canonical, POLICY_SPECS[key].default, True)
    event = await services.db.fetchone("SELECT actor_id, data FROM events WHERE kind = 'policy.set'")
    assert event is not None and event["actor_id"] == MODERATOR


async def test_set_policy_again_replaces(services: Services, guild: Guild) -> None:
    await services.guilds.set_policy(GUILD_ID, "apply_cooldown", "1m", actor_id=MODERATOR)
    await services.guilds.set_policy(GUILD_ID, "apply_cooldown", "2m", actor_id=MODERATOR)
    assert (await services.guilds.policies(GUILD_ID)).values["apply_cooldown"] == "2m"
    assert await count(services, "guild_policies") == 1


async def test_policies_are_per_guild(services: Services, guild: Guild) -> None:
    await setup(services, GUILD_ID + 1)
    await services.guilds.set_policy(GUILD_ID, "fee_percent", "3", actor_id=MODERATOR)
    assert (await services.guilds.policies(GUILD_ID + 1)).values["fee_percent"] == "10"


@pytest.mark.parametrize(
    ("name", "value"),
    [
        ("no_such_policy", "1d"),
        ("currency", "USD"),
        ("escrow_escalate_after", "soon"),
        ("reminder_repeat_every", "0s"),
        ("fee_percent", "150"),
        ("max_open_jobs", "0"),
    ],
)
async def test_bad_policies_are_refused_and_store_nothing(
    services: Services, guild: Guild, name: str, value: str
) -> None:
    with pytest.raises(InvalidInput) as refused:
        await services.guilds.set_policy(GUILD_ID, name, value, actor_id=MODERATOR)
    assert refused.value.key.startswith("error.config.")
    assert i18n.has(refused.value.key)
    assert await count(services, "guild_policies") == 0
    assert (await services.guilds.policies(GUILD_ID)).values == dict(services.settings.policy_defaults)


async def test_user_locale_is_remembered(services: Services) -> None:
    assert await services.guilds.user_locale(MODERATOR) is None
    await services.guilds.remember_locale(MODERATOR, "ja")
    await services.guilds.remember_locale(MODERATOR, "ja")
    assert await services.guilds.user_locale(MODERATOR) == "ja"
    await services.guilds.remember_locale(MODERATOR, "en-US")
    assert await services.guilds.user_locale(MODERATOR) == "en-US"
