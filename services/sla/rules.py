"""The rules in force: calendars (with the admin data file and per-calendar holiday
overrides), department bindings and policies, built from ``sla.*`` rows.

A ``RulesBook`` is immutable and built per rules version, so a process caches one and
rebuilds only after an admin change (``RulesCache``). Calendars are values: building
an equal calendar again finds the engine (and its precomputed timeline) in the
engine's own cache.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

import pasokh_common  # noqa: F401

import psycopg

from services.sla import repository as repo
from services.sla.calendar import (
    BusinessCalendar,
    BusinessTime,
    Holiday,
    HolidayOverrides,
    business_time,
)
from services.sla.calendar.holiday_book import DEFAULT_NAME_EN, DEFAULT_NAME_FA
from services.sla.calendar.overrides_file import parse_overrides_file
from services.sla.domain.policy import ANY_DEPARTMENT, DEFAULT_POLICY, Policy, Rules

DEFAULT_CALENDAR = "default"


def calendar_from_rows(
    settings: Mapping[str, Any], overrides: list[repo.Row], file_layer: HolidayOverrides | None
) -> BusinessCalendar:
    """The admin data file first, then the calendar's own overrides (last word)."""
    calendar = BusinessCalendar.from_config(settings, *((file_layer,) if file_layer else ()))
    if not overrides:
        return calendar
    added = tuple(
        Holiday(row["day"], row["name_fa"] or DEFAULT_NAME_FA, row["name_en"] or DEFAULT_NAME_EN)
        for row in overrides
        if row["closed"]
    )
    removed = frozenset(row["day"] for row in overrides if not row["closed"])
    return calendar.with_overrides(HolidayOverrides(added, removed))


def policy_from_row(row: repo.Row, default_share: float) -> Policy:
    share = row["warning_share"]
    return Policy(
        first_response=row["first_response_seconds"],
        follow_up_first_response=row["follow_up_first_response_seconds"],
        next_reply=row["next_reply_seconds"],
        resolution=row["resolution_seconds"],
        warning_share=float(share) if share is not None else default_share,
        notify_outside_hours=row["notify_outside_hours"],
    )


@dataclass(frozen=True)
class RulesBook:
    version: int
    calendars: Mapping[str, BusinessCalendar]
    names: Mapping[str, str]
    bindings: Mapping[str, str]
    policies: Mapping[tuple[str, str], Policy]
    default_share: float
    holiday_file_digest: str | None = None
    policy_rows: tuple[repo.Row, ...] = field(default_factory=tuple)

    def calendar_id_for(self, department: str) -> str:
        return self.bindings.get(department, DEFAULT_CALENDAR)

    def engine(self, calendar_id: str) -> BusinessTime:
        return business_time(self.calendars[calendar_id])

    def policy_for(self, priority: str, department: str) -> Policy:
        found = self.policies.get((priority, department)) or self.policies.get(
            (priority, ANY_DEPARTMENT)
        )
        if found is not None:
            return found
        return Policy(
            first_response=DEFAULT_POLICY.first_response,
            follow_up_first_response=DEFAULT_POLICY.follow_up_first_response,
            next_reply=DEFAULT_POLICY.next_reply,
            resolution=DEFAULT_POLICY.resolution,
            warning_share=self.default_share,
        )

    def rules_for(self, priority: str, department: str) -> Rules:
        calendar_id = self.calendar_id_for(department)
        return Rules(calendar_id, self.engine(calendar_id), self.policy_for(priority, department))


def build_book(rows: repo.RulesRows, default_share: float) -> RulesBook:
    file_layer = parse_overrides_file(rows.holiday_file) if rows.holiday_file else None
    overrides: dict[str, list[repo.Row]] = {}
    for row in rows.overrides:
        overrides.setdefault(row["calendar_id"], []).append(row)
    calendars = {
        row["calendar_id"]: calendar_from_rows(
            row["settings"], overrides.get(row["calendar_id"], []), file_layer
        )
        for row in rows.calendars
    }
    return RulesBook(
        version=rows.version,
        calendars=calendars,
        names={row["calendar_id"]: row["name"] for row in rows.calendars},
        bindings={row["department"]: row["calendar_id"] for row in rows.bindings},
        policies={
            (row["priority"], row["department"]): policy_from_row(row, default_share)
            for row in rows.policies
        },
        default_share=default_share,
        holiday_file_digest=rows.holiday_file_digest,
        policy_rows=tuple(rows.policies),
    )


class RulesCache:
    """The book of the current rules version, rebuilt only when the version moved.

    Read inside the caller's transaction (after the shared rules lock), so the book
    always matches what that transaction sees.
    """

    def __init__(self, default_share: float) -> None:
        self.default_share = default_share
        self._book: RulesBook | None = None

    def get(self, conn: psycopg.Connection, version: int | None = None) -> RulesBook:
        """``version``: the rules version the caller already read in this transaction
        (after the rules lock), which saves reading it again."""
        if version is None:
            version = repo.rules_version(conn)
        book = self._book
        if book is None or book.version != version:
            book = build_book(repo.load_rules(conn), self.default_share)
            self._book = book
        return book

    def load(self, conn: psycopg.Connection) -> RulesBook:
        """A fresh book, bypassing the cache (inside an admin change)."""
        return build_book(repo.load_rules(conn), self.default_share)
