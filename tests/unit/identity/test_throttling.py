"""When a login may be tried."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from services.identity.domain.throttling import LoginPolicy, decide_login

NOW = datetime(2026, 3, 1, 9, 0, tzinfo=UTC)
POLICY = LoginPolicy(max_failures_per_account=5, max_failures_per_address=30)


def ago(seconds: float) -> datetime:
    return NOW - timedelta(seconds=seconds)


def test_four_failures_still_allow_a_try():
    assert decide_login([ago(i) for i in range(1, 5)], [], NOW, POLICY).allowed


def test_five_failures_throttle_the_account_until_the_oldest_leaves_the_window():
    failures = [ago(s) for s in (100, 80, 60, 40, 20)]
    decision = decide_login(failures, failures, NOW, POLICY)
    assert (decision.allowed, decision.reason) == (False, "account")
    assert decision.retry_after == timedelta(seconds=900 - 100)
    assert decide_login(failures, failures, NOW + timedelta(seconds=800), POLICY).allowed


def test_an_address_with_many_failures_across_accounts_is_throttled():
    decision = decide_login([], [ago(i + 1) for i in range(30)], NOW, POLICY)
    assert (decision.allowed, decision.reason) == (False, "address")


def test_failures_outside_the_window_do_not_count():
    assert decide_login([ago(901 + i) for i in range(10)], [], NOW, POLICY).allowed


@pytest.mark.parametrize(
    "settings",
    [{"max_failures_per_account": 0}, {"max_failures_per_address": 0}, {"window": timedelta(0)}],
)
def test_a_policy_that_would_disable_throttling_is_refused(settings):
    with pytest.raises(ValueError):
        LoginPolicy(**settings)
