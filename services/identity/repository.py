"""Every SQL statement of the identity service, as plain functions over a connection.

Each takes the caller's connection so that a flow decides what shares a transaction.
All times come from the application's clock (never the database's ``now()``), so the
time rules can be tested by moving a clock instead of waiting.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

import pasokh_common  # noqa: F401

import psycopg
from psycopg import errors, sql

from services.identity.domain.codes import SendHistory
from services.identity.domain.errors import (
    DepartmentExists,
    DepartmentNotFound,
    PhoneTaken,
    UsernameTaken,
)

Row = dict[str, Any]
USER_COLUMNS = (
    "u.user_id, u.role, u.kind, u.name, u.phone, u.username, u.password_hash, u.language,"
    " u.organisation_id, o.name AS organisation_name, u.phone_verified_at,"
    " u.session_version, u.created_at,"
    " coalesce(array(SELECT m.department_id FROM identity.department_members m"
    "  WHERE m.user_id = u.user_id ORDER BY m.department_id), '{}') AS departments"
)
_USER_FROM = " FROM identity.users u LEFT JOIN identity.organisations o USING (organisation_id)"


def lock(conn: psycopg.Connection, *keys: str) -> None:
    """Transaction-scoped advisory locks, taken in one order so two flows never
    deadlock. Taken before any write, they also make each stream's later events carry
    later transaction ids (the order the event log's readers rely on)."""
    for key in sorted(set(keys)):
        conn.execute("SELECT pg_advisory_xact_lock(hashtextextended(%s, 0))", ("identity:" + key,))


# -- users ---------------------------------------------------------------------------


def insert_organisation(
    conn: psycopg.Connection, organisation_id: str, name: str, now: datetime
) -> None:
    conn.execute(
        "INSERT INTO identity.organisations (organisation_id, name, created_at)"
        " VALUES (%s, %s, %s)",
        (organisation_id, name, now),
    )


def insert_user(conn: psycopg.Connection, user: Row, now: datetime) -> None:
    """Insert or refuse with the field that clashed. The savepoint keeps the caller's
    transaction usable for nothing else: the refusal ends the flow anyway."""
    try:
        with conn.transaction():
            conn.execute(
                "INSERT INTO identity.users (user_id, role, kind, name, phone, username,"
                " password_hash, language, organisation_id, phone_verified_at, created_at,"
                " updated_at) VALUES (%(user_id)s, %(role)s, %(kind)s, %(name)s, %(phone)s,"
                " %(username)s, %(password_hash)s, %(language)s, %(organisation_id)s,"
                " %(phone_verified_at)s, %(now)s, %(now)s)",
                {**user, "now": now},
            )
    except errors.UniqueViolation as exc:
        constraint = exc.diag.constraint_name or ""
        if "phone" in constraint:
            raise PhoneTaken() from exc
        if "username" in constraint:
            raise UsernameTaken() from exc
        raise


def find_user(conn: psycopg.Connection, user_id: str) -> Row | None:
    return conn.execute(
        "SELECT " + USER_COLUMNS + _USER_FROM + " WHERE u.user_id = %s", (user_id,)
    ).fetchone()


def find_user_by_phone(conn: psycopg.Connection, phone: str) -> Row | None:
    return conn.execute(
        "SELECT " + USER_COLUMNS + _USER_FROM + " WHERE u.phone = %s", (phone,)
    ).fetchone()


def find_user_by_username(conn: psycopg.Connection, username: str) -> Row | None:
    return conn.execute(
        "SELECT " + USER_COLUMNS + _USER_FROM + " WHERE u.username = %s", (username,)
    ).fetchone()


def mark_verified(conn: psycopg.Connection, user_id: str, now: datetime) -> None:
    conn.execute(
        "UPDATE identity.users SET phone_verified_at = %s, updated_at = %s WHERE user_id = %s",
        (now, now, user_id),
    )


def set_password(
    conn: psycopg.Connection,
    user_id: str,
    password_hash: str,
    now: datetime,
    end_sessions: bool,
) -> None:
    conn.execute(
        "UPDATE identity.users SET password_hash = %s, updated_at = %s,"
        " session_version = session_version + %s WHERE user_id = %s",
        (password_hash, now, 1 if end_sessions else 0, user_id),
    )


def customers_in_organisation(conn: psycopg.Connection, organisation_id: str) -> int:
    row = conn.execute(
        "SELECT count(*) AS n FROM identity.users WHERE organisation_id = %s", (organisation_id,)
    ).fetchone()
    return int(row["n"])


# -- verification codes --------------------------------------------------------------


def send_history(
    conn: psycopg.Connection,
    phone: str,
    client_address: str,
    purpose: str,
    since: datetime,
) -> SendHistory:
    last = conn.execute(
        "SELECT max(requested_at) AS last FROM identity.code_requests"
        " WHERE phone = %s AND purpose = %s",
        (phone, purpose),
    ).fetchone()
    by_phone = conn.execute(
        "SELECT requested_at FROM identity.code_requests WHERE phone = %s AND requested_at > %s",
        (phone, since),
    ).fetchall()
    by_address = conn.execute(
        "SELECT requested_at FROM identity.code_requests"
        " WHERE client_address = %s AND requested_at > %s",
        (client_address, since),
    ).fetchall()
    return SendHistory(
        last_same_purpose=last["last"],
        phone_requests=[r["requested_at"] for r in by_phone],
        address_requests=[r["requested_at"] for r in by_address],
    )


def record_code_request(
    conn: psycopg.Connection, phone: str, client_address: str, purpose: str, now: datetime
) -> None:
    conn.execute(
        "INSERT INTO identity.code_requests (phone, client_address, purpose, requested_at)"
        " VALUES (%s, %s, %s, %s)",
        (phone, client_address, purpose, now),
    )


def insert_code(
    conn: psycopg.Connection,
    code_id: str,
    user_id: str,
    purpose: str,
    digest: bytes,
    now: datetime,
    expires_at: datetime,
) -> None:
    conn.execute(
        "INSERT INTO identity.verification_codes (code_id, user_id, purpose, code_digest,"
        " created_at, expires_at) VALUES (%s, %s, %s, %s, %s, %s)",
        (code_id, user_id, purpose, digest, now, expires_at),
    )


def newest_code(conn: psycopg.Connection, user_id: str, purpose: str) -> Row | None:
    return conn.execute(
        "SELECT code_id, code_digest, expires_at, wrong_tries, used_at"
        " FROM identity.verification_codes WHERE user_id = %s AND purpose = %s"
        " ORDER BY created_at DESC, code_id LIMIT 1",
        (user_id, purpose),
    ).fetchone()


def set_wrong_tries(conn: psycopg.Connection, code_id: str, wrong_tries: int) -> None:
    conn.execute(
        "UPDATE identity.verification_codes SET wrong_tries = %s WHERE code_id = %s",
        (wrong_tries, code_id),
    )


def mark_code_used(conn: psycopg.Connection, code_id: str, now: datetime) -> None:
    conn.execute(
        "UPDATE identity.verification_codes SET used_at = %s WHERE code_id = %s", (now, code_id)
    )


# -- login attempts --------------------------------------------------------------------


def login_failures(
    conn: psycopg.Connection, account_key: str, client_address: str, since: datetime
) -> tuple[list[datetime], list[datetime]]:
    """(this account's failures since its last success, this address's failures), both
    after ``since``."""
    account = conn.execute(
        "SELECT attempted_at FROM identity.login_attempts WHERE account_key = %(key)s"
        " AND NOT succeeded AND attempted_at > greatest(%(since)s, (SELECT max(attempted_at)"
        "  FROM identity.login_attempts WHERE account_key = %(key)s AND succeeded))",
        {"key": account_key, "since": since},
    ).fetchall()
    address = conn.execute(
        "SELECT attempted_at FROM identity.login_attempts WHERE client_address = %s"
        " AND NOT succeeded AND attempted_at > %s",
        (client_address, since),
    ).fetchall()
    return [r["attempted_at"] for r in account], [r["attempted_at"] for r in address]


def record_login_attempt(
    conn: psycopg.Connection,
    account_key: str,
    client_address: str,
    succeeded: bool,
    now: datetime,
) -> None:
    conn.execute(
        "INSERT INTO identity.login_attempts (account_key, client_address, succeeded,"
        " attempted_at) VALUES (%s, %s, %s, %s)",
        (account_key, client_address, succeeded, now),
    )


# -- refresh and access tokens ----------------------------------------------------------


def insert_refresh_token(
    conn: psycopg.Connection,
    digest: bytes,
    user_id: str,
    session_version: int,
    now: datetime,
    expires_at: datetime,
) -> None:
    conn.execute(
        "INSERT INTO identity.refresh_tokens (token_digest, user_id, session_version,"
        " created_at, expires_at) VALUES (%s, %s, %s, %s, %s)",
        (digest, user_id, session_version, now, expires_at),
    )


def refresh_token_for_update(conn: psycopg.Connection, digest: bytes) -> Row | None:
    return conn.execute(
        "SELECT user_id, session_version, expires_at, revoked_at, rotated_at"
        " FROM identity.refresh_tokens WHERE token_digest = %s FOR UPDATE",
        (digest,),
    ).fetchone()


def mark_rotated(conn: psycopg.Connection, digest: bytes, now: datetime) -> None:
    conn.execute(
        "UPDATE identity.refresh_tokens SET rotated_at = %s WHERE token_digest = %s",
        (now, digest),
    )


def revoke_refresh_token(conn: psycopg.Connection, digest: bytes, now: datetime) -> None:
    conn.execute(
        "UPDATE identity.refresh_tokens SET revoked_at = coalesce(revoked_at, %s)"
        " WHERE token_digest = %s",
        (now, digest),
    )


def revoke_all_refresh_tokens(conn: psycopg.Connection, user_id: str, now: datetime) -> None:
    conn.execute(
        "UPDATE identity.refresh_tokens SET revoked_at = %s"
        " WHERE user_id = %s AND revoked_at IS NULL",
        (now, user_id),
    )


def revoke_access_token(conn: psycopg.Connection, jti: str, expires_at: datetime) -> None:
    conn.execute(
        "INSERT INTO identity.revoked_access_tokens (jti, expires_at) VALUES (%s, %s)"
        " ON CONFLICT (jti) DO NOTHING",
        (jti, expires_at),
    )


def session_of(conn: psycopg.Connection, user_id: str, jti: str) -> Row | None:
    """What ``validate_token`` needs, in one round trip."""
    return conn.execute(
        "SELECT u.user_id, u.role, u.organisation_id, u.session_version,"
        " u.phone_verified_at IS NOT NULL AS verified,"
        " EXISTS (SELECT 1 FROM identity.revoked_access_tokens r WHERE r.jti = %(jti)s)"
        "  AS revoked,"
        " coalesce(array(SELECT m.department_id FROM identity.department_members m"
        "  WHERE m.user_id = u.user_id ORDER BY m.department_id), '{}') AS departments"
        " FROM identity.users u WHERE u.user_id = %(user_id)s",
        {"user_id": user_id, "jti": jti},
    ).fetchone()


# -- departments --------------------------------------------------------------------------


def insert_department(
    conn: psycopg.Connection, department_id: str, name: str, now: datetime
) -> None:
    try:
        with conn.transaction():
            conn.execute(
                "INSERT INTO identity.departments (department_id, name, created_at)"
                " VALUES (%s, %s, %s)",
                (department_id, name, now),
            )
    except errors.UniqueViolation as exc:
        raise DepartmentExists(department_id) from exc


def get_department(conn: psycopg.Connection, department_id: str) -> Row:
    row = conn.execute(
        "SELECT department_id, name, created_at FROM identity.departments WHERE department_id = %s",
        (department_id,),
    ).fetchone()
    if row is None:
        raise DepartmentNotFound(department_id)
    return row


def list_departments(conn: psycopg.Connection) -> list[Row]:
    return conn.execute(
        "SELECT department_id, name FROM identity.departments ORDER BY department_id"
    ).fetchall()


def add_member(conn: psycopg.Connection, department_id: str, user_id: str, now: datetime) -> bool:
    """True if the user was not yet a member."""
    cursor = conn.execute(
        "INSERT INTO identity.department_members (department_id, user_id, assigned_at)"
        " VALUES (%s, %s, %s) ON CONFLICT DO NOTHING",
        (department_id, user_id, now),
    )
    return cursor.rowcount == 1


def remove_member(conn: psycopg.Connection, department_id: str, user_id: str) -> bool:
    """True if the user was a member."""
    cursor = conn.execute(
        "DELETE FROM identity.department_members WHERE department_id = %s AND user_id = %s",
        (department_id, user_id),
    )
    return cursor.rowcount == 1


def department_members(conn: psycopg.Connection, department_id: str) -> list[Row]:
    return conn.execute(
        "SELECT u.user_id, u.name, u.role, u.username, m.assigned_at"
        " FROM identity.department_members m JOIN identity.users u USING (user_id)"
        " WHERE m.department_id = %s ORDER BY u.name, u.user_id",
        (department_id,),
    ).fetchall()


# -- housekeeping -------------------------------------------------------------------------


def purge(conn: psycopg.Connection, now: datetime, keep_until: datetime) -> dict[str, int]:
    """Delete what no rule looks at any more: request and attempt records older than
    ``keep_until``, codes and access-token revocations past their expiry, refresh
    tokens past theirs."""
    counts = {}
    for table, column, before in (
        ("code_requests", "requested_at", keep_until),
        ("login_attempts", "attempted_at", keep_until),
        ("verification_codes", "expires_at", keep_until),
        ("revoked_access_tokens", "expires_at", now),
        ("refresh_tokens", "expires_at", now),
    ):
        query = sql.SQL("DELETE FROM {} WHERE {} < %s").format(
            sql.Identifier("identity", table), sql.Identifier(column)
        )
        counts[table] = conn.execute(query, (before,)).rowcount
    return counts
