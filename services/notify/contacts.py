"""Phone numbers come from identity (``get_contact``), never from events.

identity hands a number only to a caller presenting ``IDENTITY_CONTACT_SECRET``. A
short cache (``NOTIFY_CONTACT_CACHE_SECONDS``) keeps a burst of messages to one person
(a ticket opened, answered and closed within a minute; a backlog after an outage) from
becoming one RPC each; a changed number is used at most that long after the change.
"""

from __future__ import annotations

import logging
import threading
import time
from dataclasses import dataclass
from typing import Any, Protocol

from pasokh_common.errors import ServiceError

import eventlet

from services.notify.domain.phones import to_e164

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Contact:
    phone: str
    language: str


class ContactMissing(Exception):
    """identity has no such user or no number for them: the message can never go."""


class ContactUnavailable(Exception):
    """identity did not answer (down, slow, or refusing our secret): try again later."""


class ContactBook(Protocol):
    def get(self, user_id: str) -> Contact: ...


class ContactCache:
    """Process-wide, time-bounded; shared by every worker of the process."""

    def __init__(self, ttl_seconds: float, clock=time.monotonic) -> None:
        self.ttl = ttl_seconds
        self.clock = clock
        self._entries: dict[str, tuple[float, Contact]] = {}
        self._lock = threading.Lock()

    def get(self, user_id: str) -> Contact | None:
        with self._lock:
            entry = self._entries.get(user_id)
            if entry is None or entry[0] < self.clock():
                self._entries.pop(user_id, None)
                return None
            return entry[1]

    def forget(self, user_id: str) -> None:
        """Drop the user's number at once (the user was erased)."""
        with self._lock:
            self._entries.pop(user_id, None)

    def put(self, user_id: str, contact: Contact) -> None:
        if self.ttl <= 0:
            return
        with self._lock:
            if len(self._entries) > 10_000:
                self._entries.clear()
            self._entries[user_id] = (self.clock() + self.ttl, contact)


class IdentityContacts:
    """The ContactBook the service uses: identity over nameko RPC, with a deadline."""

    def __init__(self, identity: Any, secret: str, timeout: float, cache: ContactCache) -> None:
        self.identity = identity
        self.secret = secret
        self.timeout = timeout
        self.cache = cache

    def get(self, user_id: str) -> Contact:
        cached = self.cache.get(user_id)
        if cached is not None:
            return cached
        if not self.secret:
            raise ContactUnavailable("IDENTITY_CONTACT_SECRET is not set")
        try:
            with eventlet.Timeout(self.timeout):
                answer = self.identity.get_contact(user_id, self.secret)
        except ServiceError as error:
            if error.code in ("user_not_found", "validation_failed"):
                raise ContactMissing(error.code) from None
            if error.code == "not_permitted":
                log.error("identity refused get_contact: IDENTITY_CONTACT_SECRET differs")
            raise ContactUnavailable(error.code) from None
        except (Exception, eventlet.Timeout) as exc:
            raise ContactUnavailable(type(exc).__name__) from None
        phone = to_e164(answer.get("phone") or "")
        if not phone:
            raise ContactMissing("no phone number")
        contact = Contact(phone, answer.get("language") or "fa")
        self.cache.put(user_id, contact)
        return contact
