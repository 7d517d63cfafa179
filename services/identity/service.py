"""The identity nameko service: thin RPC entrypoints over the application layer.

``client_address`` is the end user's address as the gateway saw it; it is only a key
for rate limits. Protected operations take the caller's access token (not an actor
dict): identity is the authority on its tokens and checks them itself.
"""

from __future__ import annotations

import logging
from typing import Any

import pasokh_common  # noqa: F401
from pasokh_common.context import CallContextProvider
from pasokh_common.errors import ServiceError
from pasokh_common.nameko_deps import Database
from pasokh_common.replay_rpc import ReplayEntrypoints
from pasokh_common.rpc import RpcProxy, domain_errors, rpc
from pasokh_common.rpc_metrics import EntrypointMetrics
from pasokh_common.settings import env_float

from eventlet import tpool
from nameko.extensions import DependencyProvider
from nameko.timer import timer

from services.identity.application import IdentityApplication
from services.identity.config import IdentityConfig
from services.identity.context import client_address_of
from services.identity.domain.roles import require_admin
from services.identity.notify import NotifyCodeSender
from services.identity.passwords import Passwords
from services.identity.tokens import TokenIssuer

log = logging.getLogger(__name__)
command = rpc(expected_exceptions=ServiceError)
NOTIFY_TIMEOUT = env_float("IDENTITY_NOTIFY_TIMEOUT_SECONDS", 10.0)


class Runtime(DependencyProvider):
    """Settings, password hasher and token issuer, made once per process. Reading the
    settings at start-up makes a missing IDENTITY_JWT_SECRET stop the process before
    it takes any request."""

    def setup(self) -> None:
        self.config = IdentityConfig.from_env()
        self.passwords = Passwords(self.config.argon2, offload=tpool.execute)
        self.tokens = TokenIssuer(self.config.jwt_secret, self.config.access_token_ttl)

    def get_dependency(self, worker_ctx) -> Runtime:
        return self


class IdentityService(ReplayEntrypoints):
    """Also ``start_replay``, ``replay_status``, ``cancel_replay`` (pasokh_common.replay_rpc),
    which take an admin's access token like every protected identity RPC."""

    name = "identity"

    db = Database()
    runtime = Runtime()
    notify = RpcProxy("notify", expiration=NOTIFY_TIMEOUT)
    context = CallContextProvider()
    metrics = EntrypointMetrics()

    def _replay_caller(self, caller: Any) -> str:
        """identity is the authority on its tokens: an access token, not an actor dict."""
        admin = self._app.sessions.authenticate(caller)
        require_admin(admin.role)
        return admin.user_id

    @property
    def _app(self) -> IdentityApplication:
        config = self.runtime.config
        return IdentityApplication(
            self.db,
            config,
            NotifyCodeSender(self.notify, config.notify_timeout_seconds),
            passwords=self.runtime.passwords,
            tokens=self.runtime.tokens,
        )

    # -- accounts --------------------------------------------------------------------

    @command
    @domain_errors
    def register(self, payload: dict, client_address: str | None = None) -> dict[str, Any]:
        address = client_address_of(client_address)
        return self._app.accounts.register(payload, address, self.context)

    @command
    @domain_errors
    def verify_phone(self, payload: dict) -> dict[str, Any]:
        return self._app.accounts.verify_phone(payload, self.context)

    @command
    @domain_errors
    def resend_code(self, payload: dict, client_address: str | None = None) -> dict[str, Any]:
        return self._app.accounts.resend_code(payload, client_address_of(client_address))

    @command
    @domain_errors
    def request_password_reset(
        self, payload: dict, client_address: str | None = None
    ) -> dict[str, Any]:
        address = client_address_of(client_address)
        return self._app.accounts.request_password_reset(payload, address)

    @command
    @domain_errors
    def reset_password(self, payload: dict) -> dict[str, Any]:
        return self._app.accounts.reset_password(payload, self.context)

    @command
    @domain_errors
    def change_password(
        self, token: str, payload: dict, client_address: str | None = None
    ) -> dict[str, Any]:
        address = client_address_of(client_address)
        return self._app.accounts.change_password(token, payload, address, self.context)

    @command
    @domain_errors
    def add_member(
        self, token: str, payload: dict, client_address: str | None = None
    ) -> dict[str, Any]:
        address = client_address_of(client_address)
        return self._app.accounts.add_member(token, payload, address, self.context)

    # -- sessions --------------------------------------------------------------------

    @command
    @domain_errors
    def login(self, payload: dict, client_address: str | None = None) -> dict[str, Any]:
        return self._app.sessions.login(payload, client_address_of(client_address))

    @command
    @domain_errors
    def refresh(self, payload: dict) -> dict[str, Any]:
        return self._app.sessions.refresh(payload)

    @command
    @domain_errors
    def logout(self, payload: dict) -> dict[str, Any]:
        return self._app.sessions.logout(payload)

    @command
    @domain_errors
    def validate_token(self, token: str) -> dict[str, Any]:
        return self._app.sessions.validate_token(token)

    # -- directory -------------------------------------------------------------------

    @command
    @domain_errors
    def get_user(self, user_id: str) -> dict[str, Any]:
        return self._app.directory.get_user(user_id)

    @command
    @domain_errors
    def get_contact(self, user_id: str, caller_secret: str) -> dict[str, Any]:
        return self._app.directory.get_contact(user_id, caller_secret)

    @command
    @domain_errors
    def find_customer(self, token: str, payload: dict) -> dict[str, Any]:
        return self._app.directory.find_customer(token, payload)

    @command
    @domain_errors
    def list_departments(self) -> list[dict[str, Any]]:
        return self._app.directory.list_departments()

    @command
    @domain_errors
    def department_members(self, token: str, payload: dict) -> list[dict[str, Any]]:
        return self._app.directory.department_members(token, payload)

    # -- admin -----------------------------------------------------------------------

    @command
    @domain_errors
    def create_department(self, token: str, payload: dict) -> dict[str, Any]:
        return self._app.staff.create_department(token, payload, self.context)

    @command
    @domain_errors
    def create_agent(self, token: str, payload: dict) -> dict[str, Any]:
        return self._app.staff.create_agent(token, payload, self.context)

    @command
    @domain_errors
    def assign_to_department(self, token: str, payload: dict) -> dict[str, Any]:
        return self._app.staff.assign_to_department(token, payload, self.context)

    @command
    @domain_errors
    def remove_from_department(self, token: str, payload: dict) -> dict[str, Any]:
        return self._app.staff.remove_from_department(token, payload, self.context)

    @command
    @domain_errors
    def erase_user(self, token: str, payload: dict) -> dict[str, Any]:
        """Right to be forgotten (docs/privacy.md): admin only; records UserErased."""
        return self._app.erasure.erase_user(token, payload, self.context)

    # -- housekeeping ----------------------------------------------------------------

    @timer(interval=3600)
    def purge_expired(self) -> None:
        counts = self._app.purge()
        log.info("purged expired records", extra=counts)
