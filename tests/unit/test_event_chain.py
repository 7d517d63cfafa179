"""The hash chain's pure parts: canonical bytes, linking, and finding the first break."""

from __future__ import annotations

import hashlib

from pasokh_common.eventlog.chain import (
    CONTENT_CHANGED,
    HASH_CHANGED,
    MISSING_ROW,
    PREVIOUS_MISSING,
    ROW_OR_HASH_CHANGED,
    SealedRow,
    canonical_bytes,
    genesis_hash,
    link_hash,
    seal_rows,
    verify_chain,
)

import pytest


def columns(position: int, data: str = '{"n": 1}') -> dict[str, str]:
    return {
        "position": str(position),
        "xid": str(1000 + position),
        "stream_id": "t-1",
        "version": str(position),
        "event_id": f"00000000-0000-0000-0000-{position:012d}",
        "event_type": "Tick",
        "schema_version": "1",
        "data": data,
        "metadata": '{"actor_id": "a"}',
        "recorded_at": "2026-11-25T10:00:00.000000Z",
    }


def chain(count: int, schema: str = "tickets") -> list[SealedRow]:
    sealed = seal_rows(genesis_hash(schema), 0, [columns(p) for p in range(1, count + 1)])
    return [SealedRow(seq, digest, columns(pos)) for pos, seq, digest in sealed]


def test_genesis_is_the_documented_constant_per_schema():
    assert genesis_hash("tickets") == hashlib.sha256(b"pasokh:tickets:genesis").digest()
    assert genesis_hash("tickets") != genesis_hash("sla")


def test_link_hash_is_sha256_of_previous_and_canonical_bytes():
    previous = b"\x01" * 32
    row = columns(1)
    assert link_hash(previous, row) == hashlib.sha256(previous + canonical_bytes(row)).digest()


def test_canonical_bytes_cannot_be_shifted_between_columns():
    a = {**columns(1), "stream_id": "ab", "event_type": "c"}
    b = {**columns(1), "stream_id": "a", "event_type": "bc"}
    assert canonical_bytes(a) != canonical_bytes(b)


def test_every_hashed_column_changes_the_hash():
    base = columns(1)
    for name in base:
        assert link_hash(b"", {**base, name: base[name] + "x"}) != link_hash(b"", base)


def test_a_null_column_is_refused():
    with pytest.raises(ValueError):
        canonical_bytes({**columns(1), "data": None})


def test_seal_rows_continues_after_the_previous_seq():
    first = seal_rows(genesis_hash("tickets"), 0, [columns(1), columns(2)])
    more = seal_rows(first[-1][2], 2, [columns(3)])
    whole = seal_rows(genesis_hash("tickets"), 0, [columns(1), columns(2), columns(3)])
    assert first + more == whole
    assert [seq for _, seq, _ in whole] == [1, 2, 3]


def test_an_intact_chain_is_ok_with_its_head():
    rows = chain(5)
    report = verify_chain(rows, genesis_hash("tickets"), 1)
    assert report.ok and report.checked == 5 and report.last_seq == 5
    assert report.head_hash == rows[-1].stored_hash.hex()


def test_the_wrong_genesis_breaks_the_first_link():
    report = verify_chain(chain(3), genesis_hash("sla"), 1)
    assert not report.ok and report.broken.seq == 1 and report.broken.kind == CONTENT_CHANGED


def test_changed_content_is_found_at_its_row():
    rows = chain(5)
    rows[2] = SealedRow(3, rows[2].stored_hash, columns(3, data='{"n": 2}'))
    report = verify_chain(rows, genesis_hash("tickets"), 1)
    assert report.checked == 2
    assert (report.broken.kind, report.broken.seq, report.broken.position) == (
        CONTENT_CHANGED,
        3,
        3,
    )
    assert report.broken.event_id == columns(3)["event_id"]


def test_a_replaced_hash_is_told_from_changed_content():
    rows = chain(5)
    rows[1] = SealedRow(2, b"\x00" * 32, rows[1].columns)
    report = verify_chain(rows, genesis_hash("tickets"), 1)
    assert (report.broken.kind, report.broken.seq) == (HASH_CHANGED, 2)


def test_a_change_to_the_last_row_is_reported_as_either():
    rows = chain(3)
    rows[2] = SealedRow(3, rows[2].stored_hash, columns(3, data="{}"))
    report = verify_chain(rows, genesis_hash("tickets"), 1)
    assert (report.broken.kind, report.broken.seq) == (ROW_OR_HASH_CHANGED, 3)


def test_a_deleted_row_is_a_missing_seq():
    rows = chain(5)
    del rows[3]
    report = verify_chain(rows, genesis_hash("tickets"), 1)
    assert (report.broken.kind, report.broken.seq, report.checked) == (MISSING_ROW, 4, 3)


def test_a_range_starts_from_the_stored_hash_before_it_and_stops_at_its_end():
    rows = chain(6)
    rows[5] = SealedRow(6, rows[5].stored_hash, columns(6, data="{}"))  # outside the range
    report = verify_chain(rows[2:], rows[1].stored_hash, 3, last_seq=5)
    assert report.ok and (report.checked, report.last_seq) == (3, 5)


def test_a_deleted_row_at_the_end_of_a_range_is_found():
    rows = chain(6)
    del rows[4]
    report = verify_chain(rows[2:], rows[1].stored_hash, 3, last_seq=5)
    assert (report.broken.kind, report.broken.seq) == (MISSING_ROW, 5)


def test_a_range_without_its_predecessor_is_broken():
    report = verify_chain(chain(3)[1:], None, 2)
    assert (report.broken.kind, report.broken.seq) == (PREVIOUS_MISSING, 1)
