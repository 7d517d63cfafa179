"""The code sender the service uses: ``notify.send_verification_code`` over RPC.

nameko's RPC proxy waits for a reply forever when the notify queue exists but
nobody consumes it, so each call has a deadline; the request message also expires
in the queue after that long, so a notify that comes back later does not send a code
we have already given up on (and rolled back). Any failure becomes ``CodeNotSent``;
only the error's type is logged, never its text, which could echo the code.
"""

from __future__ import annotations

import logging
from typing import Any

import eventlet

from services.identity.domain.errors import CodeNotSent

log = logging.getLogger(__name__)


class NotifyCodeSender:
    def __init__(self, notify_proxy: Any, timeout_seconds: float) -> None:
        self._notify = notify_proxy
        self._timeout = timeout_seconds

    def send(self, user_id: str, phone: str, code: str, purpose: str, language: str) -> None:
        try:
            with eventlet.Timeout(self._timeout):
                self._notify.send_verification_code(
                    user_id=user_id, phone=phone, code=code, purpose=purpose, language=language
                )
        except (Exception, eventlet.Timeout) as exc:
            log.warning("notify did not take the code", extra={"error": type(exc).__name__})
            raise CodeNotSent(type(exc).__name__) from None
