"""Settings from the environment; a bad one stops the process at start-up."""

from __future__ import annotations

import pytest

from services.notify.config import ConfigurationError, NotifyConfig

NOTIFY_VARIABLES = (
    "SMS_PROVIDER",
    "KAVENEGAR_API_KEY",
    "TWILIO_ACCOUNT_SID",
    "TWILIO_AUTH_TOKEN",
    "TWILIO_FROM",
    "NOTIFY_HTTP_URL",
    "NOTIFY_QUIET_HOURS",
    "NOTIFY_RATE_LIMIT_PER_SECOND",
    "NOTIFY_RATE_LIMIT_BURST",
    "NOTIFY_PROVIDER_TIMEOUT_SECONDS",
    "NOTIFY_SENDING_LEASE_SECONDS",
    "NOTIFY_MAX_ATTEMPTS",
    "NOTIFY_HTTP_DEDUPES",
    "PASOKH_PUBLIC_URL",
)


@pytest.fixture(autouse=True)
def clean_env(monkeypatch):
    for name in NOTIFY_VARIABLES:
        monkeypatch.delenv(name, raising=False)


def test_defaults_are_console_without_quiet_hours():
    config = NotifyConfig.from_env()
    assert config.provider == "console" and config.quiet_hours is None
    assert config.rate_limit.per_second == 10 and config.rate_limit.burst == 10
    assert config.lease_seconds >= 2 * config.provider_timeout
    assert config.provider_timeout <= config.code_deadline_seconds < 10  # identity waits 10 s
    assert config.public_url == "http://localhost:8080"


@pytest.mark.parametrize(
    "env",
    [
        {"SMS_PROVIDER": "pigeon"},
        {"SMS_PROVIDER": "kavenegar"},
        {"SMS_PROVIDER": "twilio", "TWILIO_ACCOUNT_SID": "AC1"},
        {"SMS_PROVIDER": "http"},
        {"NOTIFY_QUIET_HOURS": "late"},
        {"NOTIFY_PROVIDER_TIMEOUT_SECONDS": "10", "NOTIFY_SENDING_LEASE_SECONDS": "15"},
        {"NOTIFY_MAX_ATTEMPTS": "0"},
        {"NOTIFY_PROVIDER_TIMEOUT_SECONDS": "9", "NOTIFY_CODE_DEADLINE_SECONDS": "8"},
        {"NOTIFY_HTTP_DEDUPES": "perhaps"},
    ],
)
def test_unusable_settings_are_refused(monkeypatch, env):
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    with pytest.raises(ConfigurationError):
        NotifyConfig.from_env()


def test_a_provider_with_its_settings(monkeypatch):
    monkeypatch.setenv("SMS_PROVIDER", "Kavenegar")
    monkeypatch.setenv("KAVENEGAR_API_KEY", "k")
    monkeypatch.setenv("NOTIFY_QUIET_HOURS", "22:00-07:00")
    monkeypatch.setenv("NOTIFY_RATE_LIMIT_PER_SECOND", "3")
    config = NotifyConfig.from_env()
    assert config.provider == "kavenegar" and config.kavenegar.api_key == "k"
    assert config.quiet_hours is not None and config.rate_limit.burst == 3
