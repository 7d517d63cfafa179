"""nameko dependency providers shared by the services."""

from __future__ import annotations

from pasokh_common.db import ConnectionPool

from nameko.extensions import DependencyProvider


class Database(DependencyProvider):
    """Injects the service's connection pool; the DSN comes from ``<SERVICE>_DATABASE_URL``
    as placed in the nameko config under ``DATABASE_URL`` by the runner."""

    def __init__(self, config_key: str = "DATABASE_URL", pool_size_key: str = "DB_POOL_SIZE"):
        self.config_key = config_key
        self.pool_size_key = pool_size_key
        self.pool: ConnectionPool | None = None

    def setup(self) -> None:
        config = self.container.config
        self.pool = ConnectionPool(
            config[self.config_key], max_size=int(config.get(self.pool_size_key, 10))
        )

    def stop(self) -> None:
        if self.pool is not None:
            self.pool.close()

    def get_dependency(self, worker_ctx) -> ConnectionPool:
        return self.pool
