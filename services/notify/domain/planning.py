"""Which SMS an event calls for, to whom, and the values its template is filled with.

Plans carry ids and facts (ticket number, department, deadline), never phone numbers
or finished text: the number is asked of identity and the text rendered from the
current template when the message is sent, in the recipient's language.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import datetime, tzinfo

import jdatetime

from services.notify.domain.idempotency import event_message_key
from services.notify.domain.templates import rating_url, target_label, ticket_url

# Replies by these roles are answers the customer is waiting for. "system" replies
# (automatic acknowledgements) are not: the customer already got "ticket opened".
ANSWERING_ROLES = frozenset({"agent", "supervisor", "admin"})


@dataclass(frozen=True)
class TicketInfo:
    """What notify keeps of a ticket (from TicketOpened) to word later messages."""

    ticket_id: str
    number: str
    customer_id: str
    department: str


@dataclass(frozen=True)
class MessagePlan:
    key: str
    template: str
    user_id: str
    ticket_id: str | None
    params: Mapping[str, str] = field(default_factory=dict)


def _ticket_plan(event_id: str, template: str, ticket: TicketInfo) -> MessagePlan:
    return MessagePlan(
        key=event_message_key(event_id, template),
        template=template,
        user_id=ticket.customer_id,
        ticket_id=ticket.ticket_id,
        params={"number": ticket.number},
    )


def plan_ticket_opened(event_id: str, ticket: TicketInfo) -> list[MessagePlan]:
    return [_ticket_plan(event_id, "ticket_opened", ticket)]


def plan_reply(event_id: str, author_role: str, ticket: TicketInfo) -> list[MessagePlan]:
    if author_role not in ANSWERING_ROLES:
        return []
    return [_ticket_plan(event_id, "ticket_answered", ticket)]


def plan_closed(event_id: str, ticket: TicketInfo) -> list[MessagePlan]:
    return [_ticket_plan(event_id, "ticket_closed", ticket)]


def plan_sla(
    event_id: str,
    template: str,
    ticket_id: str,
    number: str,
    department: str,
    target: str,
    deadline: str,
    supervisors: Iterable[str],
) -> list[MessagePlan]:
    """One message per supervisor (each has its own key, so each is sent once)."""
    params = {"number": number, "department": department, "target": target, "deadline": deadline}
    return [
        MessagePlan(
            key=event_message_key(event_id, template, user_id),
            template=template,
            user_id=user_id,
            ticket_id=ticket_id,
            params=params,
        )
        for user_id in sorted(set(supervisors))
    ]


def notify_time(raw: object) -> datetime | None:
    """The ``notify_at`` of an SlaWarning / SlaBreached as an aware instant, or ``None``.

    sla decides when supervisors may be told (the next opening of the ticket's
    calendar for a fact at night or on a holiday, docs/sla.md); notify only holds the
    message until then. A missing or unreadable value (an older sla, a bad event)
    means "at once": an escalation sent early beats one never sent.
    """
    if not isinstance(raw, str):
        return None
    try:
        instant = datetime.fromisoformat(raw)
    except ValueError:
        return None
    return instant if instant.tzinfo is not None else None


def format_deadline(iso: str, language: str, zone: tzinfo) -> str:
    """Local time; the Solar Hijri date for Persian readers."""
    try:
        instant = datetime.fromisoformat(iso)
    except (TypeError, ValueError):
        return str(iso)
    if instant.tzinfo is None:
        return str(iso)
    local = instant.astimezone(zone)
    if language == "fa":
        jalali = jdatetime.datetime.fromgregorian(datetime=local.replace(tzinfo=None))
        return jalali.strftime("%Y/%m/%d %H:%M")
    return local.strftime("%Y-%m-%d %H:%M")


def render_values(
    params: Mapping[str, str], language: str, public_url: str, zone: tzinfo
) -> dict[str, str]:
    """Everything a template may use, from the stored params."""
    values = {k: str(v) for k, v in params.items()}
    number = values.get("number", "")
    values["ticket_url"] = ticket_url(public_url, number)
    values["rating_url"] = rating_url(public_url, number)
    if "target" in values:
        values["target"] = target_label(values["target"], language)
    if "deadline" in values:
        values["deadline"] = format_deadline(values["deadline"], language, zone)
    return values
