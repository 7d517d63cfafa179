"""A schema shared by the whole process gives each load its own result."""

from __future__ import annotations

from pasokh_common.errors import ValidationFailed
from pasokh_common.validation import load, shared_schema

import pytest
from marshmallow import Schema, fields


class _Probe(Schema):
    subject = fields.String(required=True)
    count = fields.Integer(load_default=1)


def test_one_instance_per_class():
    assert shared_schema(_Probe) is shared_schema(_Probe)
    assert isinstance(shared_schema(_Probe), _Probe)


def test_loads_through_the_shared_instance_do_not_leak_into_each_other():
    first = load(shared_schema(_Probe), {"subject": "الف", "count": 3})
    second = load(shared_schema(_Probe), {"subject": "ب"})
    assert first == {"subject": "الف", "count": 3}
    assert second == {"subject": "ب", "count": 1}
    with pytest.raises(ValidationFailed) as refused:
        load(shared_schema(_Probe), {"count": "x"})
    assert set(refused.value.fields) == {"subject", "count"}
    assert load(shared_schema(_Probe), {"subject": "ج"}) == {"subject": "ج", "count": 1}
