"""The retry policy of outbound deliveries: after a failed attempt, when to try again, or whether to give up.

One place for the schedule, its jitter (a function of its own, so tests can pin the randomness), the cap on a
destination's ``Retry-After``, and which outcomes are never retried.
"""

from __future__ import annotations

import random
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Final, Literal

from spotcheck.adapters import DeliveryOutcome
from spotcheck.gateway.settings import Settings

__all__ = ["MAX_RETRY_AFTER_S", "GiveUp", "RetryIn", "RetryPolicy", "next_retry_delay"]

MAX_RETRY_AFTER_S: Final = 86_400.0
"""The longest ``Retry-After`` honoured: a destination cannot park a notice for more than a day at a time."""


def next_retry_delay(
    attempts_made: int, schedule: tuple[float, ...], jitter: float, *, rng: Callable[[], float] = random.random
) -> float | None:
    """Seconds to wait before the next attempt, or None when the schedule is exhausted (dead letter).

    ``attempts_made`` counts attempts already made (1 after the first). The first attempt is immediate; the
    schedule lists the waits before the second, third, … attempts, each spread by ±``jitter``.
    """
    index = attempts_made - 1
    if index >= len(schedule):
        return None
    base = schedule[index]
    return max(0.0, base * (1 + jitter * (2 * rng() - 1)))


@dataclass(frozen=True, slots=True)
class RetryIn:
    """Try again after ``delay_s`` seconds."""

    delay_s: float


@dataclass(frozen=True, slots=True)
class GiveUp:
    """Dead-letter the message: the destination is ``gone``, ``rejected`` it for good, or retries are ``exhausted``."""

    reason: Literal["gone", "rejected", "exhausted"]


@dataclass(frozen=True)
class RetryPolicy:
    """What follows a failed attempt: :class:`RetryIn` on the schedule (or later, when throttled) or :class:`GiveUp`.

    Attributes:
        schedule: waits in seconds before the second, third, … attempts (``SPOTCHECK_RETRY_SCHEDULE``).
        jitter: relative spread of each wait (0.2 = ±20 %).
        rng: a uniform draw in [0, 1), replaced in tests to make the jitter predictable.
    """

    schedule: tuple[float, ...]
    jitter: float
    rng: Callable[[], float] = field(default=random.random, repr=False)

    @classmethod
    def from_settings(cls, settings: Settings, *, rng: Callable[[], float] = random.random) -> RetryPolicy:
        """The policy the operator configured."""
        return cls(settings.delivery.retry_schedule, settings.delivery.retry_jitter, rng)

    def after(self, attempts_made: int, outcome: DeliveryOutcome) -> RetryIn | GiveUp:
        """The decision after the failed attempt number ``attempts_made`` ended in ``outcome``.

        ``gone`` and ``rejected`` are never retried: the same bytes to the same destination cannot succeed. A
        ``throttled`` answer waits at least its ``Retry-After`` (capped at :data:`MAX_RETRY_AFTER_S`), but never
        beyond the end of the schedule.
        """
        if outcome.status == "gone":
            return GiveUp("gone")
        if outcome.status == "rejected":
            return GiveUp("rejected")
        delay = next_retry_delay(attempts_made, self.schedule, self.jitter, rng=self.rng)
        if delay is None:
            return GiveUp("exhausted")
        if outcome.status == "throttled" and outcome.retry_after is not None:
            delay = max(delay, min(outcome.retry_after, MAX_RETRY_AFTER_S))
        return RetryIn(delay)
