"""The Stripe payment service on real SQLite, the official library pointed at the local fake
(tests/fakes/stripe_fake.py): provider choice, webhook events once (also when delivered twice
at the same time), top-ups, and nothing Stripe-related for the manual provider."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from bot.config import Settings
from bot.errors import InvalidInput, WrongState
from bot.services.container import Services
from tests.fakes.stripe_fake import SECRET_KEY, WEBHOOK_SECRET, StripeFake
from tests.ids import CLIENT, GUILD_ID, SETUP_ACTOR, WORKER
from tests.services.helpers import balance, completed_contract, count, hired_contract, reload, setup_guild


@pytest.fixture
async def stripe_fake() -> AsyncIterator[StripeFake]:
    fake = StripeFake()
    await fake.start()
    yield fake
    await fake.stop()


@pytest.fixture
def settings(tmp_path: Path, stripe_fake: StripeFake) -> Settings:
    return Settings(database_path=tmp_path / "bot.db", files_dir=tmp_path / "files", stripe_secret_key=SECRET_KEY,
                    stripe_webhook_secret=WEBHOOK_SECRET, stripe_api_base=stripe_fake.url,
                    web_base_url="https://market.example")


@pytest.fixture
async def stripe_services(services: Services) -> AsyncIterator[Services]:
    await setup_guild(services)
    await services.payments.set_provider(GUILD_ID, "stripe", actor_id=SETUP_ACTOR)
    yield services
    assert services.payments.gateway is not None
    await services.payments.gateway.close()


async def test_the_manual_provider_writes_no_payment_call(services: Services) -> None:
    await setup_guild(services)
    contract = await completed_contract(services)
    assert await count(services, "payment_calls") == 0
    assert await balance(services, f"owed:{WORKER}") == 45000  # ¥50,000 less the 10% fee
    assert await services.payments.provider(GUILD_ID) == "manual"
    assert services.payments.gateway is not None
    await services.payments.gateway.close()
    assert (await reload(services, contract.id)).status == "completed"


async def test_unknown_or_unconfigured_providers_are_refused(services: Services) -> None:
    await setup_guild(services)
    with pytest.raises(InvalidInput) as error:
        await services.payments.set_provider(GUILD_ID, "paypal", actor_id=SETUP_ACTOR)
    assert error.value.key == "error.stripe.provider"
    gateway, services.payments.gateway = services.payments.gateway, None
    with pytest.raises(InvalidInput) as error:
        await services.payments.set_provider(GUILD_ID, "stripe", actor_id=SETUP_ACTOR)
    assert error.value.key == "error.stripe.not_configured"
    assert gateway is not None
    await gateway.close()
    assert await services.payments.provider(GUILD_ID) == "manual"


async def test_the_same_event_delivered_twice_at_once_funds_once(stripe_services: Services,
                                                                 stripe_fake: StripeFake) -> None:
    services = stripe_services
    contract = await hired_contract(services)
    await services.payments.checkout(GUILD_ID, contract.id, actor_id=CLIENT)
    [session_id] = stripe_fake.sessions
    event = stripe_fake.completed(session_id)
    outcomes = await asyncio.gather(services.payments.handle_event(event), services.payments.handle_event(event))
    assert sorted(outcomes) == ["duplicate", "funded"]
    assert await balance(services, f"escrow:{contract.id}") == 50000
    assert (await reload(services, contract.id)).status == "active"


async def test_a_top_up_is_paid_through_the_same_flow(stripe_services: Services, stripe_fake: StripeFake) -> None:
    services = stripe_services
    contract = await hired_contract(services)
    await services.payments.checkout(GUILD_ID, contract.id, actor_id=CLIENT)
    await services.payments.handle_event(stripe_fake.completed(next(iter(stripe_fake.sessions))))
    amendment = await services.contracts.propose_amendment(GUILD_ID, contract.id, actor_id=CLIENT,
                                                           reason="two more colours", price=55000)
    await services.contracts.answer_amendment(GUILD_ID, amendment.id, actor_id=WORKER, accept=True)
    assert (await reload(services, contract.id)).topup_due == 5000

    link = await services.payments.checkout(GUILD_ID, contract.id, actor_id=CLIENT)
    assert (link.kind, link.amount) == ("topup", 5000)
    topup = stripe_fake.sessions[link.url.rsplit("/", 1)[1]]
    assert topup["metadata"]["deposit"] == "topup"
    assert await services.payments.handle_event(stripe_fake.completed(topup["id"])) == "funded"
    assert (await reload(services, contract.id)).topup_due == 0
    assert await balance(services, f"escrow:{contract.id}") == 55000
    with pytest.raises(WrongState) as error:
        await services.payments.checkout(GUILD_ID, contract.id, actor_id=CLIENT)
    assert error.value.key == "error.escrow.already_funded"


async def test_checkout_refused_when_stripe_is_down(stripe_services: Services, stripe_fake: StripeFake) -> None:
    services = stripe_services
    contract = await hired_contract(services)
    stripe_fake.fail("checkout", 503)
    with pytest.raises(WrongState) as error:
        await services.payments.checkout(GUILD_ID, contract.id, actor_id=CLIENT)
    assert error.value.key == "error.stripe.unavailable"
    assert await count(services, "payment_sessions") == 0
