"""The data keys of crypto-shredding in PostgreSQL (pasokh_common.personal_data), as the
application role: one key per subject even when first uses race, destruction that
the destroying process sees at once and that leaves a tombstone."""

from __future__ import annotations

import threading
import uuid

from pasokh_common.eventlog import NewEvent
from pasokh_common.personal_data import ERASED, PersonalDataCodec, PostgresKeyStore

import pytest

pytestmark = pytest.mark.integration


def test_racing_first_uses_agree_on_one_key(tickets_pool):
    subject = f"cust-{uuid.uuid4().hex[:8]}"
    stores = [PostgresKeyStore("tickets") for _ in range(6)]
    barrier, keys = threading.Barrier(len(stores)), []

    def first_use(store: PostgresKeyStore) -> None:
        barrier.wait()
        with tickets_pool.transaction() as conn:
            keys.append(store.key_for_subject(conn, subject))

    threads = [threading.Thread(target=first_use, args=(s,)) for s in stores]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert len(keys) == len(stores) and len(set(keys)) == 1
    assert keys[0].key is not None and len(keys[0].key) == 32
    with tickets_pool.connection() as conn:
        assert (
            conn.execute(
                "SELECT count(*) AS n FROM tickets.personal_data_keys WHERE subject_id = %s",
                (subject,),
            ).fetchone()["n"]
            == 1
        )


def test_destruction_is_seen_at_once_by_its_process_and_by_uncached_readers(tickets_pool):
    subject = f"cust-{uuid.uuid4().hex[:8]}"
    erasing, cached, uncached = (
        PostgresKeyStore("tickets"),
        PostgresKeyStore("tickets", cache_seconds=3600),
        PostgresKeyStore("tickets", cache_seconds=0),
    )
    with tickets_pool.connection() as conn:
        key = erasing.key_for_subject(conn, subject)
        assert cached.keys_by_id(conn, [key.key_id])[key.key_id] == key
        assert erasing.destroy(conn, subject) is True
        assert erasing.keys_by_id(conn, [key.key_id])[key.key_id].key is None
        assert uncached.keys_by_id(conn, [key.key_id])[key.key_id].key is None
        # another process's cache keeps a key for at most its cache_seconds (documented)
        assert cached.keys_by_id(conn, [key.key_id])[key.key_id].key == key.key
        # a tombstone: no fresh key for an erased subject, its new texts are not kept
        assert PostgresKeyStore("tickets").key_for_subject(conn, subject).key is None
        codec = PersonalDataCodec(uncached, {"Note": ("text",)})
        note = NewEvent(type="Note", data={"text": "متن تازه", "id": 1})
        assert codec.encode(conn, subject, note).data == {"text": ERASED, "id": 1}
        # a subject never seen gets a tombstone on erasure too
        never = f"cust-{uuid.uuid4().hex[:8]}"
        assert erasing.destroy(conn, never) is False
        assert uncached.key_for_subject(conn, never).key is None
