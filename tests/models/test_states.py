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
