"""The SLA nameko service: ticket events in, SLA events out, thin RPC over the
application layer.

- ``on_ticket_event`` consumes every ``tickets.events`` message through ONE queue
  (routing key ``#``): the relay's order is kept as far as one queue keeps it, and an
  event type tickets adds later still advances the ticket's stream version instead of
  leaving a gap that would hold the ticket's later events forever.
- ``tick`` (a nameko timer, ``SLA_TIMER_INTERVAL_SECONDS``) records the warnings and
  breaches that have come due; any number of replicas may run it.
- RPC: deadlines and business-time arithmetic for the gateway; calendars and policies
  for admins (the actor dict the gateway builds from the token, as tickets takes it).
"""

from __future__ import annotations

import logging
from typing import Any

import pasokh_common  # noqa: F401
from pasokh_common.consumer import DeliveredEvent, idempotent_event_handler, ticket_ids_of
from pasokh_common.context import CallContextProvider
from pasokh_common.errors import ServiceError
from pasokh_common.nameko_deps import Database
from pasokh_common.replay_rpc import ReplayEntrypoints
from pasokh_common.rpc import domain_errors, rpc
from pasokh_common.rpc_metrics import EntrypointMetrics

import psycopg
from nameko.extensions import DependencyProvider
from nameko.timer import timer

from services.sla import repository as repo
from services.sla.application import SlaApplication
from services.sla.calendar.zone import TEHRAN, load_zone
from services.sla.clock import SystemClock
from services.sla.config import SlaConfig, timer_interval_from_env
from services.sla.holiday_file import read_holiday_file
from services.sla.metrics import CLOCK_OFFSET, AtRiskReport
from services.sla.rules import DEFAULT_CALENDAR, RulesCache

log = logging.getLogger("pasokh.sla")
command = rpc(expected_exceptions=ServiceError)
TIMER_INTERVAL = timer_interval_from_env()


def lock_batch_tickets(service: Any, tx: psycopg.Connection, events: list) -> None:
    """A batch takes the rules lock and its tickets' locks up front, in one order, so
    batches of two replicas cannot deadlock on tickets they share."""
    repo.lock_rules_and_tickets(tx, ticket_ids_of(events))


class Runtime(DependencyProvider):
    """Settings, clock, rules cache and gauge state, made once per process.

    Everything that makes the service unsafe to run is checked here, before it takes
    any work: a bad setting, tz data that still has Tehran on DST (pre-2022b), an
    unreadable holiday data file, a test clock offset without its guard.
    """

    def setup(self) -> None:
        self.config = SlaConfig.from_env()
        load_zone(TEHRAN)  # raises StaleTimeZoneDataError on tz data older than 2022b
        read_holiday_file(self.config.holiday_overrides_path)
        self.clock = SystemClock(self.config.clock_offset_seconds)
        self.rules = RulesCache(self.config.warning_share)
        self.report = AtRiskReport()
        self.holiday_file_synced = False
        CLOCK_OFFSET.set(self.config.clock_offset_seconds)
        if self.config.clock_offset_seconds:
            log.warning(
                "TEST CLOCK: deadlines are checked against a shifted clock",
                extra={"offset_seconds": self.config.clock_offset_seconds},
            )

    def get_dependency(self, worker_ctx) -> Runtime:
        return self


class SlaService(ReplayEntrypoints):
    """Also ``start_replay``, ``replay_status``, ``cancel_replay`` (pasokh_common.replay_rpc)."""

    name = "sla"

    db = Database()
    runtime = Runtime()
    context = CallContextProvider()
    metrics = EntrypointMetrics()

    @property
    def _app(self) -> SlaApplication:
        runtime = self.runtime
        return SlaApplication(
            self.db,
            runtime.config,
            runtime.clock,
            rules=runtime.rules,
            report=runtime.report,
        )

    # -- what tickets tells us --------------------------------------------------------

    @idempotent_event_handler("tickets", "#", batch_lock=lock_batch_tickets, batch_handler=True)
    def on_ticket_event(self, tx: psycopg.Connection, events: list[DeliveredEvent]) -> None:
        # batch_lock ran first in this transaction (also for a lone event): the rules
        # lock and every ticket's lock are held.
        self._app.intake.receive_batch(tx, events)

    # -- the timer ---------------------------------------------------------------------

    @timer(interval=TIMER_INTERVAL, eager=True)
    def tick(self) -> None:
        app = self._app
        if not self.runtime.holiday_file_synced:
            # Once per process. A file that cannot be applied (a deadline it makes
            # unreachable) must not stop the scans: the recorded copy stays in force.
            self.runtime.holiday_file_synced = True
            try:
                app.sync_holiday_file()
            except Exception:
                log.exception(
                    "holiday data file not applied; fix it (or the calendars) and restart"
                )
        app.scanner.scan()
        app.scanner.publish_gauges()

    # -- queries -----------------------------------------------------------------------

    @command
    @domain_errors
    def deadlines_for(self, ticket_id: str) -> dict[str, Any]:
        return self._app.queries.deadlines_for(ticket_id)

    @command
    @domain_errors
    def business_time_between(
        self, start: str, end: str, calendar_id: str = DEFAULT_CALENDAR
    ) -> dict[str, Any]:
        return self._app.queries.business_time_between(start, end, calendar_id)

    @command
    @domain_errors
    def next_opening(self, instant: str, calendar_id: str = DEFAULT_CALENDAR) -> dict[str, Any]:
        return self._app.queries.next_opening(instant, calendar_id)

    @command
    @domain_errors
    def month(self, calendar_id: str, jalali_year: int, jalali_month: int) -> dict[str, Any]:
        return self._app.queries.month(calendar_id, jalali_year, jalali_month)

    @command
    @domain_errors
    def department_report(self, department: str, window_days: int = 30) -> dict[str, Any]:
        return self._app.queries.department_report(department, window_days)

    @command
    @domain_errors
    def list_calendars(self) -> list[dict[str, Any]]:
        return self._app.queries.list_calendars()

    @command
    @domain_errors
    def get_calendar(self, calendar_id: str) -> dict[str, Any]:
        return self._app.queries.get_calendar(calendar_id)

    @command
    @domain_errors
    def list_policies(self) -> list[dict[str, Any]]:
        return self._app.queries.list_policies()

    # -- admin -------------------------------------------------------------------------

    @command
    @domain_errors
    def save_calendar(self, actor: dict, payload: dict) -> dict[str, Any]:
        return self._app.admin.save_calendar(actor, payload, self.context)

    @command
    @domain_errors
    def set_holiday(self, actor: dict, payload: dict) -> dict[str, Any]:
        return self._app.admin.set_holiday(actor, payload, self.context)

    @command
    @domain_errors
    def clear_holiday(self, actor: dict, payload: dict) -> dict[str, Any]:
        return self._app.admin.clear_holiday(actor, payload, self.context)

    @command
    @domain_errors
    def bind_department(self, actor: dict, payload: dict) -> dict[str, Any]:
        return self._app.admin.bind_department(actor, payload, self.context)

    @command
    @domain_errors
    def save_policy(self, actor: dict, payload: dict) -> dict[str, Any]:
        return self._app.admin.save_policy(actor, payload, self.context)

    @command
    @domain_errors
    def remove_policy(self, actor: dict, payload: dict) -> dict[str, Any]:
        return self._app.admin.remove_policy(actor, payload, self.context)
