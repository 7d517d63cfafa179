"""A batch of rows as ONE jsonb parameter, expanded in SQL: statements whose text is the
same whatever the batch size.

Why not ``VALUES (...), (...)`` with a row of placeholders per item: psycopg caches the
conversion of ``%s`` placeholders only for short statements with few parameters
(``psycopg._queries``: 4096 bytes, 50 parameters), so a batch statement was tokenised
again (a regex over its whole text) on every execution, and as its text changed with
the batch size it was never prepared, so PostgreSQL planned every one too.

Why not an array per column (``unnest(%s::int[], ...)``): psycopg dumps a list element
by element in Python, and picks each array's type from its values (``int2[]``,
``int4[]`` or ``int8[]`` by the largest, unknown for a list of NULLs), and that type
is part of the key of a prepared statement, so one statement is prepared again for
every mix of them. One JSON text is one ``json.dumps`` (in C) and one parameter of one
type. Measured on a 13-column batch of 50 rows: 125 us of client CPU against 398 us
with arrays, and less backend time (docs/benchmarks.md, "Batch statements of a fixed
text").
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Sequence
from datetime import date, datetime
from typing import Any
from uuid import UUID

from psycopg.types.json import Json, Jsonb

Columns = tuple[tuple[str, str], ...]


def columns(spec: str) -> Columns:
    """``"a uuid, b int"`` as ``(("a", "uuid"), ("b", "int"))``."""
    return tuple(tuple(column.split()) for column in spec.split(","))  # type: ignore[misc]


def names(spec: Columns) -> str:
    """The column names of ``spec``, for the column list of an ``INSERT`` of ``select``
    (which matches columns by position, not by name: take both from one ``spec``)."""
    return ", ".join(name for name, _ in spec)


def _default(value: Any) -> Any:
    """What ``json.dumps`` cannot write itself, as the text PostgreSQL reads back into
    the column's type (a ``Jsonb`` wrapper as the document it wraps)."""
    if isinstance(value, Json | Jsonb):
        return value.obj
    if isinstance(value, UUID):
        return str(value)
    if isinstance(value, datetime | date):
        return value.isoformat()
    raise TypeError(f"cannot send {type(value).__name__} in a batch of rows")


_dumps = json.JSONEncoder(
    ensure_ascii=False, separators=(",", ":"), default=_default, allow_nan=False
).encode


def dumps(rows: Iterable[Sequence[Any]]) -> str:
    """The parameter of ``select``: the rows as a JSON array of arrays, each row's
    values in the order of its ``Columns``."""
    return _dumps(rows if isinstance(rows, list | tuple) else list(rows))


def expressions(spec: Columns, source: str = "r") -> list[str]:
    """Each column of a row ``source`` (a jsonb array) as an SQL expression of its type,
    named as the column: ``(r->>1)::int AS version``; ``jsonb`` columns as they are."""
    out = []
    for index, (name, kind) in enumerate(spec):
        if kind == "jsonb":
            out.append(f"{source}->{index} AS {name}")
        elif kind == "text":
            out.append(f"{source}->>{index} AS {name}")
        else:
            out.append(f"({source}->>{index})::{kind} AS {name}")
    return out


def select(spec: Columns, param: str = "%s", ordered: bool = False) -> str:
    """``SELECT`` of the rows of ``param`` (a ``dumps`` text), one column per ``spec``;
    ``ordered``: in the batch's order, explicitly (where the order of insertion shows,
    as in an identity column)."""
    source = f"jsonb_array_elements({param}::jsonb)"
    if ordered:
        return (
            f"SELECT {', '.join(expressions(spec))} FROM {source} WITH ORDINALITY AS x(r, n)"
            " ORDER BY x.n"
        )
    return f"SELECT {', '.join(expressions(spec))} FROM {source} AS r"
