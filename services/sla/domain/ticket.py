"""The SLA state machine of one ticket: its clocks and how ticket events move them.

Pure: every function takes the state, a fact (or the instant of a scan or a change) and
the rules (calendar engine and policy), and returns a ``Step``: the new state, the SLA
events to record, and the measurements for the reports. Nothing depends on when the
code runs, only on the instants in the facts, so replicas and replays agree. The caller
stores the state and appends the events in one transaction.

The life of the targets (docs/sla.md has the table):
- ``first_response`` runs from the opening to the first public staff reply;
- ``next_reply`` runs from the *oldest unanswered* customer message to the next
  public staff reply (further customer messages do not restart it);
- ``resolution`` runs from the opening to the close, paused while the ticket waits on
  the customer; a reopened ticket starts a new resolution cycle.
A staff reply after a deadline ends that target as breached (never met); closing stops
first response and next reply without a verdict and meets (or breaches) resolution.
Priority, department and rules changes re-target the open clocks from the business
time already used; what is exceeded at the change breaches at the change.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from enum import StrEnum

from services.sla.calendar import BusinessTime
from services.sla.domain import facts
from services.sla.domain.events import (
    SlaBreached,
    SlaEvent,
    SlaMet,
    SlaTargetsSet,
    SlaWarning,
    TargetView,
    TicketRef,
)
from services.sla.domain.layout import (
    breach_due,
    elapsed,
    end,
    lay_out,
    notify_at,
    pause,
    resume,
    settle,
    warning_due,
)
from services.sla.domain.policy import Rules, RulesFor
from services.sla.domain.targets import Clock, ClockStatus, Target


class Phase(StrEnum):
    """Whose move it is, as far as the clocks care."""

    AWAITING_US = "awaiting_us"
    AWAITING_CUSTOMER = "awaiting_customer"
    CLOSED = "closed"


class SlaStateError(ValueError):
    """A ticket stream that cannot be applied (events of a ticket never opened)."""


@dataclass(frozen=True)
class Measurement:
    """A business-time duration for the reports: ``first_response`` or ``resolution``."""

    metric: str
    department: str
    priority: str
    seconds: int


@dataclass(frozen=True)
class TicketSla:
    ticket_id: str
    department: str
    priority: str
    needs_follow_up: bool
    calendar_id: str
    phase: Phase
    responded: bool
    version: int
    opened_at: int
    assignee_id: str | None = None
    number: str | None = None
    clocks: tuple[Clock, ...] = ()

    def open_clock(self, target: Target) -> Clock | None:
        return next((c for c in self.clocks if c.target == target and c.is_open), None)

    def next_cycle(self, target: Target) -> int:
        return 1 + max((c.cycle for c in self.clocks if c.target == target), default=0)

    def with_clock(self, clock: Clock) -> TicketSla:
        others = tuple(c for c in self.clocks if c.key != clock.key)
        ordered = sorted((*others, clock), key=lambda c: (c.started_at, c.target, c.cycle))
        return replace(self, clocks=tuple(ordered))

    @property
    def next_due_at(self) -> int | None:
        """When the timer must next look at this ticket (indexed in the database)."""
        return min((due for c in self.clocks if (due := c.due_at()) is not None), default=None)

    @property
    def ref(self) -> TicketRef:
        return TicketRef(
            self.ticket_id,
            self.department,
            self.priority,
            self.calendar_id,
            self.assignee_id,
            self.number,
        )


@dataclass(frozen=True)
class Step:
    state: TicketSla
    events: tuple[SlaEvent, ...] = ()
    measurements: tuple[Measurement, ...] = field(default_factory=tuple)


def _snapshot(state: TicketSla) -> tuple:
    return tuple(
        (c.target, c.cycle, c.status, c.deadline, c.target_seconds)
        for c in state.clocks
        if c.is_open
    )


class _Draft:
    """The step being built: the state so far and what it produced, in order."""

    def __init__(self, state: TicketSla, rules: Rules) -> None:
        self.state = state
        self.rules = rules
        self.events: list[SlaEvent] = []
        self.measurements: list[Measurement] = []
        self.announced = _snapshot(state)

    @property
    def engine(self) -> BusinessTime:
        return self.rules.engine

    def put(self, clock: Clock) -> None:
        self.state = self.state.with_clock(clock)

    def start(self, target: Target, at: int) -> None:
        seconds = self.rules.policy.seconds_for(target, self.state.needs_follow_up)
        clock = Clock(
            target=target,
            cycle=self.state.next_cycle(target),
            target_seconds=seconds,
            started_at=at,
            running_since=at,
        )
        self.put(lay_out(clock, self.engine, self.rules.policy))

    def advance(self, at: int, warnings: bool = False) -> None:
        """Record the breaches (and, for the timer, the warnings) due by ``at``."""
        policy = self.rules.policy
        for clock in self.state.clocks:
            if breach_due(clock, at):
                assert clock.deadline is not None
                self.put(replace(clock, breached_at=clock.deadline))
                self.events.append(
                    SlaBreached(
                        ticket=self.state.ref,
                        target=clock.target.value,
                        cycle=clock.cycle,
                        deadline=clock.deadline,
                        target_seconds=clock.target_seconds,
                        breached_at=clock.deadline,
                        notify_at=notify_at(
                            self.engine, clock.deadline, policy.notify_outside_hours
                        ),
                    )
                )
            elif warnings and warning_due(clock, at):
                assert clock.warn_at is not None and clock.deadline is not None
                self.put(replace(clock, warned_at=clock.warn_at))
                self.events.append(
                    SlaWarning(
                        ticket=self.state.ref,
                        target=clock.target.value,
                        cycle=clock.cycle,
                        deadline=clock.deadline,
                        target_seconds=clock.target_seconds,
                        warned_at=clock.warn_at,
                        notify_at=notify_at(
                            self.engine, clock.warn_at, policy.notify_outside_hours
                        ),
                        used_seconds=elapsed(clock, self.engine, clock.warn_at),
                    )
                )

    def finish(self, clock: Clock, at: int, verdict: ClockStatus, metric: str | None) -> None:
        """End ``clock`` at ``at``; SlaMet only for a verdict of met that still holds."""
        used = elapsed(clock, self.engine, at)
        ended = end(clock, self.engine, at, verdict)
        self.put(ended)
        if ended.status == ClockStatus.MET:
            self.events.append(
                SlaMet(
                    ticket=self.state.ref,
                    target=clock.target.value,
                    cycle=clock.cycle,
                    deadline=clock.deadline,
                    target_seconds=clock.target_seconds,
                    met_at=at,
                    business_seconds=used,
                )
            )
        if metric is not None and ended.status in (ClockStatus.MET, ClockStatus.BREACHED):
            self.measurements.append(
                Measurement(metric, self.state.department, self.state.priority, used)
            )

    def announce(self, reason: str, at: int) -> None:
        """SlaTargetsSet when the open targets or their deadlines changed."""
        snapshot = _snapshot(self.state)
        if snapshot == self.announced:
            return
        self.announced = snapshot
        views = tuple(
            TargetView(
                target=c.target.value,
                cycle=c.cycle,
                status=c.status.value,
                started_at=c.started_at,
                deadline=c.deadline,
                target_seconds=c.target_seconds,
                used_seconds=elapsed(c, self.engine, at),
            )
            for c in self.state.clocks
            if c.is_open
        )
        self.events.append(SlaTargetsSet(self.state.ref, reason, at, views))

    def step(self) -> Step:
        return Step(self.state, tuple(self.events), tuple(self.measurements))


# -- transitions ------------------------------------------------------------------------


def open_ticket(fact: facts.Opened, version: int, rules: Rules) -> Step:
    """First response and resolution start at the opening instant; a ticket opened at
    night or on a holiday uses no business time until the next opening (the
    arithmetic counts from there), which is what "starts at the next opening" means."""
    state = TicketSla(
        ticket_id=fact.ticket_id,
        department=fact.department,
        priority=fact.priority,
        needs_follow_up=fact.needs_follow_up,
        calendar_id=rules.calendar_id,
        phase=Phase.AWAITING_US,
        responded=False,
        version=version,
        opened_at=fact.at,
        number=fact.number,
    )
    draft = _Draft(state, rules)
    draft.start(Target.FIRST_RESPONSE, fact.at)
    draft.start(Target.RESOLUTION, fact.at)
    draft.announce("opened", fact.at)
    draft.advance(fact.at)
    return draft.step()


def apply(state: TicketSla | None, fact: facts.Fact, version: int, rules_for: RulesFor) -> Step:
    """Apply the ticket event with stream ``version`` (the caller applies versions in
    order, each once)."""
    if isinstance(fact, facts.Opened):
        if state is not None:
            raise SlaStateError(f"ticket {state.ticket_id} was already opened")
        return open_ticket(fact, version, rules_for(fact.priority, fact.department))
    if state is None:
        raise SlaStateError(f"{type(fact).__name__} for a ticket that was never opened")
    rules = rules_for(state.priority, state.department)
    # A closed ticket is not re-targeted by rules changes (it has no open clock), so the
    # calendar it names may be stale by the time it is reopened: take the current one.
    draft = _Draft(replace(state, version=version, calendar_id=rules.calendar_id), rules)
    if isinstance(fact, facts.Replied):
        if fact.by_customer:
            _customer_replied(draft, fact.at)
        elif fact.by_staff:
            _staff_replied(draft, fact.at)
    elif isinstance(fact, facts.Claimed):
        draft.state = replace(draft.state, assignee_id=fact.agent_id)
    elif isinstance(fact, facts.Released):
        draft.state = replace(draft.state, assignee_id=None)
    elif isinstance(fact, facts.PriorityChanged):
        new_rules = rules_for(fact.priority, draft.state.department)
        _rerule(draft, fact.at, draft.engine, new_rules, "priority_changed", priority=fact.priority)
    elif isinstance(fact, facts.Transferred):
        new_rules = rules_for(draft.state.priority, fact.department)
        _rerule(
            draft,
            fact.at,
            draft.engine,
            new_rules,
            "transferred",
            department=fact.department,
            assignee_id=None,
        )
    elif isinstance(fact, facts.Closed):
        _closed(draft, fact.at, merged=False)
    elif isinstance(fact, facts.Merged):
        _closed(draft, fact.at, merged=True)
    elif isinstance(fact, facts.Reopened):
        _reopened(draft, fact.at)
    return draft.step()


def fire_due(state: TicketSla, rules: Rules, now: int) -> Step:
    """The timer's work: warnings and breaches due by ``now``, each once."""
    draft = _Draft(state, rules)
    draft.advance(now, warnings=True)
    return draft.step()


def recompute(
    state: TicketSla,
    at: int,
    old_engine: BusinessTime,
    new_rules: Rules,
    reason: str,
    strict: bool = True,
) -> Step:
    """Re-target the open clocks after an admin change at ``at``: the business time used
    so far is measured on ``old_engine`` (the calendar in force until now), the rest
    is laid out on the new rules. ``strict`` refuses a calendar that cannot meet a
    target within its horizon (TargetUnreachableError), so the change can be refused
    as a whole."""
    draft = _Draft(state, Rules(state.calendar_id, old_engine, new_rules.policy))
    _rerule(draft, at, old_engine, new_rules, reason, strict=strict)
    return draft.step()


def _customer_replied(draft: _Draft, at: int) -> None:
    if draft.state.phase != Phase.AWAITING_CUSTOMER:
        return  # already waiting on us: the oldest unanswered message keeps counting
    responded = draft.state.responded
    draft.state = replace(draft.state, phase=Phase.AWAITING_US)
    resolution = draft.state.open_clock(Target.RESOLUTION)
    if resolution is not None and resolution.status == ClockStatus.PAUSED:
        draft.put(resume(resolution, draft.engine, draft.rules.policy, at))
    if responded and draft.state.open_clock(Target.NEXT_REPLY) is None:
        draft.start(Target.NEXT_REPLY, at)
    draft.announce("customer_replied", at)
    draft.advance(at)


def _staff_replied(draft: _Draft, at: int) -> None:
    if draft.state.phase == Phase.CLOSED:
        return
    draft.advance(at)
    first = draft.state.open_clock(Target.FIRST_RESPONSE)
    if first is not None:
        draft.finish(first, at, ClockStatus.MET, "first_response")
    following = draft.state.open_clock(Target.NEXT_REPLY)
    if following is not None:
        draft.finish(following, at, ClockStatus.MET, None)
    resolution = draft.state.open_clock(Target.RESOLUTION)
    if resolution is not None and resolution.is_running:
        draft.put(pause(resolution, draft.engine, at))
    draft.state = replace(draft.state, phase=Phase.AWAITING_CUSTOMER, responded=True)
    draft.announce("answered", at)


def _closed(draft: _Draft, at: int, merged: bool) -> None:
    if draft.state.phase == Phase.CLOSED:
        return
    draft.advance(at)
    for target in (Target.FIRST_RESPONSE, Target.NEXT_REPLY):
        clock = draft.state.open_clock(target)
        if clock is not None:
            draft.finish(clock, at, ClockStatus.STOPPED, None)
    resolution = draft.state.open_clock(Target.RESOLUTION)
    if resolution is not None:
        if merged:
            draft.finish(resolution, at, ClockStatus.STOPPED, None)
        else:
            draft.finish(resolution, at, ClockStatus.MET, "resolution")
    draft.state = replace(draft.state, phase=Phase.CLOSED)
    draft.announce("merged" if merged else "closed", at)


def _reopened(draft: _Draft, at: int) -> None:
    """A reopened ticket waits on us again: a new resolution cycle, and a next-reply
    cycle from the reopening (the customer's reply that reopened it, if any, follows
    and does not restart it)."""
    if draft.state.phase != Phase.CLOSED:
        return
    draft.state = replace(draft.state, phase=Phase.AWAITING_US)
    draft.start(Target.RESOLUTION, at)
    draft.start(Target.NEXT_REPLY, at)
    draft.announce("reopened", at)
    draft.advance(at)


def _rerule(
    draft: _Draft,
    at: int,
    old_engine: BusinessTime,
    new_rules: Rules,
    reason: str,
    strict: bool = False,
    **changes: object,
) -> None:
    """Re-target the open clocks at ``at``; ``changes`` (the new priority, department)
    apply after the breaches already due, which are facts about the ticket as it was."""
    draft.advance(at)  # breaches due before the change keep their own deadlines
    draft.state = replace(draft.state, **changes)  # type: ignore[arg-type]
    needs_follow_up = draft.state.needs_follow_up
    for clock in draft.state.clocks:
        if not clock.is_open:
            continue
        settled = settle(clock, old_engine, at)
        seconds = new_rules.policy.seconds_for(clock.target, needs_follow_up)
        retargeted = replace(settled, target_seconds=seconds)
        draft.put(lay_out(retargeted, new_rules.engine, new_rules.policy, strict))
    draft.rules = new_rules
    draft.state = replace(draft.state, calendar_id=new_rules.calendar_id)
    draft.announce(reason, at)
    draft.advance(at)  # what the change leaves exceeded breaches now, at the change
