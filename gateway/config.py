"""Gateway settings, from environment variables only (the README's table).

Read once when the process starts (the ``Runtime`` dependency), so a malformed value
stops the process before it takes a request instead of failing one request later.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field

from pasokh_common.settings import env_float, env_int

MIB = 1024 * 1024
# What the tickets service accepts per attachment; the gateway may be stricter.
TICKETS_MAX_ATTACHMENT_BYTES = 10 * MIB


@dataclass(frozen=True)
class RateLimit:
    """A token bucket: ``capacity`` requests at once, refilled evenly over ``per_seconds``."""

    capacity: int
    per_seconds: float

    @property
    def refill_per_second(self) -> float:
        return self.capacity / self.per_seconds

    @classmethod
    def parse(cls, name: str, text: str) -> RateLimit | None:
        """``"20/60"`` is 20 requests per 60 s; ``"off"`` (or ``0``) disables the limit."""
        text = text.strip().lower()
        if text in ("off", "0", "none"):
            return None
        capacity, sep, seconds = text.partition("/")
        try:
            limit = cls(int(capacity), float(seconds) if sep else 1.0)
        except ValueError as exc:
            raise ValueError(
                f"{name} must look like 20/60 (requests/seconds), got {text!r}"
            ) from exc
        if limit.capacity < 1 or limit.per_seconds <= 0:
            raise ValueError(f"{name} must be positive, got {text!r}")
        return limit


def _rate(name: str, default: str) -> RateLimit | None:
    return RateLimit.parse(name, os.environ.get(name, "").strip() or default)


def _names(name: str) -> frozenset[str]:
    return frozenset(p.strip() for p in os.environ.get(name, "").split(",") if p.strip())


@dataclass(frozen=True)
class GatewayConfig:
    rpc_timeout_seconds: float = 30.0
    readiness_timeout_seconds: float = 2.0
    token_cache_seconds: float = 5.0
    token_cache_size: int = 10_000
    auth_rate: RateLimit | None = RateLimit(20, 60.0)
    open_ticket_rate: RateLimit | None = RateLimit(10, 60.0)
    rate_limit_keys: int = 100_000
    max_attachment_bytes: int = TICKETS_MAX_ATTACHMENT_BYTES
    max_attachments: int = 5
    max_json_bytes: int = 1 * MIB
    trusted_proxy_hops: int = 0
    persian_only_departments: frozenset[str] = field(default_factory=frozenset)
    duplicate_similarity: float = 0.5
    departments_cache_seconds: float = 30.0

    def __post_init__(self) -> None:
        if not 0 < self.max_attachment_bytes <= TICKETS_MAX_ATTACHMENT_BYTES:
            raise ValueError("GATEWAY_MAX_ATTACHMENT_BYTES must be 1 .. 10 MiB")
        if not 0 <= self.max_attachments <= 10:
            raise ValueError("GATEWAY_MAX_ATTACHMENTS must be 0 .. 10 (the tickets limit)")
        if not 0.1 <= self.duplicate_similarity <= 1.0:
            raise ValueError("GATEWAY_DUPLICATE_SIMILARITY must be 0.1 .. 1.0")
        if self.token_cache_seconds < 0 or self.token_cache_seconds > 60:
            raise ValueError("GATEWAY_TOKEN_CACHE_SECONDS must be 0 .. 60")

    @property
    def max_multipart_bytes(self) -> int:
        """A whole multipart request: every attachment at its largest plus 1 MiB for the
        text fields and the multipart framing. A larger Content-Length is refused unread."""
        return self.max_attachments * self.max_attachment_bytes + MIB

    @classmethod
    def from_env(cls) -> GatewayConfig:
        return cls(
            rpc_timeout_seconds=env_float("GATEWAY_RPC_TIMEOUT_SECONDS", 30.0),
            readiness_timeout_seconds=env_float("GATEWAY_READINESS_TIMEOUT_SECONDS", 2.0),
            token_cache_seconds=env_float("GATEWAY_TOKEN_CACHE_SECONDS", 5.0),
            token_cache_size=env_int("GATEWAY_TOKEN_CACHE_SIZE", 10_000),
            auth_rate=_rate("GATEWAY_RATE_AUTH", "20/60"),
            open_ticket_rate=_rate("GATEWAY_RATE_OPEN_TICKET", "10/60"),
            rate_limit_keys=env_int("GATEWAY_RATE_LIMIT_KEYS", 100_000),
            max_attachment_bytes=env_int(
                "GATEWAY_MAX_ATTACHMENT_BYTES", TICKETS_MAX_ATTACHMENT_BYTES
            ),
            max_attachments=env_int("GATEWAY_MAX_ATTACHMENTS", 5),
            max_json_bytes=env_int("GATEWAY_MAX_JSON_BYTES", 1 * MIB),
            trusted_proxy_hops=env_int("GATEWAY_TRUSTED_PROXY_HOPS", 0),
            persian_only_departments=_names("GATEWAY_PERSIAN_ONLY_DEPARTMENTS"),
            duplicate_similarity=env_float("GATEWAY_DUPLICATE_SIMILARITY", 0.5),
            departments_cache_seconds=env_float("GATEWAY_DEPARTMENTS_CACHE_SECONDS", 30.0),
        )
