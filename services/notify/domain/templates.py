"""SMS templates: which exist, which placeholders each may use, rendering and checks.

Bodies live in the database (``notify.templates``, one row per template and language,
defaults seeded by the migration) so admins can edit the wording without a deploy.
An edit is checked here before it is stored: only the template's own placeholders
(``{number}``), no format specs or attribute access (a template is data, not code), and
rendered with the longest realistic values it must fit ``max_parts`` SMS parts. A
message whose rendering is still too long at send time fails as ``too_long`` instead of
costing many parts.
"""

from __future__ import annotations

import string
from collections.abc import Mapping
from dataclasses import dataclass

from services.notify.domain.errors import template_invalid
from services.notify.domain.segments import Segments, count_segments

LANGUAGES = ("fa", "en")
DEFAULT_LANGUAGE = "fa"
MAX_BODY_LENGTH = 1000

CODE_TEMPLATES = {"verify_phone": "verification_code", "reset_password": "password_reset_code"}

PLACEHOLDERS: dict[str, frozenset[str]] = {
    "verification_code": frozenset({"code"}),
    "password_reset_code": frozenset({"code"}),
    "ticket_opened": frozenset({"number", "ticket_url"}),
    "ticket_answered": frozenset({"number", "ticket_url"}),
    "ticket_closed": frozenset({"number", "ticket_url", "rating_url"}),
    "sla_warning": frozenset({"number", "department", "target", "deadline", "ticket_url"}),
    "sla_breached": frozenset({"number", "department", "target", "deadline", "ticket_url"}),
}
TEMPLATE_NAMES = tuple(PLACEHOLDERS)
# Only these carry a secret: their text is never stored, logged or put on an event.
SECRET_TEMPLATES = frozenset(CODE_TEMPLATES.values())

SLA_TARGETS = {
    "first_response": {"fa": "اولین پاسخ", "en": "first response"},
    "next_reply": {"fa": "پاسخ بعدی", "en": "next reply"},
    "resolution": {"fa": "حل درخواست", "en": "resolution"},
}


@dataclass(frozen=True)
class Template:
    name: str
    language: str
    body: str


def ticket_url(public_url: str, number: str) -> str:
    return f"{public_url.rstrip('/')}/tickets/{number}"


def rating_url(public_url: str, number: str) -> str:
    return f"{ticket_url(public_url, number)}/rate"


def target_label(target: str, language: str) -> str:
    labels = SLA_TARGETS.get(target)
    return labels[language] if labels else target


def worst_case_values(public_url: str, language: str = DEFAULT_LANGUAGE) -> dict[str, str]:
    """The longest values a placeholder realistically takes, for the edit-time check."""
    number = "9999-9999"
    return {
        "code": "99999999",
        "number": number,
        "ticket_url": ticket_url(public_url, number),
        "rating_url": rating_url(public_url, number),
        "department": "customer-support-01",
        "target": max((v[language] for v in SLA_TARGETS.values()), key=len),
        "deadline": "1405/12/29 23:59" if language == "fa" else "2026-12-31 23:59",
    }


def _fields(body: str) -> list[tuple[str, str | None]]:
    """(literal, placeholder) pairs; raises ValueError on unbalanced braces."""
    return [(literal, name) for literal, name, _, _ in string.Formatter().parse(body)]


def placeholders_in(body: str) -> set[str]:
    return {name for _, name in _fields(body) if name is not None}


def check_syntax(name: str, body: str) -> None:
    """Refuse bodies that are empty, too long, malformed or use foreign placeholders."""
    if name not in PLACEHOLDERS:
        raise template_invalid(f"unknown template {name!r}", f"قالب ناشناخته: {name}")
    if not body.strip() or len(body) > MAX_BODY_LENGTH:
        raise template_invalid(
            f"the text must have 1 to {MAX_BODY_LENGTH} characters",
            f"متن باید ۱ تا {MAX_BODY_LENGTH} نویسه باشد.",
        )
    try:
        parsed = list(string.Formatter().parse(body))
    except ValueError:
        raise template_invalid(
            "unbalanced braces: write {{ and }} for literal braces",
            "آکولادها نامتوازن است؛ برای آکولاد معمولی {{ و }} بنویسید.",
        ) from None
    allowed = PLACEHOLDERS[name]
    for _, field, spec, conversion in parsed:
        if field is None:
            continue
        if field not in allowed or spec or conversion:
            names = ", ".join("{" + p + "}" for p in sorted(allowed))
            raise template_invalid(
                f"{{{field}}} is not a placeholder of this template; use {names}",
                f"«{{{field}}}» در این قالب مجاز نیست؛ مجازها: {names}",
            )


def render(body: str, values: Mapping[str, str]) -> str:
    """Placeholders replaced by ``values`` (a missing one renders empty)."""
    out = []
    for literal, name in _fields(body):
        out.append(literal)
        if name is not None:
            out.append(str(values.get(name, "")))
    return "".join(out)


def check_template(
    name: str, body: str, max_parts: int, public_url: str, language: str = DEFAULT_LANGUAGE
) -> Segments:
    """The full edit-time check; returns the segments of the worst-case rendering."""
    check_syntax(name, body)
    segments = count_segments(render(body, worst_case_values(public_url, language)))
    if segments.parts > max_parts:
        raise template_invalid(
            f"with the longest values this text needs {segments.parts} SMS parts; "
            f"the limit is {max_parts}",
            f"این متن با طولانی‌ترین مقادیر {segments.parts} پیامک می‌شود؛ "
            f"حداکثر {max_parts} مجاز است.",
        )
    return segments


def choose_language(language: str | None) -> str:
    return language if language in LANGUAGES else DEFAULT_LANGUAGE
