"""The body a webhook carries: a CloudEvents 1.0 event in structured JSON mode.

Made once, when the delivery is created, and stored as text: every attempt and every
redelivery sends the same bytes (only the timestamp and signature headers change), so
a receiver that dedupes by ``id`` sees the same event each time.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from datetime import datetime
from typing import Any

CONTENT_TYPE = "application/cloudevents+json; charset=utf-8"
PING_TYPE = "WebhookPing"
EXTENSIONS = (
    ("pasokh_stream_version", "pasokhstreamversion"),
    ("pasokh_schema_version", "pasokhschemaversion"),
    ("pasokh_correlation_id", "pasokhcorrelationid"),
)


def cloud_event(
    event_id: str,
    source: str,
    event_type: str,
    data: Any,
    time: datetime,
    headers: Mapping[str, Any] | None = None,
) -> str:
    """The JSON text. ``source`` is the publishing service (``tickets``); the
    CloudEvents ``source`` is ``pasokh/<service>`` as on the bus."""
    headers = headers or {}
    event: dict[str, Any] = {
        "specversion": "1.0",
        "id": event_id,
        "source": f"pasokh/{source}",
        "type": event_type,
        "time": str(headers.get("cloudEvents_time") or time.isoformat()),
        "datacontenttype": "application/json",
    }
    subject = headers.get("cloudEvents_subject")
    if subject:
        event["subject"] = str(subject)
    # CloudEvents extension attributes (lowercase letters and digits only): what the
    # bus carries in headers and a receiver needs to order and parse (integration.md).
    for header, attribute in EXTENSIONS:
        if headers.get(header) is not None:
            event[attribute] = headers[header]
    event["data"] = data
    return json.dumps(event, ensure_ascii=False, separators=(",", ":"), default=str)
