"""The load generator's share of answered tickets is what was asked, spread evenly."""

from __future__ import annotations

import pytest

from benchmarks.gateway_load import replies_due


@pytest.mark.parametrize("share", [0.0, 0.25, 0.5, 1 / 3, 1.0])
def test_every_stretch_of_tickets_gets_the_asked_share_of_replies(share: float):
    due = [replies_due(n, share) for n in range(300)]
    assert sum(due) == int(300 * share)
    # Any 12 consecutive tickets hold the share, give or take one reply.
    for start in range(0, 288):
        assert abs(sum(due[start : start + 12]) - 12 * share) <= 1
