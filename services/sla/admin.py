"""Changing calendars, holidays, bindings and policies: each change is an event, and
the open clocks it touches are re-targeted at once, in the same transaction.

A change takes the rules lock exclusively (handlers and scans wait for the moment it
takes), loads the rules before and after, and re-lays every affected open clock: the
business time used so far is measured on the old calendar, the rest on the new one,
and a target the change leaves exceeded is breached at the change, never back-dated.
If the new rules cannot reach some open clock's deadline within the calendar's
horizon, the whole change is refused (``target_unreachable``) and nothing is kept.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import date
from typing import Any

from pasokh_common.context import CallContext
from pasokh_common.eventlog import EventMetadata
from pasokh_common.validation import load

import psycopg

from services.sla import repository as repo
from services.sla.actors import Actor, metadata_for, require_admin, require_policy_rights
from services.sla.calendar import BusinessCalendar, CalendarError
from services.sla.calendar.dates import jalali_text, parse_date
from services.sla.deps import Dependencies
from services.sla.domain import ticket
from services.sla.domain.errors import CalendarNotFound, PolicyNotFound, from_calendar_error
from services.sla.domain.events import (
    CalendarSaved,
    CalendarSettings,
    DepartmentCalendarBound,
    HolidayOverrideCleared,
    HolidayOverrideSet,
    RulesChange,
    SlaPolicyRemoved,
    SlaPolicySet,
)
from services.sla.domain.policy import ANY_DEPARTMENT
from services.sla.recorder import append_rules_event, append_ticket_batches, observe
from services.sla.rules import RulesBook
from services.sla.schemas import (
    BindingSchema,
    CalendarSchema,
    ClearHolidaySchema,
    HolidaySchema,
    PolicySchema,
    RemovePolicySchema,
)

Scope = dict[str, str | None]
WRITE_BATCH = 1000


def recompute_open(
    tx: psycopg.Connection,
    scope: Scope,
    old: RulesBook,
    new: RulesBook,
    at: int,
    reason: str,
    metadata: EventMetadata,
) -> int:
    """Re-target the open tickets in ``scope`` at ``at``; returns how many changed.

    Written in batches (pipelined), since the rules lock is held meanwhile."""
    changed = []
    for stored in repo.lock_open_tickets(tx, **scope):
        state = stored.state
        old_engine = old.engine(state.calendar_id)
        new_rules = new.rules_for(state.priority, state.department)
        step = ticket.recompute(state, at, old_engine, new_rules, reason, strict=True)
        if step.state != state:
            changed.append((stored, step))
    for start in range(0, len(changed), WRITE_BATCH):
        chunk = changed[start : start + WRITE_BATCH]
        heads = append_ticket_batches(
            tx,
            [(s.state.ticket_id, s.sla_version, step.events) for s, step in chunk],
            metadata,
        )
        repo.save_tickets(
            tx,
            [repo.TicketWrite(step.state, heads[s.state.ticket_id], s.state) for s, step in chunk],
        )
    for _, step in changed:
        observe(step.events, step.measurements)
    return len(changed)


class RulesAdmin:
    def __init__(self, deps: Dependencies) -> None:
        self.deps = deps

    # -- calendars -------------------------------------------------------------------

    def save_calendar(self, actor: Any, payload: Any, context: CallContext | None) -> dict:
        who = Actor.parse(actor)
        require_admin(who)
        values = load(CalendarSchema(), payload)
        calendar_id, name = values.pop("calendar_id"), values.pop("name")
        settings = {k: v for k, v in values.items() if v is not None}
        _check_calendar(settings)

        def change(tx: psycopg.Connection) -> dict:
            created = repo.upsert_calendar(tx, calendar_id, name, settings)
            return {
                "calendar_id": calendar_id,
                "name": name,
                "settings": settings,
                "created": created,
            }

        return self._change(
            who,
            context,
            CalendarSaved,
            change,
            {"calendar_id": calendar_id},
            "calendar_changed",
        )

    def set_holiday(self, actor: Any, payload: Any, context: CallContext | None) -> dict:
        who = Actor.parse(actor)
        require_admin(who)
        values = load(HolidaySchema(), payload)
        calendar_id = values["calendar_id"]
        day = _date(values["date"])

        def change(tx: psycopg.Connection) -> dict:
            _require_calendar(tx, calendar_id)
            repo.set_override(
                tx, calendar_id, day, values["closed"], values["name_fa"], values["name_en"]
            )
            return {
                "calendar_id": calendar_id,
                "date": day.isoformat(),
                "jalali": jalali_text(day),
                "closed": values["closed"],
                "name_fa": values["name_fa"],
                "name_en": values["name_en"],
            }

        return self._change(
            who,
            context,
            HolidayOverrideSet,
            change,
            {"calendar_id": calendar_id},
            "calendar_changed",
        )

    def clear_holiday(self, actor: Any, payload: Any, context: CallContext | None) -> dict:
        who = Actor.parse(actor)
        require_admin(who)
        values = load(ClearHolidaySchema(), payload)
        calendar_id = values["calendar_id"]
        day = _date(values["date"])

        def change(tx: psycopg.Connection) -> dict:
            _require_calendar(tx, calendar_id)
            existed = repo.clear_override(tx, calendar_id, day)
            return {
                "calendar_id": calendar_id,
                "date": day.isoformat(),
                "jalali": jalali_text(day),
                "existed": existed,
            }

        return self._change(
            who,
            context,
            HolidayOverrideCleared,
            change,
            {"calendar_id": calendar_id},
            "calendar_changed",
        )

    def bind_department(self, actor: Any, payload: Any, context: CallContext | None) -> dict:
        who = Actor.parse(actor)
        require_admin(who)
        values = load(BindingSchema(), payload)

        def change(tx: psycopg.Connection) -> dict:
            _require_calendar(tx, values["calendar_id"])
            repo.bind_department(tx, values["department"], values["calendar_id"])
            return dict(values)

        return self._change(
            who,
            context,
            DepartmentCalendarBound,
            change,
            {"department": values["department"]},
            "calendar_changed",
        )

    # -- policies --------------------------------------------------------------------

    def save_policy(self, actor: Any, payload: Any, context: CallContext | None) -> dict:
        who = Actor.parse(actor)
        values = load(PolicySchema(), payload)
        department = values["department"]
        require_policy_rights(who, department)
        row = {**values, "department": department or ANY_DEPARTMENT}

        def change(tx: psycopg.Connection) -> dict:
            repo.upsert_policy(tx, row)
            return dict(row)

        return self._change(
            who,
            context,
            SlaPolicySet,
            change,
            {"priority": row["priority"], "department": department},
            "policy_changed",
        )

    def remove_policy(self, actor: Any, payload: Any, context: CallContext | None) -> dict:
        """Only a department's own policy can go; it falls back to the '*' one."""
        who = Actor.parse(actor)
        values = load(RemovePolicySchema(), payload)
        require_policy_rights(who, values["department"])

        def change(tx: psycopg.Connection) -> dict:
            if not repo.delete_policy(tx, values["priority"], values["department"]):
                raise PolicyNotFound(
                    f"no policy for {values['priority']} in {values['department']}"
                )
            return dict(values)

        return self._change(
            who,
            context,
            SlaPolicyRemoved,
            change,
            {"priority": values["priority"], "department": values["department"]},
            "policy_changed",
        )

    # -- the one way a change is made ----------------------------------------------

    def _change(
        self,
        who: Actor,
        context: CallContext | None,
        event_class: type[RulesChange],
        mutate: Callable[[psycopg.Connection], dict],
        scope: Scope,
        reason: str,
    ) -> dict:
        metadata = metadata_for(who, context)
        try:
            with self.deps.pool.transaction() as tx:
                repo.lock_rules(tx, exclusive=True)
                old = self.deps.rules.load(tx)
                data = mutate(tx)
                repo.bump_rules_version(tx)
                new = self.deps.rules.load(tx)
                now = self.deps.clock.now()
                recomputed = recompute_open(tx, scope, old, new, now, reason, metadata)
                event = _rules_event(event_class, {**data, "changed_at": now})
                append_rules_event(tx, event, metadata)
        except CalendarError as error:
            raise from_calendar_error(error) from error
        return {**event.to_data(), "recomputed_tickets": recomputed}


def _rules_event(event_class: type[RulesChange], data: dict[str, Any]) -> RulesChange:
    if event_class is CalendarSaved:
        data = {**data, "settings": CalendarSettings.from_settings(data["settings"])}
    return event_class(**data)


def _check_calendar(settings: dict[str, Any]) -> None:
    """Build the calendar once before anything is written: its own errors, by name."""
    try:
        BusinessCalendar.from_config(settings)
    except CalendarError as error:
        raise from_calendar_error(error) from error


def _date(text: str) -> date:
    try:
        return parse_date(text)
    except CalendarError as error:
        raise from_calendar_error(error) from error


def _require_calendar(tx: psycopg.Connection, calendar_id: str) -> None:
    if not repo.calendar_exists(tx, calendar_id):
        raise CalendarNotFound(f"no calendar {calendar_id!r}")
