"""The stages of one delivery, each a function with a typed result.

:func:`prepare_dispatch` (guards and routing: :class:`Dispatch` or :class:`Deferred`) → :func:`make_call` (one
adapter attempt: an :class:`Attempt`) → the recorder (the outcome made durable: delivered, retried, or
dead-lettered). The worker runs them in that order for every claimed message.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Final

from spotcheck.adapters import Adapter, DeliveryOutcome, OutgoingMessage
from spotcheck.gateway.delivery.guards import CircuitBreaker, EndpointRateLimiter
from spotcheck.gateway.delivery.queue import ClaimedMessage
from spotcheck.gateway.delivery.routing import Held, Router
from spotcheck.gateway.store.types import utcnow

__all__ = ["HOLD_S", "Attempt", "Deferred", "Dispatch", "make_call", "prepare_dispatch"]

HOLD_S: Final = 300.0
"""How long a message without a route waits before it is looked at again."""


@dataclass(frozen=True, slots=True)
class Dispatch:
    """A message ready to go, and the adapter instance that delivers it."""

    item: ClaimedMessage
    adapter: Adapter


@dataclass(frozen=True, slots=True)
class Deferred:
    """A message put back unattempted: its endpoint's circuit is open, or it is ``held`` for want of a route."""

    item: ClaimedMessage
    delay_s: float
    reason: str
    held: bool


@dataclass(frozen=True, slots=True)
class Attempt:
    """One attempt made: the message, what the adapter reported, and when the attempt started."""

    item: ClaimedMessage
    outcome: DeliveryOutcome
    started: datetime


async def prepare_dispatch(item: ClaimedMessage, *, breaker: CircuitBreaker, router: Router) -> Dispatch | Deferred:
    """Decide whether ``item`` can be attempted now, and through which adapter."""
    open_for = breaker.open_for(item.endpoint)
    if open_for > 0:
        # Do not hammer a dead endpoint: the message comes back when the circuit half-opens.
        return Deferred(item, open_for, "circuit open", held=False)
    route = await router.route(item)
    if isinstance(route, Held):
        return Deferred(item, HOLD_S, route.reason, held=True)
    return Dispatch(item, route.adapter)


async def make_call(dispatch: Dispatch, *, limiter: EndpointRateLimiter) -> Attempt:
    """Make one attempt within the endpoint's rate; an adapter that raises counts as a failure to retry."""
    item = dispatch.item
    await limiter.acquire(item.endpoint)
    message = OutgoingMessage(
        message_id=item.id,
        message_type=item.message_type,
        body=item.body,
        timestamp=item.timestamp,
        case_id=item.case_id or "",
        attempt=item.attempt_count + 1,
        recipient_name=item.recipient_name,
    )
    started = utcnow()
    try:
        outcome = await dispatch.adapter.deliver(message)
    except Exception as exc:  # noqa: BLE001 - an adapter bug must not kill the worker; count it as a retry
        outcome = DeliveryOutcome(status="retry", error=f"adapter raised {type(exc).__name__}")
    return Attempt(item, outcome, started)
