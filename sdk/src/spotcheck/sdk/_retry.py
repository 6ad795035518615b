"""When the reply client tries again, and how long it waits first.

Retried: no answer at all (connect error, timeout, reset), ``429`` and the transient ``5xx`` answers
(``500``, ``502``, ``503``, ``504``). Never retried: every other answer, because sending the same bytes again
cannot change it. The wait before retry *n* (1-based) is "full jitter" (a uniform draw in
``[0, min(backoff_max, backoff_base * 2 ** (n - 1))]``) unless the gateway sent ``Retry-After``, which is then
honoured, capped at ``backoff_max``.
"""

from __future__ import annotations

import logging
import math
from dataclasses import dataclass
from typing import TYPE_CHECKING, Final

import tenacity

if TYPE_CHECKING:
    from collections.abc import Awaitable, Callable

    from spotcheck.sdk._errors import APIError

__all__ = ["RETRYABLE_STATUSES", "RetryPolicy", "RetryableFailure"]

RETRYABLE_STATUSES: Final = frozenset({429, 500, 502, 503, 504})
"""HTTP statuses after which the same request may succeed later."""

_log = logging.getLogger("spotcheck.sdk.client")


class RetryableFailure(Exception):  # noqa: N818 - internal signal, never escapes the client
    """An attempt failed in a way worth retrying; ``error`` is what the caller gets if it was the last one."""

    def __init__(self, error: APIError, *, retry_after: float | None = None) -> None:
        super().__init__(str(error))
        self.error = error
        self.retry_after = retry_after


@dataclass(frozen=True, slots=True)
class RetryPolicy:
    """How many times to retry and how long to wait, as tenacity controllers for one logical call.

    Attributes:
        max_retries: retries after the first attempt (``0`` sends once).
        backoff_base: the first jitter window in seconds; it doubles with each retry.
        backoff_max: the cap on any wait, ``Retry-After`` included.
    """

    max_retries: int
    backoff_base: float
    backoff_max: float

    def __post_init__(self) -> None:
        if isinstance(self.max_retries, bool) or not isinstance(self.max_retries, int) or self.max_retries < 0:
            raise ValueError("max_retries must be a non-negative integer")
        for name in ("backoff_base", "backoff_max"):
            value = getattr(self, name)
            if isinstance(value, bool) or not isinstance(value, int | float) or not math.isfinite(value) or value < 0:
                raise ValueError(f"{name} must be a finite, non-negative number of seconds")

    def wait(self, retry_state: tenacity.RetryCallState) -> float:
        """Return the seconds to wait before the next attempt: ``Retry-After`` if given, else full jitter."""
        outcome = retry_state.outcome
        failure = outcome.exception() if outcome is not None else None
        if isinstance(failure, RetryableFailure) and failure.retry_after is not None:
            return min(failure.retry_after, self.backoff_max)
        jitter = tenacity.wait_random_exponential(multiplier=self.backoff_base, max=self.backoff_max)
        return float(jitter(retry_state))

    def retrying(self, sleep: Callable[[float], None]) -> tenacity.Retrying:
        """Return a fresh controller for one blocking call; the last failure is re-raised as is."""
        return tenacity.Retrying(
            sleep=sleep,
            stop=tenacity.stop_after_attempt(self.max_retries + 1),
            wait=self.wait,
            retry=tenacity.retry_if_exception_type(RetryableFailure),
            before_sleep=_log_retry,
            reraise=True,
        )

    def async_retrying(self, sleep: Callable[[float], Awaitable[None]]) -> tenacity.AsyncRetrying:
        """Return a fresh controller for one awaited call; the last failure is re-raised as is."""
        return tenacity.AsyncRetrying(
            sleep=sleep,
            stop=tenacity.stop_after_attempt(self.max_retries + 1),
            wait=self.wait,
            retry=tenacity.retry_if_exception_type(RetryableFailure),
            before_sleep=_log_retry,
            reraise=True,
        )


def _log_retry(retry_state: tenacity.RetryCallState) -> None:
    """Log each retry at INFO with the reason and the wait; errors carry no secret, only status, code and ids."""
    outcome = retry_state.outcome
    failure = outcome.exception() if outcome is not None else None
    wait = retry_state.next_action.sleep if retry_state.next_action is not None else 0.0
    _log.info("reply attempt %d failed (%s); retrying in %.2fs", retry_state.attempt_number, failure, float(wait))
