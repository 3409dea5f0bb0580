"""/config show and /config set: moderators only, validated, localized."""

from __future__ import annotations

import simcord

from bot.i18n import t
from bot.models.policies import POLICY_SPECS
from tests.bot.conftest import Market


async def test_show_lists_every_policy_for_a_moderator(setup_market: Market) -> None:
    market = setup_market
    await market.services.guilds.set_policy(market.guild.id, "escrow_reminder_after", "2d", actor_id=1)

    result = await market.moderator.slash(market.general, "config show")

    assert result.ephemeral and result.response is not None
    lines = result.response.content.splitlines()
    assert lines[0] == t("en", "config.show_header")
    assert len(lines) == 2 + len(POLICY_SPECS)
    assert lines[-1] == t("en", "config.abuse.categories_none")
    assert t("en", "config.show_changed", name="escrow_reminder_after", value="2d", default="1d") in lines
    assert t("en", "config.show_default", name="fee_percent", value="10", default="10") in lines


async def test_set_changes_a_policy(setup_market: Market) -> None:
    market = setup_market
    result = await market.moderator.slash(market.general, "config set", name="escrow_escalate_after", value="36h")

    simcord.assert_responded(
        result,
        content=t("en", "config.set_done", name="escrow_escalate_after", value="1d12h", tick="1m"),
        ephemeral=True,
    )
    policies = await market.services.guilds.policies(market.guild.id)
    assert policies.values["escrow_escalate_after"] == "1d12h"


async def test_set_in_japanese_by_an_admin_without_the_role(setup_market: Market) -> None:
    market = setup_market
    market.set_locale(market.admin, "ja")
    result = await market.admin.slash(market.general, "config set", name="fee_percent", value="15")

    simcord.assert_responded(
        result, content=t("ja", "config.set_done", name="fee_percent", value="15", tick="1m"), ephemeral=True
    )


async def test_set_refuses_a_bad_value(setup_market: Market) -> None:
    market = setup_market
    result = await market.moderator.slash(market.general, "config set", name="reply_reminder_after", value="soon")
    market.assert_refused(result, "error.config.bad_duration", name="reply_reminder_after", value="soon")

    result = await market.moderator.slash(market.general, "config set", name="fee_percent", value="101")
    market.assert_refused(result, "error.config.bad_percent", name="fee_percent", value="101")

    policies = await market.services.guilds.policies(market.guild.id)
    assert policies.values["reply_reminder_after"] == "1d"
    assert policies.values["fee_percent"] == "10"


async def test_set_refuses_an_unknown_name(setup_market: Market) -> None:
    market = setup_market
    market.set_locale(market.moderator, "ja")
    result = await market.moderator.slash(market.general, "config set", name="speed", value="1d")
    market.assert_refused(result, "error.config.unknown_policy", language="ja", name="speed")


async def test_non_moderators_are_refused(setup_market: Market) -> None:
    market = setup_market
    for command, options in (("config show", {}), ("config set", {"name": "fee_percent", "value": "0"})):
        result = await market.client.slash(market.general, command, **options)
        market.assert_refused(result, "error.check_failed")
    assert (await market.services.guilds.policies(market.guild.id)).values["fee_percent"] == "10"


async def test_before_setup_it_says_so(market: Market) -> None:
    result = await market.moderator.slash(market.general, "config show")
    market.assert_refused(result, "error.not_configured")


async def test_name_autocompletes_from_the_policies(setup_market: Market) -> None:
    market = setup_market
    choices = await market.moderator.autocomplete(market.general, "config set", "name", "escrow")
    assert [choice["value"] for choice in choices] == ["escrow_reminder_after", "escrow_escalate_after"]
    everything = await market.client.autocomplete(market.general, "config set", "name", "")
    assert len(everything) == len(POLICY_SPECS)
