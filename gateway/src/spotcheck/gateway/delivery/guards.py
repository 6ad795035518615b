"""What protects an endpoint from the worker: a circuit breaker and a rate limit, each kept per endpoint.

An endpoint is :attr:`ClaimedMessage.endpoint <spotcheck.gateway.delivery.queue.ClaimedMessage.endpoint>`: an
adapter and an addressee. The state lives in the worker's process; several workers each keep their own.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Final

from aiolimiter import AsyncLimiter

from spotcheck.adapters import DeliveryStatus
from spotcheck.gateway.settings import Settings

__all__ = ["MAX_CIRCUIT_COOLDOWN_S", "CircuitBreaker", "EndpointRateLimiter"]

MAX_CIRCUIT_COOLDOWN_S: Final = 3600.0
"""The longest an open circuit stays open: the cooldown doubles up to an hour."""

# Answers that say the endpoint is alive: a refusal of one message is the message's fault, not the endpoint's.
_ALIVE: Final[frozenset[DeliveryStatus]] = frozenset({"delivered", "rejected"})


@dataclass
class _Circuit:
    """One endpoint's breaker; open means: do not call it until ``open_until`` (monotonic seconds)."""

    failures: int = 0
    open_until: float = 0.0
    cooldown: float = 0.0


class CircuitBreaker:
    """Stops calling an endpoint after ``failures`` consecutive failures, for a cooldown that doubles each time.

    After the cooldown the circuit is half-open: the next attempt goes through, and one more failure in a row
    opens it again for twice as long (up to :data:`MAX_CIRCUIT_COOLDOWN_S`); an answer that shows the endpoint
    alive (``delivered``, ``rejected``) closes it and forgets the cooldown.
    """

    def __init__(self, *, failures: int, cooldown_s: float, clock: Callable[[], float] = time.monotonic) -> None:
        if failures < 1:
            raise ValueError("SPOTCHECK_CIRCUIT_FAILURES: must be at least 1")
        self._threshold = failures
        self._first_cooldown = cooldown_s
        self._clock = clock
        self._circuits: dict[str, _Circuit] = {}

    @classmethod
    def from_settings(cls, settings: Settings) -> CircuitBreaker:
        """The breaker the operator configured (``SPOTCHECK_CIRCUIT_FAILURES``, ``SPOTCHECK_CIRCUIT_COOLDOWN_S``)."""
        return cls(failures=settings.delivery.circuit_failures, cooldown_s=settings.delivery.circuit_cooldown_s)

    def open_for(self, endpoint: str) -> float:
        """Seconds until ``endpoint`` may be called again; 0.0 when its circuit is closed or half-open."""
        circuit = self._circuits.get(endpoint)
        if circuit is None:
            return 0.0
        return max(0.0, circuit.open_until - self._clock())

    def record(self, endpoint: str, status: DeliveryStatus) -> None:
        """Count one attempt's outcome; enough failures in a row open the circuit."""
        circuit = self._circuits.setdefault(endpoint, _Circuit())
        if status in _ALIVE:
            circuit.failures = 0
            circuit.cooldown = 0.0
            return
        circuit.failures += 1
        if circuit.failures >= self._threshold:
            circuit.cooldown = min(MAX_CIRCUIT_COOLDOWN_S, (circuit.cooldown * 2) or self._first_cooldown)
            circuit.open_until = self._clock() + circuit.cooldown
            circuit.failures = 0


class EndpointRateLimiter:
    """At most ``rate_per_s`` deliveries per second to any one endpoint, with bursts of up to a second's worth.

    Each endpoint gets a leaky bucket (:class:`aiolimiter.AsyncLimiter`) holding ``max(rate, 1)`` deliveries,
    drained at ``rate_per_s``: under 1/s it lets one delivery through every ``1 / rate_per_s`` seconds.
    """

    def __init__(self, rate_per_s: float) -> None:
        if not 0 < rate_per_s < float("inf"):
            raise ValueError(
                f"SPOTCHECK_ENDPOINT_RATE_PER_S: deliveries per second must be a positive number, got {rate_per_s!r}"
            )
        self._capacity = max(rate_per_s, 1.0)
        self._period_s = self._capacity / rate_per_s
        self._limiters: dict[str, AsyncLimiter] = {}

    @classmethod
    def from_settings(cls, settings: Settings) -> EndpointRateLimiter:
        """The limit the operator configured (``SPOTCHECK_ENDPOINT_RATE_PER_S``)."""
        return cls(settings.delivery.endpoint_rate_per_s)

    async def acquire(self, endpoint: str) -> None:
        """Wait until one more delivery to ``endpoint`` fits in its rate."""
        limiter = self._limiters.get(endpoint)
        if limiter is None:
            limiter = self._limiters[endpoint] = AsyncLimiter(self._capacity, self._period_s)
        await limiter.acquire()
