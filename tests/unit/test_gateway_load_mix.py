"""The load generator: the share of answered tickets is what was asked, spread evenly;
an open-loop schedule makes tickets due at its rate, a closed one until time is up."""

from __future__ import annotations

import itertools
import time

import pytest

from benchmarks.gateway_load import Schedule, replies_due


@pytest.mark.parametrize("share", [0.0, 0.25, 0.5, 1 / 3, 1.0])
def test_every_stretch_of_tickets_gets_the_asked_share_of_replies(share: float):
    due = [replies_due(n, share) for n in range(300)]
    assert sum(due) == int(300 * share)
    # Any 12 consecutive tickets hold the share, give or take one reply.
    for start in range(0, 288):
        assert abs(sum(due[start : start + 12]) - 12 * share) <= 1


def test_an_open_loop_schedule_makes_tickets_due_at_the_rate_whatever_the_callers_do():
    schedule = Schedule(seconds=0.25, rate=40)
    due = []
    while (item := schedule.next()) is not None:
        due.append(item)
    assert [n for n, _ in due] == list(range(10))
    gaps = [b - a for (_, a), (_, b) in itertools.pairwise(due)]
    assert all(abs(gap - 0.025) < 1e-9 for gap in gaps)
    # Each was handed out no earlier than it was due.
    assert time.perf_counter() >= due[-1][1]


def test_a_closed_loop_schedule_hands_out_tickets_until_the_time_is_up():
    schedule = Schedule(seconds=0.05, rate=None)
    handed = 0
    while schedule.next() is not None:
        handed += 1
        time.sleep(0.01)
    assert 3 <= handed <= 6
