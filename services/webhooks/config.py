"""The webhooks service's settings, from environment variables only (docs/webhooks.md).

Read once at start-up: a bad value (a CA bundle that does not exist, a lease too short
for a request's timeout) stops the process before it takes work.
"""

from __future__ import annotations

import ssl
from dataclasses import dataclass, field

from pasokh_common.backoff import RetryPolicy
from pasokh_common.settings import env_float, env_int, env_str


class ConfigurationError(RuntimeError):
    """webhooks cannot run with this environment; the message says which variable."""


@dataclass(frozen=True)
class WebhooksConfig:
    timeout_seconds: float = 10.0
    lease_seconds: float = 60.0
    retry: RetryPolicy = field(
        default_factory=lambda: RetryPolicy(max_attempts=8, base_seconds=30.0, max_seconds=3600.0)
    )
    disable_after: int = 5
    concurrency: int = 8
    poll_seconds: float = 1.0
    allow_http_hosts: tuple[str, ...] = ()
    ca_bundle: str = ""
    secret_grace_seconds: float = 86400.0
    response_excerpt_chars: int = 500
    max_response_bytes: int = 65536
    retention_days: float = 30.0
    interest_seconds: float = 2.0

    def __post_init__(self) -> None:
        if self.lease_seconds < 2 * self.timeout_seconds:
            # A live sender finishes (or times out) well inside its lease, or another
            # replica could take the delivery over while the request is in flight.
            raise ConfigurationError(
                "WEBHOOKS_LEASE_SECONDS must be at least twice WEBHOOKS_TIMEOUT_SECONDS"
            )
        if self.concurrency < 1 or self.disable_after < 0 or self.retention_days < 0:
            raise ConfigurationError(
                "WEBHOOKS_CONCURRENCY must be >= 1, WEBHOOKS_DISABLE_AFTER and"
                " WEBHOOKS_RETENTION_DAYS >= 0"
            )

    def tls_context(self) -> ssl.SSLContext:
        """Verification always on (hostname too); ``WEBHOOKS_CA_BUNDLE`` adds an
        internal CA to the system's."""
        context = ssl.create_default_context()
        if self.ca_bundle:
            try:
                context.load_verify_locations(cafile=self.ca_bundle)
            except (OSError, ssl.SSLError) as exc:
                raise ConfigurationError(f"WEBHOOKS_CA_BUNDLE cannot be read: {exc}") from exc
        return context

    @classmethod
    def from_env(cls) -> WebhooksConfig:
        timeout = env_float("WEBHOOKS_TIMEOUT_SECONDS", 10.0)
        try:
            retry = RetryPolicy(
                max_attempts=env_int("WEBHOOKS_MAX_ATTEMPTS", 8),
                base_seconds=env_float("WEBHOOKS_RETRY_BASE_SECONDS", 30.0),
                max_seconds=env_float("WEBHOOKS_RETRY_MAX_SECONDS", 3600.0),
            )
        except ValueError as exc:
            raise ConfigurationError(str(exc)) from exc
        hosts = env_str("WEBHOOKS_ALLOW_HTTP_HOSTS", "")
        return cls(
            timeout_seconds=timeout,
            lease_seconds=env_float("WEBHOOKS_LEASE_SECONDS", max(60.0, 2 * timeout)),
            retry=retry,
            disable_after=env_int("WEBHOOKS_DISABLE_AFTER", 5),
            concurrency=env_int("WEBHOOKS_CONCURRENCY", 8),
            poll_seconds=env_float("WEBHOOKS_POLL_SECONDS", 1.0),
            allow_http_hosts=tuple(h.strip().lower() for h in hosts.split(",") if h.strip()),
            ca_bundle=env_str("WEBHOOKS_CA_BUNDLE", ""),
            secret_grace_seconds=env_float("WEBHOOKS_SECRET_GRACE_SECONDS", 86400.0),
            retention_days=env_float("WEBHOOKS_RETENTION_DAYS", 30.0),
            interest_seconds=env_float("WEBHOOKS_INTEREST_SECONDS", 2.0),
        )
