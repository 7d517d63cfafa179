"""What the gateway reads about a request before anything else: its id and the
client's address.

The request id is echoed in ``X-Request-ID`` and travels to the services as nameko
context data ``correlation_id``, so it lands in the metadata of every event the
request causes (the audit trail) and in every log line about it. A caller's id is
kept only if it is short and plain (it ends up in logs and headers); otherwise a new
one is made.
"""

from __future__ import annotations

import re
import uuid
from collections.abc import Mapping

REQUEST_ID_HEADER = "X-Request-ID"
_SAFE_ID = re.compile(r"[A-Za-z0-9._:\-]{1,128}")


def request_id_from(headers: Mapping[str, str]) -> str:
    given = (headers.get(REQUEST_ID_HEADER) or "").strip()
    return given if _SAFE_ID.fullmatch(given) else uuid.uuid4().hex


def client_address(environ: Mapping[str, object], trusted_proxy_hops: int) -> str:
    """The end user's address. Behind ``n`` trusted proxies (ingress, load balancer) it
    is the ``n``-th address from the right of ``X-Forwarded-For``: entries further left
    were written by the client and can be forged. With no trusted proxy, the socket's
    peer. Used only as a rate-limit key (here and in identity)."""
    remote = str(environ.get("REMOTE_ADDR") or "unknown")
    if trusted_proxy_hops <= 0:
        return remote
    forwarded = str(environ.get("HTTP_X_FORWARDED_FOR") or "")
    hops = [h.strip() for h in forwarded.split(",") if h.strip()]
    if len(hops) < trusted_proxy_hops:
        return hops[0][:100] if hops else remote
    return hops[-trusted_proxy_hops][:100]
