"""Right to be forgotten in notify: identity's ``UserErased`` masks the user's messages.

notify keeps two things about a person: the number a message went to and the text it
carried (``notify.messages.recipient`` / ``body``; the console provider's outbox has
copies). Both go; what stays is the message's id, template, ticket, state, times and
cost (parts), so SMS statistics keep working. A message still queued for the user
loses its stored number and text too: the dispatcher asks identity again, finds no
number and fails it as ``no_contact`` (with its ``SmsFailed`` event). A message in
flight (``sending``) is left to finish; erasing again later masks it (docs/privacy.md).
"""

from __future__ import annotations

import pasokh_common  # noqa: F401

import psycopg


def erase_user(conn: psycopg.Connection, user_id: str) -> int:
    """Mask the user's messages; returns how many were masked. Idempotent."""
    conn.execute(
        "DELETE FROM notify.outbox WHERE recipient IN (SELECT recipient FROM notify.messages"
        " WHERE user_id = %s AND recipient IS NOT NULL AND state <> 'sending')",
        (user_id,),
    )
    return conn.execute(
        "UPDATE notify.messages SET recipient = NULL, body = NULL"
        " WHERE user_id = %s AND state <> 'sending'"
        " AND (recipient IS NOT NULL OR body IS NOT NULL)",
        (user_id,),
    ).rowcount
