"""Read admin holiday overrides: the data file (per Jalali year) and config mappings.

Lunar holidays are set by moon sighting and provinces announce closures at short
notice, so the list must be editable without a release: a small JSON file grouped by
Jalali year (the year admins read on the wall calendar). Reading it is the only I/O
in this package, and only for a path the caller passes in.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from .dates import parse_date, to_jalali
from .errors import CalendarError, HolidayFileError, InvalidHolidayError
from .holiday_book import DEFAULT_NAME_EN, DEFAULT_NAME_FA, Holiday, HolidayOverrides

FILE_VERSION = 1
DEFAULT_OVERRIDES_PATH = Path(__file__).resolve().parent.parent / "data" / "holiday-overrides.json"


def _holiday(entry: Any) -> Holiday:
    if isinstance(entry, str):
        return Holiday(parse_date(entry), DEFAULT_NAME_FA, DEFAULT_NAME_EN)
    if not isinstance(entry, Mapping) or "date" not in entry:
        raise InvalidHolidayError(f'an added holiday is "1405-05-08" or {{"date": ...}}: {entry!r}')
    unknown = set(entry) - {"date", "name", "name_fa", "name_en"}
    if unknown:
        raise InvalidHolidayError(f"unknown keys {sorted(unknown)} in {entry!r}")
    name = entry.get("name")
    name_fa = entry.get("name_fa") or name or DEFAULT_NAME_FA
    name_en = entry.get("name_en") or name or DEFAULT_NAME_EN
    if not isinstance(name_fa, str) or not isinstance(name_en, str):
        raise InvalidHolidayError(f"holiday names are text: {entry!r}")
    return Holiday(parse_date(entry["date"]), name_fa, name_en)


def parse_overrides(mapping: Mapping[str, Any]) -> HolidayOverrides:
    """``{"add": ["1405-05-08" | {"date", "name_fa", "name_en"}], "remove": [dates]}``."""
    if not isinstance(mapping, Mapping):
        raise InvalidHolidayError('overrides are {"add": [...], "remove": [...]}')
    unknown = set(mapping) - {"add", "remove"}
    if unknown:
        raise InvalidHolidayError(f"unknown keys {sorted(unknown)} in holiday overrides")
    add, remove = mapping.get("add", []), mapping.get("remove", [])
    if not isinstance(add, list) or not isinstance(remove, list):
        raise InvalidHolidayError('"add" and "remove" are lists')
    return HolidayOverrides(
        tuple(_holiday(entry) for entry in add),
        frozenset(parse_date(entry) for entry in remove),
    )


def parse_overrides_file(document: Any) -> HolidayOverrides:
    """The file's content: ``{"version": 1, "years": {"1405": {"add", "remove"}}}``.

    Each date must fall in the Jalali year it is filed under, which catches the most
    likely typo (last year's date copied into this year's block).
    """
    if not isinstance(document, Mapping) or document.get("version") != FILE_VERSION:
        raise HolidayFileError(f'expected {{"version": {FILE_VERSION}, "years": {{...}}}}')
    years = document.get("years", {})
    if not isinstance(years, Mapping):
        raise HolidayFileError('"years" maps a Jalali year to its overrides')
    added: list[Holiday] = []
    removed: set = set()
    for year_text, block in years.items():
        if not (isinstance(year_text, str) and year_text.isdigit()):
            raise HolidayFileError(f"{year_text!r} is not a Jalali year")
        try:
            layer = parse_overrides(block)
        except CalendarError as exc:
            raise HolidayFileError(f"year {year_text}: {exc}") from exc
        for day in [h.date for h in layer.add] + sorted(layer.remove):
            if to_jalali(day).year != int(year_text):
                raise HolidayFileError(f"{day} is not in Jalali year {year_text}")
        added.extend(layer.add)
        removed.update(layer.remove)
    try:
        return HolidayOverrides(tuple(added), frozenset(removed))
    except CalendarError as exc:
        raise HolidayFileError(str(exc)) from exc


def load_overrides(path: str | Path) -> HolidayOverrides:
    """Read and check the admin overrides file at ``path``."""
    try:
        document = json.loads(Path(path).read_text(encoding="utf-8"))
    except OSError as exc:
        raise HolidayFileError(f"cannot read holiday overrides {path}: {exc}") from exc
    except json.JSONDecodeError as exc:
        raise HolidayFileError(f"holiday overrides {path} is not JSON: {exc}") from exc
    try:
        return parse_overrides_file(document)
    except HolidayFileError as exc:
        raise HolidayFileError(f"{path}: {exc}") from exc
