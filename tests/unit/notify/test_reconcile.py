"""After an unknown outcome: look up, resend safely, or never resend blindly."""

from __future__ import annotations

import pytest

from services.notify.domain.outcomes import Lookup, LookupResult, Reason, Status
from services.notify.domain.reconcile import Step, after_lookup, first_step, gave_up_unknown


@pytest.mark.parametrize(
    ("uncertain", "dedupes", "lookup", "step"),
    [
        (False, False, False, Step.SEND),
        (True, True, True, Step.LOOKUP),
        (True, False, True, Step.LOOKUP),
        (True, True, False, Step.SEND),
        (True, False, False, Step.GIVE_UP),
    ],
)
def test_the_first_step_depends_on_what_the_provider_can_do(uncertain, dedupes, lookup, step):
    assert first_step(uncertain, dedupes, lookup) is step


def test_found_means_sent_and_nothing_is_resent():
    settled = after_lookup(LookupResult(Lookup.FOUND, "77"), dedupes_client_id=False)
    assert settled.status is Status.ACCEPTED and settled.provider_message_id == "77"


def test_not_found_means_send():
    assert after_lookup(LookupResult(Lookup.NOT_FOUND), dedupes_client_id=False) is None


def test_a_failed_lookup_stays_uncertain_unless_the_provider_dedupes():
    unknown = after_lookup(LookupResult(Lookup.CANNOT_TELL, detail="503"), False)
    assert unknown.status is Status.UNKNOWN
    assert after_lookup(LookupResult(Lookup.CANNOT_TELL), dedupes_client_id=True) is None


def test_giving_up_is_a_permanent_outcome_unknown():
    result = gave_up_unknown()
    assert (result.status, result.reason) == (Status.REJECTED, Reason.OUTCOME_UNKNOWN)
