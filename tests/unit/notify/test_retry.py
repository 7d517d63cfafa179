"""After an attempt: sent, retried with backoff and jitter, or failed for good."""

from __future__ import annotations

import random
from datetime import UTC, datetime, timedelta

import pytest

from services.notify.domain.outcomes import Reason, SendResult
from services.notify.domain.quiet_hours import QuietHours
from services.notify.domain.retry import Next, RetryPolicy, backoff_seconds, decide

NOW = datetime(2026, 3, 10, 8, 30, tzinfo=UTC)  # 12:00 in Tehran
LATER = NOW + timedelta(days=1)
POLICY = RetryPolicy(max_attempts=5, base_seconds=2, max_seconds=60)


def rng() -> random.Random:
    return random.Random(7)


@pytest.mark.parametrize(("attempt", "step"), [(1, 2), (2, 4), (3, 8), (6, 60), (20, 60)])
def test_backoff_doubles_up_to_the_cap_with_jitter_in_the_upper_half(attempt, step):
    delays = [backoff_seconds(attempt, POLICY, random.Random(seed)) for seed in range(200)]
    assert all(step / 2 <= d <= step for d in delays)
    assert len(set(delays)) > 100  # jittered, not one value


def test_accepted_is_sent_and_rejected_fails_without_retry():
    assert decide(SendResult.accepted("1"), 1, NOW, LATER, POLICY, rng()).next is Next.SENT
    rejected = decide(SendResult.rejected(Reason.INVALID_NUMBER), 1, NOW, LATER, POLICY, rng())
    assert (rejected.next, rejected.reason) == (Next.FAIL, Reason.INVALID_NUMBER)


def test_a_refusal_is_retried_later_and_known_not_to_be_sent():
    decision = decide(SendResult.refused(Reason.PROVIDER_BUSY), 2, NOW, LATER, POLICY, rng())
    assert decision.next is Next.RETRY and not decision.uncertain
    assert NOW + timedelta(seconds=2) <= decision.at <= NOW + timedelta(seconds=4)


def test_an_unknown_outcome_is_retried_as_uncertain():
    decision = decide(SendResult.unknown(Reason.SERVER_ERROR), 1, NOW, LATER, POLICY, rng())
    assert decision.next is Next.RETRY and decision.uncertain


def test_the_providers_retry_after_is_a_floor():
    result = SendResult.refused(Reason.RATE_LIMITED, retry_after=30)
    decision = decide(result, 1, NOW, LATER, POLICY, rng())
    assert decision.at >= NOW + timedelta(seconds=30)


def test_attempts_run_out():
    decision = decide(SendResult.refused(Reason.PROVIDER_BUSY), 5, NOW, LATER, POLICY, rng())
    assert (decision.next, decision.reason) == (Next.FAIL, Reason.GAVE_UP)


def test_a_retry_after_the_time_to_live_expires_instead():
    soon = NOW + timedelta(seconds=1)
    decision = decide(SendResult.refused(Reason.PROVIDER_BUSY), 1, NOW, soon, POLICY, rng())
    assert (decision.next, decision.reason) == (Next.FAIL, Reason.EXPIRED)


def test_retries_of_non_urgent_messages_skip_quiet_hours():
    quiet = QuietHours.parse("12:00-13:00")
    result = SendResult.refused(Reason.PROVIDER_BUSY)
    deferred = decide(result, 1, NOW, LATER, POLICY, rng(), quiet)
    assert deferred.at == NOW + timedelta(hours=1)
    urgent = decide(result, 1, NOW, LATER, POLICY, rng(), quiet, urgent=True)
    assert urgent.at < NOW + timedelta(seconds=3)


def test_a_policy_needs_sane_numbers():
    with pytest.raises(ValueError):
        RetryPolicy(max_attempts=0)
