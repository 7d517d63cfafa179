"""A supervisor's overview of one department: open tickets by status (the tickets
service's read model), SLA breaches today and the average first response in business
hours (the sla service's clocks). Supervisors see their own departments (the tickets
service answers 403 ``not_in_department`` otherwise), admins every department;
agents are refused by role before any RPC."""

from __future__ import annotations

from typing import Any

from gateway.api import Access, Call, api
from gateway.base import GatewayBase
from gateway.errors import NotPermitted
from gateway.schemas.overview import DepartmentOverview

OVERVIEW_ROLES = frozenset({"supervisor", "admin"})


class OverviewRoutes(GatewayBase):
    @api(
        "GET",
        "/api/v1/departments/<department_id>/overview",
        summary="A department's open tickets by status, SLA breaches today and average first"
        " response in business hours (supervisors of the department, admins)",
        access=Access.STAFF,
        tags=("agents",),
        response=DepartmentOverview,
    )
    def department_overview(self, call: Call, department_id: str) -> Any:
        if (call.actor or {}).get("role") not in OVERVIEW_ROLES:
            raise NotPermitted("the overview is for supervisors and admins")
        department = department_id[:100]
        # Membership first (tickets decides), so nothing of another department leaks.
        counts = self._rpc(self.tickets.department_counts, call.actor, department)
        report = self._rpc(self.sla.department_report, department)
        return {**report, "open_by_status": counts}
