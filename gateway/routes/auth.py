"""Public account routes: register, verify the phone, codes, log in/out, password reset.

All of them are rate limited per client address (``GATEWAY_RATE_AUTH``) before any
work; identity adds its own limits (per number, per account, per address) in its
database. The client address is passed to identity, which keys its limits by it.
"""

from __future__ import annotations

from typing import Any

from gateway.api import Access, Call, Limit, Reply, api
from gateway.base import GatewayBase
from gateway.schemas import auth as bodies
from gateway.schemas import responses as shapes

TAGS = ("accounts",)


class AuthRoutes(GatewayBase):
    @api(
        "POST",
        "/api/v1/auth/register",
        summary="Register a person or a company; an SMS code is sent to the phone",
        access=Access.PUBLIC,
        tags=TAGS,
        body=bodies.RegisterBody,
        status=201,
        response=shapes.Registered,
        rate=Limit.AUTH,
    )
    def register(self, call: Call) -> Any:
        return self._rpc(self.identity.register, call.body, client_address=call.client_address)

    @api(
        "POST",
        "/api/v1/auth/verify-phone",
        summary="Verify the phone with the SMS code (required before the first login)",
        access=Access.PUBLIC,
        tags=TAGS,
        body=bodies.VerifyPhoneBody,
        rate=Limit.AUTH,
    )
    def verify_phone(self, call: Call) -> Any:
        return self._rpc(self.identity.verify_phone, call.body)

    @api(
        "POST",
        "/api/v1/auth/resend-code",
        summary="Send a new SMS code (same answer whether or not the number is registered)",
        access=Access.PUBLIC,
        tags=TAGS,
        body=bodies.ResendCodeBody,
        response=shapes.CodeRequested,
        rate=Limit.AUTH,
    )
    def resend_code(self, call: Call) -> Any:
        return self._rpc(self.identity.resend_code, call.body, client_address=call.client_address)

    @api(
        "POST",
        "/api/v1/auth/login",
        summary="Log in with phone or username and password",
        access=Access.PUBLIC,
        tags=TAGS,
        body=bodies.LoginBody,
        response=shapes.Session,
        rate=Limit.AUTH,
    )
    def login(self, call: Call) -> Any:
        return self._rpc(self.identity.login, call.body, client_address=call.client_address)

    @api(
        "POST",
        "/api/v1/auth/refresh",
        summary="Trade a refresh token for a new session (the old refresh token stops working)",
        access=Access.PUBLIC,
        tags=TAGS,
        body=bodies.RefreshBody,
        response=shapes.Session,
        rate=Limit.AUTH,
    )
    def refresh(self, call: Call) -> Any:
        return self._rpc(self.identity.refresh, call.body)

    @api(
        "POST",
        "/api/v1/auth/logout",
        summary="End the session (the refresh token, and the access token of the header)",
        access=Access.PUBLIC,
        tags=TAGS,
        body=bodies.LogoutBody,
        rate=Limit.AUTH,
    )
    def logout(self, call: Call) -> Any:
        payload = dict(call.body)
        header = (call.header("Authorization") or "").strip()
        scheme, _, token = header.partition(" ")
        if scheme.lower() == "bearer" and token.strip():
            payload["access_token"] = token.strip()
            self.runtime.tokens.evict(token.strip())
        return self._rpc(self.identity.logout, payload)

    @api(
        "POST",
        "/api/v1/auth/password-reset",
        summary="Ask for a password-reset SMS code (same answer for unknown numbers)",
        access=Access.PUBLIC,
        tags=TAGS,
        body=bodies.PasswordResetBody,
        response=shapes.CodeRequested,
        rate=Limit.AUTH,
    )
    def request_password_reset(self, call: Call) -> Any:
        return self._rpc(
            self.identity.request_password_reset, call.body, client_address=call.client_address
        )

    @api(
        "POST",
        "/api/v1/auth/password-reset/confirm",
        summary="Set a new password with the SMS code; every session of the account ends",
        access=Access.PUBLIC,
        tags=TAGS,
        body=bodies.PasswordResetConfirmBody,
        rate=Limit.AUTH,
    )
    def reset_password(self, call: Call) -> Any:
        return self._rpc(self.identity.reset_password, call.body)


class AccountRoutes(GatewayBase):
    @api(
        "GET",
        "/api/v1/me",
        summary="The logged-in account",
        access=Access.USER,
        tags=TAGS,
        response=shapes.User,
    )
    def me(self, call: Call) -> Any:
        return self._rpc(self.identity.get_user, call.actor_id)

    @api(
        "POST",
        "/api/v1/me/password",
        summary="Change the password (needs the current one); every session ends",
        access=Access.USER,
        tags=TAGS,
        body=bodies.ChangePasswordBody,
        rate=Limit.AUTH,
    )
    def change_password(self, call: Call) -> Any:
        self.runtime.tokens.evict(call.token or "")
        return self._rpc(
            self.identity.change_password,
            call.token,
            call.body,
            client_address=call.client_address,
        )

    @api(
        "POST",
        "/api/v1/organisation/members",
        summary="A company member adds a colleague (who verifies their own phone)",
        access=Access.USER,
        tags=TAGS,
        body=bodies.AddMemberBody,
        status=201,
        response=shapes.Registered,
        rate=Limit.AUTH,
    )
    def add_member(self, call: Call) -> Any:
        return Reply(
            self._rpc(
                self.identity.add_member, call.token, call.body, client_address=call.client_address
            )
        )
