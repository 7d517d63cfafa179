"""Retry schedule and disable policy."""

from __future__ import annotations

import random
from datetime import UTC, datetime, timedelta

from pasokh_common.backoff import RetryPolicy

import pytest

from services.webhooks.domain.policy import (
    Answer,
    Kind,
    Next,
    classify_status,
    decide,
    should_disable,
)

NOW = datetime(2026, 11, 25, 10, 0, tzinfo=UTC)
POLICY = RetryPolicy(max_attempts=5, base_seconds=30, max_seconds=600)


@pytest.mark.parametrize(
    ("status", "kind"),
    [
        (200, Kind.DELIVERED),
        (204, Kind.DELIVERED),
        (299, Kind.DELIVERED),
        (301, Kind.PERMANENT),
        (400, Kind.PERMANENT),
        (401, Kind.PERMANENT),
        (404, Kind.PERMANENT),
        (410, Kind.PERMANENT),
        (408, Kind.TRANSIENT),
        (429, Kind.TRANSIENT),
        (500, Kind.TRANSIENT),
        (503, Kind.TRANSIENT),
    ],
)
def test_statuses(status, kind):
    assert classify_status(status).kind is kind


def test_backoff_doubles_with_jitter_in_the_upper_half_up_to_the_cap():
    transient = Answer(Kind.TRANSIENT, 500, "HTTP 500")
    for attempt, step in [(1, 30), (2, 60), (3, 120), (4, 240)]:
        for seed in range(50):
            decision = decide(transient, attempt, NOW, POLICY, random.Random(seed))
            assert decision.next is Next.RETRY
            wait = (decision.at - NOW).total_seconds()
            assert step / 2 <= wait <= step
    capped = RetryPolicy(max_attempts=20, base_seconds=30, max_seconds=600)
    wait = decide(transient, 12, NOW, capped, random.Random(1)).at - NOW
    assert timedelta(seconds=300) <= wait <= timedelta(seconds=600)


def test_jitter_spreads_retries():
    transient = Answer(Kind.TRANSIENT, 500, "HTTP 500")
    times = {decide(transient, 3, NOW, POLICY, random.Random(s)).at for s in range(20)}
    assert len(times) > 10


def test_attempts_are_bounded():
    transient = Answer(Kind.TRANSIENT, None, "ConnectionRefusedError")
    assert decide(transient, 4, NOW, POLICY, random.Random(1)).next is Next.RETRY
    assert decide(transient, 5, NOW, POLICY, random.Random(1)).next is Next.FAILED


def test_retry_after_is_a_floor_but_bounded():
    slow = classify_status(429, retry_after=900)
    decision = decide(slow, 1, NOW, POLICY, random.Random(1))
    assert decision.at - NOW == timedelta(seconds=900)
    absurd = classify_status(503, retry_after=10**9)
    assert decide(absurd, 1, NOW, POLICY, random.Random(1)).at - NOW == timedelta(hours=1)


def test_permanent_and_delivered_are_final_at_once():
    assert decide(classify_status(404), 1, NOW, POLICY, random.Random(1)).next is Next.FAILED
    assert decide(classify_status(200), 3, NOW, POLICY, random.Random(1)).next is Next.DELIVERED


def test_disable_after_consecutive_failures():
    assert not should_disable(4, 5)
    assert should_disable(5, 5)
    assert should_disable(6, 5)
    assert not should_disable(1000, 0)  # 0: never
