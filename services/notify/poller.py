"""Moved to ``pasokh_common.poller`` (webhooks uses it too); kept for notify's imports."""

from pasokh_common.poller import MAX_SLEEP, Poller, poll

__all__ = ["MAX_SLEEP", "Poller", "poll"]
