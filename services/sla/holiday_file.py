"""Bring the admin holiday data file into the rules the clocks run on.

The file (lunar holidays as observed, short-notice closures) is edited by admins and
shipped with a deployment. Each process reads it at start; if its content differs
from the one recorded in ``sla.rules_state``, the process records the new content (an
event, ``HolidayFileLoaded``) and re-targets every open clock at once, exactly like a
calendar change. Every replica then builds calendars from the recorded copy, so two
replicas never compute different deadlines, and a process started with the same file
changes nothing.
"""

from __future__ import annotations

import hashlib
import json
import logging
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from pasokh_common.eventlog import EventMetadata

from services.sla import repository as repo
from services.sla.admin import recompute_open
from services.sla.calendar import HolidayFileError
from services.sla.calendar.overrides_file import parse_overrides_file
from services.sla.deps import Dependencies
from services.sla.domain.events import HolidayFileLoaded
from services.sla.recorder import append_rules_event

log = logging.getLogger("pasokh.sla.holidays")


def read_holiday_file(path: Path) -> tuple[str, Any]:
    """(digest, document) of a valid file; HolidayFileError names what is wrong."""
    try:
        document = json.loads(Path(path).read_text(encoding="utf-8"))
    except OSError as exc:
        raise HolidayFileError(f"cannot read holiday overrides {path}: {exc}") from exc
    except json.JSONDecodeError as exc:
        raise HolidayFileError(f"holiday overrides {path} is not JSON: {exc}") from exc
    try:
        parse_overrides_file(document)
    except HolidayFileError as exc:
        raise HolidayFileError(f"{path}: {exc}") from exc
    canonical = json.dumps(document, sort_keys=True, ensure_ascii=False, separators=(",", ":"))
    return hashlib.sha256(canonical.encode()).hexdigest(), document


def sync_holiday_file(deps: Dependencies) -> bool:
    """Record the file if it changed; True when it did (and open clocks were re-laid)."""
    digest, document = read_holiday_file(deps.config.holiday_overrides_path)
    metadata = EventMetadata(actor_id="sla", actor_role="system", origin="holiday-file")
    with deps.pool.transaction() as tx:
        repo.lock_rules(tx, exclusive=True)
        old = deps.rules.load(tx)
        if old.holiday_file_digest == digest:
            return False
        now = deps.clock.now()
        repo.save_holiday_file(tx, digest, document, datetime.fromtimestamp(now, UTC))
        repo.bump_rules_version(tx)
        new = deps.rules.load(tx)
        count = recompute_open(tx, {}, old, new, now, "holiday_file_changed", metadata)
        event = HolidayFileLoaded(digest, tuple(sorted(document.get("years", {}))), now)
        append_rules_event(tx, event, metadata)
    log.info("holiday data file loaded", extra={"digest": digest, "recomputed_tickets": count})
    return True
