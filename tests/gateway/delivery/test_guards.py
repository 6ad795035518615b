"""The circuit breaker and the per-endpoint rate limit, and a rate the limiter cannot work with refused at start."""

from __future__ import annotations

import asyncio
import time

import pytest
from click.testing import CliRunner

from spotcheck.gateway.cli import main
from spotcheck.gateway.delivery.guards import MAX_CIRCUIT_COOLDOWN_S, CircuitBreaker, EndpointRateLimiter
from spotcheck.gateway.settings import Settings


class FakeClock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def test_the_circuit_opens_after_consecutive_failures_and_half_opens_after_the_cooldown() -> None:
    clock = FakeClock()
    breaker = CircuitBreaker(failures=3, cooldown_s=30.0, clock=clock)
    for _ in range(2):
        breaker.record("webhook:platform:a", "retry")
    assert breaker.open_for("webhook:platform:a") == 0.0
    breaker.record("webhook:platform:a", "throttled")
    assert breaker.open_for("webhook:platform:a") == 30.0
    assert breaker.open_for("webhook:platform:b") == 0.0  # endpoints are counted apart
    clock.now += 30.0
    assert breaker.open_for("webhook:platform:a") == 0.0  # half-open: the next attempt goes through


def test_the_cooldown_doubles_up_to_an_hour_and_a_live_answer_resets_it() -> None:
    clock = FakeClock()
    breaker = CircuitBreaker(failures=1, cooldown_s=1000.0, clock=clock)
    cooldowns = []
    for _ in range(4):
        breaker.record("e", "gone")
        cooldowns.append(breaker.open_for("e"))
        clock.now += cooldowns[-1]
    assert cooldowns == [1000.0, 2000.0, MAX_CIRCUIT_COOLDOWN_S, MAX_CIRCUIT_COOLDOWN_S]
    breaker.record("e", "rejected")  # the endpoint answered: it is alive, whatever it thought of the message
    breaker.record("e", "retry")
    assert breaker.open_for("e") == 1000.0


def test_a_success_between_failures_keeps_the_circuit_closed() -> None:
    breaker = CircuitBreaker(failures=2, cooldown_s=30.0, clock=FakeClock())
    for status in ("retry", "delivered", "retry", "delivered", "retry"):
        breaker.record("e", status)  # type: ignore[arg-type]
    assert breaker.open_for("e") == 0.0


async def test_the_rate_limit_lets_a_second_s_worth_through_then_spaces_deliveries_per_endpoint() -> None:
    limiter = EndpointRateLimiter(20.0)
    started = time.monotonic()
    for _ in range(20):
        await limiter.acquire("e1")
    await limiter.acquire("e2")  # another endpoint has its own bucket
    assert time.monotonic() - started < 0.04
    await asyncio.wait_for(limiter.acquire("e1"), 2)
    assert time.monotonic() - started >= 0.04  # the 21st waited for the bucket to drain (1/20 s)


async def test_a_rate_under_one_per_second_lets_one_through_per_period() -> None:
    limiter = EndpointRateLimiter(0.5)
    await asyncio.wait_for(limiter.acquire("e"), 0.1)
    with pytest.raises(TimeoutError):
        await asyncio.wait_for(limiter.acquire("e"), 0.3)  # the next one is two seconds away


@pytest.mark.parametrize("rate", [0.0, -1.0, float("nan"), float("inf")])
def test_a_rate_the_limiter_cannot_work_with_is_refused(rate: float) -> None:
    with pytest.raises(ValueError, match="SPOTCHECK_ENDPOINT_RATE_PER_S"):
        EndpointRateLimiter(rate)
    with pytest.raises(ValueError, match="SPOTCHECK_ENDPOINT_RATE_PER_S"):
        Settings().with_changes({"delivery.endpoint_rate_per_s": rate})


@pytest.mark.parametrize("raw", ["0", "-5", "nan"])
def test_a_zero_or_negative_rate_stops_the_worker_at_start_up_naming_the_variable(
    raw: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("SPOTCHECK_ENDPOINT_RATE_PER_S", raw)
    with pytest.raises(ValueError, match="SPOTCHECK_ENDPOINT_RATE_PER_S"):
        Settings.from_env()
    result = CliRunner().invoke(main, ["worker"])
    assert result.exit_code == 2
    assert "SPOTCHECK_ENDPOINT_RATE_PER_S" in result.output
    assert "ZeroDivisionError" not in result.output
