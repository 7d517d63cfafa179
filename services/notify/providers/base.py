"""The one interface every SMS provider implements, and what it is told to send.

Besides ``send``, a provider declares what it can do for exactly-once delivery:

* ``dedupes_client_id``: sending the same ``client_id`` again returns the first
  message instead of sending a second (Kavenegar's ``localid``, the console outbox, a
  generic endpoint configured so). A retry after an unknown outcome is then safe.
* ``lookup``: it can answer "did you get message ``client_id``?" (Kavenegar by
  ``localid``, Twilio by listing messages to the number). Used before any retry that
  follows an unknown outcome or a crash.

A provider never raises for an answer it got: every outcome is a ``SendResult``.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime

from services.notify.domain.outcomes import Delivery, Lookup, LookupResult, SendResult


@dataclass(frozen=True)
class Outgoing:
    message_id: str
    client_id: str
    numeric_client_id: int
    recipient: str  # E.164
    text: str
    template: str
    language: str
    code: str | None = None  # set for verification codes (Kavenegar's lookup API)


class Provider:
    name: str = "provider"
    dedupes_client_id: bool = False
    can_lookup: bool = False
    reports_delivery: bool = False

    def send(self, message: Outgoing) -> SendResult:
        raise NotImplementedError

    def send_code(self, message: Outgoing) -> SendResult:
        """Verification codes; providers with a dedicated API override this."""
        return self.send(message)

    def lookup(
        self, message: Outgoing, since: datetime, exclude_ids: Iterable[str] = ()
    ) -> LookupResult:
        """Whether the provider holds ``message``; ``exclude_ids`` are provider ids
        already known to belong to *other* messages (for providers that match by
        content rather than by our id)."""
        return LookupResult(Lookup.CANNOT_TELL)

    def delivery_status(self, provider_ids: list[str]) -> dict[str, Delivery]:
        """Delivery reports for messages it accepted; missing ids are still pending."""
        return {}
