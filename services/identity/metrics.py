"""The identity service's Prometheus metrics (served by the runner's ``/metrics``).

Labels are bounded sets (outcomes, kinds, purposes, event types), never user ids or
phone numbers.
"""

from __future__ import annotations

from prometheus_client import Counter

REGISTRATIONS = Counter(
    "pasokh_identity_registrations_total", "Customer accounts registered", ["kind"]
)
VERIFICATIONS = Counter(
    "pasokh_identity_verifications_total",
    "Verification codes checked, by outcome (ok, wrong_code, expired, locked)",
    ["outcome"],
)
LOGINS = Counter(
    "pasokh_identity_logins_total",
    "Login attempts, by outcome (ok, failed, throttled)",
    ["outcome"],
)
CODES_SENT = Counter(
    "pasokh_identity_codes_sent_total", "Verification codes handed to notify", ["purpose"]
)
CODES_REFUSED = Counter(
    "pasokh_identity_code_requests_refused_total",
    "Code requests refused by the cooldown or an hourly limit",
    ["reason"],
)
EVENTS_APPENDED = Counter(
    "pasokh_identity_events_appended_total", "Events appended to identity's log", ["event_type"]
)

# Create every labelled series up front, so dashboards see zeros rather than gaps.
for _outcome in ("ok", "wrong_code", "expired", "locked"):
    VERIFICATIONS.labels(_outcome)
for _outcome in ("ok", "failed", "throttled"):
    LOGINS.labels(_outcome)
for _kind in ("person", "company"):
    REGISTRATIONS.labels(_kind)
for _purpose in ("verify_phone", "reset_password"):
    CODES_SENT.labels(_purpose)
