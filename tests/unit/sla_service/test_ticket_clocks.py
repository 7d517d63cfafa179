"""The pure SLA state machine: every ticket event kind, pauses, reopening, re-targeting
after changes, the timer's scans, and events out of order or twice."""

from __future__ import annotations

from dataclasses import replace

import pytest

from services.sla.calendar import BusinessCalendar, TargetUnreachableError, business_time
from services.sla.domain import facts
from services.sla.domain.events import SlaBreached, SlaMet, SlaTargetsSet, SlaWarning
from services.sla.domain.policy import Policy, Rules
from services.sla.domain.targets import ClockStatus, Target
from services.sla.domain.ticket import (
    Phase,
    SlaStateError,
    apply,
    fire_due,
    open_ticket,
    recompute,
)

from .support import ALWAYS, DEFAULT, DUE_24H, HOUR, OPENED, WARN_24H, RulesTable, tehran

TICKET = "t-1"


def opened(at: int = OPENED, department: str = "technical", follow_up: bool = False):
    return facts.Opened(TICKET, department, "normal", follow_up, at)


class Ticket:
    """Feeds facts in version order and keeps every step, as the intake does."""

    def __init__(self, rules_for=None, at: int = OPENED, **opening) -> None:
        self.rules_for = rules_for or RulesTable()
        self.steps = [apply(None, opened(at, **opening), 1, self.rules_for)]

    @property
    def state(self):
        return self.steps[-1].state

    def feed(self, fact) -> list:
        step = apply(self.state, fact, self.state.version + 1, self.rules_for)
        self.steps.append(step)
        return list(step.events)

    def scan(self, now: int, rules: Rules = DEFAULT) -> list:
        step = fire_due(self.state, rules, now)
        self.steps.append(step)
        return list(step.events)

    def clock(self, target: Target, cycle: int = 1):
        return next(c for c in self.state.clocks if c.key == (target, cycle))


def types(events) -> list[str]:
    return [e.type_name for e in events]


# -- opening --------------------------------------------------------------------------


def test_opening_starts_first_response_and_resolution():
    step = open_ticket(opened(), 1, DEFAULT)
    [targets] = step.events
    assert isinstance(targets, SlaTargetsSet) and targets.reason == "opened"
    first = step.state.open_clock(Target.FIRST_RESPONSE)
    assert first.deadline == DUE_24H and first.warn_at == WARN_24H
    assert step.state.open_clock(Target.RESOLUTION).target_seconds == 120 * HOUR
    assert step.state.open_clock(Target.NEXT_REPLY) is None
    assert step.state.next_due_at == WARN_24H
    assert step.state.phase == Phase.AWAITING_US and step.state.version == 1


def test_a_ticket_opened_at_night_starts_at_the_next_opening():
    night = open_ticket(opened(tehran(2026, 3, 17, 23)), 1, DEFAULT).state
    morning = open_ticket(opened(tehran(2026, 3, 18, 9)), 1, DEFAULT).state
    due = night.open_clock(Target.FIRST_RESPONSE).deadline
    assert due == morning.open_clock(Target.FIRST_RESPONSE).deadline
    assert due == tehran(2026, 3, 28, 17)  # a deadline on closing time stays 17:00


def test_follow_up_tickets_get_the_follow_up_target():
    state = open_ticket(opened(follow_up=True), 1, DEFAULT).state
    first = state.open_clock(Target.FIRST_RESPONSE)
    assert first.target_seconds == 72 * HOUR and first.deadline == tehran(2026, 4, 7, 16)


def test_a_ticket_cannot_be_opened_twice_or_used_before_opening():
    ticket = Ticket()
    with pytest.raises(SlaStateError):
        ticket.feed(opened())
    with pytest.raises(SlaStateError):
        apply(None, facts.Closed(OPENED), 1, RulesTable())


# -- replies --------------------------------------------------------------------------


def test_first_staff_reply_meets_first_response_and_pauses_resolution():
    ticket = Ticket()
    events = ticket.feed(facts.Replied("agent", OPENED + 1800))
    assert types(events) == ["SlaMet", "SlaTargetsSet"]
    met = events[0]
    assert met.target == "first_response" and met.business_seconds == 1800
    assert met.deadline == DUE_24H and met.met_at == OPENED + 1800
    assert events[1].reason == "answered"
    assert [(v.target, v.status, v.deadline) for v in events[1].targets] == [
        ("resolution", "paused", None)
    ]
    assert ticket.clock(Target.RESOLUTION).used == 1800
    assert ticket.state.phase == Phase.AWAITING_CUSTOMER and ticket.state.responded
    [measure] = ticket.steps[-1].measurements
    assert (measure.metric, measure.seconds) == ("first_response", 1800)


def test_internal_notes_and_robots_are_no_response():
    ticket = Ticket()
    assert ticket.feed(facts.Ignored("InternalNotePosted")) == []
    assert ticket.feed(facts.Replied("system", OPENED + 60)) == []
    assert ticket.clock(Target.FIRST_RESPONSE).is_running
    assert ticket.state.version == 3


@pytest.mark.parametrize("role", ["agent", "supervisor", "admin"])
def test_every_staff_role_answers(role):
    ticket = Ticket()
    assert "SlaMet" in types(ticket.feed(facts.Replied(role, OPENED + 60)))


def test_a_late_reply_records_the_breach_at_the_deadline_and_no_met():
    ticket = Ticket()
    events = ticket.feed(facts.Replied("agent", DUE_24H + HOUR))
    assert types(events) == ["SlaBreached", "SlaTargetsSet"]
    assert events[0].breached_at == DUE_24H and events[0].deadline == DUE_24H
    assert ticket.clock(Target.FIRST_RESPONSE).status == ClockStatus.BREACHED
    [measure] = ticket.steps[-1].measurements
    assert measure.seconds == 25 * HOUR  # reported, breached or not


def test_next_reply_counts_from_the_oldest_unanswered_message():
    ticket = Ticket()
    ticket.feed(facts.Replied("agent", OPENED + 1800))
    first_message = tehran(2026, 3, 25, 10)
    events = ticket.feed(facts.Replied("customer", first_message))
    assert types(events) == ["SlaTargetsSet"] and events[0].reason == "customer_replied"
    following = ticket.clock(Target.NEXT_REPLY)
    assert following.started_at == first_message
    assert following.deadline == tehran(2026, 3, 30, 10)  # 7 h Wed, 8 Sat, 8 Sun, 1 Mon
    resolution = ticket.clock(Target.RESOLUTION)
    assert resolution.is_running and resolution.used == 1800
    # A second customer message neither restarts nor moves anything.
    assert ticket.feed(facts.Replied("customer", tehran(2026, 3, 28, 12))) == []
    assert ticket.clock(Target.NEXT_REPLY) == following

    events = ticket.feed(facts.Replied("agent", tehran(2026, 3, 28, 14)))
    assert types(events) == ["SlaMet", "SlaTargetsSet"]
    assert events[0].target == "next_reply" and events[0].business_seconds == 7 * HOUR + 5 * HOUR
    ticket.feed(facts.Replied("customer", tehran(2026, 3, 29, 9)))
    assert ticket.clock(Target.NEXT_REPLY, 2).is_running


def test_a_customer_reply_during_first_response_starts_no_next_reply():
    ticket = Ticket()
    assert ticket.feed(facts.Replied("customer", OPENED + 60)) == []
    assert ticket.state.open_clock(Target.NEXT_REPLY) is None


# -- claims, close, merge, reopen ---------------------------------------------------------


def test_claims_and_transfers_set_who_holds_the_ticket():
    ticket = Ticket()
    ticket.feed(facts.Claimed("agent-7", OPENED + 60))
    assert ticket.state.assignee_id == "agent-7"
    [warning] = ticket.scan(WARN_24H)
    assert warning.ticket.assignee_id == "agent-7"
    ticket.feed(facts.Released(OPENED + 120))
    assert ticket.state.assignee_id is None
    ticket.feed(facts.Claimed("agent-8", OPENED + 180))
    ticket.feed(facts.Transferred("billing", OPENED + 240))
    assert ticket.state.assignee_id is None and ticket.state.department == "billing"


def test_close_stops_the_response_targets_and_meets_resolution():
    ticket = Ticket()
    events = ticket.feed(facts.Closed(OPENED + 1800))
    assert types(events) == ["SlaMet", "SlaTargetsSet"]
    assert events[0].target == "resolution" and events[0].business_seconds == 1800
    assert events[1].reason == "closed" and events[1].targets == ()
    assert ticket.clock(Target.FIRST_RESPONSE).status == ClockStatus.STOPPED
    assert ticket.state.next_due_at is None
    [measure] = ticket.steps[-1].measurements
    assert measure.metric == "resolution"
    assert ticket.feed(facts.Closed(OPENED + 3600)) == []  # closing twice changes nothing


def test_closing_while_answered_meets_the_paused_resolution():
    ticket = Ticket()
    ticket.feed(facts.Replied("agent", OPENED + 600))
    events = ticket.feed(facts.Closed(tehran(2026, 4, 20, 10)))
    [met] = [e for e in events if isinstance(e, SlaMet)]
    assert met.business_seconds == 600 and met.deadline is None


def test_a_merged_duplicate_stops_without_a_verdict():
    ticket = Ticket()
    events = ticket.feed(facts.Merged(OPENED + 600))
    assert types(events) == ["SlaTargetsSet"] and events[0].reason == "merged"
    assert {c.status for c in ticket.state.clocks} == {ClockStatus.STOPPED}
    assert ticket.steps[-1].measurements == ()


def test_reopening_starts_new_resolution_and_next_reply_cycles():
    ticket = Ticket()
    ticket.feed(facts.Replied("agent", OPENED + 600))
    ticket.feed(facts.Closed(OPENED + 900))
    reopened_at = tehran(2026, 3, 25, 10)
    events = ticket.feed(facts.Reopened(reopened_at))
    assert types(events) == ["SlaTargetsSet"] and events[0].reason == "reopened"
    resolution = ticket.clock(Target.RESOLUTION, 2)
    assert resolution.used == 0 and resolution.started_at == reopened_at
    assert ticket.clock(Target.NEXT_REPLY, 1).started_at == reopened_at
    assert ticket.clock(Target.RESOLUTION, 1).status == ClockStatus.MET
    # The customer's reply that reopened it follows and does not restart next reply.
    assert ticket.feed(facts.Replied("customer", reopened_at)) == []
    assert ticket.feed(facts.Reopened(reopened_at + 60)) == []  # not closed: nothing


# -- re-targeting -------------------------------------------------------------------------


def test_priority_change_recomputes_from_the_business_time_used():
    table = RulesTable()
    table.by_priority["urgent"] = Policy(first_response=4 * HOUR)
    ticket = Ticket(table)
    events = ticket.feed(facts.PriorityChanged("urgent", tehran(2026, 3, 25, 10)))
    assert types(events) == ["SlaTargetsSet"] and events[0].reason == "priority_changed"
    first = ticket.clock(Target.FIRST_RESPONSE)
    assert first.used == 2 * HOUR and first.target_seconds == 4 * HOUR
    assert first.deadline == tehran(2026, 3, 25, 12)
    assert ticket.state.priority == "urgent"


def test_priority_change_past_the_new_target_breaches_at_the_change():
    table = RulesTable()
    table.by_priority["urgent"] = Policy(first_response=HOUR)
    ticket = Ticket(table)
    change = tehran(2026, 3, 25, 13)  # 5 h used
    events = ticket.feed(facts.PriorityChanged("urgent", change))
    assert types(events) == ["SlaTargetsSet", "SlaBreached"]
    assert events[1].breached_at == change and events[1].deadline == change
    assert ticket.scan(change + 10 * HOUR) == []  # never twice


def test_a_breach_before_the_change_keeps_its_own_deadline():
    table = RulesTable()
    table.by_priority["urgent"] = Policy(first_response=HOUR)
    ticket = Ticket(table)
    events = ticket.feed(facts.PriorityChanged("urgent", DUE_24H + HOUR))
    assert types(events)[0] == "SlaBreached" and events[0].breached_at == DUE_24H


def test_transfer_measures_the_past_on_the_old_calendar():
    ticket = Ticket(RulesTable(noc=ALWAYS))
    change = tehran(2026, 3, 18, 20)  # 1 h used on the default calendar, closed since 17:00
    ticket.feed(facts.Transferred("noc", change))
    first = ticket.clock(Target.FIRST_RESPONSE)
    assert first.used == HOUR and ticket.state.calendar_id == "always"
    assert first.deadline == change + 23 * HOUR


def test_admin_recompute_measures_used_time_on_the_old_calendar():
    ticket = Ticket()
    closure = BusinessCalendar.from_config({"holidays": {"add": ["1405-01-05"]}})
    new_rules = Rules("default", business_time(closure), Policy())
    step = recompute(ticket.state, tehran(2026, 3, 18, 18), DEFAULT.engine, new_rules, "x")
    assert step.state.open_clock(Target.FIRST_RESPONSE).deadline == tehran(2026, 3, 30, 16)
    assert types(step.events) == ["SlaTargetsSet"] and step.events[0].reason == "x"
    # The same rules again: nothing to announce, the same deadlines; the segment start
    # moves to the change, so later time is measured on the calendar now in force.
    again = recompute(step.state, tehran(2026, 3, 18, 19), new_rules.engine, new_rules, "x")
    assert again.events == ()
    assert [c.deadline for c in again.state.clocks] == [c.deadline for c in step.state.clocks]
    assert {c.running_since for c in again.state.clocks} == {tehran(2026, 3, 18, 19)}


def test_admin_recompute_refuses_an_unreachable_target():
    ticket = Ticket()
    short = Rules("default", business_time(BusinessCalendar(horizon_days=1)), Policy())
    with pytest.raises(TargetUnreachableError):
        recompute(ticket.state, OPENED + 60, DEFAULT.engine, short, "x")
    lenient = recompute(ticket.state, OPENED + 60, DEFAULT.engine, short, "x", strict=False)
    assert lenient.state.open_clock(Target.FIRST_RESPONSE).deadline is None
    assert lenient.state.next_due_at is None


# -- the timer -----------------------------------------------------------------------------


def test_scans_warn_and_breach_each_once():
    ticket = Ticket()
    assert ticket.scan(WARN_24H - 1) == []
    [warning] = ticket.scan(WARN_24H + 5)
    assert isinstance(warning, SlaWarning)
    assert warning.warned_at == WARN_24H and warning.used_seconds == int(19.2 * HOUR)
    assert ticket.scan(WARN_24H + 10) == []
    assert ticket.state.next_due_at == DUE_24H
    [breach] = ticket.scan(DUE_24H)
    assert isinstance(breach, SlaBreached) and breach.breached_at == DUE_24H
    assert ticket.scan(DUE_24H + HOUR) == []
    # Next: resolution's warning, 96 of 120 h (12 and 13 Farvardin are holidays).
    assert ticket.state.next_due_at == tehran(2026, 4, 12, 16)


def test_a_warning_found_with_its_breach_is_skipped():
    ticket = Ticket()
    [breach] = ticket.scan(DUE_24H + 60)
    assert isinstance(breach, SlaBreached)
    assert ticket.clock(Target.FIRST_RESPONSE).warned_at is None


def test_paused_clocks_are_never_due():
    ticket = Ticket()
    ticket.feed(facts.Replied("agent", OPENED + 60))
    assert ticket.state.next_due_at is None
    assert ticket.scan(tehran(2027, 1, 1)) == []


def test_outside_hours_breaches_are_held_until_the_next_opening():
    table = RulesTable()
    table.by_priority["urgent"] = Policy(first_response=HOUR)
    ticket = Ticket(table)
    night = tehran(2026, 3, 18, 22)
    [_, breach] = ticket.feed(facts.PriorityChanged("urgent", night))
    assert breach.breached_at == night
    assert breach.notify_at == tehran(2026, 3, 25, 9)  # after Thursday, Friday and Nowruz

    table.by_priority["high"] = Policy(first_response=HOUR, notify_outside_hours=True)
    other = Ticket(table)
    [_, breach] = other.feed(facts.PriorityChanged("high", night))
    assert breach.notify_at == night


# -- order and time ------------------------------------------------------------------------


def test_an_event_stamped_before_the_clock_started_counts_no_time():
    ticket = Ticket()
    events = ticket.feed(facts.Replied("agent", OPENED - 30))
    [met] = [e for e in events if isinstance(e, SlaMet)]
    assert met.business_seconds == 0


def test_the_applied_version_follows_the_stream():
    ticket = Ticket()
    for fact in (facts.Ignored("AttachmentAdded"), facts.Claimed("a", OPENED + 1)):
        ticket.feed(fact)
    assert ticket.state.version == 3
    step = apply(ticket.state, facts.Ignored("SatisfactionRated"), 9, ticket.rules_for)
    assert step.state.version == 9 and step.events == ()
    assert replace(step.state, version=3) == ticket.state


def test_a_breach_found_at_a_change_describes_the_ticket_before_it():
    table = RulesTable()
    table.by_priority["urgent"] = Policy(first_response=HOUR)
    ticket = Ticket(table)
    events = ticket.feed(facts.PriorityChanged("urgent", DUE_24H + HOUR))
    assert events[0].ticket.priority == "normal"
    assert ticket.state.priority == "urgent"


def test_a_reopened_ticket_runs_on_its_departments_calendar_now():
    table = RulesTable()
    ticket = Ticket(table, department="noc")
    ticket.feed(facts.Closed(OPENED + 60))
    table.by_department["noc"] = ALWAYS  # bound to 24/7 while the ticket was closed
    ticket.feed(facts.Reopened(tehran(2026, 3, 18, 20)))
    assert ticket.state.calendar_id == "always"
    assert ticket.clock(Target.NEXT_REPLY).deadline == tehran(2026, 3, 19, 20)
