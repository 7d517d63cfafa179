"""Customer accounts: registering (a person, a company, a company's further members),
verifying the phone, re-sending codes, resetting and changing the password.

Each change is one transaction that updates the tables and appends its events.
Checks that end in a refusal after writing something (a wrong code counts as a try)
commit first and raise afterwards, so the write is not rolled back by the refusal.
"""

from __future__ import annotations

import uuid
from typing import Any

import pasokh_common  # noqa: F401
from pasokh_common.context import CallContext
from pasokh_common.errors import ValidationFailed, bilingual

from services.identity import repository as repo
from services.identity import schemas
from services.identity.context import Dependencies
from services.identity.domain.codes import Outcome, Purpose
from services.identity.domain.errors import (
    CodeNotSent,
    NotPermitted,
    TooManyCodes,
    WrongPassword,
)
from services.identity.domain.events import (
    OrganisationRegistered,
    PasswordChanged,
    UserRegistered,
    UserVerified,
    organisation_stream,
    user_stream,
)
from services.identity.domain.passwords import password_problems
from services.identity.domain.roles import Kind, Role
from services.identity.metrics import REGISTRATIONS
from services.identity.recorder import record
from services.identity.sessions import Sessions, account_key
from services.identity.verification import Codes, no_code, raise_refusal
from services.identity.views import user_view


def require_good_password(
    password: str, field: str, phone: str | None = None, username: str | None = None
) -> None:
    problems = password_problems(password, phone, username)
    if problems:
        raise ValidationFailed(fields={field: [bilingual(fa, en) for fa, en in problems]})


def _id(value: Any) -> str | None:
    return str(value) if value is not None else None


class Accounts:
    def __init__(self, deps: Dependencies, codes: Codes, sessions: Sessions) -> None:
        self.deps = deps
        self.codes = codes
        self.sessions = sessions

    # -- registration --------------------------------------------------------------------

    def register(self, payload: Any, client_address: str, context: CallContext) -> dict[str, Any]:
        values = schemas.load(schemas.RegisterSchema(), payload)
        organisation = None
        if values["kind"] == Kind.COMPANY:
            organisation = (str(uuid.uuid4()), values["organisation_name"])
        return self._create_customer(values, client_address, context, organisation, None)

    def add_member(
        self, token: Any, payload: Any, client_address: str, context: CallContext
    ) -> dict[str, Any]:
        """A verified member of a company adds a colleague, who verifies their own phone."""
        member = self.sessions.authenticate(token)
        if member.role != Role.CUSTOMER or member.user["kind"] != Kind.COMPANY:
            raise NotPermitted("only a company's members add members")
        values = {**schemas.load(schemas.AddMemberSchema(), payload), "kind": Kind.COMPANY.value}
        organisation_id = str(member.user["organisation_id"])
        return self._create_customer(
            values, client_address, context, None, organisation_id, added_by=member.user_id
        )

    def _create_customer(
        self,
        values: dict[str, Any],
        client_address: str,
        context: CallContext,
        new_organisation: tuple[str, str] | None,
        organisation_id: str | None,
        added_by: str | None = None,
    ) -> dict[str, Any]:
        phone = values["phone"]
        require_good_password(values["password"], "password", phone, values["username"])
        password_hash = self.deps.passwords.hash(values["password"])
        user_id = str(uuid.uuid4())
        if new_organisation:
            organisation_id = new_organisation[0]
        streams = [user_stream(user_id)]
        if organisation_id:
            streams.append(organisation_stream(organisation_id))
        with self.deps.pool.transaction() as conn:
            repo.lock(conn, *streams, "codes-phone:" + phone, "codes-address:" + client_address)
            now = self.deps.clock()
            events: list = []
            if new_organisation:
                repo.insert_organisation(conn, organisation_id, new_organisation[1], now)
                events.append(OrganisationRegistered(organisation_id, new_organisation[1], now))
            repo.insert_user(
                conn,
                {
                    "user_id": user_id,
                    "role": Role.CUSTOMER.value,
                    "kind": values["kind"],
                    "name": values["name"],
                    "phone": phone,
                    "username": values["username"],
                    "password_hash": password_hash,
                    "language": values["language"],
                    "organisation_id": organisation_id,
                    "phone_verified_at": None,
                },
                now,
            )
            # Refuse (rolling the account back) when no code could be sent afterwards:
            # registering numbers is otherwise a way to have us send SMS to anyone.
            self.codes.refuse_if_limited(
                self.codes.send_decision(conn, phone, Purpose.VERIFY_PHONE, client_address)
            )
            events.append(
                UserRegistered(
                    user_id,
                    values["kind"],
                    Role.CUSTOMER.value,
                    organisation_id,
                    values["language"],
                    now,
                )
            )
            actor = (added_by, Role.CUSTOMER.value) if added_by else (user_id, Role.CUSTOMER.value)
            record(conn, context.metadata(*actor), events)
            view = user_view(repo.find_user(conn, user_id))
        REGISTRATIONS.labels(values["kind"]).inc()
        return {
            "user": view,
            "code_sent": self._first_code(phone, client_address),
            **self.codes.answer(),
        }

    def _first_code(self, phone: str, client_address: str) -> bool:
        """The account exists whether or not the first code went out; if it did not,
        the client asks again with ``resend_code``."""
        try:
            return self.codes.request(phone, Purpose.VERIFY_PHONE, client_address)
        except (CodeNotSent, TooManyCodes):
            return False

    # -- codes ---------------------------------------------------------------------------

    def resend_code(self, payload: Any, client_address: str) -> dict[str, Any]:
        values = schemas.load(schemas.ResendSchema(), payload)
        self.codes.request(values["phone"], Purpose(values["purpose"]), client_address)
        return self.codes.answer()

    def request_password_reset(self, payload: Any, client_address: str) -> dict[str, Any]:
        values = schemas.load(schemas.PhoneSchema(), payload)
        self.codes.request(values["phone"], Purpose.RESET_PASSWORD, client_address)
        return self.codes.answer()

    def verify_phone(self, payload: Any, context: CallContext) -> dict[str, Any]:
        values = schemas.load(schemas.VerifySchema(), payload)
        with self.deps.pool.connection() as conn:
            found = repo.find_user_by_phone(conn, values["phone"])
        if found is None:
            raise_refusal(no_code())
        user_id = str(found["user_id"])
        with self.deps.pool.transaction() as conn:
            repo.lock(conn, user_stream(user_id))
            check = self.codes.check(conn, user_id, Purpose.VERIFY_PHONE, values["code"])
            if check.outcome is Outcome.OK:
                self._mark_verified(conn, repo.find_user(conn, user_id), context)
            view = user_view(repo.find_user(conn, user_id))
        raise_refusal(check)
        return {"verified": True, "user": view}

    def _mark_verified(self, conn, user: dict, context: CallContext) -> None:
        if user["phone_verified_at"] is not None:
            return
        now = self.deps.clock()
        repo.mark_verified(conn, str(user["user_id"]), now)
        event = UserVerified(str(user["user_id"]), user["kind"], _id(user["organisation_id"]), now)
        record(conn, context.metadata(str(user["user_id"]), user["role"]), [event])

    # -- passwords -----------------------------------------------------------------------

    def reset_password(self, payload: Any, context: CallContext) -> dict[str, Any]:
        """Set a new password with a code sent by ``request_password_reset``. Every
        session ends. The code proves the phone too, so an unverified account becomes
        verified, and earlier failed logins stop counting against the account."""
        values = schemas.load(schemas.ResetPasswordSchema(), payload)
        # Checked before looking the number up, so the answer cannot tell whether it exists.
        require_good_password(values["new_password"], "new_password", values["phone"])
        with self.deps.pool.connection() as conn:
            found = repo.find_user_by_phone(conn, values["phone"])
        if found is None:
            raise_refusal(no_code())
        user_id = str(found["user_id"])
        new_hash = self.deps.passwords.hash(values["new_password"])
        with self.deps.pool.transaction() as conn:
            repo.lock(conn, user_stream(user_id))
            check = self.codes.check(conn, user_id, Purpose.RESET_PASSWORD, values["code"])
            if check.outcome is Outcome.OK:
                user = repo.find_user(conn, user_id)
                self._set_password(conn, user, new_hash, "reset", context)
                self._mark_verified(conn, user, context)
                repo.record_login_attempt(
                    conn, account_key(user, ""), "password-reset", True, self.deps.clock()
                )
        raise_refusal(check)
        return {"password_reset": True}

    def change_password(
        self, token: Any, payload: Any, client_address: str, context: CallContext
    ) -> dict[str, Any]:
        """Knowing the current password is required (under the login throttle, so this
        is no side door for guessing it); every session ends, this one included."""
        me = self.sessions.authenticate(token)
        values = schemas.load(schemas.ChangePasswordSchema(), payload)
        require_good_password(
            values["new_password"], "new_password", me.user["phone"], me.user["username"]
        )
        key = account_key(me.user, "")
        if not self.sessions.check_password(
            me.user, key, values["current_password"], client_address
        ):
            raise WrongPassword()
        new_hash = self.deps.passwords.hash(values["new_password"])
        with self.deps.pool.transaction() as conn:
            repo.lock(conn, user_stream(me.user_id))
            self._set_password(conn, repo.find_user(conn, me.user_id), new_hash, "change", context)
        return {"password_changed": True}

    def _set_password(
        self, conn, user: dict, new_hash: str, method: str, context: CallContext
    ) -> None:
        now = self.deps.clock()
        user_id = str(user["user_id"])
        repo.set_password(conn, user_id, new_hash, now, end_sessions=True)
        repo.revoke_all_refresh_tokens(conn, user_id, now)
        record(
            conn,
            context.metadata(user_id, user["role"]),
            [PasswordChanged(user_id, method, now)],
        )
