"""The retry policy: the schedule, its jitter, Retry-After, and the outcomes that are never retried."""

from __future__ import annotations

import pytest

from spotcheck.adapters import DeliveryOutcome
from spotcheck.gateway.delivery.retry import MAX_RETRY_AFTER_S, GiveUp, RetryIn, RetryPolicy, next_retry_delay
from spotcheck.gateway.settings import Settings


def test_retry_delays_follow_the_schedule_and_run_out() -> None:
    schedule = (5.0, 300.0)
    assert next_retry_delay(1, schedule, 0.0) == 5.0
    assert next_retry_delay(2, schedule, 0.0) == 300.0
    assert next_retry_delay(3, schedule, 0.0) is None
    assert next_retry_delay(1, schedule, 0.2, rng=lambda: 1.0) == pytest.approx(6.0)
    assert next_retry_delay(1, schedule, 0.2, rng=lambda: 0.0) == pytest.approx(4.0)


def test_gone_and_rejected_are_never_retried() -> None:
    policy = RetryPolicy((5.0, 300.0), 0.0)
    assert policy.after(1, DeliveryOutcome(status="gone", http_status=410)) == GiveUp("gone")
    assert policy.after(1, DeliveryOutcome(status="rejected", http_status=422)) == GiveUp("rejected")


def test_failures_follow_the_schedule_until_it_runs_out() -> None:
    policy = RetryPolicy((5.0, 300.0), 0.0)
    assert policy.after(1, DeliveryOutcome(status="retry")) == RetryIn(5.0)
    assert policy.after(2, DeliveryOutcome(status="retry")) == RetryIn(300.0)
    assert policy.after(3, DeliveryOutcome(status="retry")) == GiveUp("exhausted")


def test_throttling_waits_at_least_retry_after_up_to_a_day_but_never_past_the_schedule() -> None:
    policy = RetryPolicy((5.0,), 0.0)
    assert policy.after(1, DeliveryOutcome(status="throttled", retry_after=30.0)) == RetryIn(30.0)
    assert policy.after(1, DeliveryOutcome(status="throttled", retry_after=1.0)) == RetryIn(5.0)
    assert policy.after(1, DeliveryOutcome(status="throttled", retry_after=1e9)) == RetryIn(MAX_RETRY_AFTER_S)
    assert policy.after(2, DeliveryOutcome(status="throttled", retry_after=30.0)) == GiveUp("exhausted")
    # Retry-After counts only for a throttled answer.
    assert policy.after(1, DeliveryOutcome(status="retry", retry_after=30.0)) == RetryIn(5.0)


def test_the_policy_reads_the_settings_and_its_jitter_is_pinned_by_the_rng() -> None:
    settings = Settings().with_changes({"delivery.retry_schedule": (10.0,), "delivery.retry_jitter": 0.5})
    policy = RetryPolicy.from_settings(settings, rng=lambda: 1.0)
    assert policy.after(1, DeliveryOutcome(status="retry")) == RetryIn(15.0)
