"""Settings: a bad environment stops the process at start-up, before it takes work."""

from __future__ import annotations

import pytest

from services.webhooks.config import ConfigurationError, WebhooksConfig


def test_defaults(monkeypatch):
    for name in ("TIMEOUT_SECONDS", "LEASE_SECONDS", "MAX_ATTEMPTS", "DISABLE_AFTER",
                 "ALLOW_HTTP_HOSTS", "CA_BUNDLE"):  # fmt: skip
        monkeypatch.delenv(f"WEBHOOKS_{name}", raising=False)
    config = WebhooksConfig.from_env()
    assert config.timeout_seconds == 10 and config.lease_seconds == 60
    assert config.retry.max_attempts == 8 and config.disable_after == 5
    assert config.allow_http_hosts == ()
    assert config.tls_context().verify_mode.name == "CERT_REQUIRED"
    assert config.tls_context().check_hostname


def test_environment_is_read(monkeypatch):
    monkeypatch.setenv("WEBHOOKS_TIMEOUT_SECONDS", "40")
    monkeypatch.setenv("WEBHOOKS_ALLOW_HTTP_HOSTS", " LocalHost, 127.0.0.1 ,")
    monkeypatch.setenv("WEBHOOKS_MAX_ATTEMPTS", "3")
    config = WebhooksConfig.from_env()
    assert config.lease_seconds == 80  # follows the timeout
    assert config.allow_http_hosts == ("localhost", "127.0.0.1")
    assert config.retry.max_attempts == 3


@pytest.mark.parametrize(
    ("name", "value"),
    [
        ("WEBHOOKS_LEASE_SECONDS", "5"),  # shorter than twice the timeout
        ("WEBHOOKS_MAX_ATTEMPTS", "0"),
        ("WEBHOOKS_RETRY_BASE_SECONDS", "-1"),
        ("WEBHOOKS_CONCURRENCY", "0"),
        ("WEBHOOKS_DISABLE_AFTER", "-1"),
        ("WEBHOOKS_RETENTION_DAYS", "-1"),
    ],
)
def test_bad_values_stop_the_process(monkeypatch, name, value):
    monkeypatch.setenv(name, value)
    with pytest.raises(ConfigurationError):
        WebhooksConfig.from_env()


def test_an_unreadable_ca_bundle_is_refused(tmp_path):
    missing = WebhooksConfig(ca_bundle=str(tmp_path / "nope.pem"))
    with pytest.raises(ConfigurationError, match="WEBHOOKS_CA_BUNDLE"):
        missing.tls_context()
    garbage = tmp_path / "garbage.pem"
    garbage.write_text("not a certificate")
    with pytest.raises(ConfigurationError):
        WebhooksConfig(ca_bundle=str(garbage)).tls_context()
