"""Read-only RPC answers: a ticket's deadlines, business-time arithmetic, calendars.

Instants go out three ways, so no caller converts time zones: ``utc`` (ISO-8601, as
events carry them), ``local`` (ISO-8601 in the calendar's zone) and ``jalali``
(``1405-01-09 16:00`` local), which is what the UI shows as "answer due by".
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any
from zoneinfo import ZoneInfo

from pasokh_common.validation import load

import jdatetime

from services.sla import repository as repo
from services.sla.calendar import (
    BusinessCalendar,
    BusinessTime,
    CalendarError,
    month_view,
    to_epoch,
)
from services.sla.deps import Dependencies
from services.sla.domain.errors import CalendarNotFound, TicketNotTracked, from_calendar_error
from services.sla.domain.layout import elapsed
from services.sla.domain.targets import Clock
from services.sla.rules import RulesBook
from services.sla.schemas import (
    BetweenSchema,
    DepartmentReportSchema,
    InstantSchema,
    MonthSchema,
)

REPORT_WINDOW_DAYS = 30


def instant_view(t: int | None, zone: ZoneInfo) -> dict[str, str] | None:
    if t is None:
        return None
    local = datetime.fromtimestamp(t, zone)
    jalali = jdatetime.datetime.fromgregorian(datetime=local)
    return {
        "utc": datetime.fromtimestamp(t, UTC).isoformat(),
        "local": local.isoformat(),
        "jalali": jalali.strftime("%Y-%m-%d %H:%M"),
    }


def _plain(value: Any) -> Any:
    """Tuples as lists: the answer reads the same in-process as after JSON."""
    if isinstance(value, dict):
        return {key: _plain(item) for key, item in value.items()}
    if isinstance(value, list | tuple):
        return [_plain(item) for item in value]
    return value


class SlaQueries:
    def __init__(self, deps: Dependencies) -> None:
        self.deps = deps

    def _book(self) -> RulesBook:
        with self.deps.pool.connection() as conn:
            return self.deps.rules.get(conn)

    def _calendar(self, book: RulesBook, calendar_id: str) -> BusinessCalendar:
        if calendar_id not in book.calendars:
            raise CalendarNotFound(f"no calendar {calendar_id!r}")
        return book.calendars[calendar_id]

    # -- a ticket ----------------------------------------------------------------------

    def deadlines_for(self, ticket_id: str) -> dict[str, Any]:
        with self.deps.pool.connection() as conn:
            stored = repo.load_ticket(conn, str(ticket_id), for_update=False)
            book = self.deps.rules.get(conn)
        if stored is None:
            raise TicketNotTracked(f"no SLA clocks for ticket {ticket_id}")
        state = stored.state
        engine = book.engine(state.calendar_id)
        now = self.deps.clock.now()
        return {
            "ticket_id": state.ticket_id,
            "department": state.department,
            "priority": state.priority,
            "calendar_id": state.calendar_id,
            "phase": state.phase.value,
            "as_of": instant_view(now, engine.zone),
            "targets": [self._target(c, engine, now) for c in state.clocks],
        }

    def _target(self, clock: Clock, engine: BusinessTime, now: int) -> dict[str, Any]:
        zone = engine.zone
        used = elapsed(clock, engine, min(now, clock.ended_at or now))
        try:
            counting_from = engine.next_opening_epoch(clock.started_at)
        except CalendarError:
            counting_from = None
        return {
            "target": clock.target.value,
            "cycle": clock.cycle,
            "status": clock.status.value,
            "target_seconds": clock.target_seconds,
            "elapsed_business_seconds": used,
            "remaining_business_seconds": max(0, clock.target_seconds - used),
            "started_at": instant_view(clock.started_at, zone),
            # A ticket opened at night counts from the next opening.
            "counting_from": instant_view(counting_from, zone),
            "deadline": instant_view(clock.deadline, zone),
            "warned_at": instant_view(clock.warned_at, zone),
            "breached_at": instant_view(clock.breached_at, zone),
            "ended_at": instant_view(clock.ended_at, zone),
        }

    # -- a department ------------------------------------------------------------------

    def department_report(self, department: Any, window_days: Any = REPORT_WINDOW_DAYS) -> dict:
        """For a supervisor's overview: SLA breaches today (the department's calendar
        day) and the average first response in business seconds over the last
        ``window_days`` days. Business seconds, so a ticket written on Thursday night
        and answered on Saturday at 09:30 counts half an hour, not two days."""
        values = load(DepartmentReportSchema(), {"department": department, "days": window_days})
        book = self._book()
        calendar_id = book.calendar_id_for(values["department"])
        zone = book.engine(calendar_id).zone
        now = self.deps.clock.now()
        local_now = datetime.fromtimestamp(now, zone)
        day_start = int(local_now.replace(hour=0, minute=0, second=0, microsecond=0).timestamp())
        since = now - values["days"] * 86400
        with self.deps.pool.connection() as conn:
            row = repo.department_report(conn, values["department"], day_start, now, since)
        average = row["average_first_response"]
        return {
            "department": values["department"],
            "calendar_id": calendar_id,
            "as_of": instant_view(now, zone),
            "today": jdatetime.date.fromgregorian(date=local_now.date()).strftime("%Y-%m-%d"),
            "breaches_today": int(row["breaches_today"] or 0),
            "window_days": values["days"],
            "first_responses": int(row["first_responses"] or 0),
            "average_first_response_business_seconds": (
                round(float(average)) if average is not None else None
            ),
        }

    # -- arithmetic --------------------------------------------------------------------

    def business_time_between(self, start: Any, end: Any, calendar_id: str) -> dict[str, Any]:
        values = load(BetweenSchema(), {"start": start, "end": end, "calendar_id": calendar_id})
        book = self._book()
        calendar = self._calendar(book, values["calendar_id"])
        try:
            engine = book.engine(values["calendar_id"])
            seconds = engine.between_epoch(to_epoch(values["start"]), to_epoch(values["end"]))
        except CalendarError as error:
            raise from_calendar_error(error) from error
        return {
            "calendar_id": values["calendar_id"],
            "time_zone": calendar.time_zone,
            "start": instant_view(to_epoch(values["start"]), engine.zone),
            "end": instant_view(to_epoch(values["end"]), engine.zone),
            "business_seconds": seconds,
        }

    def next_opening(self, instant: Any, calendar_id: str) -> dict[str, Any]:
        values = load(InstantSchema(), {"instant": instant, "calendar_id": calendar_id})
        book = self._book()
        self._calendar(book, values["calendar_id"])
        engine = book.engine(values["calendar_id"])
        t = to_epoch(values["instant"])
        try:
            opening = engine.next_opening_epoch(t)
        except CalendarError as error:
            raise from_calendar_error(error) from error
        return {
            "calendar_id": values["calendar_id"],
            "instant": instant_view(t, engine.zone),
            "is_open": opening == t,
            "next_opening": instant_view(opening, engine.zone),
        }

    def month(self, calendar_id: str, jalali_year: Any, jalali_month: Any) -> dict[str, Any]:
        values = load(
            MonthSchema(),
            {"calendar_id": calendar_id, "jalali_year": jalali_year, "jalali_month": jalali_month},
        )
        book = self._book()
        calendar = self._calendar(book, values["calendar_id"])
        try:
            view = month_view(calendar, values["jalali_year"], values["jalali_month"])
        except CalendarError as error:
            raise from_calendar_error(error) from error
        days = _plain(view.to_dict())
        for day, original in zip(days["days"], view.days, strict=True):
            day["is_working_day"] = original.is_working_day
        return {"calendar_id": values["calendar_id"], **days}

    # -- rules -------------------------------------------------------------------------

    def list_calendars(self) -> list[dict[str, Any]]:
        book = self._book()
        return [
            {
                "calendar_id": calendar_id,
                "name": book.names[calendar_id],
                "time_zone": calendar.time_zone,
                "departments": sorted(d for d, c in book.bindings.items() if c == calendar_id),
            }
            for calendar_id, calendar in sorted(book.calendars.items())
        ]

    def get_calendar(self, calendar_id: str) -> dict[str, Any]:
        with self.deps.pool.connection() as conn:
            rows = repo.load_rules(conn)
        record = next((r for r in rows.calendars if r["calendar_id"] == calendar_id), None)
        if record is None:
            raise CalendarNotFound(f"no calendar {calendar_id!r}")
        return {
            "calendar_id": calendar_id,
            "name": record["name"],
            "settings": record["settings"],
            "holidays": [
                {
                    "date": row["day"].isoformat(),
                    "closed": row["closed"],
                    "name_fa": row["name_fa"],
                    "name_en": row["name_en"],
                }
                for row in rows.overrides
                if row["calendar_id"] == calendar_id
            ],
            "departments": [
                r["department"] for r in rows.bindings if r["calendar_id"] == calendar_id
            ],
        }

    def list_policies(self) -> list[dict[str, Any]]:
        book = self._book()
        return [
            {
                **row,
                "effective_warning_share": book.policies[
                    (row["priority"], row["department"])
                ].warning_share,
            }
            for row in book.policy_rows
        ]
