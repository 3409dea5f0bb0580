"""A hypothesis state machine that drives random actions by random actors through the real
services on a real SQLite file, and checks the money and state invariants after every step.

Refusals (MarketError) are expected and fine; anything else, or a broken invariant, fails.
Each example gets a fresh database in its own temporary directory and its own event loop.
"""

from __future__ import annotations

import asyncio
import shutil
import tempfile
from collections import Counter
from collections.abc import Coroutine
from datetime import timedelta
from pathlib import Path
from typing import Any, TypeVar

from hypothesis import HealthCheck, settings
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, invariant, precondition, rule

from bot.clock import FakeClock
from bot.config import Settings
from bot.db import Database
from bot.errors import MarketError
from bot.models.entities import Contract
from bot.models.money import fee_split
from bot.models.states import CONTRACT_TRANSITIONS, SETTLED_STATES, ContractStatus
from bot.services.container import Services
from bot.services.deliveries import IncomingFile
from tests.ids import CLIENT, GUILD_ID, MODERATOR, OUTSIDER, WORKER, WORKER2
from tests.invariants import ledger_violations
from tests.services.helpers import no_cooldowns, setup_guild

T = TypeVar("T")
_CS = ContractStatus

USERS = (CLIENT, WORKER, WORKER2, MODERATOR, OUTSIDER)
# who acts on a contract: mostly the party the action is meant for ("party"), sometimes one of its
# parties or a fixed user (who may also be a party)
WHO = st.sampled_from(["party"] * 6 + ["client", "worker", "moderator", "outsider", "worker2"])
MODS = st.sampled_from([MODERATOR, MODERATOR, MODERATOR, OUTSIDER, CLIENT])
INDEX = st.integers(min_value=0, max_value=1000)

# statuses from which no transition leads anywhere
TERMINAL = frozenset({_CS.DECLINED, _CS.EXPIRED, _CS.WITHDRAWN, _CS.CANCELLED, *SETTLED_STATES})
# statuses a contract can only have before any deposit was confirmed
NEVER_FUNDED = frozenset({_CS.OFFERED, _CS.DECLINED, _CS.EXPIRED, _CS.WITHDRAWN, _CS.AWAITING_FUNDING,
                          _CS.FUNDING_SUBMITTED, _CS.CANCELLED})


def _reachable() -> dict[str, set[str]]:
    edges: dict[str, set[str]] = {}
    for (source, _action), transition in CONTRACT_TRANSITIONS.items():
        edges.setdefault(source, set()).add(transition.target)
    closure: dict[str, set[str]] = {}
    for start in ContractStatus:
        seen: set[str] = set()
        frontier = list(edges.get(start, ()))
        while frontier:
            state = frontier.pop()
            if state not in seen:
                seen.add(state)
                frontier.extend(edges.get(state, ()))
        closure[start] = seen
    return closure


REACHABLE = _reachable()


class Market(RuleBasedStateMachine):
    def __init__(self) -> None:
        super().__init__()
        self.loop = asyncio.new_event_loop()
        self.dir = Path(tempfile.mkdtemp(prefix="crowdwork-stateful-"))
        self.clock = FakeClock()
        self.db = Database(self.dir / "bot.db")
        self.services = Services.build(self.db, self.clock, Settings(files_dir=self.dir / "files"))
        self.run(self._start())
        self.jobs: list[int] = []
        self.contracts: list[int] = []
        self.cases: list[int] = []
        self.revisions: list[int] = []
        self.amendments: list[int] = []
        self.seen: dict[int, str] = {}
        self.refusals: Counter[str] = Counter()

    async def _start(self) -> None:
        await self.db.connect()
        await self.db.migrate()
        await setup_guild(self.services)
        await no_cooldowns(self.services)

    def teardown(self) -> None:
        try:
            self.run(self.db.close())
        finally:
            self.loop.close()
            shutil.rmtree(self.dir, ignore_errors=True)

    # -- plumbing -----------------------------------------------------------------------------

    def run(self, coro: Coroutine[Any, Any, T]) -> T:
        return self.loop.run_until_complete(coro)

    def attempt(self, coro: Coroutine[Any, Any, T]) -> T | None:
        try:
            return self.run(coro)
        except MarketError as refused:
            self.refusals[f"{type(refused).__name__}:{refused.key}"] += 1
            return None

    def contract(self, index: int) -> Contract:
        """Mostly a contract still open (so that the walk gets somewhere), sometimes any."""
        ids = self.contracts
        if index % 5:
            rows = self.run(self.db.fetchall(
                "SELECT id FROM contracts WHERE status NOT IN ('declined', 'expired', 'withdrawn', 'cancelled',"
                " 'completed', 'refunded', 'split') ORDER BY id"))
            ids = [row["id"] for row in rows] or ids
        found = self.run(self.services.contracts.get(ids[(index // 5) % len(ids)]))
        assert found is not None
        return found

    @staticmethod
    def actor(contract: Contract, who: str, party: str = "client") -> int:
        if who == "party":
            who = party
        return {
            "client": contract.client_id,
            "worker": contract.worker_id,
            "moderator": MODERATOR,
            "outsider": OUTSIDER,
            "worker2": WORKER2,
        }[who]

    # -- jobs and offers ------------------------------------------------------------------------

    @rule(client=st.sampled_from([CLIENT, CLIENT, WORKER, MODERATOR]), budget=st.integers(1000, 100000),
          positions=st.integers(1, 2))
    def post(self, client: int, budget: int, positions: int) -> None:
        job = self.attempt(self.services.jobs.post(GUILD_ID, client, title="Job", description="Do it",
                                                   budget=budget, deadline="5d", positions=positions))
        if job is not None:
            self.jobs.append(job.id)

    @precondition(lambda self: self.jobs)
    @rule(index=INDEX, worker=st.sampled_from(USERS), price=st.integers(500, 120000),
          days=st.one_of(st.none(), st.integers(1, 30)))
    def apply(self, index: int, worker: int, price: int, days: int | None) -> None:
        job_id = self.jobs[index % len(self.jobs)]
        self.attempt(self.services.jobs.apply(GUILD_ID, job_id, worker, proposal="Me", price=price, days=days))

    @rule(index=INDEX, as_client=st.sampled_from([True, True, True, False]),
          price=st.one_of(st.none(), st.integers(500, 120000)),
          deadline=st.sampled_from([None, "2d", "10d", "date"]), revisions=st.sampled_from([None, 0, 1]))
    def offer(self, index: int, as_client: bool, price: int | None, deadline: str | None,
              revisions: int | None) -> None:
        pending = self.run(self.db.fetchall(
            "SELECT a.job_id, a.worker_id, j.client_id FROM applications a JOIN jobs j ON j.id = a.job_id"
            " WHERE a.status = 'pending' ORDER BY a.id"))
        if not pending:
            return
        application = pending[index % len(pending)]
        client = application["client_id"] if as_client else OUTSIDER
        if deadline == "date":
            deadline = (self.clock.now().date() + timedelta(days=6)).isoformat()
        view = self.attempt(self.services.contracts.offer(GUILD_ID, client, application["job_id"],
                                                          application["worker_id"], price=price,
                                                          deadline=deadline, revisions=revisions))
        if view is not None:
            self.contracts.append(view.contract.id)

    @rule(client=st.sampled_from([CLIENT, CLIENT, WORKER, MODERATOR]),
          worker=st.sampled_from([WORKER, WORKER, WORKER2, MODERATOR]), price=st.integers(1000, 100000),
          revisions=st.sampled_from([None, 0, 1]), deadline=st.sampled_from(["3d", "date"]),
          positions=st.integers(1, 2), stage=st.integers(0, 3))
    def hire(self, client: int, worker: int, price: int, revisions: int | None, deadline: str,
             positions: int, stage: int) -> None:
        """Post, apply, offer, accept and (by ``stage``) deposit, confirm and deliver in one step:
        the walk reaches funded work sooner."""
        if deadline == "date":
            deadline = (self.clock.now().date() + timedelta(days=8)).isoformat()
        job = self.attempt(self.services.jobs.post(GUILD_ID, client, title="Job", description="Do it",
                                                   budget=price, deadline=deadline, positions=positions))
        if job is None:
            return
        self.jobs.append(job.id)
        if self.attempt(self.services.jobs.apply(GUILD_ID, job.id, worker, proposal="Me", price=price)) is None:
            return
        view = self.attempt(self.services.contracts.offer(GUILD_ID, client, job.id, worker, revisions=revisions))
        if view is None:
            return
        self.contracts.append(view.contract.id)
        self.attempt(self.services.contracts.accept(GUILD_ID, view.contract.id, actor_id=worker))
        for _ in range(stage):
            self._progress(0, 0, 0, view.contract.id)

    @precondition(lambda self: self.contracts)
    @rule(index=INDEX, who=WHO, answer=st.sampled_from(["accept", "accept", "decline", "withdraw"]))
    def answer_offer(self, index: int, who: str, answer: str) -> None:
        contract = self.contract(index)
        actor = self.actor(contract, who, "client" if answer == "withdraw" else "worker")
        if answer == "accept":
            self.attempt(self.services.contracts.accept(GUILD_ID, contract.id, actor_id=actor))
        elif answer == "decline":
            self.attempt(self.services.contracts.decline(GUILD_ID, contract.id, actor_id=actor, reason="no"))
        else:
            self.attempt(self.services.contracts.withdraw(GUILD_ID, contract.id, actor_id=actor))

    @precondition(lambda self: self.contracts)
    @rule(index=INDEX, choice=st.integers(0, 3), percent=st.integers(0, 100), steps=st.integers(1, 3))
    def progress(self, index: int, choice: int, percent: int, steps: int) -> None:
        """The natural next steps of a contract, by the right people: the walk gets to the end."""
        for _ in range(steps):
            self._progress(index, choice, percent, None)

    def _progress(self, index: int, choice: int, percent: int, pick: int | None) -> None:
        if pick is not None:
            picked = self.run(self.services.contracts.get(pick))
            assert picked is not None
            contract = picked
        else:
            contract = self.contract(index)
        s, cid = self.services, contract.id
        moderator = OUTSIDER if MODERATOR in {contract.client_id, contract.worker_id} else MODERATOR
        if contract.status == _CS.OFFERED:
            self.attempt(s.contracts.accept(GUILD_ID, cid, actor_id=contract.worker_id))
        elif contract.status == _CS.AWAITING_FUNDING or (contract.topup_due and choice == 0):
            self.attempt(s.escrow.deposit(GUILD_ID, cid, actor_id=contract.client_id))
        elif contract.status == _CS.FUNDING_SUBMITTED or (choice == 1 and self.run(self.db.fetchone(
                "SELECT 1 FROM deposits WHERE contract_id = ? AND status = 'declared'", (cid,)))):
            self.attempt(s.escrow.confirm(GUILD_ID, cid, moderator_id=moderator))
        elif contract.status == _CS.ACTIVE:
            self.attempt(s.deliveries.deliver(GUILD_ID, cid, actor_id=contract.worker_id,
                                              files=[IncomingFile("work.txt", f"work {choice}".encode())]))
        elif contract.status == _CS.DELIVERED:
            if choice == 3:
                outcome = self.attempt(s.deliveries.request_revision(GUILD_ID, cid, actor_id=contract.client_id,
                                                                     reason="More"))
                if outcome is not None and not outcome.included:
                    self.revisions.append(outcome.request.id)
            else:
                self.attempt(s.deliveries.approve(GUILD_ID, cid, actor_id=contract.client_id))
        elif contract.status == _CS.DISPUTED:
            case = self.run(self.db.fetchone(
                "SELECT id FROM cases WHERE contract_id = ? AND status = 'open' ORDER BY id", (cid,)))
            if case is not None:
                action = ("release", "refund", "split", "close")[choice]
                self.attempt(s.cases.act(GUILD_ID, case["id"], moderator_id=moderator, action=action,
                                         reason="decided", percent=percent))

    # -- escrow ---------------------------------------------------------------------------------

    @precondition(lambda self: self.contracts)
    @rule(index=INDEX, who=WHO)
    def deposit(self, index: int, who: str) -> None:
        contract = self.contract(index)
        self.attempt(self.services.escrow.deposit(GUILD_ID, contract.id, actor_id=self.actor(contract, who),
                                                  reference="ref"))

    @precondition(lambda self: self.contracts)
    @rule(index=INDEX, moderator=MODS)
    def confirm(self, index: int, moderator: int) -> None:
        contract = self.contract(index)
        self.attempt(self.services.escrow.confirm(GUILD_ID, contract.id, moderator_id=moderator))

    @rule(moderator=MODS, user=st.sampled_from(USERS), owed_user=st.booleans(), amount=st.integers(1, 80000))
    def payout(self, moderator: int, user: int, owed_user: bool, amount: int) -> None:
        if owed_user:
            owed = self.run(self.db.fetchall(
                "SELECT account, SUM(amount) AS total FROM ledger_entries WHERE account LIKE 'owed:%'"
                " OR account LIKE 'refund:%' GROUP BY account HAVING SUM(amount) > 0 ORDER BY account"))
            if owed:
                chosen = owed[amount % len(owed)]
                user = int(chosen["account"].split(":")[1])
                amount = min(amount, int(chosen["total"]) + 1)
        self.attempt(self.services.escrow.record_payout(GUILD_ID, moderator_id=moderator, user_id=user,
                                                        amount=amount, reference="bank"))

    # -- work and review ------------------------------------------------------------------------

    @precondition(lambda self: self.contracts)
    @rule(index=INDEX, who=WHO, content=st.integers(0, 3))
    def deliver(self, index: int, who: str, content: int) -> None:
        contract = self.contract(index)
        files = [IncomingFile(f"f{content}.txt", f"content {content}".encode())]
        actor = self.actor(contract, who, "worker")
        self.attempt(self.services.deliveries.deliver(GUILD_ID, contract.id, actor_id=actor, files=files))

    @precondition(lambda self: self.contracts)
    @rule(index=INDEX, who=WHO)
    def approve(self, index: int, who: str) -> None:
        contract = self.contract(index)
        self.attempt(self.services.deliveries.approve(GUILD_ID, contract.id, actor_id=self.actor(contract, who)))

    @precondition(lambda self: self.contracts)
    @rule(index=INDEX)
    def auto_approve(self, index: int) -> None:
        contract = self.contract(index)
        self.attempt(self.services.deliveries.auto_approve(contract.id))

    @precondition(lambda self: self.contracts)
    @rule(index=INDEX, who=WHO)
    def revise(self, index: int, who: str) -> None:
        contract = self.contract(index)
        outcome = self.attempt(self.services.deliveries.request_revision(
            GUILD_ID, contract.id, actor_id=self.actor(contract, who), reason="Again"))
        if outcome is not None and not outcome.included:
            self.revisions.append(outcome.request.id)

    @precondition(lambda self: self.revisions)
    @rule(index=INDEX, who=WHO, accept=st.booleans())
    def answer_revision(self, index: int, who: str, accept: bool) -> None:
        revision_id = self.revisions[index % len(self.revisions)]
        row = self.run(self.db.fetchone("SELECT contract_id FROM revision_requests WHERE id = ?", (revision_id,)))
        assert row is not None
        contract = self.run(self.services.contracts.get(row["contract_id"]))
        assert contract is not None
        self.attempt(self.services.deliveries.answer_extra_revision(
            GUILD_ID, revision_id, actor_id=self.actor(contract, who, "worker"), accept=accept))

    # -- amendments -----------------------------------------------------------------------------

    @precondition(lambda self: self.contracts)
    @rule(index=INDEX, who=WHO, by_worker=st.booleans(), price=st.one_of(st.none(), st.integers(500, 120000)),
          scope=st.sampled_from([None, "Scope A", "Scope B"]), deadline=st.sampled_from([None, "3d", "12d"]))
    def amend(self, index: int, who: str, by_worker: bool, price: int | None, scope: str | None,
              deadline: str | None) -> None:
        contract = self.contract(index)
        actor = self.actor(contract, who, "worker" if by_worker else "client")
        amendment = self.attempt(self.services.contracts.propose_amendment(
            GUILD_ID, contract.id, actor_id=actor, reason="change", scope=scope, price=price,
            deadline=deadline))
        if amendment is not None:
            self.amendments.append(amendment.id)

    @precondition(lambda self: self.amendments)
    @rule(index=INDEX, who=WHO, accept=st.booleans())
    def answer_amendment(self, index: int, who: str, accept: bool) -> None:
        amendment_id = self.amendments[index % len(self.amendments)]
        row_contract = self.run(self.db.fetchone("SELECT contract_id FROM amendments WHERE id = ?", (amendment_id,)))
        assert row_contract is not None
        row = self.run(self.db.fetchone(
            "SELECT a.proposed_by, c.client_id, c.worker_id FROM amendments a JOIN contracts c"
            " ON c.id = a.contract_id WHERE a.id = ?", (amendment_id,)))
        assert row is not None
        other = row["worker_id"] if row["proposed_by"] == row["client_id"] else row["client_id"]
        contract = self.run(self.services.contracts.get(row_contract["contract_id"]))
        assert contract is not None
        actor = other if who == "party" else self.actor(contract, who)
        self.attempt(self.services.contracts.answer_amendment(GUILD_ID, amendment_id, actor_id=actor, accept=accept))

    # -- cancel, disputes, cases ---------------------------------------------------------------

    @precondition(lambda self: self.contracts)
    @rule(index=INDEX, who=WHO, by_worker=st.booleans())
    def cancel(self, index: int, who: str, by_worker: bool) -> None:
        contract = self.contract(index)
        actor = self.actor(contract, who, "worker" if by_worker else "client")
        outcome = self.attempt(self.services.cases.cancel(GUILD_ID, contract.id, actor_id=actor,
                                                          reason="stop"))
        if outcome is not None and outcome.case is not None:
            self.cases.append(outcome.case.id)

    @precondition(lambda self: self.contracts)
    @rule(index=INDEX, who=WHO, by_worker=st.booleans())
    def dispute(self, index: int, who: str, by_worker: bool) -> None:
        contract = self.contract(index)
        actor = self.actor(contract, who, "worker" if by_worker else "client")
        case = self.attempt(self.services.cases.dispute(GUILD_ID, contract.id, actor_id=actor,
                                                        reason="unhappy"))
        if case is not None:
            self.cases.append(case.id)

    @precondition(lambda self: self.contracts)
    @rule(index=INDEX, kind=st.sampled_from(["escrow_unfunded", "overdue", "reply_silent"]))
    def escalate(self, index: int, kind: str) -> None:
        """What the scheduler does, in the states where it does it."""
        contract = self.contract(index)
        waiting = {"escrow_unfunded": {_CS.AWAITING_FUNDING}, "overdue": {_CS.ACTIVE},
                   "reply_silent": {_CS.AWAITING_FUNDING, _CS.FUNDING_SUBMITTED, _CS.ACTIVE, _CS.DELIVERED}}
        if contract.status not in waiting[kind]:
            return
        subject = contract.worker_id if kind == "overdue" else contract.client_id
        case = self.attempt(self.services.cases.escalate(contract.id, reason_kind=kind, subject_id=subject))
        if case is not None:
            self.cases.append(case.id)

    @rule(reporter=st.sampled_from(USERS), user=st.sampled_from(USERS))
    def report(self, reporter: int, user: int) -> None:
        case = self.attempt(self.services.cases.report(GUILD_ID, reporter_id=reporter, user_id=user, reason="bad"))
        if case is not None:
            self.cases.append(case.id)

    @precondition(lambda self: self.cases)
    @rule(index=INDEX, moderator=MODS,
          action=st.sampled_from(["nudge", "extend", "cancel", "release", "refund", "split", "close"]),
          percent=st.integers(0, 100), with_reason=st.booleans())
    def act(self, index: int, moderator: int, action: str, percent: int, with_reason: bool) -> None:
        case_id = self.cases[index % len(self.cases)]
        self.attempt(self.services.cases.act(GUILD_ID, case_id, moderator_id=moderator, action=action,
                                             reason="because" if with_reason else None, percent=percent,
                                             extend="1d"))

    # -- time -----------------------------------------------------------------------------------

    @rule(hours=st.integers(1, 200))
    def time_passes(self, hours: int) -> None:
        self.clock.advance(hours=hours)
        report = self.run(self.services.timers.sweep())
        assert report.contracts >= 0

    @precondition(lambda self: self.contracts)
    @rule(index=INDEX, who=WHO, by_worker=st.booleans(), stars=st.integers(0, 6))
    def rate(self, index: int, who: str, by_worker: bool, stars: int) -> None:
        # any contract: ratings need settled ones, which self.contract() mostly skips
        contract = self.run(self.services.contracts.get(self.contracts[index % len(self.contracts)]))
        assert contract is not None
        actor = self.actor(contract, who, "worker" if by_worker else "client")
        self.attempt(self.services.reputation.rate(GUILD_ID, contract.id, rater_id=actor,
                                                   stars=stars))

    # -- invariants -----------------------------------------------------------------------------

    @invariant()
    def ledger_is_sound(self) -> None:
        problems = self.run(ledger_violations(self.db))
        assert not problems, problems

    @invariant()
    def contracts_are_consistent(self) -> None:
        rows = self.run(self.db.fetchall(
            "SELECT c.id, c.status, c.worker_id, c.job_id, c.accepted_at,"
            " (SELECT COALESCE(SUM(amount), 0) FROM ledger_entries WHERE account = 'escrow:' || c.id) AS held,"
            " (SELECT COALESCE(SUM(amount), 0) FROM deposits d WHERE d.contract_id = c.id"
            "  AND d.status = 'confirmed') AS confirmed,"
            " (SELECT price FROM contract_terms t WHERE t.contract_id = c.id AND t.version = c.terms_version)"
            "  AS price,"
            " (SELECT fee_percent FROM contract_terms t WHERE t.contract_id = c.id AND t.version = c.terms_version)"
            "  AS fee_percent"
            " FROM contracts c"))
        for row in rows:
            cid, status = row["id"], row["status"]
            assert status in set(ContractStatus), (cid, status)
            previous = self.seen.get(cid)
            if previous is not None and previous != status:
                assert previous not in TERMINAL, f"contract {cid} left {previous} for {status}"
                assert status in REACHABLE[previous], f"contract {cid}: {previous} -> {status}"
            self.seen[cid] = status
            held, confirmed = row["held"], row["confirmed"]
            assert held >= 0, (cid, held)
            if status in SETTLED_STATES:
                assert held == 0, f"settled contract {cid} still holds {held}"
            else:
                # nothing leaves escrow before settlement, nothing enters it unconfirmed
                assert held == confirmed, f"contract {cid} ({status}) holds {held}, confirmed {confirmed}"
            if status in NEVER_FUNDED:
                assert confirmed == 0, f"contract {cid} ({status}) has confirmed deposits {confirmed}"
            if status == _CS.COMPLETED:
                owed = self.run(self.db.fetchone(
                    "SELECT COALESCE(SUM(e.amount), 0) FROM ledger_entries e JOIN ledger_transactions t"
                    " ON t.id = e.txn_id WHERE t.idempotency_key = ? AND e.account = ?",
                    (f"settle:{cid}", f"owed:{row['worker_id']}")))
                assert owed is not None
                settle_kind = self.run(self.db.fetchone(
                    "SELECT kind FROM ledger_transactions WHERE idempotency_key = ?", (f"settle:{cid}",)))
                assert settle_kind is not None and settle_kind["kind"] == "release", cid
                assert owed[0] == fee_split(row["price"], row["fee_percent"])[1], (cid, owed[0], row["price"])
            if status in SETTLED_STATES:
                settled = self.run(self.db.fetchall(
                    "SELECT id FROM ledger_transactions WHERE contract_id = ? AND kind IN ('release', 'refund',"
                    " 'split')", (cid,)))
                assert len(settled) == 1, f"contract {cid} settled {len(settled)} times"

    @invariant()
    def positions_match_hires(self) -> None:
        rows = self.run(self.db.fetchall(
            "SELECT j.id, j.status, j.positions, j.filled, (SELECT COUNT(*) FROM contracts c WHERE c.job_id = j.id"
            " AND c.accepted_at IS NOT NULL AND c.status <> 'cancelled') AS hired FROM jobs j"))
        for row in rows:
            assert row["filled"] == row["hired"], dict(row)
            assert row["filled"] <= row["positions"], dict(row)
            if row["status"] == "filled":
                assert row["filled"] == row["positions"], dict(row)

    @invariant()
    def open_cases_fit_their_contracts(self) -> None:
        rows = self.run(self.db.fetchall(
            "SELECT c.id, c.status,"
            " (SELECT COUNT(*) FROM cases k WHERE k.contract_id = c.id AND k.status = 'open'"
            "  AND k.kind = 'dispute') AS disputes,"
            " (SELECT COUNT(*) FROM cases k WHERE k.contract_id = c.id AND k.status = 'open') AS open_cases,"
            " (SELECT COUNT(*) FROM deposits d WHERE d.contract_id = c.id AND d.status = 'declared') AS declared"
            " FROM contracts c"))
        for row in rows:
            cid, status = row["id"], row["status"]
            if status == _CS.DISPUTED:
                assert row["disputes"] >= 1, f"contract {cid} is disputed without an open dispute case"
            if status in TERMINAL:
                # nothing left for the moderators to decide or confirm on an ended contract
                assert row["open_cases"] == 0, f"contract {cid} ({status}) has {row['open_cases']} open cases"
                assert row["declared"] == 0, f"contract {cid} ({status}) has a deposit waiting for confirmation"


Market.TestCase.settings = settings(
    max_examples=30,
    stateful_step_count=30,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much],
)
TestMarket = Market.TestCase
