"""Roles and what each may do in identity.

Supervisors are agents with more say over tickets (the tickets service decides what);
in identity they differ from agents only by the role they carry. Admins manage
departments and staff and work in every department, so they are never members.
"""

from __future__ import annotations

from enum import StrEnum

from services.identity.domain.errors import NotAssignable, NotPermitted


class Role(StrEnum):
    CUSTOMER = "customer"
    AGENT = "agent"
    SUPERVISOR = "supervisor"
    ADMIN = "admin"


class Kind(StrEnum):
    """What an account is: a person, a member of a company, or our own staff."""

    PERSON = "person"
    COMPANY = "company"
    STAFF = "staff"


STAFF_ROLES = frozenset({Role.AGENT, Role.SUPERVISOR, Role.ADMIN})
# Roles that belong to departments; admins act everywhere.
DEPARTMENT_ROLES = frozenset({Role.AGENT, Role.SUPERVISOR})
# Roles an admin may create through the API (admins come from the CLI only, so that a
# stolen admin token cannot mint more admins).
CREATABLE_STAFF_ROLES = frozenset({Role.AGENT, Role.SUPERVISOR})


def require_admin(role: Role | str) -> None:
    if Role(role) != Role.ADMIN:
        raise NotPermitted("admin only")


def require_staff(role: Role | str) -> None:
    if Role(role) not in STAFF_ROLES:
        raise NotPermitted("staff only")


def require_assignable(role: Role | str) -> None:
    if Role(role) not in DEPARTMENT_ROLES:
        raise NotAssignable(f"role {role} has no departments")
