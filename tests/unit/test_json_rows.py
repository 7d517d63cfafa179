"""``pasokh_common.json_rows``: what a batch's rows become in its one jsonb parameter,
and the SQL that reads them back into typed columns."""

from __future__ import annotations

import json
import uuid
from datetime import UTC, date, datetime
from decimal import Decimal

from pasokh_common import json_rows

import pytest
from psycopg.types.json import Jsonb

SPEC = json_rows.columns("id uuid, n int, body text, doc jsonb")


def test_values_json_cannot_write_become_the_text_postgresql_reads_back():
    at = datetime(2026, 11, 25, 10, 0, 0, 123456, tzinfo=UTC)
    key = uuid.UUID("12345678-1234-5678-1234-567812345678")
    text = json_rows.dumps(
        [(key, 1, 'say "سلام"\n', Jsonb({"a": [1, None]})), (None, None, None, {"at": at})]
    )
    assert json.loads(text) == [
        [str(key), 1, 'say "سلام"\n', {"a": [1, None]}],
        [None, None, None, {"at": "2026-11-25T10:00:00.123456+00:00"}],
    ]
    assert json.loads(json_rows.dumps(iter([(date(2026, 1, 2),)]))) == [["2026-01-02"]]
    assert json_rows.dumps([]) == "[]"


def test_a_value_of_no_known_kind_is_refused_not_guessed():
    with pytest.raises(TypeError, match="Decimal"):
        json_rows.dumps([(Decimal("1.5"),)])


def test_columns_are_read_by_position_with_their_types():
    assert json_rows.names(SPEC) == "id, n, body, doc"
    assert json_rows.select(SPEC, "%(rows)s") == (
        "SELECT (r->>0)::uuid AS id, (r->>1)::int AS n, r->>2 AS body, r->3 AS doc"
        " FROM jsonb_array_elements(%(rows)s::jsonb) AS r"
    )
    assert json_rows.select(SPEC[:1], ordered=True) == (
        "SELECT (r->>0)::uuid AS id FROM jsonb_array_elements(%s::jsonb)"
        " WITH ORDINALITY AS x(r, n) ORDER BY x.n"
    )
