"""When a code may be sent: cooldown per number and purpose, hourly per number and per
client address."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from services.identity.domain.codes import CodePolicy, SendHistory, decide_send
from services.identity.domain.limits import ZERO, window_wait

NOW = datetime(2026, 3, 1, 9, 0, tzinfo=UTC)
POLICY = CodePolicy()


def ago(seconds: float) -> datetime:
    return NOW - timedelta(seconds=seconds)


def history(last=None, phone=(), address=()) -> SendHistory:
    return SendHistory(last, list(phone), list(address))


def test_a_first_code_may_be_sent():
    assert decide_send(history(), NOW, POLICY).allowed


def test_the_cooldown_holds_to_the_second():
    refused = decide_send(history(ago(59), [ago(59)]), NOW, POLICY)
    assert (refused.allowed, refused.reason) == (False, "cooldown")
    assert refused.retry_after == timedelta(seconds=1)
    assert decide_send(history(ago(60), [ago(60)]), NOW, POLICY).allowed


def test_the_hourly_limit_per_number_counts_a_sliding_hour():
    sends = [ago(s) for s in (3000, 2000, 1000, 500, 100)]
    refused = decide_send(history(ago(100), sends), NOW, POLICY)
    assert (refused.allowed, refused.reason) == (False, "phone")
    assert refused.retry_after == timedelta(seconds=600)  # when the 3000 s-old one leaves
    assert decide_send(history(ago(100), sends), NOW + timedelta(seconds=600), POLICY).allowed


def test_the_hourly_limit_per_address():
    sends = [ago(10 * i + 61) for i in range(20)]
    refused = decide_send(history(address=sends), NOW, POLICY)
    assert (refused.allowed, refused.reason) == (False, "address")


def test_the_longest_wait_wins():
    sends = [ago(s) for s in (3590, 2000, 1000, 500, 30)]
    refused = decide_send(history(ago(30), sends), NOW, POLICY)
    assert refused.reason == "cooldown" and refused.retry_after == timedelta(seconds=30)


def test_window_wait():
    window = timedelta(minutes=15)
    assert window_wait([], 1, window, NOW) == ZERO
    assert window_wait([ago(10)], 2, window, NOW) == ZERO
    assert window_wait([ago(10), ago(20)], 2, window, NOW) == window - timedelta(seconds=20)
    assert window_wait([ago(900), ago(20)], 2, window, NOW) == ZERO  # the old one is out
