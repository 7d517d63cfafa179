"""marshmallow at every boundary, with field errors in Persian and English."""

from __future__ import annotations

import functools
from typing import Any, TypeVar

from pasokh_common.errors import ValidationFailed, bilingual
from pasokh_common.text import normalise_text

from marshmallow import Schema, ValidationError, fields

# marshmallow's stock messages, in Persian; anything else is shown in English in both.
_FA = {
    "Missing data for required field.": "این فیلد الزامی است.",
    "Field may not be null.": "این فیلد نمی‌تواند خالی باشد.",
    "Unknown field.": "این فیلد شناخته‌شده نیست.",
    "Not a valid string.": "رشته معتبر نیست.",
    "Not a valid integer.": "عدد صحیح معتبر نیست.",
    "Not a valid boolean.": "مقدار درست/نادرست معتبر نیست.",
    "Not a valid UUID.": "شناسه معتبر نیست.",
    "Not a valid list.": "فهرست معتبر نیست.",
    "Invalid input type.": "نوع ورودی نامعتبر است.",
    "Not a valid datetime.": "تاریخ و زمان معتبر نیست.",
    "Not a valid aware datetime.": "تاریخ و زمان با منطقهٔ زمانی (ISO 8601) لازم است.",
}


# Messages of our own validators whose end varies (it names the rule broken): the
# Persian text for each fixed beginning. Modules add theirs with ``add_persian_prefixes``.
_FA_PREFIXES: dict[str, str] = {}


def add_persian_prefixes(translations: dict[str, str]) -> None:
    """Register Persian texts for English field messages that start with each key."""
    _FA_PREFIXES.update(translations)


def _translate(messages: Any) -> Any:
    if isinstance(messages, dict):
        return {key: _translate(value) for key, value in messages.items()}
    if isinstance(messages, list):
        return [_translate(m) for m in messages]
    if isinstance(messages, str):
        if messages.startswith("Must be one of:"):
            return bilingual("مقدار مجاز نیست. " + messages.split(":", 1)[1].strip(), messages)
        if messages.startswith(("Shorter than", "Longer than", "Length must")):
            return bilingual("طول متن مجاز نیست.", messages)
        if messages.startswith("Must be greater") or messages.startswith("Must be less"):
            return bilingual("مقدار خارج از محدوده است.", messages)
        for prefix, persian in _FA_PREFIXES.items():
            if messages.startswith(prefix):
                return bilingual(persian, messages)
        return bilingual(_FA.get(messages, messages), messages)
    return messages


S = TypeVar("S", bound=Schema)


@functools.cache
def shared_schema(schema_class: type[S]) -> S:
    """One instance of ``schema_class`` per process. Making a marshmallow schema copies
    every declared field; done per request it was 4-7 % of the gateway's and tickets'
    CPU under load. Sharing is safe here: our schemas keep no per-call state (no
    ``context``), and a load runs to its end without yielding to another greenthread
    (nothing in it does I/O)."""
    return schema_class()


def load(schema: Schema, data: Any) -> dict[str, Any]:
    """Validate ``data`` or raise ValidationFailed carrying bilingual field messages."""
    if not isinstance(data, dict):
        raise ValidationFailed(
            fields={"_schema": [bilingual("ورودی نامعتبر است.", "Invalid input.")]}
        )
    try:
        return schema.load(data)
    except ValidationError as exc:
        raise ValidationFailed(fields=_translate(exc.messages)) from exc


class PersianText(fields.String):
    """A string normalised for Persian (letters unified, ZWNJ kept) before validation."""

    def _deserialize(self, value, attr, data, **kwargs):
        text = super()._deserialize(value, attr, data, **kwargs)
        return normalise_text(text)
