"""The job, application and contract state machines as pure transition tables.

Each table maps ``(state, action)`` to ``(new state, roles allowed)``. Anything not in
the table is refused. The services apply a transition with a guarded update
(``... WHERE status = <from>``) so a repeat or a race changes nothing.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum
from typing import TypeVar

K = TypeVar("K", bound=StrEnum)


class Role(StrEnum):
    CLIENT = "client"
    WORKER = "worker"
    MODERATOR = "moderator"
    SYSTEM = "system"
    OUTSIDER = "outsider"


class JobStatus(StrEnum):
    OPEN = "open"
    FILLED = "filled"
    CLOSED = "closed"


class ApplicationStatus(StrEnum):
    PENDING = "pending"
    OFFERED = "offered"
    HIRED = "hired"
    DECLINED = "declined"
    WITHDRAWN = "withdrawn"
    REJECTED = "rejected"


class ContractStatus(StrEnum):
    OFFERED = "offered"
    DECLINED = "declined"
    EXPIRED = "expired"
    WITHDRAWN = "withdrawn"
    AWAITING_FUNDING = "awaiting_funding"
    FUNDING_SUBMITTED = "funding_submitted"
    CANCELLED = "cancelled"
    ACTIVE = "active"
    DELIVERED = "delivered"
    DISPUTED = "disputed"
    COMPLETED = "completed"
    REFUNDED = "refunded"
    SPLIT = "split"


C, W, M, S = Role.CLIENT, Role.WORKER, Role.MODERATOR, Role.SYSTEM


@dataclass(frozen=True, slots=True)
class Transition:
    target: str
    roles: frozenset[Role]


def _t(target: str, *roles: Role) -> Transition:
    return Transition(target, frozenset(roles))


JOB_TRANSITIONS: dict[tuple[JobStatus, str], Transition] = {
    (JobStatus.OPEN, "fill"): _t(JobStatus.FILLED, S),
    (JobStatus.OPEN, "close"): _t(JobStatus.CLOSED, C, M),
    (JobStatus.FILLED, "close"): _t(JobStatus.CLOSED, C, M),
    # open for ``job_expires_after`` without being filled: the sweep closes it
    (JobStatus.OPEN, "expire"): _t(JobStatus.CLOSED, S),
    # A hire cancelled before funding frees its position again.
    (JobStatus.FILLED, "reopen"): _t(JobStatus.OPEN, S),
}

APPLICATION_TRANSITIONS: dict[tuple[ApplicationStatus, str], Transition] = {
    (ApplicationStatus.PENDING, "offer"): _t(ApplicationStatus.OFFERED, C),
    (ApplicationStatus.PENDING, "withdraw"): _t(ApplicationStatus.WITHDRAWN, W),
    (ApplicationStatus.PENDING, "reject"): _t(ApplicationStatus.REJECTED, C, M, S),
    (ApplicationStatus.OFFERED, "hire"): _t(ApplicationStatus.HIRED, S),
    (ApplicationStatus.OFFERED, "decline"): _t(ApplicationStatus.DECLINED, S),
}

_CS = ContractStatus
CONTRACT_TRANSITIONS: dict[tuple[ContractStatus, str], Transition] = {
    (_CS.OFFERED, "accept"): _t(_CS.AWAITING_FUNDING, W),
    (_CS.OFFERED, "decline"): _t(_CS.DECLINED, W),
    (_CS.OFFERED, "expire"): _t(_CS.EXPIRED, S),
    (_CS.OFFERED, "withdraw"): _t(_CS.WITHDRAWN, C, S),
    (_CS.AWAITING_FUNDING, "cancel"): _t(_CS.CANCELLED, C, W),
    (_CS.AWAITING_FUNDING, "deposit"): _t(_CS.FUNDING_SUBMITTED, C),
    (_CS.AWAITING_FUNDING, "mod_cancel"): _t(_CS.CANCELLED, M),
    # never funded: ``unfunded_expires_after`` past the escrow escalation, the sweep cancels it
    (_CS.AWAITING_FUNDING, "expire_unfunded"): _t(_CS.CANCELLED, S),
    (_CS.FUNDING_SUBMITTED, "confirm"): _t(_CS.ACTIVE, M),
    (_CS.FUNDING_SUBMITTED, "mod_cancel"): _t(_CS.CANCELLED, M),
    (_CS.ACTIVE, "deliver"): _t(_CS.DELIVERED, W),
    (_CS.DELIVERED, "approve"): _t(_CS.COMPLETED, C, S),
    (_CS.DELIVERED, "revise"): _t(_CS.ACTIVE, C),
    # an extra revision (beyond those included) that the worker agreed to take on
    (_CS.DELIVERED, "accept_revision"): _t(_CS.ACTIVE, W),
    # the client accepted the amendment a revision request "outside the agreed scope" became
    (_CS.DELIVERED, "scope_revision"): _t(_CS.ACTIVE, C),
    (_CS.ACTIVE, "dispute"): _t(_CS.DISPUTED, C, W),
    (_CS.DELIVERED, "dispute"): _t(_CS.DISPUTED, C, W),
    (_CS.ACTIVE, "release"): _t(_CS.COMPLETED, M),
    (_CS.DELIVERED, "release"): _t(_CS.COMPLETED, M),
    (_CS.DISPUTED, "release"): _t(_CS.COMPLETED, M),
    (_CS.ACTIVE, "refund"): _t(_CS.REFUNDED, M),
    (_CS.DELIVERED, "refund"): _t(_CS.REFUNDED, M),
    (_CS.DISPUTED, "refund"): _t(_CS.REFUNDED, M),
    (_CS.ACTIVE, "split"): _t(_CS.SPLIT, M),
    (_CS.DELIVERED, "split"): _t(_CS.SPLIT, M),
    (_CS.DISPUTED, "split"): _t(_CS.SPLIT, M),
    # closing a dispute without a money decision returns the contract to where it was
    (_CS.DISPUTED, "resume_active"): _t(_CS.ACTIVE, M),
    (_CS.DISPUTED, "resume_delivered"): _t(_CS.DELIVERED, M),
}

OPEN_CONTRACT_STATES = frozenset(
    {_CS.OFFERED, _CS.AWAITING_FUNDING, _CS.FUNDING_SUBMITTED, _CS.ACTIVE, _CS.DELIVERED, _CS.DISPUTED}
)
FUNDED_STATES = frozenset({_CS.ACTIVE, _CS.DELIVERED, _CS.DISPUTED})
UNFUNDED_STATES = frozenset({_CS.AWAITING_FUNDING, _CS.FUNDING_SUBMITTED})
SETTLED_STATES = frozenset({_CS.COMPLETED, _CS.REFUNDED, _CS.SPLIT})


# What each party is expected to do next, per contract state (the /help "your next steps").
NEXT_STEPS: dict[tuple[ContractStatus, Role], str] = {
    (_CS.OFFERED, W): "answer_offer",
    (_CS.OFFERED, C): "wait_worker_answer",
    (_CS.AWAITING_FUNDING, C): "deposit",
    (_CS.AWAITING_FUNDING, W): "wait_deposit",
    (_CS.FUNDING_SUBMITTED, C): "wait_confirmation",
    (_CS.FUNDING_SUBMITTED, W): "wait_confirmation",
    (_CS.ACTIVE, W): "deliver",
    (_CS.ACTIVE, C): "wait_delivery",
    (_CS.DELIVERED, C): "review",
    (_CS.DELIVERED, W): "wait_review",
    (_CS.DISPUTED, C): "wait_moderator",
    (_CS.DISPUTED, W): "wait_moderator",
}


class TransitionRefused(Exception):
    """The action is not allowed from this state, or not for this role."""

    def __init__(self, state: str, action: str, role: Role, *, wrong_role: bool) -> None:
        super().__init__(f"{action} from {state} by {role}")
        self.state = state
        self.action = action
        self.role = role
        self.wrong_role = wrong_role


def next_state(
    table: dict[tuple[K, str], Transition], state: K, action: str, role: Role
) -> str:
    """The state after ``action`` by ``role``; raises TransitionRefused otherwise."""
    transition = table.get((state, action))
    if transition is None:
        raise TransitionRefused(state, action, role, wrong_role=False)
    if role not in transition.roles:
        raise TransitionRefused(state, action, role, wrong_role=True)
    return transition.target


def actions_from(table: dict[tuple[K, str], Transition], state: K) -> set[str]:
    return {action for (src, action) in table if src == state}
