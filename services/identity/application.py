"""The identity application: every flow wired to one set of dependencies.

The nameko service builds one per call (the code sender is the call's RPC proxy); the
CLI and the tests build one directly, with a clock and code sender of their choice.
"""

from __future__ import annotations

from datetime import timedelta

from pasokh_common.context import CallContext
from pasokh_common.db import ConnectionPool

from services.identity import repository as repo
from services.identity.accounts import Accounts
from services.identity.config import IdentityConfig
from services.identity.context import Clock, CodeSender, Dependencies, utc_now
from services.identity.directory import Directory
from services.identity.erasure import Erasure
from services.identity.passwords import Passwords
from services.identity.sessions import Sessions
from services.identity.staff import Staff
from services.identity.tokens import TokenIssuer
from services.identity.verification import Codes

# Request and attempt records are only read for the last hour (codes) or login window;
# a day keeps them long enough to look into an incident, and no longer.
KEEP_RECORDS = timedelta(days=1)

__all__ = ["CallContext", "IdentityApplication"]


class IdentityApplication:
    def __init__(
        self,
        pool: ConnectionPool,
        config: IdentityConfig,
        sender: CodeSender,
        passwords: Passwords | None = None,
        tokens: TokenIssuer | None = None,
        clock: Clock = utc_now,
    ) -> None:
        self.deps = Dependencies(
            pool=pool,
            config=config,
            passwords=passwords or Passwords(config.argon2),
            tokens=tokens or TokenIssuer(config.jwt_secret, config.access_token_ttl),
            sender=sender,
            clock=clock,
        )
        self.codes = Codes(self.deps)
        self.sessions = Sessions(self.deps)
        self.accounts = Accounts(self.deps, self.codes, self.sessions)
        self.staff = Staff(self.deps, self.sessions)
        self.directory = Directory(self.deps, self.sessions)
        self.erasure = Erasure(self.deps, self.sessions)

    def purge(self) -> dict[str, int]:
        """Delete records no rule reads any more (run hourly by the service)."""
        now = self.deps.clock()
        with self.deps.pool.transaction() as conn:
            return repo.purge(conn, now, now - KEEP_RECORDS)
