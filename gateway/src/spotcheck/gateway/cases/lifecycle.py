"""The case lifecycle as data: which action may run in which state, and where it leads.

planned → purchased → sealed → sampling_notified → result_received → result_notified → [reinspection] → final
→ published → measures → closed. Actions that only record or request something (records requests, identity
requests, transfers) keep the state but are still limited to the states where the opinion makes them meaningful.
"""

from __future__ import annotations

from dataclasses import dataclass

# The states are stored on the case row, so their enum lives with the store's other statuses; it is re-exported
# here because the lifecycle is where callers look for it.
from spotcheck.gateway.store.statuses import CaseState

__all__ = [
    "ACTIONS",
    "Action",
    "CaseFacts",
    "CaseState",
    "IllegalTransitionError",
    "allowed_actions",
    "next_state",
    "possible_actions",
]


S = CaseState
_AFTER_NOTICE = frozenset(
    {S.SAMPLING_NOTIFIED, S.RESULT_RECEIVED, S.RESULT_NOTIFIED, S.REINSPECTION, S.FINAL, S.PUBLISHED, S.MEASURES}
)


@dataclass(frozen=True)
class Action:
    """One thing that can be done to a case: the states it may start from and the state it leads to.

    ``to`` is None for actions that keep the current state.
    """

    name: str
    sources: frozenset[CaseState]
    to: CaseState | None


ACTIONS: dict[str, Action] = {
    a.name: a
    for a in (
        Action("record_purchase", frozenset({S.PLANNED}), S.PURCHASED),
        Action("record_sealing", frozenset({S.PURCHASED}), S.SEALED),
        Action("send_sampling_notice", frozenset({S.SEALED}), S.SAMPLING_NOTIFIED),
        Action("request_records", _AFTER_NOTICE, None),
        Action("request_merchant_identity", _AFTER_NOTICE, None),
        Action("record_result", frozenset({S.SAMPLING_NOTIFIED}), S.RESULT_RECEIVED),
        Action("send_result_notices", frozenset({S.RESULT_RECEIVED}), S.RESULT_NOTIFIED),
        Action("apply_reinspection", frozenset({S.RESULT_NOTIFIED}), None),
        Action("waive_reinspection", frozenset({S.RESULT_NOTIFIED}), None),
        Action("decide_reinspection", frozenset({S.RESULT_NOTIFIED}), None),
        Action("record_reinspection_outcome", frozenset({S.REINSPECTION}), S.FINAL),
        Action("finalize", frozenset({S.RESULT_NOTIFIED}), S.FINAL),
        Action("publish", frozenset({S.FINAL}), S.PUBLISHED),
        Action(
            "order_stop_sale",
            frozenset({S.RESULT_RECEIVED, S.RESULT_NOTIFIED, S.FINAL, S.PUBLISHED, S.MEASURES}),
            S.MEASURES,
        ),
        Action(
            "notify_hazard_authority",
            frozenset({S.RESULT_RECEIVED, S.RESULT_NOTIFIED, S.REINSPECTION, S.FINAL, S.PUBLISHED, S.MEASURES}),
            None,
        ),
        Action("order_delisting", frozenset({S.PUBLISHED, S.MEASURES}), S.MEASURES),
        Action("order_takedown", frozenset({S.FINAL, S.PUBLISHED, S.MEASURES}), S.MEASURES),
        Action("refer_to_telecom", frozenset({S.FINAL, S.PUBLISHED, S.MEASURES}), S.MEASURES),
        Action("transfer_violation", _AFTER_NOTICE, None),
        Action("close", frozenset({S.PUBLISHED, S.MEASURES}), S.CLOSED),
    )
}
"""Every action by name."""


class IllegalTransitionError(Exception):
    """An action was asked for in a state that does not allow it; ``allowed`` lists what the state allows."""

    def __init__(self, action: str, state: CaseState, allowed: list[str]) -> None:
        super().__init__(
            f"cannot {action.replace('_', ' ')} in state {state.value}; allowed: {', '.join(allowed) or 'none'}"
        )
        self.action = action
        self.state = state
        self.allowed = allowed


def allowed_actions(state: CaseState) -> list[str]:
    """The actions a case in ``state`` allows, in lifecycle order."""
    return [name for name, action in ACTIONS.items() if state in action.sources]


@dataclass(frozen=True)
class CaseFacts:
    """What decides, beyond the state, whether an action can succeed for one case."""

    state: CaseState
    has_platform: bool
    has_manufacturer: bool
    failing: bool
    hazardous: bool
    listable: bool
    """Hazardous and failing a mandatory standard: the stop-sale list (四(二))."""
    merchant_unreachable: bool
    open_windows: bool
    """A party may still apply for re-inspection (三(三))."""
    pending_application: bool
    accepted_application: bool
    hazard_task_open: bool
    """The 通报 to the manufacturer's authority has not gone out (四(二))."""
    transfer_target: bool = False
    """Another authority is registered where the platform is located (四(三)): a transfer has an addressee."""


_FINAL_OR_LATER = frozenset({S.FINAL, S.PUBLISHED, S.MEASURES})


def _can(action: str, facts: CaseFacts) -> bool:  # noqa: PLR0911 - one rule per action reads best flat
    """Whether ``action``'s guards let it succeed for a case with ``facts`` (its state already allows it)."""
    if action in {"request_records", "request_merchant_identity"}:
        return facts.has_platform
    if action == "transfer_violation":
        return facts.has_platform and facts.transfer_target
    if action == "send_result_notices":
        return facts.has_manufacturer or not facts.failing
    if action in {"apply_reinspection", "waive_reinspection"}:
        return facts.failing and facts.open_windows
    if action == "decide_reinspection":
        return facts.pending_application
    if action == "record_reinspection_outcome":
        return facts.accepted_application
    if action == "finalize":
        return not facts.open_windows and not facts.pending_application
    if action == "order_stop_sale":
        return facts.failing and (facts.hazardous or facts.state in _FINAL_OR_LATER)
    if action == "order_delisting":
        return facts.listable
    if action == "order_takedown":
        return facts.failing and facts.has_platform and facts.merchant_unreachable
    if action == "refer_to_telecom":
        return facts.failing and not facts.has_platform
    if action == "notify_hazard_authority":
        return facts.hazard_task_open
    return True


def possible_actions(facts: CaseFacts) -> list[str]:
    """The actions that can succeed for a case now: its state allows them and their guards pass (lifecycle order)."""
    return [name for name in allowed_actions(facts.state) if _can(name, facts)]


def next_state(state: CaseState, action: str) -> CaseState:
    """The state ``action`` leads to from ``state``; raises IllegalTransitionError when it is not allowed.

    ``decide_reinspection`` with an accepted application moves to ``reinspection``; the caller passes that
    explicitly because it depends on the decision, not on the state.
    """
    spec = ACTIONS[action]
    if state not in spec.sources:
        raise IllegalTransitionError(action, state, allowed_actions(state))
    return spec.to or state
