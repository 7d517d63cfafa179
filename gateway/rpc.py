"""Calling a service over nameko RPC with a deadline.

nameko's ``RpcReply.result()`` waits forever; a gateway request must not. After
``timeout`` seconds the caller gets 503 ``service_unavailable`` (the RPC message
itself expires in the queue at the same moment, see ``RpcProxy(expiration=...)`` in
``gateway.base``, so a late service does not act on a request whose caller has gone).
A service that is not running at all is noticed at once (nameko's mandatory publish
raises UnknownService). Domain errors (ServiceError) pass through untouched.
"""

from __future__ import annotations

import logging
from typing import Any

import eventlet
from kombu.exceptions import KombuError
from nameko.exceptions import RemoteError, UnknownService

from gateway.errors import InternalError, ServiceUnavailable

log = logging.getLogger(__name__)


def call(method: Any, *args: Any, timeout: float, **kwargs: Any) -> Any:
    """``method`` is a nameko MethodProxy (``self.tickets.open_ticket``)."""
    timer = eventlet.Timeout(timeout)
    try:
        return method.call_async(*args, **kwargs).result()
    except eventlet.Timeout as exc:
        if exc is not timer:
            raise
        log.warning("rpc timed out", extra={"rpc": repr(method), "timeout": timeout})
        raise ServiceUnavailable(f"{method!r} timed out after {timeout}s") from None
    except UnknownService as exc:
        raise ServiceUnavailable(f"{exc} is not running") from exc
    except (OSError, KombuError) as exc:
        raise ServiceUnavailable(f"broker: {exc}") from exc
    except RemoteError as exc:
        # Not a domain error: a bug or an outage inside the service. Its details stay
        # in the logs, the caller gets a plain 500 with the request id.
        log.error("service failed", extra={"rpc": repr(method), "error": str(exc)[:500]})
        raise InternalError(f"{method!r}: {exc.exc_type}") from exc
    finally:
        timer.cancel()
