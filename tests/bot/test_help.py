"""/help: the next steps in the user's language."""

from __future__ import annotations

from bot.i18n import t
from tests.bot.conftest import Market


def guide(market: Market, language: str, *sections: str) -> str:
    from bot.cogs.help import GUIDE_COMMANDS

    mentions = {name.replace(" ", "_"): market.bot.command_mention(name) for name in GUIDE_COMMANDS}
    return "\n\n".join(t(language, f"help.{section}", **mentions) for section in sections)


async def test_help_before_setup_points_admins_to_setup(market: Market) -> None:
    result = await market.client.slash(market.general, "help")

    assert result.ephemeral and result.response is not None
    assert result.response.content == guide(market, "en", "not_set_up")
    assert f"</setup:{market.bot.command_ids['setup']}>" in result.response.content


async def test_help_in_english_for_a_member(setup_market: Market) -> None:
    market = setup_market
    result = await market.worker.slash(market.general, "help")

    assert result.ephemeral and result.response is not None
    assert result.response.content == guide(market, "en", "intro", "client", "worker")


async def test_help_in_japanese_for_a_moderator(setup_market: Market) -> None:
    market = setup_market
    market.set_locale(market.moderator, "ja")
    result = await market.moderator.slash(market.general, "help")

    assert result.ephemeral and result.response is not None
    assert result.response.content == guide(market, "ja", "intro", "client", "worker", "moderator")
    assert "マーケットプレイス" in result.response.content


async def test_help_in_a_dm(setup_market: Market) -> None:
    market = setup_market
    result = await market.worker.user.slash("help")

    assert result.response is not None
    assert result.response.content == guide(market, "en", "intro", "in_dm")


async def test_help_remembers_the_users_locale(setup_market: Market) -> None:
    market = setup_market
    market.set_locale(market.worker, "ja")
    await market.worker.slash(market.general, "help")
    assert await market.services.guilds.user_locale(market.worker.id) == "ja"


async def test_help_lists_each_partys_next_step_on_open_contracts(setup_market: Market) -> None:
    from bot.cogs.help import GUIDE_COMMANDS
    from tests.bot.helpers import hired_contract

    market = setup_market
    contract = await hired_contract(market)
    mentions = {name.replace(" ", "_"): market.bot.command_mention(name) for name in GUIDE_COMMANDS}

    client = await market.client.slash(market.general, "help")
    assert client.ephemeral and client.response is not None
    deposit = t("en", "help.next.deposit", contract_id=contract.id, **mentions)
    assert f"{t('en', 'help.next.title')}\n{deposit}" in client.response.content

    market.set_locale(market.worker, "ja")
    worker = await market.worker.slash(market.general, "help")
    assert worker.response is not None
    assert t("ja", "help.next.wait_deposit", contract_id=contract.id, **mentions) in worker.response.content
    assert "あなたの次のステップ" in worker.response.content

    outsider = await market.outsider.slash(market.general, "help")
    assert outsider.response is not None
    assert t("en", "help.next.title") not in outsider.response.content
