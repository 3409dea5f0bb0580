"""Every (state, action, role) of the three state machines, driven from the tables themselves."""

from __future__ import annotations

from enum import StrEnum
from typing import Any

import pytest

from bot.models.states import (
    APPLICATION_TRANSITIONS,
    CONTRACT_TRANSITIONS,
    FUNDED_STATES,
    JOB_TRANSITIONS,
    OPEN_CONTRACT_STATES,
    SETTLED_STATES,
    UNFUNDED_STATES,
    ApplicationStatus,
    ContractStatus,
    JobStatus,
    Role,
    Transition,
    TransitionRefused,
    actions_from,
    next_state,
)

TABLES: dict[str, tuple[dict[Any, Transition], type[StrEnum]]] = {
    "job": (JOB_TRANSITIONS, JobStatus),
    "application": (APPLICATION_TRANSITIONS, ApplicationStatus),
    "contract": (CONTRACT_TRANSITIONS, ContractStatus),
}

UNKNOWN_ACTIONS = ("", "explode", "APPROVE")


def _cases() -> list[Any]:
    cases = []
    for name, (table, states) in TABLES.items():
        actions = sorted({action for _, action in table}) + list(UNKNOWN_ACTIONS)
        for state in states:
            for action in actions:
                for role in Role:
                    cases.append(pytest.param(name, state, action, role, id=f"{name}-{state}-{action}-{role}"))
    return cases


@pytest.mark.parametrize(("name", "state", "action", "role"), _cases())
def test_every_state_action_role(name: str, state: StrEnum, action: str, role: Role) -> None:
    table, _ = TABLES[name]
    transition = table.get((state, action))
    if transition is not None and role in transition.roles:
        assert next_state(table, state, action, role) == transition.target
        return
    with pytest.raises(TransitionRefused) as refused:
        next_state(table, state, action, role)
    assert refused.value.wrong_role is (transition is not None)
    assert (refused.value.state, refused.value.action, refused.value.role) == (state, action, role)


@pytest.mark.parametrize("name", TABLES)
def test_targets_are_states_of_the_machine(name: str) -> None:
    table, states = TABLES[name]
    for (source, _), transition in table.items():
        assert source in set(states)
        assert transition.target in {s.value for s in states}
        assert transition.roles, f"{source} has a transition nobody may take"
        assert Role.OUTSIDER not in transition.roles


@pytest.mark.parametrize("name", TABLES)
def test_actions_from_lists_exactly_the_table(name: str) -> None:
    table, states = TABLES[name]
    for state in states:
        assert actions_from(table, state) == {action for (source, action) in table if source == state}


def test_terminal_contract_states_have_no_way_out() -> None:
    terminal = set(ContractStatus) - OPEN_CONTRACT_STATES
    assert terminal == SETTLED_STATES | {
        ContractStatus.DECLINED,
        ContractStatus.EXPIRED,
        ContractStatus.WITHDRAWN,
        ContractStatus.CANCELLED,
    }
    for state in terminal:
        assert actions_from(CONTRACT_TRANSITIONS, state) == set()


def test_state_groups() -> None:
    assert FUNDED_STATES <= OPEN_CONTRACT_STATES
    assert UNFUNDED_STATES <= OPEN_CONTRACT_STATES
    assert not FUNDED_STATES & UNFUNDED_STATES
    # money can only be settled from a funded contract
    for (source, _), transition in CONTRACT_TRANSITIONS.items():
        if transition.target in SETTLED_STATES:
            assert source in FUNDED_STATES


def test_second_approve_is_refused() -> None:
    after = next_state(CONTRACT_TRANSITIONS, ContractStatus.DELIVERED, "approve", Role.CLIENT)
    with pytest.raises(TransitionRefused) as refused:
        next_state(CONTRACT_TRANSITIONS, ContractStatus(after), "approve", Role.CLIENT)
    assert refused.value.wrong_role is False


def test_every_open_contract_state_has_a_next_step_for_both_parties() -> None:
    from bot.models.states import NEXT_STEPS, OPEN_CONTRACT_STATES

    for state in OPEN_CONTRACT_STATES:
        for role in (Role.CLIENT, Role.WORKER):
            assert (state, role) in NEXT_STEPS, (state, role)
    assert {state for state, _ in NEXT_STEPS} == set(OPEN_CONTRACT_STATES)


# -- the tables against the lifecycle diagram, written out independently ---------------------

_J, _A, _K = JobStatus, ApplicationStatus, ContractStatus
# Every arrow of the spec's diagram (docs/architecture.md, "The lifecycle"), as (from, to).
SPEC_EDGES = {
    "job": {(_J.OPEN, _J.FILLED), (_J.OPEN, _J.CLOSED)},
    "application": {
        (_A.PENDING, _A.OFFERED), (_A.OFFERED, _A.HIRED), (_A.OFFERED, _A.DECLINED),
        (_A.PENDING, _A.WITHDRAWN), (_A.PENDING, _A.REJECTED),
    },
    "contract": {
        (_K.OFFERED, _K.AWAITING_FUNDING), (_K.AWAITING_FUNDING, _K.FUNDING_SUBMITTED),
        (_K.FUNDING_SUBMITTED, _K.ACTIVE),
        (_K.OFFERED, _K.DECLINED), (_K.OFFERED, _K.EXPIRED), (_K.OFFERED, _K.WITHDRAWN),
        (_K.AWAITING_FUNDING, _K.CANCELLED),
        (_K.ACTIVE, _K.DELIVERED), (_K.DELIVERED, _K.COMPLETED), (_K.DELIVERED, _K.ACTIVE),
        (_K.ACTIVE, _K.DISPUTED), (_K.DELIVERED, _K.DISPUTED),
        (_K.DISPUTED, _K.COMPLETED), (_K.DISPUTED, _K.REFUNDED), (_K.DISPUTED, _K.SPLIT),
    },
}
# What the tables add to the diagram, each for a reason the spec gives elsewhere.
ADDED_EDGES = {
    "job": {
        (_J.FILLED, _J.CLOSED),  # a client or moderator closes a filled job (its post is archived)
        (_J.FILLED, _J.OPEN),  # a hire cancelled before funding frees its position again
    },
    "application": set(),
    "contract": {
        # a moderator settles an escalation case with one click (Cancel contract, Release,
        # Refund, Split) without the contract passing through "disputed"
        (_K.FUNDING_SUBMITTED, _K.CANCELLED),
        (_K.ACTIVE, _K.COMPLETED), (_K.ACTIVE, _K.REFUNDED), (_K.ACTIVE, _K.SPLIT),
        (_K.DELIVERED, _K.REFUNDED), (_K.DELIVERED, _K.SPLIT),
        # Close case on a dispute: the contract continues where it was
        (_K.DISPUTED, _K.ACTIVE), (_K.DISPUTED, _K.DELIVERED),
    },
}


@pytest.mark.parametrize("name", TABLES)
def test_the_tables_have_exactly_the_spec_arrows_and_the_listed_additions(name: str) -> None:
    table, _ = TABLES[name]
    edges = {(source, transition.target) for (source, _), transition in table.items()}
    assert SPEC_EDGES[name] <= edges, f"missing from the table: {SPEC_EDGES[name] - edges}"
    assert edges <= SPEC_EDGES[name] | ADDED_EDGES[name], f"not in the spec: {edges - SPEC_EDGES[name]}"


@pytest.mark.parametrize(
    ("state", "action", "roles"),
    [
        (_K.OFFERED, "accept", {Role.WORKER}),
        (_K.OFFERED, "decline", {Role.WORKER}),
        (_K.AWAITING_FUNDING, "deposit", {Role.CLIENT}),
        (_K.AWAITING_FUNDING, "cancel", {Role.CLIENT, Role.WORKER}),  # "cancel (either party, no money moved)"
        (_K.FUNDING_SUBMITTED, "confirm", {Role.MODERATOR}),
        (_K.ACTIVE, "deliver", {Role.WORKER}),
        (_K.DELIVERED, "approve", {Role.CLIENT, Role.SYSTEM}),  # the client, or auto-approval
        (_K.DELIVERED, "revise", {Role.CLIENT}),
        (_K.ACTIVE, "dispute", {Role.CLIENT, Role.WORKER}),
        (_K.DISPUTED, "release", {Role.MODERATOR}),
        (_K.DISPUTED, "refund", {Role.MODERATOR}),
        (_K.DISPUTED, "split", {Role.MODERATOR}),
    ],
)
def test_who_may_take_each_step_of_the_spec(state: ContractStatus, action: str, roles: set[Role]) -> None:
    assert CONTRACT_TRANSITIONS[(state, action)].roles == roles
