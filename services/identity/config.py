"""The identity service's settings, from environment variables only (docs/identity.md).

The JWT secret has no default anywhere: a service that silently signed tokens with a
well-known key would let anyone mint an admin token. Local runs and tests generate
one; production takes it from a secret.
"""

from __future__ import annotations

import hashlib
import hmac
from dataclasses import dataclass, field
from datetime import timedelta

from pasokh_common.settings import env_float, env_int, env_str

from services.identity.domain.codes import CodePolicy
from services.identity.domain.throttling import LoginPolicy

MIN_SECRET_LENGTH = 32
ISSUER = "pasokh-identity"


class ConfigurationError(RuntimeError):
    """The service cannot run safely with this environment; the message says why."""


@dataclass(frozen=True)
class Argon2Params:
    """argon2id cost. The defaults are RFC 9106's second recommendation (64 MiB);
    tests lower them to stay fast, never production."""

    time_cost: int = 3
    memory_kib: int = 65536
    parallelism: int = 4


@dataclass(frozen=True)
class IdentityConfig:
    jwt_secret: str
    access_token_ttl: timedelta = timedelta(minutes=15)
    refresh_token_ttl: timedelta = timedelta(days=30)
    code_policy: CodePolicy = field(default_factory=CodePolicy)
    login_policy: LoginPolicy = field(default_factory=LoginPolicy)
    argon2: Argon2Params = field(default_factory=Argon2Params)
    notify_timeout_seconds: float = 10.0
    contact_secret: str = ""

    def __post_init__(self) -> None:
        if len(self.jwt_secret) < MIN_SECRET_LENGTH:
            raise ConfigurationError(
                f"IDENTITY_JWT_SECRET must be set to at least {MIN_SECRET_LENGTH} random "
                "characters (e.g. `python -c 'import secrets; print(secrets.token_urlsafe(48))'`)"
            )
        if self.access_token_ttl <= timedelta(0) or self.refresh_token_ttl <= timedelta(0):
            raise ConfigurationError("token lifetimes must be positive")

    @property
    def code_key(self) -> bytes:
        """The HMAC key of verification codes, derived from the JWT secret under its own
        label so that one secret serves both without the two uses meeting."""
        return hmac.new(
            self.jwt_secret.encode(), b"pasokh-identity/verification-codes", hashlib.sha256
        ).digest()

    @classmethod
    def from_env(cls, require_secret: bool = True) -> IdentityConfig:
        secret = env_str("IDENTITY_JWT_SECRET", "")
        if not require_secret and not secret:
            # Commands that never sign a token (create-admin) still need a config object.
            secret = "-" * MIN_SECRET_LENGTH
        return cls(
            jwt_secret=secret,
            access_token_ttl=timedelta(seconds=env_int("IDENTITY_ACCESS_TOKEN_SECONDS", 900)),
            refresh_token_ttl=timedelta(
                seconds=env_int("IDENTITY_REFRESH_TOKEN_SECONDS", 30 * 24 * 3600)
            ),
            code_policy=CodePolicy(
                lifetime=timedelta(seconds=env_int("IDENTITY_CODE_SECONDS", 120)),
                max_tries=env_int("IDENTITY_CODE_MAX_TRIES", 5),
                cooldown=timedelta(seconds=env_int("IDENTITY_CODE_COOLDOWN_SECONDS", 60)),
                per_hour_per_phone=env_int("IDENTITY_CODES_PER_HOUR", 5),
                per_hour_per_address=env_int("IDENTITY_CODES_PER_HOUR_PER_ADDRESS", 20),
            ),
            login_policy=LoginPolicy(
                max_failures_per_account=env_int("IDENTITY_LOGIN_MAX_FAILURES", 5),
                max_failures_per_address=env_int("IDENTITY_LOGIN_MAX_FAILURES_PER_ADDRESS", 30),
                window=timedelta(seconds=env_int("IDENTITY_LOGIN_WINDOW_SECONDS", 900)),
            ),
            argon2=Argon2Params(
                time_cost=env_int("IDENTITY_ARGON2_TIME_COST", 3),
                memory_kib=env_int("IDENTITY_ARGON2_MEMORY_KIB", 65536),
                parallelism=env_int("IDENTITY_ARGON2_PARALLELISM", 4),
            ),
            notify_timeout_seconds=env_float("IDENTITY_NOTIFY_TIMEOUT_SECONDS", 10.0),
            contact_secret=env_str("IDENTITY_CONTACT_SECRET", ""),
        )
