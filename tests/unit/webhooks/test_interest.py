"""Which events the webhooks service takes a transaction for: those some enabled
endpoint's filter wants, with the filters held for a few seconds."""

from __future__ import annotations

from services.webhooks.interest import Interest


class Filters:
    """The enabled endpoints' filters as the database would answer, counting reads."""

    def __init__(self, *filters: list[str]) -> None:
        self.filters = list(filters)
        self.reads = 0

    def __call__(self) -> list[list[str]]:
        self.reads += 1
        return list(self.filters)


def test_an_event_is_wanted_only_when_some_filter_matches_it():
    interest = Interest(2.0, clock=lambda: 0.0)
    filters = Filters(["tickets.TicketOpened"], ["sla.Sla*"])
    assert interest.wants(filters, "tickets", "TicketOpened")
    assert interest.wants(filters, "sla", "SlaBreached")
    assert not interest.wants(filters, "tickets", "ReplyPosted")
    assert not interest.wants(filters, "notify", "SmsSent")


def test_no_endpoints_means_nothing_is_wanted():
    interest = Interest(2.0, clock=lambda: 0.0)
    assert not interest.wants(Filters(), "tickets", "TicketOpened")


def test_the_filters_are_read_once_per_time_to_live_and_again_after_forget():
    now = [0.0]
    interest = Interest(2.0, clock=lambda: now[0])
    filters = Filters(["TicketOpened"])
    for _ in range(5):
        interest.wants(filters, "tickets", "TicketOpened")
    assert filters.reads == 1
    filters.filters.append(["ReplyPosted"])  # registered in another replica
    assert not interest.wants(filters, "tickets", "ReplyPosted")  # not seen yet
    now[0] = 2.5
    assert interest.wants(filters, "tickets", "ReplyPosted")
    assert filters.reads == 2
    filters.filters.append(["TicketClosed"])  # registered here
    interest.forget()
    assert interest.wants(filters, "tickets", "TicketClosed")
    assert filters.reads == 3


def test_a_time_to_live_of_zero_reads_for_every_event():
    interest = Interest(0.0, clock=lambda: 0.0)
    filters = Filters(["TicketOpened"])
    interest.wants(filters, "tickets", "TicketOpened")
    interest.wants(filters, "tickets", "TicketOpened")
    assert filters.reads == 2
