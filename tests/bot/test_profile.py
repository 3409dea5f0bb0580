"""/profile view, edit, payout and delete."""

from __future__ import annotations

from typing import Any

import pytest
import simcord

from bot.i18n import t
from tests.bot.conftest import Market
from tests.bot.helpers import fields

PROFILE = {
    "display_name": "Hana Sato",
    "headline": "Illustrator and logo designer",
    "bio": "Ten years of shop logos.",
    "skills": "Illustrator, Figma",
    "portfolio_url": "https://hana.example/works",
}


async def edit_profile(market: Market, member: simcord.MemberActor, values: dict[str, str]) -> Any:
    shown = await member.slash(market.general, "profile edit")
    assert shown.modal is not None
    return await member.submit_modal(shown, values)


def modal_defaults(shown: simcord.InteractionResult) -> dict[str, str | None]:
    assert shown.modal is not None
    inputs = [row["components"][0] for row in shown.modal["components"]]
    return {i["custom_id"]: i.get("value") for i in inputs}


async def completed_contract(market: Market, *, rate: bool = True) -> int:
    """A contract that took 1d 6h to fund and 2d to review; the client rated 5 stars, the
    worker 4 (unless ``rate`` is false). Cooldowns are off."""
    services, guild_id = market.services, market.guild.id
    client, worker = market.client.id, market.worker.id
    for name in ("post_cooldown", "apply_cooldown"):
        await services.guilds.set_policy(guild_id, name, "0s", actor_id=market.admin.id)
    job = await services.jobs.post(guild_id, client, title="Logo", description="A logo", budget=45000, deadline="7d")
    await services.jobs.apply(guild_id, job.id, worker, proposal="Me", price=45000)
    offer = await services.contracts.offer(guild_id, client, job.id, worker)
    contract_id = offer.contract.id
    await services.contracts.accept(guild_id, contract_id, actor_id=worker)
    market.clock.advance(days=1, hours=6)
    await services.escrow.deposit(guild_id, contract_id, actor_id=client, reference="bank 1")
    await services.escrow.confirm(guild_id, contract_id, moderator_id=market.moderator.id)
    from bot.services.deliveries import IncomingFile

    await services.deliveries.deliver(guild_id, contract_id, actor_id=worker,
                                      files=[IncomingFile("logo.png", b"png", "image/png")], note=None)  # fmt: skip
    market.clock.advance(days=2)
    await services.deliveries.approve(guild_id, contract_id, actor_id=client)
    if rate:
        await services.reputation.rate(guild_id, contract_id, rater_id=client, stars=5)
        await services.reputation.rate(guild_id, contract_id, rater_id=worker, stars=4)
    await market.settle()
    return contract_id


# -- view ------------------------------------------------------------------------------------


async def test_view_own_empty_profile(setup_market: Market) -> None:
    market = setup_market
    result = await market.worker.slash(market.general, "profile view")

    assert result.ephemeral and result.response is not None
    [embed] = result.response.embeds
    assert embed.title == "worker"
    assert embed.description == t("en", "ui.profile.empty_own")
    shown = fields(embed)
    assert shown["As a client"] == (
        "Jobs posted: 0\nContracts completed: 0 · cancelled: 0\nMedian time to fund escrow: —\n"
        "Median time to review a delivery: —\nEscalations against them: 0\n"
        "Requirement changes back to an earlier version (A→B→A): 0\nAverage rating: no ratings yet"
    )
    assert shown["As a worker"] == "Contracts completed: 0\nDelivered on time: —\nAverage rating: no ratings yet"


async def test_view_shows_the_figures_with_human_durations(setup_market: Market) -> None:
    market = setup_market
    await completed_contract(market)

    result = await market.worker.slash(market.general, "profile view", user=market.client)
    assert result.response is not None
    [embed] = result.response.embeds
    assert embed.description == t("en", "ui.profile.empty_other", user=market.client.mention)
    assert fields(embed)["As a client"] == (
        "Jobs posted: 1\nContracts completed: 1 · cancelled: 0\nMedian time to fund escrow: 1d 6h\n"
        "Median time to review a delivery: 2d\nEscalations against them: 0\n"
        "Requirement changes back to an earlier version (A→B→A): 0\nAverage rating: ★4.0 (ratings: 1)"
    )

    market.set_locale(market.client, "ja")
    result = await market.client.slash(market.general, "profile view", user=market.worker)
    assert result.response is not None
    shown = fields(result.response.embeds[0])
    assert shown["ワーカーとして"] == "完了した契約: 1件\n納期どおりの納品: 100%\n平均評価: ★5.0（1件）"
    assert "仮払いまでの時間（中央値）: —" in (shown["依頼者として"] or "")

    result = await market.client.slash(market.general, "profile view")
    assert result.response is not None
    assert "仮払いまでの時間（中央値）: 1日6時間" in (fields(result.response.embeds[0])["依頼者として"] or "")


# -- edit ------------------------------------------------------------------------------------


async def test_edit_saves_the_profile_and_prefills_it_next_time(setup_market: Market) -> None:
    market = setup_market
    shown = await market.worker.slash(market.general, "profile edit")
    assert shown.modal is not None and shown.modal["custom_id"] == "profile_edit"
    assert modal_defaults(shown) == dict.fromkeys(PROFILE)

    result = await market.worker.submit_modal(shown, PROFILE)
    simcord.assert_responded(result, content=t("en", "ui.profile.saved"), ephemeral=True)
    profile = await market.services.profiles.get(market.guild.id, market.worker.id)
    assert profile is not None
    assert {name: getattr(profile, name) for name in PROFILE} == PROFILE

    again = await market.worker.slash(market.general, "profile edit")
    assert modal_defaults(again) == PROFILE
    result = await market.worker.submit_modal(again, {**PROFILE, "skills": "", "headline": "Logos"})
    profile = await market.services.profiles.get(market.guild.id, market.worker.id)
    assert profile is not None and (profile.skills, profile.headline) == (None, "Logos")

    view = await market.client.slash(market.general, "profile view", user=market.worker)
    assert view.response is not None
    [embed] = view.response.embeds
    assert embed.title == "Hana Sato"
    assert embed.description == "**Logos**\n\nTen years of shop logos."
    assert fields(embed)["Portfolio"] == "https://hana.example/works"
    assert "Skills" not in fields(embed)


async def test_edit_refuses_a_portfolio_that_is_not_a_web_address(setup_market: Market) -> None:
    market = setup_market
    market.set_locale(market.worker, "ja")
    result = await edit_profile(market, market.worker, {**PROFILE, "portfolio_url": "hana.example"})
    market.assert_refused(result, "error.profile.url", language="ja", value="hana.example")
    assert await market.services.profiles.get(market.guild.id, market.worker.id) is None


async def test_edit_labels_are_localized(setup_market: Market) -> None:
    market = setup_market
    market.set_locale(market.worker, "ja")
    shown = await market.worker.slash(market.general, "profile edit")
    assert shown.modal is not None
    assert shown.modal["title"] == "プロフィール"
    labels = [row["components"][0]["label"] for row in shown.modal["components"]]
    assert labels == ["表示名", "ひとこと", "自己紹介", "スキル", "ポートフォリオ"]


# -- payout ----------------------------------------------------------------------------------


async def test_payout_details_are_saved_privately_and_never_echoed(setup_market: Market) -> None:
    market = setup_market
    secret = "Bank of Kyoto, account 1234567"
    shown = await market.worker.slash(market.general, "profile payout")
    assert modal_defaults(shown) == {"details": None}

    result = await market.worker.submit_modal(shown, {"details": secret})
    simcord.assert_responded(result, content=t("en", "ui.profile.payout_saved"), ephemeral=True)
    assert secret not in (result.response.content if result.response else "")
    details = await market.services.profiles.payout_details(
        market.guild.id, market.worker.id, viewer_id=market.worker.id, viewer_is_moderator=False
    )
    assert details == secret
    await market.settle()
    for channel in (market.general, market.jobs, market.mod, market.contracts):
        assert all(secret not in message.content for message in channel.history())

    again = await market.worker.slash(market.general, "profile payout")
    assert modal_defaults(again) == {"details": secret}  # shown again to its owner only

    view = await market.client.slash(market.general, "profile view", user=market.worker)
    assert view.response is not None
    assert secret not in str(view.response.embeds[0].to_dict())


async def test_payout_details_cannot_be_empty(setup_market: Market) -> None:
    market = setup_market
    shown = await market.worker.slash(market.general, "profile payout")
    result = await market.worker.submit_modal(shown, {"details": "   "})
    market.assert_refused(result, "error.text.required", field="payout")


# -- delete ----------------------------------------------------------------------------------


async def test_delete_asks_first_then_deletes_and_keeps_the_money_trail(setup_market: Market) -> None:
    market = setup_market
    contract_id = await completed_contract(market)
    await edit_profile(market, market.worker, PROFILE)
    await market.services.profiles.set_payout(market.guild.id, market.worker.id, "Bank 1")

    asked = await market.worker.slash(market.general, "profile delete")
    simcord.assert_responded(asked, content=t("en", "ui.profile.delete_confirm"), ephemeral=True)
    assert asked.response is not None
    assert await market.services.profiles.get(market.guild.id, market.worker.id) is not None

    done = await market.worker.click(asked.response.message, custom_id="profile_delete:confirm")
    simcord.assert_responded(done, content=t("en", "ui.profile.deleted"))
    assert done.response is not None and done.response.components == []
    assert await market.services.profiles.get(market.guild.id, market.worker.id) is None
    assert (
        await market.services.profiles.payout_details(
            market.guild.id, market.worker.id, viewer_id=market.worker.id, viewer_is_moderator=False
        )
        is None
    )
    contract = await market.services.contracts.get(contract_id)
    assert contract is not None and contract.worker_id == market.worker.id

    with pytest.raises(simcord.SetupError):  # the buttons are gone: no second click
        await market.worker.click(asked.response.message, custom_id="profile_delete:confirm")

    market.set_locale(market.worker, "ja")
    asked = await market.worker.slash(market.general, "profile delete")
    assert asked.response is not None
    done = await market.worker.click(asked.response.message, custom_id="profile_delete:confirm")
    simcord.assert_responded(done, content=t("ja", "ui.profile.nothing_to_delete"))


async def test_delete_can_be_called_off(setup_market: Market) -> None:
    market = setup_market
    await edit_profile(market, market.worker, PROFILE)
    asked = await market.worker.slash(market.general, "profile delete")
    assert asked.response is not None
    kept = await market.worker.click(asked.response.message, custom_id="profile_delete:keep")
    simcord.assert_responded(kept, content=t("en", "ui.profile.delete_cancelled"))
    assert await market.services.profiles.get(market.guild.id, market.worker.id) is not None


async def test_delete_confirmation_expires(setup_market: Market) -> None:
    market = setup_market
    await edit_profile(market, market.worker, PROFILE)
    asked = await market.worker.slash(market.general, "profile delete")
    await market.env.advance_time(121)
    await market.settle()
    assert asked.response is not None
    assert asked.response.content == t("en", "ui.profile.delete_expired")
    assert asked.response.components == []
    assert await market.services.profiles.get(market.guild.id, market.worker.id) is not None


async def test_profile_commands_need_a_server_set_up(market: Market) -> None:
    result = await market.worker.slash(market.general, "profile payout")
    assert result.modal is not None
    result = await market.worker.submit_modal(result, {"details": "Bank"})
    market.assert_refused(result, "error.not_configured")


async def test_view_shows_revealed_review_comments(setup_market: Market) -> None:
    market = setup_market
    services, guild_id = market.services, market.guild.id
    await completed_contract(market)
    # a second contract, rated with comments by both parties: revealed
    contract_id = await completed_contract(market, rate=False)
    await services.reputation.rate(guild_id, contract_id, rater_id=market.client.id, stars=5, comment="Great work")
    await services.reputation.rate(guild_id, contract_id, rater_id=market.worker.id, stars=3, comment="Slow replies")

    result = await market.outsider.slash(market.general, "profile view", user=market.worker)
    assert result.response is not None
    shown = fields(result.response.embeds[0])
    assert shown["Recent reviews"] == t(
        "en", "ui.profile.review_as_worker", stars="★★★★★", comment="Great work", contract_id=contract_id
    )
