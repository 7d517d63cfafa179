"""Routing keys from filters: what webhooks binds its queues with, per source."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from services.webhooks.domain.filters import SOURCES, matches, routing_keys, union

ALL = {s: frozenset({"#"}) for s in SOURCES}


@pytest.mark.parametrize(
    ("patterns", "expected"),
    [
        (["tickets.TicketOpened"], {"tickets": {"TicketOpened"}}),
        (["TicketOpened"], {s: {"TicketOpened"} for s in SOURCES}),
        (["*.SmsFailed"], {s: {"SmsFailed"} for s in SOURCES}),
        (["tickets.*"], {"tickets": {"#"}}),
        (["sla.Sla*", "sla.SlaBreached"], {"sla": {"#"}}),  # '#' absorbs the rest
        (["Ticket*"], ALL),  # a glob over types: every source, every type
        (["*"], ALL),
        (
            ["tickets.TicketOpened", "tickets.TicketClosed", "identity.UserVerified"],
            {"tickets": {"TicketOpened", "TicketClosed"}, "identity": {"UserVerified"}},
        ),
    ],
)
def test_keys_of_a_filter(patterns, expected):
    assert routing_keys(patterns) == {s: frozenset(k) for s, k in expected.items()}


def test_union_of_filters():
    merged = union(
        routing_keys(["tickets.TicketOpened"]),
        routing_keys(["tickets.ReplyPosted", "sla.SlaBreached"]),
        routing_keys([]),
    )
    assert merged == {
        "tickets": frozenset({"TicketOpened", "ReplyPosted"}),
        "sla": frozenset({"SlaBreached"}),
    }
    assert union(merged, routing_keys(["tickets.*"]))["tickets"] == frozenset({"#"})
    assert union() == {}


_TYPES = ["TicketOpened", "TicketClosed", "ReplyPosted", "SlaBreached", "SmsSent", "X_1"]
_pattern = st.one_of(
    st.sampled_from(_TYPES),
    st.sampled_from(["Ticket*", "*", "Sla*", "*Posted", "T*d"]),
    st.builds(
        lambda source, t: f"{source}.{t}",
        st.sampled_from([*SOURCES, "*"]),
        st.sampled_from([*_TYPES, "*", "Ticket*"]),
    ),
)


@given(
    patterns=st.lists(_pattern, min_size=1, max_size=5),
    source=st.sampled_from(SOURCES),
    event_type=st.sampled_from([*_TYPES, "NewTypeAddedLater"]),
)
def test_every_event_a_filter_matches_is_routed_to_it(patterns, source, event_type):
    """The bindings are never narrower than the filter (it may be finer than them)."""
    if matches(patterns, source, event_type):
        keys = routing_keys(patterns).get(source, frozenset())
        assert "#" in keys or event_type in keys
