"""Configuration comes only from environment variables (see the README's table)."""

from __future__ import annotations

import os
from dataclasses import dataclass

DEFAULT_AMQP_URI = "amqp://guest:guest@127.0.0.1:5672/"
DEFAULT_DATABASE_URL = "postgresql://postgres@127.0.0.1:5432/pasokh"


def env_str(name: str, default: str) -> str:
    value = os.environ.get(name, "").strip()
    return value or default


def env_int(name: str, default: int) -> int:
    raw = os.environ.get(name, "").strip()
    if not raw:
        return default
    try:
        return int(raw)
    except ValueError as exc:
        raise ValueError(f"environment variable {name} must be an integer, got {raw!r}") from exc


def env_float(name: str, default: float) -> float:
    raw = os.environ.get(name, "").strip()
    if not raw:
        return default
    try:
        return float(raw)
    except ValueError as exc:
        raise ValueError(f"environment variable {name} must be a number, got {raw!r}") from exc


@dataclass(frozen=True)
class ServiceSettings:
    """What every service needs; each service reads its own prefixed variables."""

    service: str
    amqp_uri: str
    database_url: str
    migration_database_url: str
    app_role: str
    metrics_port: int
    log_level: str
    db_pool_size: int

    @classmethod
    def from_env(cls, service: str, default_metrics_port: int) -> ServiceSettings:
        prefix = service.upper()
        database_url = env_str(f"{prefix}_DATABASE_URL", DEFAULT_DATABASE_URL)
        return cls(
            service=service,
            amqp_uri=env_str("AMQP_URI", DEFAULT_AMQP_URI),
            database_url=database_url,
            migration_database_url=env_str(f"{prefix}_MIGRATION_DATABASE_URL", database_url),
            app_role=env_str(f"{prefix}_APP_ROLE", ""),
            metrics_port=env_int(f"{prefix}_METRICS_PORT", default_metrics_port),
            log_level=env_str("LOG_LEVEL", "INFO"),
            db_pool_size=env_int(f"{prefix}_DB_POOL_SIZE", 10),
        )

    def nameko_config(self) -> dict:
        """nameko's config, built from the environment rather than a YAML file."""
        return {
            "AMQP_URI": self.amqp_uri,
            # Per service first: the gateway holds a worker per HTTP request in flight.
            "max_workers": env_int(
                f"{self.service.upper()}_MAX_WORKERS", env_int("NAMEKO_MAX_WORKERS", 10)
            ),
            "parent_calls_tracked": 10,
            "SERIALIZER": "json",
        }
