"""Before sending again after an attempt whose outcome is unknown (a timeout, a 5xx, a
sender killed mid-call): look, resend, or give up, depending on the provider.

* It can look a message up by our id (Kavenegar's localid, the console outbox) or by
  content (Twilio): look first. Found means it was sent: record it, send nothing.
  Not found means it was not: send (with the same client id).
* It cannot look but de-duplicates our client id: resend; it answers with the first.
* It can do neither: do not resend. At most once beats twice for a person; the
  message fails as ``outcome_unknown`` and is counted as a dead letter for a human.
"""

from __future__ import annotations

from enum import StrEnum

from services.notify.domain.outcomes import Lookup, LookupResult, Reason, SendResult


class Step(StrEnum):
    SEND = "send"
    LOOKUP = "lookup"
    GIVE_UP = "give_up"


def first_step(uncertain: bool, dedupes_client_id: bool, can_lookup: bool) -> Step:
    if not uncertain:
        return Step.SEND
    if can_lookup:
        return Step.LOOKUP
    if dedupes_client_id:
        return Step.SEND
    return Step.GIVE_UP


def after_lookup(found: LookupResult, dedupes_client_id: bool) -> SendResult | None:
    """The outcome a lookup settles, or None: go on and send."""
    if found.answer is Lookup.FOUND:
        return SendResult.accepted(found.provider_message_id, "found by lookup; not resent")
    if found.answer is Lookup.NOT_FOUND or dedupes_client_id:
        return None
    return SendResult.unknown(Reason.SERVER_ERROR, f"lookup failed: {found.detail}"[:300])


def gave_up_unknown() -> SendResult:
    return SendResult.rejected(
        Reason.OUTCOME_UNKNOWN,
        "the provider may have the message and can neither look it up nor de-duplicate it",
    )
