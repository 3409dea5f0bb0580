"""Blind ratings and the reputation figures computed from a scripted history."""

from __future__ import annotations

from datetime import timedelta

import pytest

from bot.clock import FakeClock
from bot.errors import InvalidInput, NotAllowed, WrongState
from bot.models.entities import Guild
from bot.models.timeutil import to_iso
from bot.services.container import Services
from tests.ids import CLIENT, GUILD_ID, MODERATOR, OUTSIDER, WORKER, WORKER2
from tests.services.helpers import (
    completed_contract,
    contract_outbox,
    deliver,
    delivered_contract,
    disputed_contract,
    funded_contract,
    hired_contract,
    no_cooldowns,
    post_job,
    revised,
    snapshot,
)

# -- rating -----------------------------------------------------------------------------------


async def test_both_parties_rate_once_after_completion(services: Services, guild: Guild) -> None:
    contract = await completed_contract(services)

    by_client = await services.reputation.rate(GUILD_ID, contract.id, rater_id=CLIENT, stars=4, comment=" Good ")

    assert (by_client.rater_id, by_client.ratee_id, by_client.ratee_role, by_client.stars, by_client.comment) == (
        CLIENT, WORKER, "worker", 4, "Good")
    told = await contract_outbox(services, contract.id, message_key="notify.rated_by_other")
    assert [r["recipient_id"] for r in told] == [WORKER]

    by_worker = await services.reputation.rate(GUILD_ID, contract.id, rater_id=WORKER, stars=5)

    assert (by_worker.ratee_id, by_worker.ratee_role, by_worker.comment) == (CLIENT, "client", None)
    revealed = await contract_outbox(services, contract.id, message_key="notify.ratings_revealed")
    assert sorted(r["recipient_id"] for r in revealed) == [CLIENT, WORKER]
    rows = await services.db.fetchall("SELECT rater_id, stars FROM ratings ORDER BY rater_id")
    assert [(r["rater_id"], r["stars"]) for r in rows] == [(CLIENT, 4), (WORKER, 5)]


async def test_rating_twice_is_refused(services: Services, guild: Guild) -> None:
    contract = await completed_contract(services)
    await services.reputation.rate(GUILD_ID, contract.id, rater_id=CLIENT, stars=4)
    before = await snapshot(services)
    with pytest.raises(WrongState) as refused:
        await services.reputation.rate(GUILD_ID, contract.id, rater_id=CLIENT, stars=1, comment="changed my mind")
    assert refused.value.key == "error.rating.already"
    assert await snapshot(services) == before


async def test_a_late_rating_after_the_reveal_is_refused(services: Services, guild: Guild, clock: FakeClock) -> None:
    contract = await completed_contract(services)
    assert contract.closed_at is not None
    await services.reputation.rate(GUILD_ID, contract.id, rater_id=WORKER, stars=2)
    clock.set(contract.closed_at + timedelta(days=7))  # the worker's rating is revealed now
    before = await snapshot(services)

    with pytest.raises(WrongState) as refused:
        await services.reputation.rate(GUILD_ID, contract.id, rater_id=CLIENT, stars=1, comment="you too")

    assert refused.value.key == "error.rating_window.closed"
    assert refused.value.args_map == {"contract_id": contract.id,
                                      "revealed_at": to_iso(contract.closed_at + timedelta(days=7))}
    assert await snapshot(services) == before
    # the one who rated before the reveal still gets "already", not the window
    with pytest.raises(WrongState) as again:
        await services.reputation.rate(GUILD_ID, contract.id, rater_id=WORKER, stars=5)
    assert again.value.key == "error.rating.already"


async def test_the_rating_window_closes_with_the_reveal_even_if_nobody_rated(services: Services, guild: Guild,
                                                                             clock: FakeClock) -> None:
    await services.guilds.set_policy(GUILD_ID, "rating_reveal_after", "2d", actor_id=MODERATOR)
    contract = await completed_contract(services)
    assert contract.closed_at is not None
    clock.set(contract.closed_at + timedelta(days=2) - timedelta(seconds=1))
    await services.reputation.rate(GUILD_ID, contract.id, rater_id=CLIENT, stars=4)  # still in time

    clock.set(contract.closed_at + timedelta(days=2))
    with pytest.raises(WrongState) as refused:
        await services.reputation.rate(GUILD_ID, contract.id, rater_id=WORKER, stars=1)

    assert refused.value.key == "error.rating_window.closed"
    rows = await services.db.fetchall("SELECT rater_id FROM ratings WHERE contract_id = ?", (contract.id,))
    assert [r["rater_id"] for r in rows] == [CLIENT]


@pytest.mark.parametrize("stars", [0, 6, -1])
async def test_stars_outside_one_to_five_are_refused(services: Services, guild: Guild, stars: int) -> None:
    contract = await completed_contract(services)
    before = await snapshot(services)
    with pytest.raises(InvalidInput) as refused:
        await services.reputation.rate(GUILD_ID, contract.id, rater_id=CLIENT, stars=stars)
    assert refused.value.key == "error.rating.stars"
    assert await snapshot(services) == before


@pytest.mark.parametrize("stars", [1, 5])
async def test_stars_at_the_bounds_are_accepted(services: Services, guild: Guild, stars: int) -> None:
    contract = await completed_contract(services)
    rating = await services.reputation.rate(GUILD_ID, contract.id, rater_id=WORKER, stars=stars)
    assert rating.stars == stars


@pytest.mark.parametrize("rater", [OUTSIDER, MODERATOR])
async def test_only_parties_rate(services: Services, guild: Guild, rater: int) -> None:
    contract = await completed_contract(services)
    before = await snapshot(services)
    with pytest.raises(NotAllowed) as refused:
        await services.reputation.rate(GUILD_ID, contract.id, rater_id=rater, stars=3)
    assert refused.value.key == "error.contract.not_party"
    assert await snapshot(services) == before


@pytest.mark.parametrize("make", [hired_contract, funded_contract, delivered_contract])
async def test_rating_before_settlement_is_refused(services: Services, guild: Guild, make: object) -> None:
    contract = await make(services)  # type: ignore[operator]
    before = await snapshot(services)
    with pytest.raises(WrongState) as refused:
        await services.reputation.rate(GUILD_ID, contract.id, rater_id=CLIENT, stars=3)
    assert refused.value.key == "error.rating.not_settled"
    assert await snapshot(services) == before


async def test_rating_after_a_refund_or_split(services: Services, guild: Guild) -> None:
    refunded, case = await disputed_contract(services)
    await services.cases.act(GUILD_ID, case.id, moderator_id=MODERATOR, action="refund", reason="r")
    await services.reputation.rate(GUILD_ID, refunded.id, rater_id=WORKER, stars=1)
    split, case2 = await disputed_contract(services, worker_id=WORKER2)
    await services.cases.act(GUILD_ID, case2.id, moderator_id=MODERATOR, action="split", reason="r", percent=50)
    await services.reputation.rate(GUILD_ID, split.id, rater_id=CLIENT, stars=3)
    assert len(await services.db.fetchall("SELECT * FROM ratings")) == 2


async def test_comment_too_long_is_refused(services: Services, guild: Guild) -> None:
    contract = await completed_contract(services)
    with pytest.raises(InvalidInput) as refused:
        await services.reputation.rate(GUILD_ID, contract.id, rater_id=CLIENT, stars=3, comment="x" * 1001)
    assert refused.value.key == "error.text.too_long"
    assert await services.db.fetchall("SELECT * FROM ratings") == []


# -- blind ratings -------------------------------------------------------------------------------


async def visible(services: Services, contract_id: int, viewer: int) -> list[tuple[int, int]]:
    ratings = await services.reputation.visible_ratings(GUILD_ID, contract_id, viewer_id=viewer)
    return sorted((r.rater_id, r.stars) for r in ratings)


async def test_ratings_are_blind_until_both_have_rated(services: Services, guild: Guild) -> None:
    contract = await completed_contract(services)
    await services.reputation.rate(GUILD_ID, contract.id, rater_id=CLIENT, stars=2)

    assert await visible(services, contract.id, CLIENT) == [(CLIENT, 2)]  # one's own, always
    assert await visible(services, contract.id, WORKER) == []
    assert await visible(services, contract.id, OUTSIDER) == []
    # the worker's figures do not show it yet either
    assert (await services.reputation.worker_figures(GUILD_ID, WORKER)).average_rating is None

    await services.reputation.rate(GUILD_ID, contract.id, rater_id=WORKER, stars=5)

    for viewer in (CLIENT, WORKER, OUTSIDER):
        assert await visible(services, contract.id, viewer) == [(CLIENT, 2), (WORKER, 5)]
    assert (await services.reputation.worker_figures(GUILD_ID, WORKER)).average_rating == 2.0
    assert (await services.reputation.client_figures(GUILD_ID, CLIENT)).average_rating == 5.0


async def test_a_lone_rating_is_revealed_after_the_reveal_delay(services: Services, guild: Guild,
                                                                clock: FakeClock) -> None:
    contract = await completed_contract(services)
    assert contract.closed_at is not None
    clock.advance(days=3)
    await services.reputation.rate(GUILD_ID, contract.id, rater_id=WORKER, stars=3)

    clock.set(contract.closed_at + timedelta(days=7) - timedelta(seconds=1))
    assert await visible(services, contract.id, CLIENT) == []
    assert (await services.reputation.client_figures(GUILD_ID, CLIENT)).ratings == 0

    clock.set(contract.closed_at + timedelta(days=7))
    assert await visible(services, contract.id, CLIENT) == [(WORKER, 3)]
    assert await visible(services, contract.id, OUTSIDER) == [(WORKER, 3)]
    figures = await services.reputation.client_figures(GUILD_ID, CLIENT)
    assert (figures.average_rating, figures.ratings) == (3.0, 1)


async def test_reveal_delay_is_a_guild_policy(services: Services, guild: Guild, clock: FakeClock) -> None:
    await services.guilds.set_policy(GUILD_ID, "rating_reveal_after", "1d", actor_id=MODERATOR)
    contract = await completed_contract(services)
    await services.reputation.rate(GUILD_ID, contract.id, rater_id=WORKER, stars=4)
    assert await visible(services, contract.id, CLIENT) == []
    clock.advance(days=1)
    assert await visible(services, contract.id, CLIENT) == [(WORKER, 4)]


# -- figures ------------------------------------------------------------------------------------


async def test_figures_of_a_newcomer(services: Services, guild: Guild) -> None:
    figures = await services.reputation.figures(GUILD_ID, OUTSIDER)
    assert figures.client.jobs_posted == 0
    assert (figures.client.completed, figures.client.cancelled, figures.client.escalations) == (0, 0, 0)
    assert figures.client.median_time_to_fund is None
    assert figures.client.median_time_to_review is None
    assert figures.client.average_rating is None
    assert (figures.worker.completed, figures.worker.on_time_rate, figures.worker.average_rating) == (0, None, None)


async def test_figures_from_a_scripted_history(services: Services, guild: Guild, clock: FakeClock) -> None:
    await no_cooldowns(services)
    t0 = clock.now()
    jobs = [await post_job(services, title=f"Job {name}") for name in "ABCDE"]  # E never hires
    other = await post_job(services, client_id=OUTSIDER, title="Someone else's job")
    c1 = await hired_contract(services, job=jobs[0], worker_id=WORKER)
    c2 = await hired_contract(services, job=jobs[1], worker_id=WORKER2)
    c3 = await hired_contract(services, job=jobs[2], worker_id=WORKER)
    c4 = await hired_contract(services, job=jobs[3], worker_id=WORKER2)
    c5 = await hired_contract(services, job=other, worker_id=WORKER)

    clock.set(t0 + timedelta(hours=2))
    await services.escrow.deposit(GUILD_ID, c1.id, actor_id=CLIENT)  # funded after 2h
    clock.set(t0 + timedelta(hours=5))
    await services.contracts.cancel(GUILD_ID, c3.id, actor_id=CLIENT, reason="Not needed any more.")  # 5h
    clock.set(t0 + timedelta(hours=10))
    await services.escrow.deposit(GUILD_ID, c2.id, actor_id=CLIENT)  # 10h
    await services.escrow.deposit(GUILD_ID, c5.id, actor_id=OUTSIDER)
    for contract in (c1, c2, c5):
        await services.escrow.confirm(GUILD_ID, contract.id, moderator_id=MODERATOR)  # due t0 + 7d10h

    clock.set(t0 + timedelta(days=1))
    c1 = await deliver(services, c1)  # on time
    clock.set(t0 + timedelta(days=1, hours=6))
    await services.deliveries.approve(GUILD_ID, c1.id, actor_id=CLIENT)  # reviewed after 6h
    # rated within the rating window (a rating after the reveal would be refused)
    await services.reputation.rate(GUILD_ID, c1.id, rater_id=WORKER, stars=5)
    await services.reputation.rate(GUILD_ID, c1.id, rater_id=CLIENT, stars=4)

    clock.set(t0 + timedelta(days=8))
    c2 = await deliver(services, c2)  # late
    c5 = await deliver(services, c5)  # late
    clock.set(t0 + timedelta(days=8, hours=2))
    await revised(services, c2, "Darker.")  # 2h
    clock.set(t0 + timedelta(days=8, hours=3))
    c2 = await deliver(services, c2)  # the second delivery does not change the on-time figure
    clock.set(t0 + timedelta(days=8, hours=7))
    await services.deliveries.approve(GUILD_ID, c2.id, actor_id=CLIENT)  # 4h
    case = await services.cases.dispute(GUILD_ID, c5.id, actor_id=OUTSIDER, reason="Late.")
    await services.cases.act(GUILD_ID, case.id, moderator_id=MODERATOR, action="refund", reason="Too late.")
    # c4: the client is still silent; the scheduler escalated it
    assert await services.cases.escalate(c4.id, reason_kind="escrow_unfunded", subject_id=CLIENT) is not None
    # a report against the client is not an escalation
    await services.cases.report(GUILD_ID, reporter_id=WORKER2, user_id=CLIENT, reason="Rude.")

    clock.set(t0 + timedelta(days=8, hours=8))
    await services.reputation.rate(GUILD_ID, c2.id, rater_id=WORKER2, stars=2)  # the client has not rated c2
    await services.reputation.rate(GUILD_ID, c5.id, rater_id=OUTSIDER, stars=2)  # nor the worker c5

    client = await services.reputation.client_figures(GUILD_ID, CLIENT)
    assert client.jobs_posted == 5
    assert (client.completed, client.cancelled, client.escalations) == (2, 1, 1)
    # 2h, 10h and c4's 8d8h still waiting (c3, cancelled before any deposit, is no funding time)
    assert client.median_time_to_fund == timedelta(hours=10)
    # reviews of 6h, 2h, 4h
    assert client.median_time_to_review == timedelta(hours=4)
    assert (client.average_rating, client.ratings) == (5.0, 1)

    worker = await services.reputation.worker_figures(GUILD_ID, WORKER)
    # c1 completed on time, c5 refunded after a late delivery, c3 cancelled (not counted)
    assert (worker.completed, worker.on_time_rate) == (1, 0.5)
    assert (worker.average_rating, worker.ratings) == (4.0, 1)
    worker2 = await services.reputation.worker_figures(GUILD_ID, WORKER2)
    assert (worker2.completed, worker2.on_time_rate, worker2.average_rating) == (1, 0.0, None)

    # a week later the lone ratings are revealed; c4's wait keeps growing but the median holds
    clock.set(t0 + timedelta(days=16))
    client = await services.reputation.client_figures(GUILD_ID, CLIENT)
    assert (client.average_rating, client.ratings) == (3.5, 2)
    assert client.median_time_to_fund == timedelta(hours=10)
    worker = await services.reputation.worker_figures(GUILD_ID, WORKER)
    assert (worker.average_rating, worker.ratings) == (3.0, 2)
    both = await services.reputation.figures(GUILD_ID, CLIENT)
    assert both.client == client


async def test_a_silent_client_counts_with_the_time_waited(services: Services, guild: Guild,
                                                           clock: FakeClock) -> None:
    contract = await hired_contract(services)
    clock.advance(days=2)
    assert (await services.reputation.client_figures(GUILD_ID, CLIENT)).median_time_to_fund == timedelta(days=2)
    clock.advance(days=1)
    assert (await services.reputation.client_figures(GUILD_ID, CLIENT)).median_time_to_fund == timedelta(days=3)
    await services.escrow.deposit(GUILD_ID, contract.id, actor_id=CLIENT)
    clock.advance(days=5)
    assert (await services.reputation.client_figures(GUILD_ID, CLIENT)).median_time_to_fund == timedelta(days=3)


async def test_a_delivery_waiting_for_review_counts_with_the_time_waited(services: Services, guild: Guild,
                                                                         clock: FakeClock) -> None:
    await delivered_contract(services)
    clock.advance(hours=30)
    assert (await services.reputation.client_figures(GUILD_ID, CLIENT)).median_time_to_review == timedelta(hours=30)


async def test_offers_never_accepted_do_not_count_as_funding(services: Services, guild: Guild) -> None:
    from tests.services.helpers import offered_contract

    offer = await offered_contract(services)
    await services.contracts.decline(GUILD_ID, offer.id, actor_id=WORKER)
    figures = await services.reputation.client_figures(GUILD_ID, CLIENT)
    assert figures.median_time_to_fund is None
    assert (figures.completed, figures.cancelled) == (0, 0)


async def test_client_figures_count_requirement_reverts(services: Services, guild: Guild) -> None:
    """A → B → A: the amendment back to version 1's scope and a revision asking for version 2's
    scope again both show in the client's figures."""
    contract = await funded_contract(services)
    first_scope = (await services.history.history(GUILD_ID, contract.id, viewer_id=CLIENT)).versions[0].scope
    to_b = await services.contracts.propose_amendment(GUILD_ID, contract.id, actor_id=CLIENT, reason="B instead",
                                                     scope="Version B of the logo")
    await services.contracts.answer_amendment(GUILD_ID, to_b.id, actor_id=WORKER, accept=True)
    back_to_a = await services.contracts.propose_amendment(GUILD_ID, contract.id, actor_id=CLIENT,
                                                          reason="A after all", scope=first_scope)
    assert back_to_a.reverts_to == 1
    await services.contracts.answer_amendment(GUILD_ID, back_to_a.id, actor_id=WORKER, accept=True)
    await deliver(services, await services.contracts.get(contract.id))  # type: ignore[arg-type]
    outcome = await services.deliveries.request_revision(GUILD_ID, contract.id, actor_id=CLIENT,
                                                         reason="Version B of the logo")
    assert outcome.request.reverts_to == 2

    figures = await services.reputation.client_figures(GUILD_ID, CLIENT)
    assert figures.reverts == 2
    assert (await services.reputation.client_figures(GUILD_ID, WORKER)).reverts == 0


async def test_recent_reviews_show_revealed_comments_only(services: Services, guild: Guild) -> None:
    contract = await completed_contract(services)
    await services.reputation.rate(GUILD_ID, contract.id, rater_id=CLIENT, stars=5, comment="Fast and careful.")
    # blind: the worker has not rated yet and the reveal period has not passed
    assert await services.reputation.recent_reviews(GUILD_ID, WORKER) == []
    await services.reputation.rate(GUILD_ID, contract.id, rater_id=WORKER, stars=4, comment="Clear brief.")
    [about_worker] = await services.reputation.recent_reviews(GUILD_ID, WORKER)
    assert (about_worker.contract_id, about_worker.as_role, about_worker.stars, about_worker.comment) == (
        contract.id, "worker", 5, "Fast and careful.")
    [about_client] = await services.reputation.recent_reviews(GUILD_ID, CLIENT)
    assert (about_client.as_role, about_client.stars, about_client.comment) == ("client", 4, "Clear brief.")


async def test_an_overdue_escalation_against_the_worker_is_not_a_client_escalation(
    services: Services, guild: Guild, clock: FakeClock
) -> None:
    contract = await funded_contract(services, deadline="7d")
    assert contract.due_at is not None
    clock.set(contract.due_at + timedelta(days=2))
    await services.timers.sweep(clock.now())
    (case,) = await services.cases.list(GUILD_ID, "open")
    assert (case.reason_kind, case.subject_id) == ("overdue", WORKER)
    assert (await services.reputation.client_figures(GUILD_ID, WORKER)).escalations == 0
    assert (await services.reputation.client_figures(GUILD_ID, CLIENT)).escalations == 0


async def test_a_client_escalation_counts_for_the_client(services: Services, guild: Guild, clock: FakeClock) -> None:
    contract = await hired_contract(services)
    clock.set(contract.clock_at + timedelta(days=3))
    await services.timers.sweep(clock.now())
    assert (await services.reputation.client_figures(GUILD_ID, CLIENT)).escalations == 1
    assert (await services.reputation.client_figures(GUILD_ID, WORKER)).escalations == 0


async def test_a_worker_who_never_delivered_by_the_deadline_is_not_on_time(
    services: Services, guild: Guild, clock: FakeClock
) -> None:
    await no_cooldowns(services)
    on_time = await completed_contract(services)
    assert on_time.status == "completed"
    for _ in range(2):
        never = await funded_contract(services, deadline="7d")
        assert never.due_at is not None
        # disputed once the deadline had passed (a case opened before it pauses the deadline)
        clock.set(never.due_at + timedelta(days=1))
        case = await services.cases.dispute(GUILD_ID, never.id, actor_id=CLIENT, reason="nothing arrived")
        await services.cases.act(GUILD_ID, case.id, moderator_id=MODERATOR, action="refund", reason="no delivery")
    figures = await services.reputation.worker_figures(GUILD_ID, WORKER)
    assert figures.on_time_rate == pytest.approx(1 / 3)


async def test_a_refund_before_the_deadline_without_delivery_does_not_count_either_way(
    services: Services, guild: Guild, clock: FakeClock
) -> None:
    await no_cooldowns(services)
    await completed_contract(services)
    _, case = await disputed_contract(services, deadline="7d", by="client", reason="changed plans")
    await services.cases.act(GUILD_ID, case.id, moderator_id=MODERATOR, action="refund", reason="early cancel")
    assert (await services.reputation.worker_figures(GUILD_ID, WORKER)).on_time_rate == 1.0


async def test_a_delivery_a_moderator_settled_is_not_a_review_time(services: Services, guild: Guild,
                                                                   clock: FakeClock) -> None:
    _, case = await disputed_contract(services, delivered=True, by="client", reason="not what we agreed")
    clock.advance(days=20)
    await services.cases.act(GUILD_ID, case.id, moderator_id=MODERATOR, action="refund", reason="decided")
    assert (await services.reputation.client_figures(GUILD_ID, CLIENT)).median_time_to_review is None


async def test_reverts_the_user_proposed_as_a_worker_are_not_client_figures(services: Services,
                                                                             guild: Guild) -> None:
    contract = await funded_contract(services)
    first_scope = (await services.history.history(GUILD_ID, contract.id, viewer_id=CLIENT)).versions[0].scope
    to_b = await services.contracts.propose_amendment(GUILD_ID, contract.id, actor_id=WORKER, reason="B",
                                                     scope="Version B of the logo")
    await services.contracts.answer_amendment(GUILD_ID, to_b.id, actor_id=CLIENT, accept=True)
    back = await services.contracts.propose_amendment(GUILD_ID, contract.id, actor_id=WORKER, reason="A",
                                                     scope=first_scope)
    assert back.reverts_to == 1
    assert (await services.reputation.client_figures(GUILD_ID, WORKER)).reverts == 0
    assert (await services.reputation.client_figures(GUILD_ID, CLIENT)).reverts == 0
