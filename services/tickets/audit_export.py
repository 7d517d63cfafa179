"""A ticket's complete audit trail as a document an auditor can keep: JSON, and a
printable, self-contained Persian (RTL) HTML page with English alongside (pure).

Every event says who (actor id and role), when (UTC, Tehran wall-clock time and the
Jalali date), what changed (in Persian and English) and where it sits in the
tamper-evident chain (``chain_seq``, ``chain_hash``, and whether the stored hash
still matches the row), so the printout can be checked against the database later.
"""

from __future__ import annotations

import html
import json
from collections.abc import Callable, Sequence
from datetime import UTC, datetime
from typing import Any
from zoneinfo import ZoneInfo

from pasokh_common.eventlog import RecordedEvent

import jdatetime

TEHRAN = ZoneInfo("Asia/Tehran")
FORMAT = "pasokh-audit-trail-v1"

_PRIORITY_FA = {"low": "کم", "normal": "عادی", "high": "زیاد", "urgent": "فوری"}
_ROLE_FA = {
    "customer": "مشتری",
    "agent": "کارشناس",
    "supervisor": "سرپرست",
    "admin": "مدیر سامانه",
    "system": "سامانه",
}
_CHAIN_STATUS = {
    "ok": ("سالم", "intact"),
    "unsealed": ("هنوز مهر نشده", "not sealed yet"),
    "mismatch": ("ناسازگار: پس از مهر تغییر کرده", "MISMATCH: changed after sealing"),
}


def moment(value: datetime) -> dict[str, str]:
    """One instant as UTC (ISO 8601), Tehran wall-clock time and the Jalali date."""
    utc = value.astimezone(UTC)
    local = value.astimezone(TEHRAN)
    jalali = jdatetime.datetime.fromgregorian(datetime=local.replace(tzinfo=None))
    return {
        "utc": utc.isoformat().replace("+00:00", "Z"),
        "tehran": local.strftime("%Y-%m-%d %H:%M:%S"),
        "jalali_date": jalali.strftime("%Y/%m/%d"),
        "jalali": jalali.strftime("%Y/%m/%d %H:%M:%S"),
    }


def _reason(data: dict, fa: str, en: str) -> tuple[str, str]:
    reason = data.get("reason")
    if reason:
        return f"{fa}؛ دلیل: {reason}", f"{en}; reason: {reason}"
    return fa, en


def _priority(value: Any) -> str:
    return _PRIORITY_FA.get(str(value), str(value))


_DESCRIBE: dict[str, Callable[[dict], tuple[str, str]]] = {
    "TicketOpened": lambda d: (
        f"تیکت در بخش {d.get('department')} با اولویت {_priority(d.get('priority'))} باز شد."
        f" موضوع: «{d.get('subject')}». پیام: {d.get('body')}",
        f"Ticket opened in {d.get('department')}, priority {d.get('priority')}."
        f" Subject: “{d.get('subject')}”. Message: {d.get('body')}",
    ),
    "TicketClaimed": lambda d: (
        f"کارشناس {d.get('agent_id')} تیکت را برداشت.",
        f"Agent {d.get('agent_id')} claimed the ticket.",
    ),
    "TicketReleased": lambda d: (
        f"تیکت از کارشناس {d.get('agent_id')} به صف برگشت (به دست {d.get('released_by')}).",
        f"Released from agent {d.get('agent_id')} back to the queue by {d.get('released_by')}.",
    ),
    "ReplyPosted": lambda d: (
        f"پاسخ ({_ROLE_FA.get(str(d.get('author_role')), d.get('author_role'))}): {d.get('body')}",
        f"Reply ({d.get('author_role')}): {d.get('body')}",
    ),
    "InternalNotePosted": lambda d: (
        f"یادداشت داخلی (دیده نشدنی برای مشتری): {d.get('body')}",
        f"Internal note (never shown to the customer): {d.get('body')}",
    ),
    "AttachmentAdded": lambda d: (
        f"پیوست «{d.get('name')}» ({d.get('size')} بایت، {d.get('content_type')}،"
        f" sha256 {d.get('sha256')})",
        f"Attachment “{d.get('name')}” ({d.get('size')} bytes, {d.get('content_type')},"
        f" sha256 {d.get('sha256')})",
    ),
    "TicketTransferred": lambda d: _reason(
        d,
        f"انتقال از بخش {d.get('from_department')} به بخش {d.get('to_department')}",
        f"Transferred from {d.get('from_department')} to {d.get('to_department')}",
    ),
    "PriorityChanged": lambda d: (
        f"اولویت از {_priority(d.get('from_priority'))} به {_priority(d.get('to_priority'))}"
        " تغییر کرد.",
        f"Priority changed from {d.get('from_priority')} to {d.get('to_priority')}.",
    ),
    "TicketClosed": lambda d: _reason(d, "تیکت بسته شد", "Ticket closed"),
    "TicketReopened": lambda d: ("تیکت دوباره باز شد.", "Ticket reopened."),
    "TicketMerged": lambda d: (
        f"در تیکت {d.get('into_number')} ادغام و بسته شد.",
        f"Merged into ticket {d.get('into_number')} and closed.",
    ),
    "SatisfactionRated": lambda d: (
        f"امتیاز رضایت: {d.get('score')} از ۵"
        + (f"؛ نظر: {d['comment']}" if d.get("comment") else ""),
        f"Satisfaction: {d.get('score')} of 5"
        + (f"; comment: {d['comment']}" if d.get("comment") else ""),
    ),
}


def describe(event_type: str, data: dict) -> tuple[str, str]:
    """What the event changed, in Persian and English; an unknown type shows its data."""
    if event_type in _DESCRIBE and isinstance(data, dict):
        return _DESCRIBE[event_type](data)
    raw = json.dumps(data, ensure_ascii=False, sort_keys=True)
    return f"رویداد {event_type}: {raw}", f"Event {event_type}: {raw}"


def build_document(
    ticket: dict[str, Any],
    events: Sequence[RecordedEvent],
    chain: Sequence[dict[str, Any]],
    requested_by: dict[str, Any],
    now: datetime,
) -> dict[str, Any]:
    """The JSON export. ``chain`` is ``check_events``' answer for ``events``."""
    by_position = {c["position"]: c for c in chain}
    items = []
    for e in events:
        fa, en = describe(e.type, e.data)
        link = by_position.get(e.position, {})
        items.append(
            {
                "position": e.position,
                "version": e.version,
                "event_id": str(e.event_id),
                "type": e.type,
                "schema_version": e.schema_version,
                "description_fa": fa,
                "description_en": en,
                "actor_id": e.metadata.get("actor_id"),
                "actor_role": e.metadata.get("actor_role"),
                "correlation_id": e.metadata.get("correlation_id"),
                "origin": e.metadata.get("origin"),
                "recorded_at": moment(e.recorded_at),
                "data": e.data,
                "chain_seq": link.get("chain_seq"),
                "chain_hash": link.get("chain_hash"),
                "chain_status": link.get("status", "unsealed"),
            }
        )
    statuses = [item["chain_status"] for item in items]
    return {
        "format": FORMAT,
        "ticket": ticket,
        "generated_at": moment(now),
        "generated_by": {"actor_id": requested_by.get("id"), "role": requested_by.get("role")},
        "chain": {
            "algorithm": "chain_hash = sha256(previous chain_hash || canonical row bytes);"
            " see docs/event-log.md and `pasokh audit verify --service tickets`",
            "intact": statuses.count("mismatch") == 0,
            "sealed": statuses.count("ok") + statuses.count("mismatch"),
            "unsealed": statuses.count("unsealed"),
            "mismatched_positions": [
                i["position"] for i in items if i["chain_status"] == "mismatch"
            ],
        },
        "events": items,
    }


_STYLE = """
@page { size: A4 landscape; margin: 12mm; }
body { font-family: Vazirmatn, Tahoma, "DejaVu Sans", sans-serif; font-size: 10pt;
       color: #111; margin: 0 auto; max-width: 1100px; padding: 12px; line-height: 1.6; }
h1 { font-size: 15pt; margin: 0 0 4px; }
h2 { font-size: 12pt; margin: 14px 0 6px; }
.en { direction: ltr; unicode-bidi: isolate; color: #444; font-size: 9pt; }
.ltr, code { direction: ltr; unicode-bidi: isolate; }
code { font-family: "DejaVu Sans Mono", monospace; font-size: 8pt; word-break: break-all; }
table { border-collapse: collapse; width: 100%; }
th, td { border: 1px solid #999; padding: 4px 6px; vertical-align: top; text-align: start; }
th { background: #eee; }
tr { page-break-inside: avoid; }
.summary td:first-child { width: 30%; font-weight: bold; }
.mismatch { background: #fdd; font-weight: bold; }
.unsealed { color: #666; }
@media print { body { padding: 0; max-width: none; } th { background: #eee !important;
  -webkit-print-color-adjust: exact; print-color-adjust: exact; } }
"""


def _e(value: Any) -> str:
    return html.escape("" if value is None else str(value))


def _both(fa: str, en: str) -> str:
    return f'{_e(fa)}<div class="en" lang="en">{_e(en)}</div>'


def render_html(document: dict[str, Any]) -> str:
    """The printable page: no script, no external resource (it prints and archives as
    one file), every value escaped."""
    ticket, chain, generated = document["ticket"], document["chain"], document["generated_at"]
    verdict = (
        ("زنجیره سالم است", "The chain is intact")
        if chain["intact"]
        else ("زنجیره ناسازگار است", "The chain is BROKEN")
    )
    rows = []
    for n, item in enumerate(document["events"], 1):
        at = item["recorded_at"]
        status_fa, status_en = _CHAIN_STATUS.get(item["chain_status"], _CHAIN_STATUS["unsealed"])
        role = item.get("actor_role") or ""
        rows.append(
            f'<tr class="{_e(item["chain_status"])}">'
            f"<td>{n}</td>"
            f'<td>{_e(at["jalali"])}<div class="en">Tehran {_e(at["tehran"])}</div>'
            f'<div class="en">UTC {_e(at["utc"])}</div></td>'
            f'<td><span class="ltr">{_e(item.get("actor_id"))}</span><br>'
            f"{_both(_ROLE_FA.get(role, role), role)}</td>"
            f"<td><code>{_e(item['type'])}</code></td>"
            f"<td>{_both(item['description_fa'], item['description_en'])}</td>"
            f'<td><div class="ltr">seq {_e(item["chain_seq"])} · position {_e(item["position"])}'
            f"</div><code>{_e(item['event_id'])}</code><br><code>{_e(item['chain_hash'])}</code>"
            f"<br>{_both(status_fa, status_en)}</td>"
            "</tr>"
        )
    return f"""<!DOCTYPE html>
<html lang="fa" dir="rtl">
<head>
<meta charset="utf-8">
<title>سابقه ممیزی تیکت {_e(ticket.get("number_display"))} · Audit trail</title>
<style>{_STYLE}</style>
</head>
<body>
<h1>سابقه ممیزی تیکت <span class="ltr">{_e(ticket.get("number_display"))}</span>
<div class="en" lang="en">Audit trail of ticket {_e(ticket.get("number_display"))}</div></h1>
<table class="summary">
<tr><td>{_both("شناسه تیکت", "Ticket id")}</td>
<td><code>{_e(ticket.get("ticket_id"))}</code></td></tr>
<tr><td>{_both("بخش", "Department")}</td><td>{_e(ticket.get("department"))}</td></tr>
<tr><td>{_both("تاریخ تهیه", "Generated")}</td><td>{_e(generated["jalali"])}
<div class="en">Tehran {_e(generated["tehran"])} · UTC {_e(generated["utc"])}</div></td></tr>
<tr><td>{_both("تهیه‌کننده", "Generated by")}</td>
<td><span class="ltr">{_e(document["generated_by"]["actor_id"])}</span>
({_e(document["generated_by"]["role"])})</td></tr>
<tr><td>{_both("شمار رویدادها", "Events")}</td><td>{len(document["events"])}</td></tr>
<tr><td>{_both("زنجیره هش", "Hash chain")}</td><td>{_both(*verdict)}
<div class="en">sealed {chain["sealed"]}, not sealed yet {chain["unsealed"]},
mismatched positions {_e(chain["mismatched_positions"] or "none")}</div>
<div class="en">{_e(chain["algorithm"])}</div></td></tr>
</table>
<h2>رویدادها <span class="en">Events</span></h2>
<table>
<thead><tr><th>#</th><th>{_both("زمان (جلالی، تهران)", "Time")}</th>
<th>{_both("انجام‌دهنده و نقش", "Actor and role")}</th><th>{_both("رویداد", "Event")}</th>
<th>{_both("چه تغییر کرد", "What changed")}</th><th>{_both("زنجیره", "Chain")}</th></tr></thead>
<tbody>
{"".join(rows)}
</tbody>
</table>
</body>
</html>
"""
