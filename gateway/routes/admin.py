"""Departments and agents. identity's protected RPCs take the caller's access token
and check it themselves (nothing on the bus becomes an admin by saying so); the
gateway passes the bearer token through and checks the role first as well.
"""

from __future__ import annotations

from typing import Any

from gateway.api import Access, Call, Reply, api
from gateway.base import GatewayBase
from gateway.schemas import responses as shapes
from gateway.schemas import staff as bodies

TAGS = ("administration",)


class AdminRoutes(GatewayBase):
    @api(
        "GET",
        "/api/v1/departments",
        summary="The departments a ticket can be opened in",
        access=Access.USER,
        tags=TAGS,
        response=shapes.Department,
        many=True,
    )
    def list_departments(self, call: Call) -> Any:
        return self._rpc(self.identity.list_departments)

    @api(
        "POST",
        "/api/v1/departments",
        summary="Create a department (admin)",
        access=Access.ADMIN,
        tags=TAGS,
        body=bodies.CreateDepartmentBody,
        status=201,
        response=shapes.Department,
    )
    def create_department(self, call: Call) -> Any:
        created = self._rpc(self.identity.create_department, call.token, call.body)
        return Reply(created, 201, {"Location": f"/api/v1/departments/{created['department_id']}"})

    @api(
        "GET",
        "/api/v1/departments/<department_id>/members",
        summary="The agents and supervisors of a department (staff)",
        access=Access.STAFF,
        tags=TAGS,
        response=shapes.Member,
        many=True,
    )
    def department_members(self, call: Call, department_id: str) -> Any:
        return self._rpc(
            self.identity.department_members, call.token, {"department_id": department_id[:100]}
        )

    @api(
        "POST",
        "/api/v1/agents",
        summary="Create an agent or supervisor account, optionally in departments (admin)",
        access=Access.ADMIN,
        tags=TAGS,
        body=bodies.CreateAgentBody,
        status=201,
        response=shapes.User,
    )
    def create_agent(self, call: Call) -> Any:
        return self._rpc(self.identity.create_agent, call.token, call.body)

    @api(
        "PUT",
        "/api/v1/departments/<department_id>/members/<uuid:user_id>",
        summary="Add an agent to a department (admin); repeating it changes nothing",
        access=Access.ADMIN,
        tags=TAGS,
        body=bodies.EmptyBody,
        response=shapes.User,
    )
    def assign_to_department(self, call: Call, department_id: str, user_id: Any) -> Any:
        payload = {"user_id": str(user_id), "department_id": department_id[:100]}
        return self._rpc(self.identity.assign_to_department, call.token, payload)

    @api(
        "DELETE",
        "/api/v1/departments/<department_id>/members/<uuid:user_id>",
        summary="Remove an agent from a department (admin); takes effect at once",
        access=Access.ADMIN,
        tags=TAGS,
        body=bodies.EmptyBody,
        response=shapes.User,
    )
    def remove_from_department(self, call: Call, department_id: str, user_id: Any) -> Any:
        payload = {"user_id": str(user_id), "department_id": department_id[:100]}
        return self._rpc(self.identity.remove_from_department, call.token, payload)

    @api(
        "POST",
        "/api/v1/admin/users/<uuid:user_id>/erase",
        summary="Erase a user's personal data: the right to be forgotten (admin); repeating"
        " it changes nothing",
        access=Access.ADMIN,
        tags=TAGS,
        body=bodies.EmptyBody,
        response=shapes.Erased,
    )
    def erase_user(self, call: Call, user_id: Any) -> Any:
        return self._rpc(self.identity.erase_user, call.token, {"user_id": str(user_id)})
