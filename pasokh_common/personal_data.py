"""Crypto-shredding: personal fields of immutable events, erasable without a rewrite.

An append-only log cannot forget a customer by deleting rows: copies, checksums and
the hash chain all depend on rows never changing. So every personal field of an
event is stored as an encrypted *envelope* under a data key of the person it is
about (the *subject*), and the keys live in an ordinary mutable table. Erasing the
person destroys their key: the envelopes stay byte-identical in the log and can no
longer be opened; readers get ``ERASED`` instead of an error (docs/privacy.md).

Three layers, each small:

* ``seal`` / ``open_envelope``: pure AES-256-GCM over one JSON value, with
  associated data (event id and field name) so that a ciphertext copied into
  another event or field fails authentication instead of being read there.
* ``PostgresKeyStore``: the subjects' data keys in ``<schema>.personal_data_keys``,
  with a small in-process cache. Destruction overwrites the key with NULL and keeps
  the row as a tombstone, so a later write about an erased subject is not encrypted
  under a fresh key (it stores ``ERASED``) and the subject stays erased.
* ``PersonalDataCodec``: turns whole events' data into stored data (``encode``) and
  back (``decode``, also the ``EventStore`` decoder hook), given which fields of
  which event type are personal.
"""

from __future__ import annotations

import base64
import json
import os
import threading
import time
import uuid
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, replace
from typing import Any

import pasokh_common  # noqa: F401  (chooses psycopg's wait function first)
from pasokh_common.eventlog.records import NewEvent, RecordedEvent

import psycopg
from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from psycopg import sql

ENVELOPE_VERSION = "v1"
# What a personal field reads as once its subject's key is destroyed. One constant,
# documented in docs/privacy.md, the same in every reader (queries, read models,
# the relay's published events), so a consumer can recognise it.
ERASED = "[erased]"
KEY_BYTES = 32
NONCE_BYTES = 12
DEFAULT_CACHE_SECONDS = 30.0


class EnvelopeError(ValueError):
    """An envelope that is malformed, tampered with, or opened with the wrong key or
    associated data. Never raised for a destroyed key: that reads as ``ERASED``."""


def new_data_key() -> bytes:
    return AESGCM.generate_key(bit_length=KEY_BYTES * 8)


def associated_data(event_id: uuid.UUID | str, field: str) -> bytes:
    """Binds a ciphertext to its place: the event and the field it was written to."""
    return f"{event_id}/{field}".encode()


def is_envelope(value: Any) -> bool:
    return isinstance(value, dict) and value.get("$enc") == ENVELOPE_VERSION


def seal(key: bytes, key_id: str, value: Any, aad: bytes) -> dict[str, str]:
    """Encrypt one JSON-ready value into an envelope (a fresh random nonce each time)."""
    nonce = os.urandom(NONCE_BYTES)
    plaintext = json.dumps(value, ensure_ascii=False, separators=(",", ":")).encode()
    ciphertext = AESGCM(key).encrypt(nonce, plaintext, aad)
    return {
        "$enc": ENVELOPE_VERSION,
        "k": key_id,
        "n": base64.b64encode(nonce).decode("ascii"),
        "c": base64.b64encode(ciphertext).decode("ascii"),
    }


def open_envelope(key: bytes, envelope: Mapping[str, Any], aad: bytes) -> Any:
    """The value sealed in ``envelope``; ``EnvelopeError`` if it is not authentic."""
    if not is_envelope(envelope):
        raise EnvelopeError("not a personal-data envelope")
    try:
        nonce = base64.b64decode(envelope["n"], validate=True)
        ciphertext = base64.b64decode(envelope["c"], validate=True)
        plaintext = AESGCM(key).decrypt(nonce, ciphertext, aad)
        return json.loads(plaintext)
    except (KeyError, TypeError, ValueError, InvalidTag) as exc:
        raise EnvelopeError("personal-data envelope failed authentication") from exc


# -- the keys --------------------------------------------------------------------------


@dataclass(frozen=True)
class DataKey:
    key_id: str
    key: bytes | None  # None: destroyed (the subject was erased)


class PostgresKeyStore:
    """Data keys by subject in ``<schema>.personal_data_keys`` (a mutable table).

    The cache keeps keys for ``cache_seconds`` so that reading a stream does not cost
    a query per event. ``destroy`` replaces the local entries with "destroyed" at
    once; another process may keep using a key it cached for at most
    ``cache_seconds`` after the erasure committed (docs/privacy.md).
    """

    def __init__(self, schema: str, cache_seconds: float = DEFAULT_CACHE_SECONDS) -> None:
        table = sql.Identifier(schema, "personal_data_keys").as_string(None)
        self.cache_seconds = cache_seconds
        self._by_id: dict[str, tuple[float, DataKey]] = {}
        self._by_subject: dict[str, tuple[float, DataKey]] = {}
        self._lock = threading.Lock()
        self._sql_create = (
            f"INSERT INTO {table} (key_id, subject_id, data_key) VALUES (%s, %s, %s)"
            " ON CONFLICT (subject_id) DO NOTHING"
        )
        self._sql_by_subject = (
            f"SELECT key_id::text AS key_id, data_key FROM {table} WHERE subject_id = %s"
        )
        self._sql_by_ids = (
            f"SELECT key_id::text AS key_id, data_key FROM {table} WHERE key_id = ANY(%s::uuid[])"
        )
        self._sql_destroy = (
            f"INSERT INTO {table} (key_id, subject_id, data_key, destroyed_at)"
            " VALUES (%s, %s, NULL, now())"
            " ON CONFLICT (subject_id) DO UPDATE SET data_key = NULL,"
            f" destroyed_at = coalesce({table}.destroyed_at, now())"
            " RETURNING key_id::text AS key_id, (xmax = 0) AS created"
        )

    def _cached(self, cache: dict[str, tuple[float, DataKey]], name: str) -> DataKey | None:
        entry = cache.get(name)
        if entry is None or entry[0] < time.monotonic():
            return None
        return entry[1]

    def _remember(self, subject_id: str | None, key: DataKey) -> None:
        expires = time.monotonic() + self.cache_seconds
        with self._lock:
            if len(self._by_id) > 10_000:  # bounded: forget everything, refill lazily
                self._by_id.clear()
                self._by_subject.clear()
            self._by_id[key.key_id] = (expires, key)
            if subject_id is not None:
                self._by_subject[subject_id] = (expires, key)

    def key_for_subject(self, conn: psycopg.Connection, subject_id: str) -> DataKey:
        """The subject's key, made on first use. Concurrent first uses agree on one
        key (the unique subject id; the loser reads the winner's row). Only a first
        use writes: an append that seals under an existing key stays read-then-insert
        (the log's ordering invariant, pasokh_common.eventlog.store)."""
        found = self.find(conn, subject_id)
        if found is not None:
            return found
        conn.execute(self._sql_create, (str(uuid.uuid4()), subject_id, new_data_key()))
        found = self.find(conn, subject_id)
        if found is None:
            raise LookupError(f"no data key for {subject_id} after creating it")
        return found

    def find(self, conn: psycopg.Connection, subject_id: str) -> DataKey | None:
        """The subject's key (or its tombstone) if it has one; never writes. Lets a
        caller know whether ``key_for_subject`` would create one (a write)."""
        cached = self._cached(self._by_subject, subject_id)
        if cached is not None:
            return cached
        row = conn.execute(self._sql_by_subject, (subject_id,)).fetchone()
        if row is None:
            return None
        row = _row(row)
        key = DataKey(row["key_id"], _bytes(row["data_key"]))
        self._remember(subject_id, key)
        return key

    def keys_by_id(self, conn: psycopg.Connection, key_ids: Iterable[str]) -> dict[str, DataKey]:
        """Keys for ``key_ids`` (one query for those not cached); an id with no row
        reads as destroyed."""
        found: dict[str, DataKey] = {}
        missing = []
        for key_id in set(key_ids):
            cached = self._cached(self._by_id, key_id)
            if cached is None:
                missing.append(key_id)
            else:
                found[key_id] = cached
        if missing:
            for row in conn.execute(self._sql_by_ids, (missing,)).fetchall():
                key = DataKey(_row(row)["key_id"], _bytes(_row(row)["data_key"]))
                self._remember(None, key)
                found[key.key_id] = key
            for key_id in missing:
                found.setdefault(key_id, DataKey(key_id, None))
        return found

    def destroy(self, conn: psycopg.Connection, subject_id: str) -> bool:
        """Destroy the subject's key (idempotent). False when the subject had no row
        yet: it gets a tombstone, so no key is made for it later either."""
        row = _row(conn.execute(self._sql_destroy, (str(uuid.uuid4()), subject_id)).fetchone())
        self._remember(subject_id, DataKey(row["key_id"], None))
        return not row["created"]

    def forget_cache(self) -> None:
        with self._lock:
            self._by_id.clear()
            self._by_subject.clear()


def _key_id(envelope: Mapping[str, Any]) -> str:
    try:
        return str(uuid.UUID(str(envelope["k"])))
    except (KeyError, ValueError) as exc:
        raise EnvelopeError("personal-data envelope names no valid key") from exc


def _row(row: Any) -> dict[str, Any]:
    if not isinstance(row, dict):
        raise TypeError("PostgresKeyStore needs connections with row_factory=dict_row")
    return row


def _bytes(value: Any) -> bytes | None:
    return None if value is None else bytes(value)


# -- whole events ------------------------------------------------------------------------


class PersonalDataCodec:
    """Seals the personal fields of events on their way into the log and opens them on
    the way out. ``fields`` names the personal fields per event type; decoding needs
    no list (it opens every envelope it finds), so old events keep decoding after a
    field stops being listed."""

    def __init__(self, keys: PostgresKeyStore, fields: Mapping[str, Sequence[str]]) -> None:
        self.keys = keys
        self.fields = {event_type: tuple(names) for event_type, names in fields.items()}

    def personal(self, event: NewEvent) -> list[str]:
        """The personal fields of ``event`` that have a value (to be sealed)."""
        return [n for n in self.fields.get(event.type, ()) if event.data.get(n) is not None]

    def encode(self, conn: psycopg.Connection, subject_id: str, event: NewEvent) -> NewEvent:
        """``event`` with its personal fields sealed under ``subject_id``'s key (or
        replaced by ``ERASED`` when that subject was erased). ``None`` stays ``None``:
        an absent reason is not personal."""
        names = self.personal(event)
        if not names:
            return event
        key = self.keys.key_for_subject(conn, subject_id)
        data = dict(event.data)
        for name in names:
            if key.key is None:
                data[name] = ERASED
            else:
                aad = associated_data(event.event_id, name)
                data[name] = seal(key.key, key.key_id, data[name], aad)
        return replace(event, data=data)

    def decode(
        self, conn: psycopg.Connection, records: Sequence[RecordedEvent]
    ) -> list[RecordedEvent]:
        """Records with every envelope opened (``ERASED`` where the key is gone). The
        ``EventStore`` decoder hook. A tampered envelope raises ``EnvelopeError``."""
        key_ids = {
            _key_id(value)
            for record in records
            for value in record.data.values()
            if is_envelope(value)
        }
        if not key_ids:
            return list(records)
        keys = self.keys.keys_by_id(conn, key_ids)
        decoded = []
        for record in records:
            if not any(is_envelope(v) for v in record.data.values()):
                decoded.append(record)
                continue
            data = {
                name: self._open(keys, record.event_id, name, value)
                if is_envelope(value)
                else value
                for name, value in record.data.items()
            }
            decoded.append(replace(record, data=data))
        return decoded

    @staticmethod
    def _open(keys: Mapping[str, DataKey], event_id: Any, name: str, envelope: dict) -> Any:
        key = keys.get(_key_id(envelope))
        if key is None or key.key is None:
            return ERASED
        return open_envelope(key.key, envelope, associated_data(event_id, name))
