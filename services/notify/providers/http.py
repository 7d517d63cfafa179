"""Moved to ``pasokh_common.http_client`` (webhooks uses it too); kept for notify's
providers, which say ``http.request(...)``."""

from pasokh_common.http_client import (
    NotSent,
    OutcomeUnknown,
    Reply,
    form,
    request,
    retry_after_seconds,
)

__all__ = ["NotSent", "OutcomeUnknown", "Reply", "form", "request", "retry_after_seconds"]
