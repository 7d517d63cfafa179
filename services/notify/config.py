"""The notify service's settings, from environment variables only (docs/notify.md).

Read once at start-up, so a wrong value (an unknown provider, malformed quiet hours,
a Kavenegar provider without its API key) stops the process before it takes work
instead of failing each message.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from zoneinfo import ZoneInfo

from pasokh_common.settings import env_float, env_int, env_str

from services.notify.domain.quiet_hours import QuietHours
from services.notify.domain.rate_limit import RateLimit
from services.notify.domain.retry import RetryPolicy

PROVIDERS = ("console", "kavenegar", "twilio", "http")


class ConfigurationError(RuntimeError):
    """notify cannot run with this environment; the message says which variable."""


def env_bool(name: str, default: bool) -> bool:
    raw = env_str(name, "").lower()
    if not raw:
        return default
    if raw in ("1", "true", "yes", "on"):
        return True
    if raw in ("0", "false", "no", "off"):
        return False
    raise ConfigurationError(f"{name} must be true or false, got {raw!r}")


@dataclass(frozen=True)
class KavenegarSettings:
    api_key: str = ""
    sender: str = ""
    base_url: str = "https://api.kavenegar.com"
    verify_template_fa: str = ""
    verify_template_en: str = ""


@dataclass(frozen=True)
class TwilioSettings:
    account_sid: str = ""
    auth_token: str = ""
    sender: str = ""
    messaging_service_sid: str = ""
    base_url: str = "https://api.twilio.com"
    status_callback: str = ""


@dataclass(frozen=True)
class HttpSettings:
    url: str = ""
    method: str = "POST"
    body: str = ""
    content_type: str = "application/x-www-form-urlencoded"
    authorization: str = ""
    dedupes: bool = False
    id_field: str = ""


@dataclass(frozen=True)
class NotifyConfig:
    provider: str = "console"
    provider_timeout: float = 5.0
    kavenegar: KavenegarSettings = field(default_factory=KavenegarSettings)
    twilio: TwilioSettings = field(default_factory=TwilioSettings)
    http: HttpSettings = field(default_factory=HttpSettings)
    quiet_hours: QuietHours | None = None
    zone_name: str = "Asia/Tehran"
    rate_limit: RateLimit = field(default_factory=lambda: RateLimit(10.0, 10.0))
    retry: RetryPolicy = field(default_factory=RetryPolicy)
    message_ttl_seconds: float = 86400.0
    lease_seconds: float = 60.0
    send_concurrency: int = 8
    max_parts: int = 3
    code_deadline_seconds: float = 8.0
    contact_cache_seconds: float = 60.0
    identity_timeout: float = 5.0
    contact_secret: str = ""
    public_url: str = "http://localhost:8080"

    def __post_init__(self) -> None:
        if self.provider not in PROVIDERS:
            raise ConfigurationError(
                f"SMS_PROVIDER must be one of {', '.join(PROVIDERS)}, got {self.provider!r}"
            )
        if self.lease_seconds < 2 * self.provider_timeout:
            # A live sender must finish (or time out) well inside its lease, or a second
            # process could take the message over while the first call is in flight.
            raise ConfigurationError(
                "NOTIFY_SENDING_LEASE_SECONDS must be at least twice "
                "NOTIFY_PROVIDER_TIMEOUT_SECONDS"
            )
        if self.provider_timeout > self.code_deadline_seconds:
            # identity waits IDENTITY_NOTIFY_TIMEOUT_SECONDS (10) for a code; one provider
            # call must fit inside the code's deadline, which must fit inside that.
            raise ConfigurationError(
                "NOTIFY_PROVIDER_TIMEOUT_SECONDS must not exceed NOTIFY_CODE_DEADLINE_SECONDS"
            )
        if self.send_concurrency < 1 or self.max_parts < 1:
            raise ConfigurationError("NOTIFY_SEND_CONCURRENCY and NOTIFY_MAX_PARTS must be >= 1")
        if self.provider == "kavenegar" and not self.kavenegar.api_key:
            raise ConfigurationError("SMS_PROVIDER=kavenegar needs KAVENEGAR_API_KEY")
        if self.provider == "twilio" and not (
            self.twilio.account_sid
            and self.twilio.auth_token
            and (self.twilio.sender or self.twilio.messaging_service_sid)
        ):
            raise ConfigurationError(
                "SMS_PROVIDER=twilio needs TWILIO_ACCOUNT_SID, TWILIO_AUTH_TOKEN and "
                "TWILIO_FROM or TWILIO_MESSAGING_SERVICE_SID"
            )
        if self.provider == "http" and not self.http.url:
            raise ConfigurationError("SMS_PROVIDER=http needs NOTIFY_HTTP_URL")

    @property
    def zone(self) -> ZoneInfo:
        return ZoneInfo(self.zone_name)

    @classmethod
    def from_env(cls) -> NotifyConfig:
        zone_name = env_str("NOTIFY_TIMEZONE", "Asia/Tehran")
        rate = env_float("NOTIFY_RATE_LIMIT_PER_SECOND", 10.0)
        try:
            quiet = QuietHours.parse(env_str("NOTIFY_QUIET_HOURS", ""), zone_name)
            retry = RetryPolicy(
                max_attempts=env_int("NOTIFY_MAX_ATTEMPTS", 8),
                base_seconds=env_float("NOTIFY_RETRY_BASE_SECONDS", 2.0),
                max_seconds=env_float("NOTIFY_RETRY_MAX_SECONDS", 600.0),
            )
        except ValueError as exc:
            raise ConfigurationError(str(exc)) from exc
        timeout = env_float("NOTIFY_PROVIDER_TIMEOUT_SECONDS", 5.0)
        return cls(
            provider=env_str("SMS_PROVIDER", "console").lower(),
            provider_timeout=timeout,
            kavenegar=KavenegarSettings(
                api_key=env_str("KAVENEGAR_API_KEY", ""),
                sender=env_str("KAVENEGAR_SENDER", ""),
                base_url=env_str("KAVENEGAR_BASE_URL", "https://api.kavenegar.com"),
                verify_template_fa=env_str("KAVENEGAR_VERIFY_TEMPLATE", ""),
                verify_template_en=env_str("KAVENEGAR_VERIFY_TEMPLATE_EN", ""),
            ),
            twilio=TwilioSettings(
                account_sid=env_str("TWILIO_ACCOUNT_SID", ""),
                auth_token=env_str("TWILIO_AUTH_TOKEN", ""),
                sender=env_str("TWILIO_FROM", ""),
                messaging_service_sid=env_str("TWILIO_MESSAGING_SERVICE_SID", ""),
                base_url=env_str("TWILIO_BASE_URL", "https://api.twilio.com"),
                status_callback=env_str("TWILIO_STATUS_CALLBACK_URL", ""),
            ),
            http=HttpSettings(
                url=env_str("NOTIFY_HTTP_URL", ""),
                method=env_str("NOTIFY_HTTP_METHOD", "POST").upper(),
                body=env_str("NOTIFY_HTTP_BODY", ""),
                content_type=env_str(
                    "NOTIFY_HTTP_CONTENT_TYPE", "application/x-www-form-urlencoded"
                ),
                authorization=env_str("NOTIFY_HTTP_AUTHORIZATION", ""),
                dedupes=env_bool("NOTIFY_HTTP_DEDUPES", False),
                id_field=env_str("NOTIFY_HTTP_ID_FIELD", ""),
            ),
            quiet_hours=quiet,
            zone_name=zone_name,
            rate_limit=RateLimit(rate, env_float("NOTIFY_RATE_LIMIT_BURST", max(rate, 1.0))),
            retry=retry,
            message_ttl_seconds=env_float("NOTIFY_MESSAGE_TTL_SECONDS", 86400.0),
            lease_seconds=env_float("NOTIFY_SENDING_LEASE_SECONDS", max(60.0, 2 * timeout)),
            send_concurrency=env_int("NOTIFY_SEND_CONCURRENCY", 8),
            max_parts=env_int("NOTIFY_MAX_PARTS", 3),
            code_deadline_seconds=env_float("NOTIFY_CODE_DEADLINE_SECONDS", 8.0),
            contact_cache_seconds=env_float("NOTIFY_CONTACT_CACHE_SECONDS", 60.0),
            identity_timeout=env_float("NOTIFY_IDENTITY_TIMEOUT_SECONDS", 5.0),
            contact_secret=env_str("IDENTITY_CONTACT_SECRET", ""),
            public_url=env_str("PASOKH_PUBLIC_URL", "http://localhost:8080"),
        )
