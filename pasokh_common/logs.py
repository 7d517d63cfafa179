"""One JSON object per log line, with the service name and phone numbers masked."""

from __future__ import annotations

import json
import logging
import re
import sys
from datetime import UTC, datetime

# Iranian mobiles in any of the forms people type: 09xxxxxxxxx, +989..., 00989..., 989...
_PHONE = re.compile(r"(?<!\d)(?:\+?98|0098|0)?9\d{9}(?!\d)")
_STANDARD_ATTRS = set(vars(logging.LogRecord("", 0, "", 0, "", (), None)).keys()) | {
    "message",
    "asctime",
}


def mask_phones(text: str) -> str:
    """Keep the last 4 digits only: enough for support staff to match, useless to a leak."""
    return _PHONE.sub(lambda m: "*" * (len(m.group(0)) - 4) + m.group(0)[-4:], text)


class JsonFormatter(logging.Formatter):
    def __init__(self, service: str) -> None:
        super().__init__()
        self.service = service

    def format(self, record: logging.LogRecord) -> str:
        entry = {
            "time": datetime.fromtimestamp(record.created, UTC).isoformat(),
            "level": record.levelname.lower(),
            "service": self.service,
            "logger": record.name,
            "message": mask_phones(record.getMessage()),
        }
        for key, value in vars(record).items():
            if key not in _STANDARD_ATTRS and not key.startswith("_"):
                entry[key] = mask_phones(value) if isinstance(value, str) else value
        if record.exc_info:
            entry["exception"] = mask_phones(self.formatException(record.exc_info))
        return json.dumps(entry, ensure_ascii=False, default=str)


def configure_logging(service: str, level: str = "INFO") -> None:
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(JsonFormatter(service))
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(level.upper())
