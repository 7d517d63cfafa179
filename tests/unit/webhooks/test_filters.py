"""Event filters: which events an endpoint receives."""

from __future__ import annotations

import pytest

from services.webhooks.domain.filters import InvalidPattern, check_pattern, matches, normalise


@pytest.mark.parametrize(
    ("patterns", "source", "event_type", "expected"),
    [
        (["TicketOpened"], "tickets", "TicketOpened", True),
        (["TicketOpened"], "tickets", "TicketClosed", False),
        (["Ticket*"], "tickets", "TicketClosed", True),
        (["Ticket*"], "tickets", "ReplyPosted", False),
        (["tickets.*"], "tickets", "ReplyPosted", True),
        (["tickets.*"], "sla", "SlaBreached", False),
        (["sla.Sla*"], "sla", "SlaWarning", True),
        (["identity.Sla*"], "sla", "SlaWarning", False),
        (["*"], "notify", "SmsSent", True),
        (["*.SmsFailed"], "notify", "SmsFailed", True),
        (["ReplyPosted", "Sla*"], "sla", "SlaBreached", True),
        (["ticketopened"], "tickets", "TicketOpened", False),  # case-sensitive
    ],
)
def test_matching(patterns, source, event_type, expected):
    assert matches(patterns, source, event_type) is expected


@pytest.mark.parametrize(
    "pattern", ["", "a b", "tickets.", ".TicketOpened", "billing.*", "a.b.c", "Ticket?", "x" * 81]
)
def test_malformed_patterns_are_refused(pattern):
    with pytest.raises(InvalidPattern):
        check_pattern(pattern)


def test_normalise_drops_repeats_and_bounds_the_size():
    assert normalise(["Ticket*", "tickets.*", "Ticket*"]) == ["Ticket*", "tickets.*"]
    with pytest.raises(InvalidPattern):
        normalise([])
    with pytest.raises(InvalidPattern):
        normalise([f"T{i}" for i in range(51)])
