"""SLA routes: a ticket's deadlines, a calendar's month, and the calendars, holiday
overrides, department bindings and SLA policies supervisors and admins manage.

The sla service owns the rules and checks the actor itself (calendars, holidays and
bindings: admins; policies: admins, or a supervisor for their own departments); the
gateway checks the route's role first and passes the actor from the token. A ticket's
deadlines are shown only to whoever may see the ticket: the gateway asks tickets
first, so anybody else gets the same 404 as for a ticket that does not exist.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

import jdatetime

from gateway.api import Access, Call, Reply, api
from gateway.base import GatewayBase
from gateway.routes.tickets import TICKET
from gateway.schemas import load
from gateway.schemas import sla as bodies
from gateway.schemas.staff import EmptyBody

TAGS = ("sla",)
TEHRAN = ZoneInfo("Asia/Tehran")
CALENDAR = "/api/v1/calendars/<calendar_id>"
POLICIES = "/api/v1/sla/policies"


def tehran_time(instant: dict[str, Any] | None) -> dict[str, str] | None:
    """An instant view's UTC time as a Jalali date and a Tehran wall-clock time (the
    service's own ``jalali`` is in the calendar's zone, which need not be Tehran)."""
    if not instant or not instant.get("utc"):
        return None
    moment = datetime.fromisoformat(str(instant["utc"]).replace("Z", "+00:00"))
    local = jdatetime.datetime.fromgregorian(datetime=moment.astimezone(TEHRAN), locale="fa_IR")
    return {
        "jalali_date": local.strftime("%Y-%m-%d"),
        "tehran_time": local.strftime("%H:%M"),
        "weekday_fa": local.strftime("%A"),
    }


def with_tehran_deadlines(deadlines: dict[str, Any]) -> dict[str, Any]:
    for target in deadlines.get("targets") or []:
        target["deadline_tehran"] = tehran_time(target.get("deadline"))
    return deadlines


def _created(result: dict[str, Any]) -> Reply:
    return Reply(result, 201 if result.get("created") else 200)


class SlaRoutes(GatewayBase):
    # -- anybody who may see the ticket ----------------------------------------------

    @api(
        "GET",
        f"{TICKET}/deadlines",
        summary="The ticket's SLA targets and deadlines (also as Jalali date and Tehran time)",
        access=Access.USER,
        tags=TAGS,
        response=bodies.Deadlines,
    )
    def ticket_deadlines(self, call: Call, ticket_id: Any) -> Any:
        # Visibility first: a ticket the caller may not see is 404, as on every
        # ticket route (sla itself knows nothing of who may see what).
        self._ticket_rpc(self.tickets.get_ticket, call.actor, str(ticket_id))
        return with_tehran_deadlines(self._rpc(self.sla.deadlines_for, str(ticket_id)))

    @api(
        "GET",
        f"{CALENDAR}/months/<jalali_year>/<jalali_month>",
        summary="A Jalali month of a calendar: working hours and holidays of each day",
        access=Access.USER,
        tags=TAGS,
        response=bodies.Month,
        description=(
            "Any logged-in account (a customer's UI shows when answers can be expected);"
            " not public, so the calendar engine is not an anonymous workload."
        ),
    )
    def calendar_month(
        self, call: Call, calendar_id: str, jalali_year: str, jalali_month: str
    ) -> Any:
        # Plain path segments, validated here: a year or month that is not a number
        # is 400 validation_failed (naming the field), not an unexplained 404.
        month = load(bodies.MonthPath(), {"jalali_year": jalali_year, "jalali_month": jalali_month})
        return self._rpc(
            self.sla.month, calendar_id[:100], month["jalali_year"], month["jalali_month"]
        )

    # -- calendars (read: staff; change: admin) --------------------------------------

    @api(
        "GET",
        "/api/v1/calendars",
        summary="The business calendars and the departments bound to each (staff)",
        access=Access.STAFF,
        tags=TAGS,
        response=bodies.CalendarListed,
        many=True,
    )
    def list_calendars(self, call: Call) -> Any:
        return self._rpc(self.sla.list_calendars)

    @api(
        "GET",
        CALENDAR,
        summary="A calendar's settings, holiday overrides and departments (staff)",
        access=Access.STAFF,
        tags=TAGS,
        response=bodies.Calendar,
    )
    def get_calendar(self, call: Call, calendar_id: str) -> Any:
        return self._rpc(self.sla.get_calendar, calendar_id[:100])

    @api(
        "PUT",
        CALENDAR,
        summary="Create or replace a calendar (admin); open deadlines are re-targeted",
        access=Access.ADMIN,
        tags=TAGS,
        body=bodies.CalendarBody,
        response=bodies.RulesChanged,
        description="201 when the calendar is new, 200 when it replaced one.",
    )
    def save_calendar(self, call: Call, calendar_id: str) -> Any:
        payload = {**call.body, "calendar_id": calendar_id[:100]}
        return _created(self._rpc(self.sla.save_calendar, call.actor, payload))

    @api(
        "PUT",
        f"{CALENDAR}/holidays/<date>",
        summary="Set a holiday override of one date, Jalali or Gregorian (admin)",
        access=Access.ADMIN,
        tags=TAGS,
        body=bodies.HolidayBody,
        response=bodies.RulesChanged,
    )
    def set_holiday(self, call: Call, calendar_id: str, date: str) -> Any:
        payload = {**call.body, "calendar_id": calendar_id[:100], "date": date[:20]}
        return self._rpc(self.sla.set_holiday, call.actor, payload)

    @api(
        "DELETE",
        f"{CALENDAR}/holidays/<date>",
        summary="Remove a holiday override (admin)",
        access=Access.ADMIN,
        tags=TAGS,
        body=EmptyBody,
        response=bodies.RulesChanged,
    )
    def clear_holiday(self, call: Call, calendar_id: str, date: str) -> Any:
        payload = {"calendar_id": calendar_id[:100], "date": date[:20]}
        return self._rpc(self.sla.clear_holiday, call.actor, payload)

    @api(
        "PUT",
        "/api/v1/departments/<department_id>/calendar",
        summary="Bind a department to a calendar (admin)",
        access=Access.ADMIN,
        tags=TAGS,
        body=bodies.BindingBody,
        response=bodies.RulesChanged,
    )
    def bind_department_calendar(self, call: Call, department_id: str) -> Any:
        payload = {**call.body, "department": department_id[:100]}
        return self._rpc(self.sla.bind_department, call.actor, payload)

    # -- policies (admin, or a supervisor for their own departments) ------------------

    @api(
        "GET",
        POLICIES,
        summary="The SLA policies, per priority and department ('*' = every department)",
        access=Access.STAFF,
        tags=TAGS,
        response=bodies.Policy,
        many=True,
    )
    def list_policies(self, call: Call) -> Any:
        return self._rpc(self.sla.list_policies)

    @api(
        "PUT",
        POLICIES,
        summary="Set a policy (admin; a supervisor for their own department)",
        access=Access.STAFF,
        tags=TAGS,
        body=bodies.PolicyBody,
        response=bodies.RulesChanged,
    )
    def save_policy(self, call: Call) -> Any:
        return self._rpc(self.sla.save_policy, call.actor, call.body)

    @api(
        "DELETE",
        f"{POLICIES}/<priority>/<department>",
        summary="Remove a department's own policy; it falls back to '*' (as for setting)",
        access=Access.STAFF,
        tags=TAGS,
        body=EmptyBody,
        response=bodies.RulesChanged,
    )
    def remove_policy(self, call: Call, priority: str, department: str) -> Any:
        payload = {"priority": priority[:20], "department": department[:100]}
        return self._rpc(self.sla.remove_policy, call.actor, payload)
