"""The hash chain over an event log: what is hashed and how a chain is checked (pure).

Each sealed row carries ``chain_hash = sha256(previous chain_hash || canonical bytes
of the row)``, the first row linking to a fixed genesis hash per schema. Changing,
removing or re-ordering any sealed row (or its stored hash) breaks every later link,
so an auditor who trusts the latest hash (recorded outside the database) can trust the
whole log before it. docs/event-log.md ("The hash chain") says what it does not prove.

The canonical bytes are built from the columns *as stored*, rendered as text by
PostgreSQL (``canonical_select``): ``data`` and ``metadata`` as PostgreSQL renders
``jsonb`` (deterministic for a stored value), never decoded and re-encoded in Python,
so a field stored encrypted is hashed as its ciphertext.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field

# The stored columns that are hashed, in this order, each rendered as text by
# PostgreSQL. ``recorded_at`` is UTC with microseconds, independent of the session's
# TimeZone setting.
CANONICAL_COLUMNS = (
    "position",
    "xid",
    "stream_id",
    "version",
    "event_id",
    "event_type",
    "schema_version",
    "data",
    "metadata",
    "recorded_at",
)


def canonical_select(alias: str = "") -> str:
    """The SELECT list rendering the hashed columns as text (of table ``alias``)."""
    a = f"{alias}." if alias else ""
    return (
        f"{a}position::text AS position, {a}xid::text AS xid, {a}stream_id AS stream_id,"
        f" {a}version::text AS version, {a}event_id::text AS event_id,"
        f" {a}event_type AS event_type, {a}schema_version::text AS schema_version,"
        f" {a}data::text AS data, {a}metadata::text AS metadata,"
        f" to_char({a}recorded_at AT TIME ZONE 'UTC', 'YYYY-MM-DD\"T\"HH24:MI:SS.US\"Z\"')"
        " AS recorded_at"
    )


CANONICAL_SELECT = canonical_select()
CANONICAL_FORMAT = b"pasokh-event-chain-v1"


def genesis_hash(schema: str) -> bytes:
    """What the first sealed row of ``schema``'s log links to: sha256("pasokh:<schema>:genesis")."""
    return hashlib.sha256(f"pasokh:{schema}:genesis".encode()).digest()


def canonical_bytes(columns: dict[str, str]) -> bytes:
    """The row's stored columns (text, as PostgreSQL renders them) in a form that cannot
    be ambiguous: a format tag, then per column its UTF-8 length (8 bytes, big-endian)
    and its UTF-8 bytes. Length prefixes mean no choice of contents can make two
    different rows produce the same bytes."""
    out = bytearray(CANONICAL_FORMAT)
    for name in CANONICAL_COLUMNS:
        value = columns[name]
        if value is None:
            raise ValueError(f"column {name} is NULL; every hashed column is NOT NULL")
        encoded = str(value).encode("utf-8")
        out += len(encoded).to_bytes(8, "big") + encoded
    return bytes(out)


def link_hash(previous: bytes, columns: dict[str, str]) -> bytes:
    """``sha256(previous || canonical bytes)``: the hash a row is sealed with."""
    return hashlib.sha256(previous + canonical_bytes(columns)).digest()


@dataclass(frozen=True)
class SealedRow:
    """A sealed row as read back for verification: its place, stored hash and columns."""

    seq: int
    stored_hash: bytes
    columns: dict[str, str]

    @property
    def position(self) -> int:
        return int(self.columns["position"])

    @property
    def event_id(self) -> str:
        return self.columns["event_id"]


# Kinds of a broken link, from the first row that does not check out.
MISSING_ROW = "missing_row"  # a sequence number is absent: a row was deleted or unsealed
CONTENT_CHANGED = "content_changed"  # the row's columns differ from what was sealed
HASH_CHANGED = "hash_changed"  # the row's stored hash was replaced
ROW_OR_HASH_CHANGED = "row_or_hash_changed"  # the last row: the two cannot be told apart
PREVIOUS_MISSING = "previous_missing"  # a range's start has no sealed predecessor

_EXPLANATIONS = {
    MISSING_ROW: "chain_seq {seq} is missing: a sealed row was deleted or unsealed",
    CONTENT_CHANGED: "the stored columns of chain_seq {seq} changed after it was sealed",
    HASH_CHANGED: "the stored hash of chain_seq {seq} was replaced (the next row no longer"
    " links to it)",
    ROW_OR_HASH_CHANGED: "chain_seq {seq} (the last row checked) does not match its hash:"
    " its columns or its stored hash changed",
    PREVIOUS_MISSING: "chain_seq {seq} (the row before the range) is missing",
}


@dataclass(frozen=True)
class BrokenLink:
    kind: str
    seq: int
    position: int | None = None
    event_id: str | None = None
    expected_hash: str | None = None
    stored_hash: str | None = None

    @property
    def explanation(self) -> str:
        return _EXPLANATIONS[self.kind].format(seq=self.seq)

    def as_dict(self) -> dict:
        return {
            "kind": self.kind,
            "seq": self.seq,
            "position": self.position,
            "event_id": self.event_id,
            "expected_hash": self.expected_hash,
            "stored_hash": self.stored_hash,
            "explanation": self.explanation,
        }


@dataclass
class ChainReport:
    """The outcome of walking a chain (or a range of it)."""

    first_seq: int
    checked: int = 0
    last_seq: int | None = None
    head_hash: str | None = None
    broken: BrokenLink | None = None
    unsealed_below_horizon: int = 0
    notes: list[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return self.broken is None

    def as_dict(self) -> dict:
        return {
            "ok": self.ok,
            "first_seq": self.first_seq,
            "last_seq": self.last_seq,
            "checked": self.checked,
            "head_hash": self.head_hash,
            "broken": self.broken.as_dict() if self.broken else None,
            "unsealed_below_horizon": self.unsealed_below_horizon,
        }


def verify_chain(
    rows: Iterable[SealedRow],
    previous_hash: bytes | None,
    first_seq: int,
    last_seq: int | None = None,
) -> ChainReport:
    """Walk ``rows`` (in ``chain_seq`` order, starting at ``first_seq``) and stop at the
    first row that does not check out.

    ``previous_hash`` is the stored hash of ``first_seq - 1`` (the genesis hash when
    starting at 1); ``None`` means that row is missing. A mismatching row is told apart
    by its successor: if the successor still links to the row's stored hash, the
    stored hash is the original and the row's columns changed; if not, the stored
    hash itself was replaced. Rows after ``last_seq`` (when given) are only looked at
    as that successor.
    """
    report = ChainReport(first_seq=first_seq)
    if previous_hash is None:
        report.broken = BrokenLink(PREVIOUS_MISSING, first_seq - 1)
        return report
    expected_seq = first_seq
    previous = previous_hash
    iterator: Iterator[SealedRow] = iter(rows)
    row = next(iterator, None)
    while row is not None and (last_seq is None or expected_seq <= last_seq):
        following = next(iterator, None)
        if row.seq != expected_seq:
            report.broken = BrokenLink(MISSING_ROW, expected_seq)
            return report
        expected = link_hash(previous, row.columns)
        if expected != row.stored_hash:
            if following is None or following.seq != row.seq + 1:
                kind = ROW_OR_HASH_CHANGED
            elif link_hash(row.stored_hash, following.columns) == following.stored_hash:
                kind = CONTENT_CHANGED
            else:
                kind = HASH_CHANGED
            report.broken = BrokenLink(
                kind,
                row.seq,
                row.position,
                row.event_id,
                expected.hex(),
                row.stored_hash.hex(),
            )
            return report
        report.checked += 1
        report.last_seq = row.seq
        report.head_hash = row.stored_hash.hex()
        previous = row.stored_hash
        expected_seq += 1
        row = following
    return report


def seal_rows(
    previous_hash: bytes, previous_seq: int, rows: Iterable[dict[str, str]]
) -> list[tuple[int, int, bytes]]:
    """``(position, chain_seq, chain_hash)`` for each of ``rows`` (in committed order),
    continuing the chain after ``previous_seq`` / ``previous_hash``."""
    sealed = []
    current = previous_hash
    seq = previous_seq
    for columns in rows:
        seq += 1
        current = link_hash(current, columns)
        sealed.append((int(columns["position"]), seq, current))
    return sealed
