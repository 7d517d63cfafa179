"""Settings from the environment: no signing without a real secret."""

from __future__ import annotations

from datetime import timedelta

import pytest

from services.identity.config import ConfigurationError, IdentityConfig

SECRET = "0123456789abcdef0123456789abcdef"


def test_there_is_no_default_jwt_secret(monkeypatch):
    monkeypatch.delenv("IDENTITY_JWT_SECRET", raising=False)
    with pytest.raises(ConfigurationError, match="IDENTITY_JWT_SECRET"):
        IdentityConfig.from_env()


def test_a_short_jwt_secret_is_refused(monkeypatch):
    monkeypatch.setenv("IDENTITY_JWT_SECRET", "too-short")
    with pytest.raises(ConfigurationError):
        IdentityConfig.from_env()


def test_defaults(monkeypatch):
    monkeypatch.setenv("IDENTITY_JWT_SECRET", SECRET)
    for name in ("IDENTITY_CODE_SECONDS", "IDENTITY_ACCESS_TOKEN_SECONDS"):
        monkeypatch.delenv(name, raising=False)
    config = IdentityConfig.from_env()
    assert config.access_token_ttl == timedelta(minutes=15)
    assert config.refresh_token_ttl == timedelta(days=30)
    assert config.code_policy.lifetime == timedelta(seconds=120)
    assert config.code_policy.max_tries == 5
    assert config.code_policy.cooldown == timedelta(seconds=60)
    assert config.login_policy.max_failures_per_account == 5
    assert config.argon2.memory_kib == 65536
    assert config.contact_secret == ""


def test_every_number_is_a_setting(monkeypatch):
    values = {
        "IDENTITY_JWT_SECRET": SECRET,
        "IDENTITY_ACCESS_TOKEN_SECONDS": "60",
        "IDENTITY_REFRESH_TOKEN_SECONDS": "3600",
        "IDENTITY_CODE_SECONDS": "30",
        "IDENTITY_CODE_MAX_TRIES": "3",
        "IDENTITY_CODE_COOLDOWN_SECONDS": "10",
        "IDENTITY_CODES_PER_HOUR": "4",
        "IDENTITY_CODES_PER_HOUR_PER_ADDRESS": "9",
        "IDENTITY_LOGIN_MAX_FAILURES": "7",
        "IDENTITY_LOGIN_MAX_FAILURES_PER_ADDRESS": "70",
        "IDENTITY_LOGIN_WINDOW_SECONDS": "120",
    }
    for name, value in values.items():
        monkeypatch.setenv(name, value)
    config = IdentityConfig.from_env()
    assert config.access_token_ttl == timedelta(seconds=60)
    assert config.refresh_token_ttl == timedelta(hours=1)
    policy = config.code_policy
    assert (policy.lifetime, policy.max_tries, policy.cooldown) == (
        timedelta(seconds=30),
        3,
        timedelta(seconds=10),
    )
    assert (policy.per_hour_per_phone, policy.per_hour_per_address) == (4, 9)
    login = config.login_policy
    assert (login.max_failures_per_account, login.max_failures_per_address) == (7, 70)
    assert login.window == timedelta(minutes=2)


def test_the_code_key_is_derived_not_the_secret_itself(monkeypatch):
    config = IdentityConfig(jwt_secret=SECRET)
    assert len(config.code_key) == 32 and SECRET.encode() not in config.code_key
    assert IdentityConfig(jwt_secret=SECRET + "x").code_key != config.code_key
